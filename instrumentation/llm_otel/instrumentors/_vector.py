"""What the vector-store instrumentors share: a query becomes a ``RetrievalInvocation``, a write
becomes a database client operation (``DbInvocation``).

A store module only reads its library's objects. For a query method it gives a ``Search``: how
the call's arguments name the collection, top_k and query text (``request``) and how the result
gives the returned count and the ``(id, score)`` pairs (``hits``). For a write method it gives a
``Write``: how the call names the collection. Everything else is done here once, the same way for
every store: the guard against nested calls of the same store (one span per user call), the
``db.*`` attributes, containment of translation failures, and sync/async wrappers. The
retrieval's span, metrics and content gating, and the write's database span and
``db.client.operation.duration`` point, come from ``llm_otel._recorder``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from llm_otel import _semconv as sc
from llm_otel import _settings
from llm_otel._db import DbInvocation
from llm_otel._retrieval import RetrievalInvocation
from llm_otel._safety import report
from llm_otel.instrumentors._base import Patch, ProviderInstrumentor

Pairs = list[tuple[str, float | None]]


@dataclass(frozen=True, slots=True)
class Request:
    """What one call asks for, read from its arguments."""

    collection: str | None
    """``db.collection.name`` (and the retrieval's data source)."""
    top_k: int | None = None
    query: str | None = None
    """The query text, when the query is text (a vector is not recorded)."""
    data_source: str | None = None
    """``gen_ai.data_source.id`` when it is not the collection (a FAISS index has no name)."""


# (instance, args, kwargs) -> the request, or None when this call is not one to record
Reader = Callable[[Any, tuple[Any, ...], dict[str, Any]], "Request | None"]
# (result, with_pairs) -> (returned count, (id, score) pairs or None); pairs are only built when content is on
Hits = Callable[[Any, bool], "tuple[int, Pairs | None]"]


@dataclass(frozen=True, slots=True)
class Search:
    system: str
    operation: str
    request: Reader
    hits: Hits


@dataclass(frozen=True, slots=True)
class Write:
    system: str
    operation: str
    request: Reader


# The store whose instrumented call is running in this context: its inner calls pass straight through.
_active: ContextVar[str | None] = ContextVar("llm_otel_vector_store", default=None)


def arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any = None) -> Any:
    """An argument given by keyword or by position (``index`` counts after ``self``)."""
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def query_text(value: Any) -> str | None:
    """One query string as is; several as one text, one per line; anything else is not text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return value[0] if len(value) == 1 else "\n".join(value)
    return None


# -- retrievals ---------------------------------------------------------------------------------


def _open(search: Search, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> RetrievalInvocation | None:
    if _active.get() == search.system or not is_instrumentation_enabled():
        return None
    try:
        request = search.request(instance, args, kwargs)
        if request is None:
            return None
        collection = request.collection
        inv = RetrievalInvocation(
            data_source=request.data_source or collection or search.system,
            top_k=request.top_k,
            query=request.query,
            provider=search.system,
        )
        attributes = inv.attributes
        attributes[sc.DB_SYSTEM_NAME] = search.system
        attributes[sc.DB_OPERATION_NAME] = search.operation
        if collection:
            attributes[sc.DB_COLLECTION_NAME] = collection
        return inv
    except Exception as exc:
        report("request", exc)
        return None


def _fill(search: Search, inv: RetrievalInvocation, result: Any) -> None:
    try:
        count, pairs = search.hits(result, _settings.get().capture.on_span)
        inv.document_count = count
        inv.documents = pairs
        inv.attributes[sc.DB_RESPONSE_RETURNED_ROWS] = count
    except Exception as exc:
        report("response", exc)


def retrieval_wrapper(search: Search) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        inv = _open(search, instance, args, kwargs)
        if inv is None:
            return wrapped(*args, **kwargs)
        token = _active.set(search.system)
        try:
            with inv:
                result = wrapped(*args, **kwargs)
                _fill(search, inv, result)
                return result
        finally:
            _active.reset(token)

    return wrapper


def async_retrieval_wrapper(search: Search) -> Callable[..., Any]:
    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        inv = _open(search, instance, args, kwargs)
        if inv is None:
            return await wrapped(*args, **kwargs)
        token = _active.set(search.system)
        try:
            with inv:
                result = await wrapped(*args, **kwargs)
                _fill(search, inv, result)
                return result
        finally:
            _active.reset(token)

    return wrapper


# -- writes -------------------------------------------------------------------------------------


def _open_write(write: Write, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> DbInvocation | None:
    if _active.get() == write.system or not is_instrumentation_enabled():
        return None
    try:
        request = write.request(instance, args, kwargs)
    except Exception as exc:
        report("request", exc)
        return None
    return None if request is None else DbInvocation(write.system, write.operation, request.collection)


def write_wrapper(write: Write) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        span = _open_write(write, instance, args, kwargs)
        if span is None:
            return wrapped(*args, **kwargs)
        token = _active.set(write.system)
        try:
            with span:
                return wrapped(*args, **kwargs)
        finally:
            _active.reset(token)

    return wrapper


def async_write_wrapper(write: Write) -> Callable[..., Any]:
    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        span = _open_write(write, instance, args, kwargs)
        if span is None:
            return await wrapped(*args, **kwargs)
        token = _active.set(write.system)
        try:
            with span:
                return await wrapped(*args, **kwargs)
        finally:
            _active.reset(token)

    return wrapper


# -- instrumentors ------------------------------------------------------------------------------

# (module, class, method, Search or Write, is the method a coroutine function)
Method = tuple[str, str, str, "Search | Write", bool]


def patches(methods: Sequence[Method]) -> list[Patch]:
    """The wrappers for the methods this version of the library has (others are skipped)."""
    out: list[Patch] = []
    for module, cls, method, spec, is_async in methods:
        owner = getattr(importlib.import_module(module), cls, None)
        if owner is None or not callable(getattr(owner, method, None)):
            continue
        if isinstance(spec, Search):
            wrapper = (async_retrieval_wrapper if is_async else retrieval_wrapper)(spec)
        else:
            wrapper = (async_write_wrapper if is_async else write_wrapper)(spec)
        out.append((module, f"{cls}.{method}", wrapper))
    return out


class VectorStoreInstrumentor(ProviderInstrumentor):
    """A store's instrumentor: its ``_methods`` table, wrapped and unwrapped exactly.

    Vector-store libraries are slow to import (seconds for chromadb or lancedb); like every
    ``ProviderInstrumentor``, ``instrument()`` patches when the application imports the library
    (``library``), and never imports it itself.
    """

    def _methods(self) -> Sequence[Method]:
        raise NotImplementedError

    def _patches(self) -> list[Patch]:
        return patches(self._methods())
