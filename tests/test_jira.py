"""The Jira source with the real `jira` client against HTTP mocked by `responses`."""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import responses
from structlog.testing import capture_logs

from connectors import retry
from connectors.jira.source import JiraSource, base_jql
from connectors.jira.settings import JiraSourceConfig, plain_http
from connectors.memory import MemorySink
from sync.core.errors import ConfigError, RemoteError, TransientError, describe
from sync.worker.runtime import RetrySettings
from sync.worker.state import State

from .conftest import NOW, make_config, sync_over
from .fakes import DC_URL, URL, FakeJira, make_issues

START = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
TOKEN = "ATATT3xFfGF0-secret-token"


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as r:
        yield r


@pytest.fixture
def state(tmp_path):
    s = State(tmp_path / "state.db")
    yield s
    s.close()


def cloud_config(**kw) -> JiraSourceConfig:
    data = dict(type="jira", url=URL, auth={"email": "ops@acme.test", "token": TOKEN},
                jql="project = GROW ORDER BY rank", fields={"estimate": "Story point estimate"})
    data.update(kw)
    return JiraSourceConfig.model_validate(data)


def dc_config(**kw) -> JiraSourceConfig:
    data = dict(type="jira", url=DC_URL, auth={"token": TOKEN}, jql="project = GROW",
                fields={"estimate": "customfield_10016"})
    data.update(kw)
    return JiraSourceConfig.model_validate(data)


def fetch(config, state, now=NOW):
    source = JiraSource(config, "jira")
    tickets = source.fetch(state, now)
    state.commit(now, now, len(tickets))
    return {t.key: t for t in tickets}


def test_cloud_full_sync_pages_with_tokens(rsps, state):
    fake = FakeJira(rsps, make_issues(250, START))
    tickets = fetch(cloud_config(), state)
    assert len(tickets) == 250
    # The first page with fields, the ids of the rest, then their fields by bulk fetch.
    assert fake.calls() == {"2/serverInfo": 1, "2/field": 1, "3/search/jql": 2, "3/issue/bulkfetch": 2}
    t = tickets["GROW-101"]
    assert (t.title, t.owner, t.estimate, t.labels) == ("Work item 101", "Gil Itzhaky", 1.0,
                                                        ("onboarding-email",))
    assert t.epic == ("SCRUM-2", "epic issue") and t.url == f"{URL}/browse/GROW-101"
    assert "Success metric" in t.description                     # ADF → text
    header = rsps.calls[-1].request.headers["Authorization"]
    assert header == "Basic " + base64.b64encode(f"ops@acme.test:{TOKEN}".encode()).decode()
    first, census = [c.request.url for c in rsps.calls if "search/jql" in c.request.url]
    assert "maxResults=100" in first and "fields=customfield_10016" in first
    assert "maxResults=5000" in census and "fields=id&" in census
    bulk = [json.loads(c.request.body) for c in rsps.calls if "bulkfetch" in c.request.url]
    assert sorted(len(b["issueIdsOrKeys"]) for b in bulk) == [50, 100]     # sent at once, in any order
    assert all("customfield_10016" in b["fields"] for b in bulk)


def test_cloud_never_calls_the_removed_search(rsps, state):
    FakeJira(rsps, make_issues(3, START))
    fetch(cloud_config(), state)
    assert not [c for c in rsps.calls if c.request.url.split("?")[0].endswith("/search")]


def test_cloud_refuses_a_page_without_a_token(rsps, state):
    fake = FakeJira(rsps, make_issues(3, START))
    fake.failures.append((200, {}, {"issues": [], "isLast": False}))
    with pytest.raises(RemoteError, match="sent no nextPageToken"):
        JiraSource(cloud_config(), "jira").fetch(state, NOW)


def test_data_center_bearer_legacy_search_and_epic_link(rsps, state):
    issues = make_issues(120, START, url=DC_URL, v3=False)
    issues[0]["fields"]["customfield_10014"] = "GROW-12"
    fake = FakeJira(rsps, issues, cloud=False)
    tickets = fetch(dc_config(), state)
    assert len(tickets) == 120
    # The server caps pages at 50 although we ask for 100: three pages, no truncation.
    assert fake.calls() == {"2/serverInfo": 1, "2/field": 1, "2/search": 3}
    assert rsps.calls[-1].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "GROW-12" in tickets["GROW-100"].epic
    assert tickets["GROW-100"].description.startswith("h3. Context")


