"""The one redactor: secrets, and the forms they take on the way out, are
removed from every text a person reads (stderr, log lines, Summary's
`Last error`, the review, alerts).

Two kinds of removal:
- shapes that are secret whoever wrote them: an `Authorization` value,
  `Basic`/`Bearer` credentials, URL user info, token-like query parameters
  and JSON keys;
- the secrets the process knows (tokens, passwords, keys, webhook URLs) and
  what they turn into: percent-encoded, JSON-escaped, inside base64 at any
  alignment (a `Basic` header's payload, also url-safe, re-padded or broken
  over lines).  A URL secret is secret as a whole: its user info, path
  segments and query values are secrets too, so a server echoing just the
  path gives nothing away.
"""
from __future__ import annotations

import base64
import re
import threading
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

REDACTED = "[redacted]"
_MIN = 4                      # shorter values would redact ordinary words
_MIN_PART = 6                 # a webhook URL's parts (a short path segment is a word)
_MIN_B64 = 8                  # a base64 fragment shorter than this matches by chance

_CRED = r"[^\s\"',;<>{}\[\]\\]+"          # a credential runs to a space, quote or separator
_FOLD = r"(?:(?:\r?\n|\\r\\n|\\n)[ \t]*" + _CRED + r"(?=[\s\"',;}\]]|$))*"   # a folded header
# (words one of which the lowered text must hold, pattern, replacement): the
# words are checked first, a regex pass per shape on every log line is not free.
_SECRET_WORDS = ("token", "key", "secret", "sig", "passw", "pwd", "authorization")
_SHAPES = [
    # Authorization: <anything>, and the other headers that carry a credential
    # (the scheme word goes too; what follows the credential stays)
    (("authorization", "api-key", "auth-token", "cookie"),
     re.compile(r"(?i)((?:proxy-)?authorization|x-api-key|api-key|x-auth-token|cookie|set-cookie)"
                r"([\"']?\s*[:=]\s*[\"']?)(?:[A-Za-z][A-Za-z0-9_-]*(?:\s|%20|\+)+)?" + _CRED + _FOLD),
     r"\1\2" + REDACTED),
    # (a credential, not a word: 8+ characters with a digit, a symbol or a case change)
    (("basic", "bearer"),
     re.compile(r"\b([Bb]asic|BASIC|[Bb]earer|BEARER)((?:\s|%20|\+)+)"
                r"(?=\S{8})(?=[A-Za-z]*[^A-Za-z\s]|[A-Za-z]*[a-z][A-Z])" + _CRED + _FOLD),
     r"\1\2" + REDACTED),
    # scheme://user:password@host (also percent-encoded: https%3A%2F%2Fuser%3Apass%40host)
    (("://",), re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#\"'<>]+@"), r"\1" + REDACTED + "@"),
    (("%3a%2f%2f",), re.compile(r"(?i)(%3A%2F%2F)(?:[^/\s%\"'<>]|%(?!40|2F)[0-9a-f]{2})+%40"),
     r"\1" + REDACTED + "%40"),
    # token=..., sig=... in a query string or form (also percent-encoded)
    (_SECRET_WORDS,
     # (a password or secret with any prefix too: Jira's os_password, app_secret;
     # not a key: `ticket_key=A-1` is a log field)
     re.compile(r"(?i)(?<![A-Za-z0-9_-])((?:[A-Za-z0-9]+[_-])+(?:password|passwd|pwd|secret)"
                r"|(?:access[_-]?|refresh[_-]?|id[_-]?|auth[_-]?)?token|api[_-]?key|key"
                r"|client[_-]?secret|secret|private[_-]?key|sig|signature|x-(?:amz|goog)-signature"
                r"|password|passwd|pwd)(=|%3D)"
                # (an encoded `&` ends the value, unless it is the value's first character)
                r"(?:[^&\s\"'#<>%]|%[0-9A-Fa-f]{2})(?:[^&\s\"'#<>%]|%(?!26)[0-9A-Fa-f]{2})*"),
     r"\1\2" + REDACTED),
    # "token": "...", 'password': '...' in JSON or a Python repr
    (_SECRET_WORDS,
     re.compile(r"(?i)([\"'](?:access_?|refresh_?|auth_?)?token|[\"']api_?key|[\"']client_?secret"
                r"|[\"']secret|[\"']private_?key|[\"']password|[\"']authorization|[\"']sig(?:nature)?)"
                r"([\"']\s*:\s*[\"'])(?:[^\"'\\]|\\.)*"), r"\1\2" + REDACTED),
]
_LINE_BREAK = re.compile(r"(?:\r?\n|\\r\\n|\\n|\\r)[ \t]*")
_B64_RUN = re.compile(r"(?:[A-Za-z0-9+/_-]|%2[BbFf])+(?:=|%3[Dd]){0,3}")
_UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _hex(digits: str) -> str:
    """Hex digits matching either case."""
    return "".join(f"[{h.upper()}{h.lower()}]" if h.isalpha() else h for h in digits)


def _char(c: str) -> str:
    """A character of a secret as it may appear: itself, percent-encoded
    (once or twice), JSON-escaped."""
    if c in _UNRESERVED:
        return re.escape(c)
    hexes = [_hex(f"{byte:02x}") for byte in c.encode("utf-8")]
    forms = [re.escape(c), "".join(f"%{h}" for h in hexes), "".join(f"%25{h}" for h in hexes),
             rf"\\u{_hex(f'{ord(c):04x}')}", rf"\\{re.escape(c)}"]
    if c == " ":
        forms.append(r"\+")
    return "(?:" + "|".join(forms) + ")"


def _b64_cores(secret: str) -> set[str]:
    """The base64 characters that encode `secret` wherever it starts inside a
    longer byte string (three alignments), standard and url-safe."""
    raw = secret.encode("utf-8")
    cores = set()
    for shift in range(3):
        text = base64.b64encode(b"\0" * shift + raw).decode().rstrip("=")
        start = (shift * 8 + 5) // 6                  # first character made of the secret's bits only
        end = ((shift + len(raw)) * 8) // 6           # last character made of them only
        core = text[start:end]
        if len(core) >= _MIN_B64:
            cores |= {core, core.replace("+", "-").replace("/", "_")}
    return cores


def url_parts(url: str) -> list[str]:
    """The parts of a secret URL that are secrets on their own."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return []
    if not parts.scheme or not parts.netloc:
        return []
    found = [parts.username or "", parts.password or "", parts.path, parts.path.lstrip("/"),
             parts.query, parts.fragment]
    found += [s for s in parts.path.split("/")
              if len(s) >= 16 or (len(s) >= _MIN_PART and any(ch.isdigit() for ch in s))]
    found += [v for _, v in parse_qsl(parts.query, keep_blank_values=True)]
    found += [unquote(v) for v in found]
    return [v for v in found if len(v) >= _MIN_PART]


@dataclass(frozen=True)
class _Known:
    secrets: tuple[str, ...] = ()
    # (anchor, pattern, base64?): a pattern runs only on text holding its
    # anchor, a piece every form of the secret keeps as is (a str `in` is
    # far cheaper than a regex of a hundred alternatives on every log line)
    checks: tuple[tuple[str, re.Pattern, bool], ...] = ()


def _anchor(text: str, keep: str) -> str:
    runs = re.findall(f"[{re.escape(keep)}]+", text)
    best = max(runs, key=len, default="")
    return best if len(best) >= 3 else ""


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _compile(secrets: tuple[str, ...]) -> _Known:
    # A server may echo a secret upper- or lower-cased, or hex-encoded: plain
    # forms match in any case (base64 cannot: its case is its content).
    plain = secrets + tuple(s.encode("utf-8").hex() for s in secrets)
    checks = [(_anchor(s, "".join(sorted(_UNRESERVED))).lower(),
               re.compile("".join(_char(c) for c in s), re.IGNORECASE), False) for s in plain]
    cores = sorted({core for s in secrets for core in _b64_cores(s)}, key=len, reverse=True)
    checks += [(_anchor(core, _ALNUM), re.compile("".join(_char(c) if c in "+/" else re.escape(c) for c in core)),
                True) for core in cores]
    return _Known(secrets, tuple(checks))


class Redactor:
    """Values that must never appear in output.  One per process, shared by
    every workspace (the log is the process's); `add` swaps the compiled
    patterns in whole, so reading needs no lock."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._known = _Known()
        self._lock = threading.Lock()
        self.add(secrets)

    def add(self, values: Iterable[str]) -> None:
        found: list[str] = []
        for value in values:
            if value and len(value) >= _MIN:
                found += [value, *url_parts(value)]
        with self._lock:
            new = [v for v in dict.fromkeys(found) if v not in self._known.secrets]
            if new:
                self._known = _compile(tuple(sorted(self._known.secrets + tuple(new), key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        if not text:
            return text
        lowered = text.lower()
        for words, pattern, replacement in _SHAPES:
            if any(w in lowered for w in words):
                text = pattern.sub(replacement, text)
        known = self._known
        return _cut(text, _spans(text, known)) if known.checks else text

    def scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.scrub(v) for v in value)
        return value

    def processor(self, _, __, event: dict) -> dict:
        """A structlog processor: every value of a log event, redacted."""
        return {k: self.scrub(v) for k, v in event.items()}


def _spans(text: str, known: _Known) -> list[tuple[int, int]]:
    """Where the known secrets are, in `text`'s positions.  Matching runs on
    the text with its line breaks taken out, so a value folded over lines
    (a header echo, MIME base64) is found whole."""
    starts, origins, pieces, at, pos = [], [], [], 0, 0
    breaks = _LINE_BREAK.finditer(text) if "\n" in text or "\r" in text or "\\" in text else ()
    for brk in breaks:
        starts.append(pos), origins.append(at), pieces.append(text[at:brk.start()])
        pos += brk.start() - at
        at = brk.end()
    starts.append(pos), origins.append(at), pieces.append(text[at:])
    view = "".join(pieces)

    def where(p: int) -> int:
        i = bisect_right(starts, p) - 1
        return origins[i] + p - starts[i]

    found = []
    lowered = view.lower()
    for anchor, pattern, b64 in known.checks:
        if anchor not in (view if b64 else lowered):
            continue
        for m in pattern.finditer(view):
            if not b64:
                found.append(m.span())
                continue
            # The whole base64 run goes: its other bytes are the secret's neighbours (email:token).
            lo, hi = max(0, m.start() - 4096), min(len(view), m.end() + 4096)
            runs = [r.span() for r in _B64_RUN.finditer(view, lo, hi)
                    if r.start() <= m.start() and r.end() >= m.end()]
            found.append(runs[0] if runs else m.span())
    return [(where(a), where(b - 1) + 1) for a, b in found]


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    out, at = [], 0
    for start, end in sorted(spans):
        if end <= at:
            continue
        out += [text[at:max(at, start)], REDACTED if start >= at else ""]
        at = end
    out.append(text[at:])
    return "".join(out)
