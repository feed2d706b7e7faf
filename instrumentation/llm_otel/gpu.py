"""NVIDIA GPU metrics through NVML, with the OTel hardware conventions (``hw.gpu.*``).

Optional: install the ``gpu`` extra (``pip install 'llm-otel[gpu]'``, i.e. ``nvidia-ml-py``). Then
``llm_otel.configure()`` and ``opentelemetry-instrument`` report, per GPU and at every metric collection:

- ``hw.gpu.utilization`` (gauge, 0..1, ``hw.gpu.task="general"``): share of time a kernel ran;
- ``hw.gpu.memory.usage`` / ``hw.gpu.memory.limit`` (up-down counters, bytes): used and total memory;
- ``hw.gpu.memory.utilization`` (gauge, 0..1): used over total memory;

each with ``hw.id`` = the GPU's NVML UUID (stable across reboots and index changes), ``hw.name``
(``gpu<index>``), ``hw.model``, ``hw.vendor``, ``hw.type="gpu"`` and ``hw.driver_version``.

Silent without a GPU or driver: when NVML cannot be initialised nothing is registered and nothing is
logged above DEBUG. A failing read later is contained (``llm_otel._safety``) and skips that collection.
Turn it off with ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=llm_otel_gpu``. Uses the OTel API only.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.metrics import CallbackOptions, Observation

from llm_otel import _semconv as sc
from llm_otel._version import __version__

__all__ = ["GPUMetricsInstrumentor", "GpuReading", "read_gpus"]

_log = logging.getLogger("llm_otel")
_SCOPE = "llm_otel.gpu"
# A collection calls the four callbacks one after the other: one NVML read serves them all.
_READ_TTL_SECONDS = 1.0


@dataclass(frozen=True)
class GpuReading:
    """One GPU at one moment, as NVML reports it."""

    index: int
    uuid: str
    model: str
    utilization: float  # 0..1, share of the last sample period with a kernel running
    memory_used: int  # bytes
    memory_total: int  # bytes
    driver_version: str


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value  # old pynvml builds return bytes


def read_gpus(nvml: Any) -> list[GpuReading]:
    """Read every GPU through an initialised NVML binding (the ``pynvml`` module or a replay of it)."""
    driver = _text(nvml.nvmlSystemGetDriverVersion())
    readings = []
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        rates = nvml.nvmlDeviceGetUtilizationRates(handle)
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        readings.append(
            GpuReading(
                index=index,
                uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
                model=_text(nvml.nvmlDeviceGetName(handle)),
                utilization=rates.gpu / 100.0,
                memory_used=int(memory.used),
                memory_total=int(memory.total),
                driver_version=driver,
            )
        )
    return readings


def _attributes(gpu: GpuReading) -> dict[str, str]:
    return {
        sc.HW_ID: gpu.uuid,
        sc.HW_NAME: f"gpu{gpu.index}",
        sc.HW_MODEL: gpu.model,
        sc.HW_VENDOR: "NVIDIA",
        sc.HW_TYPE: "gpu",
        sc.HW_DRIVER_VERSION: gpu.driver_version,
    }


class _Reporter:
    """Observable-instrument callbacks over one NVML binding; a failed read yields no points."""

    def __init__(self, nvml: Any) -> None:
        self._nvml = nvml
        self._lock = threading.Lock()
        self._last: tuple[float, list[GpuReading]] = (float("-inf"), [])

    def close(self) -> Any:
        """Stop reading (the instruments then report nothing); returns the binding to shut down."""
        with self._lock:
            nvml, self._nvml = self._nvml, None
            return nvml

    def readings(self) -> list[GpuReading]:
        with self._lock:
            if self._nvml is None:
                return []
            at, gpus = self._last
            if time.monotonic() - at > _READ_TTL_SECONDS:
                try:
                    gpus = read_gpus(self._nvml)
                except Exception as exc:  # a driver hiccup must not break the metric export
                    from llm_otel import _safety

                    _safety.report("gpu.read", exc)
                    gpus = []
                self._last = (time.monotonic(), gpus)
            return gpus

    def utilization(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(g.utilization, {**_attributes(g), sc.HW_GPU_TASK: "general"}) for g in self.readings()]

    def memory_usage(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(g.memory_used, _attributes(g)) for g in self.readings()]

    def memory_limit(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(g.memory_total, _attributes(g)) for g in self.readings()]

    def memory_utilization(self, options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(g.memory_used / g.memory_total, _attributes(g)) for g in self.readings() if g.memory_total > 0
        ]


class GPUMetricsInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Reports ``hw.gpu.*`` for every NVIDIA GPU NVML sees; does nothing without one.

    ``instrument(meter_provider=..., nvml=...)``: ``nvml`` defaults to the ``pynvml`` module of
    nvidia-ml-py; tests pass a replay of a recorded reading with the same functions.
    """

    # A class attribute, not set in __init__: BaseInstrumentor is a singleton whose __init__ runs on every
    # GPUMetricsInstrumentor() call, which must not forget the active reporter.
    _reporter: _Reporter | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("nvidia-ml-py >= 12.0",)

    @property
    def active(self) -> bool:
        """True while NVML is initialised and the instruments report."""
        return self._reporter is not None

    def _instrument(self, **kwargs: Any) -> None:
        nvml = kwargs.get("nvml")
        try:
            if nvml is None:
                nvml = importlib.import_module("pynvml")
            nvml.nvmlInit()
        except Exception as exc:  # no driver, no GPU, no library: stay silent
            _log.debug("llm_otel.gpu: NVML not available (%s); no GPU metrics", exc)
            return
        reporter = self._reporter = _Reporter(nvml)
        meter = metrics.get_meter(_SCOPE, __version__, kwargs.get("meter_provider"), schema_url=sc.SCHEMA_URL)
        meter.create_observable_gauge(
            sc.METRIC_HW_GPU_UTILIZATION,
            [reporter.utilization],
            unit="1",
            description="Fraction of time the GPU ran a kernel.",
        )
        meter.create_observable_up_down_counter(
            sc.METRIC_HW_GPU_MEMORY_USAGE, [reporter.memory_usage], unit="By", description="GPU memory used."
        )
        meter.create_observable_up_down_counter(
            sc.METRIC_HW_GPU_MEMORY_LIMIT, [reporter.memory_limit], unit="By", description="Size of the GPU memory."
        )
        meter.create_observable_gauge(
            sc.METRIC_HW_GPU_MEMORY_UTILIZATION,
            [reporter.memory_utilization],
            unit="1",
            description="Fraction of GPU memory used.",
        )

    def _uninstrument(self, **kwargs: Any) -> None:
        # Observable instruments cannot be removed from a meter: shutting NVML down empties their callbacks.
        reporter, self._reporter = self._reporter, None
        nvml = reporter.close() if reporter is not None else None
        if nvml is not None:
            try:
                nvml.nvmlShutdown()
            except Exception as exc:  # shutting down is best effort
                _log.debug("llm_otel.gpu: nvmlShutdown failed: %s", exc)
