"""Config loading: every problem reported at once, with file, key path and expectation."""
from __future__ import annotations

import textwrap

import pytest
from structlog.testing import capture_logs

from sync.worker import configfile
from sync.core.errors import ConfigError

GOOD = """
source:
  type: jira
  url: https://acme.atlassian.net
  auth:
    email: ${JIRA_EMAIL}
    token: ${JIRA_API_TOKEN}
  jql: project = GROW
  fields: {estimate: Story point estimate}
  full_refresh: 24h
sink: {type: xlsx, path: out/a.xlsx}
schedule: {every: 15m}
outcomes:
  - id: conversion
    name: Trial-to-paid
    metric: trial_to_paid_rate
    baseline: 6
    target: 8
    start: 2026-07-01
    deadline: 2026-09-30
    levers:
      - id: emails
        name: Emails
        match: {labels: [onboarding-email, lifecycle*]}
      - id: pricing
        name: Pricing
        match: {components: [Pricing]}
"""


def write(tmp_path, text: str):
    path = tmp_path / "align-sync.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        configfile.load(write(tmp_path, text))
    assert err.value.exit_code == 2
    return err.value.problems or [err.value.message]


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("JIRA_EMAIL", "ops@acme.test")
    monkeypatch.setenv("JIRA_API_TOKEN", "tok-secret-123")


def test_good_config_loads_and_collects_secrets(tmp_path):
    config, secrets = configfile.load(write(tmp_path, GOOD))
    assert config.source.auth.email == "ops@acme.test"
    assert config.schedule.every.total_seconds() == 900
    assert config.source.full_refresh.total_seconds() == 86400
    assert secrets == {"tok-secret-123"}
    assert config.outcomes[0].levers[0].match[0].labels == ["onboarding-email", "lifecycle*"]


@pytest.mark.parametrize("old,new,expected", [
    ("match: {components: [Pricing]}", "match: {labelz: [x]}",
     "outcomes[0].levers[1].match.labelz: unknown key (did you mean `labels`?)"),
    ("every: 15m", "every: 15 minutes", "schedule.every: expected a duration such as 30s, 15m, 2h or 7d"),
    ("type: xlsx", "type: excel", "sink.type: unknown type 'excel'"),
    ("baseline: 6", "baseline: six", "outcomes[0].baseline: "),
    ("    name: Trial-to-paid\n", "", "outcomes[0].name: required key is missing"),
    ("match: {labels: [onboarding-email, lifecycle*]}", "match: {title: '(unclosed'}",
     "outcomes[0].levers[0].match.title: expected a Python regular expression"),
])
def test_one_problem_named_precisely(tmp_path, old, new, expected):
    assert old in GOOD
    found = problems(tmp_path, GOOD.replace(old, new))
    path = str(tmp_path / "align-sync.yaml")
    assert any(p.startswith(f"{path}: {expected}") for p in found), found


def test_every_problem_at_once(tmp_path, monkeypatch):
    monkeypatch.delenv("JIRA_API_TOKEN")
    text = GOOD.replace("every: 15m", "every: soon").replace("{components: [Pricing]}", "{labelz: [x]}")
    found = problems(tmp_path, text)
    joined = "\n".join(found)
    assert "environment variable JIRA_API_TOKEN is not set" in joined
    assert "source.auth.token" in joined
    assert "schedule.every" in joined and "labelz: unknown key" in joined
    assert len(found) >= 3


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        configfile.load(tmp_path / "nope.yaml")
    assert "not valid YAML (line" in problems(tmp_path, "source: [unclosed\n")[0]


def test_both_source_and_sources_is_an_error(tmp_path):
    text = GOOD + "sources:\n  - {name: a, type: file, path: x.json}\n"
    assert any("exactly one of `source`" in p for p in problems(tmp_path, text))


def test_sources_need_unique_names(tmp_path):
    text = GOOD.replace("source:\n  type: jira", "old:\n  type: jira").split("old:")[0] + \
        "sources:\n  - {name: a, type: file, path: x.json}\n  - {name: a, type: file, path: y.json}\n" + \
        GOOD[GOOD.index("sink:"):]
    assert any("repeated: a" in p for p in problems(tmp_path, text))


