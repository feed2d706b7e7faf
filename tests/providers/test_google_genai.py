"""google-genai through the instrumentor: Gemini Developer API and Vertex AI, sync/aio, streams,
chats, function calls, thinking and cached tokens, embeddings, errors, cost, content, the guard."""

from __future__ import annotations

import json

import llm_otel
import llm_otel._semconv as sc
import pytest
from google.genai import errors, types
from llm_otel.instrumentors.google_genai import GoogleGenAIInstrumentor
from opentelemetry.trace import StatusCode

FLASH = "gemini-2.0-flash"  # genai-prices: $0.10 / $0.40 per million input / output tokens
THINKING = "gemini-2.5-flash"  # thinks; $0.30 / $2.50, cached input $0.03
LONG_SYSTEM = "You are a careful assistant. " * 20  # long enough for the server to report it cached
WEATHER = types.Tool(function_declarations=[types.FunctionDeclaration(
    name="get_weather", description="Current weather", parameters={"type": "OBJECT", "properties": {"city": {"type": "STRING"}}})])


def _span(capture, model=FLASH, operation=sc.OP_GENERATE_CONTENT):
    return capture.span(f"{operation} {model}")


def test_generate_content_span_usage_and_cost(instrumented, gemini_client, llm_server):
    reply = gemini_client.models.generate_content(
        model=FLASH, contents="What is OTLP exactly",
        config=types.GenerateContentConfig(temperature=0.2, top_p=0.9, top_k=20, max_output_tokens=50, seed=7,
                                           stop_sequences=["END"], response_mime_type="application/json"))
    attrs = _span(instrumented).attributes
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_GCP_GEMINI
    assert attrs[sc.GEN_AI_OPERATION_NAME] == sc.OP_GENERATE_CONTENT
    assert attrs[sc.SERVER_ADDRESS] == "127.0.0.1" and attrs[sc.SERVER_PORT] == llm_server.port
    assert attrs[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.2 and attrs[sc.GEN_AI_REQUEST_TOP_P] == 0.9
    assert attrs[sc.GEN_AI_REQUEST_TOP_K] == 20 and attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 50
    assert attrs[sc.GEN_AI_REQUEST_SEED] == 7 and attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert attrs[sc.GEN_AI_OUTPUT_TYPE] == "json"
    assert attrs[sc.GEN_AI_RESPONSE_ID] == reply.response_id
    assert attrs[sc.GEN_AI_RESPONSE_MODEL] == reply.model_version
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    usage = reply.usage_metadata
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == usage.prompt_token_count == 4
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == usage.candidates_token_count
    assert attrs[sc.LLM_OTEL_COST_USD] == pytest.approx((4 * 0.10 + usage.candidates_token_count * 0.40) / 1e6)
    assert instrumented.metric_point(sc.METRIC_RESPONSE_LENGTH).value == len(reply.text)
    assert sc.GEN_AI_INPUT_MESSAGES not in attrs  # content off by default
    assert instrumented.metric_points(sc.METRIC_INSTRUMENTATION_ERRORS) == []


def test_thinking_and_cached_tokens(instrumented, gemini_client):
    reply = gemini_client.models.generate_content(
        model=THINKING, contents="explain the collector",
        config=types.GenerateContentConfig(system_instruction=LONG_SYSTEM))
    usage = reply.usage_metadata
    assert usage.thoughts_token_count > 0 and usage.cached_content_token_count > 0
    attrs = _span(instrumented, THINKING).attributes
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == usage.prompt_token_count  # cached included, as Gemini counts
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == usage.cached_content_token_count
    assert attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == usage.thoughts_token_count
    output = usage.candidates_token_count + usage.thoughts_token_count  # thinking is billed as output
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == output
    uncached = usage.prompt_token_count - usage.cached_content_token_count
    expected = (uncached * 0.30 + usage.cached_content_token_count * 0.03 + output * 2.50) / 1e6
    assert attrs[sc.LLM_OTEL_COST_USD] == pytest.approx(expected)


async def test_aio_generate_content_and_vertex_provider(instrumented, vertex_client):
    reply = await vertex_client.aio.models.generate_content(model=FLASH, contents="hello")
    attrs = _span(instrumented).attributes
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_GCP_VERTEX_AI
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == reply.usage_metadata.candidates_token_count
    assert attrs[sc.LLM_OTEL_COST_USD] > 0  # Vertex model ids resolve to the same prices


def test_function_call_round_trip_in_content(instrumented, gemini_client):
    instrumented.settings(capture="SPAN_ONLY")
    config = types.GenerateContentConfig(tools=[WEATHER], system_instruction="Be brief.")
    first = gemini_client.models.generate_content(model=FLASH, contents="weather in Paris?", config=config)
    call = first.function_calls[0]
    assert call.name == "get_weather" and call.args == {"city": "Paris"}
    history = [types.Content(role="user", parts=[types.Part(text="weather in Paris?")]), first.candidates[0].content,
               types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather", response={"temp": "21C"})])]
    second = gemini_client.models.generate_content(model=FLASH, contents=history, config=config)
    spans = instrumented.spans_by_operation(sc.OP_GENERATE_CONTENT)
    out = json.loads(spans[0].attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert out == [{"role": "assistant", "finish_reason": "stop",
                    "parts": [{"type": "tool_call", "id": None, "name": "get_weather", "arguments": {"city": "Paris"}}]}]
    assert json.loads(spans[0].attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(spans[0].attributes[sc.GEN_AI_TOOL_DEFINITIONS]) == [{"type": "function", "name": "get_weather"}]
    inputs = json.loads(spans[1].attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert inputs[1]["role"] == "assistant" and inputs[1]["parts"][0]["type"] == "tool_call"
    assert inputs[2] == {"role": "tool", "parts": [{"type": "tool_call_response", "id": "get_weather", "response": {"temp": "21C"}}]}
    assert "21C" in second.text


def test_stream_fills_usage_and_content(instrumented, gemini_client):
    instrumented.settings(capture="SPAN_ONLY")
    text = "".join(chunk.text for chunk in gemini_client.models.generate_content_stream(model=FLASH, contents="hello there"))
    span = _span(instrumented)
    assert span.attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert span.attributes[sc.LLM_OTEL_STREAM_CHUNKS] == span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == len(text.split())
    out = json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert out == [{"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "stop"}]
    assert json.loads(span.attributes[sc.GEN_AI_INPUT_MESSAGES]) == [{"role": "user", "parts": [{"type": "text", "content": "hello there"}]}]


def test_chats_record_one_span_per_turn(instrumented, gemini_client):
    chat = gemini_client.chats.create(model=FLASH)
    chat.send_message("first question")
    "".join(c.text for c in chat.send_message_stream("second question"))
    spans = instrumented.spans_by_operation(sc.OP_GENERATE_CONTENT)
    assert [s.attributes.get(sc.GEN_AI_REQUEST_STREAM) for s in spans] == [None, True]
    assert spans[1].attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] > spans[0].attributes[sc.GEN_AI_USAGE_INPUT_TOKENS]  # history


@pytest.mark.parametrize("client_name", ["gemini_client", "vertex_client"])
def test_embed_content(instrumented, request, client_name):
    client = request.getfixturevalue(client_name)
    reply = client.models.embed_content(model="text-embedding-004", contents=["a first text", "a second"],
                                        config=types.EmbedContentConfig(output_dimensionality=64))
    attrs = _span(instrumented, "text-embedding-004", sc.OP_EMBEDDINGS).attributes
    assert attrs[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(reply.embeddings[0].values) == 64
    if client_name == "vertex_client":  # Vertex reports tokens per text; the Gemini API reports none
        assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5
    else:
        assert sc.GEN_AI_USAGE_INPUT_TOKENS not in attrs


async def test_aio_embed_content(instrumented, gemini_client):
    await gemini_client.aio.models.embed_content(model="text-embedding-004", contents="hello")
    assert _span(instrumented, "text-embedding-004", sc.OP_EMBEDDINGS).attributes[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 768


@pytest.mark.parametrize(("prompt", "exc_type", "code"), [
    ("error please", errors.ServerError, 500), ("ratelimit", errors.ClientError, 429), ("overloaded", errors.ServerError, 503)])
def test_errors_keep_the_sdk_exception(instrumented, gemini_client, prompt, exc_type, code):
    with pytest.raises(exc_type) as caught:
        gemini_client.models.generate_content(model=FLASH, contents=prompt)
    assert caught.value.code == code
    span = _span(instrumented)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == exc_type.__qualname__


def test_stream_error_raised_on_iteration(instrumented, gemini_client):
    stream = gemini_client.models.generate_content_stream(model=FLASH, contents="ratelimit")
    with pytest.raises(errors.ClientError):
        next(stream)
    assert _span(instrumented).attributes[sc.ERROR_TYPE] == "ClientError"


def test_duplicate_guard_merges_into_an_open_call(instrumented, gemini_client):
    with llm_otel.llm_call(provider=sc.PROVIDER_GCP_GEMINI, model=FLASH, operation=sc.OP_GENERATE_CONTENT) as call:
        reply = gemini_client.models.generate_content(model=FLASH, contents="hi")
    with llm_otel.llm_call(provider=sc.PROVIDER_GCP_GEMINI, model=FLASH, operation=sc.OP_GENERATE_CONTENT) as streamed:
        text = "".join(c.text for c in gemini_client.models.generate_content_stream(model=FLASH, contents="hi"))
    first, second = instrumented.spans  # one span per call, not two
    assert call.output_tokens == reply.usage_metadata.candidates_token_count
    assert first.attributes[sc.GEN_AI_RESPONSE_ID] == reply.response_id
    assert streamed.output_text == text and second.attributes[sc.LLM_OTEL_STREAM_CHUNKS] == len(text.split())
    assert instrumented.metric_point(sc.METRIC_OPERATION_DURATION).count == 2


def test_uninstrument_restores_the_sdk(otel_capture, gemini_client):
    from google.genai.models import AsyncModels, Models

    names = ("generate_content", "generate_content_stream", "embed_content")
    originals = {(c, m): c.__dict__[m] for c in (Models, AsyncModels) for m in names}
    GoogleGenAIInstrumentor().instrument()
    GoogleGenAIInstrumentor().uninstrument()
    assert all(c.__dict__[m] is f for (c, m), f in originals.items())
    gemini_client.models.generate_content(model=FLASH, contents="hi")
    assert otel_capture.spans == []
