"""Streams and messages as a hostile user meets them (issue 21), each run
from the outside: a closed or full stdout, `init --out` where it cannot
write, a YAML alias bomb, and the temp files a killed xlsx save leaves."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connectors.xlsx.book import save_replacing

from .conftest import ROOT
from .test_fleet import write_workspace as write_in


def write_workspace(tmp_path: Path, stem: str, **over) -> Path:
    """A workspace config in tmp_path/ws whose workbook is tmp_path/out/STEM.xlsx."""
    (tmp_path / "ws").mkdir(exist_ok=True)
    return write_in(tmp_path / "ws", stem, **over)

DEMO_EXPORT = ROOT / "config/demo/jira-search.json"
needs_dev_full = pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")


def cli(*args: str, stdout=subprocess.PIPE, cwd=ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sync", *args], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, cwd=cwd, timeout=timeout)


def closed_stdout(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    """`align-sync ARGS >&-`: the process starts with fd 1 closed."""
    return subprocess.run(["sh", "-c", '"$0" -m sync "$@" >&-', sys.executable, *args],
                          stderr=subprocess.PIPE, text=True, cwd=cwd, timeout=120)


@pytest.mark.slow
def test_a_closed_stdout_still_syncs_without_a_traceback(tmp_path):
    config = write_workspace(tmp_path, "team")
    done = closed_stdout("run", "--once", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "isatty" not in done.stderr
    assert (tmp_path / "out" / "team.xlsx").exists()


@pytest.mark.slow
@needs_dev_full
def test_a_full_stdout_does_not_fail_the_sync_and_is_said_once(tmp_path):
    config = write_workspace(tmp_path, "team")
    with open("/dev/full", "w") as full:
        done = cli("run", "--once", "--config", str(config), stdout=full)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("cannot write to stdout (No space left on device)") == 1
    assert "Traceback" not in done.stderr
    assert (tmp_path / "out" / "team.xlsx").exists()


@pytest.mark.slow
@needs_dev_full
def test_init_to_a_full_stdout_reports_the_file_it_wrote(tmp_path):
    with open("/dev/full", "w") as full:
        done = cli("init", "--path", str(DEMO_EXPORT), "--out", str(tmp_path / "team.yaml"), stdout=full)
    assert done.returncode == 0, done.stderr          # was: 1, although the file was written
    assert (tmp_path / "team.yaml").exists()
    assert "cannot write to stdout" in done.stderr


@pytest.mark.slow
def test_init_out_onto_a_folder_or_where_it_cannot_write_names_the_target(tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    done = cli("init", "--path", str(DEMO_EXPORT), "--out", str(folder), "--force")
    assert done.returncode == 2
    assert f"--out {folder}: is a folder" in done.stderr and ".tmp" not in done.stderr
    done = cli("init", "--path", str(DEMO_EXPORT), "--out", "/proc/align-sync.yaml")
    assert done.returncode == 2 and "--out /proc/align-sync.yaml: cannot write in /proc" in done.stderr
    assert ".align-sync" not in done.stderr.replace("align-sync.yaml", "")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_init_out_into_a_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        done = cli("init", "--path", str(DEMO_EXPORT), "--out", str(folder / "a.yaml"))
    finally:
        folder.chmod(0o755)
    assert done.returncode == 2 and f"--out {folder / 'a.yaml'}: cannot write in {folder}" in done.stderr


@pytest.mark.slow
def test_a_yaml_alias_bomb_is_refused_fast(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    done = cli("check", "--config", str(bomb), timeout=60)
    assert done.returncode == 2
    assert f"{bomb}: the YAML expands to over 200,000 values through its aliases" in done.stderr
    assert time.monotonic() - started < 30          # a deadline, not a benchmark: it used to hang
    looped = tmp_path / "loop.yaml"
    looped.write_text("a: &a [1, *a]\n")
    done = cli("check", "--config", str(looped))
    assert done.returncode == 2 and "contains itself" in done.stderr


@pytest.mark.slow
def test_ordinary_aliases_still_work(tmp_path):
    config = write_workspace(tmp_path, "team")
    text = config.read_text().replace("outcomes:", "x-defaults: &lever {impact: 5, effort: 2}\noutcomes:", 1)
    config.write_text(text)
    done = cli("check", "--config", str(config))
    assert "expands" not in done.stderr and "x-defaults: unknown key" in done.stderr    # read, then validated


def test_a_killed_saves_temp_files_are_removed_by_the_next_save(tmp_path):
    target = tmp_path / "out" / "team.xlsx"
    target.parent.mkdir()
    left = [target.parent / ".team.xlsx.k1ll3d.tmp", target.parent / ".team.xlsx.abc123.tmp"]
    for path in left:
        path.write_bytes(b"half a workbook")
        os.utime(path, (time.time() - 7200, time.time() - 7200))   # untouched since the kill
    other = target.parent / ".other.xlsx.abc.tmp"          # another workbook's: not ours to remove
    other.write_bytes(b"x")
    save_replacing(target, "sink xlsx", lambda tmp: Path(tmp).write_bytes(b"new"))
    assert target.read_bytes() == b"new"
    assert not any(p.exists() for p in left) and other.exists()


@pytest.mark.slow
def test_the_next_sync_removes_what_a_killed_sync_left(tmp_path):
    config = write_workspace(tmp_path, "team")
    (tmp_path / "out").mkdir()
    stale = tmp_path / "out" / ".team.xlsx.x7q2.tmp"
    stale.write_bytes(b"cut short by kill -9")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))     # untouched since the kill
    done = cli("run", "--once", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert not stale.exists() and (tmp_path / "out" / "team.xlsx").exists()
