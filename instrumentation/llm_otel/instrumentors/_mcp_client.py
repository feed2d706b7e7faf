"""MCP client side: ``ClientSession`` calls as spans, one span per request whichever ``mcp`` major.

- ``call_tool`` is an ``execute_tool`` ``ToolInvocation`` with the MCP attributes: the MCP conventions'
  client span (kind CLIENT, named ``tools/call {tool}``); when an ``execute_tool`` span of the same tool
  is already open (the app's, or a framework's tool run that calls MCP), that span gets the MCP
  attributes instead, as those conventions ask: never two;
  ``initialize``, ``list_tools``, ``read_resource``, ``get_prompt`` are MCP CLIENT spans.
- mcp 2.x opens its own ``MCP send {method}`` span in its dispatcher and injects the current
  context into ``params._meta``: while one of our operations is open, that span is not opened; the
  dispatcher gets our span (it sets ``jsonrpc.request.id`` and the JSON-RPC error on it) and
  injects our context. mcp 1.x has no telemetry: we inject into ``params._meta`` ourselves.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import SpanKind

from llm_otel import _safety
from llm_otel import _semconv as sc
from llm_otel._invocation import current_invocation
from llm_otel._tool import ToolInvocation
from llm_otel.instrumentors import _mcp_common as common

# The operation whose request is about to go on the wire (innermost first).
_pending: ContextVar[Any] = ContextVar("llm_otel_mcp_pending", default=None)


@dataclass(slots=True)
class SessionState:
    transport: common.Transport | None
    protocol_version: str | None = None
    started: float = 0.0
    attributes: dict[str, Any] = field(default_factory=dict)


def _state(session: Any) -> SessionState:
    state = getattr(session, "_llm_otel_mcp", None)
    if state is None:
        state = SessionState(common.current_transport.get())
        try:
            session._llm_otel_mcp = state
        except AttributeError:
            pass
    return state


def _session_attributes(session: Any) -> dict[str, Any]:
    state = _state(session)
    out: dict[str, Any] = {}
    if state.transport is not None:
        out.update(state.transport.attributes())
        session_id = state.transport.session_id
        if session_id:
            out[sc.MCP_SESSION_ID] = session_id
    version = state.protocol_version or getattr(session, "protocol_version", None)  # 2.x has the property
    if isinstance(version, str):
        out[sc.MCP_PROTOCOL_VERSION] = version
    return out


@contextlib.contextmanager
def _sending(op: Any) -> Iterator[None]:
    token = _pending.set(op)
    try:
        yield
    finally:
        _pending.reset(token)


# -- ClientSession methods -------------------------------------------------------------------------


async def call_tool(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    name = args[0] if args else kwargs.get("name")
    arguments = args[1] if len(args) > 1 else kwargs.get("arguments")
    try:
        outer = _open_tool(str(name))
        inv = outer or ToolInvocation(str(name), type=sc.TOOL_TYPE_EXTENSION, kind=SpanKind.CLIENT)
        if inv.arguments is None:
            inv.arguments = arguments
        op = _ToolCall(inv, _session_attributes(instance))
    except Exception as exc:
        _safety.report("mcp call_tool", exc)
        return await wrapped(*args, **kwargs)
    # An execute_tool span already open for this tool (the app's or a framework's, e.g. with the
    # model's tool call id) gets the MCP attributes: one span and one tool-duration point per call.
    with contextlib.nullcontext() if outer is not None else inv:
        if outer is None:
            _mcp_client_span_name(inv, str(name))
        try:
            with _sending(op):
                result = await wrapped(*args, **kwargs)
            op.returned(result)
            return result
        except Exception as exc:
            op.failed(exc)
            raise
        finally:
            op.close()


def _mcp_client_span_name(inv: ToolInvocation, name: str) -> None:
    """The span we open ourselves is the MCP client span: ``{mcp.method.name} {gen_ai.tool.name}``."""
    try:
        inv.span.update_name(f"{sc.MCP_TOOLS_CALL} {name}")
    except Exception as exc:  # naming must never cost the call
        _safety.report("mcp span name", exc)


def _open_tool(name: str) -> ToolInvocation | None:
    """The current, started ``execute_tool`` invocation of this tool not yet carrying an MCP call."""
    inv = current_invocation()
    if isinstance(inv, ToolInvocation) and inv.name == name and not inv.finished and inv._span is not None:
        if sc.MCP_METHOD_NAME not in inv.attributes:
            return inv
    return None


class _ToolCall:
    """A ``tools/call`` request carried by a ToolInvocation: MCP attributes, errors, the duration point."""

    __slots__ = ("_start", "attributes", "claimed", "inv", "method")

    def __init__(self, inv: ToolInvocation, session_attributes: dict[str, Any]) -> None:
        self.inv = inv
        self.method = sc.MCP_TOOLS_CALL
        self.attributes = {
            sc.MCP_METHOD_NAME: sc.MCP_TOOLS_CALL,
            sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
            sc.GEN_AI_TOOL_NAME: inv.name,
            **session_attributes,
        }
        inv.attributes[sc.MCP_METHOD_NAME] = sc.MCP_TOOLS_CALL  # claimed: a nested call opens its own span
        self.claimed = False
        self._start = common._perf()

    @property
    def span(self) -> Any:
        return self.inv.span

    def set(self, attributes: dict[str, Any]) -> None:
        self.attributes.update(attributes)

    def failed(self, exc: Exception) -> None:
        code = common.jsonrpc_code(exc)
        if code is not None:
            self.inv.error_type = code
            self.attributes[sc.RPC_RESPONSE_STATUS_CODE] = code
        self.attributes[sc.ERROR_TYPE] = self.inv.error_type or type(exc).__qualname__

    def returned(self, result: Any) -> None:
        try:
            if common.is_tool_error(result):
                self.inv.error_type = sc.ERROR_TYPE_TOOL_ERROR
            if common.capture_on_span() and self.inv.result is None:
                self.inv.result = common.jsonable_result(result)
        except Exception as exc:
            _safety.report("mcp call_tool result", exc)

    def close(self) -> None:
        try:
            span_only = {k: v for k, v in self.attributes.items() if k != sc.ERROR_TYPE}
            self.inv.attributes.update(span_only)
            points = common.metric_attributes(self.attributes)
            if self.inv.error_type:
                points[sc.ERROR_TYPE] = self.inv.error_type
            common.record(sc.METRIC_MCP_CLIENT_OPERATION_DURATION, common._perf() - self._start, points)
        except Exception as exc:
            _safety.report("mcp call_tool end", exc)


def _operation(method: str, target_arg: str | None) -> Any:
    """Wrapper for a ClientSession method sending ``method``; ``target_arg`` names its name/uri argument."""

    async def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            params = {target_arg: args[0] if args else kwargs.get(target_arg)} if target_arg else None
            name, attributes = common.request_attributes(method, params)
            attributes.update(_session_attributes(instance))
            op = common.Operation(method, SpanKind.CLIENT, attributes).start(name)
        except Exception as exc:
            _safety.report("mcp client start", exc)
            return await wrapped(*args, **kwargs)
        error: BaseException | None = None
        try:
            with _sending(op):
                result = await wrapped(*args, **kwargs)
            if method == sc.MCP_INITIALIZE:
                _initialized(instance, op, result)
            return result
        except BaseException as exc:
            error = exc
            raise
        finally:
            op.end(error)

    return wrapper


def _initialized(session: Any, op: common.Operation, result: Any) -> None:
    version = getattr(result, "protocol_version", None) or getattr(result, "protocolVersion", None)
    if isinstance(version, str):
        _state(session).protocol_version = version
        op.set({sc.MCP_PROTOCOL_VERSION: version})


initialize = _operation(sc.MCP_INITIALIZE, None)
list_tools = _operation(sc.MCP_TOOLS_LIST, None)
read_resource = _operation(sc.MCP_RESOURCES_READ, "uri")
get_prompt = _operation(sc.MCP_PROMPTS_GET, "name")


async def session_enter(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    result = await wrapped(*args, **kwargs)
    _state(instance).started = common._perf()
    return result


async def session_exit(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return await wrapped(*args, **kwargs)
    finally:
        try:
            state = _state(instance)
            if state.started:
                attributes = common.metric_attributes(_session_attributes(instance))
                exc = args[1] if len(args) > 1 else None
                if isinstance(exc, Exception):
                    attributes[sc.ERROR_TYPE] = type(exc).__qualname__
                common.record(sc.METRIC_MCP_CLIENT_SESSION_DURATION, common._perf() - state.started, attributes)
                state.started = 0.0
        except Exception as internal:
            _safety.report("mcp session end", internal)


# -- the request on the wire ------------------------------------------------------------------------


def dispatcher_span(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """mcp 2.x ``otel_span`` in its dispatcher: our open operation's span instead of a second one."""
    op = _pending.get()
    attributes = kwargs.get("attributes") or {}
    ours = op is not None and not op.claimed and kwargs.get("kind") == SpanKind.CLIENT
    if not ours or attributes.get(sc.MCP_METHOD_NAME) != op.method:
        return wrapped(*args, **kwargs)
    op.claimed = True
    request_id = attributes.get(sc.JSONRPC_REQUEST_ID)
    if request_id is not None:
        op.set({sc.JSONRPC_REQUEST_ID: str(request_id)})
    return contextlib.nullcontext(op.span)


