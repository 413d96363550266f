"""deploy/ lints clean and its examples are valid align-sync configs."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sync import configfile

from .conftest import ROOT

DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: `pip install -e '.[test]'` brings it")
    return found


def test_dockerfile_passes_hadolint():
    run = subprocess.run([tool("hadolint"), "--failure-threshold", "info", str(DEPLOY / "Dockerfile")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_kubernetes_manifests_validate():
    files = sorted(str(p) for p in (DEPLOY / "k8s").glob("*.yaml"))
    assert len(files) == 5
    run = subprocess.run([tool("kubernetes-validate"), "--strict", *files], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_kubernetes_shape():
    docs = {p.name: yaml.safe_load(p.read_text()) for p in (DEPLOY / "k8s").glob("*.yaml")}
    dep = docs["deployment.yaml"]["spec"]
    assert dep["replicas"] == 1 and dep["strategy"]["type"] == "Recreate"
    container = dep["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert docs["cronjob.yaml"]["spec"]["concurrencyPolicy"] == "Forbid"
    assert docs["cronjob.yaml"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"] \
        == ["run", "--once"]


def test_configmap_config_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("JIRA_EMAIL", "ops@example.com")
    monkeypatch.setenv("JIRA_API_TOKEN", "t")
    text = yaml.safe_load((DEPLOY / "k8s/configmap.yaml").read_text())["data"]["align-sync.yaml"]
    path = tmp_path / "align-sync.yaml"
    path.write_text(text)
    config, secrets = configfile.load(path)
    assert config.sink.type == "google_sheets" and secrets == {"t"}


def test_systemd_units():
    unit = (DEPLOY / "systemd/align-sync.service").read_text()
    for line in ("ProtectSystem=strict", "StateDirectory=align-sync", "NoNewPrivileges=yes",
                 "Restart=on-failure"):
        assert line in unit
    assert "run --once" in (DEPLOY / "systemd/align-sync-once.service").read_text()
    assert "OnUnitActiveSec=15min" in (DEPLOY / "systemd/align-sync-once.timer").read_text()
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert compose["services"]["align-sync"]["volumes"][-1].startswith("align-sync-state:")
