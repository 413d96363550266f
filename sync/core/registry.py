"""The connector registry: the one place `sync/` learns which trackers and
sinks exist.  Each connector module registers, under its `type` name, its
config model (a strict pydantic model with `type: Literal[...]`), a factory
and a `check` probe; the config schema, `build_sources`/`build_sink` and
`align-sync check` are all read from here.

Connectors are found through the `align_sync.connectors` entry point group
(this project's own `connectors` package registers the built-ins there), so
a tracker or sink in another package is one module and one entry point.
"""
from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable

from pydantic import BaseModel

from sync.core.errors import ConfigError

GROUP = "align_sync.connectors"
BUILTIN = "connectors:register"      # when the package metadata is missing (a bare checkout)


@dataclass(frozen=True)
class Kind:
    role: str                          # "source" | "sink"
    type: str                          # the `type:` a config names it by
    model: type[BaseModel]             # its config block
    build: Callable[..., Any]          # source: (config, name, runtime); sink: (config, runtime)
    probe: Callable[[Any], str]        # `check`: a line saying what works, or raise


class Registry:
    def __init__(self):
        self.kinds: dict[tuple[str, str], Kind] = {}
        self.loaded = False
        # Workspaces open in threads: the first to ask loads, the others wait
        # for the whole catalogue (never see it half filled, or empty).
        self._loading = threading.RLock()

    def add(self, role: str, type_: str, model: type[BaseModel], build: Callable[..., Any],
            probe: Callable[[Any], str] | None = None) -> None:
        if (role, type_) in self.kinds:
            raise ValueError(f"a {role} connector of type {type_!r} is registered twice")
        self.kinds[(role, type_)] = Kind(role, type_, model, build, probe or (lambda obj: obj.check()))

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


CONNECTORS = Registry()       # the process's catalogue, written once as connectors load
