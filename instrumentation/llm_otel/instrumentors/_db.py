"""Database client spans for vector-store writes (``add``, ``upsert``, ``delete``).

A write is not a GenAI operation, so it is not an invocation: it gets the database conventions'
CLIENT span, ``{db.operation.name} {db.collection.name}``, with ``db.system.name``,
``db.collection.name`` and ``db.operation.name``, and ``error.type`` plus an ERROR status when the
call raises. The recorder has no database kind yet, so this small helper opens the span itself on
llm_otel's tracer; it records no metric (the conventions' ``db.client.operation.duration`` belongs
in the recorder's metric table when the database kind moves there).
"""

from __future__ import annotations

from typing import Any

from opentelemetry.context import attach, detach
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

from llm_otel import _semconv as sc
from llm_otel import _telemetry
from llm_otel._safety import report


class DbClientSpan:
    """``with DbClientSpan(system, operation, collection):`` around one write call."""

    __slots__ = ("_span", "_token", "_name", "_attributes")

    def __init__(self, system: str, operation: str, collection: str | None) -> None:
        self._attributes: dict[str, Any] = {sc.DB_SYSTEM_NAME: system, sc.DB_OPERATION_NAME: operation}
        if collection:
            self._attributes[sc.DB_COLLECTION_NAME] = collection
        self._name = f"{operation} {collection}" if collection else operation
        self._span: Any = None
        self._token: Any = None

    def __enter__(self) -> DbClientSpan:
        try:
            self._span = _telemetry.current().tracer.start_span(
                self._name, kind=SpanKind.CLIENT, attributes=self._attributes
            )
            self._token = attach(set_span_in_context(self._span))
        except Exception as exc:
            report("start", exc)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        span, token = self._span, self._token
        if span is None:
            return
        try:
            if isinstance(exc, Exception) and span.is_recording():
                error_type = type(exc).__qualname__ or sc.ERROR_TYPE_OTHER
                span.record_exception(exc, escaped=True)
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                span.set_attribute(sc.ERROR_TYPE, error_type)
        except Exception as internal:
            report("finish", internal)
        finally:
            try:
                span.end()
                if token is not None:
                    detach(token)
            except Exception as internal:
                report("end", internal)
