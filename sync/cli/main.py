"""The `align-sync` command (README's command table) and the one place
where errors become messages and exit codes: 0 success, 2 bad config or
usage, 1 a failed sync.  Everything below raises; nothing below prints a
traceback.  When the log is JSON lines (a pipe, a service, `--log-format
json`), stdout carries JSON lines only: a person's line goes to stderr.
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version

import yaml

from connectors.sheets.consent import consent
from sync.cli import console
from sync.core.assess.assessment import assess
from sync.core.errors import AlignSyncError, ConfigError, describe
from sync.core.present import review
from sync.core.present.review_text import render_text
from sync.drafting import placeholders, starter, suggestions
from sync.worker import configfile, done_stamps
from sync.worker import log as logsetup
from sync.worker.engine import choices_of, deliver, fetch_all, source_notices
from sync.worker.progress import Progress
from sync.worker.runtime import DEFAULT_RETRY, PROBE_RETRY
from sync.worker.serve import daemon, folder
from sync.worker.serve.roster import FolderRoster, Roster
from sync.worker.workspace import Process, Workspace


def _port(text: str) -> int:
    """--health-port: a TCP port, refused by argparse (exit 2, naming the flag) otherwise."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {text!r}")
    return port


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS,
                        help="config file (default: $ALIGN_SYNC_CONFIG, else align-sync.yaml)")
    common.add_argument("--log-format", choices=("json", "console"), default=argparse.SUPPRESS,
                        help="log lines as JSON (default when stdout is not a terminal) or for "
                             "reading (default on a terminal)")
    p = argparse.ArgumentParser(prog="align-sync", parents=[common],
                                description="Keep a sheet of how well tickets serve outcomes.")
    p.add_argument("--version", action="version", version=f"align-sync {_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", parents=[common], help="sync now, then on the schedule")
    run.add_argument("--once", action="store_true", help="one sync, then exit")
    run.add_argument("--dry-run", action="store_true", help="fetch, map, score and print; write nothing")
    run.add_argument("--all", action="store_true", dest="every",
                     help="with --dry-run: list every warning, not only the first ones")
    run.add_argument("--force", action="store_true",
                     help="write even when the ticket count dropped to zero or under half")
    run.add_argument("--health-port", type=_port, default=None, metavar="PORT",
                     help="serve /healthz, /livez and /metrics on this port (1-65535)")
    run.add_argument("--workspaces", metavar="DIR", default=None,
                     help="serve every *.yaml and *.yml in DIR as one workspace (instead of --config)")
    check = sub.add_parser("check", parents=[common], help="validate the config and probe every service")
    check.add_argument("--workspaces", metavar="DIR", default=None,
                       help="check every *.yaml and *.yml in DIR")
    rv = sub.add_parser("review", parents=[common], help="the review digest of the current period")
    mode = rv.add_mutually_exclusive_group(required=True)
    mode.add_argument("--print", action="store_true", dest="print_", help="show it here, change nothing")
    mode.add_argument("--send", action="store_true", help="deliver it now to every target not yet reached")
    rv.add_argument("--workspaces", metavar="DIR", default=None,
                    help="the review of every *.yaml and *.yml in DIR")
    ex = sub.add_parser("explain", parents=[common], help="why one ticket is mapped and scored as it is")
    ex.add_argument("key")
    init = sub.add_parser("init", parents=[common], help="draft a starter config from the tracker")
    init.add_argument("--source", choices=("jira", "trello", "file"), default=None,
                      help="where the tickets are (default: file with --path, trello with "
                           "--board, else jira)")
    init.add_argument("--url", help="Jira base URL (with --source jira; for links of a file)")
    init.add_argument("--jql", help="the Jira query whose tickets the team works on")
    init.add_argument("--board", action="append", help="a Trello board name or id (repeatable)")
    init.add_argument("--path", help="an export: Jira search JSON, Trello board JSON or Jira CSV")
    init.add_argument("--sink", choices=("xlsx", "google_sheets"), default="xlsx")
    init.add_argument("--out", default="align-sync.yaml", help="the file to write")
    init.add_argument("--force", action="store_true", help="replace --out if it exists")
    sg = sub.add_parser("suggest", parents=[common], help="propose rules for the unmapped work")
    sg.add_argument("--top", type=int, default=10, help="how many proposals (default 10)")
    sg.add_argument("--format", choices=("table", "yaml"), default="table",
                    help="yaml: only a list a script can apply")
    au = sub.add_parser("auth", parents=[common], help="sign in to a service once and keep the grant")
    au_sub = au.add_subparsers(dest="service", required=True)
    google = au_sub.add_parser("google", parents=[common],
                               help="consent with your Google account; writes an authorized_user file")
    google.add_argument("--client-secrets", required=True, metavar="FILE",
                        help="the JSON of an OAuth client of type Desktop app")
    google.add_argument("--out", default="~/.config/align-sync/google-user.json", metavar="FILE",
                        help="where to write the credential (mode 0600; default %(default)s)")
    google.add_argument("--no-browser", action="store_true",
                        help="print the address to open elsewhere and read back the code")
    return p


def _version() -> str:
    try:
        return version("align-sync")
    except PackageNotFoundError:          # run from a checkout that was never installed
        return "unknown (not installed)"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def open_workspace(path: str, process: Process, retry=DEFAULT_RETRY) -> Workspace:
    return Workspace(path, process, retry=retry)


