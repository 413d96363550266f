"""Trello source on py-trello 0.20.1: each board in one nested request.

The client is built with keywords (a positional token would become the
OAuth secret and travel in URLs) and a session with timeouts; requests go
through `fetch_json`, a per-token limiter (100 per 10 s) and `connectors.http`;
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

from sync.core.config import Strict
from sync.core.outcomes import Values
from sync.core.errors import AlignSyncError, ConfigError, RemoteError
from sync.core.model import Ticket
from sync.worker.runtime import Runtime
from sync.core.protocols import Store

from connectors import http, retry
from connectors.field_guess import trello_fields
from connectors.parallel import ordered
from connectors.trello.board import board_tickets, require_estimate_field

TIMEOUT = (5, 30)
NESTED_CARDS = 1000           # a nested cards list stops here; page beyond it
TTL = timedelta(hours=24)
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
    wip_lists: list[str] | None = None     # lists of work under way (default: all but the first)
    # `labels`: a lever chosen in the sheet's Set lever column is added to
    # the card as a board label of its tag's name (sync.worker.writeback).
    writeback: Literal["labels"] | None = None


class TrelloSource:
    def __init__(self, config: TrelloSourceConfig, name: str, runtime: Runtime | None = None):
        # lazy: py-trello (0.1 s to import) loads only when a Trello source is built
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
        self.writeback = config.writeback
        self.notices: list[str] = []   # every board is read whole, or the sync fails
        self.archived = 0              # a live board is asked for its open cards only
        # What the last fetch saw, for label write-back: each card's board,
        # each board's labels by lower-case name.
        self._card_board: dict[str, str] = {}
        self._labels: dict[str, dict[str, str]] = {}

    def get(self, what: str, path: str, **params):
        return self._call(what, path, "GET", query_params=dict(params))

    def post(self, what: str, path: str, **body):
        return self._call(what, path, "POST", post_args=body)

    def _call(self, what: str, path: str, method: str, **kwargs):
        def once():
            self.limiter.wait(retry.sleep, self.runtime.stop)      # every attempt counts against the token's limit
            return self.client.fetch_json(path, http_method=method, **kwargs)
        return http.call("trello", once, runtime=self.runtime,
                         translate=lambda exc: self.limiter.told(self._translate(exc, what)))

    def _translate(self, exc: Exception, what: str) -> AlignSyncError:
        """A failure of py-trello, read out for `http.status_error`."""
        # lazy: py-trello loads only when a Trello source is built; Unauthorized (401) is one too
        from trello.exceptions import ResourceUnavailable
        if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
            return http.network_error("trello", what, exc)
        if not isinstance(exc, ResourceUnavailable):
            return RemoteError(f"Trello {what}: unexpected {type(exc).__name__}")
        # py-trello appends the URL it called, key and token in its query: cut it off.
        text = str(exc._msg).split(" at https://")[0].strip()
        return http.status_error("trello", exc._status, what=what, text=text,
                                 variant=("label" if what.startswith("label") else "",
                                          "key" if "key" in text.lower() else ""),
                                 redact=self.runtime.redactor)

    # -- boards -------------------------------------------------------------

    def _my_boards(self) -> list[dict]:
        return self.get("board list", "/members/me/boards", fields="name,shortLink,closed",
                        filter="all")

    def board_ids(self, state: Store | None, now: datetime) -> list[str]:
        """Ids of the configured boards (ids, short links or names)."""
        wanted = [b for b in self.config.boards if not _ID.match(b)]
        known: dict = {}
        if wanted:
            seen: list[dict] = []          # the boards read now, if they were read

            def index() -> dict:
                seen[:] = self._my_boards()
                known = {}
                for b in seen:
                    if not b.get("closed"):
                        known.setdefault(b["name"].lower(), b["id"])
                    known.setdefault(b.get("shortLink", "").lower(), b["id"])
                return known
            has_all = lambda known: all(w.lower() in known for w in wanted)  # noqa: E731
            known = state.cached(self.name, "boards", now, TTL, index, has_all) if state else index()
            missing = [w for w in wanted if w.lower() not in known]
            if missing:
                names = sorted(b["name"] for b in seen if not b.get("closed"))
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

    def fetch(self, state: Store, now: datetime) -> list[Ticket]:
        def read(board_id: str) -> tuple[str, dict, list[Ticket]]:
            board = self.board(board_id)
            require_estimate_field(board, self.config.estimate_field, f"source {self.name}")
            return board_id, board, board_tickets(board, self.name, self.config.done_lists,
                                                  self.config.estimate_field, self.config.wip_lists)

        tickets: list[Ticket] = []
        step = self.runtime.progress.step(f"source {self.name}: reading Trello")
        self._card_board, self._labels = {}, {}
        boards = self.board_ids(state, now)
        for n, (board_id, board, found) in enumerate(
                ordered(read, boards, self.config.workers, f"trello-{self.name}"), 1):
            tickets += found
            if self.writeback:
                self._remember(board_id, board, found)
            step.update(boards=n, cards=len(tickets))
        step.done()
        return tickets

    # -- label write-back ---------------------------------------------------

    def _remember(self, board_id: str, board: dict, tickets: list[Ticket]) -> None:
        self._card_board.update((t.key, board_id) for t in tickets)
        self._labels[board_id] = {str(lb.get("name")).lower(): lb["id"] for lb in board.get("labels") or ()
                                  if isinstance(lb, dict) and lb.get("name") and lb.get("id")}

    def add_label(self, key: str, label: str) -> None:
        """Add the board label named `label` to card `key`, creating the label
        on the card's board when the board has none of that name (once: the
        new label is remembered).  A label already on the card is success."""
        board_id = self._card_board.get(key)
        if board_id is None:
            raise RemoteError(f"Trello label write on {key}: the card was not read this sync")
        labels = self._labels.setdefault(board_id, {})
        label_id = labels.get(label.lower())
        if label_id is None:
            made = self.post(f"label create on board {board_id}", "/labels", name=label,
                             idBoard=board_id, color=None)
            label_id = labels[label.lower()] = made["id"]
        try:
            self.post(f"label write on {key}", f"/cards/{key}/idLabels", value=label_id)
        except RemoteError as exc:
            if "already on the card" not in exc.message:
                raise

    def _can_edit(self, me: dict, board_ids: list[str]) -> str:
        """`check` with write-back on: the token's member belongs to each board
        as a normal member or admin (an observer may not change cards)."""
        for board_id in board_ids:
            ships = self.get("board membership check", f"/boards/{board_id}/memberships")
            mine = [m for m in ships if isinstance(m, dict) and m.get("idMember") == me.get("id")]
            if not mine or mine[0].get("memberType") not in ("normal", "admin"):
                kind = mine[0].get("memberType") if mine else "not a member"
                raise RemoteError(f"Trello: the token's member is {kind} on board {board_id}, so "
                                  "source.writeback: labels cannot add labels",
                                  hint="add the member to the board as a normal member, or remove "
                                       "source.writeback")
        return "; may add labels (label write-back)"

    def draft_fields(self) -> tuple[dict, list[str]]:
        """For `init`: the estimate custom field and the done lists of the boards."""
        now = datetime.now(timezone.utc)
        return trello_fields([self.board(b) for b in self.board_ids(None, now)])

    def check(self) -> str:
        me = self.get("auth check (/members/me)", "/members/me", fields="id,fullName,username")
        now = datetime.now(timezone.utc)
        found = []
        ids = self.board_ids(None, now)
        for board_id in ids:
            board = self.get("board", f"/boards/{board_id}", fields="name", customFields="true")
            require_estimate_field(board, self.config.estimate_field, f"source {self.name}")
            found.append(board.get("name", board_id))
        edit = self._can_edit(me, ids) if self.writeback else ""
        return f"Trello as {me.get('fullName') or me.get('username')}; boards {', '.join(found)} found{edit}"


def register(registry) -> None:
    registry.add("source", "trello", TrelloSourceConfig,
                 lambda config, name, runtime: TrelloSource(config, name, runtime),
                 secrets=("auth.key", "auth.token"))
