"""A Trello board (the JSON of "Export as JSON", which is also what one nested
`GET /1/boards/{id}?cards=...&lists=...` returns) → `Ticket`s.

Shared by the file source and the live Trello source, so both read a board
the same way: done lists, archived cards, custom-field or `(3) title`
estimates, unnamed labels.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from sync.core.errors import ConfigError, DataError
from sync.core.model import Ticket
from sync.core.numbers import estimate as read_estimate
from sync.core.values import read_time

from connectors import vocabulary

_TITLE_ESTIMATE = re.compile(r"^\s*\((\d+(?:\.\d+)?)\)")


def _field_value(item: dict, definition: dict) -> Any:
    """A custom field item's raw value, whatever its type; else None.

    Unknown types (py-trello crashes on some) are read defensively: number,
    text or a list option's text, read as a number by the caller.
    """
    value = item.get("value") or {}
    if isinstance(value, dict):
        for kind in ("number", "text"):
            if kind in value:
                return value[kind]
    if item.get("idValue"):
        for option in definition.get("options") or ():
            if option.get("id") == item["idValue"]:
                return (option.get("value") or {}).get("text")
    return None


def estimate_field_id(board: dict, name: str | None) -> str | None:
    """The id of the configured estimate field on this board (by name or id)."""
    if not name:
        return None
    for cf in board.get("customFields") or ():
        if not isinstance(cf, dict) or not isinstance(cf.get("name", ""), str):
            continue
        if cf.get("id") == name or (cf.get("name") or "").strip().lower() == name.strip().lower():
            return cf["id"]
    return None


def require_estimate_field(board: dict, name: str | None, where: str) -> None:
    if name and estimate_field_id(board, name) is None:
        have = ", ".join(str(cf.get("name", "?")) for cf in board.get("customFields") or ()
                         if isinstance(cf, dict)) or "none"
        raise ConfigError(f"{where}: estimate_field {name!r} is not a custom field of board "
                          f"{board.get('name')!r} (its custom fields: {have})")


def _objects(board: dict, name: str, where: str, required: bool = False) -> list[dict]:
    """One of the board's lists of objects; objects without an `id` are
    dropped (nothing can refer to them), a list that is not a list fails."""
    items = board.get(name)
    if items is None and not required:
        return []
    if not isinstance(items, list):
        raise DataError(f"{where}: board {board.get('name')!r}: `{name}`: expected a list, "
                        f"got {'null' if items is None else type(items).__name__}",
                        hint="export the board again (Menu → Print and export → JSON)")
    return [x for x in items if isinstance(x, dict) and isinstance(x.get("id"), str)]


def card_created(card_id: Any) -> datetime | None:
    """A card's creation time: its id is a MongoDB ObjectId, whose first 8 hex
    digits are the seconds since 1970 when it was made."""
    if not isinstance(card_id, str) or len(card_id) < 8:
        return None
    try:
        return datetime.fromtimestamp(int(card_id[:8], 16), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def backlog_list(lists: dict[str, dict]) -> str | None:
    """The id of the board's first open list (by position): the backlog, whose
    cards are not yet under way."""
    open_lists = [lst for lst in lists.values() if not lst.get("closed")]
    def position(lst: dict) -> float:
        pos = lst.get("pos")
        return float(pos) if isinstance(pos, (int, float)) and not isinstance(pos, bool) else 0.0
    return min(open_lists, key=position)["id"] if open_lists else None


def archived_cards(board: dict) -> int:
    """Cards `board_tickets` drops: archived, or in an archived list."""
    closed = {lst.get("id") for lst in board.get("lists") or () if isinstance(lst, dict)
              and lst.get("closed")}
    return sum(1 for card in board.get("cards") or () if isinstance(card, dict)
               and (card.get("closed") or card.get("idList") in closed))


def done_list_guess(board: dict) -> tuple[list[str], list[str]]:
    """The board's lists that likely mean done, and why each: a name that says
    done in a language we know ("Finalizado", "クローズ"); failing that, the
    last open list of a board of three or more, where teams keep finished
    work.  Each reason is printed so a person can correct `done_lists`."""
    open_lists = sorted((lst for lst in board.get("lists") or () if isinstance(lst, dict)
                         and not lst.get("closed") and isinstance(lst.get("name"), str)),
                        key=lambda lst: lst.get("pos") if isinstance(lst.get("pos"), (int, float)) else 0)
    names, why = [], []
    for lst in open_lists:
        hit = vocabulary.done_word(lst["name"])
        if hit and lst["name"] not in names:
            names.append(lst["name"])
            why.append(f"{lst['name']!r} (the word {hit[0]!r}, {hit[1]})")
    if not names and len(open_lists) >= 3:
        last = open_lists[-1]["name"]
        names.append(last)
        why.append(f"{last!r} (no list name says done in a language we know; the board's last "
                   "list, where teams usually keep finished cards)")
    return names, why


def board_tickets(board: dict, source: str, done_lists: list[str],
                  estimate_field: str | None, wip_lists: list[str] | None = None) -> list[Ticket]:
    """`wip_lists`: the lists whose cards are work in progress; by default
    every list but the first (the backlog)."""
    where = f"source {source}"
    lists = {lst["id"]: lst for lst in _objects(board, "lists", where, required=True)}
    backlog = backlog_list(lists)
    wip_names = {w.strip().lower() for w in wip_lists} if wip_lists is not None else None
    members = {m["id"]: m for m in _objects(board, "members", where)}
    fields = {cf["id"]: cf for cf in _objects(board, "customFields", where)}
    field_id = estimate_field_id(board, estimate_field)
    done_names = {d.strip().lower() for d in done_lists}
    tickets = []
    cards = board.get("cards")
    if not isinstance(cards, list):
        raise DataError(f"{where}: board {board.get('name')!r}: `cards`: expected a list")
    for i, card in enumerate(cards):
        if not isinstance(card, dict):
            raise DataError(f"{where}: board {board.get('name')!r}: cards[{i}]: expected a card "
                            f"object, got {'null' if card is None else type(card).__name__}")
        key = card.get("shortLink") or card.get("id")
        if not isinstance(key, str) or not key:
            raise DataError(f"{where}: board {board.get('name')!r}: card {card.get('name')!r} "
                            f"(cards[{i}]): field `id`: missing; a card needs an id or shortLink")
        lst = lists.get(card.get("idList"), {})
        if card.get("closed") or lst.get("closed"):
            continue  # archived cards, and cards in archived lists, are gone for the team
        list_name = str(lst.get("name") or "")
        raw, problems = None, []
        for item in card.get("customFieldItems") or ():
            if isinstance(item, dict) and field_id and item.get("idCustomField") == field_id:
                raw = _field_value(item, fields.get(field_id, {}))
        estimate, problem = read_estimate(raw, f"estimate field {estimate_field!r}")
        title = card.get("name") or ""
        title = title if isinstance(title, str) else str(title)
        if raw in (None, ""):
            match = _TITLE_ESTIMATE.match(title)
            estimate, problem = read_estimate(match[1] if match else None, "title estimate")
        if problem:
            problems.append(problem)
        updated = read_time(card.get("dateLastActivity"), "`dateLastActivity`", problems,
                            "taken as never updated")
        owner = next((str(members[m].get("fullName")) for m in card.get("idMembers") or ()
                      if isinstance(m, str) and m in members and members[m].get("fullName")), None)
        labels = tuple(str(lb.get("name") or lb.get("color") or "") for lb in card.get("labels") or ()
                       if isinstance(lb, dict))
        done = list_name.strip().lower() in done_names or bool(card.get("dueComplete"))
        if wip_names is not None:
            under_way = list_name.strip().lower() in wip_names
        else:
            under_way = card.get("idList") != backlog
        tickets.append(Ticket(
            key=key, source=source, title=title,
            url=card.get("shortUrl") or card.get("url") or "",
            type="Card", status=list_name, done=done,
            owner=owner, estimate=estimate, labels=tuple(x for x in labels if x),
            board=board.get("name"), list=list_name or None,
            description=str(card.get("desc") or ""),
            updated=updated, problems=tuple(problems),
            created=card_created(card.get("id")),
            in_progress=under_way and not done,
        ))
    return tickets
