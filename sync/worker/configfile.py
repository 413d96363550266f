"""Reading a config file: YAML, `${ENV}` interpolation, and one report of
every problem in it (`FILE: outcomes[0].levers[1].match.labelz: unknown key`).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any, Mapping

import structlog
import yaml
from pydantic import ValidationError

from sync.core import schema
from sync.core.config import config_model
from sync.core.registry import CONNECTORS
from sync.core.errors import ConfigError
from sync.worker.secretfields import ENV as _ENV, Fields

log = structlog.get_logger("align_sync.config")

_ENV_START = re.compile(r"\$\{")
_ENTRY = re.compile(r"^(\[\d+\](?:\.\w+)*): (.+)$", re.S)
# A config of many teams' outcomes stays far below this many values once its
# aliases (`*name`) are expanded; a "billion laughs" file goes past it in a
# few lines, and would otherwise hang every later step that walks the tree.
MAX_VALUES = 200_000


def default_path() -> str:
    return os.environ.get("ALIGN_SYNC_CONFIG") or "align-sync.yaml"


def load(path: str | os.PathLike, env: Mapping[str, str] | None = None):
    """Parse and validate; returns the config and the secret values it holds.
    `env`: where `${NAME}` is looked up (default: this process's environment)."""
    env = os.environ if env is None else env
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found",
                          hint="pass --config PATH or set ALIGN_SYNC_CONFIG")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                          f"{exc.start})", hint="save the config file as UTF-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}")
    try:
        raw = _parse(text)
    except DuplicateKey as exc:
        raise ConfigError(f"{path}: {exc}")
    except RecursionError:
        raise ConfigError(f"{path}: the YAML is nested too deeply to read",
                          hint="a config needs a few levels of nesting, not thousands")
    except TooLarge as exc:
        raise ConfigError(f"{path}: {exc}", hint="write each value out instead of repeating "
                          "anchored blocks with aliases")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys (source, sink, outcomes, ...)")
    problems, secrets = [], set()
    fields = Fields(raw, env)
    taken: set[str] = set()          # every value read from ${ENV}: never echoed in an error
    data = _interpolate(raw, [], problems, secrets, path, env, fields, taken)
    try:
        config = config_model(data).model_validate(data)
    except ValidationError as exc:
        problems += [f"{path}: {_hide(line, taken)}" for line in _describe(exc, data, fields, taken)]
    if problems:
        raise ConfigError(problems[0], problems=problems)
    written = sorted(_path_text(list(at)) for at in fields.secrets
                     if _ENV.search(str(_at(raw, at))) is None and _at(raw, at))
    if written:     # a token in a file ends up in backups and commits: said, not refused
        log.warning("config.secret_in_file", file=str(path), keys=written,
                    hint="put each in an environment variable and write ${NAME} there")
    return config, secrets


class DuplicateKey(Exception):
    pass


class TooLarge(Exception):
    pass


