"""What each `align-sync` command does (README's command table), on the
parsed arguments, and the one place where errors become messages and exit
codes: 0 success, 2 bad config or usage, 1 a failed sync.  Everything below
raises; nothing below prints a traceback.  When the log is JSON lines (a
pipe, a service, `--log-format json`), stdout carries JSON lines only: a
person's line goes to stderr.

`sync.cli.main` imports this module once the arguments parse, so that
`--version`, `--help` and a usage error answer without loading it.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone

import yaml

from sync.cli import console
from sync.core.errors import AlignSyncError, ConfigError, describe
from sync.core.present import review
from sync.core.present.review_text import render_text
from sync.drafting import placeholders
from sync.worker import configfile
from sync.worker import log as logsetup
from sync.worker.engine import deliver
from sync.worker.intake import take_in
from sync.worker.progress import Progress
from sync.worker.runtime import DEFAULT_RETRY, PROBE_RETRY
from sync.worker.serve import daemon, fleet, folder
from sync.worker.serve.roster import FolderRoster, Roster
from sync.worker.workspace import Process, Workspace


def _now() -> datetime:
    return datetime.now(timezone.utc)


def open_workspace(path: str, process: Process, retry=DEFAULT_RETRY) -> Workspace:
    return Workspace(path, process, retry=retry)


def cmd_run(args, path: str, process: Process) -> int:
    if args.dry_run and not args.once:
        raise ConfigError("--dry-run goes with --once", hint="align-sync run --once --dry-run")
    if not args.once:
        # The daemon: a fleet of every workspace of the folder, or of this one.
        roster = FolderRoster(args.workspaces, process) if args.workspaces \
            else Roster([open_workspace(path, process)])
        return daemon.serve(roster, health_port=args.health_port, force=args.force)
    # Once: each workspace's Workspace.sync_once, as the daemon runs it.
    if args.workspaces:
        return folder.run_once(args.workspaces, process, dry_run=args.dry_run, force=args.force,
                               slots=fleet.concurrency(),
                               show=lambda ws, result: show_dry_run(args, process, result, ws))
    ws = open_workspace(path, process)
    # A one-off sync must not race a daemon (or a timer run) on the same state.
    with daemon.stopping_once(ws.request_stop):
        result = ws.sync_once(_now(), dry_run=args.dry_run, force=args.force)
    args.keep.append(result)      # 100k tickets' results: freed by the exit, not one by one here
    if args.dry_run:
        show_dry_run(args, process, result)
    else:
        process.say(synced_line(result, ws))
    return 0


def show_dry_run(args, process, result, ws=None) -> None:
    """A dry run's summary; with --workspaces, under the workspace's heading."""
    if process.json_asked:
        data = console.summary_data(result.assessment, result.report)
        if result.label_writes:                # source.writeback: what a real sync would add
            data["label_writes"] = [w.describe() for w in result.label_writes]
        print(json.dumps(dict(data, workspace=ws.name) if ws else data, default=str))
        return
    if ws is not None:
        folder.heading(process, ws.name, ws.path)
    print(console.summary(result.assessment, result.report, every=args.every))
    for write in result.label_writes:          # source.writeback: what a real sync would add
        print(f"would {write.describe()}")


def synced_line(result, ws: Workspace) -> str:
    return console.synced(result.assessment, result.tickets, result.seconds, ws.sink.location)


def cmd_check(args, path: str, process) -> int:
    if args.workspaces:
        return folder.each(args.workspaces, process, lambda ws: print_check(ws, str(ws.path)),
                           retry=PROBE_RETRY)
    ws = open_workspace(path, process, retry=PROBE_RETRY)     # a probe should answer fast
    return print_check(ws, path)


def print_check(ws, path) -> int:
    config = ws.config
    say = console.check_line(ws.process.json_asked)
    say(None, f"config {path}: {console.plural(len(config.outcomes), 'outcome')}, "
              f"{console.plural(len(config.levers()), 'lever')}")
    left = placeholders.find(ws.path.read_text(encoding="utf-8-sig"))
    for line, key, problem in left:
        say(problem, f"config {path}:{line}: {key}")
    failed = 0
    for line, problem in ws.check(_now()):
        failed += problem is not None
        say(problem, line)
    # A draft still holding placeholders is a config to finish: exit 2, as for any bad config.
    return 2 if left else 1 if failed else 0



def _assess(ws, keep: list | None):
    """What a sync would find now, by the sync's own intake (the metric
    sources and the sheet's choices included); nothing is written.  Left
    in `keep` (one workspace, once: see main.entry), the exit frees it."""
    state = ws.state(readonly=True)
    try:
        seen = take_in(ws.setup, state, ws.config.scoring_time(_now()))
    finally:
        state.close()
    seen.inputs.basis = None      # what a write would build on is not kept
    if keep is not None:
        keep.append(seen)
    return seen


def cmd_review(args, path: str, process) -> int:
    if args.workspaces:
        return folder.each(args.workspaces, process, lambda ws: review_one(args, str(ws.path), ws))
    return review_one(args, path, open_workspace(path, process))


def review_one(args, path: str, ws) -> int:
    process = ws.process
    sheet = ws.sink.location
    if args.print_:
        seen = _assess(ws, args.keep)
        a = seen.assessment
        if "://" not in sheet and not os.path.exists(sheet):
            sheet = ""            # no workbook yet: name none (the first sync writes it)
        state = ws.state(readonly=True)
        try:
            print(render_text(review.preview(state, a, a.now, seen.inputs.history), sheet), end="")
        finally:
            state.close()
        return 0
    if not ws.notifiers:
        raise ConfigError(f"{path}: review.notify: no targets to send to",
                          hint="add a slack, teams or email target (docs/config.md)")
    lock = ws.lock()
    state = ws.state()
    try:
        pending, todo = review.undelivered(state, [n.id for n in ws.notifiers])
        if pending is None or not todo:
            # Nothing waiting: the digest of the current period, as a new review.
            seen = _assess(ws, args.keep)
            fresh = review.preview(state, seen.assessment, seen.assessment.now, seen.inputs.history)
            state.put(review.KEY, "pending", fresh.to_json())
        failed = deliver(state, ws.notifiers, ws.sink)
    finally:
        state.close()
        lock.release()
    # Beside the JSON log (a pipe), these lines for a person go to stderr.
    for line in failed:
        process.say(f"FAIL  {process.redactor(line)}")
    sent = len(ws.notifiers) - len(failed)
    process.say(f"review delivered to {sent} of {len(ws.notifiers)} targets")
    return 1 if failed else 0


def cmd_explain(args, path: str, process) -> int:
    ws = open_workspace(path, process)
    seen = _assess(ws, args.keep)
    a = seen.assessment
    found = a.find(args.key)
    if found is None:
        raise ConfigError(f"no ticket {args.key!r} in the configured sources "
                          f"({len(seen.tickets)} tickets fetched)")
    print(console.explain(a, found))
    return 0


def cmd_auth(args, path: str, process) -> int:
    # No display (a server, a container): print the address and read back the code.
    desktop = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or \
        sys.platform == "darwin" or os.name == "nt"
    browser = not args.no_browser and bool(desktop)
    from connectors.sheets.consent import consent  # lazy: Google's consent flow, for `auth` alone
    written = consent(args.client_secrets, args.out, browser=browser)
    print(f"wrote {written} (readable by you alone)\n"
          f"use it with:  sink: {{auth: {{authorized_user: {written}}}}}\n"
          "then share the spreadsheet, as Editor, with the Google account you signed in with")
    return 0


def cmd_init(args, path: str, process) -> int:
    from sync.drafting import starter  # lazy: drafting a config, for `init` alone
    return starter.run(args, process, _now())


def cmd_suggest(args, path: str, process) -> int:
    if args.top < 1:
        raise ConfigError(f"--top {args.top}: expected a number of 1 or more")
    from sync.drafting import suggestions  # lazy: lever proposals, for `suggest` alone
    ws = open_workspace(path, process)
    a = _assess(ws, args.keep).assessment
    proposals = suggestions.propose(a, ws.config, args.top)
    hand = suggestions.from_sheet(a, ws.config)[:args.top]      # what people set in the sheet
    unmapped = len(a.unmapped_active())
    if args.format == "yaml":
        print(yaml.safe_dump([p.as_data() for p in proposals] + [h.as_data() for h in hand],
                             sort_keys=False, allow_unicode=True, width=1000), end="")
        if not proposals:
            print(_nothing(a, unmapped), file=sys.stderr)
        return 0
    print(suggestions.render_table(proposals, unmapped) if proposals else _nothing(a, unmapped))
    if hand:
        print("\n" + suggestions.render_sheet(hand))
    return 0


def _nothing(a, unmapped: int) -> str:
    if not unmapped:
        return f"nothing to suggest: every one of the {len(a.active)} active tickets is mapped"
    return (f"nothing to suggest: the {unmapped} unmapped active tickets share no label, "
            "component, epic or title word; map them with tags (lever:ID) or by hand")


def run(args, quiet: bool) -> int:
    """The parsed command, run; its exit code.  `quiet`: only problems are logged."""
    path = getattr(args, "config", None) or configfile.default_path()
    console_log = logsetup.console_wanted(getattr(args, "log_format", None))
    # Asked for by name, JSON covers a command's own output too (a dry run's
    # summary, `check`'s lines); a pipe alone gets them as text, for reading.
    process = Process(progress=Progress(enabled=console_log), json_lines=not console_log,
                      json_asked=getattr(args, "log_format", None) == "json")
    # A dry run, `check` and `explain` print for a person: only problems are logged.
    logsetup.configure(process.redactor, json_lines=not console_log,
                       level=logging.WARNING if quiet else logging.INFO)
    handlers = {"run": cmd_run, "check": cmd_check, "explain": cmd_explain, "review": cmd_review,
                "init": cmd_init, "suggest": cmd_suggest, "auth": cmd_auth}
    try:
        return handlers[args.command](args, path, process)
    except AlignSyncError as exc:
        print(f"align-sync: {process.redactor(describe(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: say so in one line (the trace is in the log)
        print(f"align-sync: {process.redactor(describe(exc))}", file=sys.stderr)
        return 1
