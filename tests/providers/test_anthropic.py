"""Anthropic SDK through the instrumentor: messages, tool use, cache tokens, errors."""

from __future__ import annotations

import json

import anthropic
import pytest
from llm_otel.instrumentors.anthropic import AnthropicInstrumentor
from opentelemetry.trace import StatusCode

MODEL = "claude-haiku-4-5"
WEATHER = {"name": "get_weather", "description": "weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
LONG_SYSTEM = "You are a careful assistant. " * 20  # long enough for the server to report cached tokens


def test_message_span_and_metrics(instrumented, anthropic_client, llm_server):
    # (anthropic 2.x dropped temperature/top_p/top_k from messages.create; older SDKs' values are mapped too)
    message = anthropic_client.messages.create(model=MODEL, max_tokens=64, stop_sequences=["STOP"],
                                               messages=[{"role": "user", "content": "hello there"}])
    span = instrumented.span(f"chat {MODEL}")
    attrs = span.attributes
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["server.port"] == llm_server.port
    assert attrs["gen_ai.request.max_tokens"] == 64
    assert attrs["gen_ai.request.stop_sequences"] == ("STOP",)
    assert attrs["gen_ai.response.id"] == message.id
    assert attrs["gen_ai.response.model"] == message.model
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["gen_ai.usage.output_tokens"] == message.usage.output_tokens
    assert instrumented.metric_point("llm_otel.client.response.length").value == len(message.content[0].text)


@pytest.mark.parametrize("cache_field", ["cache_read_input_tokens", "cache_creation_input_tokens"])
def test_cache_tokens_are_counted_as_the_conventions_say(instrumented, anthropic_client, cache_field):
    prompt = "hi" if cache_field == "cache_read_input_tokens" else "hi cachewrite"
    message = anthropic_client.messages.create(model=MODEL, max_tokens=32, system=LONG_SYSTEM,
                                               messages=[{"role": "user", "content": prompt}])
    usage = message.usage
    cached = getattr(usage, cache_field)
    assert cached > 0
    attrs = instrumented.span(f"chat {MODEL}").attributes
    total = usage.input_tokens + (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)
    assert attrs["gen_ai.usage.input_tokens"] == total
    key = "gen_ai.usage.cache_read.input_tokens" if cache_field == "cache_read_input_tokens" else "gen_ai.usage.cache_write.input_tokens"
    assert attrs[key] == cached
    assert instrumented.metric_point("gen_ai.client.token.usage", {"gen_ai.token.type": "input"}).value == total
    rates = {"cache_read_input_tokens": 0.1, "cache_creation_input_tokens": 1.25}  # haiku 4.5: $1/MTok input
    expected = (usage.input_tokens * 1 + cached * rates[cache_field] + usage.output_tokens * 5) / 1e6
    assert attrs["llm_otel.cost.usd"] == pytest.approx(expected)


async def test_async_tool_use(instrumented, async_anthropic_client):
    instrumented.settings(capture="SPAN_AND_EVENT")
    message = await async_anthropic_client.messages.create(
        model=MODEL, max_tokens=64, tools=[WEATHER], messages=[{"role": "user", "content": "weather in Paris?"}])
    block = next(b for b in message.content if b.type == "tool_use")
    span = instrumented.span(f"chat {MODEL}")
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_use",)
    out = json.loads(span.attributes["gen_ai.output.messages"])
    assert {"type": "tool_call", "id": block.id, "name": "get_weather", "arguments": block.input} in out[0]["parts"]
    [event] = instrumented.events("gen_ai.client.inference.operation.details")
    assert event.span_id == span.context.span_id


def test_tool_result_round_trip_in_content(instrumented, anthropic_client):
    instrumented.settings(capture="SPAN_ONLY")
    first = anthropic_client.messages.create(model=MODEL, max_tokens=64, tools=[WEATHER],
                                             messages=[{"role": "user", "content": "weather in Oslo?"}])
    block = next(b for b in first.content if b.type == "tool_use")
    anthropic_client.messages.create(model=MODEL, max_tokens=64, tools=[WEATHER], messages=[
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "5C"}]},
    ])
    second = instrumented.spans_by_operation("chat")[1]
    inputs = json.loads(second.attributes["gen_ai.input.messages"])
    assert inputs[-1] == {"role": "tool", "parts": [{"type": "tool_call_response", "id": block.id, "response": "5C"}]}


def test_streamed_tool_use_with_the_helper(instrumented, anthropic_client):
    instrumented.settings(capture="SPAN_ONLY")
    with anthropic_client.messages.stream(model=MODEL, max_tokens=64, tools=[WEATHER],
                                          messages=[{"role": "user", "content": "weather in Lima"}]) as stream:
        final = stream.get_final_message()
    span = instrumented.span(f"chat {MODEL}")
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert span.attributes["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    parts = json.loads(span.attributes["gen_ai.output.messages"])[0]["parts"]
    tool_part = next(p for p in parts if p["type"] == "tool_call")
    assert tool_part["arguments"] == next(b.input for b in final.content if b.type == "tool_use")


@pytest.mark.parametrize(
    ("prompt", "exc_type"),
    [("error please", anthropic.InternalServerError), ("ratelimit", anthropic.RateLimitError),
     ("overloaded", anthropic.APIStatusError)],
)
def test_errors(instrumented, anthropic_client, prompt, exc_type):
    with pytest.raises(exc_type) as caught:
        anthropic_client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": prompt}])
    span = instrumented.span(f"chat {MODEL}")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(caught.value).__qualname__


def test_uninstrument_restores_the_sdk(otel_capture, anthropic_client):
    from anthropic.resources.messages.messages import AsyncMessages, Messages

    originals = {(c, m): c.__dict__[m] for c in (Messages, AsyncMessages) for m in ("create", "stream")}
    AnthropicInstrumentor().instrument()
    AnthropicInstrumentor().uninstrument()
    assert all(c.__dict__[m] is f for (c, m), f in originals.items())
    anthropic_client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert otel_capture.spans == []
