"""The two-tier configs (collector/agent.yaml, collector/gateway.yaml) against the shipped single Collector config.

Every block the tiers share with otel-collector-config.yaml must be identical to it (no copy-paste drift), the
split of the pipeline must cover the single one exactly (agent = traces/in, gateway = traces/sampled), and the real
Collector binary must accept both files (`otelcol validate`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / name).read_text())
    return data


SINGLE = load("otel-collector-config.yaml")
AGENT = load("collector/agent.yaml")
GATEWAY = load("collector/gateway.yaml")


@pytest.mark.parametrize(
    ("config", "section", "key"),
    [
        (AGENT, "receivers", "otlp"),
        (AGENT, "receivers", "host_metrics"),
        (AGENT, "processors", "memory_limiter"),
        (AGENT, "processors", "transform/drop_content"),
        (AGENT, "processors", "redaction"),
        (AGENT, "processors", "batch"),
        (AGENT, "connectors", "span_metrics"),
        (AGENT, "exporters", "prometheus"),
        (AGENT, "exporters", "debug"),
        (AGENT, "exporters", "file/events"),
        (AGENT, "extensions", "health_check"),
        (AGENT, "extensions", "bearertokenauth/otlp"),
        (GATEWAY, "processors", "memory_limiter"),
        (GATEWAY, "processors", "tail_sampling"),
        (GATEWAY, "processors", "batch"),
        (GATEWAY, "exporters", "otlp_grpc/jaeger"),
        (GATEWAY, "extensions", "health_check"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_shared_blocks_equal_the_single_collector(config: dict[str, Any], section: str, key: str) -> None:
    assert config[section][key] == SINGLE[section][key]


def test_gateway_samples_with_exactly_the_single_collectors_policies() -> None:
    names = [p["name"] for p in GATEWAY["processors"]["tail_sampling"]["policies"]]
    assert names == [p["name"] for p in SINGLE["processors"]["tail_sampling"]["policies"]]
    assert "baseline" in names and "errors" in names


def test_gateway_queue_is_on_disk_like_the_single_collector() -> None:
    ours, theirs = dict(GATEWAY["extensions"]["file_storage/queue"]), dict(SINGLE["extensions"]["file_storage/queue"])
    for cfg in (ours, theirs):  # only the default directory differs (each gateway gets its own)
        cfg.pop("directory")
        cfg["compaction"] = {k: v for k, v in cfg["compaction"].items() if k != "directory"}
    assert ours == theirs


def test_the_tiers_split_the_single_pipeline_exactly() -> None:
    single = SINGLE["service"]["pipelines"]
    agent, gateway = AGENT["service"]["pipelines"], GATEWAY["service"]["pipelines"]
    assert set(agent) == {"traces", "metrics", "logs"} and set(gateway) == {"traces"}
    assert agent["traces"]["processors"] == single["traces/in"]["processors"]
    assert agent["traces"]["exporters"] == ["span_metrics", "load_balancing"]
    assert agent["metrics"] == single["metrics"] and agent["logs"] == single["logs"]
    assert gateway["traces"]["processors"] == single["traces/sampled"]["processors"]
    assert gateway["traces"]["exporters"] == single["traces/sampled"]["exporters"]


def test_agent_routes_by_trace_id_with_retry_and_a_queue() -> None:
    lb = AGENT["exporters"]["load_balancing"]
    assert lb["routing_key"] == "traceID"
    otlp = lb["protocol"]["otlp"]
    assert otlp["retry_on_failure"]["enabled"] is True and otlp["sending_queue"]["enabled"] is True
    assert "${env:LLM_OTEL_GATEWAY_ENDPOINTS" in lb["resolver"]["static"]["hostnames"]


@pytest.mark.parametrize("name", ["collector/agent.yaml", "collector/gateway.yaml"])
def test_the_collector_accepts_the_config(name: str) -> None:
    proc = subprocess.run(["bash", str(ROOT / "collector" / "build.sh")], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(f"collector/build.sh failed (needs Go >= 1.25, see its header):\n{proc.stderr[-2000:]}")
    binary = proc.stdout.strip().splitlines()[-1]
    env = {**os.environ, "LLM_OTEL_GATEWAY_ENDPOINTS": "[127.0.0.1:14417, 127.0.0.1:14418]"}
    check = subprocess.run([binary, "validate", f"--config={ROOT / name}"], capture_output=True, text=True, env=env, check=False)
    assert check.returncode == 0, check.stderr
