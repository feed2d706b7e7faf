"""The stream contract, as ONE matrix every streaming path runs through.

For each path (OpenAI chat sync/async, OpenAI Responses sync, Anthropic messages
sync/async, Anthropic ``messages.stream()`` sync/async, Bedrock ConverseStream and
InvokeModelWithResponseStream, Groq sync/async, LiteLLM sync/async; google-genai ``generate_content_stream``
sync/aio, Mistral ``chat.stream``/``stream_async``, Ollama ``chat(stream=True)`` sync/async and
``generate``, Cohere ``chat_stream`` sync/async) the span ends exactly once, with
what was seen, when the stream is: fully consumed; broken off and closed; left early
from a ``with`` block; failed mid-stream by the server; failed by the consumer's own
code; cancelled (async paths); dropped unconsumed and garbage-collected.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import litellm
import ollama
import pytest
from google.genai import types as genai_types
from llm_otel.instrumentors.litellm import LiteLLMInstrumentor
from opentelemetry.trace import StatusCode

MODEL = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "aws.bedrock": "amazon.nova-lite-v1:0",
         "groq": "llama-3.3-70b-versatile", "gcp.gemini": "gemini-2.0-flash",
         "mistral_ai": "mistral-small-latest", "ollama": "llama3.2", "cohere": "command-r-plus"}
BEDROCK_CLAUDE = "us.anthropic.claude-3-5-sonnet-20240620-v1:0"
SLOW_CHUNKS = {"x-llm-chunk-delay-ms": "100"}
EARLY = 8  # items read before stopping: past the envelope events, into the text deltas


class Handle:
    """A uniform, awaitable view of one open stream."""

    def __init__(self, stream: Any, is_async: bool, exit_: Callable[[], Any] | None = None):
        self.stream, self.is_async, self._exit = stream, is_async, exit_

    async def next(self) -> Any:
        if self.is_async:
            return await self.stream.__anext__()
        try:
            return next(self.stream)
        except StopIteration:
            raise StopAsyncIteration from None

    async def drain(self) -> None:
        while True:
            try:
                await self.next()
            except StopAsyncIteration:
                return

    async def close(self) -> None:
        if self._exit is not None:  # helper streams are closed by leaving their manager
            result = self._exit()
        else:
            result = self.stream.close()
        if asyncio.iscoroutine(result):
            await result


@dataclass
class Path:
    name: str
    provider: str
    is_async: bool
    opener: Callable[..., Any]  # (clients, prompt, headers) -> awaitable Handle
    operation: str = "chat"
    has_response_id: bool = True  # Ollama's API and Bedrock's Converse have none

    async def open(self, clients, prompt="tell me a story", headers=None) -> Handle:
        return await self.opener(clients, prompt, headers or {})


def _messages(prompt):
    return [{"role": "user", "content": prompt}]


async def _openai_sync(c, prompt, headers):
    return Handle(c["openai"].chat.completions.create(model=MODEL["openai"], messages=_messages(prompt), stream=True,
                                                      stream_options={"include_usage": True}, extra_headers=headers), False)


async def _openai_async(c, prompt, headers):
    stream = await c["aopenai"].chat.completions.create(model=MODEL["openai"], messages=_messages(prompt), stream=True,
                                                        stream_options={"include_usage": True}, extra_headers=headers)
    return Handle(stream, True)


async def _responses_sync(c, prompt, headers):
    return Handle(c["openai"].responses.create(model=MODEL["openai"], input=prompt, stream=True, extra_headers=headers), False)


async def _anthropic_sync(c, prompt, headers):
    return Handle(c["anthropic"].messages.create(model=MODEL["anthropic"], max_tokens=200, messages=_messages(prompt),
                                                 stream=True, extra_headers=headers), False)


async def _anthropic_async(c, prompt, headers):
    stream = await c["aanthropic"].messages.create(model=MODEL["anthropic"], max_tokens=200, messages=_messages(prompt),
                                                   stream=True, extra_headers=headers)
    return Handle(stream, True)


async def _anthropic_helper_sync(c, prompt, headers):
    manager = c["anthropic"].messages.stream(model=MODEL["anthropic"], max_tokens=200, messages=_messages(prompt),
                                             extra_headers=headers)
    stream = manager.__enter__()
    return Handle(stream, False, lambda: manager.__exit__(None, None, None))


async def _anthropic_helper_async(c, prompt, headers):
    manager = c["aanthropic"].messages.stream(model=MODEL["anthropic"], max_tokens=200, messages=_messages(prompt),
                                              extra_headers=headers)
    stream = await manager.__aenter__()
    return Handle(stream, True, lambda: manager.__aexit__(None, None, None))


def _bedrock_call(client, headers, method, **params):
    """A boto3 call with extra request headers (botocore's event system is how boto3 adds them)."""
    def add(request, **_):
        for name, value in headers.items():
            request.headers[name] = value

    client.meta.events.register_first("before-sign.bedrock-runtime.*", add)
    try:
        return getattr(client, method)(**params)
    finally:
        client.meta.events.unregister("before-sign.bedrock-runtime.*", add)


async def _bedrock_converse(c, prompt, headers):
    events = _bedrock_call(c["bedrock"], headers, "converse_stream", modelId=MODEL["aws.bedrock"],
                           messages=[{"role": "user", "content": [{"text": prompt}]}])["stream"]
    return Handle(iter(events), False, events.close)


async def _bedrock_invoke(c, prompt, headers):
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200, "messages": _messages(prompt)})
    events = _bedrock_call(c["bedrock"], headers, "invoke_model_with_response_stream", modelId=BEDROCK_CLAUDE, body=body)["body"]
    return Handle(iter(events), False, events.close)


