"""Trello source on py-trello 0.20.1: each board in one nested request.

The client is built with keywords (a positional token would become the
OAuth secret and travel in URLs) and a session with timeouts; requests go
through `fetch_json`, a per-token limiter (100 per 10 s) and `retry.call`;
boards are read in parallel (`source.workers`), results in the config's order.
Board names are resolved once a day through `/members/me/boards` (cached in
state); a board is read with its cards, lists, labels, members and custom
fields in one `GET /1/boards/{id}`, paging cards separately only when the
board has more than the nested request returns.
"""
from __future__ import annotations

import difflib
import re
from datetime import datetime, timedelta, timezone

from typing import Literal

import requests
from pydantic import Field

from sync.core.config import Strict, Values
from sync.core.errors import AlignSyncError, ConfigError, RemoteError, TransientError
from sync.core.model import Ticket
from sync.worker.runtime import Runtime
from sync.worker.state import State

from connectors import retry
from connectors.parallel import ordered
from connectors.trello.board import board_tickets, require_estimate_field

TIMEOUT = (5, 30)
NESTED_CARDS = 1000           # a nested cards list stops here; page beyond it
TTL = timedelta(hours=24)
RATE_WAIT = 11.0              # 429s carry no Retry-After; the window is 10 s
_ID = re.compile(r"^[0-9a-f]{24}$")
_CARD_FIELDS = ("name,desc,idList,idMembers,labels,closed,due,dueComplete,shortLink,shortUrl,"
                "url,dateLastActivity,idShort,pos")


class _TimeoutSession(requests.Session):
    """py-trello calls `http_service.request(...)` with no timeout: add one."""

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(*args, **kwargs)


class TrelloAuth(Strict):
    key: str
    token: str


class TrelloSourceConfig(Strict):
    type: Literal["trello"]
    name: str | None = None
    auth: TrelloAuth
    boards: Values
    done_lists: list[str] = Field(default_factory=lambda: ["Done"])
    estimate_field: str | None = None
    workers: int = Field(4, ge=1, le=10)    # boards read at once; each is one request or a few


