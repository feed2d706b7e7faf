"""End to end: process, host and GPU metrics next to the LLM metrics, and the SLO burn-rate alert.

With the stack up (fast variant: 1s scrape/evaluation, 2s hostmetrics interval, alert `for: 0s`):
- an app process configured by llm_otel.configure() exports its process.* metrics, hw.gpu.* from the GPU
  reporter fed by a REPLAYED NVML reading (no GPU on this machine: tests/nvml_replay.py), and per-model
  CPU/GPU-seconds; the Collector's hostmetrics receiver adds system.*; all are read back from Prometheus
  under the names its exporter derives from the semconv names;
- calls that all fail make LLMErrorBudgetFastBurn fire for that service and model, delivered to the webhook;
- `llm-otel report` shows the host, the replayed GPUs and the burning SLO.
Run: pytest -m stack tests/e2e/test_system_metrics_stack.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from llm_otel_tools.readside import report

from tests.e2e.test_pipeline import _two_phase, make_app, unique
from tests.nvml_replay import RECORDING

if TYPE_CHECKING:
    from conftest import Pipeline, Webhook

pytestmark = pytest.mark.stack

REPO = Path(__file__).resolve().parents[2]
APP = Path(__file__).parent / "apps" / "sysmetrics_app.py"


@pytest.fixture(scope="module")
def sysapp(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app process, running until the module's tests are done; yields its service name."""
    service = unique("e2e-sysmetrics")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_OTEL_"))}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "OTEL_SERVICE_NAME": service,
            "OTEL_EXPORTER_OTLP_ENDPOINT": pipeline.endpoints.otlp_grpc,
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "llm_otel_gpu",  # the app instruments the replay itself
        }
    )
    log = tmp_path_factory.mktemp("sysapp") / "stderr.log"
    with open(log, "w") as err:  # a file, not a pipe: the app's warnings can never block it
        proc = subprocess.Popen([sys.executable, str(APP)], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "READY", log.read_text()[-3000:]
        yield service
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _value(series: list[dict[str, Any]]) -> float:
    return float(series[0]["value"][1])


def test_app_process_metrics_in_prometheus(pipeline: Pipeline, sysapp: str):
    job = f'job="{sysapp}"'
    cpu = pipeline.wait_query(f"process_cpu_time_seconds_total{{{job}}}", lambda r: len(r) == 2)
    assert {s["metric"]["type"] for s in cpu} == {"user", "system"}
    memory = pipeline.wait_query(f"process_memory_usage_bytes{{{job}}}")
    assert 10 * 2**20 < _value(memory) < 2 * 2**30  # a Python process's resident memory
    assert _value(pipeline.wait_query(f"process_thread_count{{{job}}}")) >= 1
    assert pipeline.wait_query(f"process_cpu_utilization_ratio{{{job}}}")
    # process only by default: the host's system.* come from the Collector, not from every app process
    assert pipeline.query(f"system_cpu_time_seconds_total{{{job}}}") == []


def test_collector_host_metrics_in_prometheus(pipeline: Pipeline):
    states = {s["metric"]["state"] for s in pipeline.wait_query("system_cpu_time_seconds_total", lambda r: len(r) >= 4)}
    assert {"user", "system", "idle"} <= states
    used = pipeline.wait_query('system_memory_usage_bytes{state="used"}')
    assert _value(used) > 0
    assert 0 <= _value(pipeline.wait_query('system_memory_utilization_ratio{state="used"}')) <= 1
    assert pipeline.wait_query("system_cpu_utilization_ratio")
    assert pipeline.wait_query("system_cpu_load_average_1m")
    root = pipeline.wait_query('system_filesystem_usage_bytes{mountpoint="/"}', lambda r: len(r) >= 2)
    assert {"used", "free"} <= {s["metric"]["state"] for s in root}
    assert pipeline.wait_query("system_disk_io_bytes_total")
    interfaces = {s["metric"]["device"] for s in pipeline.wait_query("system_network_io_bytes_total")}
    assert interfaces and "lo" not in interfaces


def test_replayed_gpu_metrics_in_prometheus(pipeline: Pipeline, sysapp: str):
    devices = json.loads(RECORDING.read_text())["samples"][-1]  # the replay repeats its last sample
    job = f'job="{sysapp}"'
    for d in devices:
        where = f'{job},hw_id="{d["uuid"]}"'
        util = pipeline.wait_query(
            f"hw_gpu_utilization_ratio{{{where}}}", lambda r, d=d: _value(r) == d["utilization"]["gpu"] / 100
        )
        labels = util[0]["metric"]
        assert (
            labels["hw_name"],
            labels["hw_model"],
            labels["hw_vendor"],
            labels["hw_type"],
            labels["hw_gpu_task"],
        ) == (f"gpu{d['index']}", "NVIDIA A10G", "NVIDIA", "gpu", "general")
        assert (
            _value(
                pipeline.wait_query(
                    f"hw_gpu_memory_usage_bytes{{{where}}}", lambda r, d=d: _value(r) == d["memory"]["used"]
                )
            )
            == d["memory"]["used"]
        )
        assert _value(pipeline.wait_query(f"hw_gpu_memory_limit_bytes{{{where}}}")) == d["memory"]["total"]
        assert _value(pipeline.wait_query(f"hw_gpu_memory_utilization_ratio{{{where}}}")) == pytest.approx(
            d["memory"]["used"] / d["memory"]["total"]
        )


def test_model_compute_seconds_in_prometheus(pipeline: Pipeline, sysapp: str):
    where = f'job="{sysapp}",gen_ai_request_model="local-llama-e2e"'
    cpu = pipeline.wait_query(f"llm_otel_model_cpu_time_seconds_total{{{where}}}", lambda r: _value(r) > 0)
    gpu = pipeline.wait_query(f"llm_otel_model_gpu_time_seconds_total{{{where}}}", lambda r: _value(r) > 0)
    assert (
        _value(gpu) >= _value(cpu) * 0.5
    )  # one GPU held for each call's wall time, which is at least its thread CPU time


def test_error_budget_fast_burn_fires_for_real(pipeline: Pipeline, webhook: Webhook):
    service, model = unique("e2e-slo"), unique("e2e-burning")
    app = make_app(pipeline, "grpc", service)
    _two_phase(pipeline, app, model, first=0, first_failed=2, then_ok=0, then_failed=10)
    app.shutdown()
    sel = f'{{job="{service}",gen_ai_request_model="{model}"}}'
    ratio = pipeline.wait_query(
        f"job_gen_ai_request_model:llm_otel_slo_errors:ratio_rate5m{sel}", lambda r: _value(r) == 1
    )
    assert _value(ratio) == 1
    assert _value(pipeline.wait_query(f"job_gen_ai_request_model:llm_otel_availability:ratio_rate1h{sel}")) == 0

    def delivered() -> list[dict[str, Any]]:
        return [
            a
            for a in webhook.alerts()
            if a["labels"].get("alertname") == "LLMErrorBudgetFastBurn"
            and a["labels"].get("job") == service
            and a["labels"].get("gen_ai_request_model") == model
        ]

    alerts = pipeline.poll(delivered, timeout=60, what=f"LLMErrorBudgetFastBurn for {service}/{model} at the webhook")
    assert alerts[0]["status"] == "firing"
    assert alerts[0]["labels"]["severity"] == "critical" and alerts[0]["labels"]["slo"] == "errors"

    data = report.build_report(pipeline.endpoints.prometheus, "5m", service=service)
    objective = next(o for o in data["slo"]["objectives"] if o["model"] == model)
    assert objective["availability_1h"] == 0 and objective["error_burn_rate_1h"] == pytest.approx(100)
    assert "LLMErrorBudgetFastBurn" in objective["burning"]


def test_report_shows_host_and_replayed_gpus(pipeline: Pipeline, sysapp: str):
    pipeline.wait_query(f'hw_gpu_utilization_ratio{{job="{sysapp}"}}', lambda r: len(r) == 2)
    data = report.build_report(pipeline.endpoints.prometheus, "5m", service=sysapp)
    assert len(data["system"]["hosts"]) == 1 and 0 <= data["system"]["hosts"][0]["cpu_utilization"] <= 1
    assert [p["service"] for p in data["system"]["processes"]] == [sysapp]
    assert {g["id"] for g in data["system"]["gpus"]} == {
        d["uuid"] for d in json.loads(RECORDING.read_text())["samples"][0]
    }
    text = report.render_text(data)
    assert "host 127.0.0.1:" in text and "gpu gpu0 NVIDIA A10G" in text
