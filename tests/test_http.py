"""The HTTP chokepoint (connectors/http.py, connectors/retry.py): the one
status → error table, Retry-After bounded by one deadline per request,
redaction before anything is cut short; then the client-library paths
(jira, py-trello on `responses`) going through it."""
from __future__ import annotations

import io
import threading
import time
import tokenize
from pathlib import Path

import pytest
import responses

from connectors import http
from connectors.jira.source import JiraSource
from connectors.trello.source import TrelloSource
from sync.core.errors import ConfigError, RemoteError, TransientError
from sync.core.redact import Redactor
from sync.worker.runtime import Runtime, RetrySettings

from .conftest import NOW, ROOT
from .fakes import FakeJira, make_issues
from .test_jira import cloud_config
from .test_trello import API, BOARD_ID, config as trello_config, rsps as trello_rsps  # noqa: F401 (fixture)

WORDS = dict(kind="API token", url="https://acme.atlassian.net", email="bot@x.iam.gserviceaccount.com",
             id="1sheetID", where="review.notify", location="elsewhere.example.com", host="bi.example.com")


@pytest.mark.parametrize("service, status, variant, error, says, hint", [
    ("jira", 401, "", RemoteError, "token is wrong, revoked or expired", "create a new API token"),
    ("jira", 403, "", RemoteError, "Jira refused search (HTTP 403): no", "Browse projects"),
    ("jira", 400, "search", ConfigError, "Jira rejected source.jql: no", "issue search"),
    ("jira", 400, "field list", RemoteError, "Jira search: HTTP 400: no", ""),
    ("jira", 404, "", RemoteError, "HTTP 404 at https://acme.atlassian.net", "check source.url"),
    ("trello", 401, "", RemoteError, "Trello rejected the token (no)", "authorize a new one"),
    ("trello", 401, "key", RemoteError, "Trello rejected the API key (no)", "source.auth.key"),
    ("trello", 404, "", ConfigError, "not found (HTTP 404)", "source.boards"),
    ("sheets", 403, "", RemoteError, "(HTTP 403: no)", "share the spreadsheet with bot@x.iam"),
    ("sheets", 404, "", RemoteError, "no spreadsheet with id 1sheetID", "sink.spreadsheet"),
    ("sheets", 401, "", RemoteError, "token for search (HTTP 401)", "sink.credentials"),
    ("slack", 410, "", RemoteError, "revoked or its channel archived", "incoming webhook"),
    ("slack", 400, "payload", RemoteError, "Slack refused the message (no)", ""),
    ("teams", 403, "", RemoteError, "workflow webhook was removed", "recreate the Teams workflow"),
    ("slack", 301, "", RemoteError, "a redirect to elsewhere.example.com, not followed", "final address"),
    ("webhook", 418, "", RemoteError, "webhook search: HTTP 418: no", ""),
    ("metrics", 302, "", RemoteError, "bi.example.com answered with a redirect (HTTP 302), not followed",
     "give the final URL"),
])
def test_each_status_means_one_thing(service, status, variant, error, says, hint):
    exc = http.status_error(service, status, what="search" if service != "sheets" or status == 401 else "read",
                            text="no", variant=variant, redact=Redactor(), **WORDS)
    assert type(exc) is error and says in exc.message and hint in exc.hint


@pytest.mark.parametrize("service, status, header, wait", [
    ("jira", 429, "7", 7.0), ("jira", 503, None, None), ("trello", 429, None, 11.0),
    ("sheets", 429, None, 20.0), ("sheets", 500, "Wed, 21 Oct 2099 07:28:00 GMT", "date"),
])
def test_429_and_5xx_are_transient_with_the_wait_the_server_asked(service, status, header, wait):
    exc = http.status_error(service, status, what="read", redact=Redactor(),
                            retry_after=http.retry_after(header))
    assert isinstance(exc, TransientError)
    assert exc.retry_after == wait if wait != "date" else exc.retry_after > 10**8


def test_the_server_text_is_redacted_whole_before_it_is_cut_to_one_line():
    secret = "ZZsecretTOKENvalue0123456789abcdefghij"
    text = "x" * 190 + secret + "\n" + "y" * 500
    exc = http.status_error("jira", 418, what="search", text=text, redact=Redactor([secret]))
    assert secret[:8] not in exc.message and "\n" not in exc.message and len(exc.message) < 260


def test_the_status_table_lives_in_one_module():
    """No connector gives a specific HTTP status a meaning itself: http.py
    does (the bounds of a family, 400 and 500, may appear anywhere)."""
    statuses = {"401", "403", "404", "409", "410", "429", "502", "503", "504"}
    found = []
    for path in sorted((ROOT / "connectors").rglob("*.py")):
        if path.name == "http.py":
            continue
        for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
            if tok.type == tokenize.NUMBER and tok.string in statuses:
                found.append(f"{Path(path).relative_to(ROOT)}:{tok.start[0]} {tok.string}")
    assert found == []


# -- the retry loop: one deadline ---------------------------------------------------

def failing(error: Exception, calls: list):
    """A request that always fails with `error`, counting its attempts."""
    def once():
        calls.append(1)
        raise error
    return once


def test_a_wait_past_the_deadline_fails_at_once_naming_it(no_sleep):
    calls = []
    once = failing(TransientError("Jira search: rate limited (HTTP 429)", retry_after=86400), calls)
    with pytest.raises(TransientError, match="asked to wait 86400 s, past this request's 300 s deadline"):
        http.call("jira", once, runtime=Runtime())
    assert calls == [1] and no_sleep == []


