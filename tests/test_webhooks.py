"""Webhook safety, against local servers on 127.0.0.1 that answer as a
hostile or broken endpoint would: redirects (to the metadata service, to
file://, in a loop), a 200 MB answer, a `Retry-After` of a day, an answer
dripped byte by byte; and addresses refused after DNS resolution
(socket.getaddrinfo replaced).  Every delivery error is the target's, with
a one-line reason; none reaches the sync."""
from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from pydantic import ValidationError

from connectors.memory import MemorySink, MemorySource
from connectors.notify import smtp, webhook
from connectors.notify.deliver import SlackNotifier, deliver
from sync.core.present import review
from connectors.notify.targets import EmailTarget, SlackTarget, TeamsTarget
from sync.core.errors import ConfigError
from sync.worker import configfile
from sync.worker.runtime import Runtime
from sync.worker.state import State

from .conftest import NOW, base_config, make_config, sync_over, ticket
from .test_review import digest

BODY = {"text": "hello"}


class Endpoint:
    """A local HTTP server; `answer(handler)` writes each response.  It
    records every request (method, path) and how many bytes it sent."""

    def __init__(self, answer):
        self.requests: list[tuple[str, str]] = []
        self.bodies: list[bytes] = []
        self.sent = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                endpoint.bodies.append(self.rfile.read(length))
                endpoint.requests.append((self.command, self.path))
                try:
                    answer(self, endpoint)
                except OSError:                  # the client hung up: what it should do
                    pass

            do_POST = do_GET = handle_one       # noqa: N815

            def log_message(self, *args):
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0SECRET1/B0SECRET2/hushhush99"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def endpoint():
    made = []

    def make(answer):
        made.append(Endpoint(answer))
        return made[-1]
    yield make
    for e in made:
        e.close()


def reply(status, body=b"", **headers):
    def answer(handler, _endpoint):
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return answer


def slack(url: str, **more) -> SlackTarget:
    return SlackTarget.model_validate({"type": "slack", "webhook": url, **more})


# -- redirects are never followed ---------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("status, location, named", [
    (307, "http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    (301, "https://elsewhere.example.com/new/path?token=abc", "elsewhere.example.com"),
    (302, "/services/T0SECRET1/B0SECRET2/hushhush99", "127.0.0.1"),           # a loop onto itself
    (302, "file:///etc/passwd", "a file: location"),
    (308, "gopher://internal:70/", "internal"),
])
def test_a_redirect_is_a_failed_delivery_naming_only_the_host(endpoint, monkeypatch, status, location, named):
    looked_up = []
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: looked_up.append(host) or real(host, *a, **k))
    hook = endpoint(reply(status, Location=location))
    result = deliver(slack(hook.url), BODY, Runtime())
    assert not result.ok and f"HTTP {status}, a redirect to {named}, not followed" in result.reason
    assert hook.requests == [("POST", "/services/T0SECRET1/B0SECRET2/hushhush99")]   # one POST, never a GET
    assert looked_up == ["127.0.0.1"]                       # the new location was never even resolved
    for part in ("T0SECRET1", "hushhush99", "/new/path", "token=abc", "/etc/passwd", "latest/meta-data"):
        assert part not in result.reason
    assert "\n" not in result.reason


def test_a_failing_target_never_fails_the_sync_and_is_named_in_last_error(endpoint, tmp_path):
    hook = endpoint(reply(302, Location="file:///etc/passwd"))
    cfg = make_config(review={"notify": [{"type": "slack", "webhook": hook.url}]})
    sink, state = MemorySink(), State(tmp_path / "s.db")
    state.put(review.KEY, "pending", digest().to_json())
    result = sync_over(cfg, [MemorySource("jira", [ticket("A-1")])], sink, state, NOW,
                       notifiers=[SlackNotifier(cfg.review.notify[0], Runtime())])
    assert result.written and sink.reports
    assert "review not delivered to slack webhook (127.0.0.1): " in sink.errors[-1]
    assert "a redirect to a file: location" in sink.errors[-1] and "hushhush99" not in sink.errors[-1]
    state.close()


