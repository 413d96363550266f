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
a connector in another package is one module and one entry point.  A
package may `declare` a type instead of adding it: its module is imported
when the type is first looked up, so a run imports the connectors its
config names and not the others (the built-ins are declared).
"""
from __future__ import annotations

import importlib
import re
import threading
import types
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable, Union, get_args, get_origin

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


class Kinds(MutableMapping):
    """The catalogue: (role, type) -> Kind.  A declared kind is imported on
    first look (its module's `register` adds it, and whatever else the
    module registers); naming the keys, or asking whether one is there,
    imports nothing.  Keys keep the order they were declared or added in
    (a union's order, and the order an unknown type's message lists)."""

    def __init__(self):
        self._order: dict[tuple[str, str], str | None] = {}    # key -> declaring module (None: added)
        self._loaded: dict[tuple[str, str], Kind] = {}
        # Workspaces open in threads: one imports a module, the others wait for all its kinds.
        self._importing = threading.RLock()

    def declare(self, key: tuple[str, str], module: str) -> None:
        self._order.setdefault(key, module)

    def module(self, key: tuple[str, str]) -> str | None:
        """The module that declared `key` while it is not imported yet (else None)."""
        return None if key in self._loaded else self._order.get(key)

    def __getitem__(self, key: tuple[str, str]) -> Kind:
        kind = self._loaded.get(key)
        if kind is None and self._order.get(key) is not None:
            with self._importing:
                if key not in self._loaded:
                    module = self._order[key]
                    staged = Registry()
                    _register(module, "register", staged, f"{key[0]} type {key[1]!r}")
                    # What it added, in its order; what it only declared again
                    # is not looked up (that would import it again, forever).
                    for found, kind in staged.kinds._loaded.items():
                        self._loaded.setdefault(found, kind)
                    if key not in self._loaded:
                        raise ConfigError(f"connector module {module} was declared to add "
                                          f"{key[0]} type {key[1]!r} but its register() did not "
                                          "add it", hint="its register(registry) must call "
                                          "registry.add for each type declared to it")
            kind = self._loaded.get(key)
        if kind is None:
            raise KeyError(key)
        return kind

    def __setitem__(self, key: tuple[str, str], kind: Kind) -> None:
        self._order.setdefault(key, None)
        self._loaded[key] = kind

    def __delitem__(self, key: tuple[str, str]) -> None:
        del self._order[key]
        self._loaded.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._order

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def take(self, other: "Kinds") -> None:
        """Every entry of `other`, the declared ones still unimported."""
        for key, module in other._order.items():
            if key in other._loaded:
                self[key] = other._loaded[key]
            else:
                self.declare(key, module)


class Registry:
    def __init__(self):
        self.kinds: Kinds = Kinds()
        self.loaded = False
        self.broken: list[str] = []     # connector packages whose entry point failed to load
        # Workspaces open in threads: the first to ask loads, the others wait
        # for the whole catalogue (never see it half filled, or empty).
        self._loading = threading.RLock()

    def add(self, role: str, type_: str, model: type[BaseModel], build: Callable[..., Any],
            probe: Callable[[Any], str] | None = None, *, secrets: tuple[str, ...] | None = None,
            credentials: tuple[str, ...] = ()) -> None:
        """`secrets`: the fields of the block that hold secrets (None: those
        named like one, USUAL_SECRETS); `credentials`: fields that may embed
        one, such as a database URL with a password (see Kind)."""
        self._check(role, type_)
        found = tuple(secrets) if secrets is not None else tuple(usual_secrets(model))
        self.kinds[(role, type_)] = Kind(role, type_, model, build, probe or (lambda obj: obj.check()),
                                         found, tuple(credentials))

    def declare(self, role: str, type_: str, module: str) -> None:
        """A type that `module`'s `register(registry)` adds, imported when the
        type is first looked up (a config that does not name it never does)."""
        self._check(role, type_)
        self.kinds.declare((role, type_), module)

    def _check(self, role: str, type_: str) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown connector role {role!r}; roles: {', '.join(ROLES)}")
        if (role, type_) in self.kinds:
            raise ValueError(f"a {role} connector of type {type_!r} is registered twice")

    def load(self) -> "Registry":
        """Call every registered connector package's `register` once; `loaded`
        turns true only after the last one registered (a failed load is
        retried).  A declared type's module is imported later, on first use."""
        if self.loaded:
            return self
        with self._loading:
            if self.loaded:
                return self
            found = [ep.value for ep in entry_points(group=GROUP)]
            # Ours first: a package that registers a built-in's type again is
            # the one refused (and named), never align-sync's own connectors.
            targets = [BUILTIN] + [t for t in found if t != BUILTIN]
            staged = Registry()
            self.broken = []
            for target in targets:
                module, _, attr = target.partition(":")
                try:
                    _register(module, attr or "register", staged, f"entry point {target}")
                except ConfigError as exc:
                    if target == BUILTIN:
                        raise               # our own connectors: a broken install, not a plug-in
                    # Another package's broken entry point fails only the
                    # configs that name its types (as unknown ones, named here).
                    self.broken.append(exc.message)
            self.kinds.take(staged.kinds)
            self.loaded = True
        return self

    def models(self, role: str, types: Iterable[str] | None = None) -> list[type[BaseModel]]:
        """The config models of the role's types (of all of them when `types`
        is None: every one of the role's modules is imported, and one that
        cannot be is left out and named in `broken`, so that a config naming
        none of its types gets its own errors, not that module's)."""
        wanted = None if types is None else set(types)
        out = []
        for key in self.load().kinds:
            if key[0] != role or (wanted is not None and key[1] not in wanted):
                continue
            try:
                out.append(self.kinds[key].model)
            except ConfigError as exc:
                if wanted is not None:
                    raise
                if exc.message not in self.broken:
                    self.broken.append(exc.message)
        return out

    def types(self, role: str) -> list[str]:
        return sorted(t for (r, t) in self.load().kinds if r == role)

    def several(self, role: str) -> bool:
        """Whether the role's blocks take more than one model (its schema is
        then a union on `type`); modules are imported only when it takes
        that to tell (a module's models are its own: two modules, two models)."""
        keys = [key for key in self.load().kinds if key[0] == role]
        module = getattr(self.kinds, "module", lambda key: None)
        waiting = {module(k) for k in keys} - {None}
        loaded = {id(self.kinds[k].model) for k in keys if module(k) is None}
        if len(loaded) + len(waiting) > 1:
            return True
        return len({id(self.kinds[k].model) for k in keys}) > 1

    def kind(self, role: str, type_: str) -> Kind:
        try:
            return self.load().kinds[(role, type_)]
        except KeyError:
            broken = f" (not loaded: {'; '.join(self.broken)})" if self.broken else ""
            raise ConfigError(f"{role}.type: unknown type {type_!r}; known types: "
                              f"{', '.join(self.types(role))}{broken}") from None


