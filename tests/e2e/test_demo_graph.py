"""The demo's LangGraph endpoint and its MCP tool calls, end to end against the real stack: the demo
service and the local LLM run as their own processes (configured only through OTEL_* variables),
requests go over HTTP, and the traces are read back from Jaeger."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import llm_otel._semconv as sc
import pytest
from llm_otel_tools.demo.cli import SERVICE_NAME, start_apps
from llm_otel_tools.demo.tool_server import SERVICE_NAME as TOOLS_SERVICE_NAME

pytestmark = pytest.mark.stack

TASK = "Use the calculator for (17 + 25) * 3 and tell me the price of the keyboard"
INTERNAL_KINDS = ("SPAN_KIND_INTERNAL", 1)  # Jaeger's OTLP JSON: the enum's name or its number


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def demo(pipeline):
    apps = start_apps(pipeline.stack, pipeline.endpoints)
    yield pipeline, apps["demo service"]
    for name in ("demo-service", "local-llm"):
        pipeline.stack.stop(name)


def _trace(pipeline, trace_id: str, ready) -> list[dict[str, Any]]:
    return pipeline.poll(lambda: (spans := pipeline.trace_spans(trace_id)) and ready(spans) and spans,
                         timeout=60, what=f"trace {trace_id} complete in Jaeger")


def test_graph_trace_shows_the_agent_its_tools_and_each_model_call_once(demo):
    pipeline, url = demo
    body = _post(f"{url}/graph", {"task": TASK})
    assert [s["tool"] for s in body["steps"]] == ["calculator", "lookup_price"]
    model_calls = len(body["llm_calls"])
    assert model_calls == 2

    def ready(spans):
        names = [s["name"] for s in spans]
        return names.count("chat gpt-4o-mini") >= model_calls and "execute_tool lookup_price" in names

    spans = _trace(pipeline, body["trace_id"], ready)
    by_id = {s["spanId"]: s for s in spans}
    assert {s["service"] for s in spans} == {SERVICE_NAME}  # LangGraph runs the tools in process

    def chain(span):
        out = []
        while (parent := by_id.get(span.get("parentSpanId", ""))) is not None:
            out.append(parent["name"])
            span = parent
        return out

    agent = [s for s in spans if s["name"] == "invoke_agent demo-graph"]
    assert len(agent) == 1 and chain(agent[0]) == ["POST /graph"]
    chats = [s for s in spans if s["attrs"].get(sc.GEN_AI_OPERATION_NAME) == sc.OP_CHAT]
    assert len(chats) == model_calls  # no duplicate: LangChain's model run and the SDK call are one span
    for span in chats:
        assert chain(span) == ["invoke_agent demo-graph", "POST /graph"]
        assert int(span["attrs"][sc.GEN_AI_USAGE_INPUT_TOKENS]) > 0 and span["attrs"][sc.GEN_AI_RESPONSE_MODEL]
    tools = sorted((s for s in spans if s["name"].startswith("execute_tool ")), key=lambda s: s["name"])
    assert [s["name"] for s in tools] == ["execute_tool calculator", "execute_tool lookup_price"]
    for span in tools:
        assert chain(span) == ["invoke_agent demo-graph", "POST /graph"]
        assert span["attrs"][sc.GEN_AI_TOOL_CALL_ID].startswith("call_")


def test_agent_mcp_tool_calls_are_one_client_span_with_the_call_id(demo):
    pipeline, url = demo
    body = _post(f"{url}/agent", {"task": TASK})
    assert [s["tool"] for s in body["steps"]] == ["calculator", "lookup_price"]

    def ready(spans):
        return sum(1 for s in spans if s["service"] == TOOLS_SERVICE_NAME
                   and s["attrs"].get(sc.MCP_METHOD_NAME) == sc.MCP_TOOLS_CALL) >= 2

    spans = _trace(pipeline, body["trace_id"], ready)
    by_id = {s["spanId"]: s for s in spans}
    calls = [s for s in spans if s["service"] == SERVICE_NAME and s["name"].startswith("execute_tool ")]
    assert sorted(s["name"] for s in calls) == ["execute_tool calculator", "execute_tool lookup_price"]  # one each
    for call in calls:
        attrs = call["attrs"]
        assert call["kind"] in INTERNAL_KINDS  # the app's execute_tool span, enriched by the MCP instrumentation
        assert attrs[sc.GEN_AI_TOOL_CALL_ID].startswith("call_")
        assert attrs[sc.MCP_METHOD_NAME] == sc.MCP_TOOLS_CALL and attrs[sc.NETWORK_TRANSPORT] == sc.TRANSPORT_PIPE
        assert by_id[call["parentSpanId"]]["name"] == "invoke_agent demo-agent"
        [served] = [s for s in spans if s.get("parentSpanId") == call["spanId"]]
        assert served["service"] == TOOLS_SERVICE_NAME and served["name"] == f"tools/call {attrs[sc.GEN_AI_TOOL_NAME]}"
        assert served["attrs"][sc.JSONRPC_REQUEST_ID] == attrs[sc.JSONRPC_REQUEST_ID]