def test_what_is_posted_is_redacted_too(endpoint):
    """An alert quoting an error must not carry a secret to the channel."""
    hook = endpoint(reply(200, b"ok"))
    runtime = Runtime()
    runtime.redactor.add(["jira-token-0123456789"])
    payload = {"text": "sync failing: Jira said jira-token-0123456789 is bad",
               "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Authorization: Bearer abc123def456"}}]}
    assert deliver(slack(hook.url), payload, runtime).ok
    assert b"jira-token" not in hook.bodies[0] and b"abc123def456" not in hook.bodies[0]
    assert b"sync failing: Jira said [redacted] is bad" in hook.bodies[0]


# -- answers are bounded: size, time, Retry-After -----------------------------------------

def test_a_200_mb_answer_is_read_only_to_64_kib(endpoint):
    def huge(handler, hook):
        handler.send_response(400)
        handler.send_header("Content-Length", str(200 * 2**20))
        handler.end_headers()
        chunk = b"x" * 65536
        for _ in range(200 * 16):
            handler.wfile.write(chunk)
            hook.sent += len(chunk)
    hook = endpoint(huge)
    tracemalloc.start()
    started = time.monotonic()
    result = deliver(slack(hook.url), BODY, Runtime())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert not result.ok and "HTTP 400" in result.reason and len(result.reason) < 500
    assert time.monotonic() - started < 10
    assert peak < 8 * 2**20, f"{peak / 2**20:.1f} MiB allocated while reading the answer"
    time.sleep(0.2)                      # let the server notice the hang-up
    assert hook.sent < 32 * 2**20, f"the server got {hook.sent / 2**20:.0f} MiB out before the hang-up"
    print(f"200 MiB answer: {hook.sent / 2**20:.1f} MiB left the server, {peak / 2**20:.2f} MiB peak "
          f"allocated, {time.monotonic() - started:.2f} s")


def test_retry_after_a_day_fails_at_once_saying_so(endpoint, no_sleep):
    hook = endpoint(reply(429, b"rate_limited", Retry_After="86400"))
    started = time.monotonic()
    result = deliver(slack(hook.url), BODY, Runtime())
    assert time.monotonic() - started < 5 and no_sleep == []
    assert "asked to wait 86400 s, past this request's 30 s deadline" in result.reason
    assert len(hook.requests) == 1


def test_a_short_retry_after_is_honoured(endpoint, no_sleep):
    answers = [reply(503, Retry_After="2"), reply(200, b"ok")]
    hook = endpoint(lambda handler, e: answers.pop(0)(handler, e))
    assert deliver(slack(hook.url), BODY, Runtime()).ok
    assert no_sleep == [2.0] and len(hook.requests) == 2


@pytest.mark.slow
def test_an_answer_dripped_byte_by_byte_is_cut_at_the_deadline(endpoint):
    stop = threading.Event()

    def drip(handler, _hook):
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(100):                     # 20 s at most: the client must leave long before
            if stop.wait(0.2):
                return
            handler.wfile.write(b"X-Slow: 1\r\n")
            handler.wfile.flush()
    hook = endpoint(drip)
    started = time.monotonic()
    with pytest.raises(Exception) as err:
        webhook.post(hook.url, BODY, service="slack", label="slack webhook (127.0.0.1)",
                     where="review.notify", allow_private=False, runtime=Runtime(), seconds=1.5)
    stop.set()
    assert time.monotonic() - started < 4
    assert "no answer within the 1.5 s delivery deadline" in str(err.value)


def test_the_deadline_cuts_a_socket_that_tls_took_over():
    """Wrapping a socket in TLS detaches the original object; the watchdog
    must still reach the connection."""
    ours, peer = socket.socketpair()
    guard = webhook.Guard(allow_private=False, seconds=30)
    guard.watch(ours)
    taken = socket.socket(fileno=ours.detach())          # what ssl.wrap_socket does to it
    peer.settimeout(5)
    try:
        guard.cut()
        assert peer.recv(1) == b""                          # the connection is closed, not just our copy
        assert guard.tripped
    finally:
        taken.close()
        peer.close()
        for dup in guard.sockets:
            dup.close()


# -- addresses are checked after DNS, and connected to as checked --------------------------

