"""cohere v2 through the instrumentor: chat/chat_stream (sync and async), tool calls, cached
tokens, embed, rerank as a retrieval, errors, cost, content, the duplicate guard."""

from __future__ import annotations

import json

import cohere
import llm_otel
import llm_otel._semconv as sc
import pytest
from llm_otel.instrumentors.cohere import CohereInstrumentor
from opentelemetry.trace import StatusCode

MODEL = "command-r-plus"  # genai-prices: $2.50 / $10 per million input / output tokens
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Current weather",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
LONG_SYSTEM = "You are a careful assistant. " * 20


def _span(capture, model=MODEL, operation=sc.OP_CHAT):
    return capture.span(f"{operation} {model}")


def test_chat_span_usage_and_cost(instrumented, cohere_client, llm_server):
    reply = cohere_client.chat(model=MODEL, messages=[{"role": "user", "content": "What is OTLP exactly"}],
                               temperature=0.3, max_tokens=40, p=0.8, k=10, seed=4, stop_sequences=["END"])
    attrs = _span(instrumented).attributes
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_COHERE
    assert attrs[sc.SERVER_ADDRESS] == "127.0.0.1" and attrs[sc.SERVER_PORT] == llm_server.port
    assert attrs[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.3 and attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 40
    assert attrs[sc.GEN_AI_REQUEST_TOP_P] == 0.8 and attrs[sc.GEN_AI_REQUEST_TOP_K] == 10
    assert attrs[sc.GEN_AI_REQUEST_SEED] == 4 and attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert attrs[sc.GEN_AI_RESPONSE_ID] == reply.id and attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("COMPLETE",)
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == reply.usage.tokens.input_tokens == 4
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == reply.usage.tokens.output_tokens
    assert attrs[sc.LLM_OTEL_COST_USD] == pytest.approx((4 * 2.5 + reply.usage.tokens.output_tokens * 10) / 1e6)
    assert instrumented.metric_point(sc.METRIC_RESPONSE_LENGTH).value == len(reply.message.content[0].text)
    assert sc.GEN_AI_INPUT_MESSAGES not in attrs
    assert instrumented.metric_points(sc.METRIC_INSTRUMENTATION_ERRORS) == []


def test_cached_tokens(instrumented, cohere_client):
    reply = cohere_client.chat(model=MODEL, messages=[{"role": "system", "content": LONG_SYSTEM}, {"role": "user", "content": "hi"}])
    assert reply.usage.cached_tokens > 0
    assert _span(instrumented).attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == reply.usage.cached_tokens


def test_tool_calls_in_content_sync_and_streamed(instrumented, cohere_client):
    instrumented.settings(capture="SPAN_ONLY")
    messages = [{"role": "user", "content": "What is the weather in Paris"}]
    first = cohere_client.chat(model=MODEL, messages=messages, tools=[WEATHER])
    call = first.message.tool_calls[0]
    messages += [{"role": "assistant", "tool_plan": first.message.tool_plan, "tool_calls": [call.dict()]},
                 {"role": "tool", "tool_call_id": call.id, "content": "21C"}]
    cohere_client.chat(model=MODEL, messages=messages, tools=[WEATHER])
    events = list(cohere_client.chat_stream(model=MODEL, messages=messages[:1], tools=[WEATHER]))
    first_span, second_span, streamed = instrumented.spans_by_operation(sc.OP_CHAT)
    assert first_span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("TOOL_CALL",)
    tool_part = {"type": "tool_call", "id": call.id, "name": "get_weather", "arguments": json.loads(call.function.arguments)}
    assert json.loads(first_span.attributes[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [tool_part]
    assert json.loads(second_span.attributes[sc.GEN_AI_INPUT_MESSAGES])[-1] == {
        "role": "tool", "parts": [{"type": "tool_call_response", "id": call.id, "response": "21C"}]}
    [streamed_part] = json.loads(streamed.attributes[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"]
    started = next(e for e in events if e.type == "tool-call-start").delta.message.tool_calls
    assert streamed_part == {**tool_part, "id": started.id}
    assert streamed.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("TOOL_CALL",)


async def test_async_chat_and_stream(instrumented, async_cohere_client):
    reply = await async_cohere_client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    events = [e async for e in async_cohere_client.chat_stream(model=MODEL, messages=[{"role": "user", "content": "hello there"}])]
    done, streamed = instrumented.spans_by_operation(sc.OP_CHAT)
    assert done.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == reply.usage.tokens.output_tokens
    assert streamed.attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert streamed.attributes[sc.GEN_AI_RESPONSE_ID] == events[0].id
    assert streamed.attributes[sc.LLM_OTEL_STREAM_CHUNKS] == sum(e.type == "content-delta" for e in events)
    assert streamed.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == events[-1].delta.usage.tokens.output_tokens


def test_embed(instrumented, cohere_client):
    reply = cohere_client.embed(model="embed-english-v3.0", texts=["one text", "two more words"], input_type="search_document",
                                embedding_types=["float"])
    attrs = _span(instrumented, "embed-english-v3.0", sc.OP_EMBEDDINGS).attributes
    assert attrs[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(reply.embeddings.float_[0])
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == reply.meta.billed_units.input_tokens == 5
    assert attrs[sc.GEN_AI_REQUEST_ENCODING_FORMATS] == ("float",)


@pytest.mark.parametrize("capture", [None, "SPAN_ONLY"])
def test_rerank_is_a_retrieval(instrumented, cohere_client, capture):
    if capture:
        instrumented.settings(capture=capture)
    reply = cohere_client.rerank(model="rerank-v3.5", query="cats", documents=["dogs bark", "cats purr", "cats and dogs"], top_n=2)
    span = instrumented.span(f"{sc.OP_RETRIEVAL} rerank-v3.5")
    attrs = span.attributes
    assert attrs[sc.GEN_AI_OPERATION_NAME] == sc.OP_RETRIEVAL and attrs[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_COHERE
    assert attrs[sc.GEN_AI_DATA_SOURCE_ID] == "rerank-v3.5" and attrs[sc.GEN_AI_RETRIEVAL_TOP_K] == 2
    assert attrs[sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT] == len(reply.results) == 2
    assert instrumented.metric_points(sc.METRIC_TOKEN_USAGE) == []  # not an inference: no tokens, no cost
    if capture:
        assert attrs[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] == "cats"
        docs = json.loads(attrs[sc.GEN_AI_RETRIEVAL_DOCUMENTS])
        assert docs == [{"id": str(r.index), "score": r.relevance_score} for r in reply.results]
    else:
        assert sc.GEN_AI_RETRIEVAL_QUERY_TEXT not in attrs and sc.GEN_AI_RETRIEVAL_DOCUMENTS not in attrs


async def test_async_embed_and_rerank(instrumented, async_cohere_client):
    await async_cohere_client.embed(model="embed-english-v3.0", texts=["x"], input_type="search_query", embedding_types=["float"])
    await async_cohere_client.rerank(model="rerank-v3.5", query="q", documents=["a", "b"])
    assert _span(instrumented, "embed-english-v3.0", sc.OP_EMBEDDINGS).attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1
    assert instrumented.span(f"{sc.OP_RETRIEVAL} rerank-v3.5").attributes[sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT] == 2


@pytest.mark.parametrize(("prompt", "exc_type"), [("error please", cohere.InternalServerError),
                                                  ("ratelimit", cohere.TooManyRequestsError),
                                                  ("overloaded", cohere.ServiceUnavailableError)])
def test_errors_keep_the_sdk_exception(instrumented, cohere_client, prompt, exc_type):
    with pytest.raises(exc_type) as caught:
        cohere_client.chat(model=MODEL, messages=[{"role": "user", "content": prompt}])
    span = _span(instrumented)
    assert span.status.status_code is StatusCode.ERROR and span.attributes[sc.ERROR_TYPE] == type(caught.value).__qualname__


def test_rerank_error_ends_the_retrieval_span(instrumented, cohere_client):
    with pytest.raises(cohere.TooManyRequestsError):
        cohere_client.rerank(model="rerank-v3.5", query="ratelimit", documents=["a"])
    assert instrumented.span(f"{sc.OP_RETRIEVAL} rerank-v3.5").attributes[sc.ERROR_TYPE] == "TooManyRequestsError"


def test_duplicate_guard_merges_into_an_open_call(instrumented, cohere_client):
    with llm_otel.llm_call(provider=sc.PROVIDER_COHERE, model=MODEL) as call:
        text = "".join(e.delta.message.content.text for e in cohere_client.chat_stream(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]) if e.type == "content-delta")
    [span] = instrumented.spans
    assert call.output_text == text and span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1


def test_uninstrument_restores_the_sdk(otel_capture, llm_server):
    from cohere.v2.client import AsyncV2Client, V2Client

    names = ("chat", "chat_stream", "embed", "rerank")
    originals = {(c, m): c.__dict__[m] for c in (V2Client, AsyncV2Client) for m in names}
    CohereInstrumentor().instrument()
    CohereInstrumentor().uninstrument()
    assert all(c.__dict__[m] is f for (c, m), f in originals.items())
    cohere.ClientV2(api_key="k", base_url=llm_server.base_url, max_retries=0).chat(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert otel_capture.spans == []
