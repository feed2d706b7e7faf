"""The Kubernetes deployment (deploy/kubernetes/) loads in the real tools, as the charts would hand it over.

For each Collector release the test rebuilds the command line the upstream chart renders: `--config=/conf/relay.yaml`
(the ConfigMap key `relay`) then the values' `command.extraArgs`, maps every mounted file back to the repository
file configmaps.sh puts in the ConfigMap, and runs `otelcol-llm validate` on exactly those files in that order with
the values' env. The Jaeger `userconfig` blocks go through `jaeger validate`, the Prometheus server config rendered
from the values through `promtool check config`. Helm, a cluster and the images are NOT exercised here (no cluster,
no Docker on this machine): chart templating, scheduling, DNS and the contrib image itself are outside this test.

Runs in about 10 s. Needs `make components` (Collector, Jaeger, promtool).
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.scale.scale_procs import REPO, base_config, built_binary

K8S = REPO / "deploy" / "kubernetes"
RELEASES = {
    "agent": ["otel-agent-values.yaml"],
    "agent+kafka": ["otel-agent-values.yaml", "otel-agent-kafka-values.yaml"],
    "gateway": ["otel-gateway-values.yaml"],
    "gateway+kafka": ["otel-gateway-values.yaml", "otel-gateway-kafka-values.yaml"],
}
JAEGER_VALUES = ["jaeger-values.yaml", "jaeger-cassandra-values.yaml"]


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((K8S / name).read_text())


def helm_merge(into: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of -f files: maps deep, everything else (lists included) replaced."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            helm_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)
    return into


def configmap_files() -> dict[str, dict[str, Path]]:
    """ConfigMap name -> {key: repository file}, read from configmaps.sh's `--from-file=KEY=PATH` lines."""
    maps: dict[str, dict[str, Path]] = {}
    current = None
    for line in (K8S / "configmaps.sh").read_text().splitlines():
        if m := re.match(r"^apply (\S+)", line):
            current = maps.setdefault(m.group(1), {})
        for key, path in re.findall(r'--from-file=([\w.-]+)="\$\{root\}/([^"]+)"', line):
            assert current is not None
            current[key] = REPO / path
    return maps


def resolve(path: Path) -> Path:
    """collector/agent.yaml or gateway.yaml, or their marked stand-ins while those are not in the tree."""
    if path.parent == REPO / "collector" and path.stem in ("agent", "gateway"):
        return base_config(path.stem)
    return path


def release_configs(values: dict[str, Any]) -> list[Path]:
    """The files the chart's pod passes as --config, in order, as repository paths."""
    name = values["configMap"]["existingName"]
    files = configmap_files()[name]
    mounts = {m["name"]: m["mountPath"] for m in values.get("extraVolumeMounts", [])}
    mount = next(mounts[v["name"]] for v in values["extraVolumes"] if v.get("configMap", {}).get("name") == name)
    configs = [resolve(files["relay"])]
    for arg in values["command"]["extraArgs"]:
        target = arg.removeprefix("--config=")
        assert target.startswith(mount + "/"), f"{arg}: not a file of the mounted ConfigMap {name} ({mount})"
        key = target[len(mount) + 1:]
        assert key in files, f"{arg}: configmaps.sh puts no key {key!r} in {name}"
        configs.append(resolve(files[key]))
    return configs


def test_every_file_parses():
    files = sorted(K8S.rglob("*.yaml"))
    assert len(files) >= 9, files
    for path in files:
        assert isinstance(yaml.safe_load(path.read_text()), dict), path
    scrape = yaml.safe_load(load("prometheus-values.yaml")["extraScrapeConfigs"])
    assert {job["job_name"] for job in scrape} == {"otel-collector-exporter", "otel-collector", "jaeger"}


@pytest.mark.parametrize("release", list(RELEASES))
def test_collector_release_config_validates(release: str, tmp_path: Path):
    values: dict[str, Any] = {}
    for name in RELEASES[release]:
        helm_merge(values, load(name))
    configs = release_configs(values)
    env = {e["name"]: e["value"] for e in values.get("extraEnvs", [])}
    referenced = "".join(p.read_text() for p in configs)
    unread = [k for k in env if f"${{env:{k}" not in referenced]
    assert not unread, f"{release}: the values set env vars no config reads: {unread}"
    base = yaml.safe_load(configs[0].read_text())
    assert "health_check" in base["service"].get("extensions", []), "the chart's probes need health_check on :13133"

    binary = built_binary("collector/build.sh")
    proc = subprocess.run([binary, "validate", *[f"--config={p}" for p in configs]], cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"{release}: otelcol validate {[str(p) for p in configs]}:\n{proc.stderr[-3000:]}"


def test_agents_route_to_the_gateways_headless_service():
    agent, gateway = load("otel-agent-values.yaml"), load("otel-gateway-values.yaml")
    assert gateway["service"]["clusterIP"] == "None", "the loadbalancing dns resolver needs one A record per pod"
    assert gateway["mode"] == "deployment" and agent["mode"] == "daemonset"
    env = {e["name"]: e["value"] for e in agent["extraEnvs"]}
    assert env["LLM_OTEL_GATEWAY_HEADLESS_SERVICE"].startswith(f"{gateway['fullnameOverride']}.")
    resolver = yaml.safe_load((K8S / "collector" / "k8s-agent.yaml").read_text())["exporters"]["loadbalancing"]["resolver"]
    assert [k for k, v in resolver.items() if v is not None] == ["dns"]
    grpc = yaml.safe_load((K8S / "collector" / "k8s-gateway.yaml").read_text())["receivers"]["otlp"]["protocols"]["grpc"]
    assert grpc["endpoint"].endswith(f":{resolver['dns']['port']}")


@pytest.mark.parametrize("name", JAEGER_VALUES)
def test_jaeger_userconfig_validates(name: str, tmp_path: Path):
    config = tmp_path / "user-config.yaml"
    config.write_text(yaml.safe_dump(load(name)["userconfig"]))
    binary = built_binary("jaeger/build.sh")
    proc = subprocess.run([binary, "validate", f"--config={config}"], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "ES_PASSWORD": "x", "CASSANDRA_PASSWORD": "x"}, timeout=60)
    assert proc.returncode == 0 and "invalid keys" not in proc.stderr, f"{name}:\n{proc.stderr[-3000:]}"


def test_prometheus_values_render_a_valid_config_with_the_shipped_remote_write(tmp_path: Path):
    server = load("prometheus-values.yaml")
    fragment = yaml.safe_load((REPO / "prometheus" / "remote-write.yml").read_text())["remote_write"][0]
    shipped = server["server"]["remoteWrite"][0]
    assert {k: v for k, v in shipped.items() if k != "url"} == {k: v for k, v in fragment.items() if k != "url"}
    rendered = {
        "global": server["server"]["global"],
        "rule_files": server["serverFiles"]["prometheus.yml"]["rule_files"],
        "remote_write": server["server"]["remoteWrite"],
        "scrape_configs": yaml.safe_load(server["extraScrapeConfigs"]),
    }
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(rendered))
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found on PATH; install it with `make components` (apt-get install -y prometheus)"
    proc = subprocess.run([promtool, "check", "config", "--syntax-only", str(config)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
