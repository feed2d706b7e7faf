"""The tracer, meter instruments and logger that llm_otel writes to.

By default they come from the global providers (API proxies, so a provider installed
later by ``configure()`` or ``opentelemetry-instrument`` is picked up). An instrumentor's
``instrument(tracer_provider=..., ...)`` or the test fixture binds explicit providers.
Only the OpenTelemetry API is used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry import _logs, metrics, trace

from llm_otel import _semconv as sc
from llm_otel._version import __version__

_SCOPE = "llm_otel"


@dataclass(frozen=True, slots=True)
class Telemetry:
    tracer: trace.Tracer
    logger: _logs.Logger
    token_usage: metrics.Histogram
    operation_duration: metrics.Histogram
    time_to_first_chunk: metrics.Histogram
    time_per_output_chunk: metrics.Histogram
    cost: metrics.Counter
    response_length: metrics.Histogram
    unpriced: metrics.Counter
    retrieval_duration: metrics.Histogram
    retrieval_documents: metrics.Histogram
    tool_duration: metrics.Histogram
    agent_duration: metrics.Histogram
    workflow_duration: metrics.Histogram
    evaluation_results: metrics.Counter
    evaluation_score: metrics.Histogram
    feedback_score: metrics.Histogram
    instrumentation_errors: metrics.Counter
    content_truncated: metrics.Counter


def build(
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    logger_provider: Any | None = None,
) -> Telemetry:
    tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider, schema_url=sc.SCHEMA_URL)
    meter = metrics.get_meter(_SCOPE, __version__, meter_provider, schema_url=sc.SCHEMA_URL)
    logger = _logs.get_logger(_SCOPE, __version__, logger_provider, schema_url=sc.SCHEMA_URL)

    def histogram(name: str, unit: str, description: str, buckets: tuple[float, ...]) -> metrics.Histogram:
        return meter.create_histogram(
            name, unit=unit, description=description, explicit_bucket_boundaries_advisory=list(buckets)
        )

    return Telemetry(
        tracer=tracer,
        logger=logger,
        token_usage=histogram(
            sc.METRIC_TOKEN_USAGE, "{token}", "Number of input and output tokens used.", sc.TOKEN_BUCKETS
        ),
        operation_duration=histogram(
            sc.METRIC_OPERATION_DURATION, "s", "GenAI operation duration.", sc.DURATION_BUCKETS
        ),
        time_to_first_chunk=histogram(
            sc.METRIC_TIME_TO_FIRST_CHUNK,
            "s",
            "Time from the request to the first output chunk of a streamed response.",
            sc.DURATION_BUCKETS,
        ),
        time_per_output_chunk=histogram(
            sc.METRIC_TIME_PER_OUTPUT_CHUNK,
            "s",
            "Time between consecutive output chunks of a streamed response.",
            sc.DURATION_BUCKETS,
        ),
        cost=meter.create_counter(
            sc.METRIC_COST, unit="{USD}", description="Cost of GenAI calls in US dollars."
        ),
        response_length=histogram(
            sc.METRIC_RESPONSE_LENGTH,
            "{char}",
            "Length of model responses in characters.",
            sc.RESPONSE_LENGTH_BUCKETS,
        ),
        unpriced=meter.create_counter(
            sc.METRIC_UNPRICED,
            unit="{call}",
            description="Calls with token usage whose model has no known price (cost not recorded).",
        ),
        retrieval_duration=histogram(
            sc.METRIC_RETRIEVAL_DURATION, "s", "Retrieval operation duration.", sc.DURATION_BUCKETS
        ),
        retrieval_documents=histogram(
            sc.METRIC_RETRIEVAL_DOCUMENTS,
            "{document}",
            "Number of documents a retrieval returned.",
            sc.DOCUMENT_COUNT_BUCKETS,
        ),
        tool_duration=histogram(
            sc.METRIC_TOOL_DURATION, "s", "Tool execution duration.", sc.DURATION_BUCKETS
        ),
        agent_duration=histogram(
            sc.METRIC_AGENT_DURATION, "s", "Agent invocation duration.", sc.DURATION_BUCKETS
        ),
        workflow_duration=histogram(
            sc.METRIC_WORKFLOW_DURATION, "s", "Workflow invocation duration.", sc.DURATION_BUCKETS
        ),
        evaluation_results=meter.create_counter(
            sc.METRIC_EVALUATION_RESULTS,
            unit="{evaluation}",
            description="Evaluation results by evaluator and label.",
        ),
        evaluation_score=histogram(
            sc.METRIC_EVALUATION_SCORE, "1", "Numeric evaluation scores.", sc.SCORE_BUCKETS
        ),
        feedback_score=histogram(
            sc.METRIC_FEEDBACK_SCORE, "1", "User feedback scores.", sc.SCORE_BUCKETS
        ),
        instrumentation_errors=meter.create_counter(
            sc.METRIC_INSTRUMENTATION_ERRORS,
            unit="{error}",
            description="Internal llm_otel failures that were contained (the user's call went on).",
        ),
        content_truncated=meter.create_counter(
            sc.METRIC_CONTENT_TRUNCATED,
            unit="{attribute}",
            description="Content attributes cut to the configured size limit.",
        ),
    )


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
