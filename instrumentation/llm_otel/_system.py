"""Process (and optionally host) metrics from ``opentelemetry-instrumentation-system-metrics``.

``llm_otel.configure()`` switches them on so an LLM app's latency can be read next to its own CPU and
memory. ``LLM_OTEL_SYSTEM_METRICS`` picks what is reported:

- ``process`` (default): this process, semconv ``process.*`` (cpu.time, cpu.utilization, memory.usage,
  memory.virtual, thread.count, open_file_descriptor.count, context_switches, disk.io) and ``cpython.gc.*``;
  the host's ``system.*`` come from the Collector's ``hostmetrics`` receiver, once per host;
- ``all``: also the host's ``system.*`` from this process (for a deployment without that receiver);
- ``off``: nothing. ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=system_metrics`` (the standard switch,
  also honoured by ``opentelemetry-instrument``) turns them off as well.
"""

from __future__ import annotations

import logging
import os

from llm_otel import _settings

_log = logging.getLogger("llm_otel")

LLM_OTEL_SYSTEM_METRICS = "LLM_OTEL_SYSTEM_METRICS"
ENTRY_POINT = "system_metrics"  # the package's opentelemetry_instrumentor entry point name
PROFILES = ("process", "all", "off")

PROCESS_METRICS: dict[str, list[str] | None] = {
    "process.cpu.time": ["user", "system"],
    "process.cpu.utilization": ["user", "system"],
    "process.memory.usage": None,
    "process.memory.virtual": None,
    "process.thread.count": None,
    "process.open_file_descriptor.count": None,
    "process.context_switches": ["involuntary", "voluntary"],
    "process.disk.io": ["read", "write"],
    "cpython.gc.collections": None,
    "cpython.gc.collected_objects": None,
    "cpython.gc.uncollectable_objects": None,
}
SYSTEM_METRICS: dict[str, list[str] | None] = {
    "system.cpu.time": ["idle", "user", "system", "irq"],
    "system.cpu.utilization": ["idle", "user", "system", "irq"],
    "system.memory.usage": ["used", "free", "cached"],
    "system.memory.utilization": ["used", "free", "cached"],
    "system.disk.io": ["read", "write"],
    "system.network.io": ["transmit", "receive"],
}


def profile() -> str:
    raw = os.environ.get(LLM_OTEL_SYSTEM_METRICS, "process").strip().lower() or "process"
    if raw not in PROFILES:
        _log.warning("%s=%r is not one of %s; using 'process'", LLM_OTEL_SYSTEM_METRICS, raw, "|".join(PROFILES))
        return "process"
    return raw


def instrument_system_metrics() -> bool:
    """Start the system-metrics instrumentor on the global meter provider; True when it reports."""
    chosen = profile()
    if chosen == "off" or ENTRY_POINT in _settings.get().disabled_instrumentations:
        return False
    try:
        from opentelemetry.instrumentation.system_metrics import SystemMetricsInstrumentor
    except ImportError:
        _log.debug("opentelemetry-instrumentation-system-metrics is not installed; no process metrics")
        return False
    try:
        config = {**PROCESS_METRICS, **(SYSTEM_METRICS if chosen == "all" else {})}
        instrumentor = SystemMetricsInstrumentor(config=config)
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
        return True
    except Exception as exc:  # telemetry must not stop the app from starting
        _log.warning("could not start system metrics: %s", exc)
        return False
