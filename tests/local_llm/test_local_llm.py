"""The local deterministic LLM, driven through the real openai / anthropic SDKs over real HTTP."""

from __future__ import annotations

import base64
import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
from llm_otel_tools.local_llm import LocalLLMServer
from llm_otel_tools.local_llm.transport import (
    AsyncLocalLLMTransport,
    AsyncLocalLLMTransport2,
    LocalLLMTransport,
    LocalLLMTransport2,
)

try:
    import httpx2
except ImportError:  # pragma: no cover
    httpx2 = None

STREAM_ERRORS = tuple(e for e in (httpx.HTTPError, getattr(httpx2, "HTTPError", None)) if e)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}, "offset": {"type": "integer"}}},
    },
}
LONG_SYSTEM = " ".join(f"rule{i}" for i in range(40))  # 40 words >= cache_min_words (32)


def expected_reply(model: str, prompt: str) -> str:
    return f"This is a deterministic reply from {model} to: {' '.join(prompt.split()[:20])}"


@pytest.fixture(scope="module")
def server():
    with LocalLLMServer(slow_ms=2000) as srv:
        yield srv


@pytest.fixture(scope="module")
def oai(server):
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)
    yield client
    client.close()


@pytest.fixture(scope="module")
def claude(server):
    client = anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0)
    yield client
    client.close()


@pytest.fixture
async def aoai(server):
    async with openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0) as client:
        yield client


@pytest.fixture
async def aclaude(server):
    async with anthropic.AsyncAnthropic(base_url=server.anthropic_base_url, api_key="test", max_retries=0) as client:
        yield client


# ---------------------------------------------------------------------------
# OpenAI chat completions
# ---------------------------------------------------------------------------


def test_server_addresses(server):
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.port > 0
    assert server.openai_base_url == server.base_url + "/v1"
    assert server.anthropic_base_url == server.base_url


def test_openai_chat_sync(oai):
    prompt = "Hello there world"
    r = oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
    assert r.id.startswith("chatcmpl-")
    assert r.object == "chat.completion"
    assert r.model == "gpt-4o-mini-2024-07-18"
    assert r.system_fingerprint.startswith("fp_")
    assert r.service_tier == "default"
    assert len(r.choices) == 1
    choice = r.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == expected_reply("gpt-4o-mini", prompt)
    u = r.usage
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (3, 11, 14)
    assert u.prompt_tokens_details.cached_tokens == 0
    assert u.completion_tokens_details.reasoning_tokens == 0
    again = oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
    assert again.id == r.id and again.choices[0].message.content == choice.message.content


async def test_openai_chat_async(aoai):
    r = await aoai.chat.completions.create(
        model="gpt-4.1-mini",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour"}],
        service_tier="flex",
    )
    assert r.model == "gpt-4.1-mini-2025-04-14"
    assert r.service_tier == "flex"
    assert r.choices[0].message.content == expected_reply("gpt-4.1-mini", "Name a colour")
    assert r.usage.prompt_tokens == 5  # "Be brief." + "Name a colour"
    assert r.usage.completion_tokens == 11


def test_openai_n_choices_and_max_tokens(oai):
    r = oai.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "one two three"}], n=2, max_tokens=4
    )
    assert [c.index for c in r.choices] == [0, 1]
    assert all(c.finish_reason == "length" for c in r.choices)
    assert r.choices[0].message.content == "This is a deterministic"
    assert r.usage.completion_tokens == 8
    full = oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "one two three"}], n=2)
    assert full.choices[1].message.content == expected_reply("gpt-4o", "one two three") + " (variant 2)"
    assert full.usage.completion_tokens == 11 + 13
    new_style = oai.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "one two three"}], max_completion_tokens=2
    )
    assert new_style.choices[0].message.content == "This is"
    assert new_style.choices[0].finish_reason == "length"