async def _groq_sync(c, prompt, headers):
    return Handle(c["groq"].chat.completions.create(model=MODEL["groq"], messages=_messages(prompt), stream=True,
                                                    extra_headers=headers), False)


async def _groq_async(c, prompt, headers):
    stream = await c["agroq"].chat.completions.create(model=MODEL["groq"], messages=_messages(prompt), stream=True,
                                                      extra_headers=headers)
    return Handle(stream, True)


def _litellm_route(c):
    return {"model": "anthropic/claude-haiku-4-5", "api_base": c["server"].base_url, "api_key": "sk-test", "max_tokens": 200,
            "stream": True, "stream_options": {"include_usage": True}, "num_retries": 0}


async def _litellm_sync(c, prompt, headers):
    return Handle(litellm.completion(messages=_messages(prompt), extra_headers=headers, **_litellm_route(c)), False)


async def _litellm_async(c, prompt, headers):
    stream = await litellm.acompletion(messages=_messages(prompt), extra_headers=headers, **_litellm_route(c))
    return Handle(stream, True, stream.aclose)


async def _gemini_sync(c, prompt, headers):
    config = genai_types.GenerateContentConfig(http_options=genai_types.HttpOptions(headers=headers))
    return Handle(c["gemini"].models.generate_content_stream(model=MODEL["gcp.gemini"], contents=prompt, config=config), False)


async def _gemini_async(c, prompt, headers):
    config = genai_types.GenerateContentConfig(http_options=genai_types.HttpOptions(headers=headers))
    return Handle(await c["gemini"].aio.models.generate_content_stream(model=MODEL["gcp.gemini"], contents=prompt, config=config), True)


async def _mistral_sync(c, prompt, headers):
    return Handle(c["mistral"].chat.stream(model=MODEL["mistral_ai"], messages=_messages(prompt), http_headers=headers), False)


async def _mistral_async(c, prompt, headers):
    return Handle(await c["mistral"].chat.stream_async(model=MODEL["mistral_ai"], messages=_messages(prompt), http_headers=headers), True)


async def _ollama_sync(c, prompt, headers):
    client = ollama.Client(host=c["base_url"], headers=headers)  # Ollama takes headers per client only
    return Handle(client.chat(model=MODEL["ollama"], messages=_messages(prompt), stream=True), False)


async def _ollama_async(c, prompt, headers):
    client = ollama.AsyncClient(host=c["base_url"], headers=headers)
    return Handle(await client.chat(model=MODEL["ollama"], messages=_messages(prompt), stream=True), True)


