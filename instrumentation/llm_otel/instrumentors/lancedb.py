"""LanceDB (``lancedb``): vector, full-text and hybrid searches on a table as retrievals; ``add`` and
``delete`` as database client spans; sync tables and the async connection alike.

A search runs when its result is collected: the sync query builders' ``to_arrow`` (which
``to_list``/``to_pandas`` go through) and the async queries' ``to_arrow`` (which
``to_list``/``to_pandas`` and awaiting ``AsyncTable.search`` results go through). Plain scans
(``table.search()`` with no query) are not retrievals and pass through. The sync API runs the
async one on LanceDB's background event loop thread, so calls made there pass through: the span
is the caller's, in the caller's trace.

The table is the data source. Documents are the rows' ``id`` column (``_rowid`` when the table
has none and row ids were asked for) with ``_distance`` (vector), ``_score`` (full-text) or
``_relevance_score`` (hybrid) as the score.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Any

from llm_otel import _semconv as sc
from llm_otel.instrumentors._vector import Method, Pairs, Request, Search, VectorStoreInstrumentor, Write

_QUERY = "lancedb.query"
_TABLE = "lancedb.table"
_SCORE_COLUMNS = ("_distance", "_score", "_relevance_score")
_ID_COLUMNS = ("id", "_rowid")


def _on_background_loop() -> bool:
    from lancedb.background_loop import LOOP

    return threading.current_thread() is LOOP.thread


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _sync_request(builder: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request:
    text = _text(getattr(builder, "_str_query", None)) or _text(getattr(builder, "_query", None))
    return Request(builder._table.name, top_k=builder._limit, query=text)


def _async_request(query: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request | None:
    from lancedb.query import AsyncFTSQuery, AsyncHybridQuery, AsyncVectorQuery

    if not isinstance(query, (AsyncVectorQuery, AsyncFTSQuery, AsyncHybridQuery)) or _on_background_loop():
        return None
    table = query._table
    request = query._inner.to_query_request() if hasattr(query._inner, "to_query_request") else None
    text = _text(getattr(query, "_query_string", None))
    if text is None and request is not None:
        fts = getattr(request, "full_text_search", None)
        text = _text(getattr(fts, "query", None)) or _text(fts)
    return Request(table.name if table is not None else None, top_k=getattr(request, "limit", None), query=text)


def _hits(table: Any, with_pairs: bool) -> tuple[int, Pairs | None]:
    count = table.num_rows
    if not with_pairs:
        return count, None
    names = table.column_names
    id_column = next((c for c in _ID_COLUMNS if c in names), None)
    if id_column is None:
        return count, None  # rows without an identity: counted, not listed
    score_column = next((c for c in _SCORE_COLUMNS if c in names), None)
    ids = table.column(id_column).to_pylist()
    scores = table.column(score_column).to_pylist() if score_column else [None] * count
    return count, [(str(i), None if s is None else float(s)) for i, s in zip(ids, scores, strict=True)]


def _write_request(table: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Request | None:
    return None if _on_background_loop() else Request(table.name)


_SYNC_SEARCH = Search(sc.DB_SYSTEM_LANCEDB, "search", _sync_request, _hits)
_ASYNC_SEARCH = Search(sc.DB_SYSTEM_LANCEDB, "search", _async_request, _hits)
_WRITES = tuple((op, Write(sc.DB_SYSTEM_LANCEDB, op, _write_request)) for op in ("add", "delete"))

METHODS: list[Method] = [
    *((_QUERY, cls, "to_arrow", _SYNC_SEARCH, False)
      for cls in ("LanceVectorQueryBuilder", "LanceFtsQueryBuilder", "LanceHybridQueryBuilder")),
    (_QUERY, "AsyncQueryBase", "to_arrow", _ASYNC_SEARCH, True),
    *((_TABLE, "LanceTable", op, spec, False) for op, spec in _WRITES),
    *((_TABLE, "AsyncTable", op, spec, True) for op, spec in _WRITES),
]


class LanceDBInstrumentor(VectorStoreInstrumentor):
    """Instruments ``lancedb`` (0.20+): local tables, sync and async connections.

    >>> LanceDBInstrumentor().instrument()   # or llm_otel.configure(), or opentelemetry-instrument
    """

    library = "lancedb"

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("lancedb >= 0.20",)

    def _methods(self) -> list[Method]:
        return METHODS
