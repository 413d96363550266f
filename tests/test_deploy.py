"""deploy/ lints clean and its examples are valid align-sync configs."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sync.worker import configfile

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


KUSTOMIZATIONS = ("base", "fleet", "overlays/example")


def render(tmp_path, where: str) -> list[dict]:
    """`kubectl kustomize` (offline), written to a file for kubernetes-validate."""
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not on this machine: the Kustomize render is not checked here "
                    "(every manifest is still validated by test_kubernetes_files_validate)")
    run = subprocess.run([kubectl, "kustomize", str(DEPLOY / "k8s" / where)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    out = tmp_path / f"{where.replace('/', '-')}.yaml"
    out.write_text(run.stdout)
    check = subprocess.run([tool("kubernetes-validate"), "--strict", str(out)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    return [d for d in yaml.safe_load_all(run.stdout) if d]


@pytest.mark.slow
def test_kubernetes_files_validate():
    files = sorted(str(p) for p in (DEPLOY / "k8s").rglob("*.yaml")
                   if p.name != "kustomization.yaml" and yaml.safe_load(p.read_text()).get("kind"))
    assert len(files) == 7
    run = subprocess.run([tool("kubernetes-validate"), "--strict", *files], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


@pytest.mark.slow
def test_base_renders_one_cronjob_with_its_config_and_state(tmp_path):
    docs = render(tmp_path, "base")
    (job,) = by_kind(docs, "CronJob")
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"] == ["run", "--once"]
    (cm,) = by_kind(docs, "ConfigMap")
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["config"]["configMap"]["name"] == cm["metadata"]["name"]
    assert volumes["state"]["persistentVolumeClaim"]["claimName"] == by_kind(docs, "PersistentVolumeClaim")[0]["metadata"]["name"]


@pytest.mark.slow
def test_the_example_overlay_is_one_cronjob_per_workspace(tmp_path, jira_env):
    docs = render(tmp_path, "overlays/example")
    jobs = {j["metadata"]["name"]: j for j in by_kind(docs, "CronJob")}
    assert sorted(jobs) == ["align-sync-growth", "align-sync-payments"]
    maps = {m["metadata"]["name"]: m for m in by_kind(docs, "ConfigMap")}
    claims = {c["metadata"]["name"] for c in by_kind(docs, "PersistentVolumeClaim")}
    assert claims == {"align-sync-state-growth", "align-sync-state-payments"}
    queries = set()
    for name, job in jobs.items():
        team = name.removeprefix("align-sync-")
        assert job["metadata"]["labels"]["align-sync/workspace"] == team
        assert job["spec"]["concurrencyPolicy"] == "Forbid"
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["state"]["persistentVolumeClaim"]["claimName"] == f"align-sync-state-{team}"
        assert volumes["secrets"]["secret"]["secretName"] == "align-sync"        # by reference
        config_map = maps[volumes["config"]["configMap"]["name"]]
        assert config_map["metadata"]["name"].startswith(f"align-sync-config-{team}-")
        config, _ = load_text(tmp_path, f"{team}.yaml", config_map["data"]["align-sync.yaml"])
        queries.add(config.source.jql)
    assert len(queries) == 2


def one_deployment(tmp_path, where: str):
    """The rendered Deployment's pod spec, its container and its ConfigMap: one
    replica, `Recreate` (each state file is locked; two workers would refuse)."""
    docs = render(tmp_path, where)
    (dep,) = by_kind(docs, "Deployment")
    spec = dep["spec"]
    assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate"
    (cm,) = by_kind(docs, "ConfigMap")
    pod = spec["template"]["spec"]
    return pod, pod["containers"][0], cm


def load_text(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return configfile.load(path)


@pytest.fixture
def jira_env(monkeypatch):
    monkeypatch.setenv("JIRA_EMAIL", "ops@example.com")
    monkeypatch.setenv("JIRA_API_TOKEN", "t")


@pytest.mark.slow
def test_the_daemon_deployment_runs_one_workspace(tmp_path, jira_env):
    pod, container, cm = one_deployment(tmp_path, "daemon")
    # Liveness on /livez (was /healthz): an expired token must not restart the pod forever.
    assert container["args"][0] == "run" and container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["config"]["configMap"]["name"] == cm["metadata"]["name"]
    config, _ = load_text(tmp_path, "c.yaml", cm["data"]["align-sync.yaml"])
    assert config.health_port == 9100


@pytest.mark.slow
def test_the_fleet_deployment_serves_a_folder(tmp_path, jira_env):
    pod, container, cm = one_deployment(tmp_path, "fleet")
    assert container["args"][:3] == ["run", "--workspaces", "/etc/align-sync/workspaces"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert sorted(cm["data"]) == ["growth.yaml", "payments.yaml"]
    states = set()
    for key, text in cm["data"].items():
        config, secrets = load_text(tmp_path, key, text)
        assert config.sink.type == "google_sheets" and secrets == {"t"}
        states.add(config.state)
    assert len(states) == 2                       # each workspace its own state file


def test_systemd_units():
    unit = (DEPLOY / "systemd/align-sync.service").read_text()
    for line in ("ProtectSystem=strict", "StateDirectory=align-sync", "NoNewPrivileges=yes",
                 "Restart=on-failure"):
        assert line in unit
    assert "run --once" in (DEPLOY / "systemd/align-sync-once.service").read_text()
    assert "OnUnitActiveSec=15min" in (DEPLOY / "systemd/align-sync-once.timer").read_text()
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert compose["services"]["align-sync"]["volumes"][-1].startswith("align-sync-state:")


def test_the_one_shot_unit_has_a_start_timeout_and_verify_ignores_nothing():
    once = (DEPLOY / "systemd/align-sync-once.service").read_text()
    assert "TimeoutStartSec=15min" in once and "RuntimeMaxSec" not in once.replace("RuntimeMaxSec= has", "")
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not on this machine")
    for unit in ("align-sync.service", "align-sync-once.service", "align-sync-once.timer"):
        run = subprocess.run([analyze, "verify", str(DEPLOY / "systemd" / unit)],
                             capture_output=True, text=True, timeout=60)
        # The one complaint allowed: the venv of /opt/align-sync is not installed here.
        said = [line for line in (run.stdout + run.stderr).splitlines()
                if line.strip() and "is not executable" not in line]
        assert said == [], unit


def test_the_service_units_are_hardened(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not on this machine")
    for unit in ("align-sync.service", "align-sync-once.service"):
        run = subprocess.run([analyze, "security", "--offline=yes", str(DEPLOY / "systemd" / unit)],
                             capture_output=True, text=True, timeout=60)
        line = [x for x in run.stdout.splitlines() if "Overall exposure level" in x][0]
        exposure = float(line.split(":")[1].split()[0])
        assert exposure <= 1.5, line                  # 4.5 before the hardening


def test_the_image_is_byte_compiled_from_the_pinned_set_in_cached_layers():
    text = (DEPLOY / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    base = next(line for line in lines if line.startswith("FROM "))
    assert re.fullmatch(r"FROM python:\d+\.\d+\.\d+-slim-\w+", base), base      # a patch release
    assert "--no-compile" not in text and "python -m compileall" in text
    order = [next(i for i, line in enumerate(lines) if line.startswith(prefix)) for prefix in (
        "COPY deploy/constraints.txt", "RUN pip install --no-deps --requirement constraints.txt",
        "COPY sync", "RUN pip install --no-deps .")]
    assert order == sorted(order)             # dependencies install before any source is copied
    assert "/livez" in text and "/healthz" not in text.split("HEALTHCHECK")[1]
    assert "-c deploy/constraints.txt" in (ROOT / "Makefile").read_text()


def pinned() -> dict[str, str]:
    out = {}
    for line in (DEPLOY / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            out[canonical(name)] = version
    return out


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_pinned_set_satisfies_every_dependency():
    import tomllib

    from packaging.requirements import Requirement
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = pinned()
    for spec in project["dependencies"]:
        req = Requirement(spec)
        assert canonical(req.name) in pins, f"{req.name} is not in deploy/constraints.txt"
        assert req.specifier.contains(pins[canonical(req.name)], prereleases=True), spec


def test_the_build_context_and_git_keep_secrets_out():
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") - 1].startswith("#") and "*" in ignore     # everything out, then…
    allowed = {line[1:] for line in ignore if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "sync/", "connectors/", "deploy/constraints.txt"}
    paths = ["deploy/secrets/google-sa.json", "deploy/secrets/align-sync.yaml", ".env", "deploy/.env"]
    run = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True)
    assert run.stdout.split() == paths


def test_compose_asks_only_for_what_the_config_names():
    text = (DEPLOY / "compose.yaml").read_text()
    assert ":?" not in text and "JIRA" not in yaml.safe_dump(yaml.safe_load(text))
    service = yaml.safe_load(text)["services"]["align-sync"]
    assert service["env_file"] == [{"path": ".env", "required": False}]
    assert "./secrets:/etc/align-sync:ro" in service["volumes"]


def spread():
    import importlib.util
    spec = importlib.util.spec_from_file_location("spread", DEPLOY / "k8s" / "spread.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.schedule


@pytest.mark.slow
def test_cronjob_schedules_are_spread_by_workspace_name(tmp_path):
    schedule = spread()
    assert schedule("growth") == schedule("growth") and schedule("growth", 30).endswith("/30 * * * *")
    minutes = {schedule(f"team-{n}").split("-")[0] for n in range(100)}
    assert len(minutes) == 15                  # a hundred teams use every minute of the quarter hour
    docs = render(tmp_path, "overlays/example")
    jobs = {j["metadata"]["labels"]["align-sync/workspace"]: j["spec"]["schedule"]
            for j in by_kind(docs, "CronJob")}
    assert jobs == {name: schedule(name) for name in ("growth", "payments")}
    assert len(set(jobs.values())) == 2