def test_retry_after_429_then_success(rsps, state, no_sleep):
    fake = FakeJira(rsps, make_issues(5, START))
    fake.failures.append((429, {"Retry-After": "5", "RateLimit-Reason": "jira-burst-based"},
                          {"errorMessages": ["Rate limit exceeded."], "errors": {}}))
    assert len(fetch(cloud_config(), state)) == 5
    assert no_sleep == [5.0]
    assert fake.calls()["3/search/jql"] == 2


def test_retry_after_as_http_date(rsps, state, no_sleep):
    fake = FakeJira(rsps, make_issues(2, START))
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    fake.failures.append((503, {"Retry-After": when.strftime("%a, %d %b %Y %H:%M:%S GMT")}, {}))
    fetch(cloud_config(), state)
    assert len(no_sleep) == 1 and 25 <= no_sleep[0] <= 31


def test_500_500_then_success(rsps, state, no_sleep):
    fake = FakeJira(rsps, make_issues(5, START))
    fake.failures += [(500, {}, {}), (500, {}, {})]
    assert len(fetch(cloud_config(), state)) == 5
    assert len(no_sleep) == 2 and fake.calls()["3/search/jql"] == 3


def test_persistent_503_fails_the_sync_without_writing(rsps, tmp_path, no_sleep):
    fake = FakeJira(rsps, make_issues(5, START))
    fake.failures += [(503, {}, {})] * 10
    config = make_config(source=cloud_config().model_dump(mode="json"))
    sink = MemorySink()
    state = State(tmp_path / "s.db")
    with pytest.raises(TransientError, match="HTTP 503"):
        sync_over(config, [JiraSource(config.source, "jira")], sink, state, NOW)
    assert sink.reports == [] and "HTTP 503" in sink.errors[0]
    assert fake.calls()["3/search/jql"] == RetrySettings().attempts and len(no_sleep) == RetrySettings().attempts - 1
    state.close()


def test_401_says_what_to_do(rsps, state):
    for what in ("serverInfo", "field"):
        rsps.add(responses.GET, f"{URL}/rest/api/2/{what}", status=401,
                 json={"errorMessages": ["Client must be authenticated to access this resource."]})
    with pytest.raises(RemoteError) as err:
        JiraSource(cloud_config(), "jira").fetch(state, NOW)
    assert "token is wrong, revoked or expired" in err.value.message
    assert "API token" in err.value.hint and TOKEN not in str(err.value)
    # A fetch reads the field list alongside serverInfo (issue 28): one
    # request each, neither retried.
    assert sorted(c.request.url.rsplit("/", 1)[1] for c in rsps.calls) == ["field", "serverInfo"]


def test_403_names_the_permission(rsps, state):
    fake = FakeJira(rsps, make_issues(1, START))
    fake.failures.append((403, {}, {"errorMessages": ["You do not have permission."]}))
    with pytest.raises(RemoteError) as err:
        JiraSource(cloud_config(), "jira").fetch(state, NOW)
    assert "Browse projects" in err.value.hint


def test_bad_jql_is_a_config_error_with_jiras_message(rsps, state):
    fake = FakeJira(rsps, [])
    fake.failures.append((400, {}, {"errorMessages": [
        "Field 'projekt' does not exist or you do not have permission to view it."], "errors": {}}))
    with pytest.raises(ConfigError, match="Field 'projekt' does not exist") as err:
        JiraSource(cloud_config(), "jira").fetch(state, NOW)
    assert err.value.exit_code == 2


def test_unknown_field_lists_close_names(rsps, state):
    FakeJira(rsps, [])
    with pytest.raises(ConfigError, match="no Jira field is named") as err:
        JiraSource(cloud_config(fields={"estimate": "Story points estimate"}), "jira").fetch(state, NOW)
    assert "Story point estimate" in err.value.hint


