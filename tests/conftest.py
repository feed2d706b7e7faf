"""Every test that captures telemetry is also a conformance test.

This overrides the ``otel_capture`` fixture of the ``llm_otel.pytest_plugin`` for this repository's tests
only: at teardown, every span, metric and event the test produced is checked against the GenAI conventions
model (``tests/conformance``); any violation fails the test. It lives here rather than in the plugin
because the plugin ships to users (their tests would suddenly depend on our model copy, ``jsonschema`` and
our dated differences) while the model files are test data of this repository. Only llm_otel's own
telemetry (its instrumentation scopes) is checked.

A test that produces non-conformant telemetry ON PURPOSE (to show a fallback or an error path) opts out
with ``@pytest.mark.conformance_exempt(reason=...)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llm_otel.testing import TelemetryCapture
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from tests.conformance import checker


def ours(scope: InstrumentationScope | None) -> bool:
    """llm_otel's telemetry (scope ``llm_otel`` or ``llm_otel.*``): other libraries' spans in the same
    capture (the official instrumentors in the duplicate-guard tests, FastAPI's) are theirs to answer for."""
    return scope is not None and (scope.name == "llm_otel" or scope.name.startswith("llm_otel."))


@pytest.fixture
def otel_capture(otel_capture: TelemetryCapture, request: pytest.FixtureRequest) -> Iterator[TelemetryCapture]:
    # own exporters: a test's ``otel_capture.clear()`` must not hide what it produced before
    spans = InMemorySpanExporter()
    otel_capture.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    otel_capture.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    yield otel_capture
    if request.node.get_closest_marker("conformance_exempt"):
        return
    data = otel_capture.metric_reader.get_metrics_data()
    metrics = [
        m for rm in (data.resource_metrics if data else ()) for sm in rm.scope_metrics if ours(sm.scope)
        for m in sm.metrics
    ]
    problems = checker.check(
        [s for s in spans.get_finished_spans() if ours(s.instrumentation_scope)],
        metrics,
        [r.log_record for r in logs.get_finished_logs() if ours(r.instrumentation_scope)],
    )
    if problems:
        listed = "\n  ".join(dict.fromkeys(problems))
        pytest.fail(f"telemetry violates the GenAI conventions (tests/conformance):\n  {listed}", pytrace=False)
