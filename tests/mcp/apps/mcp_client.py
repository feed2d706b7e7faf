"""An MCP client app; telemetry only from configure() or opentelemetry-instrument.
Usage: mcp_client.py stdio (server command in MCP_TEST_SERVER_CMD) | mcp_client.py http URL. Prints the tool results."""

import asyncio
import json
import os
import sys
from contextlib import AsyncExitStack

import llm_otel

if os.environ.get("MCP_TEST_CONFIGURE") == "1":
    llm_otel.configure(service_name="mcp-test-client")

from mcp import ClientSession
from opentelemetry import trace


async def connect(stack: AsyncExitStack):
    if sys.argv[1] == "stdio":
        from mcp.client.stdio import StdioServerParameters, stdio_client

        command = json.loads(os.environ["MCP_TEST_SERVER_CMD"])  # the server, launched as the test says
        env = {**os.environ, "OTEL_SERVICE_NAME": "mcp-test-server"}
        params = StdioServerParameters(command=command[0], args=command[1:], env=env)
        streams = await stack.enter_async_context(stdio_client(params))
    else:
        from mcp.client.streamable_http import streamable_http_client

        streams = await stack.enter_async_context(streamable_http_client(sys.argv[2]))
    return await stack.enter_async_context(ClientSession(streams[0], streams[1]))


def text(result) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def main() -> None:
    async with AsyncExitStack() as stack:
        session = await connect(stack)
        with trace.get_tracer("mcp-test-client").start_as_current_span("agent turn"):
            await session.initialize()
            tools = await session.list_tools()
            print("TOOLS", sorted(t.name for t in tools.tools))
            print("ADD", text(await session.call_tool("add", {"a": 2, "b": 3})))
            print("LOOKUP", text(await session.call_tool("lookup", {"key": "two"})))
            failed = await session.call_tool("divide", {"a": 1, "b": 0})
            print("DIVIDE", getattr(failed, "is_error", None) or getattr(failed, "isError", None))
            resource = await session.read_resource("demo://greeting")
            print("RESOURCE", resource.contents[0].text)
            prompt = await session.get_prompt("summarize", {"text": "hi"})
            print("PROMPT", prompt.messages[0].content.text)


asyncio.run(main())
