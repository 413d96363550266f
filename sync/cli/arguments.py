"""The `align-sync` command line: its commands, flags and help (README's
command table), read by argparse; a usage error exits 2 naming the flag."""
from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError, version


def _port(text: str) -> int:
    """--health-port: a TCP port, refused by argparse (exit 2, naming the flag) otherwise."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {text!r}")
    return port


def parser() -> argparse.ArgumentParser:
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