def _register(module: str, attr: str, registry: "Registry", what: str) -> None:
    """`module`'s `attr(registry)`; a module that is not installed or fails
    to register is a ConfigError naming it (its own message is left out: it
    could hold anything, a secret too)."""
    try:
        loaded = importlib.import_module(module)
    except KeyboardInterrupt:
        raise                                   # Ctrl-C, not the package
    except ImportError as exc:
        # The missing module's name, when it reads as one (a package could put any text there).
        missing = exc.name if _MODULE.match(exc.name or "") else "a module it needs"
        raise ConfigError(f"connector module {module} ({what}) cannot be imported: {missing} is not "
                          "installed", hint="install the package that provides it in align-sync's "
                          "environment, or remove the type from the config") from None
    except BaseException as exc:                # its own code failed as it loaded (a SyntaxError too)
        raise ConfigError(f"connector module {module} ({what}) failed to load: {_kind(exc)}",
                          hint="a bug in that package") from None
    try:
        getattr(loaded, attr)(registry)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise ConfigError(f"connector module {module} ({what}) failed to register: {_kind(exc)}",
                          hint="a bug in that package") from None


_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]{0,99}$")


def _kind(exc: BaseException) -> str:
    """The exception's class when it is one of Python's own; a package's own
    class name is its text, not ours to show."""
    kind = type(exc)
    return kind.__name__ if kind.__module__ == "builtins" else "an exception of its own"


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
