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
and a second call does nothing.
"""

from __future__ import annotations

import logging
import os
import threading
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
                    f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported; use 'grpc' or 'http/protobuf'"
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
        _settings.reload()
        default = {"service.name": service_name} if service_name and not _has_env_service_name() else {}
        resource = Resource.create(default)
        installed: list[Signal] = []

        tracer_provider = trace.get_tracer_provider()
        if _is_proxy(tracer_provider):
            tracer_provider = TracerProvider(resource=resource)
            for name in _exporter_names("traces"):
                tracer_provider.add_span_processor(BatchSpanProcessor(_load_exporter("traces", name)))
            trace.set_tracer_provider(tracer_provider)
            installed.append("traces")

        meter_provider = metrics.get_meter_provider()
        if _is_proxy(meter_provider):
            readers = []
            for name in _exporter_names("metrics"):
                exporter = _load_exporter("metrics", name)
                readers.append(exporter if isinstance(exporter, MetricReader) else PeriodicExportingMetricReader(exporter))
            meter_provider = MeterProvider(resource=resource, metric_readers=readers)
            metrics.set_meter_provider(meter_provider)
            installed.append("metrics")

        logger_provider = _logs.get_logger_provider()
        if _is_proxy(logger_provider):
            logger_provider = LoggerProvider(resource=resource)
            for name in _exporter_names("logs"):
                logger_provider.add_log_record_processor(BatchLogRecordProcessor(_load_exporter("logs", name)))
            _logs.set_logger_provider(logger_provider)
            installed.append("logs")

        from llm_otel._system import instrument_system_metrics
        from llm_otel.instrumentors import instrument_installed

        instrument_installed()
        instrument_system_metrics()
        _result = Configuration(tracer_provider, meter_provider, logger_provider, tuple(installed))
        return _result
