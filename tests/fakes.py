"""Stateful HTTP fakes for the real client libraries, on `responses`.

FakeJira serves serverInfo, field, myself and search (Cloud `/search/jql`
by nextPageToken, Data Center `/search` by startAt/total) from a list of
issues built on the realistic Cloud issue of tests/fixtures/, and filters
the JQL forms align-sync sends (`updated >= "..."` in the user's zone,
`id in (...)`), and Cloud's `POST /issue/bulkfetch`.  Tests change `issues`
between syncs and read `calls`.  It also edits labels (`PUT /issue/{key}`
with an `update` of `add`/`remove` operations, checked as Jira checks them)
and answers `mypermissions`.

`latency` is a round trip in seconds (or a function of the request giving
it), slept in every search, bulk fetch and `myself` handler outside the
fake's lock, so requests from several threads overlap as they would against
a real server; `inflight`/`peak` count the requests being answered at once
and `started` keeps (time, path) of each, for tests of a bounded pool.
"""
from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import responses

from .conftest import fixture

URL = "https://acme.atlassian.net"
DC_URL = "https://jira.example.com"
FIELDS = [
    {"id": "summary", "key": "summary", "name": "Summary", "custom": False, "clauseNames": ["summary"],
     "schema": {"type": "string", "system": "summary"}},
    {"id": "customfield_10016", "key": "customfield_10016", "name": "Story point estimate",
     "untranslatedName": "Story point estimate", "custom": True,
     "clauseNames": ["cf[10016]", "Story point estimate"],
     "schema": {"type": "number", "custom": "com.pyxis.greenhopper.jira:jsw-story-points", "customId": 10016}},
    {"id": "customfield_10050", "key": "customfield_10050", "name": "Acceptance criteria", "custom": True,
     "clauseNames": ["cf[10050]", "Acceptance criteria"], "schema": {"type": "string"}},
    {"id": "customfield_10014", "key": "customfield_10014", "name": "Epic Link", "custom": True,
     "clauseNames": ["cf[10014]", "Epic Link"], "schema": {"type": "any"}},
]
REMOVED = {"errorMessages": ["The requested API has been removed. Please migrate to the "
                             "/rest/api/3/search/jql API. A full migration guideline is available at "
                             "https://developer.atlassian.com/changelog/#CHANGE-2046"], "errors": {}}


def make_issues(n: int, start: datetime, url: str = URL, v3: bool = True) -> list[dict]:
    """n issues shaped like the realistic Cloud issue, one minute apart."""
    template = fixture("jira_search_jql_page1.json")["issues"][0]
    out = []
    for i in range(n):
        issue = copy.deepcopy(template)
        number = 100 + i
        issue["id"] = str(20000 + i)
        issue["key"] = f"GROW-{number}"
        issue["self"] = f"{url}/rest/api/{3 if v3 else 2}/issue/{20000 + i}"
        f = issue["fields"]
        f["summary"] = f"Work item {number}"
        f["labels"] = ["onboarding-email"] if i % 2 else ["seo"]
        f["customfield_10016"] = float(i % 5) or None
        if not v3:
            f["description"] = "h3. Context\nSuccess metric: +5% CTR"
        stamp = (start + timedelta(minutes=i)).astimezone(timezone(timedelta(hours=2)))
        f["updated"] = stamp.strftime("%Y-%m-%dT%H:%M:%S.000+0200")
        out.append(issue)
    return out


def _updated(issue: dict) -> datetime:
    return datetime.strptime(issue["fields"]["updated"], "%Y-%m-%dT%H:%M:%S.%f%z")


