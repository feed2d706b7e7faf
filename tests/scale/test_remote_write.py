"""Prometheus remote_write (prometheus/remote-write.yml) into a real VictoriaMetrics (Debian's victoria-metrics).

The stack runs as `llm-otel stack up` runs it (Collector, Jaeger, Prometheus, Alertmanager on free ports); the test
appends the shipped remote_write block to the running Prometheus' config, reloads it, sends LLM token-usage metrics
through the Collector with the OTel SDK, and reads them back from VictoriaMetrics' Prometheus query API: the same
series, the same values as in Prometheus, and the recording rules' output too.

Runs in about 30-50 s on the 2-core machine. Needs `make components` (victoria-metrics comes from apt there).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llm_otel._semconv as sc
import pytest
import yaml
from llm_otel_tools.stack import Endpoints, Stack, StackError
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from tests.scale.scale_procs import REPO, Proc, free_port, http_ok
from tests.support import poll

FRAGMENT = REPO / "prometheus" / "remote-write.yml"
VM_HINT = "victoria-metrics not found on PATH; install it with `make components` (apt-get install -y victoria-metrics)"
SERVICE = "scale-remote-write"


def with_remote_write(prometheus_yml: str, url: str) -> str:
    """prometheus.yml text with the shipped remote_write block appended, pointed at `url`."""
    block = yaml.safe_load(FRAGMENT.read_text())
    assert list(block) == ["remote_write"], "the fragment holds exactly the top-level remote_write block"
    block["remote_write"][0]["url"] = url
    return prometheus_yml.rstrip() + "\n\n" + yaml.safe_dump(block, sort_keys=False)


def test_fragment_is_valid_prometheus_config(tmp_path: Path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool not found on PATH; install it with `make components` (apt-get install -y prometheus)"
    config = tmp_path / "prometheus.yml"
    text = (REPO / "prometheus" / "prometheus.yml").read_text()
    config.write_text(with_remote_write(text, "http://127.0.0.1:8428/api/v1/write"))
    proc = subprocess.run([promtool, "check", "config", "--syntax-only", str(config)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def query(base: str, promql: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as resp:
        data = json.loads(resp.read())
    assert data["status"] == "success", data
    return list(data["data"]["result"])


@pytest.fixture(scope="module")
def stack_with_vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Endpoints, str, Stack]]:
    binary = shutil.which("victoria-metrics")
    if binary is None:
        pytest.fail(VM_HINT, pytrace=False)
    root = tmp_path_factory.mktemp("remote-write")
    port = free_port()
    vm = Proc("victoria-metrics", [binary, f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={root / 'vm'}",
                                   "-retentionPeriod=1d", "-search.latencyOffset=1s", "-loggerLevel=WARN"],
              root / "vm.log")
    stack = Stack(root / "stack")
    try:
        vm.wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/health"), "healthy")
        try:
            endpoints = stack.up(free_ports=True, fast=True)
        except StackError as exc:
            pytest.fail(f"cannot start the pipeline: {exc}", pytrace=False)
        config = stack.state_dir / "prometheus" / "prometheus.yml"
        config.write_text(with_remote_write(config.read_text(), f"http://127.0.0.1:{port}/api/v1/write"))
        stack.reload_prometheus()
        yield endpoints, f"http://127.0.0.1:{port}", stack
    finally:
        stack.down()
        vm.stop()


@pytest.mark.stack
def test_series_arrive_in_victoria_metrics(stack_with_vm: tuple[Endpoints, str, Stack]):
    endpoints, vm, _ = stack_with_vm
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoints.otlp_grpc, insecure=True),
                                           export_interval_millis=500)
    provider = MeterProvider(resource=Resource.create({"service.name": SERVICE}), metric_readers=[reader])
    usage = provider.get_meter("scale").create_histogram(sc.METRIC_TOKEN_USAGE, unit="{token}")
    attrs = {sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT, sc.GEN_AI_PROVIDER_NAME: "openai",
             sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini"}
    try:
        for tokens in (120, 480, 33):
            usage.record(tokens, {**attrs, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT})
        provider.force_flush()
    finally:
        provider.shutdown()

    count = f'gen_ai_client_token_usage_count{{job="{SERVICE}"}}'
    in_prom = poll(lambda: (r := query(endpoints.prometheus, count)) and float(r[0]["value"][1]) == 3 and r,
                   timeout=60, what=f"Prometheus: {count} == 3")
    in_vm = poll(lambda: (r := query(vm, count)) and float(r[0]["value"][1]) == 3 and r,
                 timeout=60, what=f"VictoriaMetrics (remote_write): {count} == 3")
    assert in_vm[0]["metric"] == in_prom[0]["metric"], "the series keeps every label through remote_write"
    total = f'gen_ai_client_token_usage_sum{{job="{SERVICE}"}}'
    assert float(query(vm, total)[0]["value"][1]) == 633

    # Everything Prometheus stores is written: its own scrape series and the recording rules' results.
    poll(lambda: query(vm, 'up{job="prometheus"}'), timeout=30, what="up{job=prometheus} in VictoriaMetrics")
    recorded = {r["metric"]["__name__"] for r in query(endpoints.prometheus, '{__name__=~"llm_otel:.+"}')}
    assert recorded, "the stack's recording rules produced no series"
    poll(lambda: recorded <= {r["metric"]["__name__"] for r in query(vm, '{__name__=~"llm_otel:.+"}')},
         timeout=30, what=f"the recorded series {sorted(recorded)} in VictoriaMetrics")
