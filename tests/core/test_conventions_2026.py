"""The 2026 GenAI conventions (util-genai 1.3b0 where it is newer than the 2026-08 model snapshot):
instrument names and buckets, agent context on tools, per-agent call counts, exemplars and the
usage gap. Each test failed on the code before issue 9."""

from __future__ import annotations

import llm_otel
from llm_otel import _semconv as sc
from opentelemetry.trace import SpanKind


def test_tool_agent_and_workflow_durations_use_the_conventions_instruments(otel_capture):
    with llm_otel.workflow("flow"), llm_otel.agent("helper"), llm_otel.tool(name="calc"):
        pass
    tool = otel_capture.metric_point("gen_ai.execute_tool.duration")
    agent = otel_capture.metric_point("gen_ai.invoke_agent.duration")
    workflow = otel_capture.metric_point("gen_ai.invoke_workflow.duration")
    assert tool.explicit_bounds == (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
    assert agent.explicit_bounds == (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6)
    assert workflow.explicit_bounds == (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)  # 82 s is not +Inf
    assert {"llm_otel.tool.duration", "llm_otel.agent.duration", "llm_otel.workflow.duration"}.isdisjoint(
        otel_capture.metric_names()
    )


def test_a_tool_inside_an_agent_carries_the_agent_name_and_the_agent_counts_its_calls(otel_capture):
    with llm_otel.agent("planner"):
        for _ in range(2):
            with llm_otel.llm_call(provider="openai", model="m") as call:
                call.input_tokens, call.output_tokens = 1, 1
        with llm_otel.tool(name="search"):
            pass
        with llm_otel.agent("inner"), llm_otel.tool(name="calc"):
            pass  # counted for the inner agent only
    assert otel_capture.span("execute_tool search").attributes[sc.GEN_AI_AGENT_NAME] == "planner"
    assert otel_capture.span("execute_tool calc").attributes[sc.GEN_AI_AGENT_NAME] == "inner"
    assert otel_capture.metric_point("gen_ai.execute_tool.duration", {"gen_ai.tool.name": "search"}).attributes[
        sc.GEN_AI_AGENT_NAME] == "planner"
    inference = otel_capture.metric_point("gen_ai.invoke_agent.inference_calls", {sc.GEN_AI_AGENT_NAME: "planner"})
    tools = otel_capture.metric_point("gen_ai.invoke_agent.tool_calls", {sc.GEN_AI_AGENT_NAME: "planner"})
    assert (inference.value, tools.value) == (2, 1)
    assert otel_capture.metric_point("gen_ai.invoke_agent.tool_calls", {sc.GEN_AI_AGENT_NAME: "inner"}).value == 1


def test_cache_write_tokens_use_the_renamed_attribute(otel_capture):
    with llm_otel.llm_call(provider="anthropic", model="claude-haiku-4-5") as call:
        call.input_tokens, call.output_tokens, call.cache_write_input_tokens = 1100, 10, 100
    attributes = otel_capture.span("chat claude-haiku-4-5").attributes
    assert attributes["gen_ai.usage.cache_write.input_tokens"] == 100
    assert "gen_ai.usage.cache_creation.input_tokens" not in attributes


def test_every_metric_point_of_a_generator_call_links_to_its_own_span(otel_capture):
    @llm_otel.llm_call(provider="openai", model="gpt-4o-mini")
    def stream():
        yield "a"
        yield "b"
        llm_otel.current_invocation().input_tokens = 3  # type: ignore[union-attr]
        llm_otel.current_invocation().output_tokens = 2  # type: ignore[union-attr]

    with llm_otel.workflow("consumer"):
        assert list(stream()) == ["a", "b"]
    chat = otel_capture.span("chat gpt-4o-mini")
    names = {"gen_ai.client.operation.duration", "gen_ai.client.token.usage", "llm_otel.client.cost",
             "gen_ai.client.operation.time_to_first_chunk"}
    seen = set()
    data = otel_capture.metric_reader.get_metrics_data()  # one collection: exemplars reset on collect
    for metric in (m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics):
        if metric.name in names:
            for point in metric.data.data_points:
                assert point.exemplars, metric.name
                assert {e.span_id for e in point.exemplars} == {chat.context.span_id}, metric.name
                seen.add(metric.name)
    assert seen == names


def test_calls_without_reported_usage_are_counted(otel_capture):
    with llm_otel.llm_call(provider="openai", model="gpt-4o-mini") as call:
        call.output_text = "no usage reported"
    with llm_otel.llm_call(provider="openai", model="gpt-4o-mini") as call:
        call.input_tokens, call.output_tokens = 5, 5
    point = otel_capture.metric_point("llm_otel.client.usage.unreported")
    assert point.value == 1 and point.attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert len(otel_capture.metric_points("gen_ai.client.token.usage")) == 2  # only the reporting call


def _definitions(otel_capture, tools):
    with otel_capture.capturing_content("SPAN_ONLY"), llm_otel.llm_call(
        provider="openai", model="tools", tool_definitions=tools
    ):
        pass
    import json

    return json.loads(otel_capture.span("chat tools").attributes[sc.GEN_AI_TOOL_DEFINITIONS])


OPENAI_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                                                "parameters": {"type": "object", "properties": {}}}}
ANTHROPIC_TOOL = {"name": "lookup", "description": "Find a product", "input_schema": {"type": "object"}}