def test_openai_reasoning_model_tokens(oai):
    r = oai.chat.completions.create(model="o4-mini", messages=[{"role": "user", "content": "why is the sky blue"}])
    assert r.model == "o4-mini-2025-04-16"
    assert r.usage.completion_tokens_details.reasoning_tokens == 10  # 2 x 5 words
    assert r.usage.completion_tokens == 10 + 13


def test_openai_prompt_cache_tokens(oai):
    r = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": LONG_SYSTEM}, {"role": "user", "content": "hi"}],
    )
    assert r.usage.prompt_tokens == 41
    assert r.usage.prompt_tokens_details.cached_tokens == 40


def test_openai_stream_without_usage(oai):
    prompt = "Stream this please"
    chunks = list(
        oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], stream=True)
    )
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert all(c.usage is None for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert "".join(deltas) == expected_reply("gpt-4o-mini", prompt)
    assert len(deltas) == 11
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model == "gpt-4o-mini-2024-07-18"


def test_openai_stream_with_include_usage(oai):
    chunks = list(
        oai.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": LONG_SYSTEM}, {"role": "user", "content": "Stream this please"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    last = chunks[-1]
    assert last.choices == []
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (43, 11, 54)
    assert last.usage.prompt_tokens_details.cached_tokens == 40
    assert last.usage.completion_tokens_details.reasoning_tokens == 0
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "stop"


async def test_openai_async_stream(aoai):
    stream = await aoai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "async stream"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
        else:
            usage = chunk.usage
    assert text == expected_reply("gpt-4o-mini", "async stream")
    assert usage.completion_tokens == 10 and usage.prompt_tokens == 2


def test_openai_tool_call_round_trip(oai):
    messages = [{"role": "user", "content": "What's the weather in Paris?"}]
    r = oai.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[TIME_TOOL, WEATHER_TOOL])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.id.startswith("call_") and call.type == "function"
    assert call.function.name == "get_weather"  # named in the prompt, although offered second
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}
    assert r.usage.completion_tokens == 1 + 4  # name + '{"city": "Paris", "unit": "celsius"}'

    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "22C and sunny"},
    ]
    final = oai.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[TIME_TOOL, WEATHER_TOOL])
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == "Based on the tool result, the answer is: 22C and sunny"
    assert final.usage.prompt_tokens == 5 + 5 + 3


def test_openai_tool_choice_variants(oai):
    user = [{"role": "user", "content": "get_time and get_weather for zone 5 in Oslo"}]
    both = oai.chat.completions.create(model="gpt-4o", messages=user, tools=[WEATHER_TOOL, TIME_TOOL])
    calls = both.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[1].function.arguments) == {"zone": "Oslo", "offset": 5}
    assert len({c.id for c in calls}) == 2
    single = oai.chat.completions.create(
        model="gpt-4o", messages=user, tools=[WEATHER_TOOL, TIME_TOOL], parallel_tool_calls=False
    )
    assert [c.function.name for c in single.choices[0].message.tool_calls] == ["get_weather"]
    none = oai.chat.completions.create(model="gpt-4o", messages=user, tools=[WEATHER_TOOL], tool_choice="none")
    assert none.choices[0].message.tool_calls is None and none.choices[0].finish_reason == "stop"
    forced = oai.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hello"}],
        tools=[WEATHER_TOOL, TIME_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert forced.choices[0].message.tool_calls[0].function.name == "get_time"


def test_openai_streaming_tool_call(oai):
    stream = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "weather in Rome"}],
        tools=[WEATHER_TOOL],
        stream=True,
        stream_options={"include_usage": True},
    )
    name, args, call_id, finish, usage = "", "", None, None, None
    for chunk in stream:
        if not chunk.choices:
            usage = chunk.usage
            continue
        for tc in chunk.choices[0].delta.tool_calls or []:
            assert tc.index == 0
            call_id = tc.id or call_id
            if tc.function.name:
                name += tc.function.name
            args += tc.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert call_id.startswith("call_")
    assert name == "get_weather"
    assert json.loads(args) == {"city": "Rome", "unit": "celsius"}
    assert finish == "tool_calls"
    assert usage.completion_tokens == 5


