"""A folder of workspace configs (`--workspaces DIR`): which files are
workspaces, which are skipped and why, and which workspaces may not run side
by side.

Every `*.yaml` and `*.yml` file is a workspace.  A file that cannot be one (a
broken link, a folder, an unreadable file) is named with the reason, never
dropped in silence.  Two workspaces that share a name, a state file or a sink
would race on one lock, mix one History and hide each other in the logs and
`/healthz`: both files are named and neither runs.
"""
from __future__ import annotations

import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sync.core.errors import AlignSyncError, ConfigError, describe
from sync.worker.workspace import Process, Workspace

SUFFIXES = (".yaml", ".yml")


@dataclass
class Listing:
    """The configs of a folder: the files to load (with their mtimes) and the ones skipped."""
    files: dict[Path, float]
    skipped: list[tuple[Path, str]]       # (file, why it is not a workspace)


def listing(folder: Path) -> Listing:
    """One directory read and one stat per config: the daemon looks every tick."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        raise ConfigError(f"--workspaces {folder}: no such folder") from None
    except NotADirectoryError:
        raise ConfigError(f"--workspaces {folder}: not a folder") from None
    except OSError as exc:
        raise ConfigError(f"--workspaces {folder}: cannot read the folder ({exc.strerror})") from None
    files, skipped = {}, []
    for entry in entries:
        if not entry.name.endswith(SUFFIXES):
            continue
        path = Path(folder) / entry.name
        try:
            st = entry.stat()
        except FileNotFoundError:
            if entry.is_symlink():
                skipped.append((path, f"a broken link (to {os.readlink(path)})"))
            continue                       # else: removed since the directory was read
        except OSError as exc:
            skipped.append((path, f"unreadable ({exc.strerror})"))
            continue
        if stat.S_ISDIR(st.st_mode):
            skipped.append((path, "a folder, not a config file"))
        elif not stat.S_ISREG(st.st_mode):
            skipped.append((path, "not a regular file"))
        else:
            files[path] = st.st_mtime
    return Listing(files, skipped)


def clashes(workspaces: list[Workspace]) -> dict[Path, list[str]]:
    """For each workspace that shares a name, a state file or a sink with
    another: the sentences naming both files and what they share."""
    first: dict[tuple[str, str], Path] = {}
    found: dict[Path, list[str]] = {}
    for ws in workspaces:
        for what, value in ws.claims:
            other = first.setdefault((what, value), ws.path)
            if other == ws.path:
                continue
            line = f"{other} and {ws.path} share the {what} {value}; neither runs"
            for path in (other, ws.path):
                if line not in found.setdefault(path, []):
                    found[path].append(line)
    return found


CLASH_HINT = "give each workspace its own `name:` (or file name), `state:` and sink"


def empty(folder: str | Path, skipped: list[tuple[Path, str]]) -> ConfigError:
    files = "".join(f"\n  skipped {p}: {why}" for p, why in skipped)
    return ConfigError(f"--workspaces {folder}: no workspace configs (*.yaml or *.yml) in it{files}",
                       hint="put one config file per workspace in the folder")


@dataclass
class Loaded:
    """A folder, loaded: the workspaces that may run and every file that may not."""
    workspaces: list[Workspace] = field(default_factory=list)
    invalid: list[tuple[Path, str]] = field(default_factory=list)    # (file, its config problem)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    clashing: dict[Path, str] = field(default_factory=dict)


def load(folder: str | Path, process: Process, **workspace_options) -> Loaded:
    """Open every workspace of the folder (no lock taken); a folder with no
    config at all, or with workspaces that clash, is a config error."""
    found = listing(Path(folder))
    if not found.files:
        raise empty(folder, found.skipped)
    loaded = Loaded(skipped=found.skipped)
    for path in found.files:
        try:
            loaded.workspaces.append(Workspace(path, process, **workspace_options))
        except AlignSyncError as exc:
            loaded.invalid.append((path, process.redactor(describe(exc))))
    clashing = clashes(loaded.workspaces)
    if clashing:
        raise refused(folder, [line for sentences in clashing.values() for line in sentences])
    return loaded


def refused(folder: str | Path, sentences: list[str]) -> ConfigError:
    """The error of a folder whose workspaces clash: every pair, once."""
    problems = [f"--workspaces {folder}: {line}" for line in sorted(set(sentences))]
    problems[-1] += f" ({CLASH_HINT})"
    return ConfigError(problems[0], problems=problems)


def named(loaded: Loaded) -> list[tuple[Path, Workspace | None, str]]:
    """Every file of a loaded folder in name order: (file, its workspace or
    None, why it does not run)."""
    rows = [(ws.path, ws, "") for ws in loaded.workspaces]
    rows += [(p, None, why) for p, why in loaded.invalid]
    rows += [(p, None, f"skipped: {why}") for p, why in loaded.skipped]
    return sorted(rows, key=lambda row: str(row[0]))


def run_once(folder: str, process: Process, *, dry_run: bool = False, force: bool = False,
             show: Callable[[Workspace, object], None] | None = None, slots: int = 2) -> int:
    """Every workspace once, `slots` at a time; exit 1 when any failed, could
    not be loaded or was skipped (each is named, as a person's line: on
    stderr when stdout is the JSON log), else 0.  `show`: prints a dry run's
    result for one workspace."""
    loaded = load(folder, process)
    now = datetime.now(timezone.utc)

    def one(ws: Workspace) -> tuple[object, str]:
        try:
            return ws.sync_once(now, dry_run=dry_run, force=force), ""
        except Exception as exc:                  # a bug in one must not stop the others
            return None, process.redactor(describe(exc))

    with ThreadPoolExecutor(max_workers=slots) as pool:
        results = dict(zip([ws.path for ws in loaded.workspaces], pool.map(one, loaded.workspaces)))
    failed = 0
    for path, ws, why in named(loaded):
        result, error = results.get(path, (None, why))
        name = ws.name if ws else path.stem
        if error or result is None:
            failed += 1
            if error.startswith("skipped:"):
                process.say(f"skip  {path}: {error.removeprefix('skipped: ')}")
            else:
                process.say(f"FAIL  workspace {name}: {error}")
        elif dry_run and show is not None:
            show(ws, result)
        else:
            process.say(f"ok    workspace {name}: {'dry run done' if dry_run else f'{result.tickets} tickets'}")
    return 1 if failed else 0


def each(folder: str, process: Process, command: Callable[[Workspace], int], **options) -> int:
    """`check` or `review` on every workspace of the folder, under a header
    naming it; a file that is no workspace is named and makes the exit 2."""
    loaded = load(folder, process, **options)
    code = 0
    for path, ws, why in named(loaded):
        heading(process, ws.name if ws else path.stem, path)
        if ws is None:
            problem(process, f"config {path}", why)
            code = 2
            continue
        try:
            code = max(code, command(ws))
        except AlignSyncError as exc:
            problem(process, f"workspace {ws.name}", process.redactor(describe(exc)))
            code = max(code, exc.exit_code)
    return code


def heading(process: Process, name: str, path: Path) -> None:
    """The line before one workspace's output (a JSON line under --log-format json)."""
    if process.json_asked:
        print(json.dumps({"event": "workspace", "workspace": name, "config": str(path)}))
    else:
        print(f"== workspace {name} ({path})")


def problem(process: Process, what: str, why: str) -> None:
    if process.json_asked:
        print(json.dumps({"event": "check", "ok": False, "what": what, "problem": why}))
    else:
        print(f"FAIL  {what}: {why}")
