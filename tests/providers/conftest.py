"""Provider tests drive the real openai and anthropic SDKs over real HTTP against the
local LLM server (the one stand-in: no model can run here)."""

from __future__ import annotations

import anthropic
import openai
import pytest

from llm_otel.instrumentors.anthropic import AnthropicInstrumentor
from llm_otel.instrumentors.openai import OpenAIInstrumentor
from llm_otel_tools.local_llm import LocalLLMServer


@pytest.fixture(scope="session")
def llm_server():
    with LocalLLMServer() as server:
        yield server


@pytest.fixture
def instrumented(otel_capture):
    """Both instrumentors on, writing to this test's in-memory capture."""
    OpenAIInstrumentor().instrument()
    AnthropicInstrumentor().instrument()
    try:
        yield otel_capture
    finally:
        OpenAIInstrumentor().uninstrument()
        AnthropicInstrumentor().uninstrument()


@pytest.fixture
def openai_client(llm_server):
    return openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test", max_retries=0)


@pytest.fixture
def async_openai_client(llm_server):
    return openai.AsyncOpenAI(base_url=llm_server.openai_base_url, api_key="sk-test", max_retries=0)


@pytest.fixture
def anthropic_client(llm_server):
    return anthropic.Anthropic(base_url=llm_server.anthropic_base_url, api_key="sk-test", max_retries=0)


@pytest.fixture
def async_anthropic_client(llm_server):
    return anthropic.AsyncAnthropic(base_url=llm_server.anthropic_base_url, api_key="sk-test", max_retries=0)