async def send_request_v1(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """mcp 1.x ``BaseSession.send_request`` on a client: trace context into ``params._meta``."""
    from mcp.client.session import ClientSession

    if not isinstance(instance, ClientSession) or not args:
        return await wrapped(*args, **kwargs)
    op = _pending.get()
    if op is not None and not op.claimed:
        op.claimed = True
        op.set({sc.JSONRPC_REQUEST_ID: str(getattr(instance, "_request_id", ""))})  # the id send_request assigns next
    return await wrapped(_WithTraceContext(args[0]), *args[1:], **kwargs)


class _WithTraceContext:
    """A 1.x request whose dump carries the current trace context in ``params._meta``."""

    __slots__ = ("_request",)

    def __init__(self, request: Any) -> None:
        self._request = request

    def model_dump(self, *args: Any, **kwargs: Any) -> Any:
        data = self._request.model_dump(*args, **kwargs)
        try:
            params = data.get("params")
            if params is None:
                params = data["params"] = {}
            meta = params.get("_meta")
            if meta is None:
                meta = params["_meta"] = {}
            common.inject_into(meta)
        except Exception as exc:
            _safety.report("mcp inject", exc)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


# -- transports ----------------------------------------------------------------------------------------


async def stdio_process(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The stdio client spawning its server process: sessions opened over it run on a pipe."""
    common.current_transport.set(common.Transport(sc.TRANSPORT_PIPE))
    return await wrapped(*args, **kwargs)


def http_transport_init(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A streamable-HTTP client transport being built: sessions opened over it run on TCP."""
    result = wrapped(*args, **kwargs)
    try:
        url = args[0] if args else kwargs.get("url")
        common.current_transport.set(common.http_transport(str(url), instance))
    except Exception as exc:
        _safety.report("mcp transport", exc)
    return result
