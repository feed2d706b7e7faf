"""The MCP client in this process (the test fixture's providers = the one llm_otel Telemetry), the real
MCP server as a stdio subprocess: span kind, the MCP metrics on the shared instruments, and one
execute_tool span and one tool-duration point per call when the app or a framework already opened
the tool's span."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import llm_otel
import llm_otel._semconv as sc
import pytest
from llm_otel.instrumentors.mcp import MCPInstrumentor
from opentelemetry.trace import SpanKind

from tests.mcp.conftest import APPS, PYTHON


@pytest.fixture
def mcp_capture(otel_capture):
    instrumentor = MCPInstrumentor()
    instrumentor.instrument()
    yield otel_capture
    instrumentor.uninstrument()


@asynccontextmanager
async def _session() -> AsyncIterator[object]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update({"MCP_TEST_CONFIGURE": "0", "OTEL_SDK_DISABLED": "true"})  # the server's telemetry is not under test
    params = StdioServerParameters(command=PYTHON, args=[str(APPS / "mcp_server.py"), "stdio"], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def _tool_points(capture, tool: str) -> tuple[int, int]:
    """(points on gen_ai.execute_tool.duration, on mcp.client.operation.duration) for this tool."""
    where = {sc.GEN_AI_TOOL_NAME: tool}
    genai = sum(p.count for p in capture.metric_points(sc.METRIC_TOOL_DURATION, where))
    mcp = sum(p.count for p in capture.metric_points(sc.METRIC_MCP_CLIENT_OPERATION_DURATION, where))
    return genai, mcp


async def test_a_tool_call_is_one_client_span_with_its_points_on_the_shared_instruments(mcp_capture):
    async with _session() as session:
        result = await session.call_tool("add", {"a": 2, "b": 3})
    assert result.content[0].text == "5"
    [span] = [s for s in mcp_capture.spans if s.attributes.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_EXECUTE_TOOL]
    assert span.name == "tools/call add" and span.kind == SpanKind.CLIENT  # the MCP conventions' client span
    assert span.attributes[sc.MCP_METHOD_NAME] == sc.MCP_TOOLS_CALL
    assert span.attributes[sc.NETWORK_TRANSPORT] == sc.TRANSPORT_PIPE
    assert span.attributes[sc.GEN_AI_TOOL_TYPE] == sc.TOOL_TYPE_EXTENSION
    # the MCP histograms are the Telemetry's (here: the fixture's providers), declared with the others
    assert _tool_points(mcp_capture, "add") == (1, 1)
    point = mcp_capture.metric_point(sc.METRIC_MCP_CLIENT_OPERATION_DURATION, {sc.GEN_AI_TOOL_NAME: "add"})
    assert sc.JSONRPC_REQUEST_ID not in point.attributes and sc.MCP_SESSION_ID not in point.attributes
    session_points = mcp_capture.metric_points(sc.METRIC_MCP_CLIENT_SESSION_DURATION)
    assert sum(p.count for p in session_points) == 1
    assert {sc.METRIC_MCP_CLIENT_OPERATION_DURATION, sc.METRIC_MCP_CLIENT_SESSION_DURATION} <= set(sc.METRICS)


async def test_an_open_tool_span_gets_the_mcp_attributes_instead_of_a_second_span(mcp_capture):
    """The app (or a framework's tool run) opened execute_tool with the model's call id: one span, one point."""
    async with _session() as session:
        with llm_otel.agent(name="assistant"):
            with llm_otel.tool(name="add", call_id="call_7"):  # what the demo does
                result = await session.call_tool("add", {"a": 1, "b": 1})
    assert result.content[0].text == "2"
    [span] = [s for s in mcp_capture.spans if s.attributes.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_EXECUTE_TOOL]
    # the app's GenAI execute_tool span, enriched (the MCP conventions: no separate span under it)
    assert span.name == "execute_tool add" and span.kind == SpanKind.INTERNAL
    assert span.attributes[sc.GEN_AI_TOOL_CALL_ID] == "call_7"
    assert span.attributes[sc.MCP_METHOD_NAME] == sc.MCP_TOOLS_CALL and span.attributes[sc.JSONRPC_REQUEST_ID]
    assert span.attributes[sc.NETWORK_TRANSPORT] == sc.TRANSPORT_PIPE
    mcp_capture.assert_parent_chain(span, ["invoke_agent assistant"])
    assert _tool_points(mcp_capture, "add") == (1, 1)
    assert mcp_capture.metric_point(sc.METRIC_AGENT_TOOL_CALLS).value == 1


async def test_a_tool_error_on_an_adopted_span_marks_that_span(mcp_capture):
    async with _session() as session:
        with llm_otel.tool(name="divide", call_id="call_9"):
            result = await session.call_tool("divide", {"a": 1, "b": 0})
    assert result.is_error
    [span] = [s for s in mcp_capture.spans if s.name.startswith(sc.OP_EXECUTE_TOOL)]
    assert span.attributes[sc.ERROR_TYPE] == sc.ERROR_TYPE_TOOL_ERROR
    point = mcp_capture.metric_point(sc.METRIC_TOOL_DURATION, {sc.GEN_AI_TOOL_NAME: "divide"})
    assert point.count == 1 and point.attributes[sc.ERROR_TYPE] == sc.ERROR_TYPE_TOOL_ERROR


async def test_a_tool_that_calls_another_mcp_tool_gets_a_child_client_span(mcp_capture):
    async with _session() as session:
        with llm_otel.tool(name="research"):
            await session.call_tool("add", {"a": 2, "b": 2})
            await session.call_tool("add", {"a": 3, "b": 3})
    outer = mcp_capture.span("execute_tool research")
    inner = [s for s in mcp_capture.spans if s.name == "tools/call add"]
    assert len(inner) == 2 and all(s.parent.span_id == outer.context.span_id for s in inner)
    assert all(s.kind == SpanKind.CLIENT for s in inner) and outer.kind == SpanKind.INTERNAL
    assert sc.MCP_METHOD_NAME not in outer.attributes
    assert _tool_points(mcp_capture, "add") == (2, 2)


async def test_a_langchain_tool_that_calls_the_mcp_tool_is_one_span(mcp_capture):
    """A framework's tool run wrapping the MCP call (as langchain-mcp-adapters does): the framework's
    execute_tool span (with the model's call id) carries the MCP attributes; no second span."""
    from langchain_core.tools import StructuredTool
    from llm_otel.instrumentors.langchain import LangChainInstrumentor

    instrumentor = LangChainInstrumentor()
    instrumentor.instrument()
    try:
        async with _session() as session:

            async def add(a: int, b: int) -> str:
                """Add two integers on the MCP server."""
                result = await session.call_tool("add", {"a": a, "b": b})
                return result.content[0].text

            tool = StructuredTool.from_function(coroutine=add, name="add", description="Add two integers.")
            call = {"name": "add", "args": {"a": 4, "b": 5}, "id": "call_lc1", "type": "tool_call"}
            message = await tool.ainvoke(call)
    finally:
        instrumentor.uninstrument()
    assert message.content == "9"
    [span] = [s for s in mcp_capture.spans if s.name.startswith(sc.OP_EXECUTE_TOOL)]
    assert span.attributes[sc.GEN_AI_TOOL_CALL_ID] == "call_lc1"
    assert span.attributes[sc.MCP_METHOD_NAME] == sc.MCP_TOOLS_CALL and span.attributes[sc.JSONRPC_REQUEST_ID]
    assert _tool_points(mcp_capture, "add") == (1, 1)
