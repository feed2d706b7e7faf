"""OpenAI Agents SDK instrumentation (the processor: ``llm_otel.instrumentors._openai_agents``)."""

from __future__ import annotations

from llm_otel.instrumentors._framework import FrameworkInstrumentor


class OpenAIAgentsInstrumentor(FrameworkInstrumentor):
    """Replaces the Agents SDK's trace processors (the default one exports to OpenAI) with llm_otel's."""

    _module = "agents"
    _handlers = "llm_otel.instrumentors._openai_agents"
    _requirement = "openai-agents >= 0.2"
