"""What `init` left for a person to fill in (sync/drafting/starter_yaml.py):
`TODO` markers beside values, and the placeholder metric.  A draft with
them is valid YAML and a valid config, so schema validation passes it; but
its first sync would score an outcome nobody defined (`no data`, a false
`activity_bias`).  `check` names each one.  Pure: text in, findings out.
"""
from __future__ import annotations

import re

import yaml

MARKER = re.compile(r"\bTODO\b")
PLACEHOLDER_METRIC = "todo_metric"       # what starter_yaml writes for `metric:`


def _value_lines(node, path: str, out: dict[int, str]) -> None:
    """Line number (0-based) → key path of the value written on it."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            out.setdefault(key.start_mark.line, child)
            _value_lines(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for n, item in enumerate(node.value):
            _value_lines(item, f"{path}[{n}]", out)
    else:
        out.setdefault(node.start_mark.line, path)


def find(text: str) -> list[tuple[int, str, str]]:
    """Each placeholder left in a config's text: (line, key path, what to do)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []                   # the config loader reports what is wrong with the YAML
    where: dict[int, str] = {}
    if root is not None:
        _value_lines(root, "", where)
    found = []
    for n, line in enumerate(text.splitlines()):
        if line.lstrip().startswith("#") or n not in where:
            continue                # a commented-out line is a suggestion, not a value
        key = where[n]
        value, _, comment = line.partition(" #")
        if re.search(rf"\b{PLACEHOLDER_METRIC}\b", value):
            found.append((n + 1, key, f"`{PLACEHOLDER_METRIC}` is init's placeholder; name the "
                                      "metric as it appears in the Metrics tab"))
        elif MARKER.search(value):
            found.append((n + 1, key, "still reads TODO; write the real value"))
        elif MARKER.search(comment):
            found.append((n + 1, key, "marked TODO by init; check the value, then delete the marker"))
    return found
