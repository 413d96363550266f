"""Adding a connector is one module and one registry line (issue 13): a
source type that is not built in, registered here, runs a sync end to end."""
from __future__ import annotations

from typing import Literal

import pytest

from sync.core import config as config_module
from sync.core import schema
from sync.core.config import Strict
from sync.core.registry import CONNECTORS, Registry
from sync.worker.state import State
from sync.worker.workspace import Process, Workspace, build_sources

from .conftest import NOW, base_config, sync_over, ticket


class StaticSourceConfig(Strict):
    type: Literal["static"]
    name: str | None = None
    keys: list[str]


class StaticSource:
    """A third party's source: everything sync.core.protocols.Source names."""
    writeback = None
    notices = ()
    archived = 0

    def __init__(self, config, name):
        self.config, self.name = config, name

    def draft_fields(self):
        return {}, []

    def add_label(self, key, label):
        raise AssertionError("never called: writeback is off")

    def fetch(self, state=None, now=None):
        return [ticket(k, labels=("onboarding-email",)) for k in self.config.keys]

    def check(self):
        return f"{len(self.config.keys)} static tickets"


@pytest.fixture
def static_type(monkeypatch):
    monkeypatch.setattr(CONNECTORS, "kinds", dict(CONNECTORS.load().kinds))
    CONNECTORS.add("source", "static", StaticSourceConfig, lambda c, name, runtime: StaticSource(c, name))
    monkeypatch.setattr(schema, "MODELS", {})        # the schema is rebuilt with it
    yield
    schema.MODELS.clear()


def test_a_registered_source_type_runs_a_sync(static_type, tmp_path):
    import yaml
    data = base_config(source={"type": "static", "keys": ["S-1", "S-2"]},
                       sink={"type": "xlsx", "path": str(tmp_path / "out.xlsx")},
                       state=str(tmp_path / "s.db"))
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(data))
    ws = Workspace(path, Process())
    assert [s.name for s in ws.sources] == ["static"]
    assert ws.check(NOW)[0] == ("source static: 2 static tickets", None)
    result = ws.sync_once(NOW)
    assert result.tickets == 2 and (tmp_path / "out.xlsx").exists()


def test_its_config_is_as_strict_as_the_built_ins(static_type):
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="keyz"):
        config_module.config_model().model_validate(
            base_config(source={"type": "static", "keys": ["S-1"], "keyz": 1}))


def test_the_registry_refuses_a_type_twice_and_names_the_known():
    registry = Registry()
    registry.loaded = True
    registry.add("sink", "csv", StaticSourceConfig, lambda c, r: None)
    with pytest.raises(ValueError, match="registered twice"):
        registry.add("sink", "csv", StaticSourceConfig, lambda c, r: None)
    from sync.core.errors import ConfigError
    with pytest.raises(ConfigError, match="unknown type 'parquet'; known types: csv"):
        registry.kind("sink", "parquet")


def test_build_sources_goes_through_the_registry(static_type):
    config = config_module.config_model().model_validate(base_config(source={"type": "static", "keys": ["Z-1"]}))
    from sync.worker.runtime import Runtime
    (source,) = build_sources(config, Runtime())
    assert isinstance(source, StaticSource)
    state = State(":memory:", readonly=True)
    assert len(list(source.fetch(state, NOW))) == 1
    state.close()


def test_run_once_is_unchanged_for_it(static_type, tmp_path):
    from connectors.memory import MemorySink
    config = config_module.config_model().model_validate(base_config(source={"type": "static", "keys": ["Z-1"]}))
    from sync.worker.runtime import Runtime
    state = State(tmp_path / "s.db")
    result = sync_over(config, build_sources(config, Runtime()), MemorySink(), state, NOW)
    state.close()
    assert result.tickets == 1


class PagerTarget(Strict):
    """A third party's notify target, with a secret field no built-in has."""
    type: Literal["pager"]
    routing_key: str

    @property
    def id(self) -> str:
        return "pager"


@pytest.fixture
def pager_type(monkeypatch):
    monkeypatch.setattr(CONNECTORS, "kinds", dict(CONNECTORS.load().kinds))
    for role in ("notify", "alert"):
        CONNECTORS.add(role, "pager", PagerTarget, lambda target, runtime: target, secrets=("routing_key",))
    monkeypatch.setattr(schema, "MODELS", {})
    yield
    schema.MODELS.clear()


def test_a_registered_notifier_is_a_target_and_its_secret_is_collected(pager_type, tmp_path):
    import yaml
    from sync.worker import configfile
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(base_config(review={"notify": [{"type": "pager", "routing_key": "${PAGER}"}]},
                                               alerts={"notify": [{"type": "pager", "routing_key": "r-2"}]})))
    config, secrets = configfile.load(path, env={"PAGER": "r-1-from-env"})
    assert [type(t) for t in config.review.notify + config.alerts.notify] == [PagerTarget, PagerTarget]
    assert secrets == {"r-1-from-env", "r-2"}


def test_an_unknown_notify_type_names_the_registered_ones(pager_type, tmp_path):
    import yaml
    from sync.core.errors import ConfigError
    from sync.worker import configfile
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump(base_config(review={"notify": [{"type": "sms"}]})))
    with pytest.raises(ConfigError) as err:
        configfile.load(path)
    assert err.value.problems == [f"{path}: review.notify[0].type: unknown type 'sms'; "
                                  "expected one of 'slack', 'teams', 'email', 'pager'"]


def test_an_entry_that_names_no_secrets_has_those_named_like_one():
    registry = Registry()
    registry.add("source", "static", TokenSourceConfig, lambda c, name, runtime: None)
    registry.add("source", "bare", TokenSourceConfig, lambda c, name, runtime: None, secrets=())
    assert registry.kinds[("source", "static")].secrets == ("auth.token", "password")
    assert registry.kinds[("source", "bare")].secrets == ()


class _Auth(Strict):
    token: str


class TokenSourceConfig(Strict):
    type: Literal["static"]
    auth: _Auth | None = None
    password: str = ""