def resolving(monkeypatch, table: dict[str, list[str]], calls: list | None = None):
    def fake(host, port, *args, **kwargs):
        if calls is not None:
            calls.append(host)
        family = lambda a: socket.AF_INET6 if ":" in a else socket.AF_INET  # noqa: E731
        return [(family(a), socket.SOCK_STREAM, 6, "", (a, port) if ":" not in a else (a, port, 0, 0))
                for a in table[host]]
    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.parametrize("addresses, why", [
    (["10.0.0.5"], "10.0.0.5, a private address"),
    (["93.184.216.34", "192.168.1.9"], "192.168.1.9, a private address"),     # one bad answer is enough
    (["169.254.169.254"], "a cloud metadata address"),
    (["fd00:ec2::254"], "a cloud metadata address"),
    (["::ffff:169.254.169.254"], "a cloud metadata address"),
    (["127.0.0.1"], "a loopback address"),
    (["169.254.10.1"], "a link-local address"),
    (["100.64.0.1"], "a private address"),
    (["0.0.0.0"], "an unspecified address"),
])
def test_a_name_resolving_to_a_non_public_address_is_refused(monkeypatch, addresses, why):
    resolving(monkeypatch, {"hooks.example.com": addresses})
    result = deliver(slack("https://hooks.example.com/services/T0SECRET1/x"), BODY, Runtime())
    assert not result.ok and why in result.reason and "refused to connect" in result.reason
    # allow_private never lifts a metadata refusal, so only the others suggest it.
    assert ("allow_private: true" in result.reason) == ("metadata" not in why)
    assert "T0SECRET1" not in result.reason


def test_metadata_names_are_refused_whatever_they_resolve_to(monkeypatch):
    resolving(monkeypatch, {"metadata.google.internal": ["93.184.216.34"]})
    guard = webhook.Guard(allow_private=True, seconds=5)
    with pytest.raises(webhook.Refused, match="cloud metadata service"):
        guard.connect("metadata.google.internal", 443, 5, plain_http=False)


def test_allow_private_lets_the_delivery_reach_the_address(monkeypatch):
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()                                              # nothing listens there
    resolving(monkeypatch, {"hooks.internal.example": ["127.0.0.1"]})
    result = deliver(slack(f"https://hooks.internal.example:{port}/x", allow_private=True), BODY, Runtime())
    assert "refused to connect" not in result.reason and "connection refused" in result.reason


def test_the_socket_goes_to_the_address_that_was_checked(endpoint, monkeypatch):
    """DNS rebinding: one lookup per connection, and the connection is made
    to the checked address, never by name again."""
    hook = endpoint(reply(200, b"ok"))
    port = hook.server.server_address[1]
    calls: list[str] = []
    resolving(monkeypatch, {"localhost": ["127.0.0.1"]}, calls)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: pytest.fail("connected by name"))
    assert deliver(slack(f"http://localhost:{port}/x"), BODY, Runtime()).ok
    assert calls == ["localhost"] and hook.requests == [("POST", "/x")]


def test_plain_http_reaches_only_loopback(monkeypatch):
    resolving(monkeypatch, {"localhost": ["10.1.1.1"]})
    result = deliver(slack("http://localhost:8080/x"), BODY, Runtime())
    assert "not a loopback address" in result.reason


@pytest.mark.parametrize("url, allow, expected", [
    ("https://169.254.169.254/latest/meta-data/", True, "cloud metadata service"),
    ("https://metadata.google.internal/x", True, "cloud metadata service"),
    ("https://[fd00:ec2::254]/x", True, "cloud metadata service"),
    ("https://10.0.0.5/hook", False, "not a public one; expected a public https:// webhook URL, or "
                                       "allow_private: true on this target"),
    ("https://127.0.0.1/hook", False, "a private, loopback or link-local address"),
    ("http://hooks.example.com/x", False, "expected an https:// webhook URL"),
    ("http://10.0.0.5/x", True, "expected an https:// webhook URL"),
    ("file:///etc/passwd", True, "expected an https:// webhook URL"),
])
def test_config_refuses_what_the_url_alone_shows(url, allow, expected):
    with pytest.raises(ValidationError) as err:
        TeamsTarget.model_validate({"type": "teams", "webhook": url, "allow_private": allow})
    said = err.value.errors()[0]["msg"]           # what the config report prints
    assert expected in said and "/x" not in said and "hook" not in said.split("webhook")[-1]


def _load_error(tmp_path, env=None, **blocks) -> list[str]:
    """The problems `configfile.load` reports for a config with `blocks`."""
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(base_config(**blocks)))
    with pytest.raises(ConfigError) as err:
        configfile.load(path, env=env or {})
    return [line.removeprefix(f"{path}: ") for line in err.value.problems]


