"""The one redactor (sync.core.redact): secrets and their derived forms never
reach a person.  Property-based over where a secret may hide (hypothesis),
then end to end: a Jira error body echoing the Authorization header through
a real sync, searched in stderr, the JSON log and the sheet's Last error."""
from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote, quote_plus

import pytest
import responses
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import retry
from sync.cli.main import main
from sync.core.redact import REDACTED, Redactor

from .conftest import NOW, base_config
from .fakes import URL, FakeJira, make_issues
from .test_sheets import private_key  # noqa: F401 (a fixture)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+/=:!$*()@&%é"
secrets = st.text(alphabet=TOKEN_CHARS, min_size=12, max_size=48)
emails = st.from_regex(r"[a-z]{1,12}@[a-z]{1,10}\.(com|io|test)", fullmatch=True)
noise = st.text(alphabet="abcdefghij XYZ0123.,:;()[]{}<>!?'\"\n\t", max_size=40)


def hides(secret: str, out: str) -> list[str]:
    """Each way `out` still gives `secret` away: as itself, percent-encoded,
    JSON-escaped, or inside any base64 run at any alignment (an oracle of
    its own: it decodes, it does not reuse the redactor's patterns)."""
    flat = re.sub(r"\s+|\\[nrt]", "", out)
    found = [form for form in {secret, quote(secret, safe=""), quote_plus(secret), quote(secret),
                               json.dumps(secret)[1:-1]} if form in out or form in flat]
    raw = secret.encode()
    for run in re.findall(r"[A-Za-z0-9+/_-]{8,}", flat.replace("%2B", "+").replace("%2F", "/")):
        run = run.replace("-", "+").replace("_", "/")
        for start in range(4):
            chunk = run[start:]
            chunk = chunk[:len(chunk) - len(chunk) % 4]
            try:
                decoded = base64.b64decode(chunk)
            except ValueError:
                continue
            if raw in decoded:
                found.append(f"base64 {run}")
    return found


def basic(email: str, secret: str, urlsafe=False, pad=True, width=0) -> str:
    payload = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(f"{email}:{secret}".encode()).decode()
    payload = payload if pad else payload.rstrip("=")
    if width:
        payload = "\r\n ".join(payload[i:i + width] for i in range(0, len(payload), width))
    return payload


