"""OpenAI SDK through the instrumentor: chat, tools, embeddings, Responses, raw responses, errors."""

from __future__ import annotations

import json
import socket

import llm_otel
import openai
import pytest
from llm_otel.instrumentors.openai import OpenAIInstrumentor
from opentelemetry.trace import SpanKind, StatusCode

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_chat_completion_span_metrics_and_cost(instrumented, openai_client, llm_server):
    reply = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "What is OTLP exactly"}],
        temperature=0.3, max_tokens=50, top_p=0.8, seed=3, stop=["END"], n=2, frequency_penalty=0.1,
        presence_penalty=0.2, response_format={"type": "json_object"}, service_tier="auto",
    )
    span = instrumented.span("chat gpt-4o-mini")
    attrs = span.attributes
    assert span.kind is SpanKind.CLIENT
    assert attrs["server.address"] == "127.0.0.1" and attrs["server.port"] == llm_server.port
    assert attrs["gen_ai.request.temperature"] == 0.3 and attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.request.top_p"] == 0.8 and attrs["gen_ai.request.seed"] == 3
    assert attrs["gen_ai.request.stop_sequences"] == ("END",) and attrs["gen_ai.request.choice.count"] == 2
    assert attrs["gen_ai.request.frequency_penalty"] == 0.1 and attrs["gen_ai.request.presence_penalty"] == 0.2
    assert attrs["gen_ai.output.type"] == "json"
    assert attrs["openai.request.service_tier"] == "auto"
    assert attrs["gen_ai.response.id"] == reply.id
    assert attrs["gen_ai.response.model"] == reply.model == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop", "stop")
    assert attrs["gen_ai.usage.input_tokens"] == reply.usage.prompt_tokens == 4
    assert attrs["gen_ai.usage.output_tokens"] == reply.usage.completion_tokens
    assert attrs["openai.response.system_fingerprint"] == reply.system_fingerprint
    expected_cost = (reply.usage.prompt_tokens * 0.15 + reply.usage.completion_tokens * 0.6) / 1e6
    assert attrs["llm_otel.cost.usd"] == pytest.approx(expected_cost)
    assert instrumented.metric_point("llm_otel.client.cost").value == pytest.approx(expected_cost)
    assert instrumented.metric_point("llm_otel.client.response.length").value == len(reply.choices[0].message.content)
    assert "gen_ai.input.messages" not in attrs  # content off by default


async def test_async_chat_completion(instrumented, async_openai_client):
    reply = await async_openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    span = instrumented.span("chat gpt-4o-mini")
    assert span.attributes["gen_ai.usage.output_tokens"] == reply.usage.completion_tokens


def test_tool_calls_finish_reason_and_content_parts(instrumented, openai_client):
    instrumented.settings(capture="SPAN_ONLY")
    messages = [{"role": "user", "content": "What is the weather in Paris"}]
    first = openai_client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "21C and sunny"}]
    second = openai_client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL])
    spans = instrumented.spans_by_operation("chat")
    assert [s.attributes["gen_ai.response.finish_reasons"] for s in spans] == [("tool_calls",), ("stop",)]
    out = json.loads(spans[0].attributes["gen_ai.output.messages"])
    assert out[0]["parts"] == [{"type": "tool_call", "id": call.id, "name": "get_weather", "arguments": json.loads(call.function.arguments)}]
    assert out[0]["finish_reason"] == "tool_call"  # the conventions enum, not the provider value
    inputs = json.loads(spans[1].attributes["gen_ai.input.messages"])
    assert inputs[-1] == {"role": "tool", "parts": [{"type": "tool_call_response", "id": call.id, "response": "21C and sunny"}]}
    # the conventions' shape (not OpenAI's nested "function"); description and parameters only when asked for
    assert json.loads(spans[0].attributes["gen_ai.tool.definitions"]) == [{"type": "function", "name": "get_weather"}]
    assert "21C" in second.choices[0].message.content


def test_streamed_tool_calls_are_captured(instrumented, openai_client):
    instrumented.settings(capture="SPAN_ONLY")
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "weather in Oslo"}], tools=[WEATHER_TOOL], stream=True)
    list(stream)
    span = instrumented.span("chat gpt-4o-mini")
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    [message] = json.loads(span.attributes["gen_ai.output.messages"])
    [part] = message["parts"]
    assert part["type"] == "tool_call" and part["name"] == "get_weather" and isinstance(part["arguments"], dict)  # parsed: the schema wants an object


def test_embeddings(instrumented, openai_client):
    result = openai_client.embeddings.create(model="text-embedding-3-small", input=["one two", "three"], dimensions=64)
    span = instrumented.span("embeddings text-embedding-3-small")
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens == 3
    assert span.attributes["gen_ai.embeddings.dimension.count"] == len(result.data[0].embedding) == 64
    point = instrumented.metric_point("gen_ai.client.token.usage", {"gen_ai.operation.name": "embeddings"})
    assert point.value == 3
    assert instrumented.metric_points("gen_ai.client.token.usage", {"gen_ai.token.type": "output"}) == []


