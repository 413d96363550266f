"""The `align-sync` command (PRODUCT.md §2) and the one place where errors
become messages and exit codes: 0 success, 2 bad config or usage, 1 a
failed sync.  Everything below raises; nothing below prints a traceback.
"""
from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

from . import configfile, console, log as logsetup
from .errors import AlignSyncError, ConfigError, describe


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS,
                        help="config file (default: $ALIGN_SYNC_CONFIG, else align-sync.yaml)")
    p = argparse.ArgumentParser(prog="align-sync", parents=[common],
                                description="Keep a sheet of how well tickets serve outcomes.")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", parents=[common], help="sync now, then on the schedule")
    run.add_argument("--once", action="store_true", help="one sync, then exit")
    run.add_argument("--dry-run", action="store_true", help="fetch, map, score and print; write nothing")
    run.add_argument("--force", action="store_true",
                     help="write even when the ticket count dropped to zero or under half")
    run.add_argument("--health-port", type=int, default=None, help="serve /healthz and /metrics")
    sub.add_parser("check", parents=[common], help="validate the config and probe every service")
    ex = sub.add_parser("explain", parents=[common], help="why one ticket is mapped and scored as it is")
    ex.add_argument("key")
    return p


def _now() -> datetime:
    return datetime.now(timezone.utc)


def load(path: str):
    config, secrets = configfile.load(path)
    logsetup.add_secrets(secrets)
    return config


def _wiring(config, path: str):
    from connectors import build_sink, build_sources
    return build_sources(config, Path(path).resolve().parent), build_sink(config, Path(path).resolve().parent)


def cmd_run(args, path: str) -> int:
    config = load(path)
    if args.dry_run and not args.once:
        raise ConfigError("--dry-run goes with --once", hint="align-sync run --once --dry-run")
    if not args.once:
        from .daemon import serve
        return serve(config, path, health_port=args.health_port, force=args.force)
    from .daemon import StateLock
    from .service import observed_sync
    from .state import State
    sources, sink = _wiring(config, path)
    # A one-off sync must not race a daemon (or a timer run) on the same state.
    lock = None if args.dry_run else StateLock(config.state).acquire()
    state = State(config.state, readonly=args.dry_run)
    try:
        result = observed_sync(config, sources, sink, state, _now(), dry_run=args.dry_run,
                               force=args.force)
    finally:
        state.close()
        if lock:
            lock.release()
    if args.dry_run:
        print(console.summary(result.assessment, result.report))
    else:
        a = result.assessment
        where = getattr(sink, "path", None) or getattr(sink, "url", "the sheet")
        print(f"synced {result.tickets} tickets ({len(a.in_scope)} in scope, {len(a.warnings)} "
              f"warnings) in {result.seconds:.1f}s → {where}")
    return 0


def cmd_check(args, path: str) -> int:
    from connectors import retry
    saved = retry.ATTEMPTS, retry.MAX_SECONDS
    retry.ATTEMPTS, retry.MAX_SECONDS = 2, 30.0     # a probe should answer fast
    try:
        return _check(path)
    finally:
        retry.ATTEMPTS, retry.MAX_SECONDS = saved


def _check(path: str) -> int:
    config = load(path)
    print(f"ok    config {path}: {len(config.outcomes)} outcomes, {len(config.levers())} levers")
    sources, sink = _wiring(config, path)
    failed = 0
    for target in list(sources) + [sink]:
        label = f"source {target.name}" if hasattr(target, "name") else f"sink {config.sink.type}"
        try:
            what = target.check() if hasattr(target, "check") else \
                f"{len(list(target.fetch(None, _now())))} tickets"
            print(f"ok    {label}: {what}")
        except AlignSyncError as exc:
            failed += 1
            print(f"FAIL  {label}: {describe(exc)}")
    return 1 if failed else 0


def cmd_explain(args, path: str) -> int:
    from .assessment import assess
    from .engine import fetch_all
    from .state import State
    config = load(path)
    sources, sink = _wiring(config, path)
    state = State(config.state, readonly=True)
    try:
        tickets, _ = fetch_all(sources, state, _now())
    finally:
        state.close()
    inputs = sink.read()
    a = assess(tickets, config, inputs.readings, _now(), metric_problems=inputs.metric_problems)
    found = a.find(args.key)
    if found is None:
        raise ConfigError(f"no ticket {args.key!r} in the configured sources "
                          f"({len(tickets)} tickets fetched)")
    print(console.explain(a, found))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    path = getattr(args, "config", None) or configfile.default_path()
    quiet = args.command != "run" or args.dry_run
    # A dry run, `check` and `explain` print for a person: only problems are logged.
    logsetup.configure(level=logging.WARNING if quiet else logging.INFO)
    handlers = {"run": cmd_run, "check": cmd_check, "explain": cmd_explain}
    try:
        return handlers[args.command](args, path)
    except AlignSyncError as exc:
        print(f"align-sync: {logsetup.redact(describe(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: say so in one line (the trace is in the log)
        print(f"align-sync: {logsetup.redact(describe(exc))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
