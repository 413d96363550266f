"""A terminal for people, logs for machines (issue 12): console lines under
a pseudo-terminal, JSON lines in a pipe, `--log-format` over both, NO_COLOR,
and progress for a fetch that takes more than ~2 s."""
from __future__ import annotations

import io
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time

import pytest
import responses

from sync.worker.progress import Progress
from sync.worker.runtime import Runtime

from .conftest import NOW, ROOT
from .fakes import FakeJira, make_issues

DEADLINE = 90.0


@pytest.fixture()
def demo(tmp_path):
    shutil.copytree(ROOT / "config", tmp_path / "config")
    return tmp_path


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sync", *args]


def in_terminal(cwd, args: list[str], **env: str) -> tuple[int, str]:
    """Run under a pseudo-terminal (stdout and stderr); its output and exit code."""
    master, slave = pty.openpty()
    child = subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                             env={**os.environ, "TERM": "xterm", **env}, close_fds=True)
    os.close(slave)
    chunks, ends = [], time.monotonic() + DEADLINE
    try:
        while time.monotonic() < ends:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:          # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif child.poll() is not None:
                break
        else:
            child.kill()
            pytest.fail("the command did not finish within the deadline")
        return child.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(master)


def in_pipe(cwd, args: list[str]) -> tuple[int, str]:
    done = subprocess.run(args, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=DEADLINE)
    return done.returncode, done.stdout


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.slow
def test_a_terminal_gets_lines_for_reading_in_colour(demo):
    code, out = in_terminal(demo, command("run", "--once", "--config", "config/demo.yaml"))
    assert code == 0, out
    lines = [x for x in out.splitlines() if x.strip()]
    assert lines[-1].startswith("synced ")          # the final summary line stays
    with pytest.raises(ValueError):
        json_lines(lines[0])
    assert "sync.done" in out and "\x1b[" in out


@pytest.mark.slow
def test_no_color_turns_colour_off(demo):
    code, out = in_terminal(demo, command("run", "--once", "--config", "config/demo.yaml"),
                            NO_COLOR="1")
    assert code == 0 and "sync.done" in out and "\x1b[" not in out


@pytest.mark.slow
def test_a_pipe_gets_json_lines_only(demo):
    """Issue 26: every stdout line parses (`| jq` works); the person's line
    `synced ...` goes to stderr."""
    done = subprocess.run(command("run", "--once", "--config", "config/demo.yaml"), cwd=demo,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=DEADLINE)
    assert done.returncode == 0
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events and all({"event", "level", "timestamp"} <= set(e) for e in events)
    assert "sync.done" in [e["event"] for e in events]
    assert done.stderr.startswith("synced 80 tickets") and "1 of 3 outcomes off track" in done.stderr


@pytest.mark.slow
def test_log_format_overrides_both(demo):
    code, out = in_terminal(demo, command("run", "--once", "--config", "config/demo.yaml",
                                          "--log-format", "json"))
    assert code == 0
    *logs, last = [x for x in out.splitlines() if x.strip()]
    assert json_lines("\n".join(logs)) and "\x1b[" not in out
    code, out = in_pipe(demo, command("run", "--once", "--config", "config/demo.yaml",
                                      "--log-format", "console"))
    assert code == 0 and "sync.done" in out
    with pytest.raises(ValueError):
        json_lines(out.splitlines()[0])


class Clock:
    def __init__(self, step: float):
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_progress_shows_only_what_takes_longer_than_two_seconds():
    out = io.StringIO()
    quick = Progress(enabled=True, stream=out, clock=Clock(0.1)).step("fast")
    for n in range(10):
        quick.update(pages=n)
    quick.done()
    assert out.getvalue() == ""
    slow = Progress(enabled=True, stream=out, clock=Clock(0.6)).step("source jira: reading Jira")
    for n in range(1, 11):
        slow.update(pages=n, issues=n * 100)
    slow.done()
    lines = out.getvalue().splitlines()
    assert lines and lines[-1].startswith("source jira: reading Jira: 10 pages, 1,000 issues")
    assert 2 <= len(lines) <= 6                 # about one a second, not one per page
    off = io.StringIO()
    step = Progress(enabled=False, stream=off, clock=Clock(5)).step("x")
    step.update(pages=1)
    assert off.getvalue() == ""


