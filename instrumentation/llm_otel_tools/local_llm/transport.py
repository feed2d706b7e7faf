"""In-process ``httpx`` transports answering the local LLM routes.

No sockets and no sleeping: the same :func:`llm_otel_tools.local_llm.engine.handle`
replies the HTTP server sends, delivered straight to ``httpx``.  Useful for
benchmarks that want to measure instrumentation overhead without network
noise (``httpx2`` variants ``LocalLLMTransport2`` / ``AsyncLocalLLMTransport2``
exist when ``httpx2`` — what the current SDKs use by default — is installed)::

    client = openai.OpenAI(
        base_url="http://local/v1", api_key="x",
        http_client=httpx.Client(transport=LocalLLMTransport()),
    )

Failure behaviours are reproduced the way ``httpx`` would report them over a
socket: "broken" raises :class:`httpx.RemoteProtocolError` while the body is
read, and when the reply's configured delay (latency, or TTFT for streams;
"slow" sets both) exceeds the request's read timeout,
:class:`httpx.ReadTimeout` is raised immediately instead of waiting.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from . import engine
from .engine import LocalLLMConfig

__all__ = ["AsyncLocalLLMTransport", "LocalLLMTransport", "make_transport_classes"]

_BROKEN_MESSAGE = "peer closed connection without sending complete message body (incomplete chunked read)"


def _reply_for(request: Any, body: bytes, config: LocalLLMConfig, hx: Any) -> engine.Reply:
    headers = {k.lower(): v for k, v in request.headers.items()}
    path = request.url.raw_path.decode("ascii")
    reply = engine.handle(request.method, path, headers, body, config, now=int(time.time()))
    timeout = (request.extensions.get("timeout") or {}).get("read")
    delay_ms = reply.ttft_ms if reply.is_stream else reply.latency_ms
    if timeout is not None and delay_ms / 1000 > timeout:
        raise hx.ReadTimeout("timed out", request=request)
    return reply


def _chunks(reply: engine.Reply) -> tuple[list[bytes], bool]:
    if reply.is_stream:
        return list(reply.events or []), reply.broken
    if reply.broken:
        return [reply.body[: len(reply.body) // 2]], True
    return [reply.body], False


def _headers(reply: engine.Reply) -> dict[str, str]:
    headers = dict(reply.headers)
    if not reply.is_stream and not reply.broken:
        headers["content-length"] = str(len(reply.body))
    return headers


def make_transport_classes(hx: Any) -> tuple[type, type]:
    """Build (sync, async) transport classes for an httpx-compatible module (httpx or httpx2)."""

    class _SyncStream(hx.SyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(self, chunks: list[bytes], broken: bool, request: Any) -> None:
            self._chunks, self._broken, self._request = chunks, broken, request

        def __iter__(self) -> Iterator[bytes]:
            yield from self._chunks
            if self._broken:
                raise hx.RemoteProtocolError(_BROKEN_MESSAGE, request=self._request)

    class _AsyncStream(hx.AsyncByteStream):  # type: ignore[misc,name-defined]
        def __init__(self, chunks: list[bytes], broken: bool, request: Any) -> None:
            self._chunks, self._broken, self._request = chunks, broken, request

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for chunk in self._chunks:
                yield chunk
            if self._broken:
                raise hx.RemoteProtocolError(_BROKEN_MESSAGE, request=self._request)

    class SyncTransport(hx.BaseTransport):  # type: ignore[misc,name-defined]
        """Synchronous transport; pass to ``Client(transport=...)``."""

        def __init__(self, config: LocalLLMConfig | None = None, **overrides: Any) -> None:
            self.config = config or LocalLLMConfig(**overrides)

        def handle_request(self, request: Any) -> Any:
            reply = _reply_for(request, request.read(), self.config, hx)
            chunks, broken = _chunks(reply)
            return hx.Response(reply.status, headers=_headers(reply), stream=_SyncStream(chunks, broken, request), request=request)

    class AsyncTransport(hx.AsyncBaseTransport):  # type: ignore[misc,name-defined]
        """Asynchronous transport; pass to ``AsyncClient(transport=...)``."""

        def __init__(self, config: LocalLLMConfig | None = None, **overrides: Any) -> None:
            self.config = config or LocalLLMConfig(**overrides)

        async def handle_async_request(self, request: Any) -> Any:
            reply = _reply_for(request, await request.aread(), self.config, hx)
            chunks, broken = _chunks(reply)
            return hx.Response(reply.status, headers=_headers(reply), stream=_AsyncStream(chunks, broken, request), request=request)

    return SyncTransport, AsyncTransport


LocalLLMTransport, AsyncLocalLLMTransport = make_transport_classes(httpx)
LocalLLMTransport.__name__ = LocalLLMTransport.__qualname__ = "LocalLLMTransport"
AsyncLocalLLMTransport.__name__ = AsyncLocalLLMTransport.__qualname__ = "AsyncLocalLLMTransport"

try:  # the SDKs' default HTTP library, when installed
    import httpx2 as _httpx2
except ImportError:  # pragma: no cover
    pass
else:
    LocalLLMTransport2, AsyncLocalLLMTransport2 = make_transport_classes(_httpx2)
    LocalLLMTransport2.__name__ = LocalLLMTransport2.__qualname__ = "LocalLLMTransport2"
    AsyncLocalLLMTransport2.__name__ = AsyncLocalLLMTransport2.__qualname__ = "AsyncLocalLLMTransport2"
    __all__ += ["AsyncLocalLLMTransport2", "LocalLLMTransport2"]
