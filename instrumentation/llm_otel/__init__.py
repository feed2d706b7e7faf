"""llm_otel: OpenTelemetry-native observability for LLM applications.

>>> import llm_otel
>>> llm_otel.configure()                      # providers from the standard OTEL_* variables
>>> with llm_otel.workflow("rag"):
...     with llm_otel.retrieval(data_source="docs", top_k=3) as r:
...         r.documents = [("doc-1", 0.92), ("doc-7", 0.81)]
...     with llm_otel.llm_call(provider="openai", model="gpt-4o-mini") as call:
...         call.input_tokens, call.output_tokens = 250, 40

Spans and metrics follow the pinned GenAI semantic conventions (``llm_otel._semconv``).
"""

from llm_otel._agent import AgentInvocation, CreateAgentInvocation, WorkflowInvocation
from llm_otel._api import agent, create_agent, llm_call, retrieval, tool, workflow
from llm_otel._configure import Configuration, ConfigurationError, configure
from llm_otel._context import bind_context, start_thread
from llm_otel._evaluation import EvaluationResult, flush_evaluations, record_feedback, register_evaluator
from llm_otel._invocation import Invocation, current_invocation
from llm_otel._llm import LLMInvocation
from llm_otel._redaction import add_redaction_pattern, clear_redaction_patterns
from llm_otel._retrieval import RetrievalInvocation
from llm_otel._tool import ToolInvocation
from llm_otel._version import __version__

__all__ = [
    "AgentInvocation",
    "Configuration",
    "ConfigurationError",
    "CreateAgentInvocation",
    "EvaluationResult",
    "Invocation",
    "LLMInvocation",
    "RetrievalInvocation",
    "ToolInvocation",
    "WorkflowInvocation",
    "__version__",
    "add_redaction_pattern",
    "agent",
    "bind_context",
    "clear_redaction_patterns",
    "configure",
    "create_agent",
    "current_invocation",
    "flush_evaluations",
    "llm_call",
    "record_feedback",
    "register_evaluator",
    "retrieval",
    "start_thread",
    "tool",
    "workflow",
]
