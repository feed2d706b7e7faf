"""A retrieval from a vector store, search index or other data source."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm_otel import _recorder
from llm_otel._invocation import Invocation


def _as_pair(doc: Any) -> tuple[str, float | None] | None:
    if isinstance(doc, (tuple, list)) and len(doc) == 2:
        return str(doc[0]), None if doc[1] is None else float(doc[1])
    if isinstance(doc, Mapping) and "id" in doc:
        score = doc.get("score")
        return str(doc["id"]), None if score is None else float(score)
    doc_id = getattr(doc, "id", None)
    if doc_id is not None:
        score = getattr(doc, "score", None)
        return str(doc_id), None if score is None else float(score)
    return None


class RetrievalInvocation(Invocation):
    """One retrieval. Set ``documents`` to the (id, score) pairs it returned.

    >>> with llm_otel.retrieval(data_source="docs", top_k=3, query=q) as r:
    ...     r.documents = [(hit.id, hit.score) for hit in index.search(q, 3)]
    """

    __slots__ = ("data_source", "top_k", "query", "provider", "documents", "document_count")
    _request_fields = ("data_source", "top_k", "query", "provider")
    _span_start = _recorder.start_retrieval
    _span_end = _recorder.finish_retrieval

    def __init__(
        self,
        data_source: str,
        top_k: int | None = None,
        query: str | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__()
        self.data_source = data_source
        self.top_k = top_k
        self.query = query
        """The query text: on the span only when content capture is on (it is user content)."""
        self.provider = provider
        self._init_response_fields()

    def _init_response_fields(self) -> None:
        self.documents: list[tuple[str, float | None]] | None = None
        """(id, score) pairs; ids and scores are content-gated, their count is not."""
        self.document_count: int | None = None
        """How many documents came back; defaults to ``len(documents)``."""

    def _on_call(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self.query is None and args and isinstance(args[0], str):
            self.query = args[0]

    def _on_return(self, value: Any) -> None:
        if self.documents is not None or not isinstance(value, (list, tuple)):
            return
        self.document_count = len(value)
        pairs = [_as_pair(doc) for doc in value]
        if all(p is not None for p in pairs):
            self.documents = pairs  # type: ignore[assignment]
