"""Process metrics from configure(), the NVML GPU reporter (hw.gpu.*) and per-model compute counters.

No machine of this project has an NVIDIA GPU: the GPU reporter's reporting path is tested against a
REPLAY of an NVML reading (tests/nvml_replay.py, tests/data/nvml-reading.json, see its provenance);
its no-driver path runs against the real nvidia-ml-py. benchmarks/gpu_probe.py shows real figures on a GPU host.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time

import llm_otel._semconv as sc
import pytest
from llm_otel.gpu import GPUMetricsInstrumentor
from llm_otel.serving import ModelCompute
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.nvml_replay import RECORDING, NvmlReplay

GIB = 2**30


def points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict, float, str]]]:
    """Metric name -> [(attributes, value, unit)] of one collection."""
    out: dict[str, list[tuple[dict, float, str]]] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for p in metric.data.data_points:
                    out.setdefault(metric.name, []).append((dict(p.attributes), p.value, metric.unit))
    return out


@pytest.fixture
def gpu_reader():
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instrumentor = GPUMetricsInstrumentor()
    yield reader, provider, instrumentor
    instrumentor.uninstrument()
    provider.shutdown()


def test_replayed_nvml_reading_is_reported_per_gpu_with_hw_conventions(gpu_reader):
    reader, provider, instrumentor = gpu_reader
    replay = NvmlReplay()
    instrumentor.instrument(meter_provider=provider, nvml=replay)
    assert instrumentor.active

    got = points(reader)
    recorded = json.loads(RECORDING.read_text())["samples"][0]
    assert set(got) == {
        sc.METRIC_HW_GPU_UTILIZATION,
        sc.METRIC_HW_GPU_MEMORY_USAGE,
        sc.METRIC_HW_GPU_MEMORY_LIMIT,
        sc.METRIC_HW_GPU_MEMORY_UTILIZATION,
    }
    by_id = {name: {attrs[sc.HW_ID]: (attrs, value, unit) for attrs, value, unit in pts} for name, pts in got.items()}
    for device in recorded:
        uuid = device["uuid"]
        attrs, util, unit = by_id[sc.METRIC_HW_GPU_UTILIZATION][uuid]
        assert unit == "1" and util == pytest.approx(device["utilization"]["gpu"] / 100)
        assert attrs == {
            sc.HW_ID: uuid,
            sc.HW_NAME: f"gpu{device['index']}",
            sc.HW_MODEL: "NVIDIA A10G",
            sc.HW_VENDOR: "NVIDIA",
            sc.HW_TYPE: "gpu",
            sc.HW_DRIVER_VERSION: "550.127.05",
            sc.HW_GPU_TASK: "general",
        }
        _, used, unit = by_id[sc.METRIC_HW_GPU_MEMORY_USAGE][uuid]
        assert unit == "By" and used == device["memory"]["used"]
        _, limit, unit = by_id[sc.METRIC_HW_GPU_MEMORY_LIMIT][uuid]
        assert unit == "By" and limit == device["memory"]["total"] and 22 * GIB < limit < 23 * GIB
        _, share, _ = by_id[sc.METRIC_HW_GPU_MEMORY_UTILIZATION][uuid]
        assert share == pytest.approx(device["memory"]["used"] / device["memory"]["total"])
    # The four instruments of one collection share a single NVML read.
    assert replay.cycle == 0


def test_each_collection_reads_nvml_again(gpu_reader, monkeypatch):
    reader, provider, instrumentor = gpu_reader
    instrumentor.instrument(meter_provider=provider, nvml=NvmlReplay())
    first = {a[sc.HW_ID]: v for a, v, _ in points(reader)[sc.METRIC_HW_GPU_UTILIZATION]}
    monkeypatch.setattr("llm_otel.gpu._READ_TTL_SECONDS", 0.0)
    second = {a[sc.HW_ID]: v for a, v, _ in points(reader)[sc.METRIC_HW_GPU_UTILIZATION]}
    assert sorted(first.values()) == [0.0, 0.87] and sorted(second.values()) == [0.12, 0.93]


def test_uninstrument_stops_reporting_and_shuts_nvml_down(gpu_reader):
    reader, provider, instrumentor = gpu_reader
    replay = NvmlReplay()
    instrumentor.instrument(meter_provider=provider, nvml=replay)
    instrumentor.uninstrument()
    assert not replay.initialised and not instrumentor.active
    assert all(not pts for pts in points(reader).values())


def test_real_nvml_is_silent_without_a_driver_or_reports_every_gpu(gpu_reader, caplog):
    """Against the real nvidia-ml-py (test extra). This project's machines have no NVIDIA driver, so
    nvmlInit fails for real and the reporter must register nothing and log nothing; on a GPU host the
    same test checks that every GPU NVML counts is reported."""
    import pynvml

    try:
        pynvml.nvmlInit()
        gpus: int | None = pynvml.nvmlDeviceGetCount()
        pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        gpus = None
    reader, provider, instrumentor = gpu_reader
    with caplog.at_level(logging.INFO, logger="llm_otel"):
        instrumentor.instrument(meter_provider=provider)
    if gpus is None:
        assert not instrumentor.active
        assert points(reader) == {}
        assert caplog.records == []
    else:
        assert instrumentor.active
        assert len(points(reader)[sc.METRIC_HW_GPU_UTILIZATION]) == gpus


class _BrokenNvml(NvmlReplay):
    def nvmlDeviceGetMemoryInfo(self, handle):
        raise RuntimeError("NVML_ERROR_GPU_IS_LOST")


def test_a_failing_read_is_contained_and_counted(gpu_reader, otel_capture):
    reader, provider, instrumentor = gpu_reader
    instrumentor.instrument(meter_provider=provider, nvml=_BrokenNvml())
    assert points(reader) == {}
    errors = otel_capture.metric_points(sc.METRIC_INSTRUMENTATION_ERRORS, {sc.LLM_OTEL_ERROR_STAGE: "gpu.read"})
    assert [p.value for p in errors] == [1]


# -- per-model compute (self-hosted models) ---------------------------------------------------------


def _busy(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_model_compute_counts_cpu_and_gpu_seconds_per_model():
    reader = InMemoryMetricReader()
    compute = ModelCompute(MeterProvider(metric_readers=[reader]))
    with compute.measure("llama-3.1-8b", gpus=2, cpu_clock="thread"):
        _busy(0.05)
        time.sleep(0.05)
    with compute.measure("qwen2.5-0.5b"):
        _busy(0.02)
    compute.record("llama-3.1-8b", cpu_seconds=1.5, gpu_seconds=4.0)
    got = points(reader)
    cpu = {a[sc.GEN_AI_REQUEST_MODEL]: (v, u) for a, v, u in got[sc.METRIC_MODEL_CPU_TIME]}
    gpu = {a[sc.GEN_AI_REQUEST_MODEL]: v for a, v, _ in got[sc.METRIC_MODEL_GPU_TIME]}
    assert all(len(a) == 1 for a, _, _ in got[sc.METRIC_MODEL_CPU_TIME])  # the model is the only attribute
    assert cpu["llama-3.1-8b"][1] == "s"
    assert 1.5 + 0.05 <= cpu["llama-3.1-8b"][0] < 1.5 + 0.1 + 0.5  # thread clock: the busy loop, not the sleep
    assert cpu["qwen2.5-0.5b"][0] >= 0.02
    assert gpu["llama-3.1-8b"] >= 4.0 + 2 * 0.1  # two GPUs held for at least 0.1 s wall time
    assert "qwen2.5-0.5b" not in gpu  # no GPU, no GPU-seconds


def test_model_compute_records_and_passes_the_exception_unchanged():
    reader = InMemoryMetricReader()
    compute = ModelCompute(MeterProvider(metric_readers=[reader]))
    error = ValueError("out of KV cache")
    with pytest.raises(ValueError) as raised, compute.measure("llama-3.1-8b", gpus=1):
        raise error
    assert raised.value is error
    assert [a for a, _, _ in points(reader)[sc.METRIC_MODEL_GPU_TIME]] == [{sc.GEN_AI_REQUEST_MODEL: "llama-3.1-8b"}]


# -- configure(): process metrics on by default, with switches -----------------------------------------

CHILD = """
import llm_otel
llm_otel.configure(service_name="sysmetrics-test")
from opentelemetry import metrics
metrics.get_meter_provider().force_flush()
"""


def _configured_metric_names(**env: str) -> set[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_OTEL_"))}
    full.update(
        {"OTEL_METRICS_EXPORTER": "console", "OTEL_TRACES_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none", **env}
    )
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], env=full, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return set(re.findall(r'"name": "((?:process|system|cpython)\.[\w.]+)"', proc.stdout))


def test_configure_reports_process_metrics_by_default():
    names = _configured_metric_names()
    assert {"process.cpu.time", "process.memory.usage", "process.thread.count", "process.cpu.utilization"} <= names
    assert not {n for n in names if n.startswith("system.")}  # host metrics come from the Collector
    assert not {n for n in names if n.startswith("process.runtime.")}  # deprecated duplicates left out


def test_system_metrics_all_adds_host_metrics():
    names = _configured_metric_names(LLM_OTEL_SYSTEM_METRICS="all")
    assert {"process.cpu.time", "system.cpu.time", "system.memory.usage", "system.network.io"} <= names


@pytest.mark.parametrize(
    "env",
    [{"LLM_OTEL_SYSTEM_METRICS": "off"}, {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "system_metrics"}],
    ids=["llm_otel_off", "otel_disabled"],
)
def test_system_metrics_switch_off(env):
    assert _configured_metric_names(**env) == set()


def test_a_second_handle_on_the_instrumentor_can_uninstrument(gpu_reader):
    """BaseInstrumentor is a singleton: GPUMetricsInstrumentor() elsewhere must still stop the same reporter."""
    _, provider, instrumentor = gpu_reader
    replay = NvmlReplay()
    instrumentor.instrument(meter_provider=provider, nvml=replay)
    GPUMetricsInstrumentor().uninstrument()
    assert not replay.initialised and not instrumentor.active