def cmd_run(args, path: str, process: Process) -> int:
    if args.dry_run and not args.once:
        raise ConfigError("--dry-run goes with --once", hint="align-sync run --once --dry-run")
    if args.workspaces and args.once:
        return folder.run_once(args.workspaces, process, dry_run=args.dry_run, force=args.force,
                               slots=folder.concurrency(),
                               show=lambda ws, result: show_dry_run(args, process, result, ws))
    if not args.once:
        # The daemon: a fleet of every workspace of the folder, or of this one.
        roster = FolderRoster(args.workspaces, process) if args.workspaces \
            else Roster([open_workspace(path, process)])
        return daemon.serve(roster, health_port=args.health_port, force=args.force)
    ws = open_workspace(path, process)
    # A one-off sync must not race a daemon (or a timer run) on the same state.
    result = ws.sync_once(_now(), dry_run=args.dry_run, force=args.force)
    if args.dry_run:
        show_dry_run(args, process, result)
    else:
        process.say(synced_line(result, ws.sink))
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


def synced_line(result, sink) -> str:
    return console.synced(result.assessment, result.tickets, result.seconds, sink.location)


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



def _assess(ws, keep: list | None = None):
    """The assessment a sync would make now (and its tickets); `keep`, when
    given, receives the sheet's inputs (History, for the review)."""
    state = ws.state(readonly=True)
    try:
        tickets, _ = fetch_all(ws.sources, state, _now())
        tickets = done_stamps.stamp(tickets, state, ws.config.scoring_time(_now()))
        inputs = ws.sink.read()
        chosen = choices_of(inputs, state)       # the sheet's Set lever choices count here too
    finally:
        state.close()
    if keep is not None:
        keep.append(inputs)
    now = ws.config.scoring_time(_now())
    return assess(tickets, ws.config, inputs.readings, now, metric_problems=inputs.metric_problems,
                  choices=chosen, source_problems=source_notices(ws.sources),
                  workspace=ws.name), tickets


def cmd_review(args, path: str, process) -> int:
    if args.workspaces:
        return folder.each(args.workspaces, process, lambda ws: review_one(args, str(ws.path), ws))
    return review_one(args, path, open_workspace(path, process))


def review_one(args, path: str, ws) -> int:
    process = ws.process
    sheet = ws.sink.location
    if args.print_:
        inputs: list = []
        a, _ = _assess(ws, inputs)
        if "://" not in sheet and not os.path.exists(sheet):
            sheet = ""            # no workbook yet: name none (the first sync writes it)
        state = ws.state(readonly=True)
        try:
            print(render_text(review.preview(state, a, a.now, inputs[0].history), sheet), end="")
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
            inputs = []
            a, _ = _assess(ws, inputs)
            fresh = review.preview(state, a, a.now, inputs[0].history)
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
    a, tickets = _assess(ws)
    found = a.find(args.key)
    if found is None:
        raise ConfigError(f"no ticket {args.key!r} in the configured sources "
                          f"({len(tickets)} tickets fetched)")
    print(console.explain(a, found))
    return 0


def cmd_auth(args, path: str, process) -> int:
    # No display (a server, a container): print the address and read back the code.
    desktop = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or \
        sys.platform == "darwin" or os.name == "nt"
    browser = not args.no_browser and bool(desktop)
    written = consent(args.client_secrets, args.out, browser=browser)
    print(f"wrote {written} (readable by you alone)\n"
          f"use it with:  sink: {{auth: {{authorized_user: {written}}}}}\n"
          "then share the spreadsheet, as Editor, with the Google account you signed in with")
    return 0


def cmd_init(args, path: str, process) -> int:
    return starter.run(args, process, _now())


def cmd_suggest(args, path: str, process) -> int:
    if args.top < 1:
        raise ConfigError(f"--top {args.top}: expected a number of 1 or more")
    ws = open_workspace(path, process)
    a, _ = _assess(ws)
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


def main(argv: list[str] | None = None) -> int:
    restore_streams = logsetup.guard_streams()    # a closed or full stdout stops nothing
    try:
        return _main(argv)
    finally:
        sys.stdout.flush()
        restore_streams()


def _main(argv: list[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    path = getattr(args, "config", None) or configfile.default_path()
    quiet = args.command != "run" or args.dry_run
    collecting = gc.isenabled()
    if (args.command != "run" or args.once) and not getattr(args, "workspaces", None):
        # One workspace, once: the collector would walk every ticket of the
        # sync again (0.5 s at 100k) for cycles the exit frees anyway.
        gc.disable()
    console = logsetup.console_wanted(getattr(args, "log_format", None))
    # Asked for by name, JSON covers a command's own output too (a dry run's
    # summary, `check`'s lines); a pipe alone gets them as text, for reading.
    process = Process(progress=Progress(enabled=console), json_lines=not console,
                      json_asked=getattr(args, "log_format", None) == "json")
    # A dry run, `check` and `explain` print for a person: only problems are logged.
    logsetup.configure(process.redactor, json_lines=not console,
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
    finally:
        if collecting:
            gc.enable()          # main() is also called in-process (tests)


def entry() -> int:
    """The console script: `main`, then out without tearing down the heap.
    A one-off sync leaves millions of objects (100k tickets, their results
    and rows) that the interpreter would free one by one at exit, 0.5 s for
    nothing; state is committed and closed, and the output is flushed here."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is None:         # closed by the caller
                continue
            stream.flush()
        except (OSError, ValueError):  # said on stderr when it failed; the exit code is the command's
            pass
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(entry())
