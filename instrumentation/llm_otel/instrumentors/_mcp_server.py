"""MCP server side: every handled request (tool, resource, prompt, list, initialize) is one SERVER span,
child of the client's span through the W3C context in ``params._meta``.

- mcp 1.x has no telemetry: ``Server._handle_request`` (which FastMCP and the low-level ``Server``
  both go through) opens the span; the response it sends decides the outcome.
- mcp 2.x opens the span itself (``OpenTelemetryMiddleware``, with the method, tool/prompt name,
  request id, protocol version, JSON-RPC and ``tool_error`` outcomes): we only add the transport,
  the session id, opt-in arguments/result, and record the operation duration from its attributes.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from opentelemetry.trace import SpanKind, get_current_span

from llm_otel import _safety
from llm_otel import _semconv as sc
from llm_otel.instrumentors import _mcp_common as common

_SESSION_HEADER = "mcp-session-id"


def _http_attributes(request: Any) -> dict[str, Any]:
    """Transport attributes from the HTTP request a message came with (None: stdio or in-memory)."""
    if request is None:
        transport = common.current_transport.get()
        return transport.attributes() if transport is not None else {}
    out: dict[str, Any] = {sc.NETWORK_TRANSPORT: sc.TRANSPORT_TCP, sc.NETWORK_PROTOCOL_NAME: sc.PROTOCOL_HTTP}
    headers = getattr(request, "headers", None)
    session_id = headers.get(_SESSION_HEADER) if headers is not None else None
    if session_id:
        out[sc.MCP_SESSION_ID] = session_id
    return out


class _Serving:
    """The request this task is handling (1.x), so the response it sends can be read."""

    __slots__ = ("arguments", "op", "request_id")

    def __init__(self, op: common.Operation, request_id: Any, arguments: Any) -> None:
        self.op, self.request_id, self.arguments = op, request_id, arguments

    def responded(self, response: Any) -> None:
        op = self.op
        code = getattr(response, "code", None)
        if isinstance(code, int) and hasattr(response, "message"):  # ErrorData
            op.set({sc.RPC_RESPONSE_STATUS_CODE: str(code)})
            op.fail(str(code), str(response.message))
            return
        result = getattr(response, "root", response)
        if op.method != sc.MCP_TOOLS_CALL:
            return
        if common.is_tool_error(result):
            op.fail(sc.ERROR_TYPE_TOOL_ERROR)
        if common.capture_on_span():
            op.set(common.content_attributes(self.arguments, result))


_serving: ContextVar[_Serving | None] = ContextVar("llm_otel_mcp_serving", default=None)


async def handle_request_v1(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """1.x ``Server._handle_request(message, req, session, ...)``: every request but ``initialize``."""
    return await _serve_v1(args[0], args[1], args[2], wrapped, args, kwargs)


async def received_request_v1(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """1.x ``ServerSession._received_request(responder)``: answers ``initialize`` itself."""
    responder = args[0] if args else kwargs.get("responder")
    req = getattr(getattr(responder, "request", None), "root", None)
    if getattr(req, "method", None) != sc.MCP_INITIALIZE:
        return await wrapped(*args, **kwargs)
    return await _serve_v1(responder, req, instance, wrapped, args, kwargs)


async def _serve_v1(message: Any, req: Any, session: Any, wrapped: Any, args: Any, kwargs: Any) -> Any:
    try:
        params = getattr(req, "params", None)
        name, attributes = common.request_attributes(str(req.method), params)
        attributes[sc.JSONRPC_REQUEST_ID] = str(message.request_id)
        version = getattr(getattr(session, "client_params", None) or params, "protocolVersion", None)
        if isinstance(version, str):
            attributes[sc.MCP_PROTOCOL_VERSION] = version
        request = getattr(getattr(message, "message_metadata", None), "request_context", None)
        attributes.update(_http_attributes(request))
        op = common.Operation(str(req.method), SpanKind.SERVER, attributes)
        op.start(name, common.extract_from(message.request_meta))
        token = _serving.set(_Serving(op, message.request_id, getattr(params, "arguments", None)))
    except Exception as exc:
        _safety.report("mcp server start", exc)
        return await wrapped(*args, **kwargs)

    def done(error: BaseException | None) -> None:
        _serving.reset(token)
        op.end(error)

    return await common.observed(wrapped(*args, **kwargs), done)


async def respond_v1(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    serving = _serving.get()
    if serving is not None and args and serving.request_id == getattr(instance, "request_id", None):
        try:
            serving.responded(args[0])
        except Exception as exc:
            _safety.report("mcp server response", exc)
    return await wrapped(*args, **kwargs)


async def middleware_v2(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Around mcp 2.x's ``OpenTelemetryMiddleware``: enrich its SERVER span, record the duration."""
    if len(args) < 2:
        return await wrapped(*args, **kwargs)
    ctx, call_next = args[0], args[1]
    seen: dict[str, Any] = {}

    async def observed(inner: Any) -> Any:
        span = seen["span"] = get_current_span()
        try:
            span.set_attributes(_http_attributes(getattr(inner, "request", None)))
        except Exception as exc:
            _safety.report("mcp server enrich", exc)
        result = await call_next(inner)
        try:
            if ctx.method == sc.MCP_TOOLS_CALL and common.capture_on_span():
                arguments = (ctx.params or {}).get("arguments")
                span.set_attributes(common.content_attributes(arguments, result))
        except Exception as exc:
            _safety.report("mcp server content", exc)
        return result

    start = common._perf()
    try:
        return await wrapped(ctx, observed, *args[2:], **kwargs)
    finally:
        try:
            span = seen.get("span")
            attributes = dict(getattr(span, "attributes", None) or {}) or {sc.MCP_METHOD_NAME: ctx.method}
            common.record(sc.METRIC_MCP_SERVER_OPERATION_DURATION, common._perf() - start, attributes)
        except Exception as exc:
            _safety.report("mcp server end", exc)


async def server_run(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``Server.run`` serves one connection: its length is the server's session duration."""
    start = common._perf()

    def record(error: BaseException | None) -> None:
        try:
            transport = common.current_transport.get()
            attributes = transport.attributes() if transport is not None else {}
            if isinstance(error, Exception):
                attributes[sc.ERROR_TYPE] = type(error).__qualname__
            common.record(sc.METRIC_MCP_SERVER_SESSION_DURATION, common._perf() - start, attributes)
        except Exception as exc:
            _safety.report("mcp server session", exc)

    return await common.observed(wrapped(*args, **kwargs), record)


def stdio_server(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The server opening stdio: what it serves from here runs on a pipe."""
    common.current_transport.set(common.Transport(sc.TRANSPORT_PIPE))
    return wrapped(*args, **kwargs)
