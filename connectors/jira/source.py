"""Jira source: Cloud (email + API token) and Server/Data Center (personal
access token), on the `jira` library, with incremental syncs.

Cloud pages `/rest/api/3/search/jql` by `nextPageToken` (the old `/search`
answers 410 there since 2025, CHANGE-2046); Data Center pages
`/rest/api/2/search` by `startAt`/`total`.  Every request goes through
`connectors.http` and the host's limiter; the library's own retries are off.
A full fetch reads the query in parallel batches (connectors.jira.batches).
Between full re-fetches only issues updated since the cursor are read, and
an ids-only census of the JQL drops issues that were deleted or left the
query.
"""
from __future__ import annotations

import json
import re
import threading
from collections import Counter
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone
from typing import Callable, TypeVar

import requests
import structlog

from sync.core.errors import RemoteError
from sync.core.model import Ticket
from sync.worker.runtime import Runtime
from sync.core.protocols import Store
from sync.worker.state import PackedTexts, State

from connectors import http, retry
from connectors.field_guess import jira_fields
from connectors.jira import batches
from connectors.jira.batches import CENSUS_PAGE
from connectors.jira.issue import to_ticket
from connectors.jira.settings import JiraSourceConfig, plain_http
from sync.core.values import timestamp_or_none as parse_time
from sync.core.values import future
from connectors.jira.meta import JiraMeta, translate

T = TypeVar("T")
FIELDS = ("summary", "issuetype", "status", "assignee", "labels", "components", "project",
          "parent", "updated", "resolutiondate", "created", "description")
OVERLAP = timedelta(hours=1)   # index lag, minute-granular JQL dates, DST folds
TIMEOUT = (5, 60)
GATEWAY = "https://api.atlassian.com/ex/jira"
_ORDER_BY = re.compile(r"\s+order\s+by\s+.*$", re.IGNORECASE | re.DOTALL)


def base_jql(jql: str) -> str:
    """The user's JQL without its ORDER BY, so it can be and-ed with a cursor."""
    return _ORDER_BY.sub("", jql.strip())


log = structlog.get_logger("align_sync.jira")
# Jira Cloud's API-token traffic falls under per-second burst limits; this
# ceiling keeps many workspaces on one host and account under them together.
BURST = (100, 1.0)


