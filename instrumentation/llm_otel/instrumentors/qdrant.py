"""Qdrant (``qdrant-client``): ``query_points``, ``query_batch_points`` and (where the client still has
it) ``search`` as retrievals, ``upsert``/``delete``/``upload_points`` as database client spans, on
``QdrantClient`` and ``AsyncQdrantClient``.

The client methods are wrapped, so the local in-process mode (``QdrantClient(":memory:")`` or
``path=...``) and a remote server are covered alike. The collection is the data source; the
documents are the returned points' ids with Qdrant's score. A query is text only when it is a
``models.Document`` (server-side inference); vectors and point ids are not recorded.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from llm_otel import _semconv as sc
from llm_otel.instrumentors._vector import Method, Pairs, Request, Search, VectorStoreInstrumentor, Write, arg

_SYNC = ("qdrant_client.qdrant_client", "QdrantClient", False)
_ASYNC = ("qdrant_client.async_qdrant_client", "AsyncQdrantClient", True)


def _text(query: Any) -> str | None:
    text = getattr(query, "text", None)
    return text if isinstance(text, str) else None


def _query_points_request(client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    # query_points(collection_name, query, using, prefetch, query_filter, search_params, limit=10, ...)
    return Request(arg(args, kwargs, 0, "collection_name"), top_k=arg(args, kwargs, 6, "limit", 10),
                   query=_text(arg(args, kwargs, 1, "query")))


def _batch_request(client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    # query_batch_points(collection_name, requests, ...): top_k is the largest limit asked for
    requests = arg(args, kwargs, 1, "requests") or ()
    limits = [r.limit for r in requests if getattr(r, "limit", None) is not None]
    return Request(arg(args, kwargs, 0, "collection_name"), top_k=max(limits) if limits else None)


def _search_request(client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    # search(collection_name, query_vector, query_filter, search_params, limit=10, ...) (before 1.16)
    return Request(arg(args, kwargs, 0, "collection_name"), top_k=arg(args, kwargs, 4, "limit", 10))


def _write_request(client: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    return Request(arg(args, kwargs, 0, "collection_name"))


def _scored(points: Any, with_pairs: bool) -> tuple[int, Pairs | None]:
    return len(points), ([(str(p.id), p.score) for p in points] if with_pairs else None)


def _response_hits(result: Any, with_pairs: bool) -> tuple[int, Pairs | None]:
    return _scored(result.points, with_pairs)


def _batch_hits(result: Any, with_pairs: bool) -> tuple[int, Pairs | None]:
    return _scored([p for response in result for p in response.points], with_pairs)


_SEARCHES: tuple[tuple[str, Search | Write], ...] = (
    ("query_points", Search(sc.DB_SYSTEM_QDRANT, "query_points", _query_points_request, _response_hits)),
    ("query_batch_points", Search(sc.DB_SYSTEM_QDRANT, "query_batch_points", _batch_request, _batch_hits)),
    ("search", Search(sc.DB_SYSTEM_QDRANT, "search", _search_request, _scored)),
)
_WRITES: tuple[tuple[str, Search | Write], ...] = tuple(
    (op, Write(sc.DB_SYSTEM_QDRANT, op, _write_request)) for op in ("upsert", "delete", "upload_points")
)

METHODS: list[Method] = [
    (module, cls, name, spec, is_async and name != "upload_points")  # the async client's upload_points is sync
    for module, cls, is_async in (_SYNC, _ASYNC)
    for name, spec in (*_SEARCHES, *_WRITES)
]


class QdrantInstrumentor(VectorStoreInstrumentor):
    """Instruments ``qdrant-client`` (1.10+): remote and local mode, sync and async clients.

    >>> QdrantInstrumentor().instrument()   # or llm_otel.configure(), or opentelemetry-instrument
    """

    library = "qdrant_client"

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("qdrant-client >= 1.10",)

    def _methods(self) -> list[Method]:
        return METHODS
