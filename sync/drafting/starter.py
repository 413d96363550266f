"""`align-sync init` (docs/config.md): a starter config drafted from the
tracker itself.

It reads every ticket through the same connectors as `run`, draws clusters
of active work (`clusters`), picks the few that cover the most active
effort (`levers`), and writes them as levers of one placeholder outcome.  The share it
prints comes from assessing the tickets with the very file it wrote, so it
is the figure the first sync shows.
"""
from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

from sync.core.assess.assessment import assess
from sync.core.errors import ConfigError
from sync.core.model import Ticket
from sync.drafting import clusters as cl
from sync.drafting import language
from sync.drafting.levers import effort, propose
from sync.drafting.starter_yaml import render
from sync.worker import configfile
from sync.worker.runtime import DEFAULT_RETRY, Runtime
from sync.worker.state import State
from sync.worker.workspace import build_sources


def source_block(args) -> dict:
    """The `source:` block the flags describe, secrets as ${ENV} references."""
    kind = args.source or ("file" if args.path else "trello" if args.board else "jira")
    if kind == "file":
        if not args.path:
            raise ConfigError("init --source file needs --path FILE (a Jira search JSON, "
                              "a Trello board export or a Jira CSV export)")
        if not Path(args.path).is_file():
            raise ConfigError(f"init: --path {args.path}: file not found")
        block = {"type": "file", "path": args.path}
        if args.url:
            block["url"] = args.url
        return block
    if kind == "jira":
        if not args.url or not args.jql:
            raise ConfigError("init --source jira needs --url and --jql",
                              hint="e.g. --url https://acme.atlassian.net --jql 'project = GROW "
                                   "AND (statusCategory != Done OR resolved >= -30d)'")
        _need("JIRA_API_TOKEN", "the Jira API token (Cloud) or personal access token (Server/DC)")
        auth = {"token": "${JIRA_API_TOKEN}"}
        if os.environ.get("JIRA_EMAIL"):
            auth = {"email": "${JIRA_EMAIL}", **auth}
        return {"type": "jira", "url": args.url, "auth": auth, "jql": args.jql}
    if not args.board:
        raise ConfigError("init --source trello needs --board NAME (one per board)")
    _need("TRELLO_API_KEY", "your Trello API key")
    _need("TRELLO_TOKEN", "a Trello token authorized for that key")
    return {"type": "trello", "auth": {"key": "${TRELLO_API_KEY}", "token": "${TRELLO_TOKEN}"},
            "boards": list(args.board)}


def _need(name: str, what: str) -> None:
    if not os.environ.get(name):
        raise ConfigError(f"init: environment variable {name} is not set ({what})",
                          hint="the drafted file refers to it as ${" + name + "}; it never "
                               "holds the value")


def sink_block(kind: str) -> dict:
    if kind == "google_sheets":
        return {"type": "google_sheets", "spreadsheet": "${ALIGN_SYNC_SPREADSHEET}",
                "credentials": "${GOOGLE_APPLICATION_CREDENTIALS}"}
    return {"type": "xlsx", "path": "out/alignment.xlsx"}


def draft_env(text: str) -> dict[str, str]:
    """The environment the draft is validated against: missing ${VARS} (a
    sheet id not chosen yet) stand in as `placeholder`, for this check only;
    their absence is for the person to fix, not a flaw.  The process's own
    environment is never changed."""
    missing = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text)) - set(os.environ)
    return {**os.environ, **{name: "placeholder" for name in missing}}