@responses.activate
def test_a_slow_jira_fetch_reports_pages_and_issues():
    from sync.worker.state import State
    from connectors.jira.source import JiraSource
    from connectors.jira.settings import JiraSourceConfig
    FakeJira(responses.mock, make_issues(450, NOW))
    out = io.StringIO()
    runtime = Runtime(progress=Progress(enabled=True, stream=out, clock=Clock(1.5)))
    config = JiraSourceConfig.model_validate({
        "type": "jira", "url": "https://acme.atlassian.net", "jql": "project = GROW",
        "auth": {"email": "bot@acme.example", "token": "t0ken-1"}})
    tickets = JiraSource(config, "jira", runtime).fetch(State(":memory:"), NOW)
    assert len(tickets) == 450
    assert "source jira: reading Jira: 5 pages, 450 issues" in out.getvalue()


@responses.activate
@pytest.mark.parametrize("log_format", ["console", "json", None])
def test_check_says_plain_http_once_on_a_terminal_and_keeps_the_event_in_a_json_log(
        tmp_path, monkeypatch, capsys, log_format):
    """A tester's finding: `check` printed Jira's plain-http warning as a log
    line above its own line saying the same.  For a person (console) the
    check line is enough; a JSON log (a pipe, --log-format json) keeps the
    event, as every command's log does."""
    import yaml
    from sync.cli.main import main
    from .conftest import base_config
    intranet = "http://jira.intranet.example"
    FakeJira(responses.mock, make_issues(3, NOW, url=intranet, v3=False), cloud=False, url=intranet)
    monkeypatch.setenv("JIRA_PAT", "pat-t0ken-123")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(base_config(
        source={"type": "jira", "url": intranet, "auth": {"token": "${JIRA_PAT}"}, "jql": "project = GROW"},
        sink={"type": "xlsx", "path": str(tmp_path / "out.xlsx")})))
    args = ["check", "--config", str(path)] + (["--log-format", log_format] if log_format else [])
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    said = [x for x in lines if "WARNING: plain http" in x]
    assert len(said) == 1 and "source jira: Jira DataCenter at" in said[0]
    events = [x for x in lines if "jira_plain_http" in x]
    if log_format == "console":
        assert events == []
    else:                        # a pipe (this test's stdout) or --log-format json: JSON lines
        assert [json.loads(x)["event"] for x in events] == ["jira_plain_http"]


@pytest.mark.parametrize("encoding,text,shown", [
    ("utf-8", "title \ud800 end", "title \\ud800 end"),      # a lone surrogate from a tracker
    ("ascii", "Concluído", "Conclu\\xeddo"),                   # an ASCII-only terminal
])
def test_a_character_the_stream_cannot_encode_is_escaped_and_output_goes_on(encoding, text, shown):
    """A tester's finding: `explain` on a ticket whose title held a lone
    surrogate printed nothing at all (the stream was given up as failed)."""
    import io

    from sync.cli.streams import Tolerant
    raw = io.BytesIO()
    out = Tolerant(io.TextIOWrapper(raw, encoding=encoding, errors="strict"), "stdout")
    out.write(text + "\n")
    out.write("next line\n")
    out.flush()
    assert raw.getvalue().decode(encoding) == f"{shown}\nnext line\n"
    assert not out.failed


def test_control_characters_from_a_ticket_are_escaped_on_stdout_colours_kept():
    """A retester's finding: a title holding `\\x1b]0;pwned\\x07` retitled the
    terminal through `explain`, a carriage return overwrote its own line."""
    import io

    from sync.cli.streams import Tolerant
    raw = io.StringIO()
    out = Tolerant(raw, "stdout")
    out.write("GROW-1 \x1b]0;pwned\x07 fake\rline\x1b[2J \x1b[32mok\x1b[0m\ttab\n")
    assert raw.getvalue() == "GROW-1 \\u001b]0;pwned\\u0007 fake\\u000dline\\u001b[2J \x1b[32mok\x1b[0m\ttab\n"
    # In a JSON log line the escape is JSON's own: the line still parses, the DEL shown.
    raw.seek(0)
    raw.truncate()
    out.write(json.dumps({"event": "x", "title": "a\x7fb"}) + "\n")
    assert json.loads(raw.getvalue())["title"] == "a\x7fb"