def test_incremental_sync_uses_the_user_time_zone(rsps, state):
    fake = FakeJira(rsps, make_issues(150, START), user_zone="America/Los_Angeles")
    fetch(cloud_config(), state)
    rsps.calls.reset()
    # Given one issue edited at 10:30Z and nothing else, an hour later:
    changed = fake.issues[7]
    changed["fields"]["summary"] = "Edited title"
    changed["fields"]["updated"] = "2026-11-26T12:30:00.000+0200"
    cursor = state.get("jira", "cursor")
    assert cursor == "2026-11-20T10:29:00+00:00"                # newest issue in the first sync
    tickets = fetch(cloud_config(), state, NOW + timedelta(hours=1))
    assert tickets["GROW-107"].title == "Edited title" and len(tickets) == 150
    # cursor 10:29Z − 1h overlap = 09:29Z = 01:29 in Los Angeles (UTC−8)
    incremental = [j for j in fake.jqls if "updated >=" in j][-1]
    assert incremental == ('(project = GROW) AND updated >= "2026/11/20 01:29" '
                           'ORDER BY updated ASC, key ASC')
    assert fake.calls() == {"2/myself": 1, "3/search/jql": 2}   # zone (cached 24h), changes, census


def test_no_change_incremental_costs_one_search_and_the_census(rsps, state):
    fake = FakeJira(rsps, make_issues(300, START))
    fetch(cloud_config(), state)
    fetch(cloud_config(), state, NOW + timedelta(minutes=15))     # learns the user's zone
    rsps.calls.reset()
    tickets = fetch(cloud_config(), state, NOW + timedelta(minutes=30))
    assert len(tickets) == 300
    assert fake.calls() == {"3/search/jql": 2}
    census = [c.request.url for c in rsps.calls][-1]
    assert "fields=id" in census and "maxResults=5000" in census


def test_deleted_and_departed_issues_disappear(rsps, state):
    fake = FakeJira(rsps, make_issues(20, START))
    fetch(cloud_config(), state)
    gone = fake.issues.pop(3)
    tickets = fetch(cloud_config(), state, NOW + timedelta(minutes=15))
    assert gone["key"] not in tickets and len(tickets) == 19


def test_issue_entering_the_query_without_an_update_is_fetched_by_id(rsps, state):
    issues = make_issues(10, START)
    late = issues.pop()
    late["fields"]["updated"] = "2026-11-01T09:00:00.000+0200"
    fake = FakeJira(rsps, issues)
    fetch(cloud_config(), state)
    fake.issues.append(late)          # old `updated`, so the cursor query misses it
    tickets = fetch(cloud_config(), state, NOW + timedelta(minutes=15))
    assert late["key"] in tickets
    assert fake.calls()["3/issue/bulkfetch"] == 1      # by id (Cloud's bulk fetch)


def test_full_refresh_after_the_configured_period(rsps, state):
    fake = FakeJira(rsps, make_issues(10, START))
    fetch(cloud_config(full_refresh="2h"), state)
    fetch(cloud_config(full_refresh="2h"), state, NOW + timedelta(hours=3))
    full = [j for j in fake.jqls if j == "project = GROW ORDER BY rank"]
    assert len(full) == 2


def test_base_jql_strips_order_by():
    assert base_jql("project = X AND labels = a order by rank DESC") == "project = X AND labels = a"


def test_check_probes_everything(rsps):
    FakeJira(rsps, make_issues(3, START))
    out = JiraSource(cloud_config(), "jira").check()
    assert "Jira Cloud" in out and "Sync Bot" in out and "estimate=customfield_10016" in out


