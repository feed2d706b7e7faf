"""In-memory capture of llm_otel telemetry, for your tests (and ours).

The pytest plugin (``llm_otel.pytest_plugin``, registered under ``pytest11``) gives each
test an ``otel_capture`` fixture; ``TelemetryCapture`` also works without pytest::

    def test_answer_is_traced(otel_capture):
        answer_question("What is OTLP?")
        chat = otel_capture.span("chat gpt-4o-mini")
        assert chat.attributes["gen_ai.usage.output_tokens"] > 0
        otel_capture.assert_parent_chain(chat, ["invoke_workflow rag"])
        point = otel_capture.metric_point("gen_ai.client.operation.duration", {"gen_ai.request.model": "gpt-4o-mini"})
        assert point.count == 1
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llm_otel import _semconv as sc
from llm_otel import _settings, _telemetry


@dataclass(frozen=True)
class MetricPoint:
    """One data point: ``value`` is the sum for counters and histograms (``count`` too)."""

    name: str
    unit: str
    attributes: dict[str, Any]
    value: float
    count: int | None = None
    bucket_counts: tuple[int, ...] | None = None
    explicit_bounds: tuple[float, ...] | None = None
    exemplars: tuple[Any, ...] = ()


class TelemetryCapture:
    """Routes llm_otel's spans, metrics and events to in-memory exporters while active."""

    def __init__(self, resource: Resource | None = None) -> None:
        resource = resource or Resource.create({"service.name": "llm-otel-test"})
        self.span_exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.span_exporter))
        self.metric_reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[self.metric_reader])
        self.log_exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
        self.logger_provider = LoggerProvider(resource=resource)
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))
        self._previous_telemetry: Any = None
        self._previous_settings: Any = None

    # -- activation ------------------------------------------------------------------
    def start(self) -> TelemetryCapture:
        self._previous_settings = _settings.get()
        _settings.reload()
        self._previous_telemetry = _telemetry.swap(
            _telemetry.build(self.tracer_provider, self.meter_provider, self.logger_provider)
        )
        return self

    def stop(self) -> None:
        _telemetry.swap(self._previous_telemetry)
        _settings._current = self._previous_settings
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        self.logger_provider.shutdown()

    def __enter__(self) -> TelemetryCapture:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def settings(self, **changes: Any) -> None:
        """Override settings for this capture, e.g. ``settings(capture="SPAN_ONLY")``."""
        if "capture" in changes and isinstance(changes["capture"], str):
            changes["capture"] = _settings.parse_capture(changes["capture"])
        _settings._current = dataclasses.replace(_settings.get(), **changes)

    @contextmanager
    def capturing_content(self, mode: str = "SPAN_AND_EVENT") -> Iterator[None]:
        before = _settings.get()
        self.settings(capture=mode)
        try:
            yield
        finally:
            _settings._current = before

    # -- spans -------------------------------------------------------------------------
    @property
    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in the order they ended."""
        return list(self.span_exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        """The one finished span with this name (fails if there are none or several)."""
        found = [s for s in self.spans if s.name == name]
        if len(found) != 1:
            raise AssertionError(
                f"expected exactly one span named {name!r}, found {len(found)}; "
                f"spans: {[s.name for s in self.spans]}"
            )
        return found[0]

    def spans_by_operation(self, operation: str) -> list[ReadableSpan]:
        return [s for s in self.spans if (s.attributes or {}).get(sc.GEN_AI_OPERATION_NAME) == operation]

    def parent_chain(self, span: ReadableSpan) -> list[str]:
        """Names of the span's ancestors, nearest first (only spans this capture saw)."""
        by_id = {s.context.span_id: s for s in self.spans}
        names = []
        parent = span.parent
        while parent is not None and parent.span_id in by_id:
            ancestor = by_id[parent.span_id]
            names.append(ancestor.name)
            parent = ancestor.parent
        return names

    def assert_parent_chain(self, span: ReadableSpan | str, expected: Sequence[str]) -> None:
        """Assert the span's ancestors (nearest first) are exactly ``expected``, in one trace."""
        if isinstance(span, str):
            span = self.span(span)
        chain = self.parent_chain(span)
        assert chain == list(expected), f"parent chain of {span.name!r} is {chain}, expected {list(expected)}"
        by_id = {s.context.span_id: s for s in self.spans}
        parent = span.parent
        while parent is not None and parent.span_id in by_id:
            assert parent.trace_id == span.context.trace_id, "parent in another trace"
            parent = by_id[parent.span_id].parent

    def as_dicts(self) -> list[dict[str, Any]]:
        """Spans as plain data (name, parent name, kind, status, attributes) for whole-structure asserts."""
        by_id = {s.context.span_id: s for s in self.spans}
        return [
            {
                "name": s.name,
                "parent": by_id[s.parent.span_id].name if s.parent and s.parent.span_id in by_id else None,
                "kind": s.kind.name,
                "status": s.status.status_code.name,
                "attributes": dict(s.attributes or {}),
            }
            for s in self.spans
        ]

    # -- metrics ------------------------------------------------------------------------
    def _metrics(self) -> list[Any]:
        data = self.metric_reader.get_metrics_data()
        out: list[Any] = []
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                out.extend(sm.metrics)
        return out

    def metric_names(self) -> set[str]:
        return {m.name for m in self._metrics()}

    def metric_points(self, name: str, where: dict[str, Any] | None = None) -> list[MetricPoint]:
        """Data points of a metric, optionally only those whose attributes include ``where``."""
        wanted = where or {}
        points = []
        for metric in self._metrics():
            if metric.name != name:
                continue
            for p in metric.data.data_points:
                attrs = dict(p.attributes or {})
                if any(attrs.get(k) != v for k, v in wanted.items()):
                    continue
                if hasattr(p, "bucket_counts"):
                    points.append(
                        MetricPoint(name, metric.unit, attrs, p.sum, p.count, tuple(p.bucket_counts),
                                    tuple(p.explicit_bounds), tuple(p.exemplars or ()))
                    )
                else:
                    points.append(MetricPoint(name, metric.unit, attrs, p.value, exemplars=tuple(p.exemplars or ())))
        return points

    def metric_point(self, name: str, where: dict[str, Any] | None = None) -> MetricPoint:
        """The one data point of a metric (matching ``where``); fails if there are none or several."""
        points = self.metric_points(name, where)
        if len(points) != 1:
            raise AssertionError(f"expected one point of {name} matching {where}, found {points}")
        return points[0]

    # -- events (log records) -------------------------------------------------------------
    def events(self, name: str | None = None) -> list[Any]:
        records = [r.log_record for r in self.log_exporter.get_finished_logs()]
        return [r for r in records if name is None or r.event_name == name]

    def clear(self) -> None:
        self.span_exporter.clear()
        self.log_exporter.clear()
