"""A database client operation that is not a GenAI operation: a vector-store write (add, upsert, delete).

Its span follows the database conventions (CLIENT, ``{db.operation.name} {db.collection.name}``,
``db.system.name``, ``db.collection.name``, ``db.operation.name``), and its duration is a point
on ``db.client.operation.duration``; both come from ``llm_otel._recorder`` like every other kind.
"""

from __future__ import annotations

from llm_otel import _recorder
from llm_otel._invocation import Invocation


class DbInvocation(Invocation):
    """One database client call.

    >>> with DbInvocation(system="chroma", operation="upsert", collection="docs"):
    ...     collection.upsert(...)
    """

    __slots__ = ("system", "operation", "collection")
    _request_fields = ("system", "operation", "collection")
    _span_start = _recorder.start_db
    _span_end = _recorder.finish_db

    def __init__(self, system: str, operation: str, collection: str | None = None) -> None:
        super().__init__()
        self.system = system
        self.operation = operation
        self.collection = collection
