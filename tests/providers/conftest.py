"""Provider tests drive the real provider SDKs (openai, anthropic, google-genai, mistralai,
ollama, cohere) over real HTTP against the local LLM server (the one stand-in: no model can
run here)."""

from __future__ import annotations

import gc
import os

import anthropic
import boto3
import cohere
import groq
import ollama
import openai
import pytest
from botocore.config import Config
from google import genai
from google.genai import types as genai_types
from llm_otel.instrumentors.anthropic import AnthropicInstrumentor
from llm_otel.instrumentors.bedrock import BedrockInstrumentor
from llm_otel.instrumentors.cohere import CohereInstrumentor
from llm_otel.instrumentors.google_genai import GoogleGenAIInstrumentor
from llm_otel.instrumentors.groq import GroqInstrumentor
from llm_otel.instrumentors.mistralai import MistralAIInstrumentor
from llm_otel.instrumentors.ollama import OllamaInstrumentor
from llm_otel.instrumentors.openai import OpenAIInstrumentor
from mistralai.client import Mistral

# LiteLLM fetches a model cost map over the network at import unless told to use its bundled copy
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # ... and may look for a tokenizer on a hub: none is reachable here
from llm_otel_tools.local_llm import LocalLLMServer


@pytest.fixture(scope="session")
def llm_server():
    with LocalLLMServer() as server:
        yield server


gc.freeze()  # the SDKs' module objects are permanent: the stream tests' gc.collect() need not walk them again

INSTRUMENTORS = (OpenAIInstrumentor, AnthropicInstrumentor, BedrockInstrumentor, GroqInstrumentor, GoogleGenAIInstrumentor, MistralAIInstrumentor,
                 OllamaInstrumentor, CohereInstrumentor)


@pytest.fixture
def instrumented(otel_capture):
    """Every provider instrumentor on, writing to this test's in-memory capture."""
    for instrumentor in INSTRUMENTORS:
        instrumentor().instrument()
    try:
        yield otel_capture
    finally:
        for instrumentor in INSTRUMENTORS:
            instrumentor().uninstrument()


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


@pytest.fixture(scope="session")  # stateless, and slow to build (TLS contexts)
def gemini_client(llm_server):
    return genai.Client(api_key="test-key", http_options=genai_types.HttpOptions(base_url=llm_server.base_url))


@pytest.fixture(scope="session")  # stateless, and slow to build (TLS contexts)
def vertex_client(llm_server):
    """Vertex AI in express mode (an API key, no Google credentials needed)."""
    return genai.Client(vertexai=True, api_key="test-key", http_options=genai_types.HttpOptions(base_url=llm_server.base_url))


@pytest.fixture  # not shared: its async HTTP client belongs to one event loop
def mistral_client(llm_server):
    return Mistral(api_key="test-key", server_url=llm_server.mistral_base_url)


@pytest.fixture(scope="session")  # stateless, and slow to build (TLS contexts)
def ollama_client(llm_server):
    return ollama.Client(host=llm_server.base_url)


@pytest.fixture
def async_ollama_client(llm_server):
    return ollama.AsyncClient(host=llm_server.base_url)


@pytest.fixture  # not shared: a ClientV2 binds chat/chat_stream when built, so build it after instrumenting
def cohere_client(llm_server):
    return cohere.ClientV2(api_key="test-key", base_url=llm_server.base_url, max_retries=0)


@pytest.fixture
def async_cohere_client(llm_server):
    return cohere.AsyncClientV2(api_key="test-key", base_url=llm_server.base_url, max_retries=0)
