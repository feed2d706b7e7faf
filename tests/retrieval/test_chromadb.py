"""Chroma, ephemeral and persistent: ``Collection.query``/``get`` are retrievals, writes are db client spans."""

from __future__ import annotations

import chromadb
import llm_otel
import llm_otel._semconv as sc
import numpy as np
import pytest
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings
from llm_otel.instrumentors.chromadb import ChromaInstrumentor

from tests.retrieval.checks import (
    assert_failed,
    assert_metrics,
    assert_retrieval,
    assert_write,
    assert_write_durations,
    documents,
    instrumenting,
)

SETTINGS = Settings(anonymized_telemetry=False)
TEXTS = {"otel": "OpenTelemetry traces", "prom": "Prometheus scrapes metrics", "jaeger": "Jaeger stores traces"}

INSTRUMENTOR = ChromaInstrumentor


class LetterEmbedding(chromadb.EmbeddingFunction):  # type: ignore[misc]
    """A deterministic local embedding (letter counts): no model download."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: list[str]) -> list[np.ndarray]:  # Chroma calls it with input=
        return [np.array([t.lower().count(c) for c in "aeiost"], dtype=np.float32) + 0.1 for t in input]

    @staticmethod
    def name() -> str:
        return "letter-counts"

    def get_config(self) -> dict:
        return {}

    @staticmethod
    def build_from_config(config: dict) -> LetterEmbedding:
        return LetterEmbedding()


@pytest.fixture(params=["ephemeral", "persistent"])
def client(request, tmp_path):
    if request.param == "ephemeral":
        client = chromadb.EphemeralClient(settings=SETTINGS)
    else:
        client = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=SETTINGS)
    yield client
    for collection in client.list_collections():
        client.delete_collection(collection.name)


@pytest.fixture
def collection(client) -> Collection:
    collection = client.create_collection("docs", embedding_function=LetterEmbedding())
    collection.add(ids=list(TEXTS), documents=list(TEXTS.values()))
    return collection


def test_query_by_text_is_a_retrieval_under_the_workflow(collection, instrumented):
    with llm_otel.workflow("answer"):
        result = collection.query(query_texts=["where are traces stored"], n_results=2)
    assert len(result["ids"][0]) == 2
    span = instrumented.span("retrieval docs")
    assert_retrieval(span, system=sc.DB_SYSTEM_CHROMA, operation="query", collection="docs", top_k=2, returned=2)
    instrumented.assert_parent_chain(span, ["invoke_workflow answer"])
    assert_metrics(instrumented, system=sc.DB_SYSTEM_CHROMA, calls=1, documents_total=2)


def test_content_on_gives_query_text_and_id_distance_pairs(collection, instrumented):
    instrumented.settings(capture="SPAN_ONLY")
    result = collection.query(query_texts=["where are traces stored"], n_results=3)
    span = instrumented.span("retrieval docs")
    assert span.attributes[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] == "where are traces stored"
    docs = documents(span)
    assert [d["id"] for d in docs] == result["ids"][0]
    assert [d["score"] for d in docs] == pytest.approx(result["distances"][0])  # Chroma's distances


def test_a_query_by_embeddings_counts_every_row(collection, instrumented):
    instrumented.settings(capture="SPAN_ONLY")
    embeddings = LetterEmbedding()(["traces", "metrics"])
    result = collection.query(query_embeddings=embeddings, n_results=1)
    span = instrumented.span("retrieval docs")
    assert span.attributes[sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT] == 2
    assert [d["id"] for d in documents(span)] == [row[0] for row in result["ids"]]
    assert sc.GEN_AI_RETRIEVAL_QUERY_TEXT not in span.attributes  # vectors are not query text


def test_get_is_a_retrieval_without_scores(collection, instrumented):
    instrumented.settings(capture="SPAN_ONLY")
    result = collection.get(limit=2)
    span = instrumented.span("retrieval docs")
    assert span.attributes[sc.DB_OPERATION_NAME] == "get"
    assert span.attributes[sc.GEN_AI_RETRIEVAL_TOP_K] == 2
    assert documents(span) == [{"id": i, "score": None} for i in result["ids"]]


def test_content_off_keeps_text_and_documents_off(collection, instrumented):
    collection.query(query_texts=["traces"], n_results=2)
    collection.get(ids=["otel"])
    query, get = instrumented.spans
    assert_retrieval(query, system=sc.DB_SYSTEM_CHROMA, operation="query", collection="docs", top_k=2, returned=2)
    assert_retrieval(get, system=sc.DB_SYSTEM_CHROMA, operation="get", collection="docs", top_k=None, returned=1)


def test_writes_are_database_client_spans(client, instrumented):
    collection = client.create_collection("notes", embedding_function=LetterEmbedding())
    with llm_otel.workflow("index"):
        collection.add(ids=["a"], documents=["alpha"])
        collection.upsert(ids=["a", "b"], documents=["alpha", "beta"])
        collection.update(ids=["b"], documents=["beta two"])
        collection.delete(ids=["a"])
    for operation in ("add", "upsert", "update", "delete"):
        span = instrumented.span(f"{operation} notes")
        assert_write(span, system=sc.DB_SYSTEM_CHROMA, operation=operation, collection="notes")
        instrumented.assert_parent_chain(span, ["invoke_workflow index"])
    assert instrumented.spans_by_operation(sc.OP_RETRIEVAL) == []  # a write is not a retrieval
    assert_write_durations(instrumented, system=sc.DB_SYSTEM_CHROMA, collection="notes",
                           operations={"add": 1, "upsert": 1, "update": 1, "delete": 1})
    assert instrumented.metric_points(sc.METRIC_OPERATION_DURATION) == []  # not a GenAI operation
    assert collection.count() == 1


def test_a_failing_query_keeps_chromas_exception(collection, instrumented):
    with pytest.raises(Exception) as caught:
        collection.query(query_embeddings=[[1.0, 2.0]], n_results=1)  # wrong dimension
    assert type(caught.value).__module__.startswith("chromadb")
    assert_failed(instrumented.span("retrieval docs"), caught.value)


def test_a_failing_write_is_an_error_span(collection, instrumented):
    with pytest.raises(Exception) as caught:
        collection.add(ids=["x"], embeddings=[[1.0, 2.0]])  # wrong dimension
    assert_failed(instrumented.span("add docs"), caught.value)
    assert_write_durations(instrumented, system=sc.DB_SYSTEM_CHROMA, collection="docs", operations={"add": 1},
                           error_type=type(caught.value).__qualname__)


def test_uninstrument_restores_the_methods(collection, otel_capture):
    originals = {name: vars(Collection)[name] for name in ("query", "get", "add", "upsert", "update", "delete")}
    with instrumenting(ChromaInstrumentor):
        assert vars(Collection)["query"] is not originals["query"]
    assert {name: vars(Collection)[name] for name in originals} == originals
    collection.query(query_texts=["traces"], n_results=1)
    assert otel_capture.spans == []