def test_openai_special_answers(oai):
    def ask(prompt):
        return oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])

    refusal = ask("Please refuse this")
    assert refusal.choices[0].message.content.startswith("I cannot help with that")
    hedged = ask("I am unsure about taxes").choices[0].message.content
    assert "I think" in hedged and "probably" in hedged
    long = ask("Write a long essay")
    assert long.usage.completion_tokens == len(long.choices[0].message.content.split()) >= 300
    # refuse beats tool calls
    r = oai.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "refuse get_weather"}], tools=[WEATHER_TOOL]
    )
    assert r.choices[0].finish_reason == "stop" and r.choices[0].message.tool_calls is None


def test_openai_models_list(oai):
    ids = [m.id for m in oai.models.list()]
    assert "gpt-4o-mini" in ids and "text-embedding-3-small" in ids


# ---------------------------------------------------------------------------
# embeddings
# ---------------------------------------------------------------------------


def test_embeddings_float_and_base64(oai, server):
    server.clear_requests()
    default = oai.embeddings.create(model="text-embedding-3-small", input="hello world")
    assert server.requests[-1].json()["encoding_format"] == "base64"  # the SDK's default
    floats = oai.embeddings.create(model="text-embedding-3-small", input="hello world", encoding_format="float")
    assert server.requests[-1].json()["encoding_format"] == "float"
    v1, v2 = default.data[0].embedding, floats.data[0].embedding
    assert len(v1) == len(v2) == 1536
    assert v1 == v2
    assert math.isclose(math.sqrt(sum(x * x for x in v1)), 1.0, rel_tol=1e-5)
    assert default.usage.prompt_tokens == default.usage.total_tokens == 2
    assert default.model == "text-embedding-3-small"

    batch = oai.embeddings.create(model="text-embedding-3-large", input=["a b c", "hello world", "x"], dimensions=8)
    assert [d.index for d in batch.data] == [0, 1, 2]
    assert all(len(d.embedding) == 8 for d in batch.data)
    assert batch.usage.prompt_tokens == 6
    assert batch.data[1].embedding != batch.data[0].embedding
    large = oai.embeddings.create(model="text-embedding-3-large", input="x", encoding_format="float")
    assert len(large.data[0].embedding) == 3072
    assert large.data[0].embedding[:8] != batch.data[2].embedding  # renormalised at a different size

    raw = httpx.post(
        server.openai_base_url + "/embeddings",
        json={"model": "m", "input": "hello world", "dimensions": 16, "encoding_format": "base64"},
    ).json()
    decoded = struct.unpack("<16f", base64.b64decode(raw["data"][0]["embedding"]))
    assert math.isclose(math.sqrt(sum(x * x for x in decoded)), 1.0, rel_tol=1e-5)


def test_embeddings_are_bag_of_words(oai):
    """Feature hashing: texts sharing words are close, unrelated texts are not, none is zero."""
    texts = ["What is a span in OpenTelemetry?", "A span records one operation of a trace in OpenTelemetry.",
             "Prometheus scrapes metrics over HTTP.", "", "the of and"]
    vecs = [d.embedding for d in oai.embeddings.create(model="text-embedding-3-small", input=[*texts[:3], "x"]).data]
    from llm_otel_tools.local_llm.engine import embedding_vector

    vecs[3:] = [embedding_vector(t, 1536) for t in texts[3:]]

    def cos(a, b):
        return sum(x * y for x, y in zip(a, b, strict=False))

    assert cos(vecs[0], vecs[1]) > 0.3 > abs(cos(vecs[0], vecs[2]))
    assert cos(vecs[1], vecs[1]) == pytest.approx(1.0, rel=1e-5)
    for v in vecs[3:]:  # no word features: a dense hash fallback, still unit length
        assert math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-5)
    assert embedding_vector("Span span", 64) == embedding_vector("span SPAN", 64)  # lower-cased, order-free


# ---------------------------------------------------------------------------
# Responses API
# ---------------------------------------------------------------------------


