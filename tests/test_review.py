"""The weekly review (issue 14, docs/sheet.md): the digest as a pure function,
its schedule, the Review tab, and delivery to Slack and Teams (responses,
their documented answers) and email (a real local SMTP server, STARTTLS)."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openpyxl
import pytest
import responses
import yaml

from connectors.memory import MemorySink, MemorySource
from connectors.notify.deliver import EmailNotifier, SlackNotifier, TeamsNotifier
from sync.core import schedule
from sync.core.present import review
from sync.core.assess.assessment import assess
from sync.cli.main import main
from sync.core.config import Config
from sync.core.errors import RemoteError
from sync.core.present.report import HEADERS
from sync.worker.runtime import Runtime
from sync.worker.state import State
from connectors.notify.targets import EmailTarget, SlackTarget, TeamsTarget

from .conftest import NOW, ROOT, base_config, reading, sync_over, ticket

SLACK = "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"
TEAMS = "https://prod-00.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=s3cret"


def config(**review_over) -> Config:
    data = base_config()
    data["review"].update(review_over)
    return Config.model_validate(data)


def two_weeks():
    """Last week's and this week's assessment of the same team."""
    cfg = config()
    before = [ticket("A-1", labels=("onboarding-email",)), ticket("A-2", labels=("onboarding-email",)),
              ticket("B-1", components=("Setup wizard",)), ticket("C-1")]
    after = [ticket("A-1", labels=("onboarding-email",), status="Done", done=True),
             ticket("A-2"),                                       # lost its label: now unmapped
             ticket("B-1", components=("Setup wizard",), owner=None),
             ticket("C-1", labels=("onboarding-email",))]          # now mapped
    readings = [reading("2026-11-18", "conv_rate", 6.2), reading("2026-11-25", "conv_rate", 7.0)]
    a1 = assess(before, cfg, readings[:1], NOW - timedelta(days=7))
    a2 = assess(after, cfg, readings, NOW)
    return cfg, a1, a2


def test_the_digest_compares_two_assessments():
    _, a1, a2 = two_weeks()
    d = review.digest(review.snapshot(a1), a2, "2026-11-30T09:00:00Z")
    rows = {r.outcome_id: r for r in d.rows}
    assert [r.outcome_id for r in d.rows] == ["conv", "act", "*"]
    conv = rows["conv"]
    assert conv.progress == 50.0 and conv.progress_change == 40.0          # 6.2 → 7.0 of 6 → 8
    assert conv.done == ["A-1"] and conv.newly_unmapped == ["A-2"]
    assert conv.previous_status is not None and conv.status is not None
    assert "unowned" in rows["act"].new_warnings and rows["act"].new_warnings["unowned"] == ["B-1"]
    team = rows["*"]
    assert team.newly_unmapped == ["A-2"] and team.done == ["A-1"]
    assert "unmapped" in team.resolved_warnings and team.resolved_warnings["unmapped"] == ["C-1"]
    block = d.table_rows()
    assert len(block[0]) == len(HEADERS["Review"]) and block[-1][1] == "*"
    assert "unowned 1 (B-1)" in block[1][9]


def test_the_review_falls_on_its_day_and_time_in_the_zone():
    cfg = config(day="wednesday", time="08:30")
    cfg = cfg.model_copy(update={"schedule": cfg.schedule.model_copy(update={"timezone": "Europe/Berlin"})})
    first = schedule.occurrences(cfg, NOW)                # Thu 26 Nov 09:00Z → Wed 2 Dec 08:30 Berlin
    assert first == datetime(2026, 12, 2, 7, 30, tzinfo=timezone.utc)
    assert schedule.next_review(cfg, first) == first + timedelta(days=7)
    biweekly = config(cadence="14d")
    start = schedule.occurrences(biweekly, NOW)
    assert schedule.next_review(biweekly, start) == start + timedelta(days=14)


def test_the_review_tab_keeps_52_blocks_newest_first():
    old = [[f"2025-{i:03d}", "x"] for i in range(60)]
    rows = review.merge_blocks([["2026-new", "a"], ["2026-new", "*"]], old)
    ids = list(dict.fromkeys(r[0] for r in rows))
    assert ids[0] == "2026-new" and len(ids) == 52


@pytest.mark.slow
def test_scheduled_reviews_through_syncs(tmp_path):
    """The first sync is the baseline; the review falls at the first review
    time after it, in the same write as every other tab, once."""
    from connectors.xlsx.sink import XlsxSink, XlsxSinkConfig
    cfg = config()
    sink = XlsxSink(XlsxSinkConfig(type="xlsx", path=str(tmp_path / "book.xlsx")))
    state = State(tmp_path / "s.db")
    source = MemorySource("jira", [ticket("A-1", labels=("onboarding-email",)), ticket("A-2")])
    sync_over(cfg, [source], sink, state, NOW)                          # Thursday: baseline
    assert openpyxl.load_workbook(tmp_path / "book.xlsx")["Review"].max_row == 1
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
    sync_over(cfg, [source], sink, state, monday - timedelta(minutes=1))   # not yet
    source.tickets = [ticket("A-1", labels=("onboarding-email",), status="Done", done=True), ticket("A-2")]
    sync_over(cfg, [source], sink, state, monday + timedelta(minutes=5))
    ws = openpyxl.load_workbook(tmp_path / "book.xlsx")["Review"]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0] == HEADERS["Review"]
    assert [r[1] for r in rows[1:]] == ["conv", "act", "*"] and rows[1][0] == "2026-11-30T09:00:00Z"
    assert rows[1][8] == 1                                           # A-1 done this week
    sync_over(cfg, [source], sink, state, monday + timedelta(hours=1))  # no second review
    assert openpyxl.load_workbook(tmp_path / "book.xlsx")["Review"].max_row == 4
    state.close()


# -- Slack, Teams: the exact JSON we post, and their documented errors -----------

def digest():
    _, a1, a2 = two_weeks()
    return review.digest(review.snapshot(a1), a2, "2026-11-30T09:00:00Z")


@responses.activate
def test_slack_gets_block_kit_with_a_section_per_outcome():
    responses.add(responses.POST, SLACK, body="ok", status=200)
    SlackNotifier(SlackTarget(type="slack", webhook=SLACK), Runtime()).send(
        digest(), "https://docs.google.com/spreadsheets/d/abc")
    body = json.loads(responses.calls[0].request.body)
    assert body["text"] == "Weekly review 2026-11-30"
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds[0] == "header" and kinds.count("section") >= 4
    texts = " ".join(b["text"]["text"] for b in body["blocks"][1:])
    assert "*Conversion*" in texts and "*Activation*" in texts and "*Team*" in texts
    assert "<https://docs.google.com/spreadsheets/d/abc|Open the sheet>" in texts
    assert "*New warnings*" in texts


@pytest.mark.parametrize("status, text", [(404, "no_service"), (410, "channel_is_archived"),
                                          (403, "invalid_token")])
@responses.activate
def test_a_revoked_slack_webhook_says_so(status, text):
    responses.add(responses.POST, SLACK, body=text, status=status)
    with pytest.raises(RemoteError, match="webhook was revoked or its channel archived") as err:
        SlackNotifier(SlackTarget(type="slack", webhook=SLACK), Runtime()).send(digest(), "")
    assert SLACK not in err.value.message and "XXXXsecret" not in str(err.value)


@responses.activate
def test_slack_429_waits_for_retry_after(no_sleep):
    responses.add(responses.POST, SLACK, body="rate_limited", status=429, headers={"Retry-After": "7"})
    responses.add(responses.POST, SLACK, body="ok", status=200)
    SlackNotifier(SlackTarget(type="slack", webhook=SLACK), Runtime()).send(digest(), "")
    assert no_sleep == [7.0] and len(responses.calls) == 2


@responses.activate
def test_teams_gets_an_adaptive_card():
    responses.add(responses.POST, TEAMS, status=202)
    TeamsNotifier(TeamsTarget(type="teams", webhook=TEAMS), Runtime()).send(digest(), "https://x.test/sheet")
    body = json.loads(responses.calls[0].request.body)
    (attachment,) = body["attachments"]
    assert body["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["actions"][0]["url"] == "https://x.test/sheet"
    assert any(i.get("text", "").startswith("Conversion:") for i in card["body"])


@responses.activate
def test_a_removed_teams_workflow_says_so():
    responses.add(responses.POST, TEAMS, status=404, json={"error": {"code": "WorkflowNotFound"}})
    with pytest.raises(RemoteError, match="workflow webhook was removed or disabled"):
        TeamsNotifier(TeamsTarget(type="teams", webhook=TEAMS), Runtime()).send(digest(), "")


# -- email: a real SMTP server on loopback, STARTTLS and a login ----------------

@pytest.fixture
def smtp_server(tmp_path, monkeypatch):
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    import ipaddress
    import socket
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(datetime(2020, 1, 1)).not_valid_after(datetime(2040, 1, 1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))     # the client trusts it

    class Inbox:
        messages: list = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            self.messages.append(envelope)
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login in ("bot", b"bot") and \
            auth_data.password in ("s3cret-pass", b"s3cret-pass")
        return AuthResult(success=ok, handled=False)     # handled=False: aiosmtpd answers 535 itself

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context, ready_timeout=10,
                            require_starttls=True, authenticator=authenticate, auth_require_tls=True)
    controller.start()
    yield inbox, port
    controller.stop()


def email_target(port, password="s3cret-pass"):
    return EmailTarget.model_validate({"type": "email", "smtp": f"127.0.0.1:{port}", "starttls": True,
                                       "username": "bot", "password": password,
                                       "from": "align-sync@example.com", "to": ["leads@example.com"]})


def test_email_over_starttls_with_text_and_html(smtp_server):
    inbox, port = smtp_server
    EmailNotifier(email_target(port), Runtime()).send(digest(), "https://docs.google.com/spreadsheets/d/abc")
    (envelope,) = inbox.messages
    assert envelope.rcpt_tos == ["leads@example.com"]
    text = envelope.content.decode()
    assert "Subject: Weekly review 2026-11-30" in text
    assert "text/plain" in text and "text/html" in text and "Conversion" in text


def test_wrong_smtp_credentials_say_what_to_fix(smtp_server):
    _, port = smtp_server
    with pytest.raises(RemoteError, match="refused the login") as err:
        EmailNotifier(email_target(port, password="wrong-pass"), Runtime()).send(digest(), "")
    assert "check review.notify username and password" in err.value.hint
    assert "wrong-pass" not in str(err.value)


# -- bad input -------------------------------------------------------------------

@pytest.mark.parametrize("over, key", [
    ({"notify": [{"type": "slack", "webhook": "http://hooks.example.com/x"}]}, "review.notify[0].webhook"),
    ({"notify": [{"type": "pager", "key": "x"}]}, "review.notify[0].type"),
    ({"day": "funday"}, "review.day"),
    ({"time": "25:00"}, "review.time"),
])
def test_bad_review_config_exits_2_naming_the_key(tmp_path, capsys, over, key):
    data = base_config(sink={"type": "xlsx", "path": str(tmp_path / "b.xlsx")})
    data["review"].update(over)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert key in err and "hooks.example.com/x" not in err


# -- as a team would use it: two Slack webhooks, one failing at first -------------

class Hooks:
    """Two webhook endpoints on a local HTTP server; `/b` fails until told."""

    def __init__(self):
        self.posts: dict[str, list] = {"/a": [], "/b": []}
        self.b_ok = False
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                path = self.path
                ok = path == "/a" or hooks.b_ok
                if ok:
                    hooks.posts[path].append(json.loads(body))
                self.send_response(200 if ok else 404)
                self.end_headers()
                self.wfile.write(b"ok" if ok else b"no_service")

            def log_message(self, *args):
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.slow
def test_send_then_sync_reaches_each_webhook_once(tmp_path, capsys):
    hooks = Hooks()
    try:
        data = base_config(source={"type": "file", "path": str(ROOT / "config/demo/jira-search.json"),
                                   "fields": {"estimate": "customfield_10016"}},
                           sink={"type": "xlsx", "path": str(tmp_path / "book.xlsx")},
                           state=str(tmp_path / "s.db"))
        data["review"]["notify"] = [{"type": "slack", "webhook": f"http://127.0.0.1:{hooks.port}/a"},
                                    {"type": "slack", "webhook": f"http://127.0.0.1:{hooks.port}/b"}]
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump(data))
        assert main(["review", "--send", "--config", str(path)]) == 1
        captured = capsys.readouterr()
        out = captured.out + captured.err
        # Beside the JSON log on stdout (a pipe), the line for a person is on stderr.
        assert "FAIL  slack webhook (127.0.0.1): the webhook was revoked" in captured.err
        assert all(line.startswith("{") for line in captured.out.splitlines())
        assert f"{hooks.port}/b" not in out                        # the URL is a secret
        assert (len(hooks.posts["/a"]), len(hooks.posts["/b"])) == (1, 0)
        hooks.b_ok = True
        assert main(["run", "--once", "--config", str(path)]) == 0
        assert (len(hooks.posts["/a"]), len(hooks.posts["/b"])) == (1, 1)
        assert hooks.posts["/b"][0] == hooks.posts["/a"][0]        # the same review
        header = [c.value for c in openpyxl.load_workbook(tmp_path / "book.xlsx")["Review"][1]]
        assert header == HEADERS["Review"]
        assert main(["run", "--once", "--config", str(path)]) == 0
        assert (len(hooks.posts["/a"]), len(hooks.posts["/b"])) == (1, 1)
        capsys.readouterr()
        assert main(["review", "--print", "--config", str(path)]) == 0
        printed = capsys.readouterr().out
        assert "## Conversion [conv]" in printed and "## Activation [act]" in printed and "## Team" in printed
    finally:
        hooks.server.shutdown()


def test_a_target_still_failing_is_named_in_last_error(tmp_path):
    cfg = config(notify=[{"type": "slack", "webhook": SLACK}])
    sink, state = MemorySink(), State(tmp_path / "s.db")
    notifiers = [SlackNotifier(cfg.review.notify[0], Runtime())]
    state.put(review.KEY, "pending", digest().to_json())
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, SLACK, body="channel_is_archived", status=410)
        sync_over(cfg, [MemorySource("jira", [ticket("A-1")])], sink, state, NOW, notifiers=notifiers)
    assert sink.errors and "review not delivered to slack webhook (hooks.slack.com)" in sink.errors[-1]
    assert SLACK not in sink.errors[-1]
    state.close()
