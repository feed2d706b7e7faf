"""FAISS in memory: ``Index.search`` on the common index types is one retrieval span."""

from __future__ import annotations

import faiss
import llm_otel
import llm_otel._semconv as sc
import numpy as np
import pytest
from llm_otel.instrumentors.faiss import FaissInstrumentor, name_index

from tests.retrieval.checks import assert_failed, assert_metrics, assert_retrieval, documents, instrumenting

DIM = 8
VECTORS = np.random.default_rng(7).random((64, DIM), dtype=np.float32)
QUERY = VECTORS[:1] + 0.01

INSTRUMENTOR = FaissInstrumentor


def _ivf(metric: int) -> faiss.Index:
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(DIM), DIM, 4, metric)
    index.train(VECTORS)
    index.nprobe = 4
    return index


INDEXES = {
    "IndexFlatL2": lambda: faiss.IndexFlatL2(DIM),
    "IndexFlatIP": lambda: faiss.IndexFlatIP(DIM),
    "IndexIVFFlat": lambda: _ivf(faiss.METRIC_L2),
    "IndexHNSWFlat": lambda: faiss.IndexHNSWFlat(DIM, 16),
    "IndexScalarQuantizer": lambda: faiss.IndexScalarQuantizer(DIM, faiss.ScalarQuantizer.QT_8bit),
    "IndexLSH": lambda: faiss.IndexLSH(DIM, 32),
}


def _filled(make) -> faiss.Index:
    index = make()
    if not index.is_trained:
        index.train(VECTORS)
    index.add(VECTORS)
    return index


@pytest.mark.parametrize("kind", sorted(INDEXES))
def test_search_on_each_index_type_is_a_retrieval(instrumented, kind):
    index = _filled(INDEXES[kind])
    with llm_otel.workflow("answer"):
        distances, ids = index.search(QUERY, 5)
    assert ids.shape == (1, 5) and distances.shape == (1, 5)  # the library's own result, untouched
    span = instrumented.span(f"retrieval {kind}")
    assert_retrieval(span, system=sc.DB_SYSTEM_FAISS, operation="search", collection=None, top_k=5,
                     returned=5, data_source=kind)
    instrumented.assert_parent_chain(span, ["invoke_workflow answer"])
    assert_metrics(instrumented, system=sc.DB_SYSTEM_FAISS, calls=1, documents_total=5)


def test_a_named_index_is_the_data_source_and_collection(instrumented):
    index = name_index(_filled(INDEXES["IndexFlatL2"]), "docs")
    index.search(QUERY, 3)
    assert_retrieval(instrumented.span("retrieval docs"), system=sc.DB_SYSTEM_FAISS, operation="search",
                     collection="docs", top_k=3, returned=3)


def test_id_map_returns_the_user_ids_and_padding_is_not_a_document(instrumented):
    index = faiss.IndexIDMap(faiss.IndexFlatL2(DIM))
    index.add_with_ids(VECTORS[:3], np.array([101, 102, 103], dtype=np.int64))
    instrumented.settings(capture="SPAN_ONLY")
    distances, ids = index.search(np.vstack([QUERY, QUERY]), 5)  # two query rows, only 3 vectors: -1 padding
    assert (ids == -1).sum() == 4
    span = instrumented.span("retrieval IndexIDMap")
    assert span.attributes[sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT] == 6
    docs = documents(span)
    assert [d["id"] for d in docs] == [str(i) for i in ids[ids >= 0].tolist()]
    assert docs[0]["id"] == "101" and docs[0]["score"] == pytest.approx(float(distances[0, 0]))
    assert sc.GEN_AI_RETRIEVAL_QUERY_TEXT not in span.attributes  # a vector is not query text


def test_documents_only_when_content_capture_is_on(instrumented):
    index = _filled(INDEXES["IndexFlatIP"])
    index.search(QUERY, 2)
    assert sc.GEN_AI_RETRIEVAL_DOCUMENTS not in instrumented.span("retrieval IndexFlatIP").attributes
    instrumented.clear()
    with instrumented.capturing_content("SPAN_ONLY"):
        index.search(QUERY, 2)
    assert len(documents(instrumented.span("retrieval IndexFlatIP"))) == 2


def test_a_failing_search_keeps_faiss_exception(instrumented):
    index = _filled(INDEXES["IndexFlatL2"])
    with pytest.raises(AssertionError) as caught:  # faiss asserts the query dimension
        index.search(np.zeros((1, DIM + 1), dtype=np.float32), 2)
    span = instrumented.span("retrieval IndexFlatL2")
    assert_failed(span, caught.value)
    assert sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT not in span.attributes


def test_uninstrument_restores_every_search(otel_capture):
    before = {name: vars(getattr(faiss, name))["search"] for name in ("IndexFlat", "IndexIVF", "IndexHNSW", "Index")}
    with instrumenting(FaissInstrumentor):
        assert vars(faiss.IndexFlat)["search"] is not before["IndexFlat"]
    assert {name: vars(getattr(faiss, name))["search"] for name in before} == before
    _filled(INDEXES["IndexFlatL2"]).search(QUERY, 2)
    assert otel_capture.spans == []