def test_responses_non_streaming(oai):
    r = oai.responses.create(model="gpt-4o-mini", instructions=LONG_SYSTEM, input="Tell me about otters")
    assert r.id.startswith("resp_") and r.object == "response"
    assert r.status == "completed"
    assert r.model == "gpt-4o-mini-2024-07-18"
    assert r.output_text == expected_reply("gpt-4o-mini", "Tell me about otters")
    assert r.output[0].type == "message" and r.output[0].id.startswith("msg_")
    u = r.usage
    assert (u.input_tokens, u.output_tokens, u.total_tokens) == (44, 12, 56)
    assert u.input_tokens_details.cached_tokens == 40
    assert u.output_tokens_details.reasoning_tokens == 0


def test_responses_streaming(oai):
    events = list(oai.responses.create(model="gpt-4o-mini", input="Stream me", stream=True))
    types = [e.type for e in events]
    text = expected_reply("gpt-4o-mini", "Stream me")
    n = len(text.split())
    assert types == (
        ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
        + ["response.output_text.delta"] * n
        + ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]
    )
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == text
    done = events[-1].response
    assert done.status == "completed" and done.output_text == text
    assert done.usage.output_tokens == n and done.usage.input_tokens == 2
    assert events[0].response.status == "in_progress" and events[0].response.id == done.id

    with oai.responses.stream(model="gpt-4o-mini", input="Stream me") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == text == final.output_text
    assert final.usage.input_tokens_details.cached_tokens == 0


