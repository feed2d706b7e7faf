"""An OpenAI Agents SDK agent with two function tools and a handoff, offline (no export to OpenAI)."""

from __future__ import annotations

import json

import llm_otel._semconv as sc
import pytest
from agents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    RunConfig,
    Runner,
    function_tool,
    input_guardrail,
    output_guardrail,
    set_default_openai_client,
)
from agents.tool_context import ToolContext
from agents.tracing import get_trace_provider
from llm_otel.instrumentors._openai_agents import LlmOtelTracingProcessor
from llm_otel.instrumentors.openai_agents import OpenAIAgentsInstrumentor
from openai import AsyncOpenAI
from opentelemetry.trace import StatusCode

WORKFLOW = "invoke_workflow Agent workflow"
TRIAGE = "invoke_agent Triage agent"
BOOKING = "invoke_agent Booking agent"
CHAT = "chat gpt-4o-mini"
QUESTION = "Transfer to booking agent after the weather and time in Paris"


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@function_tool
def get_time(city: str) -> str:
    """The local time in a city."""
    return f"10:00 in {city}"


def _processors() -> tuple:
    return tuple(get_trace_provider()._multi_processor._processors)


@pytest.fixture
def ag(with_openai, instrument, llm_server):
    set_default_openai_client(AsyncOpenAI(base_url=llm_server.openai_base_url, api_key="sk-test", max_retries=0),
                              use_for_tracing=False)
    instrument(OpenAIAgentsInstrumentor())
    return with_openai


def _triage() -> Agent:
    booking = Agent(name="Booking agent", instructions="Book trips.", model="gpt-4o-mini")
    return Agent(name="Triage agent", instructions="Help travellers.", model="gpt-4o-mini",
                 tools=[get_weather, get_time], handoffs=[booking])


async def test_agent_tools_handoff_tree(ag, tree):
    result = await Runner.run(_triage(), QUESTION, run_config=RunConfig(group_id="conv-42"))
    assert result.last_agent.name == "Booking agent"
    assert tree() == [
        (WORKFLOW, []),
        (TRIAGE, [WORKFLOW]),
        (CHAT, [TRIAGE, WORKFLOW]),
        ("execute_tool get_time", [TRIAGE, WORKFLOW]),
        ("execute_tool get_weather", [TRIAGE, WORKFLOW]),
        ("execute_tool transfer_to_booking_agent", [TRIAGE, WORKFLOW]),
        (BOOKING, [WORKFLOW]),
        (CHAT, [BOOKING, WORKFLOW]),
    ]
    assert ag.span(WORKFLOW).attributes[sc.GEN_AI_CONVERSATION_ID] == "conv-42"
    assert ag.span(TRIAGE).attributes[sc.GEN_AI_AGENT_NAME] == "Triage agent"
    handoff = ag.span("execute_tool transfer_to_booking_agent")
    assert handoff.attributes[sc.GEN_AI_TOOL_NAME] == "transfer_to_booking_agent"
    assert handoff.attributes[sc.LLM_OTEL_HANDOFF_FROM_AGENT] == "Triage agent"
    assert handoff.attributes[sc.LLM_OTEL_HANDOFF_TO_AGENT] == "Booking agent"
    calls = {item.name: item.call_id for item in result.raw_responses[0].output if item.type == "function_call"}
    for name in ("get_weather", "get_time"):
        assert ag.span(f"execute_tool {name}").attributes[sc.GEN_AI_TOOL_CALL_ID] == calls[name]
    last = max(ag.spans_by_operation(sc.OP_CHAT), key=lambda s: s.start_time)
    assert last.attributes[sc.GEN_AI_RESPONSE_ID] == result.raw_responses[-1].response_id
    assert last.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == result.raw_responses[-1].usage.output_tokens
    assert last.attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert ag.metric_point(sc.METRIC_OPERATION_DURATION, {sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT}).count == 2
    assert ag.metric_point(sc.METRIC_AGENT_DURATION, {sc.GEN_AI_AGENT_NAME: "Booking agent"}).count == 1
    assert ag.metric_point(sc.METRIC_TOOL_DURATION, {sc.GEN_AI_TOOL_NAME: "get_weather"}).count == 1


