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
def instrument():
    """instrument(*instrumentors): on for this test, off (uninstrumented) after it."""
    done = []

    def on(*instrumentors):
        for instrumentor in instrumentors:
            instrumentor.instrument()
            done.append(instrumentor)

    yield on
    for instrumentor in reversed(done):
        instrumentor.uninstrument()


@pytest.fixture
def with_openai(otel_capture, instrument):
    """The OpenAI SDK instrumented as well: its calls inside framework model runs must merge, not duplicate."""
    instrument(OpenAIInstrumentor())
    return otel_capture


@pytest.fixture
def tree(otel_capture):
    """() -> (span name, ancestor names nearest first) for every span, in start order; spans that start
    together (tools the framework runs in parallel, in threads or tasks) in name order among themselves."""

    def spans() -> list[tuple[str, list[str]]]:
        ordered = [(s.name, otel_capture.parent_chain(s)) for s in sorted(otel_capture.spans, key=lambda s: s.start_time)]
        out: list[tuple[str, list[str]]] = []
        group: list[tuple[str, list[str]]] = []  # consecutive sibling tool runs
        for entry in ordered:
            if group and not (entry[0].startswith("execute_tool ") and entry[1] == group[0][1]):
                out += sorted(group)
                group = []
            if entry[0].startswith("execute_tool "):
                group.append(entry)
            else:
                out.append(entry)
        return out + sorted(group)

    return spans