def test_responses_function_call_round_trip(oai):
    tools = [{"type": "function", "name": "get_weather", "parameters": WEATHER_TOOL["function"]["parameters"]}]
    r = oai.responses.create(model="gpt-4o-mini", input="weather in Lisbon", tools=tools)
    (call,) = r.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.call_id.startswith("call_") and call.id.startswith("fc_")
    assert json.loads(call.arguments) == {"city": "Lisbon", "unit": "celsius"}
    follow = oai.responses.create(
        model="gpt-4o-mini",
        tools=tools,
        input=[
            {"role": "user", "content": "weather in Lisbon"},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "18C breezy"},
        ],
    )
    assert follow.output_text == "Based on the tool result, the answer is: 18C breezy"

    with oai.responses.stream(model="gpt-4o-mini", input="weather in Lisbon", tools=tools) as stream:
        types = [e.type for e in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in types and "response.function_call_arguments.done" in types
    assert final.output[0].arguments == call.arguments


def test_responses_limits_and_reasoning(oai):
    r = oai.responses.create(model="gpt-4o-mini", input="cut me short", max_output_tokens=3)
    assert r.status == "incomplete" and r.incomplete_details.reason == "max_output_tokens"
    assert r.output_text == "This is a" and r.usage.output_tokens == 3
    events = list(oai.responses.create(model="gpt-4o-mini", input="cut me short", max_output_tokens=3, stream=True))
    assert events[-1].type == "response.incomplete"
    reasoning = oai.responses.create(model="gpt-5-mini", input="think hard")
    assert [o.type for o in reasoning.output] == ["reasoning", "message"]
    assert reasoning.usage.output_tokens_details.reasoning_tokens == 4
    assert reasoning.usage.output_tokens == 4 + 10


# ---------------------------------------------------------------------------
# Anthropic messages
# ---------------------------------------------------------------------------

ANTHROPIC_WEATHER = {"name": "get_weather", "description": "weather", "input_schema": WEATHER_TOOL["function"]["parameters"]}


def test_anthropic_messages_sync(claude):
    m = claude.messages.create(
        model="claude-haiku-4-5-20251001",
        max_tokens=100,
        system=LONG_SYSTEM,
        messages=[{"role": "user", "content": "Hello Claude"}],
    )
    assert m.id.startswith("msg_01") and m.type == "message" and m.role == "assistant"
    assert m.model == "claude-haiku-4-5-20251001"
    assert m.stop_reason == "end_turn" and m.stop_sequence is None
    assert m.content[0].text == expected_reply("claude-haiku-4-5-20251001", "Hello Claude")
    assert m.usage.input_tokens == 2
    assert m.usage.cache_read_input_tokens == 40
    assert m.usage.cache_creation_input_tokens == 0
    assert m.usage.output_tokens == 10

    write = claude.messages.create(
        model="claude-haiku-4-5-20251001",
        max_tokens=100,
        system=[{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "cachewrite please"}],
    )
    assert write.usage.cache_creation_input_tokens == 40 and write.usage.cache_read_input_tokens == 0


def test_anthropic_limits(claude):
    short = claude.messages.create(
        model="claude-haiku-4-5", max_tokens=3, messages=[{"role": "user", "content": "hi"}]
    )
    assert short.model == "claude-haiku-4-5-20251001"
    assert short.stop_reason == "max_tokens" and short.content[0].text == "This is a" and short.usage.output_tokens == 3
    stopped = claude.messages.create(
        model="claude-haiku-4-5-20251001",
        max_tokens=50,
        stop_sequences=["reply"],
        messages=[{"role": "user", "content": "hi"}],
    )
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == "reply"
    assert stopped.content[0].text == "This is a deterministic "


async def test_anthropic_messages_async(aclaude):
    m = await aclaude.messages.create(
        model="claude-haiku-4-5-20251001", max_tokens=64, messages=[{"role": "user", "content": "async hello"}]
    )
    assert m.content[0].text == expected_reply("claude-haiku-4-5-20251001", "async hello")
    async with aclaude.messages.stream(
        model="claude-haiku-4-5-20251001", max_tokens=64, messages=[{"role": "user", "content": "async hello"}]
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == m.content[0].text == final.content[0].text
    assert final.usage.output_tokens == m.usage.output_tokens == 10


def test_anthropic_stream_helper_tool_use_round_trip(claude):
    messages = [{"role": "user", "content": "What is the weather in Berlin?"}]
    with claude.messages.stream(
        model="claude-haiku-4-5-20251001",
        max_tokens=200,
        system=LONG_SYSTEM,
        tools=[ANTHROPIC_WEATHER],
        messages=messages,
    ) as stream:
        types = [e.type for e in stream]
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    text_block, tool_block = final.content
    assert text_block.text == "I will call get_weather."
    assert tool_block.type == "tool_use" and tool_block.id.startswith("toolu_01")
    assert tool_block.name == "get_weather" and tool_block.input == {"city": "Berlin", "unit": "celsius"}
    assert final.usage.cache_read_input_tokens == 40 and final.usage.input_tokens == 6
    assert final.usage.output_tokens == 4 + 5  # "I will call get_weather." + name and 4 argument words
    assert "input_json" in types  # the helper's synthesized event for input_json_delta

    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True, exclude={"parsed_output"}) for b in final.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_block.id, "content": "9C cloudy"}]},
    ]
    answer = claude.messages.create(
        model="claude-haiku-4-5-20251001", max_tokens=200, tools=[ANTHROPIC_WEATHER], messages=messages
    )
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].text == "Based on the tool result, the answer is: 9C cloudy"


