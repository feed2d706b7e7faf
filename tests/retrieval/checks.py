"""Checks the vector-store suites share. The tests drive the real libraries in process (Chroma ephemeral
and persistent, Qdrant local mode, LanceDB on a temp dir, FAISS in memory) into ``otel_capture``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import llm_otel._semconv as sc
from opentelemetry.trace import SpanKind, StatusCode

# Retrieval durations are on the conventions' operation-duration instrument.
RETRIEVAL_DURATION = sc.METRIC_OPERATION_DURATION


@contextmanager
def instrumenting(instrumentor_class: type) -> Iterator[Any]:
    instrumentor = instrumentor_class()
    instrumentor.instrument()
    try:
        yield instrumentor
    finally:
        instrumentor.uninstrument()


def assert_retrieval(span: Any, *, system: str, operation: str, collection: str | None, top_k: int | None,
                     returned: int, data_source: str | None = None, content: bool = False) -> None:
    """The exact attributes of a retrieval span (with ``content``: apart from the documents, which must be there)."""
    source = data_source or collection
    expected: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: sc.OP_RETRIEVAL,
        sc.GEN_AI_DATA_SOURCE_ID: source,
        sc.GEN_AI_PROVIDER_NAME: system,
        sc.DB_SYSTEM_NAME: system,
        sc.DB_OPERATION_NAME: operation,
        sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT: returned,
        sc.DB_RESPONSE_RETURNED_ROWS: returned,
    }
    if collection is not None:
        expected[sc.DB_COLLECTION_NAME] = collection
    if top_k is not None:
        expected[sc.GEN_AI_RETRIEVAL_TOP_K] = top_k
    assert span.name == f"{sc.OP_RETRIEVAL} {source}"
    assert span.kind == SpanKind.CLIENT
    assert span.status.status_code == StatusCode.UNSET
    attributes = dict(span.attributes)
    if content:
        assert sc.GEN_AI_RETRIEVAL_DOCUMENTS in attributes
        attributes.pop(sc.GEN_AI_RETRIEVAL_DOCUMENTS)
        attributes.pop(sc.GEN_AI_RETRIEVAL_QUERY_TEXT, None)
    assert attributes == expected


def assert_write(span: Any, *, system: str, operation: str, collection: str) -> None:
    assert span.name == f"{operation} {collection}"
    assert span.kind == SpanKind.CLIENT
    assert dict(span.attributes) == {
        sc.DB_SYSTEM_NAME: system, sc.DB_OPERATION_NAME: operation, sc.DB_COLLECTION_NAME: collection,
    }


def assert_write_durations(capture: Any, *, system: str, collection: str, operations: dict[str, int],
                           error_type: str | None = None) -> None:
    """Each write operation's points on the database conventions' duration instrument (no GenAI one)."""
    for operation, count in operations.items():
        where = {sc.DB_SYSTEM_NAME: system, sc.DB_OPERATION_NAME: operation, sc.DB_COLLECTION_NAME: collection}
        point = capture.metric_point(sc.METRIC_DB_CLIENT_OPERATION_DURATION, where)
        expected = {**where, sc.ERROR_TYPE: error_type} if error_type else where
        assert point.attributes == expected and point.count == count and point.unit == "s"
        assert point.explicit_bounds == sc.DB_DURATION_BUCKETS


def documents(span: Any) -> list[dict[str, Any]]:
    return json.loads(span.attributes[sc.GEN_AI_RETRIEVAL_DOCUMENTS])


def assert_failed(span: Any, exc: BaseException) -> None:
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == type(exc).__qualname__
    assert [e.name for e in span.events] == ["exception"]


def assert_metrics(capture: Any, *, system: str, calls: int, documents_total: int) -> None:
    """One duration and one document-count point per store, with no id or collection on them."""
    where = {sc.GEN_AI_OPERATION_NAME: sc.OP_RETRIEVAL, sc.GEN_AI_PROVIDER_NAME: system}
    duration = capture.metric_point(RETRIEVAL_DURATION, where)
    assert duration.attributes == where and duration.count == calls and duration.unit == "s"
    docs = capture.metric_point(sc.METRIC_RETRIEVAL_DOCUMENTS, where)
    assert docs.attributes == where and docs.count == calls and docs.value == documents_total
