"""Reading a Jira query: page by page, or in parallel batches, in its order.

Cloud's `/search/jql` pages by `nextPageToken`: each page needs the one
before, so 100,000 issues read that way are 1,000 round trips in a row.
Instead the query's ids are listed first (the census: up to 5,000 a page)
and their fields fetched 100 at a time with `POST /rest/api/3/issue/bulkfetch`
on a bounded pool (`source.workers`), while the listing is still being read.
A query that fits one page is still one request: the first page is asked
for with its fields, and only a longer query is listed.  Bulk fetch rather
than a JQL `id in (…)`: an issue deleted between the listing and its fetch
is simply absent from the answer, where JQL would refuse the whole query.

Data Center pages by `startAt` and says the `total`: once the first page
is in, the others are asked for at once.

Each batch is turned into what the sync keeps (by `convert`, on the worker
that fetched it) and its dicts are dropped; batches come back in the
query's order whatever order they finish in (`connectors.parallel`).
"""
from __future__ import annotations

import json
from itertools import islice
from typing import Callable, Iterable, Iterator, TypeVar

from sync.core.errors import RemoteError, TransientError

from connectors.jira.issue import issue_list
from connectors.parallel import ordered

R = TypeVar("R")
PAGE = 100              # issues with fields per request (search page or bulk fetch)
CENSUS_PAGE = 5000      # ids-only pages hold up to 5000 on Cloud


def pages(source, jql: str, fields: list[str], size: int) -> Iterator[list[dict]]:
    """Every page of a search, one after another; never stops early on a short page."""
    if source.cloud:
        token = None
        while True:
            page = source.request("search", lambda token=token: source.cloud_search(
                jql, nextPageToken=token, maxResults=size, fields=list(fields)))
            yield issue_list(page, f"source {source.name}")
            if last_page(page):
                return
            token = page["nextPageToken"]
    start = 0
    while True:
        page, issues = _dc_page(source, jql, fields, start, size)
        yield issues
        start += len(issues)
        total = int(page.get("total") or 0)
        if start >= total:
            return
        if not issues:
            raise RemoteError(f"Jira returned an empty page at {start} of {total} "
                              "issues; refusing to sync a partial list")


def every(source, jql: str, fields: list[str], size: int = PAGE) -> dict[str, dict]:
    """{id: issue} of a search, page by page (the incremental sync's small reads)."""
    step = source.runtime.progress.step(f"source {source.name}: reading Jira")
    found: dict[str, dict] = {}
    for n, page in enumerate(pages(source, jql, fields, size), 1):
        found.update((str(i.get("id") or i["key"]), i) for i in page)
        step.update(pages=n, issues=len(found))
    step.done()
    return found


def query(source, jql: str, fields: list[str],
          convert: Callable[[list[dict]], R]) -> Iterator[R]:
    """convert(batch) for every batch of the query's issues, in its order."""
    if source.cloud:
        yield from _cloud(source, jql, fields, convert)
    else:
        yield from _data_center(source, jql, fields, convert)


def by_ids(source, ids: Iterable[str], fields: list[str],
           convert: Callable[[list[dict]], R]) -> Iterator[R]:
    """convert(batch) for the issues with these ids, 100 a request, in
    parallel; `ids` is read as the requests go (it may be a listing still
    under way)."""
    stream = iter(ids)
    chunks = iter(lambda: list(islice(stream, PAGE)), [])
    if source.cloud:
        fetch = lambda chunk: convert(bulk_fetch(source, chunk, fields))  # noqa: E731
    else:       # a JQL `id in`, paged: Data Center may cap a page below 100
        fetch = lambda chunk: convert([i for page in pages(  # noqa: E731
            source, f"id in ({', '.join(chunk)})", fields, PAGE) for i in page])
    # Two spare threads: the source's slots still hold requests in flight to `workers`.
    yield from ordered(fetch, chunks, source.config.workers, f"jira-{source.name}", spare=2)


def bulk_fetch(source, ids: list[str], fields: list[str]) -> list[dict]:
    """Up to 100 issues by id, in the order of `ids` (the server keeps its own)."""
    client = source.client
    url = f"{client._options['server']}/rest/api/3/issue/bulkfetch"
    body = json.dumps({"issueIdsOrKeys": ids, "fields": list(fields)})

    def post() -> dict:
        # The session alone: the client's options are not touched, so the
        # pool's threads share it safely.
        answer = client._session.post(url, data=body, headers={"Content-Type": "application/json"})
        found = answer.json()
        if found.get("issueErrors"):
            raise TransientError(f"Jira bulk fetch: {len(found['issueErrors'])} issue(s) failed "
                                 "to load; retrying")
        return found
    issues = issue_list(source.request("bulk fetch", post), f"source {source.name}")
    place = {k: n for n, k in enumerate(ids)}
    return sorted(issues, key=lambda i: place.get(str(i.get("id")), len(place)))


def last_page(page: dict) -> bool:
    """Whether a Cloud search page is the query's last; a page that says
    more follow but gives no way to them is refused, not taken as the end."""
    token = page.get("nextPageToken")
    if page.get("isLast") is True or (page.get("isLast") is None and not token):
        return True
    if not token:
        raise RemoteError("Jira said more results follow but sent no nextPageToken; "
                          "refusing to sync a partial list")
    return False


def _cloud(source, jql: str, fields: list[str], convert) -> Iterator:
    first = source.request("search", lambda: source.cloud_search(
        jql, maxResults=PAGE, fields=list(fields)))
    issues = issue_list(first, f"source {source.name}")
    seen = {str(i.get("id")) for i in issues}
    yield convert(issues)
    if last_page(first):
        return

    def rest() -> Iterator[str]:
        """The census's ids not on the first page, each once, in the query's order."""
        for page in pages(source, jql, ["id"], CENSUS_PAGE):
            for issue in page:
                k = str(issue["id"])
                if k not in seen:
                    seen.add(k)
                    yield k
    yield from by_ids(source, rest(), fields, convert)


def _dc_page(source, jql: str, fields: list[str], start: int,
             size: int = PAGE) -> tuple[dict, list[dict]]:
    page = source.request("search", lambda: source.client.search_issues(
        jql, startAt=start, maxResults=size, fields=list(fields), json_result=True,
        validate_query=True))
    return page, issue_list(page, f"source {source.name}")


def _data_center(source, jql: str, fields: list[str], convert) -> Iterator:
    first, issues = _dc_page(source, jql, fields, 0)
    yield convert(issues)
    total = int(first.get("total") or 0)
    size = len(issues)          # the server's own cap (often 50), which it may set below ours
    if not size or size >= total:
        return

    def page(start: int):
        got = _dc_page(source, jql, fields, start)[1]
        if not got:
            raise RemoteError(f"Jira returned an empty page at {start} of {total} issues; "
                              "refusing to sync a partial list")
        return convert(got)
    yield from ordered(page, range(size, total, size), source.config.workers, f"jira-{source.name}")