def test_anthropic_raw_stream_event_sequence(claude, server):
    events = list(
        claude.messages.create(
            model="claude-haiku-4-5-20251001",
            max_tokens=64,
            messages=[{"role": "user", "content": "raw events"}],
            stream=True,
        )
    )
    types = [e.type for e in events]
    n = len(expected_reply("claude-haiku-4-5-20251001", "raw events").split())
    assert types == (  # the SDK drops "ping" events
        ["message_start", "content_block_start"]
        + ["content_block_delta"] * n
        + ["content_block_stop", "message_delta", "message_stop"]
    )
    start = events[0].message
    assert start.usage.input_tokens == 2 and start.usage.cache_read_input_tokens == 0
    assert start.usage.cache_creation_input_tokens == 0
    assert events[-2].delta.stop_reason == "end_turn" and events[-2].usage.output_tokens == n
    assert all(e.delta.type == "text_delta" for e in events if e.type == "content_block_delta")

    raw = httpx.post(
        server.base_url + "/v1/messages",
        json={"model": "claude-haiku-4-5", "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "raw events"}]},
    )
    names = [line.split(": ", 1)[1] for line in raw.text.splitlines() if line.startswith("event: ")]
    assert names[:3] == ["message_start", "content_block_start", "ping"] and names[-1] == "message_stop"
    assert raw.headers["content-type"].startswith("text/event-stream")


def test_anthropic_models_list(claude):
    ids = [m.id for m in claude.models.list()]
    assert ids and all(i.startswith("claude") for i in ids)


# ---------------------------------------------------------------------------
# failures on demand
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "exc", "status"),
    [
        ("error", openai.InternalServerError, 500),
        ("ratelimit", openai.RateLimitError, 429),
        ("overloaded", openai.InternalServerError, 503),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_openai_error_statuses(oai, word, exc, status, stream):
    with pytest.raises(exc) as info:
        oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"please {word}"}], stream=stream)
    err = info.value
    assert err.status_code == status
    assert set(err.body) == {"message", "type", "param", "code"}
    if status == 429:
        assert err.response.headers["retry-after"] == "0"
        assert err.code == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("word", "exc", "status", "etype"),
    [
        ("error", anthropic.InternalServerError, 500, "api_error"),
        ("ratelimit", anthropic.RateLimitError, 429, "rate_limit_error"),
        ("overloaded", anthropic.OverloadedError, 529, "overloaded_error"),
    ],
)
def test_anthropic_error_statuses(claude, word, exc, status, etype):
    with pytest.raises(exc) as info:
        claude.messages.create(model="claude-haiku-4-5-20251001", max_tokens=10, messages=[{"role": "user", "content": word}])
    assert info.value.status_code == status
    assert info.value.body["type"] == "error" and info.value.body["error"]["type"] == etype
    with pytest.raises(exc):
        with claude.messages.stream(model="claude-haiku-4-5-20251001", max_tokens=10, messages=[{"role": "user", "content": word}]) as s:
            s.get_final_message()


def test_error_forced_by_header_and_responses_and_embeddings(oai):
    with pytest.raises(openai.RateLimitError):
        oai.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "innocent"}], extra_headers={"x-llm-behaviors": "ratelimit"}
        )
    with pytest.raises(openai.InternalServerError):
        oai.responses.create(model="gpt-4o-mini", input="trigger an error")
    with pytest.raises(openai.InternalServerError):
        oai.embeddings.create(model="text-embedding-3-small", input="error")


def test_openai_broken_stream(oai):
    received = []
    with pytest.raises((openai.APIConnectionError, *STREAM_ERRORS)):
        for chunk in oai.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "this stream is broken"}], stream=True
        ):
            received.append(chunk)
    assert 1 <= len(received) <= 3  # a few chunks arrive, then the connection drops
    with pytest.raises(openai.APIConnectionError):
        oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "broken"}])


def test_anthropic_broken_stream(claude):
    received = []
    with pytest.raises((anthropic.APIConnectionError, *STREAM_ERRORS)), claude.messages.stream(
        model="claude-haiku-4-5-20251001", max_tokens=50, messages=[{"role": "user", "content": "broken please"}]
    ) as stream:
        for event in stream:
            received.append(event.type)
    assert received[:2] == ["message_start", "content_block_start"]
    assert "message_stop" not in received


def test_malformed_json(oai, claude):
    with pytest.raises(json.JSONDecodeError):
        oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "malformed"}])
    with pytest.raises(json.JSONDecodeError):
        list(oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "malformed"}], stream=True))
    with pytest.raises(json.JSONDecodeError):
        claude.messages.create(model="claude-haiku-4-5-20251001", max_tokens=10, messages=[{"role": "user", "content": "malformed"}])
    with pytest.raises(json.JSONDecodeError):
        list(claude.messages.create(model="claude-haiku-4-5-20251001", max_tokens=10, messages=[{"role": "user", "content": "malformed"}], stream=True))