def load_text(text: str, folder: Path):
    """Validate `text` as a config file kept in `folder`."""
    fd, tmp = tempfile.mkstemp(prefix=".align-sync-init-", suffix=".yaml", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return configfile.load(tmp, env=draft_env(text))
    finally:
        os.unlink(tmp)


def run(args, process, now: datetime) -> int:
    out, folder = _out_file(Path(args.out), args.force)
    source = source_block(args)
    if source["type"] == "file":
        source["path"] = os.path.relpath(Path(args.path).resolve(), folder)
    sink = sink_block(args.sink)
    text = render(source, sink, [], now, {}, [])
    config, secrets = load_text(text, folder)
    process.redactor.add(secrets)
    runtime = Runtime("init", folder, DEFAULT_RETRY, process.limiters, process.redactor,
                      progress=process.progress)
    reader = build_sources(config, runtime)[0]
    extra, notes = reader.draft_fields()
    for key, value in extra.items():
        source.setdefault(key, value)          # what the person passed wins
    config, _ = load_text(render(source, sink, [], now, {}, notes), folder)
    reader = build_sources(config, runtime)[0]
    tickets = reader.fetch(State(":memory:"), now)
    shown = dict(source, path=args.path) if source["type"] == "file" else source
    where = f"source {reader.name} ({_what(shown)})"
    prefixes = (config.review.tag_prefixes.lever, config.review.tag_prefixes.outcome)
    if not tickets:
        raise ConfigError(f"init: {where} has no tickets",
                          hint="init needs the tickets of the team's current work: widen the "
                               "JQL, pick other boards, or export again")
    efforts = effort(tickets, config.review.default_estimate)
    active = [i for i, t in enumerate(tickets) if not t.done]
    if not active:
        raise ConfigError(f"init: {where}: all {len(tickets)} tickets are done; nothing active "
                          "to draw levers from", hint="include the open work in the query or export")
    # A partial export first: it changes what every figure below means.
    notes = list(reader.notices) + notes + read_notes(reader, tickets)
    drafts = propose(tickets, active, efforts, prefixes)
    if not drafts:
        raise ConfigError(f"init: {where}: {len(tickets)} tickets ({len(active)} active), and "
                          "none carries a label, a component, an epic or a list",
                          hint="init needs one of those to group work by; tag the tickets, or "
                               "write the levers by hand (docs/config.md)")
    summary = {"tickets": len(tickets), "active": len(active),
               "effort": sum(efforts[i] for i in active), "where": _what(shown)}
    text = render(source, sink, drafts, now, summary, notes)
    config, _ = load_text(text, folder)
    a = assess(tickets, config, [], now)
    _write(out, text, args.force)
    _tell(out, a, tickets, active, efforts, drafts, notes, where, prefixes)
    return 0


def _out_file(out: Path, force: bool) -> tuple[Path, Path]:
    """`--out` checked before any fetch, and named as given, never a temp file."""
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a folder; init writes a file",
                          hint=f"give a file name, e.g. --out {out / 'align-sync.yaml'}")
    if out.exists() and not force:
        raise ConfigError(f"{out}: already exists; init will not overwrite it",
                          hint="pass --force to replace it, or --out another file")
    folder = out.resolve().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot create its folder {folder} ({exc.strerror})")
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write in {folder} ({exc.strerror})",
                          hint="pick a file in a folder you may write to")
    return out, folder


def _tell(out: Path, a, tickets: list[Ticket], active: list[int], efforts: list[float], drafts,
          notes: list[str], where: str, prefixes) -> None:
    """What init read, guessed and wrote, and the share the first sync will show."""
    mapped = sum(1 for r in a.active if r.mapping.mapped)
    print(f"read {len(tickets)} tickets from {where}: {len(active)} active")
    if notes:
        print("read, guessed or left out (check these before trusting the figure below):")
        for note in notes:
            print(f"  - {note}")
    print(f"wrote {out}: 1 outcome (TODO), {len(drafts)} lever{'s' if len(drafts) != 1 else ''}")
    # No active effort at all (every estimate 0): the sheet shows the share blank.
    share = "-" if a.aligned_effort is None else f"{a.aligned_effort:g}"
    print(f"proposal maps {share}% of active effort ({mapped} of {len(a.active)} active tickets)")
    left = [i for i, r in enumerate_results(a, tickets) if r.active and r.mapping.state == "unmapped"]
    biggest = sorted(cl.field_clusters(tickets, left, prefixes),
                     key=lambda c: -cl.effort_of(c.members, efforts))[:5]
    if biggest:
        print("largest unmapped clusters left:")
        for c in biggest:
            print(f"  {c.describe()}: {len(c.members)} tickets, effort "
                  f"{cl.effort_of(c.members, efforts):g}")
    print(f"next: fill in the TODOs in {out}, then align-sync check --config {out}")


def read_notes(reader, tickets: list[Ticket]) -> list[str]:
    """What the fetch left out, and the title language: lines a person reads
    before trusting init's figure (and the draft's comments)."""
    out = []
    archived = reader.archived
    if archived:
        out.append(f"{archived} archived card{'s' if archived != 1 else ''} left out (archived, or "
                   "in an archived list)")
    parented = sum(1 for t in tickets if t.parent)
    if parented:
        out.append(f"{parented} tickets have a parent that is not an epic (a sub-task's story, "
                   "defect or test); not drafted as levers")
    lang = cl.title_language(tickets, range(len(tickets)))
    if lang != "en":
        out.append(f"titles: written in {language.NAMES.get(lang, lang)} (guessed from their "
                   f"words); its function words are left out of title proposals")
    return out


def enumerate_results(a, tickets: list[Ticket]):
    """(index into `tickets`, result) for every assessed ticket."""
    at = {t.uid: i for i, t in enumerate(tickets)}
    return [(at[r.ticket.uid], r) for r in a.tickets]


def _what(source: dict) -> str:
    if source["type"] == "file":
        return f"file {source['path']}"
    if source["type"] == "jira":
        return f"Jira {source['url']}"
    return f"Trello boards {', '.join(source['boards'])}"


def _write(out: Path, text: str, force: bool) -> None:
    try:
        _replace(out, text, force)
    except OSError as exc:       # named by the file asked for, not the temp file beside it
        raise ConfigError(f"--out {out}: cannot write it ({exc.strerror or exc})",
                          hint="pick a file in a folder you may write to")


def _replace(out: Path, text: str, force: bool) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.resolve().parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    if force:
        os.replace(tmp, out)
        return
    try:
        os.link(tmp, out)         # fails if someone wrote the file meanwhile
    except FileExistsError:
        raise ConfigError(f"{out}: already exists; init will not overwrite it",
                          hint="pass --force to replace it")
    finally:
        os.unlink(tmp)

