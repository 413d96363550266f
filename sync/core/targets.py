"""`review.notify`: where the weekly review is delivered (PRODUCT.md §9).
Strict models like the rest of the config; webhook URLs and SMTP passwords
are secrets (redacted everywhere: configfile.SECRET_KEYS)."""
from __future__ import annotations

from typing import Annotated, Literal, Union
from urllib.parse import urlparse

from pydantic import ConfigDict, Field, field_validator

from sync.core.config import Strict

_LOCAL = {"localhost", "127.0.0.1", "::1"}


def _webhook(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme == "https" and parsed.hostname:
        return url
    if parsed.scheme == "http" and parsed.hostname in _LOCAL:
        return url                       # a local test server only
    # The URL is a secret: say what is wrong without repeating it.
    raise ValueError("expected an https:// webhook URL (plain http only to localhost, for testing)")


class _WebhookTarget(Strict):
    webhook: str

    @field_validator("webhook")
    @classmethod
    def _https(cls, url: str) -> str:
        return _webhook(url)

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
    import hashlib
    return f"{urlparse(url).hostname}#{hashlib.sha256(url.encode()).hexdigest()[:10]}"


Target = Annotated[Union[SlackTarget, TeamsTarget, EmailTarget], Field(discriminator="type")]