def test_nousage(oai, claude):
    r = oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "nousage"}])
    assert r.usage is None and r.choices[0].message.content
    chunks = list(
        oai.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "nousage"}], stream=True, stream_options={"include_usage": True}
        )
    )
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    assert oai.responses.create(model="gpt-4o-mini", input="nousage").usage is None
    raw = claude.messages.with_raw_response.create(
        model="claude-haiku-4-5-20251001", max_tokens=10, messages=[{"role": "user", "content": "nousage"}]
    )
    assert "usage" not in json.loads(raw.http_response.content)


def test_slow_triggers_timeouts(oai, claude):
    t0 = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        oai.with_options(timeout=0.2).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "slow"}])
    with pytest.raises(anthropic.APITimeoutError):
        claude.with_options(timeout=0.2).messages.create(
            model="claude-haiku-4-5-20251001", max_tokens=5, messages=[{"role": "user", "content": "slow"}]
        )
    assert time.monotonic() - t0 < 1.5


def test_latency_headers(oai):
    t0 = time.monotonic()
    oai.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers={"x-llm-latency-ms": "150"}
    )
    assert time.monotonic() - t0 >= 0.15
    t0 = time.monotonic()
    stream = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        extra_headers={"x-llm-ttft-ms": "120", "x-llm-chunk-delay-ms": "10"},
    )
    first = next(iter(stream))
    ttft = time.monotonic() - t0
    rest = list(stream)
    total = time.monotonic() - t0
    assert first.choices[0].delta.role == "assistant"
    assert ttft >= 0.12
    assert total >= 0.12 + 0.01 * len(rest)  # one delay between each of the frames ([DONE] included)


def test_server_level_timing():
    with LocalLLMServer(ttft_ms=100, chunk_delay_ms=5, latency_ms=80) as srv:
        client = openai.OpenAI(base_url=srv.openai_base_url, api_key="x", max_retries=0)
        t0 = time.monotonic()
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert time.monotonic() - t0 >= 0.08
        t0 = time.monotonic()
        chunks = list(client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True))
        assert time.monotonic() - t0 >= 0.1 + 0.005 * (len(chunks) - 1)
        client.close()


# ---------------------------------------------------------------------------
# in-process transports
# ---------------------------------------------------------------------------

IDENTICAL_REQUESTS = [
    ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "same bytes"}]}),
    (
        "/v1/chat/completions",
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "weather Oslo"}], "tools": [WEATHER_TOOL], "stream": True, "stream_options": {"include_usage": True}},
    ),
    ("/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a", "b"], "encoding_format": "base64"}),
    ("/v1/responses", {"model": "gpt-4o-mini", "input": "same bytes", "stream": True}),
    ("/v1/responses", {"model": "o4-mini", "input": "same bytes"}),
    ("/v1/messages", {"model": "claude-haiku-4-5-20251001", "max_tokens": 50, "messages": [{"role": "user", "content": "same"}], "stream": True}),
    ("/v1/messages", {"model": "claude-haiku-4-5-20251001", "max_tokens": 50, "messages": [{"role": "user", "content": "error"}]}),
    ("/v1/models", None),
]


def test_transport_returns_identical_bodies():
    fixed = 1_700_000_000
    with LocalLLMServer(fixed_time=fixed) as srv, httpx.Client(base_url=srv.base_url) as real, httpx.Client(
        base_url="http://local", transport=LocalLLMTransport(fixed_time=fixed)
    ) as local:
        for path, body in IDENTICAL_REQUESTS:
            if body is None:
                a, b = real.get(path), local.get(path)
            else:
                a, b = real.post(path, json=body), local.post(path, json=body)
            assert a.status_code == b.status_code
            assert a.content == b.content, path
            assert a.headers["content-type"] == b.headers["content-type"]
            assert a.headers["x-request-id"] == b.headers["x-request-id"]


