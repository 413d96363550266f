"""The domain records (sync.core.model): a Ticket built by its slot-setting
__init__ behaves as the frozen dataclass it is, and `natural_ranks` orders
as `natural` does."""
from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.core.model import Ticket, natural, natural_ranks

from .conftest import NOW

# The same fields, with the __init__ dataclasses writes: the reference.
Plain = dataclasses.make_dataclass(
    "Plain", [(f.name, f.type, dataclasses.field(default=f.default)) if f.default is not
              dataclasses.MISSING else (f.name, f.type) for f in dataclasses.fields(Ticket)],
    frozen=True, slots=True)

values_st = st.fixed_dictionaries({}, optional={
    "url": st.text(max_size=3), "done": st.booleans(), "owner": st.none() | st.text(max_size=3),
    "estimate": st.none() | st.floats(allow_nan=False), "labels": st.tuples(st.text(max_size=3)),
    "list": st.none() | st.text(max_size=3), "type": st.text(max_size=3),
    "updated": st.none() | st.just(NOW), "problems": st.tuples(st.text(max_size=3)),
})


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=5), values_st)
def test_a_ticket_holds_what_the_dataclass_init_would(key, values):
    t = Ticket(key, "jira", "title", **values)
    assert dataclasses.astuple(t) == dataclasses.astuple(Plain(key, "jira", "title", **values))
    assert t == Ticket(key=key, source="jira", title="title", **values)
    assert hash(t) == hash(Ticket(key, "jira", "title", **values))
    assert pickle.loads(pickle.dumps(t)) == t
    assert dataclasses.replace(t, title="other") == Ticket(key, "jira", "other", **values)


def test_a_ticket_takes_the_arguments_the_dataclass_takes_and_stays_frozen():
    assert str(inspect.signature(Ticket)) == str(inspect.signature(Plain))
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'title'"):
        Ticket("T-1", "jira")
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Ticket("T-1", "jira", "t", colour="red")
    t = Ticket("T-1", "jira", "t")
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.title = "changed"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del t.title
    assert not hasattr(t, "__dict__")


keys_st = st.lists(st.text(alphabet="AB-01x", max_size=6), max_size=30)


@settings(max_examples=300, deadline=None)
@given(keys_st)
def test_natural_ranks_order_and_tie_as_natural_does(keys):
    ranks = natural_ranks(keys)
    assert set(ranks) == set(keys)
    for a in keys:
        for b in keys:
            assert (ranks[a] < ranks[b]) == (natural(a) < natural(b))
            assert (ranks[a] == ranks[b]) == (natural(a) == natural(b))
