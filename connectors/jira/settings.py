"""What a `type: jira` source block holds, and what is checked as it loads:
the site's address (no credentials or query in it; plain http said), the
auth, the JQL, the fields and the pool."""
from __future__ import annotations

from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from sync.core.config import Duration, Strict

from connectors.jira.issue import JiraFields


class JiraAuth(Strict):
    email: str | None = None
    token: str


class JiraSourceConfig(Strict):
    type: Literal["jira"]
    name: str | None = None
    url: str                                   # the site: ticket links always point here
    cloud_id: str | None = Field(default=None, pattern=r"^(auto|[A-Za-z0-9][A-Za-z0-9-]{7,63})$")
    auth: JiraAuth
    jql: str
    fields: JiraFields = Field(default_factory=JiraFields)
    full_refresh: Duration = timedelta(hours=24)
    # Requests in flight at once for a full fetch.  Cloud's API-token burst
    # limits are unpublished; 8 is the top of the 4-8 Atlassian's own
    # guidance and client libraries use, and a 429 slows every worker.
    workers: int = Field(8, ge=1, le=16)
    # `labels`: a lever chosen in the sheet's Set lever column is added to
    # the issue as its tag label (sync.worker.writeback).  Off by default.
    writeback: Literal["labels"] | None = None

    @field_validator("url")
    @classmethod
    def _site(cls, url: str) -> str:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("expected the site's address, https://SITE.atlassian.net or "
                             "https://jira.example.com")
        if parts.username or parts.password:
            # A password in the URL would be logged and linked from every ticket row.
            raise ValueError("expected an address without user or password in it "
                             "(the credentials go under source.auth)")
        try:
            port = parts.port           # urllib checks the port only when asked
        except ValueError:
            port = 0
        if port == 0 or parts.netloc.endswith(":"):
            raise ValueError("expected a port between 1 and 65535 after the host")
        if parts.query or parts.fragment or ";" in parts.path or any(c.isspace() for c in url.strip()):
            raise ValueError("expected the site's base address, without ?query, #fragment, ;params or spaces")
        return url.strip()


def plain_http(url: str) -> bool:
    """Plain http to another machine: the token would cross the network
    unencrypted.  Allowed (an old Server on an intranet), but said each time."""
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1")
