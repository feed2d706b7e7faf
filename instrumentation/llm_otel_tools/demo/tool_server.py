"""The demo agent's tools as an MCP server: ``python -m llm_otel_tools.demo.tool_server`` (stdio).

The demo service starts it as a subprocess and calls its tools through an MCP ``ClientSession``.
Telemetry comes only from ``llm_otel.configure()`` (service name ``llm-otel-demo-tools`` unless
``OTEL_SERVICE_NAME`` says otherwise): each tool call is a SERVER span in the trace of the agent
turn that asked for it (the client's context travels in the request's ``params._meta``).
"""

from __future__ import annotations

from typing import Any

SERVICE_NAME = "llm-otel-demo-tools"


def build_server() -> Any:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError as MCPToolError

    from llm_otel_tools.demo.tools import ProductCatalog, ToolError, make_tools

    server = MCPServer("llm-otel-demo-tools")
    for tool in make_tools(ProductCatalog()).values():
        function = _as_mcp_tool(tool.function, ToolError, MCPToolError)
        server.add_tool(function, name=tool.name, description=tool.description)
    return server


def _as_mcp_tool(function: Any, tool_error: type[Exception], mcp_tool_error: type[Exception]) -> Any:
    """``function`` with its parameters (MCP derives the input schema from them); a failure goes back
    to the model as an ``isError`` result carrying the message."""
    import functools
    import inspect

    @functools.wraps(function)
    def tool(**arguments: Any) -> str:
        try:
            return str(function(**arguments))
        except (tool_error, TypeError) as exc:
            raise mcp_tool_error(str(exc)) from exc

    tool.__signature__ = inspect.signature(function).replace(return_annotation=str)  # type: ignore[attr-defined]
    return tool


def main() -> int:
    import llm_otel

    llm_otel.configure(service_name=SERVICE_NAME)
    build_server().run("stdio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