async def test_content_mode_records_tool_arguments_and_results(ag):
    with ag.capturing_content("SPAN_ONLY"):
        await Runner.run(_triage(), QUESTION)
    span = ag.span("execute_tool get_time")
    assert json.loads(span.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"city": "Paris"}
    assert json.loads(span.attributes[sc.GEN_AI_TOOL_CALL_RESULT]) == "10:00 in Paris"


def test_sync_runner_keeps_the_tree(ag, tree):
    Runner.run_sync(_triage(), QUESTION)
    assert [name for name, _ in tree()][:3] == [WORKFLOW, TRIAGE, CHAT]
    assert len(ag.spans_by_operation(sc.OP_CHAT)) == 2  # no SDK duplicate


def test_default_exporter_is_replaced_and_restored(with_openai):
    before = _processors()
    OpenAIAgentsInstrumentor().instrument()
    try:
        [only] = _processors()
        assert isinstance(only, LlmOtelTracingProcessor)  # nothing is sent to OpenAI's tracing backend
    finally:
        OpenAIAgentsInstrumentor().uninstrument()
    assert _processors() == before
    assert isinstance(ToolContext.__dict__["from_agent_context"], classmethod)  # unwrapped exactly


# -- guardrails ------------------------------------------------------------------------------------


@input_guardrail
def no_secrets(ctx, agent, user_input) -> GuardrailFunctionOutput:
    """Trips on a question asking for a secret."""
    text = user_input if isinstance(user_input, str) else str(user_input)
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered="secret" in text)


@output_guardrail
def not_empty(ctx, agent, output) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered=not str(output).strip())


def _guarded() -> Agent:
    return Agent(name="Guarded agent", instructions="Answer briefly.", model="gpt-4o-mini",
                 input_guardrails=[no_secrets], output_guardrails=[not_empty])


async def test_input_and_output_guardrails_are_extension_tool_spans_of_the_agent(ag):
    await Runner.run(_guarded(), "What is the capital of France?")
    agent = "invoke_agent Guarded agent"
    for name in ("no_secrets", "not_empty"):
        span = ag.span(f"execute_tool {name}")
        assert span.attributes[sc.GEN_AI_TOOL_TYPE] == sc.TOOL_TYPE_EXTENSION
        assert span.attributes[sc.LLM_OTEL_GUARDRAIL_TRIGGERED] is False
        assert span.status.status_code is StatusCode.UNSET and sc.ERROR_TYPE not in span.attributes
        ag.assert_parent_chain(span, [agent, WORKFLOW])
    assert ag.metric_point(sc.METRIC_TOOL_DURATION, {sc.GEN_AI_TOOL_NAME: "no_secrets"}).count == 1


async def test_a_tripped_input_guardrail_is_an_error_and_the_exception_passes(ag):
    with pytest.raises(InputGuardrailTripwireTriggered):
        await Runner.run(_guarded(), "Tell me the secret password")
    span = ag.span("execute_tool no_secrets")
    assert span.attributes[sc.LLM_OTEL_GUARDRAIL_TRIGGERED] is True
    assert span.attributes[sc.ERROR_TYPE] == sc.ERROR_TYPE_GUARDRAIL_TRIPWIRE
    assert span.status.status_code is StatusCode.ERROR
    point = ag.metric_point(sc.METRIC_TOOL_DURATION, {sc.GEN_AI_TOOL_NAME: "no_secrets"})
    assert point.attributes[sc.ERROR_TYPE] == sc.ERROR_TYPE_GUARDRAIL_TRIPWIRE
    assert not [s for s in ag.spans if s.name == "execute_tool not_empty"]  # the run stopped before the output
