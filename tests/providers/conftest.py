"""Provider tests drive the real openai and anthropic SDKs over real HTTP against the
local LLM server (the one stand-in: no model can run here)."""

from __future__ import annotations

import os

import anthropic
import boto3
import groq
import openai
import pytest
from botocore.config import Config
from llm_otel.instrumentors.anthropic import AnthropicInstrumentor
from llm_otel.instrumentors.bedrock import BedrockInstrumentor
from llm_otel.instrumentors.groq import GroqInstrumentor
from llm_otel.instrumentors.openai import OpenAIInstrumentor

# LiteLLM fetches a model cost map over the network at import unless told to use its bundled copy
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # ... and may look for a tokenizer on a hub: none is reachable here
from llm_otel_tools.local_llm import LocalLLMServer


@pytest.fixture(scope="session")
def llm_server():
    with LocalLLMServer() as server:
        yield server


@pytest.fixture
def instrumented(otel_capture):
    """Both instrumentors on, writing to this test's in-memory capture."""
    instrumentors = [OpenAIInstrumentor(), AnthropicInstrumentor(), BedrockInstrumentor(), GroqInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument()
    try:
        yield otel_capture
    finally:
        for instrumentor in instrumentors:
            instrumentor.uninstrument()


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


@pytest.fixture
def bedrock_client(llm_server):
    """boto3 signs with SigV4 (any key works locally); retries off so errors surface at once."""
    return boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=llm_server.base_url,
                        aws_access_key_id="AKIDLOCAL", aws_secret_access_key="local-secret",
                        config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def groq_client(llm_server):
    return groq.Groq(base_url=llm_server.base_url, api_key="gsk-test", max_retries=0)


@pytest.fixture
def async_groq_client(llm_server):
    return groq.AsyncGroq(base_url=llm_server.base_url, api_key="gsk-test", max_retries=0)