def _parse(text: str) -> Any:
    """safe_load, after counting what the document expands to: aliases are
    shared nodes while parsing, so the count is made per distinct node."""
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        values = _expanded(node, {}, set())
        if values > MAX_VALUES:
            raise TooLarge(f"the YAML expands to over {MAX_VALUES:,} values through its aliases "
                           "(`*name`); refused, as an alias bomb would be")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded(node: yaml.Node, sizes: dict[int, int], open_: set[int]) -> int:
    """How many values `node` stands for with every alias written out."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:                      # a block that contains itself expands forever
        raise TooLarge("a block contains itself through an alias (`*name`); refused")
    open_.add(key)
    total = 1
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    for child in children:
        total += _expanded(child, sizes, open_)
        if total > MAX_VALUES:
            break
    open_.discard(key)
    sizes[key] = total
    return total


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load, except that a key given twice is an error: PyYAML keeps the
    last one, so a second `outcomes:` block would silently replace the first."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                continue                   # the base class reports unhashable keys
            if key in seen:
                raise DuplicateKey(f"key {key!r} is given twice (lines {seen[key] + 1} and "
                                   f"{key_node.start_mark.line + 1}); keep one")
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _interpolate(node: Any, loc: list, problems: list[str], secrets: set[str], path: Path,
                 env: Mapping[str, str], fields: Fields, taken: set[str]) -> Any:
    if isinstance(node, dict):
        return {k: _interpolate(v, loc + [k], problems, secrets, path, env, fields, taken)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, loc + [i], problems, secrets, path, env, fields, taken)
                for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def substitute(match: re.Match) -> str:
        name = match[1]
        if name not in env:
            problems.append(f"{path}: {_path_text(loc)}: environment variable {name} is not set")
            return ""
        if env[name]:
            taken.add(env[name])
        return env[name]

    value = _ENV.sub(substitute, node)
    if tuple(loc) in fields.credentials and fields.written_in(loc, node):
        problems.append(f"{path}: {_path_text(loc)}: a credential written into the file; "
                        "put it in an environment variable and write ${NAME} here")
    if tuple(loc) in fields.credentials or tuple(loc) in fields.secrets:
        # each ${ENV} value alone is a secret too: a message may show it without the rest
        for name in _ENV.findall(node):
            secrets.update(_parts(env.get(name) or ""))
    if _ENV_START.search(_ENV.sub("", node)):
        problems.append(f"{path}: {_path_text(loc)}: `${{` without a matching `}}` "
                        "(write ${NAME} for an environment variable)")
    if tuple(loc) in fields.secrets and value:
        secrets.add(value)
    return value


def _parts(value: str) -> list[str]:
    """A value from the environment, and, when it is a whole URL, the parts a
    message may show alone: its password and its path (a SQLite file's)."""
    if "://" not in value:
        return [value] if value else []
    try:
        url = urlsplit(value)
        path = url.path.lstrip("/")            # sqlite:////abs/file.db: shown as /abs/file.db
        extra = [url.password or "", path if len(path) > 3 else ""]
    except ValueError:
        extra = []
    return [value] + [part for part in extra if part]


def _at(node: Any, at: tuple) -> Any:
    """The value at a location of the file as written (None when absent)."""
    for part in at:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _hide(line: str, taken: set[str]) -> str:
    """A value from the environment may be a secret in the wrong place (a
    webhook URL where a block was expected): an error names where, never it."""
    for value in sorted(taken, key=len, reverse=True):
        # A short one (a type, a zone) only where it is quoted: anywhere, it would garble the line.
        line = line.replace(repr(value) if len(value) < 8 else value, "[a value from the environment]")
    return line


def _path_text(loc: list) -> str:
    out = ""
    for part in loc:
        if isinstance(part, str) and "://" in part:
            part = "<a URL given as a key>"    # `webhook:` forgotten: the URL is a secret, not shown
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _user_path(loc: tuple, data: Any) -> list:
    """Drop pydantic's union/tag segments and the index of a single block the
    user wrote without a list, so the path reads as the user's own file."""
    parts: list = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(part, int):
            if isinstance(node, list):
                parts.append(part)
                node = node[part] if part < len(node) else None
            continue
        if isinstance(node, dict) and part in node:
            parts.append(part)
            node = node[part]
        elif last and isinstance(node, dict) and node.get("type") == part:
            pass        # a block's own check (a model validator): its path ends at the block
        elif last and not ("[" in part or "-" in part):
            parts.append(part)
    return parts


def _describe(exc: ValidationError, data: Any, fields: Fields, taken: set[str]) -> list[str]:
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        loc = _user_path(err["loc"], data)
        where = _path_text(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            text = "unknown key"
            # Every key of the schema and of the targets' blocks (checked apart from it).
            hint = schema.close_keys(loc[-1] if loc else "", [config_model()] + CONNECTORS.models("notify")
                                     + CONNECTORS.models("alert"))
            if hint:
                text += f" (did you mean {hint}?)"
        elif kind == "missing":
            text = "required key is missing"
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            ctx = err.get("ctx", {})
            given = err.get("input")
            where = f"{where}.{ctx.get('discriminator', 'type').strip(chr(39))}"
            tag = given.get("type") if isinstance(given, dict) else given
            broken = f" (not loaded: {'; '.join(CONNECTORS.broken)})" if CONNECTORS.broken else ""
            text = (f"unknown type {tag!r}; expected one of {ctx.get('expected_tags', '')}{broken}"
                    if kind == "union_tag_invalid" else "required key is missing")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            # A list's validator may name the entry at fault: `[1].date: …`.
            inner = _ENTRY.match(msg)
            if inner:
                where, msg = where + inner[1], inner[2]
            got = err.get("input")
            text = msg[0].lower() + msg[1:] if msg else kind
            secret = (tuple(loc) in fields.secrets or tuple(loc) in fields.credentials  # never
                      or (isinstance(got, str) and any(v in got for v in taken))    # echo one, nor ${ENV},
                      # nor a URL in a wrong place: a webhook's or a database's holds its secret
                      or (isinstance(got, str) and "://" in got))
            if not isinstance(got, (dict, list)) and "got" not in text and not secret:
                text += f", got {got!r}"
            elif isinstance(got, str) and "://" in got and got in text:
                # A validator's own message quoting a URL given where a path belongs.
                text = text.replace(repr(got), "a URL (not shown)").replace(got, "a URL (not shown)")
        line = f"{where}: {text}"
        if line not in lines:
            lines.append(line)
    return lines
