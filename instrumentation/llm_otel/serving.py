"""CPU-seconds and GPU-seconds per self-hosted model, for apps that serve their own model in-process.

Two counters (no OTel convention exists for them), with ``gen_ai.request.model`` as the only attribute:

- ``llm_otel.model.cpu.time`` (s): CPU time spent while the model served a call;
- ``llm_otel.model.gpu.time`` (s): GPU occupancy, wall-clock time of the call times the GPUs it holds
  (what GPU-hour billing counts; NVML cannot attribute kernel time to a model).

>>> from llm_otel.serving import model_compute
>>> with model_compute("llama-3.1-8b-instruct", gpus=1):
...     output = model.generate(prompt)

``cpu_clock="process"`` (default) counts the whole process's CPU time during the call, which includes
inference threads the model library starts; concurrent calls in one process then each count the shared
time. ``cpu_clock="thread"`` counts only the calling thread (exact when the model runs in it). A server
that knows its own figures calls ``record(model, cpu_seconds=..., gpu_seconds=...)``.
In Prometheus: ``llm_otel_model_cpu_time_seconds_total`` and ``llm_otel_model_gpu_time_seconds_total``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from opentelemetry import metrics

from llm_otel import _semconv as sc
from llm_otel._version import __version__

__all__ = ["ModelCompute", "model_compute"]

_CLOCKS: dict[str, Callable[[], float]] = {"process": time.process_time, "thread": time.thread_time}


class ModelCompute:
    """The two counters on one meter provider (the global one unless given)."""

    def __init__(self, meter_provider: Any = None) -> None:
        meter = metrics.get_meter("llm_otel.serving", __version__, meter_provider, schema_url=sc.SCHEMA_URL)
        self._cpu = meter.create_counter(
            sc.METRIC_MODEL_CPU_TIME, unit="s", description="CPU time spent serving a self-hosted model."
        )
        self._gpu = meter.create_counter(
            sc.METRIC_MODEL_GPU_TIME,
            unit="s",
            description="GPU occupancy (wall time x GPUs) serving a self-hosted model.",
        )

    def record(self, model: str, *, cpu_seconds: float = 0.0, gpu_seconds: float = 0.0) -> None:
        attributes = {sc.GEN_AI_REQUEST_MODEL: model}
        if cpu_seconds > 0:
            self._cpu.add(cpu_seconds, attributes)
        if gpu_seconds > 0:
            self._gpu.add(gpu_seconds, attributes)

    @contextmanager
    def measure(
        self, model: str, *, gpus: float = 0, cpu_clock: Literal["process", "thread"] = "process"
    ) -> Iterator[None]:
        """Count the CPU and GPU time of the block (also when it raises; the exception passes unchanged)."""
        clock = _CLOCKS[cpu_clock]
        cpu_start, wall_start = clock(), time.monotonic()
        try:
            yield
        finally:
            try:
                self.record(model, cpu_seconds=clock() - cpu_start, gpu_seconds=(time.monotonic() - wall_start) * gpus)
            except Exception as exc:  # telemetry never breaks the call it measures
                from llm_otel import _safety

                _safety.report("serving.record", exc)


_default: ModelCompute | None = None


def model_compute(model: str, *, gpus: float = 0, cpu_clock: Literal["process", "thread"] = "process") -> Any:
    """``ModelCompute.measure`` on the global meter provider (works before ``configure()`` too)."""
    global _default
    if _default is None:
        _default = ModelCompute()
    return _default.measure(model, gpus=gpus, cpu_clock=cpu_clock)