def test_duplicate_ids_rejected(tmp_path):
    text = GOOD.replace("id: pricing", "id: emails")
    assert any("used twice" in p for p in problems(tmp_path, text))


def test_the_documented_example_loads_for_cloud_and_data_center(tmp_path, monkeypatch):
    from .conftest import ROOT
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/etc/align-sync/sa.json")
    text = (ROOT / "config" / "example.yaml").read_text()
    config, secrets = configfile.load(write(tmp_path, text))
    assert config.source.type == "jira" and config.source.auth.email == "ops@acme.test"
    assert config.sink.type == "google_sheets" and config.schedule.every.total_seconds() == 900
    assert [lv.id for lv in config.outcomes[0].levers] == ["onboarding-emails", "pricing-test",
                                                            "upgrade-prompts"]
    assert len(config.ignore) == 2 and "tok-secret-123" in secrets
    # Data Center: the same file without `email` means a personal access token.
    dc, _ = configfile.load(write(tmp_path, text.replace("    email: ${JIRA_EMAIL}", "")))
    assert dc.source.auth.email is None and dc.source.auth.token == "tok-secret-123"


@pytest.mark.parametrize("notify", ['["${HOOK}"]', '[{type: "${HOOK}"}]', '[{type: slack, webhook: [ "${HOOK}" ]}]'])
def test_a_value_from_the_environment_in_the_wrong_place_is_never_echoed(tmp_path, notify):
    # A tester's finding: a bare ${SLACK_WEBHOOK} where a block belongs was echoed whole.
    hook = "https://hooks.slack.com/services/T0AB12CD3/B0EF45GH6/aZ3kSECRETSECRET"
    text = GOOD + f"review:\n  notify: {notify}\n"
    with pytest.raises(ConfigError) as caught:
        configfile.load(write(tmp_path, text), env={"HOOK": hook})
    said = "\n".join(caught.value.problems) or str(caught.value)
    assert "review.notify[0]" in said
    assert "SECRETSECRET" not in said and "hooks.slack.com" not in said


def test_a_short_value_from_the_environment_is_not_echoed_either(tmp_path):
    with pytest.raises(ConfigError) as caught:
        configfile.load(write(tmp_path, GOOD.replace("schedule: {every: 15m}", "schedule: {every: '${X}'}")),
                        env={"X": "-1h", "JIRA_EMAIL": "a@b.test", "JIRA_API_TOKEN": "x"})
    said = "\n".join(caught.value.problems) or str(caught.value)
    assert "schedule.every" in said and "-1h" not in said


@pytest.mark.parametrize("every", ["3000000d", "99999999999d", "P99999D"])
def test_a_schedule_past_ten_years_is_refused_not_overflowed(tmp_path, every):
    # A tester's finding: `check` said ok, then `run` crashed with OverflowError.
    with pytest.raises(ConfigError) as caught:
        configfile.load(write(tmp_path, GOOD.replace("schedule: {every: 15m}",
                                                     f"schedule: {{every: {every}}}")))
    said = "\n".join(caught.value.problems) or str(caught.value)
    assert "schedule.every" in said and "at most 3650d" in said


def test_a_secret_written_into_the_file_is_said_and_one_from_the_environment_is_not(tmp_path):
    # A tester's finding: a literal token passed without a word.
    env = {"JIRA_EMAIL": "a@b.test", "JIRA_API_TOKEN": "x"}
    literal = GOOD.replace("${JIRA_API_TOKEN}", "LiteralSEKRET")
    with capture_logs() as logs:
        configfile.load(write(tmp_path, literal), env=env)
    said = [e for e in logs if e["event"] == "config.secret_in_file"]
    assert len(said) == 1 and said[0]["keys"] == ["source.auth.token"]
    assert "LiteralSEKRET" not in repr(logs)
    with capture_logs() as logs:
        configfile.load(write(tmp_path, GOOD), env=env)
    assert not [e for e in logs if e["event"] == "config.secret_in_file"]
