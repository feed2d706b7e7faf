"""The pipeline's config files are valid for the real tools that load them.

Each test runs the tool a user would run (promtool, amtool, the built Collector, docker-compose) on the
committed files. A missing tool is a failure naming the command that installs it, never a skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from llm_otel_tools.stack import APT_HINT, GO_HINT, find_repo_root

REPO = find_repo_root()
RULE_FILES = sorted((REPO / "prometheus" / "rules").glob("*.yml"))
RULE_TESTS = sorted((REPO / "prometheus" / "tests").glob("*.yml"))


def tool(name: str, install: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found on PATH; install it with: {install}")
    return path


def run(*cmd: str | Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(c) for c in cmd], cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_rule_and_test_files_exist():
    names = {p.name for p in RULE_FILES}
    assert {"llm-recording.yml", "llm-alerts.yml", "pipeline-alerts.yml", "drift.yml"} <= names
    assert len(RULE_TESTS) >= 3


def test_promtool_check_config():
    out = run(tool("promtool", APT_HINT), "check", "config", "prometheus/prometheus.yml")
    assert "SUCCESS" in out.stdout + out.stderr


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_promtool_check_rules(rule_file: Path):
    run(tool("promtool", APT_HINT), "check", "rules", rule_file)


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda p: p.name)
def test_promtool_test_rules(test_file: Path):
    out = run(tool("promtool", APT_HINT), "test", "rules", test_file)
    assert "SUCCESS" in out.stdout + out.stderr


def _rule_names(path: Path) -> set[str]:
    return set(re.findall(r"(?m)^\s+- (?:record|alert): (\S+)", path.read_text()))


def test_every_rule_has_a_unit_test():
    """Every recorded series and every alert name appears in some promtool test file."""
    tests_text = "\n".join(p.read_text() for p in RULE_TESTS)
    tested_alerts = set(re.findall(r"alertname: (\S+)", tests_text))
    missing = []
    for rule_file in RULE_FILES:
        for name in _rule_names(rule_file):
            is_alert = f"- alert: {name}" in rule_file.read_text()
            if (is_alert and name not in tested_alerts) or (not is_alert and name not in tests_text):
                missing.append(f"{rule_file.name}: {name}")
    assert not missing, f"rules without a promtool test: {missing}"


def test_alert_names_and_thresholds_are_the_contract():
    alerts = (REPO / "prometheus" / "rules" / "llm-alerts.yml").read_text()
    drift = (REPO / "prometheus" / "rules" / "drift.yml").read_text()
    expected = {
        "LLMHighLatency": ("p95_5m > 5", "warning"),
        "LLMCriticalLatency": ("p99_5m > 10", "critical"),
        "LLMHighErrorRate": ("> 0.05", "warning"),
        "LLMCriticalErrorRate": ("> 0.10", "critical"),
        "LLMCostSpike": ("> llm_otel:cost_budget_usd:1h", "warning"),
        "LLMTokenSpike": ("> 10000", "warning"),
    }
    for name, (threshold, severity) in expected.items():
        block = alerts.split(f"- alert: {name}\n", 1)[1].split("- alert:", 1)[0]
        assert threshold in block and f"severity: {severity}" in block, name
    for name, threshold in {"LLMRefusalDrift": "> 0.10", "LLMResponseLengthDrift": "> 0.30", "LLMHallucinationMarkerDrift": "> 0.15"}.items():
        block = drift.split(f"- alert: {name}\n", 1)[1].split("- alert:", 1)[0]
        assert threshold in block, name


def test_amtool_check_config():
    out = run(tool("amtool", APT_HINT), "check-config", "alertmanager/alertmanager.yml")
    assert "SUCCESS" in out.stdout + out.stderr


@pytest.fixture(scope="module")
def collector_binary() -> str:
    proc = subprocess.run(["bash", "collector/build.sh"], cwd=REPO, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        hint = GO_HINT if proc.returncode == 127 else ""
        pytest.fail(f"collector/build.sh failed ({proc.returncode}): {proc.stderr[-2000:]}\n{hint}")
    return proc.stdout.strip().splitlines()[-1]


def test_collector_validate(collector_binary: str):
    run(collector_binary, "validate", "--config=otel-collector-config.yaml")


def test_collector_validate_with_content_drop_switch(collector_binary: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LLM_OTEL_DROP_CONTENT", "true")
    monkeypatch.setenv("LLM_OTEL_SAMPLING_PERCENTAGE", "10")
    run(collector_binary, "validate", "--config=otel-collector-config.yaml")


def test_manifest_builds_exactly_the_components_the_configs_use(collector_binary: str):
    """The manifest builds what the shipped Collector configs use: the single-Collector pipeline plus the
    two-tier and Kafka configs under collector/ (every YAML there but the manifest itself)."""
    components = run(collector_binary, "components").stdout
    built = set(re.findall(r"(?m)^\s+- name: (\S+)", components))
    tiers = sorted(p for p in (REPO / "collector").glob("*.yaml") if p.name != "manifest.yaml")
    configs = [REPO / "otel-collector-config.yaml", *tiers]
    used = set()
    for path in configs:
        sections = re.split(r"(?m)^(receivers|processors|exporters|connectors|extensions|service):\s*$", path.read_text())
        for kind, body in zip(sections[1::2], sections[2::2], strict=False):
            if kind != "service":
                used |= {m.split("/")[0] for m in re.findall(r"(?m)^  ([a-z_]+(?:/[\w-]+)?):", body)}
    assert used == built, f"built but unused: {built - used}; used but not built: {used - built}"


def test_jaeger_configs_share_ports_from_env():
    for name in ("config.yaml", "config-badger.yaml"):
        text = (REPO / "jaeger" / name).read_text()
        assert "LLM_OTEL_JAEGER_OTLP_GRPC_PORT:-14317" in text and "LLM_OTEL_JAEGER_HEALTH_PORT:-13134" in text
    assert "badger:" in (REPO / "jaeger" / "config-badger.yaml").read_text()


def test_docker_compose_config(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GRAFANA_ADMIN_PASSWORD", "a-password-of-the-user")  # required, no default
    run(tool("docker-compose", "apt-get install docker-compose"), "-f", "docker-compose.yml", "config", "-q")


def test_docker_compose_mounts_exist_and_binds_localhost():
    text = (REPO / "docker-compose.yml").read_text()
    assert not re.search(r"(?m)^name:", text), "docker-compose 1.29 rejects a top-level name:"
    mounts = re.findall(r"(?m)^\s+- (\./[^:\s]+):", text)
    assert mounts, "expected bind mounts of the repo's config files"
    missing = [m for m in mounts if not (REPO / m).exists()]
    assert not missing, f"compose mounts missing files: {missing}"
    ports = re.findall(r'(?m)^\s+- "([^"]+:\d+)"', text)
    assert ports and all(p.startswith("127.0.0.1:") for p in ports), ports
    for mount in ("./otel-collector-config.yaml", "./jaeger/config-badger.yaml", "./prometheus/prometheus.yml",
                  "./prometheus/rules", "./alertmanager/alertmanager.yml", "./grafana/provisioning", "./grafana/dashboards"):
        assert mount in mounts, mount
