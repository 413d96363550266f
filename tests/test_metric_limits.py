"""A metric source's bounds and secrets (testers' findings): a download that
trickles stops at one deadline for the whole of it, a local "file" that never
ends (a device, a FIFO) is refused unread, a database URL SQLAlchemy cannot
split is said without any part of it, and a SQLite path taken from ${ENV}
never shows in `check`."""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from connectors.metrics import csvjson
from connectors.metrics.csvjson import FileMetrics, FileMetricsConfig
from sync.cli.main import main
from sync.core.errors import ConfigError, DataError, Interrupted, RemoteError
from sync.core.redact import REDACTED
from sync.worker import configfile
from sync.worker.runtime import Runtime

from .conftest import base_config

ROWS = 8                # what the trickling server sends at most: 4 s, a bound if nothing stops it


@pytest.fixture
def trickle():
    """A server on 127.0.0.1 that sends its headers at once, then one CSV row
    every 0.5 s (`/trickle`; `/fast`: every 0.05 s), or nothing at all
    (`/silent`), for at most 4 s;
    with or without a Content-Length (`?length`): the body ends either at
    that length or when the connection closes."""
    stop = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            if self.path.startswith("/headers"):
                # The status line, then one header byte every 0.5 s: no read
                # waits long enough to time out.
                self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
                self.wfile.flush()
                while not stop.wait(0.5):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            rows = [f"2026-11-{d:02d},trial_rate,{d}\n".encode() for d in range(1, ROWS + 1)]
            if self.path.endswith("?length"):
                self.send_header("Content-Length", str(len(b"date,metric,value\n" + b"".join(rows))))
            self.end_headers()
            self.wfile.write(b"date,metric,value\n")
            self.wfile.flush()
            for row in rows:
                if stop.wait(0.05 if "/fast" in self.path else 0.5):
                    return
                if not self.path.startswith("/silent"):
                    self.wfile.write(row)
                    self.wfile.flush()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        stop.set()
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()


@pytest.mark.parametrize("path", ["/trickle", "/trickle?length", "/silent", "/silent?length", "/headers"])
def test_a_download_that_trickles_stops_at_its_deadline(trickle, monkeypatch, path):
    # (a read timeout bounds each socket read: a row every 0.5 s never trips it)
    monkeypatch.setattr(csvjson, "DOWNLOAD_SECONDS", 1.0, raising=False)
    source = FileMetrics(FileMetricsConfig(name="m", type="csv", url=trickle + path), runtime=Runtime())
    started = time.monotonic()
    with pytest.raises(RemoteError) as err:
        source.read(date.today())
    took = time.monotonic() - started
    assert err.value.message == "metrics m: the download from 127.0.0.1 took longer than 1 s; stopped"
    assert 0.9 < took < 2.5, f"stopped after {took:.1f} s, not at the 1 s deadline"


@pytest.mark.parametrize("path", ["/trickle", "/headers"])
def test_a_stop_request_ends_a_slow_download_at_once(trickle, path):
    """A retester's finding: Ctrl-C during a slow metric download waited out
    its 30 s deadline and the sync went on to write."""
    runtime = Runtime()
    source = FileMetrics(FileMetricsConfig(name="m", type="csv", url=trickle + path), runtime=runtime)
    timer = threading.Timer(0.5, runtime.stop.set)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(Interrupted, match="^interrupted: metrics m: the download from 127.0.0.1"):
            source.read(date.today())
    finally:
        timer.cancel()
    assert time.monotonic() - started < 3


