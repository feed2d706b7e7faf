"""The wrapper every instrumented SDK method goes through.

A provider module supplies a ``Translator`` (request -> invocation, response ->
fields, stream items -> fields); this module does the rest the same way for every
provider: the duplicate guard, start/finish, errors, raw responses and streams.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from llm_otel import _recorder
from llm_otel._llm import LLMInvocation, merge_request, open_llm_invocation
from llm_otel._safety import report
from llm_otel.instrumentors import _stream

StreamObserver = tuple[Callable[[Any], None], Callable[[], None]]


@dataclass(frozen=True)
class Translator:
    build: Callable[[Any, dict[str, Any]], LLMInvocation]
    """(SDK resource instance, call kwargs) -> a new invocation; may adjust kwargs in place."""
    fill: Callable[[LLMInvocation, Any], None]
    """Copy a complete response object into the invocation."""
    observe_stream: Callable[[LLMInvocation], StreamObserver]
    """(on_item, on_end) for one stream: items as the SDK yields them, then once at the end."""
    is_stream: Callable[[Any], bool]
    parse_raw: Callable[[Any], Any] = lambda result: None
    """The parsed object of a raw-response wrapper (``with_raw_response``), or None."""


def _prepare(translator: Translator, instance: Any, kwargs: dict[str, Any]) -> tuple[LLMInvocation | None, LLMInvocation | None]:
    """(invocation to fill, invocation we own) — both None to pass straight through."""
    if not is_instrumentation_enabled():
        return None, None  # suppress_instrumentation() is on (e.g. llm_otel's own judge calls)
    outer = open_llm_invocation()
    if outer is None and _recorder.foreign_inference_span_is_current():
        return None, None  # another instrumentation already records this call
    try:
        inv = translator.build(instance, kwargs)
    except Exception as exc:
        report("request", exc)
        return None, None
    if outer is not None:
        merge_request(outer, inv)
        return outer, None
    _recorder.start(inv, attach_context=True)
    return inv, inv


def _after(translator: Translator, target: LLMInvocation, own: LLMInvocation | None, result: Any, is_async: bool) -> Any:
    try:
        parsed = translator.parse_raw(result)
        body = parsed if parsed is not None else result
        if translator.is_stream(body):
            on_item, on_end = translator.observe_stream(target)
            if own is None:
                # merged into an open invocation: observe, but its owner ends it
                return _observe_only(body, on_item, result, is_async)
            _recorder.release(own)  # the stream outlives this call: the span stays open, not current
            observe = _stream.observe_async if is_async else _stream.observe_sync
            observe(body, own, on_item, on_end)
            return result
        translator.fill(target, body)
    except Exception as exc:
        report("response", exc)
    if own is not None:
        _recorder.finish(own, None)  # while still current, so metric exemplars link to the span
    return result


def _observe_only(stream: Any, on_item: Callable[[Any], None], result: Any, is_async: bool) -> Any:
    source = getattr(stream, "_iterator", None)
    if source is None:
        return result
    if is_async:
        async def observed() -> Any:
            async for item in source:
                on_item(item)
                yield item
    else:
        def observed() -> Any:
            for item in source:
                on_item(item)
                yield item
    stream._iterator = observed()
    return result


def sync_wrapper(translator: Translator) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        target, own = _prepare(translator, instance, kwargs)
        if target is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            if own is not None:
                _recorder.finish(own, exc)
            raise
        return _after(translator, target, own, result, is_async=False)

    return wrapper


def async_wrapper(translator: Translator) -> Callable[..., Any]:
    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        target, own = _prepare(translator, instance, kwargs)
        if target is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            if own is not None:
                _recorder.finish(own, exc)
            raise
        return _after(translator, target, own, result, is_async=True)

    return wrapper


def server_of(client: Any) -> tuple[str | None, int | None]:
    """(server.address, server.port) from an SDK client's base URL, default ports filled in."""
    url = getattr(client, "base_url", None) or getattr(client, "_base_url", None)
    if url is None:
        return None, None
    host = getattr(url, "host", None)
    port = getattr(url, "port", None)
    if port is None:
        scheme = getattr(url, "scheme", "https")
        port = 443 if scheme == "https" else 80 if scheme == "http" else None
    return host or None, port


class _TracedStreamManager:
    """Wraps an SDK stream *manager* (``with client.messages.stream(...) as s``): the request
    happens on enter, so the span starts there; the stream it yields is observed in place."""

    def __init__(self, manager: Any, translator: Translator, instance: Any, kwargs: dict[str, Any], raw_of: Callable[[Any], Any]) -> None:
        self._manager = manager
        self._translator = translator
        self._instance = instance
        self._kwargs = kwargs
        self._raw_of = raw_of
        self._own: LLMInvocation | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)

    def _start(self) -> tuple[LLMInvocation | None, LLMInvocation | None]:
        return _prepare(self._translator, self._instance, {**self._kwargs, "stream": True})

    def _observe(self, stream: Any, target: LLMInvocation | None, own: LLMInvocation | None, is_async: bool) -> None:
        if target is None:
            return
        try:
            on_item, on_end = self._translator.observe_stream(target)
            raw = self._raw_of(stream)
            if own is None:
                _observe_only(raw, on_item, raw, is_async)
                return
            _recorder.release(own)
            (_stream.observe_async if is_async else _stream.observe_sync)(raw, own, on_item, on_end)
        except Exception as exc:
            report("response", exc)
            if own is not None:
                _recorder.finish(own, None)

    def __enter__(self) -> Any:
        target, own = self._start()
        try:
            stream = self._manager.__enter__()
        except BaseException as exc:
            if own is not None:
                _recorder.finish(own, exc)
            raise
        self._observe(stream, target, own, is_async=False)
        return stream

    def __exit__(self, *exc_info: Any) -> Any:
        return self._manager.__exit__(*exc_info)

    async def __aenter__(self) -> Any:
        target, own = self._start()
        try:
            stream = await self._manager.__aenter__()
        except BaseException as exc:
            if own is not None:
                _recorder.finish(own, exc)
            raise
        self._observe(stream, target, own, is_async=True)
        return stream

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self._manager.__aexit__(*exc_info)


def stream_manager_wrapper(translator: Translator, raw_of: Callable[[Any], Any]) -> Callable[..., Any]:
    """Wrapper for a method returning a stream manager (sync or async alike: nothing is awaited here)."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return _TracedStreamManager(wrapped(*args, **kwargs), translator, instance, kwargs, raw_of)

    return wrapper
