"""mistralai through the instrumentor: chat.complete/stream (sync and async), tool calls,
embeddings, errors, cost, content, the duplicate guard."""

from __future__ import annotations

import json

import llm_otel
import llm_otel._semconv as sc
import pytest
from llm_otel.instrumentors.mistralai import MistralAIInstrumentor
from mistralai.client import errors
from opentelemetry.trace import StatusCode

MODEL = "mistral-small-latest"  # genai-prices: $0.15 / $0.60 per million input / output tokens
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Current weather",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
LONG_SYSTEM = "You are a careful assistant. " * 20


def _span(capture, model=MODEL, operation=sc.OP_CHAT):
    return capture.span(f"{operation} {model}")


def test_chat_complete_span_usage_and_cost(instrumented, mistral_client, llm_server):
    reply = mistral_client.chat.complete(model=MODEL, messages=[{"role": "user", "content": "What is OTLP exactly"}],
                                         temperature=0.3, top_p=0.8, max_tokens=40, random_seed=5, stop=["END"])
    attrs = _span(instrumented).attributes
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_MISTRAL_AI
    assert attrs[sc.SERVER_ADDRESS] == "127.0.0.1" and attrs[sc.SERVER_PORT] == llm_server.port
    assert attrs[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.3 and attrs[sc.GEN_AI_REQUEST_TOP_P] == 0.8
    assert attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 40 and attrs[sc.GEN_AI_REQUEST_SEED] == 5
    assert attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert attrs[sc.GEN_AI_RESPONSE_ID] == reply.id and attrs[sc.GEN_AI_RESPONSE_MODEL] == reply.model
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == reply.usage.prompt_tokens == 4
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == reply.usage.completion_tokens
    assert attrs[sc.LLM_OTEL_COST_USD] == pytest.approx((4 * 0.15 + reply.usage.completion_tokens * 0.60) / 1e6)
    assert sc.GEN_AI_INPUT_MESSAGES not in attrs
    assert instrumented.metric_points(sc.METRIC_INSTRUMENTATION_ERRORS) == []


def test_cached_prompt_tokens(instrumented, mistral_client):
    reply = mistral_client.chat.complete(model=MODEL, messages=[{"role": "system", "content": LONG_SYSTEM},
                                                                {"role": "user", "content": "hi"}])
    cached = reply.usage.prompt_tokens_details["cached_tokens"]
    assert cached > 0
    assert _span(instrumented).attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == cached


async def test_async_complete_and_stream(instrumented, mistral_client):
    instrumented.settings(capture="SPAN_ONLY")
    reply = await mistral_client.chat.complete_async(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    stream = await mistral_client.chat.stream_async(model=MODEL, messages=[{"role": "user", "content": "hello there"}])
    text = "".join([event.data.choices[0].delta.content or "" async for event in stream if event.data.choices])
    done, streamed = instrumented.spans_by_operation(sc.OP_CHAT)
    assert done.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == reply.usage.completion_tokens
    assert streamed.attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert streamed.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == len(text.split())  # usage rides on the last chunk
    out = json.loads(streamed.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert out[0]["parts"] == [{"type": "text", "content": text}]


def test_tool_calls_in_content(instrumented, mistral_client):
    instrumented.settings(capture="SPAN_ONLY")
    messages = [{"role": "user", "content": "What is the weather in Paris"}]
    first = mistral_client.chat.complete(model=MODEL, messages=messages, tools=[WEATHER])
    call = first.choices[0].message.tool_calls[0]
    messages += [{"role": "assistant", "content": "", "tool_calls": [call.model_dump()]},
                 {"role": "tool", "tool_call_id": call.id, "name": "get_weather", "content": "21C"}]
    mistral_client.chat.complete(model=MODEL, messages=messages, tools=[WEATHER])
    with mistral_client.chat.stream(model=MODEL, messages=messages[:1], tools=[WEATHER]) as stream:
        for _ in stream:
            pass
    first_span, second_span, streamed = instrumented.spans_by_operation(sc.OP_CHAT)
    assert first_span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    tool_part = {"type": "tool_call", "id": call.id, "name": "get_weather", "arguments": json.loads(call.function.arguments)}
    assert json.loads(first_span.attributes[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [tool_part]
    inputs = json.loads(second_span.attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert inputs[-1]["role"] == "tool" and inputs[-1]["parts"][0]["id"] == call.id
    [streamed_part] = json.loads(streamed.attributes[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"]
    assert streamed_part == {**tool_part, "id": streamed_part["id"]} and streamed_part["id"].startswith("call_")
    assert streamed.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)


def test_embeddings(instrumented, mistral_client):
    reply = mistral_client.embeddings.create(model="mistral-embed", inputs=["one text", "another text here"])
    attrs = _span(instrumented, "mistral-embed", sc.OP_EMBEDDINGS).attributes
    assert attrs[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(reply.data[0].embedding)
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == reply.usage.prompt_tokens == 5
    assert sc.GEN_AI_USAGE_OUTPUT_TOKENS not in attrs  # embeddings have no output tokens


async def test_async_embeddings(instrumented, mistral_client):
    await mistral_client.embeddings.create_async(model="mistral-embed", inputs="hello")
    assert _span(instrumented, "mistral-embed", sc.OP_EMBEDDINGS).attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1


@pytest.mark.parametrize(("prompt", "status"), [("error please", 500), ("ratelimit", 429), ("overloaded", 503)])
def test_errors_keep_the_sdk_exception(instrumented, mistral_client, prompt, status):
    with pytest.raises(errors.SDKError) as caught:
        mistral_client.chat.complete(model=MODEL, messages=[{"role": "user", "content": prompt}])
    assert caught.value.status_code == status
    span = _span(instrumented)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == type(caught.value).__qualname__


def test_duplicate_guard_merges_into_an_open_call(instrumented, mistral_client):
    with llm_otel.llm_call(provider=sc.PROVIDER_MISTRAL_AI, model=MODEL) as call:
        reply = mistral_client.chat.complete(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    [span] = instrumented.spans
    assert call.output_tokens == reply.usage.completion_tokens and span.attributes[sc.GEN_AI_RESPONSE_ID] == reply.id


def test_uninstrument_restores_the_sdk(otel_capture, mistral_client):
    from mistralai.client.chat import Chat

    originals = {m: Chat.__dict__[m] for m in ("complete", "stream", "complete_async", "stream_async")}
    MistralAIInstrumentor().instrument()
    MistralAIInstrumentor().uninstrument()
    assert all(Chat.__dict__[m] is f for m, f in originals.items())
    mistral_client.chat.complete(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert otel_capture.spans == []
