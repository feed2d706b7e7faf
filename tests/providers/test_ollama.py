"""ollama through the instrumentor: chat/generate/embed, sync and AsyncClient, streaming, tools,
the module-level functions, errors, and self-hosted usage: counted, never priced."""

from __future__ import annotations

import json

import llm_otel
import llm_otel._semconv as sc
import ollama
import pytest
from llm_otel.instrumentors.ollama import OllamaInstrumentor
from opentelemetry.trace import StatusCode

MODEL = "llama3.2"


def _span(capture, operation=sc.OP_CHAT, model=MODEL):
    return capture.span(f"{operation} {model}")


def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
      city: the city
    """
    return "21C"


def test_chat_is_counted_but_unpriced(instrumented, ollama_client, llm_server):
    reply = ollama_client.chat(MODEL, [{"role": "user", "content": "What is OTLP exactly"}],  # positional, as often written
                               options={"temperature": 0.1, "top_k": 5, "num_predict": 50, "seed": 3, "stop": ["END"]})
    attrs = _span(instrumented).attributes
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_OLLAMA and attrs[sc.GEN_AI_REQUEST_MODEL] == MODEL
    assert attrs[sc.SERVER_ADDRESS] == "127.0.0.1" and attrs[sc.SERVER_PORT] == llm_server.port
    assert attrs[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.1 and attrs[sc.GEN_AI_REQUEST_TOP_K] == 5
    assert attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 50 and attrs[sc.GEN_AI_REQUEST_SEED] == 3
    assert attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == reply.prompt_eval_count == 4
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == reply.eval_count
    assert sc.LLM_OTEL_COST_USD not in attrs  # self-hosted: no price
    assert instrumented.metric_point(sc.METRIC_UNPRICED).value == 1
    assert instrumented.metric_point(sc.METRIC_TOKEN_USAGE, {sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT}).value == reply.eval_count
    assert instrumented.metric_points(sc.METRIC_INSTRUMENTATION_ERRORS) == []


def test_module_level_functions_are_instrumented(instrumented, llm_server, monkeypatch):
    monkeypatch.setattr(ollama._client, "_client", ollama.Client(host=llm_server.base_url)._client)  # the default client's HTTP
    ollama.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert _span(instrumented).attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0


def test_generate_and_its_stream(instrumented, ollama_client):
    instrumented.settings(capture="SPAN_ONLY")
    reply = ollama_client.generate(model=MODEL, prompt="hello there", system="Be brief.")
    text = "".join(part.response for part in ollama_client.generate(model=MODEL, prompt="hello there", stream=True))
    done, streamed = instrumented.spans_by_operation(sc.OP_TEXT_COMPLETION)
    assert done.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == reply.eval_count
    assert json.loads(done.attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": "Be brief."}]
    assert streamed.attributes[sc.GEN_AI_REQUEST_STREAM] is True and text == reply.response
    assert streamed.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == reply.eval_count  # from the final "done" part
    assert json.loads(streamed.attributes[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [{"type": "text", "content": text}]


def test_tool_calls_with_a_python_function(instrumented, ollama_client):
    instrumented.settings(capture="SPAN_ONLY")
    messages = [{"role": "user", "content": "What is the weather in Paris"}]
    reply = ollama_client.chat(model=MODEL, messages=messages, tools=[get_weather])
    call = reply.message.tool_calls[0]
    messages += [reply.message, {"role": "tool", "content": get_weather(**call.function.arguments), "tool_name": "get_weather"}]
    final = ollama_client.chat(model=MODEL, messages=messages, tools=[get_weather])
    first, second = instrumented.spans_by_operation(sc.OP_CHAT)
    parts = json.loads(first.attributes[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"]
    assert {"type": "tool_call", "id": None, "name": "get_weather", "arguments": {"city": "Paris"}} in parts
    assert json.loads(first.attributes[sc.GEN_AI_TOOL_DEFINITIONS]) == [{"type": "function", "name": "get_weather"}]
    assert json.loads(second.attributes[sc.GEN_AI_INPUT_MESSAGES])[-1]["parts"][0]["type"] == "tool_call_response"
    assert "21C" in final.message.content


async def test_async_client_chat_stream_and_embed(instrumented, async_ollama_client):
    reply = await async_ollama_client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    parts = [p async for p in await async_ollama_client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True)]
    embedded = await async_ollama_client.embed(model="nomic-embed-text", input=["one", "two words"])
    done, streamed = instrumented.spans_by_operation(sc.OP_CHAT)
    assert done.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == reply.eval_count
    assert streamed.attributes[sc.LLM_OTEL_STREAM_CHUNKS] == len(parts)
    assert streamed.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == parts[-1].eval_count
    attrs = _span(instrumented, sc.OP_EMBEDDINGS, "nomic-embed-text").attributes
    assert attrs[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(embedded.embeddings[0]) == 768
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == embedded.prompt_eval_count == 3


@pytest.mark.parametrize(("prompt", "status"), [("error please", 500), ("ratelimit", 429), ("overloaded", 503)])
def test_errors_keep_the_sdk_exception(instrumented, ollama_client, prompt, status):
    with pytest.raises(ollama.ResponseError) as caught:
        ollama_client.chat(model=MODEL, messages=[{"role": "user", "content": prompt}])
    assert caught.value.status_code == status
    span = _span(instrumented)
    assert span.status.status_code is StatusCode.ERROR and span.attributes[sc.ERROR_TYPE] == "ResponseError"


def test_duplicate_guard_merges_into_an_open_call(instrumented, ollama_client):
    with llm_otel.llm_call(provider=sc.PROVIDER_OLLAMA, model=MODEL) as call:
        text = "".join(p.message.content for p in ollama_client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True))
    [span] = instrumented.spans
    assert call.output_text == text and span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1


def test_uninstrument_restores_the_sdk(otel_capture, ollama_client):
    originals = {(c, m): c.__dict__[m] for c in (ollama.Client, ollama.AsyncClient) for m in ("chat", "generate", "embed")}
    OllamaInstrumentor().instrument()
    OllamaInstrumentor().uninstrument()
    assert all(c.__dict__[m] is f for (c, m), f in originals.items())
    assert ollama.chat.__func__ is ollama.Client.__dict__["chat"]
    ollama_client.chat(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert otel_capture.spans == []