class TrelloSource:
    def __init__(self, config: TrelloSourceConfig, name: str, runtime: Runtime | None = None):
        from trello import TrelloClient
        self.config = config
        self.name = name
        self.runtime = runtime or Runtime()
        session = _TimeoutSession()
        session.hooks["response"].append(self.runtime.telemetry.response_hook("trello"))
        self.client = TrelloClient(api_key=config.auth.key, token=config.auth.token,
                                   http_service=session)
        # 100 requests per 10 s per token, shared by every workspace using it.
        self.limiter = self.runtime.limiters.get("trello", config.auth.token, limit=100, window=10.0)

    def get(self, what: str, path: str, **params):
        def once():
            self.limiter.wait(retry.sleep)      # every attempt counts against the token's limit
            return self.client.fetch_json(path, query_params=dict(params))
        return retry.call("trello", once, runtime=self.runtime,
                          translate=lambda exc: self.limiter.told(self._translate(exc, what)))

    def _translate(self, exc: Exception, what: str) -> AlignSyncError:
        from trello.exceptions import ResourceUnavailable, Unauthorized
        if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
            return TransientError(f"Trello {what}: {type(exc).__name__}")
        if not isinstance(exc, ResourceUnavailable):
            return RemoteError(f"Trello {what}: unexpected {type(exc).__name__}")
        status = exc._status
        text = str(exc._msg).split(" at https://")[0].strip()[:200]
        if status == 429:
            return TransientError(f"Trello {what}: rate limited ({text})", retry_after=RATE_WAIT)
        if status >= 500:
            return TransientError(f"Trello {what}: HTTP {status}")
        if isinstance(exc, Unauthorized) or status == 401:
            if "key" in text.lower():
                return RemoteError(f"Trello rejected the API key ({text})",
                                   hint="check source.auth.key: the key of your Power-Up's API key tab")
            return RemoteError(f"Trello rejected the token ({text or 'HTTP 401'})",
                               hint="the token is wrong, expired or revoked: authorize a new one "
                                    "for this API key and update source.auth.token")
        if status == 404:
            return ConfigError(f"Trello {what}: not found (HTTP 404)",
                               hint="check source.boards: a board id, short link or name")
        return RemoteError(f"Trello {what}: HTTP {status}: {text}")

    # -- boards -------------------------------------------------------------

    def _my_boards(self) -> list[dict]:
        return self.get("board list", "/members/me/boards", fields="name,shortLink,closed",
                        filter="all")

    def board_ids(self, state: State | None, now: datetime) -> list[str]:
        """Ids of the configured boards (ids, short links or names)."""
        wanted = [b for b in self.config.boards if not _ID.match(b)]
        known: dict = {}
        if wanted:
            entry = state.get_json(self.name, "boards") if state else None
            if entry and now - datetime.fromisoformat(entry["at"]) < TTL and \
                    all(w.lower() in entry["value"] for w in wanted):
                known = entry["value"]
            else:
                boards = self._my_boards()
                known = {}
                for b in boards:
                    if not b.get("closed"):
                        known.setdefault(b["name"].lower(), b["id"])
                    known.setdefault(b.get("shortLink", "").lower(), b["id"])
                if state:
                    state.stage(self.name, "boards", {"at": now.isoformat(), "value": known})
                missing = [w for w in wanted if w.lower() not in known]
                if missing:
                    names = sorted(b["name"] for b in boards if not b.get("closed"))
                    close = {m: difflib.get_close_matches(m, names, n=2, cutoff=0.5) for m in missing}
                    hints = "; ".join(f"{m!r}: did you mean {', '.join(map(repr, c))}?"
                                      for m, c in close.items() if c)
                    raise ConfigError(f"source.boards: no board named {', '.join(map(repr, missing))} "
                                      f"among the boards this token can see: {', '.join(names) or 'none'}",
                                      hint=hints)
        return [b if _ID.match(b) else known[b.lower()] for b in self.config.boards]

    def board(self, board_id: str) -> dict:
        board = self.get("board", f"/boards/{board_id}", fields="name,closed,url,shortUrl",
                         cards="open", card_fields=_CARD_FIELDS, card_customFieldItems="true",
                         lists="all", list_fields="name,closed,pos", labels="all",
                         label_fields="name,color", members="all",
                         member_fields="fullName,username", customFields="true")
        cards = board.get("cards") or []
        if len(cards) >= NESTED_CARDS:
            board["cards"] = self._all_cards(board_id)
        return board

    def _all_cards(self, board_id: str) -> list[dict]:
        """Every open card, 1000 a request, newest first (ids grow with time)."""
        cards: list[dict] = []
        before = None
        while True:
            params = dict(filter="open", fields=_CARD_FIELDS, customFieldItems="true", limit=1000)
            if before:
                params["before"] = before
            page = self.get("cards", f"/boards/{board_id}/cards", **params)
            cards += page
            if len(page) < 1000:
                return cards
            before = min(c["id"] for c in page)

    # -- the source protocol ----------------------------------------------

    def fetch(self, state: State, now: datetime) -> list[Ticket]:
        def read(board_id: str) -> list[Ticket]:
            board = self.board(board_id)
            require_estimate_field(board, self.config.estimate_field, f"source {self.name}")
            return board_tickets(board, self.name, self.config.done_lists, self.config.estimate_field)

        tickets: list[Ticket] = []
        step = self.runtime.progress.step(f"source {self.name}: reading Trello")
        boards = self.board_ids(state, now)
        for n, found in enumerate(ordered(read, boards, self.config.workers, f"trello-{self.name}"), 1):
            tickets += found
            step.update(boards=n, cards=len(tickets))
        step.done()
        return tickets

    def draft_fields(self) -> tuple[dict, list[str]]:
        """For `init`: the estimate custom field and the done lists of the boards."""
        from connectors.field_guess import trello_fields
        now = datetime.now(timezone.utc)
        return trello_fields([self.board(b) for b in self.board_ids(None, now)])

    def check(self) -> str:
        me = self.get("auth check (/members/me)", "/members/me", fields="fullName,username")
        now = datetime.now(timezone.utc)
        found = []
        for board_id in self.board_ids(None, now):
            board = self.get("board", f"/boards/{board_id}", fields="name", customFields="true")
            require_estimate_field(board, self.config.estimate_field, f"source {self.name}")
            found.append(board.get("name", board_id))
        return f"Trello as {me.get('fullName') or me.get('username')}; boards {', '.join(found)} found"


def register(registry) -> None:
    registry.add("source", "trello", TrelloSourceConfig,
                 lambda config, name, runtime: TrelloSource(config, name, runtime))
