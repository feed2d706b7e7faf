"""Chroma (``chromadb``): ``Collection.query``/``get`` as retrievals, ``add``/``upsert``/``update``/
``delete`` as database client spans; the same for ``AsyncCollection`` (the async HTTP client).

The collection's name is the data source. ``query`` returns one list per query (embedding or
text): the documents of all of them are counted and listed together, each with Chroma's
*distance* as its score (lower is closer). ``get`` returns no score. Chroma's own OpenTelemetry
spans (``chromadb.telemetry.opentelemetry``) are off unless Chroma's settings name a collector
endpoint; with both on, Chroma's spans nest under these.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from llm_otel import _semconv as sc
from llm_otel.instrumentors._vector import (
    Method,
    Pairs,
    Request,
    Search,
    VectorStoreInstrumentor,
    Write,
    arg,
    query_text,
)

_SYNC = "chromadb.api.models.Collection"
_ASYNC = "chromadb.api.models.AsyncCollection"


def _query_request(collection: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    # query(query_embeddings, query_texts, query_images, query_uris, ids, n_results=10, ...)
    return Request(collection.name, top_k=arg(args, kwargs, 5, "n_results", 10),
                   query=query_text(arg(args, kwargs, 1, "query_texts")))


def _get_request(collection: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    # get(ids, where, limit, offset, ...)
    return Request(collection.name, top_k=arg(args, kwargs, 2, "limit"))


def _write_request(collection: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    return Request(collection.name)


def _query_hits(result: Any, with_pairs: bool) -> tuple[int, Pairs | None]:
    ids = result["ids"]
    count = sum(len(row) for row in ids)
    if not with_pairs:
        return count, None
    distances = result.get("distances")
    pairs: Pairs = []
    for i, row in enumerate(ids):
        scores = distances[i] if distances else None
        pairs.extend((str(doc_id), None if scores is None else float(scores[j])) for j, doc_id in enumerate(row))
    return count, pairs


def _get_hits(result: Any, with_pairs: bool) -> tuple[int, Pairs | None]:
    ids = result["ids"]
    return len(ids), ([(str(doc_id), None) for doc_id in ids] if with_pairs else None)


_QUERY = Search(sc.DB_SYSTEM_CHROMA, "query", _query_request, _query_hits)
_GET = Search(sc.DB_SYSTEM_CHROMA, "get", _get_request, _get_hits)
_WRITES: dict[str, Search | Write] = {
    op: Write(sc.DB_SYSTEM_CHROMA, op, _write_request) for op in ("add", "upsert", "update", "delete")
}

METHODS: list[Method] = [
    (module, cls, name, spec, is_async)
    for module, cls, is_async in ((_SYNC, "Collection", False), (_ASYNC, "AsyncCollection", True))
    for name, spec in {"query": _QUERY, "get": _GET, **_WRITES}.items()
]


class ChromaInstrumentor(VectorStoreInstrumentor):
    """Instruments ``chromadb`` (1.0+), ephemeral, persistent and HTTP clients alike.

    >>> ChromaInstrumentor().instrument()   # or llm_otel.configure(), or opentelemetry-instrument
    """

    library = "chromadb"

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("chromadb >= 1.0",)

    def _methods(self) -> list[Method]:
        return METHODS
