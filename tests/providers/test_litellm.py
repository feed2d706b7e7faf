"""LiteLLM through the instrumentor, pointed at the local LLM (OpenAI-compatible, Anthropic,
Bedrock, Groq routes): one span per call named for the underlying provider, never two."""

from __future__ import annotations

import json

import litellm
import llm_otel._semconv as sc
import pytest
from llm_otel.instrumentors.litellm import LiteLLMInstrumentor
from opentelemetry.trace import StatusCode


@pytest.fixture
def lite(instrumented):
    """LiteLLM instrumented on top of the provider SDK instrumentors (so the duplicate guard is in play)."""
    LiteLLMInstrumentor().instrument()
    try:
        yield instrumented
    finally:
        LiteLLMInstrumentor().uninstrument()


def routes(server) -> dict[str, dict]:
    return {
        "openai": {"model": "openai/gpt-4o-mini", "api_base": server.openai_base_url, "api_key": "sk-test"},
        "anthropic": {"model": "anthropic/claude-haiku-4-5", "api_base": server.base_url, "api_key": "sk-test", "max_tokens": 200},
        "aws.bedrock": {"model": "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", "aws_bedrock_runtime_endpoint": server.base_url,
                        "aws_access_key_id": "AKIDLOCAL", "aws_secret_access_key": "x", "aws_region_name": "us-east-1", "max_tokens": 200},
        "groq": {"model": "groq/llama-3.3-70b-versatile", "api_base": server.base_url + "/openai/v1", "api_key": "gsk-test"},
    }


MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "aws.bedrock": "anthropic.claude-3-5-sonnet-20240620-v1:0",
          "groq": "llama-3.3-70b-versatile"}


def _messages(text):
    return [{"role": "user", "content": text}]


@pytest.mark.parametrize("provider", MODELS)
def test_one_span_named_for_the_underlying_provider(lite, llm_server, provider):
    llm_server.clear_requests()
    reply = litellm.completion(messages=_messages("hello there"), temperature=0.5, **routes(llm_server)[provider])
    assert len(llm_server.requests) == 1
    [span] = lite.spans  # the SDK call inside (openai for openai/groq-compatible routes) merged into it
    attrs = span.attributes
    assert span.name == f"chat {MODELS[provider]}"
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == provider
    assert (attrs[sc.SERVER_ADDRESS], attrs[sc.SERVER_PORT]) == ("127.0.0.1", llm_server.port)
    assert attrs[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.5
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == reply.usage.prompt_tokens == 2
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == reply.usage.completion_tokens
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.LLM_OTEL_COST_USD] > 0
    assert lite.metric_point(sc.METRIC_OPERATION_DURATION).count == 1
    assert sc.GEN_AI_INPUT_MESSAGES not in attrs


def test_bedrock_cost_through_litellm_uses_bedrock_prices(lite, llm_server):
    reply = litellm.completion(messages=_messages("hello there"), **routes(llm_server)["aws.bedrock"])
    expected = (reply.usage.prompt_tokens * 3 + reply.usage.completion_tokens * 15) / 1e6  # Claude 3.5 Sonnet on Bedrock
    assert lite.spans[0].attributes[sc.LLM_OTEL_COST_USD] == pytest.approx(expected)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_stream_is_one_span_with_chunks_counted_once(lite, llm_server, provider):
    stream = litellm.completion(messages=_messages("tell me a story"), stream=True, stream_options={"include_usage": True},
                                **routes(llm_server)[provider])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    [span] = lite.spans
    attrs = span.attributes
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == provider and attrs[sc.GEN_AI_REQUEST_STREAM] is True
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 4
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == len(text.split())
    # one chunk per token, plus at most the role and finish chunks: never counted twice
    assert len(text.split()) <= attrs[sc.LLM_OTEL_STREAM_CHUNKS] <= len(text.split()) + 2
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert lite.metric_point(sc.METRIC_TIME_PER_OUTPUT_CHUNK).count == attrs[sc.LLM_OTEL_STREAM_CHUNKS] - 1


async def test_acompletion_with_content_capture(lite, llm_server):
    lite.settings(capture="SPAN_ONLY")
    reply = await litellm.acompletion(messages=[{"role": "system", "content": "be brief"}, *_messages("hello there")],
                                      **routes(llm_server)["anthropic"])
    [span] = lite.spans
    inputs = json.loads(span.attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert inputs[-1] == {"role": "user", "parts": [{"type": "text", "content": "hello there"}]}
    out = json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert out[0]["parts"][0]["content"] == reply.choices[0].message.content


def test_errors_keep_litellms_exception(lite, llm_server):
    with pytest.raises(litellm.RateLimitError) as caught:
        litellm.completion(messages=_messages("please ratelimit"), num_retries=0, **routes(llm_server)["anthropic"])
    [span] = lite.spans
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == type(caught.value).__qualname__


def test_uninstrument_is_exact(otel_capture):
    from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper

    originals = (litellm.completion, litellm.acompletion, CustomStreamWrapper.__next__, CustomStreamWrapper.aclose)
    LiteLLMInstrumentor().instrument()
    assert litellm.completion is not originals[0]
    LiteLLMInstrumentor().uninstrument()
    assert (litellm.completion, litellm.acompletion, CustomStreamWrapper.__next__, CustomStreamWrapper.aclose) == originals


def test_instrumenting_does_not_import_litellm():
    """configure() instruments what is installed; LiteLLM's slow import waits until the app imports it."""
    import subprocess
    import sys

    code = ("import sys, llm_otel.instrumentors.litellm as m; m.LiteLLMInstrumentor().instrument(); "
            "assert 'litellm' not in sys.modules; import litellm; "
            "assert hasattr(litellm.completion, '__wrapped__'); print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    assert proc.stdout.strip().endswith("ok"), proc.stderr


@pytest.mark.parametrize("prompt", ["hi", "hi cachewrite"], ids=["cache-read", "cache-write"])
def test_cache_tokens_and_cost_through_litellm(lite, llm_server, prompt):
    reply = litellm.completion(messages=[{"role": "system", "content": "You are a careful assistant. " * 20},
                                         {"role": "user", "content": prompt}], **routes(llm_server)["anthropic"])
    usage = reply.usage
    read, written = usage.cache_read_input_tokens, usage.cache_creation_input_tokens
    assert read + written > 0 and read * written == 0
    attrs = lite.spans[0].attributes
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == usage.prompt_tokens  # LiteLLM already counts cached tokens in
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == read
    assert attrs.get(sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, 0) == written
    uncached = usage.prompt_tokens - read - written  # Claude Haiku 4.5: $1 input, $5 output, $0.10 read, $1.25 write
    expected = (uncached * 1 + read * 0.1 + written * 1.25 + usage.completion_tokens * 5) / 1e6
    assert attrs[sc.LLM_OTEL_COST_USD] == pytest.approx(expected)
