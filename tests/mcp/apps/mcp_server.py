"""A small MCP server (FastMCP in mcp 1.x, MCPServer in 2.x); telemetry only from configure() or
opentelemetry-instrument. Usage: mcp_server.py stdio | mcp_server.py http PORT."""

import os
import sys

import llm_otel

if os.environ.get("MCP_TEST_CONFIGURE") == "1":
    llm_otel.configure(service_name="mcp-test-server")

try:
    from mcp.server.mcpserver import MCPServer as FastServer  # mcp 2.x
except ImportError:
    from mcp.server.fastmcp import FastMCP as FastServer  # mcp 1.x

server = FastServer("test-tools")
NUMBERS = {"one": 1, "two": 2, "three": 3}


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def lookup(key: str) -> int:
    """Look a number up (a retrieval inside the tool)."""
    with llm_otel.retrieval(data_source="numbers", top_k=1) as r:
        value = NUMBERS[key]
        r.documents = [(key, 1.0)]
    return value


@server.tool()
def divide(a: float, b: float) -> float:
    """Divide; fails on zero (the client gets a result with isError)."""
    return a / b


@server.resource("demo://greeting")
def greeting() -> str:
    return "hello from the MCP server"


@server.prompt()
def summarize(text: str) -> str:
    return f"Summarize: {text}"


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        server.run("stdio")
    else:
        import uvicorn

        uvicorn.run(server.streamable_http_app(), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