def test_transport_with_sdks():
    client = openai.OpenAI(
        base_url="http://local/v1", api_key="x", max_retries=0, http_client=httpx.Client(transport=LocalLLMTransport())
    )
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "via transport"}], stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == expected_reply("gpt-4o-mini", "via transport")
    assert chunks[-1].usage.completion_tokens == 10
    assert len(client.embeddings.create(model="text-embedding-3-small", input="x", dimensions=3).data[0].embedding) == 3
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "error"}])
    received = []
    with pytest.raises((openai.APIConnectionError, *STREAM_ERRORS)):
        for c in client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "broken"}], stream=True):
            received.append(c)
    assert len(received) >= 1
    t0 = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.5).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "slow"}])
    assert time.monotonic() - t0 < 0.5  # simulated, not slept

    claude = anthropic.Anthropic(
        base_url="http://local", api_key="x", max_retries=0, http_client=httpx2.Client(transport=LocalLLMTransport2())
    )
    with claude.messages.stream(
        model="claude-haiku-4-5-20251001", max_tokens=100, tools=[ANTHROPIC_WEATHER], messages=[{"role": "user", "content": "weather Oslo"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.content[1].input == {"city": "Oslo", "unit": "celsius"}


async def test_async_transports():
    client = openai.AsyncOpenAI(
        base_url="http://local/v1", api_key="x", max_retries=0, http_client=httpx.AsyncClient(transport=AsyncLocalLLMTransport())
    )
    async with client.responses.stream(model="gpt-4o-mini", input="async transport") as stream:
        final = await stream.get_final_response()
    assert final.output_text == expected_reply("gpt-4o-mini", "async transport")
    claude = anthropic.AsyncAnthropic(
        base_url="http://local", api_key="x", max_retries=0, http_client=httpx2.AsyncClient(transport=AsyncLocalLLMTransport2())
    )
    m = await claude.messages.create(model="claude-haiku-4-5-20251001", max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    assert m.content[0].text == expected_reply("claude-haiku-4-5-20251001", "hi")
    with pytest.raises(anthropic.APIConnectionError):
        await claude.messages.create(model="claude-haiku-4-5-20251001", max_tokens=20, messages=[{"role": "user", "content": "broken"}])
    await client.close()
    await claude.close()


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------


def test_cli_runs_until_sigterm():
    import llm_otel_tools.local_llm as pkg

    package_root = Path(pkg.__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(package_root), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "llm_otel_tools.local_llm", "--port", "0", "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        models = httpx.get(url + "/v1/models").json()
        assert models["object"] == "list"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------
# concurrency and the pure engine
# ---------------------------------------------------------------------------


def test_concurrent_requests_overlap(oai):
    from concurrent.futures import ThreadPoolExecutor

    def one(i):
        return oai.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"request {i}"}], extra_headers={"x-llm-latency-ms": "200"}
        ).choices[0].message.content

    t0 = time.monotonic()
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(one, range(10)))
    assert time.monotonic() - t0 < 1.0  # 10 x 200 ms served in parallel
    assert answers == [expected_reply("gpt-4o-mini", f"request {i}") for i in range(10)]


def test_pure_engine_functions():
    from llm_otel_tools.local_llm import engine

    req = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "pure call"}], "stream_options": {"include_usage": True}}
    body = engine.chat_completion(req, now=5)
    assert body["created"] == 5 and body["usage"]["completion_tokens"] == 10
    chunks = engine.chat_completion_chunks(req)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == body["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == body["usage"]
    events = engine.anthropic_events({"model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    assert [e["type"] for e in events][-2:] == ["message_delta", "message_stop"]
    assert events[-2]["delta"]["stop_reason"] == "max_tokens" and events[-2]["usage"]["output_tokens"] == 5
    reply = engine.handle("POST", "/v1/chat/completions", {}, b"not json")
    assert reply.status == 400 and reply.json()["error"]["type"] == "invalid_request_error"
    assert engine.handle("GET", "/v1/nope", {}, b"").status == 404
