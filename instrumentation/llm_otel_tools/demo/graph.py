"""``POST /graph``: the demo's shop assistant as a LangGraph tool-calling agent.

The same tools as ``/agent`` (calculator, lookup_price), but the loop is LangGraph's
(``create_react_agent``) and the model LangChain's ``ChatOpenAI``. The service adds no telemetry
of its own here: llm_otel's LangChain instrumentor (turned on by ``llm_otel.configure()``) makes
the trace, ``invoke_agent demo-graph`` > ``chat`` / ``execute_tool`` spans, and the OpenAI SDK
calls inside the model runs merge into those ``chat`` spans (no duplicates).
"""

from __future__ import annotations

import functools
from typing import Any

from langchain_core.tools import StructuredTool, ToolException
from langchain_openai import ChatOpenAI
from langgraph.prebuilt import create_react_agent

from llm_otel_tools.demo.tools import Tool, ToolError

GRAPH_NAME = "demo-graph"
_TOOL_ERRORS = (ToolError, TypeError)


def _langchain_tool(tool: Tool) -> StructuredTool:
    @functools.wraps(tool.function)  # its signature is the tool's input schema (as the MCP server derives it)
    def run(**arguments: Any) -> str:
        try:
            return tool.function(**arguments)
        except _TOOL_ERRORS as exc:  # the model gets the message, the span the error
            raise ToolException(f"error: {exc}") from exc

    return StructuredTool.from_function(run, name=tool.name, description=tool.description, handle_tool_error=True)


def build_graph(tools: dict[str, Tool], *, model: str, base_url: str | None, api_key: str, max_retries: int,
                timeout_s: float, system_prompt: str) -> Any:
    llm = ChatOpenAI(model=model, base_url=base_url, api_key=api_key,  # type: ignore[arg-type]
                     max_retries=max_retries, timeout=timeout_s)
    return create_react_agent(llm, [_langchain_tool(t) for t in tools.values()], prompt=system_prompt,
                              name=GRAPH_NAME)


def llm_calls(messages: list[Any]) -> list[dict[str, Any]]:
    """The ``llm_calls`` entries of a run, from its AI messages (one per model call)."""
    calls = []
    for message in messages:
        if getattr(message, "type", None) != "ai":
            continue
        usage = message.usage_metadata or {}
        calls.append({"operation": "chat", "model": message.response_metadata.get("model_name"),
                      "response_model": message.response_metadata.get("model_name"),
                      "input_tokens": usage.get("input_tokens"), "output_tokens": usage.get("output_tokens"),
                      "ok": True, "error_type": None})
    return calls


def steps(messages: list[Any]) -> list[dict[str, Any]]:
    """The tool runs of a run, in order: {tool, arguments, result, ok}."""
    calls = {c["id"]: c for m in messages if getattr(m, "type", None) == "ai" for c in m.tool_calls}
    out = []
    for message in messages:
        if getattr(message, "type", None) == "tool":
            call = calls.get(message.tool_call_id, {})
            out.append({"tool": message.name, "arguments": call.get("args"), "result": message.content,
                        "ok": message.status != "error"})
    return out
