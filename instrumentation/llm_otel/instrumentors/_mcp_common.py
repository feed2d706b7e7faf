"""What the MCP client and server sides share: the MCP spans and duration metrics, the transport a
session runs on, trace context in ``params._meta``, content capture, and exact patching.

An MCP operation that is not a tool call (``initialize``, ``tools/list``, ``resources/read``,
``prompts/get`` on the client; every handler on the server) is an ``Operation``: a CLIENT or SERVER
span named ``{mcp.method.name} {target}`` plus a point on the operation-duration histogram
(the MCP histograms are ``_semconv`` METRICS rows: the one ``Telemetry`` holds them). A client
tool call is a ``ToolInvocation`` (the recorder's ``execute_tool`` span and tool metrics) that this
module only enriches with the MCP attributes and the MCP duration point.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from opentelemetry.context import attach, detach
from opentelemetry.propagate import extract, inject
from opentelemetry.trace import SpanKind, Status, StatusCode, get_current_span, set_span_in_context

from llm_otel import _content, _safety, _settings, _telemetry
from llm_otel import _semconv as sc

_perf = time.perf_counter


# -- metrics ------------------------------------------------------------------------------------


def record(metric: sc.HistogramMetric, seconds: float, attributes: Mapping[str, Any]) -> None:
    """One point on an MCP duration histogram (declared in ``_semconv``, built with every other one)."""
    _telemetry.current()[metric].record(seconds, metric_attributes(attributes))


def metric_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if k in sc.MCP_METRIC_ATTRIBUTES}


# -- transport ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Transport:
    """How a session reaches its peer; ``http`` is the streamable-HTTP transport (for its session id)."""

    name: str
    address: str | None = None
    port: int | None = None
    http: Any = None

    def attributes(self) -> dict[str, Any]:
        out: dict[str, Any] = {sc.NETWORK_TRANSPORT: self.name}
        if self.name == sc.TRANSPORT_TCP:
            out[sc.NETWORK_PROTOCOL_NAME] = sc.PROTOCOL_HTTP
        if self.address:
            out[sc.SERVER_ADDRESS] = self.address
            if self.port:
                out[sc.SERVER_PORT] = self.port
        return out

    @property
    def session_id(self) -> str | None:
        value = getattr(self.http, "session_id", None)
        return value if isinstance(value, str) and value else None


# Set by the transport being opened (stdio process spawn, streamable-HTTP transport); read by the
# session created over it in the same task.
current_transport: ContextVar[Transport | None] = ContextVar("llm_otel_mcp_transport", default=None)


def http_transport(url: str, http: Any) -> Transport:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return Transport(sc.TRANSPORT_TCP, parts.hostname, port, http)


# -- trace context in params._meta ----------------------------------------------------------------


def inject_into(meta: dict[str, Any]) -> None:
    inject(meta)


def extract_from(meta: Any) -> Any:
    """The remote parent carried in a request's ``_meta`` (a dict or a pydantic Meta), or None."""
    if meta is None:
        return None
    if not isinstance(meta, Mapping):
        dump = getattr(meta, "model_dump", None)
        meta = dump() if callable(dump) else None
        if not meta:
            return None
    context = extract(meta)
    return context if get_current_span(context).get_span_context().is_valid else None


# -- one MCP operation --------------------------------------------------------------------------


def request_attributes(method: str, params: Any) -> tuple[str, dict[str, Any]]:
    """Span name and start attributes for a request with these params (a dict or a pydantic model)."""
    name = _param(params, "name")
    attributes: dict[str, Any] = {sc.MCP_METHOD_NAME: method}
    target = None
    if method == sc.MCP_TOOLS_CALL and isinstance(name, str):
        target = name
        attributes[sc.GEN_AI_OPERATION_NAME] = sc.OP_EXECUTE_TOOL
        attributes[sc.GEN_AI_TOOL_NAME] = name
    elif method == sc.MCP_PROMPTS_GET and isinstance(name, str):
        target = name
        attributes[sc.GEN_AI_PROMPT_NAME] = name
    uri = _param(params, "uri")
    if uri is not None:
        attributes[sc.MCP_RESOURCE_URI] = str(uri)
    return (f"{method} {target}" if target else method), attributes


def _param(params: Any, key: str) -> Any:
    if params is None:
        return None
    if isinstance(params, Mapping):
        return params.get(key)
    return getattr(params, key, None)


