"""The connector registry: the one place `sync/` learns which connectors
exist, in every role: `source` (a tracker or an export), `sink` (where the
tables go), `metric` (a metric source), `notify` (where the weekly review is
delivered) and `alert` (where a failing sync is reported).  Each connector
module registers, under its role and `type` name, its config model (a
strict pydantic model with `type: Literal[...]`), a factory, a `check`
probe and the fields of its block that hold secrets; the config schema,
the secrets the log redactor scrubs, `build_sources`/`build_sink`, the
notifiers and alert channels and `align-sync check` are all read from here.

Connectors are found through the `align_sync.connectors` entry point group
(this project's own `connectors` package registers the built-ins there), so
a connector in another package is one module and one entry point.
"""
from __future__ import annotations

import importlib
import threading
import types
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable, Union, get_args, get_origin

from pydantic import BaseModel

from sync.core.errors import ConfigError

GROUP = "align_sync.connectors"
BUILTIN = "connectors:register"      # when the package metadata is missing (a bare checkout)
ROLES = ("source", "sink", "metric", "notify", "alert")
# An entry that names no secret fields: the fields of its model (at any
# depth) called like a credential are taken as its secrets, so a connector
# that forgets to declare one never has it written to a log.
USUAL_SECRETS = frozenset({"token", "key", "password", "secret", "api_key", "api_token", "webhook"})


@dataclass(frozen=True)
class Kind:
    role: str                          # one of ROLES
    type: str                          # the `type:` a config names it by
    model: type[BaseModel]             # its config block
    # source: (config, name, runtime); sink, notify, alert: (config, runtime);
    # metric: (config, runtime, sink)
    build: Callable[..., Any]
    probe: Callable[[Any], str]        # `check`: a line saying what works, or raise
    # Fields of its block, as dotted paths ("auth.token"; "*" for any key):
    secrets: tuple[str, ...] = ()      # whose values are secrets (redacted everywhere)
    credentials: tuple[str, ...] = ()  # that may embed a credential: from ${ENV} only, redacted


class Registry:
    def __init__(self):
        self.kinds: dict[tuple[str, str], Kind] = {}
        self.loaded = False
        # Workspaces open in threads: the first to ask loads, the others wait
        # for the whole catalogue (never see it half filled, or empty).
        self._loading = threading.RLock()

    def add(self, role: str, type_: str, model: type[BaseModel], build: Callable[..., Any],
            probe: Callable[[Any], str] | None = None, *, secrets: tuple[str, ...] | None = None,
            credentials: tuple[str, ...] = ()) -> None:
        """`secrets`: the fields of the block that hold secrets (None: those
        named like one, USUAL_SECRETS); `credentials`: fields that may embed
        one, such as a database URL with a password (see Kind)."""
        if role not in ROLES:
            raise ValueError(f"unknown connector role {role!r}; roles: {', '.join(ROLES)}")
        if (role, type_) in self.kinds:
            raise ValueError(f"a {role} connector of type {type_!r} is registered twice")
        found = tuple(secrets) if secrets is not None else tuple(usual_secrets(model))
        self.kinds[(role, type_)] = Kind(role, type_, model, build, probe or (lambda obj: obj.check()),
                                         found, tuple(credentials))

    def load(self) -> "Registry":
        """Import every registered connector package once; `loaded` turns
        true only after the last one registered (a failed load is retried)."""
        if self.loaded:
            return self
        with self._loading:
            if self.loaded:
                return self
            found = list(entry_points(group=GROUP))
            targets = [ep.value for ep in found] or [BUILTIN]
            staged = Registry()
            for target in targets:
                module, _, attr = target.partition(":")
                getattr(importlib.import_module(module), attr or "register")(staged)
            self.kinds.update(staged.kinds)
            self.loaded = True
        return self

    def models(self, role: str) -> list[type[BaseModel]]:
        return [k.model for (r, _), k in self.load().kinds.items() if r == role]

    def types(self, role: str) -> list[str]:
        return sorted(t for (r, t) in self.load().kinds if r == role)

    def kind(self, role: str, type_: str) -> Kind:
        try:
            return self.load().kinds[(role, type_)]
        except KeyError:
            raise ConfigError(f"{role}.type: unknown type {type_!r}; known types: "
                              f"{', '.join(self.types(role))}") from None


def usual_secrets(model: type[BaseModel], prefix: str = "") -> list[str]:
    """The paths of `model`'s fields named like a credential, sub-models included."""
    found = []
    for name, field in getattr(model, "model_fields", {}).items():     # a stand-in model has none
        path = f"{prefix}{field.alias or name}"
        if name in USUAL_SECRETS:
            found.append(path)
        for sub in _models(field.annotation):
            found += usual_secrets(sub, f"{path}.")
    return found


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models a field holds directly or through Optional/Union."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _models(arg)]
    return []


CONNECTORS = Registry()       # the process's catalogue, written once as connectors load
