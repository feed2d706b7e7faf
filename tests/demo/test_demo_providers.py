"""The demo service pointed at Groq (the groq SDK) or Bedrock (through LiteLLM) on the local LLM:
the same endpoints work and their chat spans carry that provider."""

from __future__ import annotations

import os

import httpx
import llm_otel._semconv as sc
import pytest
from llm_otel.instrumentors.groq import GroqInstrumentor
from llm_otel.instrumentors.litellm import LiteLLMInstrumentor
from llm_otel.instrumentors.openai import OpenAIInstrumentor
from llm_otel_tools.demo.app import DemoSettings, create_app
from llm_otel_tools.demo.providers import MODELS
from llm_otel_tools.local_llm import LocalLLMServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
pytestmark = pytest.mark.timeout(120)
SEMCONV_PROVIDER = {"groq": sc.PROVIDER_GROQ, "bedrock": sc.PROVIDER_AWS_BEDROCK}


@pytest.fixture(scope="module")
def llm_server():
    with LocalLLMServer() as server:
        yield server


@pytest.fixture(params=["groq", "bedrock"])
async def demo(request, llm_server, otel_capture):
    instrumentors = [OpenAIInstrumentor(), GroqInstrumentor(), LiteLLMInstrumentor()]
    for instrumentor in instrumentors:
        instrumentor.instrument()
    settings = DemoSettings.from_env({"OPENAI_BASE_URL": llm_server.openai_base_url, "OPENAI_API_KEY": "sk-test",
                                      "LLM_OTEL_DEMO_PROVIDER": request.param})
    app = create_app(settings, tracer_provider=otel_capture.tracer_provider, meter_provider=otel_capture.meter_provider)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo", timeout=60) as client:
            yield request.param, client, otel_capture
    finally:
        for instrumentor in instrumentors:
            instrumentor.uninstrument()


async def test_generate_rag_and_agent_go_to_the_chosen_provider(demo):
    provider, client, capture = demo
    model = MODELS[provider][0]
    body = (await client.post("/generate", json={"prompt": "What is a span"})).json()
    assert body["response"].startswith("This is a deterministic reply from") and body["llm_calls"][0]["ok"]
    streamed = await client.post("/generate", json={"prompt": "What is a trace", "stream": True})
    assert "event: done" in streamed.text
    rag = (await client.post("/rag", json={"question": "How do I read a trace?"})).json()
    assert rag["sources"] and rag["answer"]
    agent = (await client.post("/agent", json={"task": "Use the calculator for (17 + 25) * 3"})).json()
    assert agent["steps"][0]["tool"] == "calculator" and "126" in agent["answer"]
    chats = capture.spans_by_operation(sc.OP_CHAT)
    assert len(chats) == 5  # generate, generate (stream), rag, agent x2 (tool call, answer)
    assert {s.attributes[sc.GEN_AI_PROVIDER_NAME] for s in chats} == {SEMCONV_PROVIDER[provider]}
    assert {s.attributes[sc.GEN_AI_REQUEST_MODEL] for s in chats} == {model}
    assert capture.spans_by_operation(sc.OP_EMBEDDINGS)[0].attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_OPENAI