def test_a_private_webhook_reads_as_one_sentence_under_its_key(tmp_path):
    """A tester's finding: `alerts.notify[0].slack: webhook: 10.1.2.3 is not a
    public address`: a dangling `webhook:` after the block's type, and the
    URL's host echoed.  Now the key is the path and the line says what is
    expected, without the URL (a secret) or any part of it."""
    url = "https://10.1.2.3/services/T0/B0/s3cr3t"
    said = ("the URL's host is a private, loopback or link-local address, not a public one; expected a "
            "public https:// webhook URL, or allow_private: true on this target if that address is meant")
    problems = _load_error(tmp_path, alerts={"notify": [{"type": "slack", "webhook": url}]})
    assert problems == [f"alerts.notify[0].webhook: {said}"]
    problems = _load_error(tmp_path, {"HOOK": url},
                           review={"notify": [{"type": "teams", "webhook": "${HOOK}"}]})
    assert problems == [f"review.notify[0].webhook: {said}"]
    assert "10.1.2.3" not in said and "s3cr3t" not in said


def test_a_blocks_own_check_is_said_under_the_block_not_its_type(tmp_path):
    problems = _load_error(tmp_path, sink={"type": "google_sheets", "spreadsheet": "abc"})
    assert problems[0].startswith("sink: give one of `auth:`")


@pytest.mark.parametrize("sender", ["align-sync", "ops@", "@example.com", "ops@.", "a@b@example.com",
                                    "a@example..com", "a@.example.com", "a@-example-.com", "a@example.com.",
                                    "a..b@example.com", ".a@example.com", "a@x_y.com",
                                    "ops@example.com, cto@example.com",
                                    "ops@example.com\nBcc: x@example.com"])
def test_an_email_from_that_is_no_address_is_refused_naming_file_and_key(tmp_path, sender):
    # A tester's finding: `from:` took any string; the server refused it at every delivery.
    target = {"type": "email", "smtp": "smtp.example.com:587", "from": sender, "to": ["leads@example.com"]}
    problems = _load_error(tmp_path, review={"notify": [target]})
    assert problems == [f"review.notify[0].from: expected an email address such as align-sync@example.com "
                        f"(or Align Sync <align-sync@example.com>), got {sender!r}"]


def test_an_email_to_that_is_no_address_is_refused_naming_its_entry(tmp_path):
    target = {"type": "email", "smtp": "smtp.example.com:587", "from": "a@example.com",
              "to": ["leads@example.com", "leads"]}
    assert _load_error(tmp_path, alerts={"notify": [target]}) == [
        "alerts.notify[0].to[1]: expected an email address such as leads@example.com, got 'leads'"]


def test_every_bad_email_to_is_named_and_a_misread_address_refused(tmp_path):
    """A tester's findings: only the first bad `to` was named; and
    `lead@exa mple.com` or `x@example.com (Bob)` were taken, then mailed to
    `lead@exa` and `x@example.com`."""
    target = {"type": "email", "smtp": "smtp.example.com:587", "from": "ops@exa mple.com",
              "to": ["ok@example.com", "bad@", "lead@exa mple.com", "x@example.com (Bob)"]}
    expected = "expected an email address such as leads@example.com"
    assert _load_error(tmp_path, alerts={"notify": [target]}) == [
        "alerts.notify[0].from: expected an email address such as align-sync@example.com (or Align Sync "
        "<align-sync@example.com>), got 'ops@exa mple.com'",
        f"alerts.notify[0].to[1]: {expected}, got 'bad@'",
        f"alerts.notify[0].to[2]: {expected}, got 'lead@exa mple.com'",
        f"alerts.notify[0].to[3]: {expected}, got 'x@example.com (Bob)'"]


@pytest.mark.parametrize("sender", ["align-sync@example.com", "Align Sync <align-sync@example.com>",
                                    '"Ops, Growth" <ops@mail.example.co.uk>',
                                    "alerts@localhost", "ops@intranet"])    # an internal relay's
def test_an_email_from_with_or_without_a_name_is_accepted(sender):
    target = EmailTarget.model_validate({"type": "email", "smtp": "smtp.example.com:587", "from": sender,
                                         "to": ["leads@example.com"]})
    assert target.sender == sender


def test_config_accepts_a_private_address_when_allowed():
    assert slack("https://10.0.0.5/hook", allow_private=True).allow_private


# -- email: the same deadline, the same rule -----------------------------------------------

