"""What every command pays before it starts: `--version` and a usage error
answer before the worker is imported; a run imports the connectors its
config names and no other (the registry declares the built-ins and imports
one when its type is first looked up); and the config schema narrowed to
those types validates a document exactly as the whole schema does."""
from __future__ import annotations

import gc
import importlib
import json
import subprocess
import sys

import pytest
import yaml
from pydantic import ValidationError

import connectors
from sync.core import config as config_module
from sync.core.errors import ConfigError
from sync.core.registry import CONNECTORS, Registry

from .conftest import ROOT, base_config, fixture


def _modules_after(code: str) -> list[str]:
    """The modules a fresh interpreter holds after running `code`."""
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_catalogue_names_what_each_module_registers_in_its_order():
    for name, declared in connectors.MODULES.items():
        staged = Registry()
        importlib.import_module(f"connectors.{name}").register(staged)
        assert tuple(staged.kinds) == declared, name


def test_version_and_a_usage_error_import_no_worker_schema_or_connector():
    for argv in (["--version"], ["run", "--bogus"]):
        loaded = _modules_after("from sync.cli.main import main\n"
                                f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass")
        heavy = [m for m in loaded if m.startswith(("sync.worker", "sync.core", "connectors", "pydantic"))]
        assert heavy == [], argv


@pytest.mark.slow
def test_a_dry_run_imports_only_the_connectors_its_config_names(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps(fixture("jira_search_jql_page1.json")))
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(base_config(sink={"type": "xlsx", "path": str(tmp_path / "o.xlsx")},
                                               source={"type": "file", "path": str(tmp_path / "x.json")},
                                               state=str(tmp_path / "s.db"))))
    loaded = _modules_after("from sync.cli.main import main\n"
                            f"assert main(['run', '--once', '--dry-run', '--config', {str(path)!r}]) == 0")
    assert "connectors.files.source" in loaded and "connectors.xlsx.sink" in loaded
    unneeded = [m for m in loaded if m.startswith(("connectors.jira.source", "connectors.trello.source",
                                                   "connectors.sheets", "connectors.notify",
                                                   "connectors.metrics", "sync.drafting.starter",
                                                   "sync.drafting.suggestions", "requests", "sqlparse"))]
    assert unneeded == []


def test_a_declared_type_is_imported_on_first_lookup_and_a_second_registration_refused(monkeypatch):
    imported = []

    class Package:
        @staticmethod
        def register(registry):
            imported.append(1)
            registry.add("source", "lazy", object, lambda *a: None)
            registry.add("source", "lazy2", object, lambda *a: None)

    registry = Registry()
    registry.declare("source", "lazy", "fake.lazy")
    registry.declare("source", "lazy2", "fake.lazy")
    registry.loaded = True
    monkeypatch.setattr("sync.core.registry.importlib.import_module", lambda name: Package)
    assert registry.types("source") == ["lazy", "lazy2"] and imported == []
    assert registry.kind("source", "lazy2").type == "lazy2" and imported == [1]
    assert registry.kind("source", "lazy").type == "lazy" and imported == [1]     # imported once
    with pytest.raises(ValueError, match="registered twice"):
        registry.add("source", "lazy", object, lambda *a: None)


def test_a_module_that_declares_itself_or_adds_nothing_is_named_not_looped(monkeypatch):
    """A reviewer's finding: a package whose `register` declared its own
    module (the natural reading of the docs) was imported again and again
    until RecursionError.  Now a declared type its module does not add is a
    config error naming the module."""
    class Package:
        @staticmethod
        def register(registry):
            registry.declare("source", "loop", "fake.loop")

    registry = Registry()
    registry.declare("source", "loop", "fake.loop")
    registry.loaded = True
    monkeypatch.setattr("sync.core.registry.importlib.import_module", lambda name: Package)
    with pytest.raises(ConfigError, match="connector module fake.loop was declared to add source "
                                          "type 'loop' but its register\\(\\) did not add it"):
        registry.kind("source", "loop")


