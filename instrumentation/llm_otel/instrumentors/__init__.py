"""Instrumentors for provider SDKs, vector stores, MCP and agent/RAG frameworks; each only translates
its library's objects into llm_otel invocations (the telemetry itself comes from ``llm_otel._recorder``)."""

from __future__ import annotations

import importlib
import importlib.util
import logging

from llm_otel import _settings

_log = logging.getLogger("llm_otel")

# entry point name -> (SDK module that must be importable, instrumentor class path)
KNOWN = {
    "llm_otel_openai": ("openai", "llm_otel.instrumentors.openai:OpenAIInstrumentor"),
    "llm_otel_anthropic": ("anthropic", "llm_otel.instrumentors.anthropic:AnthropicInstrumentor"),
    "llm_otel_gpu": ("pynvml", "llm_otel.gpu:GPUMetricsInstrumentor"),  # nvidia-ml-py; silent without a GPU
    "llm_otel_bedrock": ("botocore", "llm_otel.instrumentors.bedrock:BedrockInstrumentor"),
    "llm_otel_groq": ("groq", "llm_otel.instrumentors.groq:GroqInstrumentor"),
    "llm_otel_litellm": ("litellm", "llm_otel.instrumentors.litellm:LiteLLMInstrumentor"),
    "llm_otel_google_genai": ("google.genai", "llm_otel.instrumentors.google_genai:GoogleGenAIInstrumentor"),
    "llm_otel_mistralai": ("mistralai.client", "llm_otel.instrumentors.mistralai:MistralAIInstrumentor"),
    "llm_otel_ollama": ("ollama", "llm_otel.instrumentors.ollama:OllamaInstrumentor"),
    "llm_otel_cohere": ("cohere", "llm_otel.instrumentors.cohere:CohereInstrumentor"),
    "llm_otel_chromadb": ("chromadb", "llm_otel.instrumentors.chromadb:ChromaInstrumentor"),
    "llm_otel_qdrant": ("qdrant_client", "llm_otel.instrumentors.qdrant:QdrantInstrumentor"),
    "llm_otel_lancedb": ("lancedb", "llm_otel.instrumentors.lancedb:LanceDBInstrumentor"),
    "llm_otel_faiss": ("faiss", "llm_otel.instrumentors.faiss:FaissInstrumentor"),
    "llm_otel_mcp": ("mcp", "llm_otel.instrumentors.mcp:MCPInstrumentor"),
    "llm_otel_langchain": ("langchain_core", "llm_otel.instrumentors.langchain:LangChainInstrumentor"),
    "llm_otel_llama_index": ("llama_index.core", "llm_otel.instrumentors.llama_index:LlamaIndexInstrumentor"),
    "llm_otel_openai_agents": ("agents", "llm_otel.instrumentors.openai_agents:OpenAIAgentsInstrumentor"),
}


def _installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it. ``find_spec`` of a dotted name imports
    the parent package and raises when that is missing (``llama_index.core`` without llama_index)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def instrument_installed() -> list[str]:
    """Instrument every supported SDK that is installed and not disabled.

    ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` takes the entry point names
    (``llm_otel_openai``, ``llm_otel_anthropic``) or the short ones (``openai``, ``anthropic``).
    """
    disabled = _settings.get().disabled_instrumentations
    done = []
    for entry_name, (sdk_module, target) in KNOWN.items():
        if entry_name in disabled or sdk_module in disabled:
            continue
        if not _installed(sdk_module):
            continue
        module_name, class_name = target.split(":")
        try:
            instrumentor = getattr(importlib.import_module(module_name), class_name)()
        except ImportError:
            continue  # not written yet or an incompatible SDK version
        try:
            if not instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.instrument()
            done.append(entry_name)
        except Exception as exc:  # telemetry must not stop the app from starting
            _log.warning("could not instrument %s: %s", sdk_module, exc)
    return done
