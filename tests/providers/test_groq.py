"""Groq SDK through the instrumentor (the OpenAI translator, provider ``groq``), over real HTTP
to the local LLM's ``/openai/v1`` routes."""

from __future__ import annotations

import json

import groq
import llm_otel
import llm_otel._semconv as sc
import pytest
from llm_otel.instrumentors.groq import GroqInstrumentor
from opentelemetry.trace import StatusCode

MODEL = "llama-3.3-70b-versatile"
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


def _messages(text):
    return [{"role": "user", "content": text}]


def test_chat_span_metrics_and_cost(instrumented, groq_client, llm_server):
    reply = groq_client.chat.completions.create(model=MODEL, messages=_messages("hello there"), temperature=0.3, max_tokens=50)
    attrs = instrumented.span(f"chat {MODEL}").attributes
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_GROQ
    assert (attrs[sc.SERVER_ADDRESS], attrs[sc.SERVER_PORT]) == ("127.0.0.1", llm_server.port)
    assert attrs[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.3 and attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 50
    assert attrs[sc.GEN_AI_RESPONSE_ID] == reply.id
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == reply.usage.prompt_tokens
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == reply.usage.completion_tokens
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert sc.GEN_AI_INPUT_MESSAGES not in attrs
    # Llama 3.3 70B on Groq: $0.59 input, $0.79 output per MTok
    expected = (reply.usage.prompt_tokens * 0.59 + reply.usage.completion_tokens * 0.79) / 1e6
    assert attrs[sc.LLM_OTEL_COST_USD] == pytest.approx(expected)
    point = instrumented.metric_point(sc.METRIC_TOKEN_USAGE, {sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT})
    assert point.attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_GROQ


async def test_async_stream_with_tool_call_content(instrumented, async_groq_client):
    instrumented.settings(capture="SPAN_ONLY")
    stream = await async_groq_client.chat.completions.create(model=MODEL, messages=_messages("weather in Rome?"), tools=[WEATHER],
                                                             stream=True)
    chunks = [chunk async for chunk in stream]
    assert type(stream).__name__ == "AsyncStream"
    attrs = instrumented.span(f"chat {MODEL}").attributes
    assert attrs[sc.GEN_AI_REQUEST_STREAM] is True
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == chunks[-1].x_groq.usage.completion_tokens > 0  # Groq's own usage field
    out = json.loads(attrs[sc.GEN_AI_OUTPUT_MESSAGES])
    [call] = [p for p in out[0]["parts"] if p["type"] == "tool_call"]
    assert call["name"] == "get_weather" and call["arguments"] == {"city": "Rome"}  # parsed: the schema wants an object
    assert json.loads(attrs[sc.GEN_AI_INPUT_MESSAGES]) == [{"role": "user", "parts": [{"type": "text", "content": "weather in Rome?"}]}]


@pytest.mark.parametrize(("trigger", "error"), [("ratelimit", groq.RateLimitError), ("error", groq.InternalServerError)])
def test_errors_keep_the_sdks_exception(instrumented, groq_client, trigger, error):
    with pytest.raises(error):
        groq_client.chat.completions.create(model=MODEL, messages=_messages(f"please {trigger}"))
    span = instrumented.span(f"chat {MODEL}")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == error.__qualname__


def test_the_openai_usage_opt_in_never_sends_groq_a_parameter_it_lacks(instrumented, groq_client):
    instrumented.settings(openai_include_usage=True)
    stream = groq_client.chat.completions.create(model=MODEL, messages=_messages("hi"), stream=True)
    usage = [c.x_groq.usage for c in stream if c.x_groq is not None][-1]
    assert instrumented.span(f"chat {MODEL}").attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == usage.prompt_tokens


def test_duplicate_guard(instrumented, groq_client):
    with llm_otel.llm_call(provider=sc.PROVIDER_GROQ, model=MODEL) as call:
        reply = groq_client.chat.completions.create(model=MODEL, messages=_messages("hi"))
    [span] = instrumented.spans_by_operation(sc.OP_CHAT)
    assert call.output_tokens == reply.usage.completion_tokens
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == reply.id


def test_uninstrument_is_exact(otel_capture):
    from groq.resources.chat.completions import Completions

    original = Completions.create
    GroqInstrumentor().instrument()
    assert Completions.create is not original
    GroqInstrumentor().uninstrument()
    assert Completions.create is original