@pytest.mark.parametrize("url, says", [
    ("acme.atlassian.net", "expected the site's address"),
    ("ftp://acme.atlassian.net", "expected the site's address"),
    ("https://bot:hunter2@acme.atlassian.net", "without user or password"),
    ("https://acme.atlassian.net/?jql=x", "without ?query"),
    ("https://jira.example.com:99999", "a port between 1 and 65535"),
    ("https://jira.example.com:0", "a port between 1 and 65535"),
    ("http://127.0.0.1:", "a port between 1 and 65535"),
    ("https://jira.example.com/ x", "without ?query"),
    ("https://jira.example.com/;token=x", "without ?query"),
])
def test_a_malformed_site_address_is_refused(url, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        cloud_config(url=url)


def test_plain_http_to_another_machine_is_said_in_check_and_the_log(rsps):
    intranet = "http://jira.intranet.example"
    FakeJira(rsps, make_issues(3, START, url=intranet, v3=False), cloud=False, url=intranet)
    source = JiraSource(dc_config(url=intranet), "jira")
    with capture_logs() as logs:
        out = source.check()
    assert "plain http" in out and "unencrypted" in out
    assert [e["event"] for e in logs].count("jira_plain_http") == 1


def test_https_and_a_local_plain_http_are_not_warned_about(rsps):
    FakeJira(rsps, make_issues(3, START))
    assert "plain http" not in JiraSource(cloud_config(), "jira").check()
    assert not plain_http("http://127.0.0.1:8080") and plain_http("http://10.0.0.5/jira")


# -- scoped tokens and the Atlassian gateway ----------------------------------

CLOUD_ID = "a436116f-02ce-4520-8fbb-7301462a1674"
GATEWAY = f"https://api.atlassian.com/ex/jira/{CLOUD_ID}"
UNAUTHORIZED = {"errorMessages": ["Client must be authenticated to access this resource."]}


def scoped_site(rsps):
    """A site that answers 401 to a scoped token, and tells its cloud id to anyone."""
    tenant = rsps.add(responses.GET, f"{URL}/_edge/tenant_info", json={"cloudId": CLOUD_ID})
    rsps.add(responses.GET, re.compile(re.escape(URL) + "/rest/.*"), status=401, json=UNAUTHORIZED)
    return tenant


def test_a_scoped_token_syncs_through_the_gateway_with_links_on_the_site(rsps, state):
    tenant = scoped_site(rsps)
    fake = FakeJira(rsps, make_issues(3, START), url=GATEWAY)
    tickets = fetch(cloud_config(cloud_id="auto"), state)
    assert {t.url for t in tickets.values()} == {f"{URL}/browse/{key}" for key in tickets}
    assert fake.calls()["3/search/jql"] == 1 and tenant.call_count == 1
    assert state.get_json("jira", "tenant") == {"url": URL, "cloud_id": CLOUD_ID}
    fetch(cloud_config(cloud_id="auto"), state, NOW + timedelta(hours=1))   # read once, then cached
    assert tenant.call_count == 1
    assert not [c for c in rsps.calls if c.request.url.startswith(f"{URL}/rest/")]


def test_a_given_cloud_id_skips_tenant_info(rsps, state):
    tenant = scoped_site(rsps)
    FakeJira(rsps, make_issues(2, START), url=GATEWAY)
    assert len(fetch(cloud_config(cloud_id=CLOUD_ID), state)) == 2 and tenant.call_count == 0


def test_a_scoped_token_at_the_site_is_told_about_the_gateway(rsps, state):
    scoped_site(rsps)
    with pytest.raises(RemoteError) as err:
        JiraSource(cloud_config(), "jira").fetch(state, NOW)
    text = describe(err.value)
    assert "HTTP 401" in text and "api.atlassian.com/ex/jira/<cloud id>" in text
    assert "cloud_id: auto" in text and "expired" in text and TOKEN not in text


def test_a_401_through_the_gateway_names_expiry_and_revocation(rsps, state, tmp_path):
    scoped_site(rsps)
    rsps.add(responses.GET, f"{GATEWAY}/rest/api/2/serverInfo", status=401, json={
        "code": 401, "message": "Unauthorized"})
    sink = MemorySink()
    config = make_config(source={"type": "jira", "url": URL, "cloud_id": "auto", "jql": "project = GROW",
                                 "auth": {"email": "bot@acme.test", "token": TOKEN}})
    with pytest.raises(RemoteError) as err:
        sync_over(config, [JiraSource(config.source, "jira")], sink, state, NOW)
    assert "at most a year" in err.value.hint and "revoked" in err.value.hint
    assert "cloud_id" not in err.value.hint.split("update source.auth.token")[1]
    (note,) = sink.errors                                   # Summary's Last error says the same
    assert "at most a year" in note and TOKEN not in note


def test_a_missing_scope_and_a_missing_permission_are_told_apart(rsps, state):
    scoped_site(rsps)
    fake = FakeJira(rsps, make_issues(1, START), url=GATEWAY)
    fake.failures.append((401, {}, {"code": 401, "message": "Unauthorized; scope does not match"}))
    with pytest.raises(RemoteError) as err:
        JiraSource(cloud_config(cloud_id=CLOUD_ID), "jira").fetch(state, NOW)
    assert "read:jira-work" in err.value.hint and "scope does not match" in err.value.message
    fake.failures.append((403, {}, {"errorMessages": ["You do not have permission."]}))
    with pytest.raises(RemoteError) as err:
        JiraSource(cloud_config(cloud_id=CLOUD_ID), "jira").fetch(state, NOW)
    assert "Browse projects" in err.value.hint


def test_cloud_id_must_be_auto_or_an_id():
    with pytest.raises(ValueError, match="cloud_id"):
        cloud_config(cloud_id="https://api.atlassian.com")
