"""MCP (the ``mcp`` package, 1.x and 2.x): client requests, server handlers, and the trace
context between them (``params._meta``), per the MCP semantic conventions.

>>> from llm_otel.instrumentors.mcp import MCPInstrumentor
>>> MCPInstrumentor().instrument()   # llm_otel.configure() and opentelemetry-instrument do this
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from llm_otel.instrumentors import _mcp_client as client
from llm_otel.instrumentors import _mcp_common as common
from llm_otel.instrumentors import _mcp_server as server
from llm_otel.instrumentors._base import bind_providers

_SESSION = "mcp.client.session"
_BOTH: list[common.Patch] = [
    (_SESSION, "ClientSession.call_tool", client.call_tool),
    (_SESSION, "ClientSession.initialize", client.initialize),
    (_SESSION, "ClientSession.list_tools", client.list_tools),
    (_SESSION, "ClientSession.read_resource", client.read_resource),
    (_SESSION, "ClientSession.get_prompt", client.get_prompt),
    (_SESSION, "ClientSession.__aenter__", client.session_enter),
    (_SESSION, "ClientSession.__aexit__", client.session_exit),
    ("mcp.client.streamable_http", "StreamableHTTPTransport.__init__", client.http_transport_init),
    ("mcp.server.lowlevel.server", "Server.run", server.server_run),
    ("mcp.server.stdio", "stdio_server", server.stdio_server),
]
# Each patch applies where its module and attribute exist: the first list only in mcp 1.x (no
# telemetry of its own), the second only in 2.x (its own spans), so nothing has to import mcp to
# find out which major is installed.
_V1: list[common.Patch] = [
    ("mcp.shared.session", "BaseSession.send_request", client.send_request_v1),
    ("mcp.shared.session", "RequestResponder.respond", server.respond_v1),
    ("mcp.server.lowlevel.server", "Server._handle_request", server.handle_request_v1),
    ("mcp.server.session", "ServerSession._received_request", server.received_request_v1),
    ("mcp.client.stdio", "_create_platform_compatible_process", client.stdio_process),
    ("mcp.server.fastmcp.server", "stdio_server", server.stdio_server),
]
_V2: list[common.Patch] = [
    ("mcp.shared.jsonrpc_dispatcher", "otel_span", client.dispatcher_span),
    ("mcp.server._otel", "OpenTelemetryMiddleware.__call__", server.middleware_v2),
    ("mcp.client.stdio", "_create_platform_compatible_process", client.stdio_process),
    ("mcp.server.mcpserver.server", "stdio_server", server.stdio_server),
]


class MCPInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments ``mcp`` client sessions and servers; one span per request, whichever major version."""

    _patcher = common.Patcher()  # BaseInstrumentor is a singleton: one patch record

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("mcp >= 1.9",)

    def _instrument(self, **kwargs: Any) -> None:
        bind_providers(kwargs)
        self._patcher.apply(_BOTH + _V1 + _V2)

    def _uninstrument(self, **kwargs: Any) -> None:
        self._patcher.restore()

    @property
    def applied(self) -> bool:
        """mcp's methods are wrapped (it was imported while instrumented)."""
        return self._patcher.applied
