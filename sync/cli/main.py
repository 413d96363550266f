"""The `align-sync` command line's entry: the arguments parse here, and only
then is the command run (`sync.cli.commands`, where errors become messages
and exit codes).  What a command needs (the config schema, the connectors,
the worker) is imported after the parse, so `--version`, `--help` and a
usage error answer at once.
"""
from __future__ import annotations

import gc
import logging
import os
import sys

from sync.cli import arguments
from sync.cli.streams import guard_streams


def main(argv: list[str] | None = None, keep: list | None = None) -> int:
    """`keep`: given by a caller that exits right after without freeing the
    heap (`entry`): a one-off command leaves what it built there (a sync's
    tickets and results) and the collector stays off."""
    restore_streams = guard_streams()    # a closed or full stdout stops nothing
    try:
        return _main(argv, keep)
    finally:
        sys.stdout.flush()
        restore_streams()


def _main(argv: list[str] | None, keep: list | None) -> int:
    args = arguments.parser().parse_args(argv)
    quiet = args.command != "run" or args.dry_run
    collecting = gc.isenabled()
    one_off = (args.command != "run" or args.once) and not getattr(args, "workspaces", None)
    # One workspace, once: what it built is freed by the caller's exit, or
    # here on return (a folder's workspaces one after the other, as they finish).
    args.keep = ([] if keep is None else keep) if one_off else None
    if one_off:
        # The collector would walk every ticket of the sync again (0.5 s at
        # 100k) for cycles the exit frees anyway.
        gc.disable()
    try:
        from sync.cli import commands  # lazy: a command's modules, once its arguments parse
        return commands.run(args, quiet)
    finally:
        # Back on for a caller that goes on (main() also runs in-process, in
        # tests); one that exits would only have it walk what `keep` holds.
        if collecting and keep is None:
            gc.enable()


def entry() -> int:
    """The console script: `main`, then out without tearing down the heap.
    A one-off sync leaves millions of objects (100k tickets, their results
    and rows) that the interpreter would free one by one at exit, 0.5 s for
    nothing; `keep` holds them past the command (0.1 s more at 100k), state
    is committed and closed, and the output is flushed here."""
    keep: list = []
    try:
        code = main(keep=keep)
    except KeyboardInterrupt:      # Ctrl-C while the command's modules load: no traceback
        code = 130
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