def test_responses_api(instrumented, openai_client):
    instrumented.settings(capture="SPAN_ONLY")
    response = openai_client.responses.create(model="gpt-4o-mini", input="Explain spans briefly", instructions="Be brief.",
                                              max_output_tokens=80)
    span = instrumented.span("chat gpt-4o-mini")
    assert span.attributes["gen_ai.response.id"] == response.id
    assert span.attributes["gen_ai.usage.input_tokens"] == response.usage.input_tokens
    assert span.attributes["gen_ai.usage.output_tokens"] == response.usage.output_tokens
    assert span.attributes["gen_ai.request.max_tokens"] == 80
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert json.loads(span.attributes["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
    out = json.loads(span.attributes["gen_ai.output.messages"])
    assert out[0]["parts"][0]["content"] == response.output_text


def test_responses_api_function_call(instrumented, openai_client):
    tool = {"type": "function", "name": "get_weather", "description": "weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
    openai_client.responses.create(model="gpt-4o-mini", input="weather in Rome", tools=[tool])
    assert instrumented.span("chat gpt-4o-mini").attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)


def test_with_raw_response(instrumented, openai_client):
    raw = openai_client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    completion = raw.parse()
    assert raw.headers.get("x-request-id")
    span = instrumented.span("chat gpt-4o-mini")
    assert span.attributes["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    assert span.attributes["gen_ai.response.id"] == completion.id


def test_include_usage_is_opt_in_for_streams(instrumented, openai_client, llm_server):
    llm_server.clear_requests()
    list(openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert "stream_options" not in llm_server.requests[-1].json()
    no_usage = instrumented.span("chat gpt-4o-mini")
    assert "gen_ai.usage.output_tokens" not in no_usage.attributes  # not guessed
    assert instrumented.metric_points("gen_ai.client.token.usage") == []

    instrumented.clear()
    instrumented.settings(openai_include_usage=True)
    list(openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert llm_server.requests[-1].json()["stream_options"] == {"include_usage": True}
    with_usage = [s for s in instrumented.spans if "gen_ai.usage.output_tokens" in s.attributes]
    assert len(with_usage) == 1 and with_usage[0].attributes["llm_otel.cost.usd"] > 0


@pytest.mark.parametrize(
    ("prompt", "exc_type"),
    [("this is an error", openai.InternalServerError), ("ratelimit me", openai.RateLimitError),
     ("overloaded now", openai.InternalServerError)],
)
def test_http_errors_reach_the_caller_unchanged(instrumented, openai_client, prompt, exc_type):
    with pytest.raises(exc_type) as caught:
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
    span = instrumented.span("chat gpt-4o-mini")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(caught.value).__qualname__
    assert instrumented.metric_point("gen_ai.client.operation.duration").attributes["error.type"] == type(caught.value).__qualname__
    assert [e.name for e in span.events] == ["exception"]


def test_timeout_and_connection_errors(instrumented, llm_server):
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="x", max_retries=0, timeout=0.2)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "be slow"}])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    dead = openai.OpenAI(base_url=f"http://127.0.0.1:{dead_port}/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        dead.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    errors = sorted(s.attributes["error.type"] for s in instrumented.spans)
    assert errors == ["APIConnectionError", "APITimeoutError"]
    assert {s.attributes["server.port"] for s in instrumented.spans} == {llm_server.port, dead_port}


def test_malformed_and_usage_less_responses_degrade_cleanly(instrumented, openai_client):
    with pytest.raises(ValueError):  # json.JSONDecodeError from the SDK, unchanged
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "malformed"}])
    reply = openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "nousage please"}])
    assert reply.usage is None
    spans = instrumented.spans
    assert spans[0].status.status_code is StatusCode.ERROR
    assert "gen_ai.usage.input_tokens" not in spans[1].attributes and spans[1].status.status_code is StatusCode.UNSET
    assert instrumented.metric_points("gen_ai.client.token.usage") == []
    assert instrumented.metric_points("llm_otel.instrumentation.errors") == []


def test_openai_compatible_server_is_labelled_by_where_it_is(instrumented, llm_server):
    client = openai.OpenAI(base_url=f"http://localhost:{llm_server.port}/v1", api_key="x", max_retries=0)
    client.chat.completions.create(model="llama3", messages=[{"role": "user", "content": "hi"}])
    attrs = instrumented.span("chat llama3").attributes
    assert (attrs["server.address"], attrs["server.port"]) == ("localhost", llm_server.port)
    assert instrumented.metric_point("llm_otel.client.unpriced").value == 1


def test_uninstrument_restores_the_sdk_exactly(otel_capture, openai_client):
    from openai.resources.chat.completions.completions import AsyncCompletions, Completions
    from openai.resources.embeddings import Embeddings
    from openai.resources.responses.responses import Responses

    originals = {c: c.__dict__["create"] for c in (Completions, AsyncCompletions, Embeddings, Responses)}
    OpenAIInstrumentor().instrument()
    assert all(c.__dict__["create"] is not f for c, f in originals.items())
    OpenAIInstrumentor().uninstrument()
    assert all(c.__dict__["create"] is f for c, f in originals.items())
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert otel_capture.spans == []


def test_instrumentation_failure_never_breaks_the_call(instrumented, openai_client):
    from llm_otel.instrumentors import openai as openai_instrumentor

    def broken_fill(inv, response):
        raise RuntimeError("translator bug")

    translator = openai_instrumentor.TRANSLATORS["chat"]
    object.__setattr__(translator, "fill", broken_fill)
    try:
        reply = openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    finally:
        object.__setattr__(translator, "fill", openai_instrumentor._fill_chat)
    assert reply.choices[0].message.content
    assert instrumented.span("chat gpt-4o-mini")  # still ended
    point = instrumented.metric_point("llm_otel.instrumentation.errors")
    assert point.attributes == {"llm_otel.error.stage": "response"} and point.value == 1


def test_manual_workflow_around_sdk_calls_nests(instrumented, openai_client):
    with llm_otel.workflow("rag"):
        with llm_otel.retrieval(data_source="kb") as r:
            r.documents = [("d1", 0.9)]
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    instrumented.assert_parent_chain("chat gpt-4o-mini", ["invoke_workflow rag"])
