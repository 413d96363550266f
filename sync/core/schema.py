"""The parts of the config schema that come from the connectors: each
role's blocks as one field type (a union told apart by `type`), built for
the types a document names so that a run imports only its own connectors,
and the notify and alert target lists.  `sync.core.config.config_model`
puts them together with the rest of the schema.

The built models are kept (`MODELS`): each is a class that never changes,
one per combination of types, built once under a lock because workspaces
load in threads.
"""
from __future__ import annotations

import difflib
import threading
from typing import Annotated, Any, Union

from pydantic import BaseModel, Field, TypeAdapter

from sync.core.registry import CONNECTORS

MODELS: dict[Any, Any] = {}                  # built once each, after the connectors registered
BUILDING = threading.RLock()                 # workspaces load in threads: one builds, others wait


def union(models: list[type[BaseModel]], tagged: bool | None = None):
    """The models as one field type: a union told apart by `type` when the
    role takes several (`tagged`: whether the role's whole schema does, so
    that a part of it reports errors at the same paths)."""
    models = list(dict.fromkeys(models))     # one model may serve two types (csv and json): once each
    if not (len(models) > 1 if tagged is None else tagged):
        return models[0]
    return Annotated[Union[tuple(models)], Field(discriminator="type")]



def named_types(data: Any) -> tuple | None:
    """((role, types), ...) for source, sink and metric: the types `data`'s
    blocks name, or None when one is not a registered type's mapping."""
    if not isinstance(data, dict):
        return None
    named = []
    for role, singles, lists in (("source", ("source",), ("sources",)), ("sink", ("sink",), ()),
                                 ("metric", (), ("metrics",))):
        # A block given as null is not a mapping naming a type: the whole
        # schema says so (`sink: input should be a valid dictionary`).
        blocks = [data[k] for k in singles if k in data]
        for k in lists:
            if data.get(k) is not None:
                if not isinstance(data[k], list):
                    return None
                blocks += data[k]
        types = block_types(role, blocks)
        if types is None:
            return None
        named.append((role, types))
    return tuple(named)


def block_types(role: str, blocks: list) -> frozenset | None:
    """The types the blocks name, or None when one is not a mapping naming a registered type."""
    types = [b.get("type") if isinstance(b, dict) else None for b in blocks]
    known = CONNECTORS.types(role)
    if not all(isinstance(t, str) and t in known for t in types):
        return None
    return frozenset(types)


def part(role: str, types: frozenset):
    """The field type for a role's blocks of these types (Any for none: an
    absent block is not validated, an empty list holds nothing to check)."""
    if not types:
        return Any
    return union(CONNECTORS.models(role, types), tagged=CONNECTORS.several(role))


def targets(role: str, value: Any) -> list[Any]:
    """`review.notify` (role notify) or `alerts.notify` (role alert): a list
    of the targets registered for the role, told apart by `type` (checked
    against the types the list names when each is registered, so that only
    those connectors are imported)."""
    if not CONNECTORS.types(role):
        raise ValueError(f"no {role} target types are registered")
    if value is None:
        value = []
    elif not isinstance(value, list):       # `notify: {}` or `""` is no list of targets
        raise ValueError(f"expected a list of targets, each a block with its `type` "
                         f"({', '.join(CONNECTORS.types(role))})")
    types = block_types(role, value)
    key = (role, types)
    adapter = MODELS.get(key)
    if adapter is None:
        with BUILDING:
            if key not in MODELS:
                each = union(CONNECTORS.models(role)) if types is None else part(role, types)
                MODELS[key] = TypeAdapter(list[each])
            adapter = MODELS[key]
    return adapter.validate_python(value)


def close_keys(bad: Any, models: list[type[BaseModel]]) -> str:
    """The keys of `models` (at any depth) nearest to a refused key, as a
    file writes them (`from`, not `sender`), for "did you mean ...?"; never
    the refused key itself (valid elsewhere, refused where it was given)."""
    names: set[str] = set()
    seen: set = set()
    for model in models:
        _collect_keys(model, names, seen)
    names.discard(str(bad))
    close = difflib.get_close_matches(str(bad), sorted(names), n=2, cutoff=0.75)
    return " or ".join(f"`{c}`" for c in close)


def _collect_keys(model: type[BaseModel], out: set[str], seen: set) -> None:
    if model in seen:
        return
    seen.add(model)
    for name, field in model.model_fields.items():
        out.add(field.alias or name)
        for arg in _model_args(field.annotation):
            _collect_keys(arg, out, seen)


def _model_args(annotation: Any) -> list[type[BaseModel]]:
    found = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_model_args(arg))
    meta = getattr(annotation, "__metadata__", None)
    if meta is not None:
        found.extend(_model_args(getattr(annotation, "__origin__", None)))
    return found