class Operation:
    """An MCP request this process sends (CLIENT) or handles (SERVER): its span and its duration point."""

    __slots__ = ("_ended", "_start", "_token", "attributes", "claimed", "kind", "method", "span")

    def __init__(self, method: str, kind: SpanKind, attributes: dict[str, Any]) -> None:
        self.method = method
        self.kind = kind
        self.attributes = attributes
        self.span: Any = None
        self.claimed = False  # the request on the wire belongs to this operation (2.x adopts, 1.x injects)
        self._token: Any = None
        self._start = 0.0
        self._ended = False

    def start(self, name: str, parent: Any = None) -> Operation:
        try:
            span = _telemetry.current().tracer.start_span(name, parent, kind=self.kind, attributes=self.attributes)
            self.span = span
            self._token = attach(set_span_in_context(span, parent))
        except Exception as exc:
            _safety.report("mcp start", exc)
        self._start = _perf()
        return self

    def set(self, attributes: Mapping[str, Any]) -> None:
        self.attributes.update(attributes)
        if self.span is not None and self.span.is_recording():
            self.span.set_attributes(attributes)

    def fail(self, error_type: str, description: str | None = None, exc: BaseException | None = None) -> None:
        self.set({sc.ERROR_TYPE: error_type})
        if self.span is not None and self.span.is_recording():
            if exc is not None:
                self.span.record_exception(exc, escaped=True)
            self.span.set_status(Status(StatusCode.ERROR, description or error_type))

    def end(self, exc: BaseException | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        try:
            if exc is not None and isinstance(exc, Exception) and sc.ERROR_TYPE not in self.attributes:
                code = jsonrpc_code(exc)
                if code is not None:
                    self.set({sc.RPC_RESPONSE_STATUS_CODE: code})
                self.fail(code or type(exc).__qualname__, str(exc), exc)
            client = self.kind == SpanKind.CLIENT
            metric = sc.METRIC_MCP_CLIENT_OPERATION_DURATION if client else sc.METRIC_MCP_SERVER_OPERATION_DURATION
            record(metric, _perf() - self._start, self.attributes)
        except Exception as internal:
            _safety.report("mcp end", internal)
        finally:
            token, self._token = self._token, None
            if token is not None:
                try:
                    detach(token)
                except Exception as internal:
                    _safety.report("mcp detach", internal)
            if self.span is not None:
                self.span.end()


async def observed(call: Awaitable[Any], done: Callable[[BaseException | None], None]) -> Any:
    """Await ``call``; then ``done(the exception it raised, or None)``; its result or exception passes on."""
    error: BaseException | None = None
    try:
        return await call
    except BaseException as exc:
        error = exc
        raise
    finally:
        done(error)


def jsonrpc_code(exc: BaseException) -> str | None:
    """The JSON-RPC error code of an MCP error (``McpError`` in 1.x, ``MCPError`` in 2.x), as a string."""
    code = getattr(getattr(exc, "error", None), "code", None)
    return str(code) if isinstance(code, int) else None


def is_tool_error(result: Any) -> bool:
    """A CallToolResult (1.x ``isError``, 2.x ``is_error``) or its wire dict that reports a tool failure."""
    if isinstance(result, Mapping):
        return result.get("isError") is True
    flag = getattr(result, "is_error", None)
    if flag is None:
        flag = getattr(result, "isError", None)
    return flag is True


# -- content (opt-in) ---------------------------------------------------------------------------


def capture_on_span() -> bool:
    return _settings.get().capture.on_span


def jsonable_result(result: Any) -> Any:
    """The part of a tool result worth recording: its content blocks (and structured content)."""
    if isinstance(result, Mapping):
        return _content._jsonable({k: result[k] for k in ("content", "structuredContent") if k in result})
    content = getattr(result, "content", None)
    structured = getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)
    out: dict[str, Any] = {"content": _content._jsonable(content)}
    if structured is not None:
        out["structuredContent"] = _content._jsonable(structured)
    return out


def content_attributes(arguments: Any, result: Any) -> dict[str, str]:
    limit = _settings.get().content_max_bytes
    out: dict[str, str] = {}
    if arguments is not None:
        out[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = _content.encode(_content._jsonable(arguments), limit)[0]
    if result is not None:
        out[sc.GEN_AI_TOOL_CALL_RESULT] = _content.encode(jsonable_result(result), limit)[0]
    return out


# -- exact patching -------------------------------------------------------------------------------


Patch = tuple[str, str, Callable[..., Any]]  # (module, "Owner.attr" or "function", wrapper)


class Patcher:
    """Wraps attributes with wrapt and puts back exactly what was there (inherited ones are deleted).

    A module is patched when it is imported (now if it already is): a client process never imports
    the server modules, nor a server the client ones, just to be instrumented.
    """

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any, bool]] = []
        self._generation = 0

    def apply(self, patches: list[Patch]) -> None:
        from wrapt import register_post_import_hook

        self._generation += 1
        generation = self._generation
        by_module: dict[str, list[tuple[str, Callable[..., Any]]]] = {}
        for module_name, path, wrapper in patches:
            by_module.setdefault(module_name, []).append((path, wrapper))
        for module_name, items in by_module.items():

            def hook(module: Any, items: list[tuple[str, Callable[..., Any]]] = items) -> None:
                if generation == self._generation:  # not uninstrumented (or re-instrumented) since
                    for path, wrapper in items:
                        self._wrap(module, path, wrapper)

            register_post_import_hook(hook, module_name)

    def _wrap(self, module: Any, path: str, wrapper: Callable[..., Any]) -> None:
        from wrapt import FunctionWrapper

        try:
            owner: Any = module
            *owners, attr = path.split(".")
            for part in owners:
                owner = getattr(owner, part)
            own = attr in vars(owner)
            original = vars(owner)[attr] if own else getattr(owner, attr)
        except AttributeError:
            return  # not in this version of mcp
        setattr(owner, attr, FunctionWrapper(original, wrapper))
        self._undo.append((owner, attr, original, own))

    @property
    def applied(self) -> bool:
        """Some method is wrapped (an mcp module was imported while instrumented)."""
        return bool(self._undo)

    def restore(self) -> None:
        self._generation += 1
        while self._undo:
            owner, attr, original, own = self._undo.pop()
            if own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)