@pytest.mark.slow
def test_an_smtp_server_that_never_answers_is_cut_at_the_deadline():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)                          # accepts (in the kernel), never says a word
    try:
        target = EmailTarget.model_validate({"type": "email", "smtp": f"127.0.0.1:{silent.getsockname()[1]}",
                                             "from": "a@example.com", "to": ["b@example.com"]})
        message = EmailMessage()
        message["Subject"] = "x"
        started = time.monotonic()
        with pytest.raises(Exception) as err:
            smtp.send(target, message, label="email via test", where="review.notify",
                      runtime=Runtime(), seconds=1.0)
        assert time.monotonic() - started < 3
        assert str(err.value).startswith("email via test: ") and "\n" not in str(err.value)
        result = deliver(target.model_copy(update={"smtp": "127.0.0.1:1"}), message, Runtime())
        assert not result.ok and result.reason.startswith("email via 127.0.0.1:1: ")
    finally:
        silent.close()


def test_a_webhook_given_as_a_bare_list_item_is_not_echoed(tmp_path):
    """A tester's finding: `notify: ["https://hooks.slack.com/..."]` was
    refused with the URL, its secret path included, in the message."""
    url = "https://hooks.slack.com/services/T000/B000/SECRETSECRET"
    problems = _load_error(tmp_path, review={"notify": [url]})
    assert problems and problems[0].startswith("review.notify[0]: ")
    assert not any("SECRET" in p or "hooks.slack.com" in p for p in problems)


@pytest.mark.parametrize("block,said", [
    ({"type": "slack", "url": "x"}, "review.notify[0].url: unknown key"),                # not `url`
    ({"type": "slack", "webhok": "x"}, "review.notify[0].webhok: unknown key (did you mean `webhook`?)"),
    ({"type": "email", "smtp": "m.example.com:587", "frm": "a@example.com", "to": ["b@example.com"]},
     "review.notify[0].frm: unknown key (did you mean `from`?)"),
    ({"type": "slack", "webhook": "https://hooks.slack.com/services/T/B/x", "pasword": 1},
     "review.notify[0].pasword: unknown key (did you mean `password`?)"),
])
def test_a_typo_in_a_target_gets_a_suggestion_from_the_targets_keys(tmp_path, block, said):
    """A tester's finding: `url` in a Slack target was refused with 'did you
    mean `url`?', and the targets' own keys were never suggested."""
    assert said in _load_error(tmp_path, review={"notify": [block]})


@pytest.mark.parametrize("blocks", [
    {"review": {"notify": [{"type": "slack", "https://hooks.slack.com/services/T0AAA/B0BBB/SECRETHOOK": None}]}},
    {"sink": {"type": "xlsx", "path": "https://hooks.slack.com/services/T0AAA/B0BBB/SECRETHOOK"}},
])
def test_a_webhook_as_a_key_or_as_a_path_is_not_echoed(tmp_path, blocks):
    """A retester's findings: `webhook:` forgotten made the URL a key, shown
    as the path of 'unknown key'; pasted as the sink's path, the xlsx check
    quoted it."""
    problems = _load_error(tmp_path, **blocks)
    assert problems and not any("SECRETHOOK" in p or "hooks.slack.com" in p for p in problems), problems


@pytest.mark.parametrize("value", [{}, "", "slack"])
def test_notify_that_is_not_a_list_is_refused(tmp_path, value):
    # A retester's finding: `notify: {}` and `notify: ""` were taken as no targets, silently.
    (problem,) = _load_error(tmp_path, review={"notify": value})
    assert problem.startswith("review.notify: expected a list of targets")


@pytest.mark.parametrize("blocks", [
    {"sink": {"type": "xlsx", "path": "https://hooks.slack.com/services/T0AAA/B0BBB/SECRETHOOK.xlsx"}},
    {"source": {"type": "file", "path": "https://user:SECRETHOOK@jira.example.com/export.json"}},
    {"state": "https://hooks.slack.com/services/T0AAA/B0BBB/SECRETHOOK.db"},
])
def test_a_url_where_a_file_path_belongs_is_refused_unshown(tmp_path, blocks):
    """A retester's finding: a webhook URL ending in .xlsx as the sink's path
    was taken (folders made from it), and as a file source's path printed in
    full by check and the dry run."""
    problems = _load_error(tmp_path, **blocks)
    assert any(p.endswith("expected a file path, not a URL") for p in problems), problems
    assert not any("SECRETHOOK" in p or "hooks.slack.com" in p for p in problems)