class EntryPoint:
    """What `importlib.metadata.entry_points` gives: its `value` is what the registry reads."""

    def __init__(self, value):
        self.value = value


def test_a_connector_package_not_installed_is_named_and_breaks_only_its_own_types(monkeypatch):
    """A tester's finding: a declared module that is not installed gave
    'unexpected error: ModuleNotFoundError' (exit 1), and an entry point to a
    missing module broke every config, even those not naming its types."""
    class Catalogue:
        @staticmethod
        def register(registry):
            registry.declare("source", "linear", "linearplug_notinstalled.source")

    real = importlib.import_module

    def fake_import(name):
        if name == "linearplug":
            return Catalogue
        return real(name)
    monkeypatch.setattr("sync.core.registry.importlib.import_module", fake_import)
    monkeypatch.setattr("sync.core.registry.entry_points", lambda group: [
        EntryPoint("connectors:register"), EntryPoint("linearplug:register"),
        EntryPoint("fakeplug_missing:register")])
    registry = Registry()
    assert registry.kind("source", "file").type == "file"          # the others still load
    with pytest.raises(ConfigError) as err:
        registry.kind("source", "linear")
    assert err.value.message == ("connector module linearplug_notinstalled.source (source type 'linear') "
                                 "cannot be imported: linearplug_notinstalled is not installed")
    with pytest.raises(ConfigError, match="unknown type 'fake'; known types: .*file.*\\(not loaded: "
                                          "connector module fakeplug_missing \\(entry point "
                                          "fakeplug_missing:register\\) cannot be imported"):
        registry.kind("source", "fake")
    # The whole schema (a config with an error of its own) leaves the missing module out.
    models = registry.models("source")
    assert models and any("linearplug_notinstalled" in b for b in registry.broken)


def test_a_connector_package_that_fails_in_any_way_is_named_without_its_message(monkeypatch):
    """A retester's findings: a module raising as it loads (or a SyntaxError)
    broke every config with 'unexpected error' and its own message (a secret
    in it); sys.exit in a register printed its text; a package registering a
    built-in's type again blamed align-sync's own connectors."""
    class Exits:
        @staticmethod
        def register(registry):
            raise SystemExit("SECRETEXIT")

    class Duplicate:
        @staticmethod
        def register(registry):
            registry.add("source", "file", object, lambda *a: None)

    class SECRETClass(BaseException):
        pass

    class Odd:
        @staticmethod
        def register(registry):
            raise SECRETClass("SECRETODD")

    real = importlib.import_module

    def fake_import(name):
        if name == "raising":
            raise RuntimeError("import-time failure SECRETIMPORT")
        if name == "named":
            raise ImportError("x", name="SECRET NAME")
        return {"exits": Exits, "duplicate": Duplicate, "odd": Odd}.get(name) or real(name)
    monkeypatch.setattr("sync.core.registry.importlib.import_module", fake_import)
    monkeypatch.setattr("sync.core.registry.entry_points", lambda group: [
        EntryPoint("duplicate:register"), EntryPoint("raising:register"), EntryPoint("exits:register"),
        EntryPoint("odd:register"), EntryPoint("named:register"), EntryPoint("connectors:register")])
    registry = Registry()
    assert registry.kind("source", "file").model is not object      # ours, not the duplicate
    assert registry.broken == [
        "connector module duplicate (entry point duplicate:register) failed to register: ValueError",
        "connector module raising (entry point raising:register) failed to load: RuntimeError",
        "connector module exits (entry point exits:register) failed to register: SystemExit",
        "connector module odd (entry point odd:register) failed to register: an exception of its own",
        "connector module named (entry point named:register) cannot be imported: a module it needs is not "
        "installed"]
    assert "SECRET" not in " ".join(registry.broken)


FULL = config_module.config_model