def test_check_says_which_source_took_too_long(trickle, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(csvjson, "DOWNLOAD_SECONDS", 1.0, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.json").write_text('{"issues": []}')
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(base_config(metrics=[
        {"name": "bi", "type": "csv", "url": trickle + "/trickle"}])))
    started = time.monotonic()
    assert main(["check", "--config", str(path)]) == 1
    assert time.monotonic() - started < 5
    said = ("FAIL  metrics bi: the download from 127.0.0.1 took longer than 1 s; stopped (the server "
            "sends it too slowly: serve the file faster, or make it smaller)")
    assert said in capsys.readouterr().out.splitlines()


def test_a_download_within_its_deadline_is_read_whole(trickle, monkeypatch):
    monkeypatch.setattr(csvjson, "DOWNLOAD_SECONDS", 10.0, raising=False)
    source = FileMetrics(FileMetricsConfig(name="m", type="csv", url=trickle + "/fast?length"),
                         runtime=Runtime())
    assert len(source.read(date.today())) == ROWS


@pytest.mark.parametrize("what", ["fifo", "/dev/zero", "folder"])
def test_a_local_path_that_is_not_a_regular_file_is_refused_unread(tmp_path, what):
    # (/dev/zero read whole ran the process out of memory; a FIFO waits for a writer forever)
    path = {"fifo": tmp_path / "kpi.csv", "/dev/zero": "/dev/zero", "folder": tmp_path}[what]
    if what == "fifo":
        os.mkfifo(path)
    source = FileMetrics(FileMetricsConfig(name="m", type="csv", url=str(path)), tmp_path)
    with pytest.raises(DataError) as err:
        source.read(date.today())
    assert err.value.message == (f"metrics m: {path} is not a regular file (a folder, device or pipe); "
                                 "give the path of a CSV or JSON file")


@pytest.mark.parametrize("size, said", [(2**20, "1 MB"), (1000, "1,000 bytes")])
def test_a_local_file_over_the_cap_is_refused_naming_the_source_and_the_limit(tmp_path, monkeypatch,
                                                                            size, said):
    monkeypatch.setattr(csvjson, "MAX_BYTES", size)
    (tmp_path / "kpi.csv").write_bytes(b"date,metric,value\n" + b"x" * size)
    source = FileMetrics(FileMetricsConfig(name="m", type="csv", url="kpi.csv"), tmp_path)
    with pytest.raises(DataError) as err:
        source.read(date.today())
    assert err.value.message == (f"metrics m: {tmp_path / 'kpi.csv'} is over the {said} limit for a "
                                 "metric file; not read")


def test_a_file_longer_than_its_size_says_is_refused_at_the_cap(monkeypatch):
    # A /proc file says 0 bytes and holds more, as a file growing after a look
    # at its size does: only what is read counts, never the size said.
    monkeypatch.setattr(csvjson, "MAX_BYTES", 1000)
    assert os.stat("/proc/self/maps").st_size == 0
    source = FileMetrics(FileMetricsConfig(name="m", type="csv", url="/proc/self/maps"))
    with pytest.raises(DataError, match="^metrics m: /proc/self/maps is over the 1,000 bytes limit"):
        source.read(date.today())


SQL = {"name": "wh", "type": "sql", "query": "SELECT day AS date, kpi AS metric, value FROM kpi"}


@pytest.mark.parametrize("password", ["p@ss:1234word", "p@ssword1234"])
def test_a_database_url_split_by_its_password_is_said_without_any_of_it(tmp_path, capsys, monkeypatch,
                                                                      password):
    # (was: `invalid literal for int() with base 10: '1234word@db.example.com:5432'`)
    monkeypatch.setenv("DB_PW", password)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(base_config(metrics=[
        {**SQL, "url": "postgresql+psycopg2://u:${DB_PW}@db.example.com:5432/x"}])))
    with pytest.raises(ConfigError) as err:
        configfile.load(path)
    assert err.value.problems == [
        f"{path}: metrics[0].url: not a database URL SQLAlchemy can read (dialect+driver:// then "
        "user:password@host:port/database, such as sqlite:///metrics.db); a password with @, : or / "
        "must be percent-encoded (%40, %3A, %2F)"]
    assert main(["check", "--config", str(path)]) == 2
    said = capsys.readouterr()
    assert "must be percent-encoded" in said.err
    for part in ("1234", "p@ss", "db.example.com", "int("):
        assert part not in said.out + said.err


def test_a_percent_encoded_password_is_a_url_sqlalchemy_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("DB_PW", "p%40ss%3A1234word")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(base_config(metrics=[
        {**SQL, "url": "postgresql+psycopg2://u:${DB_PW}@db.example.com:5432/x"}])))
    config, _ = configfile.load(path)
    from sqlalchemy.engine import make_url
    assert make_url(config.metrics[0].url).password == "p@ss:1234word"


def test_a_sqlite_path_from_the_environment_never_shows_in_check(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DB_PW2", "plainSECRETPW")
    (tmp_path / "x.json").write_text('{"issues": []}')
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(base_config(metrics=[{**SQL, "url": "sqlite:///${DB_PW2}.db"}])))
    assert main(["check", "--config", str(path)]) == 1                 # no such file yet
    out = capsys.readouterr().out
    assert f"FAIL  metrics wh: url: no SQLite file at {tmp_path}/{REDACTED}.db" in out.splitlines()
    with sqlite3.connect(tmp_path / "plainSECRETPW.db") as db:
        db.execute("CREATE TABLE kpi (day TEXT, kpi TEXT, value REAL)")
    db.close()
    main(["check", "--config", str(path)])
    out = capsys.readouterr().out
    assert f"ok    metrics wh: SQLite file {REDACTED}.db: the query compiles (it runs at the sync)" \
        in out.splitlines()
    assert "plainSECRETPW" not in out


def test_a_sqlite_url_whole_from_the_environment_never_shows_its_file(tmp_path, capsys, monkeypatch):
    """A retester's finding: `url: ${DBU}` (the whole URL from the
    environment) printed the SQLite file's path in clear."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DBU", f"sqlite:///{tmp_path}/secretwh_ZZ.db")
    (tmp_path / "x.json").write_text('{"issues": []}')
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(base_config(metrics=[{**SQL, "url": "${DBU}"}])))
    assert main(["check", "--config", str(path)]) == 1                 # no such file yet
    out = capsys.readouterr().out
    assert "secretwh_ZZ" not in out and f"FAIL  metrics wh: url: no SQLite file at /{REDACTED}" in out


def test_each_environment_value_of_a_secret_field_is_a_secret_on_its_own(tmp_path, monkeypatch):
    # (the whole value was known; a message showing one part of it was not caught)
    monkeypatch.setenv("TOKEN_ID", "idpart-4821")
    monkeypatch.setenv("TOKEN_KEY", "keypart-9377")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(base_config(source={
        "type": "jira", "url": "https://example.atlassian.net", "jql": "project = X",
        "auth": {"email": "a@example.com", "token": "${TOKEN_ID}.${TOKEN_KEY}"}})))
    _, secrets = configfile.load(path)
    assert {"idpart-4821", "keypart-9377", "idpart-4821.keypart-9377"} <= secrets
