"""``configure()``: SDK providers from the standard ``OTEL_*`` environment variables.

Mirrors what ``opentelemetry-instrument`` (with the opentelemetry distro) sets up, so
an app configured either way exports the same telemetry:

- resource from ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``;
- ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` / ``OTEL_LOGS_EXPORTER``: comma lists of
  ``otlp`` (default), ``console``, ``none`` or any registered exporter entry point;
- ``OTEL_EXPORTER_OTLP[_<SIGNAL>]_PROTOCOL`` = ``grpc`` (default, as the distro) or
  ``http/protobuf``; endpoints, headers, timeouts and compression are read by the exporters
  themselves from their standard variables;
- ``OTEL_TRACES_SAMPLER[_ARG]``, ``OTEL_BSP_*``, ``OTEL_METRIC_EXPORT_INTERVAL`` are read by the SDK.

It never replaces a provider that is already installed, never writes ``os.environ``,
and a second call does nothing. A variable that names something that cannot be set up (an
unsupported protocol such as ``http/json``, an exporter that is not installed) is logged and no
provider is installed, as ``opentelemetry-instrument`` does: the app runs on, without export.

Exit is bounded: the providers installed here are shut down at process exit in parallel, for at most
``LLM_OTEL_SHUTDOWN_TIMEOUT`` seconds (default 5) altogether, even with the Collector down or silent;
what is not exported by then is dropped (and a warning says so).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.util._importlib_metadata import entry_points

from llm_otel import _settings

_log = logging.getLogger("llm_otel")

Signal = Literal["traces", "metrics", "logs"]
_EXPORTER_ENV = {"traces": "OTEL_TRACES_EXPORTER", "metrics": "OTEL_METRICS_EXPORTER", "logs": "OTEL_LOGS_EXPORTER"}
_PROTOCOL_ENV = {
    "traces": "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "metrics": "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    "logs": "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
}
_OTLP_BY_PROTOCOL = {"grpc": "otlp_proto_grpc", "http/protobuf": "otlp_proto_http"}
_ENTRY_POINT_GROUP = {
    "traces": "opentelemetry_traces_exporter",
    "metrics": "opentelemetry_metrics_exporter",
    "logs": "opentelemetry_logs_exporter",
}


class ConfigurationError(ValueError):
    """An ``OTEL_*`` variable names something that cannot be set up."""


@dataclass(frozen=True)
class Configuration:
    """What ``configure()`` found or installed (``installed`` says which were ours)."""

    tracer_provider: Any
    meter_provider: Any
    logger_provider: Any
    installed: tuple[Signal, ...]


_lock = threading.Lock()
_result: Configuration | None = None


def _exporter_names(signal: Signal) -> list[str]:
    raw = os.environ.get(_EXPORTER_ENV[signal])
    names = ["otlp"] if raw is None or not raw.strip() else [n.strip() for n in raw.split(",") if n.strip()]
    if any(n.lower() == "none" for n in names):
        return []
    resolved = []
    for name in names:
        if name == "otlp":
            protocol = (os.environ.get(_PROTOCOL_ENV[signal]) or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc").strip()
            if protocol not in _OTLP_BY_PROTOCOL:
                raise ConfigurationError(
                    f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported; use 'grpc' or 'http/protobuf' "
                    "(http/json is not implemented by the Python exporters)"
                )
            name = _OTLP_BY_PROTOCOL[protocol]
        resolved.append(name)
    return resolved


def _load_exporter(signal: Signal, name: str) -> Any:
    found = list(entry_points(group=_ENTRY_POINT_GROUP[signal], name=name))
    if not found:
        raise ConfigurationError(
            f"{_EXPORTER_ENV[signal]} names exporter {name!r}, which is not installed "
            f"(entry point group {_ENTRY_POINT_GROUP[signal]!r})"
        )
    return found[0].load()()


def _is_proxy(provider: Any) -> bool:
    """True while no provider is installed (the API hands out proxy providers until then)."""
    return type(provider).__name__ in {"ProxyTracerProvider", "_ProxyMeterProvider", "ProxyLoggerProvider"}


def _has_env_service_name() -> bool:
    if os.environ.get("OTEL_SERVICE_NAME", "").strip():
        return True
    pairs = os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(",")
    return any(p.split("=", 1)[0].strip() == "service.name" for p in pairs)


def configure(*, service_name: str | None = None) -> Configuration:
    """Install SDK tracer, meter and logger providers configured from ``OTEL_*``.

    ``service_name`` is a default for ``OTEL_SERVICE_NAME``; the environment wins.
    Also instruments the installed LLM SDKs (openai, anthropic) unless listed in
    ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``, and reports this process's ``process.*`` metrics
    (``LLM_OTEL_SYSTEM_METRICS=process|all|off``, see ``llm_otel._system``).

    >>> import llm_otel
    >>> llm_otel.configure()
    """
    global _result
    with _lock:
        if _result is not None:
            return _result
        settings = _settings.reload()
        default = {"service.name": service_name} if service_name and not _has_env_service_name() else {}
        resource = Resource.create(default)
        current: tuple[tuple[Signal, Any], ...] = (
            ("traces", trace.get_tracer_provider()), ("metrics", metrics.get_meter_provider()),
            ("logs", _logs.get_logger_provider()),
        )
        wanted = [signal for signal, provider in current if _is_proxy(provider)]
        try:  # every exporter first: a bad variable installs nothing rather than half a set-up
            exporters = {signal: [_load_exporter(signal, n) for n in _exporter_names(signal)] for signal in wanted}
        except Exception as exc:
            _log.error("llm_otel.configure(): %s; no OpenTelemetry provider installed, the app runs without "
                       "export (as opentelemetry-instrument does)", exc)
            exporters = {}
        installed: list[Signal] = []

        tracer_provider = trace.get_tracer_provider()
        if "traces" in exporters:
            tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
            for exporter in exporters["traces"]:
                tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
            trace.set_tracer_provider(tracer_provider)
            installed.append("traces")

        meter_provider = metrics.get_meter_provider()
        if "metrics" in exporters:
            readers = [e if isinstance(e, MetricReader) else PeriodicExportingMetricReader(e)
                       for e in exporters["metrics"]]
            meter_provider = MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
            metrics.set_meter_provider(meter_provider)
            installed.append("metrics")

        logger_provider = _logs.get_logger_provider()
        if "logs" in exporters:
            logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
            for exporter in exporters["logs"]:
                logger_provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
            _logs.set_logger_provider(logger_provider)
            installed.append("logs")

        ours = [p for s, p in (("traces", tracer_provider), ("metrics", meter_provider), ("logs", logger_provider))
                if s in installed]
        if ours:
            all_exporters = [e for signal in installed for e in exporters[signal]]
            atexit.register(shutdown_within, ours, settings.shutdown_timeout, all_exporters)

        from llm_otel._system import instrument_system_metrics
        from llm_otel.instrumentors import instrument_installed

        instrument_installed()
        instrument_system_metrics()
        _result = Configuration(tracer_provider, meter_provider, logger_provider, tuple(installed))
        return _result


_CLOSE_MARGIN = 0.5  # seconds kept at the end to close the exporters' connections


def shutdown_within(providers: list[Any], timeout: float, exporters: list[Any] = ()) -> bool:  # type: ignore[assignment]
    """Shut the providers down in parallel, waiting at most ``timeout`` seconds in all (the process exit
    hook of ``configure()``). True if all finished; otherwise the exporters are shut down directly (their
    connections close, an export in flight or backing off ends) and what was not exported is dropped."""
    started = time.monotonic()
    deadline = started + max(timeout - _CLOSE_MARGIN, timeout / 2)
    threads = [threading.Thread(target=_shutdown_one, args=(p,), name="llm_otel-shutdown", daemon=True)
               for p in providers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        for exporter in exporters:
            _shutdown_one(exporter)
        for thread in threads:
            thread.join(max(started + timeout - time.monotonic(), 0))
        _log.warning("llm_otel: %d telemetry provider(s) did not flush within %ss (%s); unexported telemetry "
                     "is dropped so the process can exit", stuck, timeout, _settings.LLM_OTEL_SHUTDOWN_TIMEOUT)
    return not stuck


def _shutdown_one(provider: Any) -> None:
    try:
        provider.shutdown()
    except Exception as exc:  # an exporter failing at exit is not the app's problem
        _log.debug("provider shutdown failed: %s", exc)
