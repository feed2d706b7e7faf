"""Qdrant local mode (in memory and on disk), sync and async clients: queries are retrievals,
writes are db client spans."""

from __future__ import annotations

import llm_otel
import llm_otel._semconv as sc
import pytest
from llm_otel.instrumentors.qdrant import QdrantInstrumentor
from qdrant_client import AsyncQdrantClient, QdrantClient, models
from qdrant_client.qdrant_client import QdrantClient as _Client

from tests.retrieval.checks import (
    assert_failed,
    assert_metrics,
    assert_retrieval,
    assert_write,
    assert_write_durations,
    documents,
    instrumenting,
)

VECTORS = {1: [1.0, 0.0, 0.0], 2: [0.9, 0.1, 0.0], 3: [0.0, 1.0, 0.0], 4: [0.0, 0.0, 1.0]}
QUERY = [1.0, 0.05, 0.0]
PARAMS = models.VectorParams(size=3, distance=models.Distance.COSINE)
POINTS = [models.PointStruct(id=i, vector=v, payload={"n": i}) for i, v in VECTORS.items()]

INSTRUMENTOR = QdrantInstrumentor


@pytest.fixture(params=["memory", "path"])
def client(request, tmp_path):
    client = QdrantClient(":memory:") if request.param == "memory" else QdrantClient(path=str(tmp_path / "qdrant"))
    client.create_collection("docs", vectors_config=PARAMS)
    client.upsert("docs", points=POINTS)
    yield client
    client.close()


@pytest.fixture
async def async_client():
    client = AsyncQdrantClient(":memory:")
    await client.create_collection("docs", vectors_config=PARAMS)
    await client.upsert("docs", points=POINTS)
    yield client
    await client.close()


def test_query_points_is_a_retrieval_under_the_workflow(client, instrumented):
    with llm_otel.workflow("answer"):
        response = client.query_points("docs", query=QUERY, limit=2)
    assert [p.id for p in response.points] == [1, 2]
    span = instrumented.span("retrieval docs")
    assert_retrieval(span, system=sc.DB_SYSTEM_QDRANT, operation="query_points", collection="docs", top_k=2, returned=2)
    instrumented.assert_parent_chain(span, ["invoke_workflow answer"])
    assert_metrics(instrumented, system=sc.DB_SYSTEM_QDRANT, calls=1, documents_total=2)


def test_content_on_gives_point_ids_and_scores(client, instrumented):
    instrumented.settings(capture="SPAN_ONLY")
    response = client.query_points(collection_name="docs", query=QUERY, limit=3)
    span = instrumented.span("retrieval docs")
    assert documents(span) == [{"id": str(p.id), "score": pytest.approx(p.score)} for p in response.points]
    assert sc.GEN_AI_RETRIEVAL_QUERY_TEXT not in span.attributes  # a vector is not query text


def test_content_off_keeps_documents_off(client, instrumented):
    client.query_points("docs", query=QUERY, limit=3)
    assert sc.GEN_AI_RETRIEVAL_DOCUMENTS not in instrumented.span("retrieval docs").attributes


def test_a_document_query_records_its_text_only_with_content_on(client, instrumented):
    query = models.Document(text="where are traces stored", model="sentence-transformers/all-minilm-l6-v2")
    for mode in ("NO_CONTENT", "SPAN_ONLY"):
        instrumented.settings(capture=mode)
        with pytest.raises(ImportError) as caught:  # local inference needs fastembed (and a model download)
            client.query_points("docs", query=query, limit=2)
    without, with_content = instrumented.spans
    assert sc.GEN_AI_RETRIEVAL_QUERY_TEXT not in without.attributes
    assert with_content.attributes[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] == "where are traces stored"
    assert_failed(with_content, caught.value)


def test_query_batch_points_is_one_retrieval(client, instrumented):
    requests = [models.QueryRequest(query=QUERY, limit=1), models.QueryRequest(query=VECTORS[4], limit=2)]
    responses = client.query_batch_points("docs", requests=requests)
    span = instrumented.span("retrieval docs")
    assert_retrieval(span, system=sc.DB_SYSTEM_QDRANT, operation="query_batch_points", collection="docs", top_k=2,
                     returned=sum(len(r.points) for r in responses))


def test_writes_are_database_client_spans(client, instrumented):
    with llm_otel.workflow("index"):
        client.upsert("docs", points=[models.PointStruct(id=5, vector=[0.5, 0.5, 0.0])])
        client.upload_points("docs", points=[models.PointStruct(id=6, vector=[0.0, 0.5, 0.5])])
        client.delete("docs", points_selector=models.PointIdsList(points=[5]))
    for operation in ("upsert", "upload_points", "delete"):
        span = instrumented.span(f"{operation} docs")
        assert_write(span, system=sc.DB_SYSTEM_QDRANT, operation=operation, collection="docs")
        instrumented.assert_parent_chain(span, ["invoke_workflow index"])
    assert_write_durations(instrumented, system=sc.DB_SYSTEM_QDRANT, collection="docs",
                           operations={"upsert": 1, "upload_points": 1, "delete": 1})
    assert client.count("docs").count == 5


def test_a_failing_query_keeps_qdrants_exception(client, instrumented):
    with pytest.raises(ValueError) as caught:
        client.query_points("missing", query=QUERY, limit=1)
    span = instrumented.span("retrieval missing")
    assert_failed(span, caught.value)
    assert span.attributes[sc.DB_COLLECTION_NAME] == "missing"


async def test_async_client_queries_and_writes(async_client, instrumented):
    instrumented.settings(capture="SPAN_ONLY")
    async with llm_otel.workflow("answer"):
        response = await async_client.query_points("docs", query=QUERY, limit=2)
        await async_client.upsert("docs", points=[models.PointStruct(id=7, vector=[0.1, 0.1, 0.9])])
        # upload_points is a plain method in the async client too
        async_client.upload_points("docs", points=[models.PointStruct(id=8, vector=[0.2, 0.1, 0.9])])
        await async_client.delete("docs", points_selector=models.PointIdsList(points=[7]))
    span = instrumented.span("retrieval docs")
    assert [d["id"] for d in documents(span)] == [str(p.id) for p in response.points]
    assert span.attributes[sc.GEN_AI_RETRIEVAL_TOP_K] == 2
    for name in ("retrieval docs", "upsert docs", "upload_points docs", "delete docs"):
        instrumented.assert_parent_chain(name, ["invoke_workflow answer"])
    assert_write_durations(instrumented, system=sc.DB_SYSTEM_QDRANT, collection="docs",
                           operations={"upsert": 1, "upload_points": 1, "delete": 1})
    with pytest.raises(ValueError) as caught:
        await async_client.query_points("missing", query=QUERY, limit=1)
    assert_failed(instrumented.span("retrieval missing"), caught.value)


def test_uninstrument_restores_the_methods(client, otel_capture):
    names = ("query_points", "query_batch_points", "upsert", "delete", "upload_points")
    originals = {name: vars(_Client)[name] for name in names}
    with instrumenting(QdrantInstrumentor):
        assert vars(_Client)["query_points"] is not originals["query_points"]
    assert {name: vars(_Client)[name] for name in names} == originals
    client.query_points("docs", query=QUERY, limit=1)
    assert otel_capture.spans == []
