"""The tracer, meter instruments and logger that llm_otel writes to.

By default they come from the global providers (API proxies, so a provider installed
later by ``configure()`` or ``opentelemetry-instrument`` is picked up). An instrumentor's
``instrument(tracer_provider=..., ...)`` or the test fixture binds explicit providers.
Only the OpenTelemetry API is used here. The instruments are built from the declarations
in ``_semconv.METRICS``: ``telemetry[sc.METRIC_TOKEN_USAGE].record(...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

from opentelemetry import _logs, metrics, trace

from llm_otel import _semconv as sc
from llm_otel._version import __version__

_SCOPE = "llm_otel"
INFERENCE_KEYS = (
    sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_REQUEST_MODEL, sc.GEN_AI_RESPONSE_MODEL,
    sc.SERVER_ADDRESS, sc.SERVER_PORT, sc.ERROR_TYPE,
)


class Telemetry(dict[str, Any]):
    """Where one set of providers receives llm_otel's spans, metric points and events.

    A mapping from each declared metric to its instrument (a plain dict: the lookup on the hot
    path is C-level), plus the tracer and the logger.
    """

    __slots__ = ("logger", "tracer", "guard", "inference", "retrieval", "tool", "agent", "agent_calls", "workflow",
                 "evaluation", "feedback")

    def __init__(self, tracer: trace.Tracer, logger: _logs.Logger, instruments: dict[str, Any]) -> None:
        super().__init__(instruments)
        self.tracer = tracer
        self.logger = logger
        from llm_otel import _limits, _pricing, _settings

        def count_overflow(key: str) -> None:
            try:
                self[sc.METRIC_ATTRIBUTE_OVERFLOW].add(1, {sc.LLM_OTEL_METRIC_ATTRIBUTE: key})
            except Exception:  # pragma: no cover - counting must never raise
                pass

        def known_model(provider: Any, model: str) -> bool:
            return _pricing.rates_for(str(provider), model, _settings.get().prices_file) is not None

        guard = self.guard = _limits.Guard(count_overflow, known_model)
        # the bounded metric attribute sets, one family per kind of operation (values in this order)
        self.inference = guard.family(INFERENCE_KEYS)
        self.retrieval = guard.family((sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_PROVIDER_NAME, sc.ERROR_TYPE))
        # tool, agent and workflow points: the instrument names the operation (the conventions, util-genai 1.3b0)
        self.tool = guard.family((sc.GEN_AI_TOOL_NAME, sc.GEN_AI_TOOL_TYPE, sc.ERROR_TYPE, sc.GEN_AI_AGENT_NAME))
        self.agent = guard.family((sc.GEN_AI_AGENT_NAME, sc.ERROR_TYPE))
        self.agent_calls = guard.family((sc.GEN_AI_AGENT_NAME,))
        self.workflow = guard.family((sc.GEN_AI_WORKFLOW_NAME, sc.ERROR_TYPE))
        self.evaluation = guard.family(
            (sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_REQUEST_MODEL, sc.GEN_AI_EVALUATION_NAME,
             sc.GEN_AI_EVALUATION_SCORE_LABEL)
        )
        self.feedback = guard.family((sc.LLM_OTEL_FEEDBACK_LABEL,))

    if TYPE_CHECKING:  # typed lookups: a histogram's declaration gives a Histogram, a counter's a Counter

        @overload
        def __getitem__(self, metric: sc.HistogramMetric) -> metrics.Histogram: ...
        @overload
        def __getitem__(self, metric: sc.CounterMetric) -> metrics.Counter: ...
        @overload
        def __getitem__(self, metric: str) -> Any: ...
        def __getitem__(self, metric: str) -> Any: ...


def _create(meter: metrics.Meter, metric: sc.Metric) -> Any:
    if isinstance(metric, sc.HistogramMetric):
        buckets = list(metric.buckets) if metric.buckets is not None else None
        return meter.create_histogram(
            metric, unit=metric.unit, description=metric.description, explicit_bucket_boundaries_advisory=buckets
        )
    return meter.create_counter(metric, unit=metric.unit, description=metric.description)


def build(
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    logger_provider: Any | None = None,
) -> Telemetry:
    tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider, schema_url=sc.SCHEMA_URL)
    meter = metrics.get_meter(_SCOPE, __version__, meter_provider, schema_url=sc.SCHEMA_URL)
    logger = _logs.get_logger(_SCOPE, __version__, logger_provider, schema_url=sc.SCHEMA_URL)
    return Telemetry(tracer, logger, {str(metric): _create(meter, metric) for metric in sc.METRICS})


_current: Telemetry | None = None


def current() -> Telemetry:
    global _current
    if _current is None:
        _current = build()
    return _current


def bind(
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    logger_provider: Any | None = None,
) -> Telemetry:
    """Route llm_otel's telemetry to these providers (None = the global one)."""
    global _current
    _current = build(tracer_provider, meter_provider, logger_provider)
    return _current


def swap(telemetry: Telemetry | None) -> Telemetry | None:
    """Install ``telemetry`` (None = global providers again); returns the previous one."""
    global _current
    previous, _current = _current, telemetry
    return previous
