"""Where a config file's secrets are.  Each connector block's registry entry
names its secret fields (a tracker's token, a webhook URL, an SMTP
password) and the fields that may embed a credential (a metric source's
URL or request headers); `Fields` turns those names into locations in one
file, so the config reader collects what they hold for the log redactor and
never echoes one back in an error.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

from sync.core.config import BLOCKS
from sync.core.registry import CONNECTORS

ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CREDENTIAL_HEADER = re.compile(r"(?i)auth|token|key|secret|cookie|password")
_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@:]*:([^/@]+)@")


class Fields:
    """The locations (tuples of keys and indexes) of one file's secret and
    credential-bearing fields, read from the file as written (`raw`)."""

    def __init__(self, raw: Any, env: Mapping[str, str]):
        self.secrets: set[tuple] = set()
        self.credentials: set[tuple] = set()
        for role, where in BLOCKS:
            for loc, block in expand(raw, where, ()):
                kind_type = block.get("type") if isinstance(block, dict) else None
                if not isinstance(kind_type, str):
                    continue
                kind = CONNECTORS.load().kinds.get((role, ENV.sub(lambda m: env.get(m[1], ""), kind_type)))
                if kind is None:
                    continue                   # an unknown type: the schema says so
                for names, found in ((kind.secrets, self.secrets), (kind.credentials, self.credentials)):
                    for field in names:
                        found.update(at for at, _ in expand(block, tuple(field.split(".")), loc))

    @staticmethod
    def written_in(loc: list, raw: str) -> bool:
        """Whether a credential-bearing field holds a credential written into
        the file rather than taken from ${ENV}: a config file is shared and
        committed.  A header counts when its name says credential; a URL
        when it carries a password."""
        password = _URL_PASSWORD.match(raw)
        credential = len(loc) >= 2 and loc[-2] == "headers" and _CREDENTIAL_HEADER.search(str(loc[-1]))
        return bool((credential and not ENV.search(raw)) or
                    (password is not None and not ENV.search(password[1])))


def expand(node: Any, pattern: tuple, loc: tuple) -> Iterator[tuple[tuple, Any]]:
    """(location, value) of every value `pattern` reaches in `node` ("*": any key or index)."""
    if not pattern:
        yield loc, node
        return
    head, rest = pattern[0], pattern[1:]
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if head == "*" or key == head:
            yield from expand(value, rest, loc + (key,))