def test_tool_definitions_take_the_conventions_shape_with_details_off_by_default(otel_capture):
    assert _definitions(otel_capture, [OPENAI_TOOL, ANTHROPIC_TOOL]) == [
        {"type": "function", "name": "get_weather"}, {"type": "function", "name": "lookup"},
    ]


def test_tool_definition_details_are_opt_in(otel_capture):
    otel_capture.settings(tool_definition_details=True)
    assert _definitions(otel_capture, [OPENAI_TOOL, ANTHROPIC_TOOL]) == [
        {"type": "function", "name": "get_weather", "description": "Weather now",
         "parameters": {"type": "object", "properties": {}}},
        {"type": "function", "name": "lookup", "description": "Find a product", "parameters": {"type": "object"}},
    ]


def test_output_messages_carry_the_conventions_finish_reason(otel_capture):
    import json

    cases = {"tool_calls": "tool_call", "end_turn": "stop", "max_tokens": "length", "content_filter": "content_filter",
             None: "stop"}
    for raw, expected in cases.items():
        with otel_capture.capturing_content("SPAN_ONLY"), llm_otel.llm_call(provider="openai", model=f"m-{raw}") as c:
            c.output_text = "x"
            c.finish_reasons = [raw] if raw else None
        out = json.loads(otel_capture.span(f"chat m-{raw}").attributes[sc.GEN_AI_OUTPUT_MESSAGES])
        assert out[0]["finish_reason"] == expected, raw


def test_create_agent_is_a_client_span_with_an_operation_duration_point(otel_capture):
    with llm_otel.create_agent("support-bot", "aws.bedrock", "anthropic.claude-haiku", description="answers") as inv:
        inv.id = "AGENT123"  # the id the service gave the new agent
    span = otel_capture.span("create_agent support-bot")
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes[sc.GEN_AI_OPERATION_NAME] == sc.OP_CREATE_AGENT == "create_agent"
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert attributes[sc.GEN_AI_AGENT_ID] == "AGENT123"
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == "anthropic.claude-haiku"
    point = otel_capture.metric_point(sc.METRIC_OPERATION_DURATION, {sc.GEN_AI_OPERATION_NAME: "create_agent"})
    assert point.attributes[sc.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert sc.GEN_AI_AGENT_ID not in point.attributes  # ids never reach a metric label
    assert "gen_ai.invoke_agent.duration" not in otel_capture.metric_names()
