"""LangChain and LangGraph instrumentation (the handler: ``llm_otel.instrumentors._langchain``)."""

from __future__ import annotations

from llm_otel.instrumentors._framework import FrameworkInstrumentor


class LangChainInstrumentor(FrameworkInstrumentor):
    """Adds llm_otel's callback handler to every LangChain / LangGraph run (no change to user code)."""

    _module = "langchain_core"
    _handlers = "llm_otel.instrumentors._langchain"
    _requirement = "langchain-core >= 0.3"
