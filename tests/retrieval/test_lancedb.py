"""LanceDB on a temp dir, sync tables and the async connection: vector and full-text searches are
retrievals, ``add``/``delete`` are db client spans, one span per user call."""

from __future__ import annotations

import lancedb
import llm_otel
import llm_otel._semconv as sc
import pytest
from lancedb.index import FTS
from lancedb.query import AsyncQueryBase, LanceVectorQueryBuilder
from lancedb.table import AsyncTable, LanceTable
from llm_otel.instrumentors.lancedb import LanceDBInstrumentor

from tests.retrieval.checks import (
    assert_failed,
    assert_metrics,
    assert_retrieval,
    assert_write,
    assert_write_durations,
    documents,
    instrumenting,
)

ROWS = [
    {"id": "otel", "text": "OpenTelemetry traces and spans", "vector": [1.0, 0.0, 0.0]},
    {"id": "prom", "text": "Prometheus scrapes metrics", "vector": [0.9, 0.1, 0.0]},
    {"id": "jaeger", "text": "Jaeger stores traces", "vector": [0.0, 1.0, 0.0]},
    {"id": "loki", "text": "Loki keeps logs", "vector": [0.0, 0.0, 1.0]},
]
QUERY = [1.0, 0.05, 0.0]

INSTRUMENTOR = LanceDBInstrumentor


@pytest.fixture
def table(tmp_path):
    return lancedb.connect(str(tmp_path / "lance")).create_table("docs", data=ROWS)


def test_vector_search_is_one_retrieval_under_the_workflow(table, instrumented):
    with llm_otel.workflow("answer"):
        rows = table.search(QUERY).limit(2).to_list()
    assert [r["id"] for r in rows] == ["otel", "prom"]
    span = instrumented.span("retrieval docs")  # the sync API runs on LanceDB's async layer: still one span
    assert_retrieval(span, system=sc.DB_SYSTEM_LANCEDB, operation="search", collection="docs", top_k=2, returned=2)
    instrumented.assert_parent_chain(span, ["invoke_workflow answer"])
    assert len(instrumented.spans) == 2
    assert_metrics(instrumented, system=sc.DB_SYSTEM_LANCEDB, calls=1, documents_total=2)


def test_content_on_gives_ids_and_distances(table, instrumented):
    instrumented.settings(capture="SPAN_ONLY")
    result = table.search(QUERY).limit(3).to_arrow()
    span = instrumented.span("retrieval docs")
    assert documents(span) == [
        {"id": i, "score": pytest.approx(d)}
        for i, d in zip(result.column("id").to_pylist(), result.column("_distance").to_pylist(), strict=True)
    ]
    assert sc.GEN_AI_RETRIEVAL_QUERY_TEXT not in span.attributes


def test_content_off_keeps_documents_off(table, instrumented):
    table.search(QUERY).limit(3).to_list()
    assert sc.GEN_AI_RETRIEVAL_DOCUMENTS not in instrumented.span("retrieval docs").attributes


def test_full_text_search_records_the_query_text_with_content_on(table, instrumented):
    table.create_index("text", config=FTS())
    instrumented.settings(capture="SPAN_ONLY")
    rows = table.search("traces", query_type="fts").limit(5).to_list()
    assert {r["id"] for r in rows} == {"otel", "jaeger"}
    span = instrumented.span("retrieval docs")
    assert span.attributes[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] == "traces"
    assert [d["id"] for d in documents(span)] == [r["id"] for r in rows]
    assert [d["score"] for d in documents(span)] == pytest.approx([r["_score"] for r in rows])


def test_a_plain_scan_is_not_a_retrieval(table, instrumented):
    assert len(table.search().limit(10).to_list()) == 4
    assert instrumented.spans == []


def test_writes_are_database_client_spans(table, instrumented):
    with llm_otel.workflow("index"):
        table.add([{"id": "tempo", "text": "Tempo stores traces", "vector": [0.0, 0.5, 0.5]}])
        table.delete("id = 'loki'")
    for operation in ("add", "delete"):
        span = instrumented.span(f"{operation} docs")
        assert_write(span, system=sc.DB_SYSTEM_LANCEDB, operation=operation, collection="docs")
        instrumented.assert_parent_chain(span, ["invoke_workflow index"])
    assert len(instrumented.spans) == 3  # not again from the async layer the sync API runs on
    assert_write_durations(instrumented, system=sc.DB_SYSTEM_LANCEDB, collection="docs",
                           operations={"add": 1, "delete": 1})
    assert table.count_rows() == 4


def test_a_failing_search_keeps_lancedbs_exception(table, instrumented):
    with pytest.raises(Exception) as caught:
        table.search(QUERY).where("no_such_column = 1").limit(1).to_list()
    assert_failed(instrumented.span("retrieval docs"), caught.value)


async def test_async_connection_searches_and_writes(tmp_path, instrumented):
    db = await lancedb.connect_async(str(tmp_path / "lance"))
    table = await db.create_table("docs", data=ROWS)
    instrumented.settings(capture="SPAN_ONLY")
    async with llm_otel.workflow("answer"):
        rows = await table.query().nearest_to(QUERY).limit(3).to_list()
        more = await (await table.search(QUERY)).limit(1).to_list()
        await table.add([{"id": "tempo", "text": "Tempo stores traces", "vector": [0.0, 0.5, 0.5]}])
        await table.delete("id = 'tempo'")
        await table.query().limit(2).to_list()  # a plain scan: not a retrieval
    first, second = instrumented.spans_by_operation(sc.OP_RETRIEVAL)
    assert_retrieval(first, system=sc.DB_SYSTEM_LANCEDB, operation="search", collection="docs", top_k=3, returned=3,
                     content=True)
    assert [d["id"] for d in documents(second)] == [r["id"] for r in more]
    assert [d["id"] for d in documents(first)] == [r["id"] for r in rows]
    for name in ("add docs", "delete docs"):
        instrumented.assert_parent_chain(name, ["invoke_workflow answer"])
    assert_write_durations(instrumented, system=sc.DB_SYSTEM_LANCEDB, collection="docs",
                           operations={"add": 1, "delete": 1})
    assert len(instrumented.spans) == 5
    with pytest.raises(Exception) as caught:
        await table.query().nearest_to([1.0]).limit(1).to_list()
    failed = [s for s in instrumented.spans_by_operation(sc.OP_RETRIEVAL) if s.status.is_ok is False]
    assert len(failed) == 1
    assert_failed(failed[0], caught.value)


def test_uninstrument_restores_the_methods(table, otel_capture):
    owners = ((LanceVectorQueryBuilder, "to_arrow"), (AsyncQueryBase, "to_arrow"), (LanceTable, "add"),
              (AsyncTable, "delete"))
    originals = [vars(owner)[name] for owner, name in owners]
    with instrumenting(LanceDBInstrumentor):
        assert vars(LanceVectorQueryBuilder)["to_arrow"] is not originals[0]
    assert [vars(owner)[name] for owner, name in owners] == originals
    table.search(QUERY).limit(1).to_list()
    assert otel_capture.spans == []