class FakeJira:
    def __init__(self, rsps: responses.RequestsMock, issues: list[dict], *, cloud: bool = True,
                 user_zone: str = "Europe/Berlin", url: str | None = None, latency: float = 0.0):
        self.rsps = rsps
        self.latency = latency
        self.lock = threading.Lock()
        self.inflight = self.peak = 0
        self.started: list[tuple[float, str]] = []
        self.issues = issues
        self.cloud = cloud
        self.user_zone = user_zone
        self.url = url or (URL if cloud else DC_URL)
        self.jqls: list[str] = []
        self.failures: list[tuple[int, dict, dict]] = []    # (status, headers, body) served first
        self.bulk_failures: list[tuple[int, dict, dict]] = []   # the same, for bulk fetches only
        self.edits: list[tuple[str, dict]] = []             # (issue key, body) of edits applied
        self.refuse: dict[str, tuple[int, dict]] = {}       # issue key → (status, body) of its edits
        self.can_edit = True                                # EDIT_ISSUES in mypermissions
        self.now: datetime | None = None                    # an edit sets `updated` to this
        info = {"baseUrl": self.url, "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.2",
                "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 2],
                "deploymentType": "Cloud" if cloud else "DataCenter", "buildNumber": 100282,
                "serverTitle": "Jira", "serverTimeZone": "Etc/UTC"}
        rsps.add(responses.GET, f"{self.url}/rest/api/2/serverInfo", json=info)
        rsps.add(responses.GET, f"{self.url}/rest/api/2/field", json=FIELDS)
        rsps.add_callback(responses.GET, f"{self.url}/rest/api/2/myself", callback=self._served(self._myself))
        rsps.add_callback(responses.PUT, re.compile(rf"{re.escape(self.url)}/rest/api/[23]/issue/[^/?]+$"),
                          callback=self._edit)
        rsps.add_callback(responses.GET, f"{self.url}/rest/api/2/mypermissions", callback=self._permissions)
        if cloud:
            # v2 and v3 of /search/jql (the `jira` client's own search_issues uses v2).
            for v in ("2", "3"):
                rsps.add_callback(responses.GET, f"{self.url}/rest/api/{v}/search/jql",
                                  callback=self._served(self._jql))
            rsps.add_callback(responses.POST, f"{self.url}/rest/api/3/issue/bulkfetch",
                              callback=self._served(self._bulkfetch))
            for v in ("2", "3"):
                rsps.add(responses.GET, f"{self.url}/rest/api/{v}/search", status=410, json=REMOVED)
        else:
            rsps.add_callback(responses.GET, f"{self.url}/rest/api/2/search", callback=self._served(self._legacy))

    def _served(self, handler):
        """The handler after one round trip, counted while it is in flight."""
        def callback(request):
            with self.lock:
                self.inflight += 1
                self.peak = max(self.peak, self.inflight)
                self.started.append((time.monotonic(), urlparse(request.url).path))
            try:
                pause = self.latency(request) if callable(self.latency) else self.latency
                if pause:
                    time.sleep(pause)
                with self.lock:
                    return handler(request)
            finally:
                with self.lock:
                    self.inflight -= 1
        return callback

    def calls(self) -> Counter:
        return Counter(urlparse(c.request.url).path.split("/rest/api/")[-1] for c in self.rsps.calls)

    def _myself(self, request):
        return 200, {}, json.dumps({"accountId": "712020:abc", "displayName": "Sync Bot",
                                    "timeZone": self.user_zone, "active": True})

    def _permissions(self, request):
        q = parse_qs(urlparse(request.url).query)
        if not q.get("permissions"):
            return 400, {}, json.dumps({"errorMessages": ["The 'permissions' query parameter is required."],
                                        "errors": {}})
        return 200, {}, json.dumps({"permissions": {p: {
            "id": "12", "key": p, "name": "Edit Issues", "type": "PROJECT",
            "description": "Ability to edit issues.", "havePermission": self.can_edit}
            for p in q["permissions"][0].split(",")}})

    def _edit(self, request):
        """`PUT /issue/{key}`: only `update.labels` with add/remove ops of one
        label each, labels without spaces; 204 with no body, as Jira answers."""
        key = urlparse(request.url).path.rsplit("/", 1)[-1]
        issue = next((i for i in self.issues if key in (i["key"], i["id"])), None)
        if issue is None:
            return 404, {}, json.dumps({"errorMessages": ["Issue does not exist or you do not have "
                                                          "permission to see it."], "errors": {}})
        if key in self.refuse:
            status, body = self.refuse[key]
            return status, {}, json.dumps(body)
        try:
            body = json.loads(request.body)
        except (TypeError, ValueError):
            return 400, {}, json.dumps({"errorMessages": ["Unexpected character in the body"], "errors": {}})
        if set(body) != {"update"} or set(body["update"]) != {"labels"}:
            return 400, {}, json.dumps({"errorMessages": [], "errors": {
                "body": f"only update.labels is served by this fake, got {sorted(body)}"}})
        labels = list(issue["fields"].get("labels") or [])
        for op in body["update"]["labels"]:
            (verb, value), = op.items()
            if verb not in ("add", "remove") or not isinstance(value, str) or " " in value:
                return 400, {}, json.dumps({"errorMessages": [], "errors": {
                    "labels": f"The label '{value}' contains spaces which is invalid."}})
            if verb == "add" and value not in labels:
                labels.append(value)
            elif verb == "remove" and value in labels:
                labels.remove(value)
        issue["fields"]["labels"] = labels
        if self.now is not None:
            issue["fields"]["updated"] = self.now.astimezone(timezone(timedelta(hours=2))).strftime(
                "%Y-%m-%dT%H:%M:%S.000+0200")
        self.edits.append((issue["key"], body))
        return 204, {}, ""

    def _select(self, jql: str) -> list[dict]:
        self.jqls.append(jql)
        found = self.issues
        since = re.search(r'updated >= "(\d{4}/\d\d/\d\d \d\d:\d\d)"', jql)
        if since:
            local = datetime.strptime(since[1], "%Y/%m/%d %H:%M").replace(tzinfo=ZoneInfo(self.user_zone))
            found = [i for i in found if _updated(i) >= local]
            found.sort(key=lambda i: (_updated(i), i["key"]))
        ids = re.search(r"id in \(([^)]*)\)", jql)
        if ids:
            wanted = {x.strip() for x in ids[1].split(",")}
            found = [i for i in found if i["id"] in wanted]
        return found

    def _shape(self, issue: dict, fields: list[str]) -> dict:
        if fields == ["id"]:
            return {"id": issue["id"]}
        # `*all` / `*navigable` (the client's default when a caller names no fields): every field.
        every = any(f in ("*all", "*navigable") for f in fields)
        keep = {k: v for k, v in issue["fields"].items() if every or k in fields}
        return {**{k: issue[k] for k in ("expand", "id", "self", "key")}, "fields": keep}

    def _fail(self):
        if self.failures:
            status, headers, body = self.failures.pop(0)
            return status, headers, json.dumps(body)
        return None

    def _search(self, request, cap: int, ids_cap: int):
        """The query of a search call: (params, fields, matching issues, page size)."""
        q = parse_qs(urlparse(request.url).query)
        fields = [f for v in q.get("fields", []) for f in v.split(",")]
        limit = min(int(q.get("maxResults", ["50"])[0]), ids_cap if fields == ["id"] else cap)
        return q, fields, self._select(q["jql"][0]), limit

    def _jql(self, request):
        failed = self._fail()
        if failed:
            return failed
        q, fields, found, limit = self._search(request, 100, 5000)
        offset = int(q.get("nextPageToken", ["0"])[0])
        page = found[offset:offset + limit]
        more = offset + limit < len(found)
        body = {"issues": [self._shape(i, fields) for i in page], "isLast": not more}
        if more:
            body["nextPageToken"] = str(offset + limit)
        return 200, {}, json.dumps(body)

    def _bulkfetch(self, request):
        """Cloud's bulk fetch: up to 100 ids or keys; unknown ones are left out."""
        failed = self._fail()
        if failed:
            return failed
        if self.bulk_failures:
            status, headers, body = self.bulk_failures.pop(0)
            return status, headers, json.dumps(body)
        body = json.loads(request.body)
        wanted = [str(x) for x in body.get("issueIdsOrKeys") or []]
        if not wanted or len(wanted) > 100:
            return 400, {}, json.dumps({"errorMessages": ["issueIdsOrKeys must hold 1 to 100 ids or keys"],
                                        "errors": {}})
        known = self._index()
        fields = list(body.get("fields") or [])
        # The answer's order is the server's own, not the request's.
        found = sorted({known[w]["id"]: known[w] for w in wanted if w in known}.values(),
                       key=lambda i: i["key"], reverse=True)
        return 200, {}, json.dumps({"expand": "", "issues": [self._shape(i, fields) for i in found],
                                    "issueErrors": []})

    def _index(self) -> dict[str, dict]:
        """Issues by id and key, rebuilt when `issues` is replaced or grows or
        shrinks (a benchmark's 1,000 bulk fetches must not scan 100k each)."""
        issues = self.issues
        stamp = (id(issues), len(issues), id(issues[-1]) if issues else None)
        if getattr(self, "_indexed", (None,))[0] != stamp:
            self._indexed = (stamp, {k: i for i in issues for k in (i["id"], i["key"])})
        return self._indexed[1]

    def _legacy(self, request):
        failed = self._fail()
        if failed:
            return failed
        q, fields, found, limit = self._search(request, 50, 1000)   # DC caps pages below our 100
        start = int(q.get("startAt", ["0"])[0])
        body = {"expand": "schema,names", "startAt": start, "maxResults": limit, "total": len(found),
                "issues": [self._shape(i, fields) for i in found[start:start + limit]]}
        return 200, {}, json.dumps(body)