def test_waits_within_the_deadline_are_honoured_and_attempts_capped(no_sleep):
    calls = []
    once = failing(TransientError("HTTP 503", retry_after=3), calls)
    with pytest.raises(TransientError, match="HTTP 503"):
        http.call("x", once, runtime=Runtime(retry=RetrySettings(attempts=4, max_seconds=60)))
    assert len(calls) == 4 and no_sleep == [3, 3, 3]


def test_only_transient_errors_are_retried(no_sleep):
    calls = []

    def once():
        calls.append(1)
        raise ValueError("boom")
    with pytest.raises(RemoteError, match="unexpected ValueError"):
        http.call("x", once, runtime=Runtime(), translate=lambda e: RemoteError(f"unexpected {type(e).__name__}"))
    assert calls == [1] and no_sleep == []


REAL_SLEEP = http.retry.sleep          # before conftest's autouse no_sleep replaces it


@pytest.mark.slow
def test_a_stop_request_ends_a_retrys_wait_at_once(monkeypatch):
    """A tester's finding: after SIGTERM a sync went on retrying a failing
    server for ~45 s.  The stop (the runtime's flag, set by the daemon's
    watcher) ends a 30 s wait at once, and the request is not tried again."""
    monkeypatch.setattr(http.retry, "sleep", REAL_SLEEP)
    calls, runtime = [], Runtime()
    once = failing(TransientError("Jira search: HTTP 503", retry_after=30), calls)
    err = stopped_mid_call(once, runtime)
    assert calls == [1]
    assert err.message == ("interrupted: Jira search: HTTP 503; not tried again, the worker is "
                           "stopping")


def stopped_mid_call(once, runtime: Runtime) -> TransientError:
    """`http.call` of `once`, the stop requested 0.3 s in: what it raised,
    which must come within moments of the stop."""
    timer = threading.Timer(0.3, runtime.stop.set)
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(TransientError) as err:
            http.call("jira", once, runtime=runtime)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 5
    return err.value


@pytest.mark.slow
def test_a_stop_request_ends_a_rate_limit_hold_at_once(monkeypatch):
    """A Retry-After told to one worker holds every request to the host (the
    shared limiter); a stop request ends that hold too, and the request
    waiting behind it is never sent."""
    monkeypatch.setattr(http.retry, "sleep", REAL_SLEEP)
    runtime = Runtime()
    limiter = runtime.limiters.get("jira", "https://acme.atlassian.net", "ops", "tok", limit=10,
                                   window=10.0)
    told = threading.Thread(target=limiter.hold, args=(30,))    # another worker was told
    told.start()
    told.join(timeout=5)
    sent = []

    def once():
        limiter.wait(http.retry.sleep, runtime.stop)
        sent.append(1)
        return "answered"
    err = stopped_mid_call(once, runtime)
    assert sent == []
    assert err.message.startswith("interrupted: waiting for the rate limit")
    assert err.message.endswith("not tried again, the worker is stopping")


def test_after_a_stop_a_request_the_limiter_lets_go_is_sent():
    """A stop holds back only a request that would have to wait: the running
    sync's others go (a reviewer found every request refused once stopping)."""
    runtime = Runtime()
    limiter = runtime.limiters.get("jira", "https://acme.atlassian.net", "ops", "tok", limit=10,
                                   window=10.0)
    runtime.stop.set()

    def once():
        limiter.wait(http.retry.sleep, runtime.stop)
        return "answered"
    assert [http.call("jira", once, runtime=runtime) for _ in range(10)] == ["answered"] * 10
    with pytest.raises(TransientError, match="^interrupted: waiting for the rate limit"):
        http.call("jira", once, runtime=runtime)      # the 11th would wait for the window


def test_after_a_stop_a_request_is_made_once_and_not_retried(no_sleep):
    calls, runtime = [], Runtime()
    runtime.stop.set()
    assert http.call("x", lambda: "answered", runtime=runtime) == "answered"
    with pytest.raises(TransientError, match="^interrupted: HTTP 503; not tried again"):
        http.call("x", failing(TransientError("HTTP 503", retry_after=1), calls), runtime=runtime)
    assert calls == [1] and no_sleep == []


def test_what_comes_out_is_redacted():
    runtime = Runtime()
    runtime.redactor.add(["tok-SECRET-12345678"])

    def once():
        raise RemoteError("refused tok-SECRET-12345678", hint="Authorization: Bearer abcdefgh1234")
    with pytest.raises(RemoteError) as err:
        http.call("x", once, runtime=runtime)
    assert "tok-SECRET" not in str(err.value) and "abcdefgh1234" not in err.value.hint


# -- through the client libraries ----------------------------------------------------

def test_jira_retry_after_a_day_fails_the_request_at_once(no_sleep, tmp_path):
    from sync.worker.state import State
    state = State(tmp_path / "s.db")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeJira(rsps, make_issues(3, NOW))
        fake.failures.append((429, {"Retry-After": "86400"}, {"errorMessages": ["Rate limit exceeded."]}))
        with pytest.raises(TransientError) as err:
            JiraSource(cloud_config(), "jira").fetch(state, NOW)
    assert "asked to wait 86400 s" in err.value.message and "Rate limit exceeded" in err.value.message
    assert no_sleep == []
    state.close()


def test_trello_429_waits_for_its_window_then_reads(trello_rsps, no_sleep, tmp_path):  # noqa: F811
    from sync.worker.state import State
    trello_rsps.replace(responses.GET, f"{API}/boards/{BOARD_ID}", status=429,
                        body="API_TOKEN_LIMIT_EXCEEDED")
    state = State(tmp_path / "s.db")
    with pytest.raises(TransientError, match="rate limited"):
        TrelloSource(trello_config(), "trello", Runtime(retry=RetrySettings(attempts=2))).fetch(state, NOW)
    assert no_sleep == [http.RATE_WINDOW["trello"]]
    state.close()
