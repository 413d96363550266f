"""`notify` targets: where the weekly review (and alerts) are delivered, the
config blocks of `review.notify` and `alerts.notify` (registered by
connectors.notify.deliver and .alert).  Strict models like the rest of the
config; webhook URLs and SMTP passwords are secrets (registered as such, so
redacted everywhere), so no message here repeats one.

What can be told from the URL alone is refused here: a scheme other than
https (plain http only to a loopback address, for a local test server), and
an address written into the URL that is private, link-local, loopback or a
cloud metadata service, unless `allow_private: true`.  Names are resolved,
and checked again, when a delivery connects (connectors.notify.webhook).
"""
from __future__ import annotations

import email.utils
import hashlib
import ipaddress
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import AfterValidator, ConfigDict, Field, ValidationInfo, field_validator

from sync.core.strict import Strict

_METADATA_HOSTS = {"metadata.google.internal", "metadata.goog", "metadata"}
_METADATA = {"169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200"}


def _address(host: str):
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return None
    return addr.ipv4_mapped if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped else addr


def _webhook(url: str) -> str:
    try:
        parsed = urlparse(url)
        host = (parsed.hostname or "").rstrip(".").lower()
        parsed.port                      # a port that is not a number raises here
    except ValueError:
        raise ValueError("not a valid URL (the URL is a secret and is not repeated)") from None
    addr = _address(host)
    if host in _METADATA_HOSTS or (addr is not None and str(addr) in _METADATA):
        raise ValueError(f"{host} is a cloud metadata service, never a webhook")
    if parsed.scheme == "https" and host:
        return url
    if parsed.scheme == "http" and (host == "localhost" or (addr is not None and addr.is_loopback)):
        return url                       # a local test server only
    # The URL is a secret: say what is wrong without repeating it.
    raise ValueError("expected an https:// webhook URL (plain http only to a loopback address such "
                     "as 127.0.0.1, for testing)")


class _WebhookTarget(Strict):
    # Before `webhook`: its check reads this (fields are validated in this order).
    allow_private: bool = False          # a webhook inside the network: private addresses allowed
    webhook: str

    @field_validator("webhook")
    @classmethod
    def _https(cls, url: str, info: ValidationInfo) -> str:
        url = _webhook(url)
        parsed = urlparse(url)
        addr = _address((parsed.hostname or "").rstrip("."))
        if parsed.scheme == "https" and addr is not None and not addr.is_global and \
                not info.data.get("allow_private", False):
            # A whole sentence under the key (`….webhook: …`); the URL is a secret: not repeated.
            raise ValueError("the URL's host is a private, loopback or link-local address, not a public "
                             "one; expected a public https:// webhook URL, or allow_private: true on "
                             "this target if that address is meant")
        return url

    @property
    def id(self) -> str:
        return f"{self.type}:{_short(self.webhook)}"


class SlackTarget(_WebhookTarget):
    type: Literal["slack"]


class TeamsTarget(_WebhookTarget):
    type: Literal["teams"]


class EmailTarget(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)
    type: Literal["email"]
    smtp: str                            # host:port
    starttls: bool = True
    ssl: bool = False                    # implicit TLS (port 465) instead of STARTTLS
    username: str | None = None
    password: str | None = None
    sender: str = Field(alias="from")
    # Each address checked on its own: every bad one is named, not the first only.
    to: list[Annotated[str, AfterValidator(lambda value: _mailbox(
        value, "expected an email address such as leads@example.com"))]] = Field(min_length=1)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _mailbox(value, "expected an email address such as align-sync@example.com "
                               "(or Align Sync <align-sync@example.com>)")

    @field_validator("smtp")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected host:port such as smtp.example.com:587, got {value!r}")
        return value

    @property
    def id(self) -> str:
        return f"email:{self.smtp}:{','.join(self.to)}"


def _mailbox(value: str, expected: str) -> str:
    """`value` if it reads as one address (`a@example.com`, or with a display
    name: `Name <a@example.com>`, as the stdlib's parser reads it): one @,
    something before it, a domain after it (`localhost` or `intranet` on an internal
    relay too), no spaces, no comment and no line break (a header could be
    smuggled)."""
    found = email.utils.getaddresses([value])          # two, for `a@x.com, b@x.com`
    addr = found[0][1] if len(found) == 1 else ""
    local, at, domain = addr.rpartition("@")
    # The address as written (inside <...> when a name comes first) must be
    # what the parser read: `ops@exa mple.com` reads as `ops@exa`, and
    # `x@example.com (Bob)` drops the comment, so mail would go elsewhere.
    written = value.rpartition("<")[2].rstrip().removesuffix(">") if "<" in value else value.strip()
    labels = domain.split(".")
    if "\n" in value or "\r" in value or not at or not local or "@" in local or \
            any(c.isspace() for c in addr) or written != addr or \
            local.startswith(".") or local.endswith(".") or ".." in local or \
            not all(label and not label.startswith("-") and not label.endswith("-") and "_" not in label
                    for label in labels):
        raise ValueError(f"{expected}, got {value!r}")
    return value


def _short(url: str) -> str:
    """A target's id without its secret: host and a hash of the URL."""
    return f"{urlparse(url).hostname}#{hashlib.sha256(url.encode()).hexdigest()[:10]}"


# The fields of each target's block that are secrets (what the registry is told).
SECRETS = {"slack": ("webhook",), "teams": ("webhook",), "email": ("password",)}