async def _ollama_generate(c, prompt, headers):
    client = ollama.Client(host=c["base_url"], headers=headers)
    return Handle(client.generate(model=MODEL["ollama"], prompt=prompt, stream=True), False)


async def _cohere_sync(c, prompt, headers):
    return Handle(c["cohere"].chat_stream(model=MODEL["cohere"], messages=_messages(prompt),
                                          request_options={"additional_headers": headers}), False)


async def _cohere_async(c, prompt, headers):
    return Handle(c["acohere"].chat_stream(model=MODEL["cohere"], messages=_messages(prompt),
                                           request_options={"additional_headers": headers}), True)


PATHS = [
    Path("openai-chat-sync", "openai", False, _openai_sync),
    Path("openai-chat-async", "openai", True, _openai_async),
    Path("openai-responses-sync", "openai", False, _responses_sync),
    Path("anthropic-sync", "anthropic", False, _anthropic_sync),
    Path("anthropic-async", "anthropic", True, _anthropic_async),
    Path("anthropic-helper-sync", "anthropic", False, _anthropic_helper_sync),
    Path("anthropic-helper-async", "anthropic", True, _anthropic_helper_async),
    Path("bedrock-converse-stream", "aws.bedrock", False, _bedrock_converse, has_response_id=False),
    Path("bedrock-invoke-stream", "aws.bedrock", False, _bedrock_invoke),
    Path("groq-sync", "groq", False, _groq_sync),
    Path("groq-async", "groq", True, _groq_async),
    Path("litellm-sync", "anthropic", False, _litellm_sync),
    Path("litellm-async", "anthropic", True, _litellm_async),
    Path("gemini-sync", "gcp.gemini", False, _gemini_sync, "generate_content"),
    Path("gemini-async", "gcp.gemini", True, _gemini_async, "generate_content"),
    Path("mistral-sync", "mistral_ai", False, _mistral_sync),
    Path("mistral-async", "mistral_ai", True, _mistral_async),
    Path("ollama-chat-sync", "ollama", False, _ollama_sync, has_response_id=False),
    Path("ollama-chat-async", "ollama", True, _ollama_async, has_response_id=False),
    Path("ollama-generate-sync", "ollama", False, _ollama_generate, "text_completion", has_response_id=False),
    Path("cohere-sync", "cohere", False, _cohere_sync),
    Path("cohere-async", "cohere", True, _cohere_async),
]


@pytest.fixture
def clients(instrumented, llm_server, openai_client, async_openai_client, anthropic_client, async_anthropic_client,
            bedrock_client, groq_client, async_groq_client, gemini_client, mistral_client, cohere_client,
            async_cohere_client):
    LiteLLMInstrumentor().instrument()
    try:
        yield {"openai": openai_client, "aopenai": async_openai_client,
               "anthropic": anthropic_client, "aanthropic": async_anthropic_client,
               "bedrock": bedrock_client, "groq": groq_client, "agroq": async_groq_client, "server": llm_server,
               "gemini": gemini_client, "mistral": mistral_client, "cohere": cohere_client,
               "acohere": async_cohere_client, "base_url": llm_server.base_url}
    finally:
        LiteLLMInstrumentor().uninstrument()


def _the_span(capture, path: Path):
    spans = capture.spans_by_operation(path.operation)
    assert len(spans) == 1, f"{path.name}: expected the span to end exactly once, got {len(spans)}"
    durations = capture.metric_points("gen_ai.client.operation.duration")
    assert sum(p.count for p in durations) == 1, f"{path.name}: one duration point per call"
    span = spans[0]
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.provider.name"] == path.provider
    return span