VALID = [
    base_config(),
    base_config(source=None, sources=[{"type": "file", "name": "a", "path": "a.json"},
                                      {"type": "jira", "name": "b", "url": "https://acme.atlassian.net",
                                       "jql": "project = X", "auth": {"email": "a@b.c", "token": "t" * 12}}]),
    base_config(sink={"type": "google_sheets", "credentials": "key.json", "spreadsheet": "1abcDEF"},
                metrics=[{"name": "w", "type": "sql", "url": "sqlite:///kpi.db", "query": "select 1"},
                         {"name": "bi", "type": "csv", "url": "https://bi.example.com/k.csv"}],
                review={"notify": [{"type": "slack", "webhook": "https://hooks.slack.com/services/T/B/x"}]},
                alerts={"notify": [{"type": "email", "smtp": "mail.example.com:587", "to": ["a@b.c"],
                                    "from": "bot@b.c"}]}),
]
INVALID = [
    base_config(source={"type": "file"}),                          # a key missing
    base_config(source={"type": "file", "path": "x", "pathz": 1}),  # an unknown key
    base_config(source={"type": "git", "path": "x"}),              # an unknown type: the whole schema
    base_config(source={"path": "x"}),                             # no type
    base_config(sink="book.xlsx"),                                 # not a block
    base_config(sink=None),                                        # a block left empty
    base_config(source=None),                                      # no source at all
    base_config(metrics=[{"name": "w", "type": "sql"}], sink={"type": "xlsx"}),
    base_config(review={"notify": [{"type": "teams"}, {"type": "sms"}]}),
    base_config(sources=[{"type": "file", "path": "x"}]),         # both source and sources
]


def _errors(data):
    out = []
    for schema in (config_module.config_model(data), FULL()):
        try:
            out.append(schema.model_validate(data).model_dump(mode="json"))
        except ValidationError as exc:
            out.append([(e["loc"], e["type"], e["msg"]) for e in exc.errors(include_url=False)])
    return out


@pytest.mark.parametrize("data", VALID + INVALID)
def test_the_narrowed_schema_validates_as_the_whole_one(data):
    narrowed, whole = _errors(data)
    assert narrowed == whole


def test_a_valid_document_gets_a_schema_of_its_own_types_only():
    data = base_config()
    assert config_module.config_model(data) is not FULL()
    assert config_module.config_model(data) is config_module.config_model(base_config())   # built once
    source = config_module.config_model(data).model_fields["source"].annotation
    assert "FileSourceConfig" in str(source) and "Jira" not in str(source)
    assert CONNECTORS.several("source") and CONNECTORS.several("sink")


def test_a_one_off_sync_leaves_what_it_built_to_the_exit_and_a_folder_does_not(tmp_path, capsys):
    from sync.cli.main import main
    (tmp_path / "x.json").write_text(json.dumps(fixture("jira_search_jql_page1.json")))
    folder = tmp_path / "workspaces"
    folder.mkdir()
    path = folder / "c.yaml"
    path.write_text(yaml.safe_dump(base_config(sink={"type": "xlsx", "path": str(tmp_path / "o.xlsx")},
                                               source={"type": "file", "path": str(tmp_path / "x.json")},
                                               state=str(tmp_path / "s.db"))))
    keep: list = []
    try:
        assert main(["run", "--once", "--dry-run", "--config", str(path)], keep=keep) == 0
        assert [type(k).__name__ for k in keep] == ["RunResult"] and keep[0].tickets > 0
        assert not gc.isenabled()            # the caller exits: nothing for a collector to do
        keep.clear()
        assert main(["explain", "NOPE-1", "--config", str(path)], keep=keep) == 2
        assert [type(k).__name__ for k in keep] == ["Intake"]
        keep.clear()
        gc.enable()
        assert main(["run", "--once", "--dry-run", "--workspaces", str(folder)], keep=keep) == 0
        assert keep == [] and gc.isenabled()
        assert main(["run", "--once", "--dry-run", "--config", str(path)]) == 0
        assert gc.isenabled()                # in-process, the caller goes on
    finally:
        gc.enable()
