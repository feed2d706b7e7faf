"""LlamaIndex instrumentation (the handlers: ``llm_otel.instrumentors._llama_index``)."""

from __future__ import annotations

from llm_otel.instrumentors._framework import FrameworkInstrumentor


class LlamaIndexInstrumentor(FrameworkInstrumentor):
    """Adds llm_otel's span and event handlers to LlamaIndex's root instrumentation dispatcher."""

    _module = "llama_index.core"
    _handlers = "llm_otel.instrumentors._llama_index"
    _requirement = "llama-index-core >= 0.12"