class JiraSource:
    def __init__(self, config: JiraSourceConfig, name: str, runtime: Runtime | None = None):
        self.config = config
        self.name = name
        self.runtime = runtime or Runtime()
        self.client = None
        self.cloud = False
        self.writeback = config.writeback
        self.notices: list[str] = []   # a live search is read whole, or the sync fails
        self.archived = 0
        auth = config.auth
        # At most `workers` requests in flight, the listing's included.
        self.slots = threading.BoundedSemaphore(config.workers)
        self.limiter = self.runtime.limiters.get("jira", config.url.rstrip("/"), auth.email or "",
                                                 auth.token, limit=BURST[0], window=BURST[1])

    # -- plumbing ---------------------------------------------------------

    def request(self, what: str, fn: Callable[[], T]) -> T:
        def once() -> T:
            with self.slots:
                self.limiter.wait(retry.sleep, self.runtime.stop)
                return fn()
        return http.call("jira", once, runtime=self.runtime,
                         translate=lambda exc: self.limiter.told(
                             translate(exc, what, self.config, self.runtime.redactor)))

    def _connect(self, state: Store, now: datetime, fields: bool = False):
        """The client, and the server's kind; `fields`: the field list read
        alongside (a fetch needs it next)."""
        # lazy: the jira library (0.1 s to import) loads only when a Jira source connects
        from jira import JIRA
        auth = self.config.auth
        kwargs = dict(server=self.api_root(state), max_retries=0, timeout=TIMEOUT,
                      get_server_info=False, options={"check_update": False})
        # Cloud: email + API token (basic); Server/DC: personal access token (bearer).
        if auth.email:
            kwargs["basic_auth"] = (auth.email, auth.token)
        else:
            kwargs["token_auth"] = auth.token
        if plain_http(self.config.url):
            log.warning("jira_plain_http", source=self.name, url=self.config.url,
                        hint="the token is sent unencrypted: use the https:// address")
        client = JIRA(**kwargs)
        client._session.hooks["response"].append(self.runtime.telemetry.response_hook("jira"))
        self.client = client
        self.meta = JiraMeta(self, state, now)
        with self.meta.fields_alongside() if fields else nullcontext():
            info = self.meta.server_info()
        client.deploymentType = info.get("deploymentType")
        client._version = tuple(info.get("versionNumbers") or (0, 0, 0))
        self.cloud = client.deploymentType == "Cloud"
        return client

    def api_root(self, state: Store) -> str:
        """Where API calls go: the site, or with `cloud_id` the Atlassian gateway
        (the only door scoped tokens and service accounts may use)."""
        site = self.config.url.rstrip("/")
        if not self.config.cloud_id:
            return site
        cloud_id = self.config.cloud_id
        if cloud_id == "auto":
            cloud_id = self._tenant_id(site, state)
        return f"{GATEWAY}/{cloud_id}"

    def _tenant_id(self, site: str, state: Store) -> str:
        """The site's cloud id, read once from its unauthenticated tenant_info
        and kept in state (a new `url` reads it again)."""
        cached = state.get_json(self.name, "tenant") or {}
        if cached.get("url") == site and cached.get("cloud_id"):
            return cached["cloud_id"]
        session = requests.Session()
        session.hooks["response"].append(self.runtime.telemetry.response_hook("jira"))

        def read() -> dict:
            response = session.get(f"{site}/_edge/tenant_info", timeout=TIMEOUT)
            response.raise_for_status()
            return response.json()
        try:
            found = str(self.request("tenant_info", read).get("cloudId") or "")
        except ValueError:
            found = ""
        if not found:
            raise RemoteError(f"{site}/_edge/tenant_info named no cloudId",
                              hint="check source.url is the Jira Cloud site (https://SITE.atlassian.net), "
                                   "or give source.cloud_id itself (admin.atlassian.com shows it)")
        state.stage(self.name, "tenant", {"url": site, "cloud_id": found})
        return found

    def cloud_search(self, jql: str, **kwargs) -> dict:
        """One `/rest/api/3/search/jql` page (v3: ADF descriptions).  Metadata
        calls stay on v2, which Cloud and Data Center both serve."""
        client = self.client
        client._options["rest_api_version"] = "3"
        try:
            return client.enhanced_search_issues(jql, json_result=True, **kwargs)
        finally:
            client._options["rest_api_version"] = "2"

    # -- the source protocol ----------------------------------------------

    def fetch(self, state: Store, now: datetime) -> list[Ticket]:
        self._connect(state, now, fields=True)
        ids = self.meta.field_ids()
        # Each field once: a custom field configured as one we already ask for adds nothing.
        fields = list(dict.fromkeys(list(FIELDS) + [f for f in (ids.estimate, ids.acceptance,
                                                                 ids.epic_link) if f]))
        signature = ",".join(fields)
        jql = base_jql(self.config.jql)
        cursor = state.get(self.name, "cursor")
        last_full = state.get(self.name, "last_full")
        full = (not cursor or not last_full or state.get(self.name, "fields") != signature
                or now - datetime.fromisoformat(last_full) >= self.config.full_refresh)
        url = self.config.url.rstrip("/")
        if full:
            # Each batch's issues become (packed) text for the cache and Tickets on the
            # worker that fetched them, and their dicts are dropped: 100k
            # issues never sit in memory as dicts.
            def kept(issues: list[dict]) -> list[tuple[str, bytes, Ticket, str | None]]:
                return [(str(i.get("id") or i["key"]), PackedTexts.pack(json.dumps(i, separators=(",", ":"))),
                         to_ticket(i, self.name, ids, url), (i.get("fields") or {}).get("updated"))
                        for i in issues]
            texts = PackedTexts()
            found: dict[str, Ticket] = {}
            stamps = []
            step = self.runtime.progress.step(f"source {self.name}: reading Jira")
            for n, batch in enumerate(batches.query(self, self.config.jql, fields, kept), 1):
                for k, text, ticket, stamp in batch:
                    texts.put(k, text)
                    found[k] = ticket           # an id in two batches counts once
                    stamps.append(stamp)
                step.update(pages=n, issues=len(found))
            step.done()
            state.stage(self.name, "last_full", now.isoformat())
            state.stage(self.name, "fields", signature)
            state.stage_tickets(self.name, texts)
            tickets = list(found.values())
        else:
            cached = state.cached_tickets(self.name)
            since = datetime.fromisoformat(cursor) - OVERLAP
            local = since.astimezone(self.meta.user_zone()).strftime("%Y/%m/%d %H:%M")
            changed = batches.every(self, f'({jql}) AND updated >= "{local}" ORDER BY updated ASC, '
                                          'key ASC', fields)
            census = set(batches.every(self, jql, ["id"], CENSUS_PAGE))
            missing = sorted(census - set(cached) - set(changed), key=int)
            # Issues that entered the query without an update (a sprint or
            # filter change) are fetched by id, 100 at a time, in parallel.
            for issues in batches.by_ids(self, missing, fields, lambda issues: issues):
                changed.update((str(i.get("id") or i["key"]), i) for i in issues)
            changed = {k: v for k, v in changed.items() if k in census}
            texts = {k: json.dumps(v, separators=(",", ":")) for k, v in changed.items()}
            state.stage_ticket_changes(self.name, texts, set(cached) - census)
            # The cache's text is parsed one issue at a time and dropped once
            # its Ticket exists; only what changed is written back.
            tickets, stamps = [], []
            for k in [k for k in cached if k in census] + [k for k in changed if k not in cached]:
                issue = changed[k] if k in changed else json.loads(cached[k])
                tickets.append(to_ticket(issue, self.name, ids, url))
                stamps.append((issue.get("fields") or {}).get("updated"))
        # A time past tomorrow (year 9999) is bad data, not a cursor: it would skip every later change.
        newest = max((s for s in map(parse_time, stamps) if s and not future(s, now)), default=None)
        state.stage(self.name, "cursor", (newest or now).isoformat())
        return tickets

    # -- label write-back ---------------------------------------------------

    def add_label(self, key: str, label: str) -> None:
        """Add one label to an issue (`PUT /issue/{key}`, an `update` that
        only adds: the other labels stay).  Called after `fetch`, which
        connected the client; paced by the same limiter as the reads."""
        client = self.client
        url = client._get_url(f"issue/{key}")
        body = json.dumps({"update": {"labels": [{"add": label}]}})
        self.request(f"label write on {key}", lambda: client._session.put(url, data=body))

    def _can_edit(self) -> str:
        """`check` with write-back on: the Edit issues permission."""
        got = self.request("permission check", lambda: self.client.my_permissions(
            permissions="EDIT_ISSUES"))
        edit = ((got or {}).get("permissions") or {}).get("EDIT_ISSUES") or {}
        if not edit.get("havePermission"):
            raise RemoteError("Jira: the account may not edit issues, so source.writeback: labels "
                              "cannot add labels (EDIT_ISSUES not granted)",
                              hint="grant the Edit issues permission in the JQL's projects, or "
                                   "remove source.writeback")
        return "; may edit issues (label write-back)"

    # `init` and `check` run before any state file exists: a scratch store in memory.
    def draft_fields(self) -> tuple[dict, list[str]]:
        """For `init`: the estimate and acceptance fields, by their names."""
        self._connect(State(":memory:", readonly=True), datetime.now(timezone.utc))
        names = {f["id"]: f.get("name") or "" for f in self.meta.field_list() if f.get("id")}
        return jira_fields(names, Counter(), 0, use_names=True)

    def check(self) -> str:
        state = State(":memory:", readonly=True)
        now = datetime.now(timezone.utc)
        self._connect(state, now)
        me = self.meta.myself()
        ids = self.meta.field_ids()
        client = self.client
        jql = self.config.jql
        if self.cloud:
            self.request("search", lambda: self.cloud_search(jql, maxResults=1, fields=["id"]))
        else:
            self.request("search", lambda: client.search_issues(
                jql, maxResults=1, fields=["id"], json_result=True))
        kind = "Cloud" if self.cloud else (client.deploymentType or "Server")
        found = ", ".join(f"{k}={v}" for k, v in (("estimate", ids.estimate),
                                                  ("acceptance", ids.acceptance)) if v)
        via = f" through the gateway ({self.client.server_url})" if self.config.cloud_id else ""
        edit = self._can_edit() if self.writeback else ""
        clear = ("; WARNING: plain http, the token crosses the network unencrypted "
                 "(use the https:// address)") if plain_http(self.config.url) else ""
        return (f"Jira {kind} at {self.config.url}{via} as {me.get('displayName') or me.get('name')}; "
                f"JQL valid; fields {found or 'none configured'}{edit}{clear}")



def register(registry) -> None:
    registry.add("source", "jira", JiraSourceConfig,
                 lambda config, name, runtime: JiraSource(config, name, runtime),
                 secrets=("auth.token",))