HIDING_PLACES = {
    "plain": lambda s, e: s,
    "json": lambda s, e: json.dumps({"error": f"bad credential {s}"}),
    "json-ascii": lambda s, e: json.dumps({"error": [f"token={s}"]}, ensure_ascii=True),
    "percent": lambda s, e: f"GET /rest?x={quote(s, safe='')}",
    "percent-plus": lambda s, e: quote_plus(f"user said {s} ok"),
    "percent-twice": lambda s, e: quote(quote(s, safe=""), safe=""),
    "basic": lambda s, e: f"Authorization: Basic {basic(e, s)}",
    "basic-urlsafe-unpadded": lambda s, e: f"'authorization': 'Basic {basic(e, s, True, False)}'",
    "basic-folded": lambda s, e: f"Authorization: Basic {basic(e, s, width=16)}",
    "b64-alone": lambda s, e: f"header value was {basic(e, s)} (echo)",
    "b64-mime": lambda s, e: basic(e, s, width=76 // 4),
    "b64-in-json": lambda s, e: json.dumps({"headers": {"Authorization": "Basic " + basic(e, s)}}),
    "bearer": lambda s, e: f"Authorization: Bearer {s}",
    "userinfo": lambda s, e: f"POST https://{quote(e, safe='')}:{quote(s, safe='')}@api.example.com/x failed",
    "query": lambda s, e: f"https://api.example.com/1/boards?key=abc&token={quote(s, safe='')}&x=1",
    "split-echo": lambda s, e: "Authorization: Basic " + basic(e, s)[:10] + "\n\t" + basic(e, s)[10:],
}


@pytest.mark.slow
@SETTINGS
@given(secret=secrets, email=emails, before=noise, after=noise, place=st.sampled_from(sorted(HIDING_PLACES)))
def test_a_known_secret_never_survives_wherever_it_hides(secret, email, before, after, place):
    redact = Redactor([secret])
    out = redact(before + HIDING_PLACES[place](secret, email) + after)
    assert hides(secret, out) == [], (place, out)


@pytest.mark.slow
@SETTINGS
@given(secret=secrets, email=emails, place=st.sampled_from(["basic", "basic-urlsafe-unpadded", "basic-folded",
                                                            "bearer", "userinfo", "query", "split-echo"]))
def test_credential_shapes_go_even_when_the_secret_is_unknown(secret, email, place):
    """A header or URL credential is redacted by its shape alone: a secret
    the process was never told about (another team's token) still goes."""
    out = Redactor()(HIDING_PLACES[place](secret, email))
    assert hides(secret, out) == [] and REDACTED in out, (place, out)


webhooks = st.builds(
    lambda team, bot, key, sig: f"https://hooks.slack.com/services/T{team}/B{bot}/{key}?sig={sig}",
    st.from_regex(r"[0-9A-Z]{8,10}", fullmatch=True), st.from_regex(r"[0-9A-Z]{8,10}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9]{24}", fullmatch=True), st.from_regex(r"[A-Za-z0-9%]{12,20}", fullmatch=True))


@pytest.mark.slow
@SETTINGS
@given(url=webhooks, echo=st.sampled_from(["path", "tail", "whole", "encoded", "query", "json"]))
def test_no_part_of_a_webhook_url_survives_a_server_echo(url, echo):
    path, _, query = url.split("hooks.slack.com", 1)[1].partition("?")
    said = {"path": f"no such hook: {path}", "tail": f"unknown key {path.rsplit('/', 1)[1]}",
            "whole": f"redirected from {url}", "encoded": f"ref={quote(url, safe='')}",
            "query": f"bad signature ({query})", "json": json.dumps({"url": url})}[echo]
    out = Redactor([url])(said)
    for part in [*path.strip("/").split("/"), query.split("=", 1)[1]]:
        assert part not in out, (part, out)
    assert REDACTED in out


def test_ordinary_text_is_left_alone():
    redact = Redactor(["s3cr3t-token-value"])
    for text in ("Jira rejected the token (HTTP 401)", "the key has no client_email",
                 "source.boards: no board named 'Growth Q4'", "basic plan; bearer of news",
                 "estimate=customfield_10016", "monkey=1 ticket_key=A-1"):
        assert redact(text) == text


def test_structured_log_events_are_redacted_value_by_value():
    redact = Redactor(["tok-123456789"])
    event = {"event": "x", "error": "Bearer abcdefgh12", "nested": {"list": ["tok-123456789", 3]}}
    assert redact.processor(None, None, event) == {
        "event": "x", "error": f"Bearer {REDACTED}", "nested": {"list": [REDACTED, 3]}}


# -- end to end: the issue's case ------------------------------------------------

@pytest.mark.slow
def test_an_echoed_authorization_header_reaches_no_output(tmp_path, monkeypatch, capsys, private_key):
    """Jira answers 403 with an error body that echoes the request's
    Authorization header: `Basic <base64 of email:token>` must not reach
    stderr, the JSON log or the shared sheet's Last error."""
    from .fakes_sheets import FakeSheets
    from .test_sheets import SA_EMAIL
    monkeypatch.setattr(retry, "sleep", lambda s, stop=None: None)
    email, token = "ops@acme.test", "ATATT3xFfGF0-jira-secret-9f8e7d"
    header = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
    key = {"type": "service_account", "private_key": private_key, "client_email": SA_EMAIL,
           "token_uri": "https://oauth2.googleapis.com/token"}
    monkeypatch.setenv("JIRA_API_TOKEN", token)
    monkeypatch.setenv("SA_KEY", json.dumps(key))
    data = base_config(state=str(tmp_path / "state.db"),
                       source={"type": "jira", "url": URL, "jql": "project = GROW",
                               "auth": {"email": email, "token": "${JIRA_API_TOKEN}"}},
                       sink={"type": "google_sheets", "spreadsheet": "1sheetFAKEid", "credentials": "${SA_KEY}"})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        jira = FakeJira(rsps, make_issues(5, NOW))
        sheets = FakeSheets(rsps)
        assert main(["run", "--once", "--config", str(tmp_path / "c.yaml")]) == 0   # Summary exists
        jira.failures.append((403, {}, {"errorMessages": [
            f"Forbidden. Request headers: {{'Authorization': '{header}', 'Accept': 'application/json'}}",
            f"Authorization: {header[:20]}\r\n {header[20:]}"]}))
        assert main(["run", "--once", "--config", str(tmp_path / "c.yaml")]) == 1
        last_error = json.dumps(sheets.batches[-1])
    out = capsys.readouterr()
    assert "Jira refused" in out.err and "Browse projects" in out.err      # the error still says what to fix
    assert '"level": "error"' in out.out and "Jira refused" in last_error
    for where, text in (("stderr", out.err), ("JSON log", out.out), ("Last error", last_error)):
        assert header not in text and header.split()[1][:16] not in text, where
        assert hides(token, text) == [], where


def test_a_secret_echoed_in_another_case_or_as_hex_is_redacted():
    secret = "s3cr3tT0kenXYZ9q8w7e6r5"
    r = Redactor([secret])
    for echo in (secret.upper(), secret.lower(), secret.encode().hex(), secret.encode().hex().upper()):
        out = r(f"HTTP 500: ERR post /hook?token={echo}&x=1 {echo}")
        assert echo not in out and echo.lower() not in out.lower(), out
    assert r("nothing secret here") == "nothing secret here"


def test_a_token_parameter_whose_value_starts_with_an_encoded_ampersand_goes():
    # Found by hypothesis: `%26` ends a value (a doubly encoded query), except as its first character.
    assert "2600000000000" not in Redactor()("https://x.test/a?key=abc&token=%2600000000000&x=1")


@pytest.mark.parametrize("url", ["https://jira.invalid/rest?os_password=SEKRET42&x=1",
                                 "https://x.test/a?app-secret=SEKRET42", "https://x.test/a?db_passwd=SEKRET42"])
def test_a_credential_parameter_with_a_prefix_goes_too(url):
    # A tester's finding: Jira's own os_password was left in a config error.
    out = Redactor()(url)
    assert "SEKRET42" not in out and REDACTED in out


def test_a_config_error_about_the_jira_url_does_not_echo_its_password(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("JIRA_TOKEN", "not-this-one")
    data = base_config(source={"type": "jira", "url": "https://jira.invalid/rest?os_password=SEKRET42",
                               "auth": {"token": "${JIRA_TOKEN}"}, "jql": "project = X"})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["check", "--config", str(path)]) == 2
    said = capsys.readouterr()
    assert "source.url" in said.err and "SEKRET42" not in said.out + said.err
