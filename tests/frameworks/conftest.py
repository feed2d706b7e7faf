"""Framework tests: the real LangChain/LangGraph, LlamaIndex and OpenAI Agents SDK, driving the real
openai SDK over real HTTP against the local LLM server (the one stand-in)."""

from __future__ import annotations

import pytest

from llm_otel.instrumentors.openai import OpenAIInstrumentor
from llm_otel_tools.local_llm import LocalLLMServer


@pytest.fixture(scope="session")
def llm_server():
    with LocalLLMServer() as server:
        yield server


@pytest.fixture
def with_openai(otel_capture):
    """The OpenAI SDK instrumented as well: its calls inside framework model runs must merge, not duplicate."""
    OpenAIInstrumentor().instrument()
    try:
        yield otel_capture
    finally:
        OpenAIInstrumentor().uninstrument()


@pytest.fixture
def tree(otel_capture):
    """() -> (span name, ancestor names nearest first) for every span, in start order."""
    return lambda: [(s.name, otel_capture.parent_chain(s)) for s in sorted(otel_capture.spans, key=lambda s: s.start_time)]