def _assert_chunk_timing(capture, span):
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert span.attributes["llm_otel.stream.chunks"] >= 1
    assert capture.metric_point("gen_ai.client.operation.time_to_first_chunk").count == 1


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
async def test_fully_consumed(instrumented, clients, path):
    handle = await path.open(clients)
    await handle.drain()
    span = _the_span(instrumented, path)
    assert "llm_otel.stream.ended_early" not in span.attributes
    assert span.status.status_code is StatusCode.UNSET
    _assert_chunk_timing(instrumented, span)
    # every token arrived as a chunk (OpenAI adds a role chunk and a finish chunk)
    assert span.attributes["llm_otel.stream.chunks"] >= span.attributes["gen_ai.usage.output_tokens"] > 0
    assert span.attributes["gen_ai.usage.input_tokens"] == 4  # "tell me a story"
    assert span.attributes["gen_ai.response.finish_reasons"] in (("stop",), ("end_turn",), ("COMPLETE",))
    assert span.attributes.get("gen_ai.response.id") or not path.has_response_id
    assert instrumented.metric_point("gen_ai.client.token.usage", {"gen_ai.token.type": "output"}).value > 0
    chunks = span.attributes["llm_otel.stream.chunks"]
    assert instrumented.metric_point("gen_ai.client.operation.time_per_output_chunk").count == chunks - 1


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
async def test_break_early_then_close(instrumented, clients, path):
    handle = await path.open(clients, "long story please")
    for _ in range(EARLY):
        await handle.next()
    await handle.close()
    span = _the_span(instrumented, path)
    assert span.attributes["llm_otel.stream.ended_early"] is True
    assert span.attributes["llm_otel.stream.end_reason"] == "closed"
    assert span.status.status_code is StatusCode.UNSET
    _assert_chunk_timing(instrumented, span)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
async def test_with_block_left_early(instrumented, clients, path):
    handle = await path.open(clients, "long story please")
    stream = handle.stream
    if handle._exit is None:  # plain SDK streams are context managers themselves
        if path.is_async:
            async with stream:
                for _ in range(EARLY):
                    await handle.next()
        else:
            with stream:
                for _ in range(EARLY):
                    await handle.next()
    else:
        for _ in range(EARLY):
            await handle.next()
        await handle.close()
    span = _the_span(instrumented, path)
    assert span.attributes["llm_otel.stream.ended_early"] is True
    _assert_chunk_timing(instrumented, span)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
async def test_server_breaks_mid_stream(instrumented, clients, path):
    handle = await path.open(clients, "tell me a long story", headers={"x-llm-behaviors": "broken"})
    with pytest.raises(Exception) as caught:
        await handle.drain()
    span = _the_span(instrumented, path)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(caught.value).__qualname__
    [point] = instrumented.metric_points("gen_ai.client.operation.duration")
    assert point.attributes["error.type"] == type(caught.value).__qualname__


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
async def test_consumer_code_raises(instrumented, clients, path):
    class ConsumerBug(Exception):
        pass

    handle = await path.open(clients, "long story please")
    bug = ConsumerBug()
    with pytest.raises(ConsumerBug) as caught:
        try:
            for _ in range(EARLY):
                await handle.next()
            raise bug
        finally:
            await handle.close()
    assert caught.value is bug
    span = _the_span(instrumented, path)
    assert span.attributes["llm_otel.stream.ended_early"] is True
    assert span.status.status_code is StatusCode.UNSET  # the model call itself did not fail
    _assert_chunk_timing(instrumented, span)


@pytest.mark.parametrize("path", [p for p in PATHS if p.is_async], ids=lambda p: p.name)
async def test_consuming_task_cancelled(instrumented, clients, path):
    first = asyncio.Event()

    async def consume():
        handle = await path.open(clients, "long story please", headers=SLOW_CHUNKS)
        for _ in range(EARLY):
            await handle.next()
        first.set()
        while True:
            await handle.next()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = _the_span(instrumented, path)
    assert span.attributes["llm_otel.stream.end_reason"] == "cancellederror"
    assert span.status.status_code is StatusCode.UNSET
    _assert_chunk_timing(instrumented, span)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
async def test_dropped_unconsumed_and_collected(instrumented, clients, path):
    handle = await path.open(clients)
    assert instrumented.spans_by_operation(path.operation) == []  # still open
    del handle
    for _ in range(3):
        gc.collect()
        await asyncio.sleep(0)
    span = _the_span(instrumented, path)
    assert span.attributes["llm_otel.stream.end_reason"] == "dropped"
    assert "gen_ai.response.time_to_first_chunk" not in span.attributes
