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

import hashlib
import ipaddress
from typing import Literal
from urllib.parse import urlparse

from pydantic import ConfigDict, Field, field_validator, model_validator

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
    webhook: str
    allow_private: bool = False          # a webhook inside the network: private addresses allowed

    @field_validator("webhook")
    @classmethod
    def _https(cls, url: str) -> str:
        return _webhook(url)

    @model_validator(mode="after")
    def _public(self):
        parsed = urlparse(self.webhook)
        addr = _address((parsed.hostname or "").rstrip("."))
        if parsed.scheme == "https" and addr is not None and not addr.is_global and not self.allow_private:
            raise ValueError(f"webhook: {addr} is not a public address; set allow_private: true "
                             "on this target if it is meant")
        return self

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
    to: list[str] = Field(min_length=1)

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


def _short(url: str) -> str:
    """A target's id without its secret: host and a hash of the URL."""
    return f"{urlparse(url).hostname}#{hashlib.sha256(url.encode()).hexdigest()[:10]}"


# The fields of each target's block that are secrets (what the registry is told).
SECRETS = {"slack": ("webhook",), "teams": ("webhook",), "email": ("password",)}
