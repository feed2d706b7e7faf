"""FAISS (``faiss-cpu``/``faiss-gpu``): ``Index.search`` on every index type as a retrieval.

FAISS gives each index class its own Python ``search`` (``faiss.class_wrappers``), so every
``faiss.Index*`` class that defines one is wrapped: flat, IVF, HNSW, PQ, LSH, scalar quantizer,
ID maps, shards, binary indexes and the rest.

An index has no name. The data source is the name given with :func:`name_index` (then also
``db.collection.name``), otherwise the index type (``IndexFlatL2``, ``IndexHNSWFlat``, ...) with no
collection name. ``top_k`` is ``k``; the documents are the returned ids (``-1`` padding dropped)
with FAISS's distance (or inner product, per the index's metric) as the score, for all query rows
together. Queries are vectors, so no query text is recorded. Adding vectors is not traced: FAISS
indexes are in-process data structures, not a database client.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection
from typing import Any

from llm_otel import _semconv as sc
from llm_otel.instrumentors._vector import Method, Pairs, Request, Search, VectorStoreInstrumentor, arg

_names: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def name_index(index: Any, name: str) -> Any:
    """Give a FAISS index the data-source name its retrievals carry; returns the index.

    >>> index = name_index(faiss.IndexFlatIP(384), "docs")
    """
    _names[index] = name
    return index


def _request(index: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    # search(x, k, *, params=None, D=None, I=None)
    name = _names.get(index)
    return Request(name, top_k=int(arg(args, kwargs, 1, "k")), data_source=name or type(index).__name__)


def _hits(result: Any, with_pairs: bool) -> tuple[int, Pairs | None]:
    distances, ids = result
    found = ids >= 0
    count = int(found.sum())
    if not with_pairs:
        return count, None
    return count, [(str(i), float(d)) for i, d in zip(ids[found].tolist(), distances[found].tolist(), strict=True)]


_SEARCH = Search(sc.DB_SYSTEM_FAISS, "search", _request, _hits)


def _index_classes() -> list[str]:
    import faiss

    return sorted(
        name for name, cls in vars(faiss).items()
        if name.startswith("Index") and isinstance(cls, type) and "search" in vars(cls)
    )


class FaissInstrumentor(VectorStoreInstrumentor):
    """Instruments ``faiss`` (1.7+): ``search`` on every index class.

    >>> FaissInstrumentor().instrument()   # or llm_otel.configure(), or opentelemetry-instrument
    """

    library = "faiss"

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()  # faiss-cpu, faiss-gpu and conda builds all install ``faiss``: no one distribution to require

    def _methods(self) -> list[Method]:
        return [("faiss", cls, "search", _SEARCH, False) for cls in _index_classes()]
