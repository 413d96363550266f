"""A saved export's issues decoded a run at a time (connectors/jira/runs.py)
give exactly what one issue at a time gives (json's raw_decode): the same
values in the same order, the same error, whatever the layout, the window
size or the values (NaN, 1e400, lone surrogates, huge integers, text that
looks like the separator between issues)."""
from __future__ import annotations

import json
import sys

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.jira import export, runs, window
from sync.core.errors import ConfigError, DataError


class Recorder:
    def __init__(self):
        self.seen: list[str] = []

    def meta(self, key, value):
        self.seen.append(f"meta {key} {value!r}")

    def issue(self, issue):
        self.seen.append(repr(issue))       # repr: NaN and -0.0 compared as written


def read(path, *, use_runs: bool, monkeypatch, calls: list | None = None):
    """What the reader is handed, or the error, reading `path` as a file.
    `calls`: per decode of a run, how many issues it gave (0: refused)."""
    real = runs.decode_run

    def fast(text):
        if not use_runs:
            raise msgspec.DecodeError("runs switched off for this read")
        try:
            got = real(text)
        except runs._FAST_ERRORS:
            if calls is not None:
                calls.append(0)
            raise
        if calls is not None:
            calls.append(len(got))
        return got

    monkeypatch.setattr(runs, "decode_run", fast)
    recorder = Recorder()
    try:
        with open(path, "rb") as file:
            export.read(file, "source file", recorder)
    except (ConfigError, DataError) as exc:
        return recorder.seen, f"{type(exc).__name__}: {exc}"
    return recorder.seen, None


def issue(i: int, extra=None) -> dict:
    fields = {"summary": f"Work {i}", "labels": [f"l{i % 3}"],
              # Sub-tasks as Jira gives them: objects that start with the key
              # every issue starts with and end as an issue does (`}}`), so
              # the text between two of them is the runs' marker.
              "subtasks": [{"id": f"{i}1", "key": f"S-{i}1", "fields": {"summary": "a"}},
                           {"id": f"{i}2", "key": f"S-{i}2", "fields": {"summary": "b"}}]}
    if extra is not None:
        fields["extra"] = extra
    return {"id": str(i), "key": f"GROW-{i}", "fields": fields}


LAYOUTS = {"compact": {"separators": (",", ":")}, "usual": {}, "indented": {"indent": 2}}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("size", [60, 700, 4 << 20])
@pytest.mark.parametrize("run", [1000, 32 << 10])
def test_runs_read_what_one_at_a_time_reads(tmp_path, monkeypatch, layout, size, run):
    monkeypatch.setattr(window, "WINDOW", size)
    monkeypatch.setattr(runs, "RUN", run)
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"names": {"summary": "Summary"}, "issues": [issue(i) for i in range(300)],
                                "isLast": True}, **LAYOUTS[layout]))
    calls: list = []
    fast = read(path, use_runs=True, monkeypatch=monkeypatch, calls=calls)
    slow = read(path, use_runs=False, monkeypatch=monkeypatch)
    assert fast == slow
    assert fast[1] is None and len([s for s in fast[0] if s.startswith("{")]) == 300
    if size > 700:
        # Runs were taken, past the markers inside issues: most issues came
        # in runs of two or more.
        runs_taken = [c for c in calls if c]
        assert sum(runs_taken) > 250 and sum(runs_taken) >= 2 * len(runs_taken)


# Values the fast decoder reads differently from `json` or refuses: NaN and
# infinities, a number past a float, a lone surrogate, integers of thousands
# of digits (json refuses those past 4,300; json.dumps cannot write them, so
# they are put into the text), and text with the marker in it.
ODD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-10 ** 30, max_value=10 ** 30),
    st.sampled_from(["\ud800", "x\udc00", '}, {"id": "9"', "\u2028", -0.0]),
    st.text(max_size=8), st.none(), st.booleans())
VALUES = st.recursive(ODD, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["id", "key", "a", "b"]), inner, max_size=3),
                      max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extras=st.lists(VALUES, min_size=1, max_size=12), layout=st.sampled_from(list(LAYOUTS)),
       size=st.sampled_from([50, 400, 1 << 20]), big=st.sampled_from(["", "1e400", "-1E999", "9" * 4300, "9" * 4301, "NaN"]))
def test_any_values_read_the_same_either_way(tmp_path_factory, monkeypatch, extras, layout, size, big):
    monkeypatch.setattr(window, "WINDOW", size)
    text = json.dumps({"issues": [issue(i, e) for i, e in enumerate(extras)]}, **LAYOUTS[layout])
    if big:         # json.dumps never writes one; a hand-edited export may
        text = text.replace('"Work 0"', big, 1)
    path = tmp_path_factory.mktemp("runs") / "export.json"
    path.write_text(text)
    assert read(path, use_runs=True, monkeypatch=monkeypatch) == \
        read(path, use_runs=False, monkeypatch=monkeypatch)


@pytest.mark.parametrize("damage,expected", [
    ('{"id": "7", "key": "GROW-7", "fields": {"summary": "x",}}', "not valid JSON (line 1)"),
    ('"not an issue"', "issues[7]: expected an issue object"),
    ("null", "issues[7]: expected an issue object"),
])
def test_a_damaged_issue_among_runs_is_named_as_before(tmp_path, monkeypatch, damage, expected):
    issues = [json.dumps(issue(i)) for i in range(20)]
    issues[7] = damage
    path = tmp_path / "export.json"
    path.write_text('{"issues": [' + ", ".join(issues) + "]}")
    fast = read(path, use_runs=True, monkeypatch=monkeypatch)
    assert fast == read(path, use_runs=False, monkeypatch=monkeypatch)
    assert expected in fast[1]
    assert len([s for s in fast[0] if s.startswith("{")]) == 7    # the issues before it, as before


def test_issues_that_start_differently_are_read_one_at_a_time(tmp_path, monkeypatch):
    issues = [{"key": "A-1", "id": "1", "fields": {}}, {"id": "2", "key": "A-2", "fields": {}}] * 50
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"issues": issues}))
    calls: list = []
    fast = read(path, use_runs=True, monkeypatch=monkeypatch, calls=calls)
    assert fast == read(path, use_runs=False, monkeypatch=monkeypatch)
    assert calls == []              # no marker learnt: nothing to try


def _deepest(decode) -> int:
    """The deepest issue (levels of `{"c": [...]}`) `decode` reads, called from here."""
    for depth in range(50, 5000):
        text = '{"id": "1", "fields": ' + '{"c": [' * depth + "1" + "]}" * depth + "}"
        try:
            decode(text)
        except (RecursionError, msgspec.DecodeError, msgspec.ValidationError, json.JSONDecodeError):
            return depth - 1
    raise AssertionError("no limit found")


@pytest.mark.parametrize("limit", [1000, 1500])
def test_a_run_refuses_nesting_before_json_does(limit):
    """A reviewer's finding: msgspec's depth limit sat where json's does, so
    with the run's decoder a frame or two shallower than json's one issue
    more deeply nested was read by a run, where one-at-a-time reading fails
    with 'nested too deeply'.  A run now refuses a whole level earlier (it is
    then read one at a time, and json says what it says)."""
    sys.setrecursionlimit(limit)         # conftest puts it back
    scanner = json.JSONDecoder()
    assert _deepest(runs.decode_run) < _deepest(lambda text: scanner.raw_decode(text, 0))
