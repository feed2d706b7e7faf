"""LlamaIndex: a span handler and an event handler on the root instrumentation dispatcher.

The dispatcher reports every decorated method call as a span (``{Class}.{method}-{uuid}``, with its
parent) and the interesting moments as events. The span handler decides what becomes an
invocation, by the object the method belongs to:

* the top-level call (a query engine, a chat engine, a workflow): ``invoke_workflow {Class}``, or
  ``invoke_agent {name}`` for an agent;
* ``retrieve`` of a retriever: ``retrieval {Class}`` (the documents come from ``RetrievalEndEvent``);
* a model call of an LLM (``chat``/``complete`` and their async/stream forms): ``chat {model}``;
  of an embedding model: ``embeddings {model}``. Inner calls of the same model call (``complete``
  calling ``chat``, ``get_text_embedding_batch`` calling ``_get_text_embeddings``) and the
  provider SDK call are merged into it (the duplicate guard): one model call, one span. A streamed
  call (``stream_chat``, ``astream_chat``...) returns its generator before the SDK call is made (it
  runs while the stream is read): when llm_otel instruments that SDK, the SDK's span is the call and
  LlamaIndex's gets none;
* ``call`` of a tool: ``execute_tool {name}``.

Everything else (synthesizers, prompt helpers, node postprocessors) is plumbing: no span; what runs
inside attaches to the nearest recorded ancestor.
"""

from __future__ import annotations

import sys
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.base import BaseLLM
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events.embedding import EmbeddingEndEvent
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent, LLMChatStartEvent
from llama_index.core.instrumentation.events.retrieval import RetrievalEndEvent
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from llama_index.core.tools.types import BaseTool
from pydantic import PrivateAttr

from llm_otel import _semconv as sc
from llm_otel._agent import AgentInvocation, WorkflowInvocation
from llm_otel._invocation import Invocation
from llm_otel._llm import LLMInvocation, open_llm_invocation
from llm_otel._retrieval import RetrievalInvocation
from llm_otel._safety import report
from llm_otel._tool import ToolInvocation
from llm_otel.instrumentors import KNOWN
from llm_otel.instrumentors._runs import Runs

_LLM_METHODS = frozenset({"chat", "achat", "stream_chat", "astream_chat", "complete", "acomplete",
                          "stream_complete", "astream_complete"})
_STREAM_METHODS = frozenset({"stream_chat", "astream_chat", "stream_complete", "astream_complete"})
_EMBEDDING_METHODS = frozenset({"get_query_embedding", "aget_query_embedding", "get_text_embedding",
                                "aget_text_embedding", "get_text_embedding_batch", "aget_text_embedding_batch",
                                "get_agg_embedding_from_queries", "aget_agg_embedding_from_queries"})
_RETRIEVER_METHODS = frozenset({"retrieve", "aretrieve"})
_TOOL_METHODS = frozenset({"call", "acall", "__call__"})
_ROLE_NAMES = {"user": "user", "assistant": "assistant", "system": "system", "tool": "tool", "developer": "system"}


def _method(span_id: str) -> str:
    return span_id.rsplit("-", 5)[0].rsplit(".", 1)[-1] if "." in span_id else span_id


def _provider(instance: Any) -> str:
    module = type(instance).__module__  # llama_index.llms.openai.base -> openai
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[0] == "llama_index" and parts[1] in ("llms", "embeddings") else "llama_index"


def _sdk_instrumented(provider: str) -> bool:
    """True if llm_otel's instrumentor of this provider's SDK is on (it records the SDK call itself)."""
    entry = KNOWN.get(f"llm_otel_{provider}")
    if entry is None:
        return False
    module_name, class_name = entry[1].split(":")
    module = sys.modules.get(module_name)
    instrumentor = getattr(module, class_name, None) if module is not None else None
    return bool(instrumentor is not None and instrumentor().is_instrumented_by_opentelemetry)


def _model(instance: Any) -> str | None:
    model = getattr(instance, "model", None) or getattr(instance, "model_name", None)
    return str(model) if model else None


def _is_agent(instance: Any) -> bool:
    return any(c.__name__ in ("BaseWorkflowAgent", "AgentWorkflow", "BaseAgent", "AgentRunner")
               for c in type(instance).__mro__)


class LlmOtelSpanHandler(BaseSpanHandler[Any]):
    """Translates dispatcher spans into llm_otel invocations (see the module docstring)."""

    _runs: Runs = PrivateAttr(default_factory=Runs)

    @classmethod
    def class_name(cls) -> str:
        return "LlmOtelSpanHandler"

    @property
    def runs(self) -> Runs:
        return self._runs

    def span_enter(self, id_: str, bound_args: Any, instance: Any = None, parent_id: str | None = None,
                   tags: dict[str, Any] | None = None, **kwargs: Any) -> None:
        try:
            inv = self._invocation(id_, instance, parent_id)
            if inv is None:
                self._runs.skip(id_, parent_id)
            elif isinstance(inv, LLMInvocation) and (outer := open_llm_invocation()) is not None:
                self._runs.adopt(id_, outer)  # the same model call, one level down
            else:
                self._runs.start(id_, parent_id, inv)
        except Exception as exc:
            report("llama_index.span", exc)

    def _invocation(self, id_: str, instance: Any, parent_id: str | None) -> Invocation | None:
        method = _method(id_)
        if isinstance(instance, BaseLLM) and method in _LLM_METHODS:
            if method in _STREAM_METHODS and _sdk_instrumented(_provider(instance)):
                return None  # the SDK call runs while the stream is read, after this span: its span is the call
            op = sc.OP_CHAT if "chat" in method or getattr(instance.metadata, "is_chat_model", False) else \
                sc.OP_TEXT_COMPLETION
            return LLMInvocation(_provider(instance), _model(instance), op)
        if isinstance(instance, BaseEmbedding) and method in _EMBEDDING_METHODS:
            return LLMInvocation(_provider(instance), _model(instance), sc.OP_EMBEDDINGS)
        if isinstance(instance, BaseRetriever) and method in _RETRIEVER_METHODS:
            top_k = getattr(instance, "similarity_top_k", None) or getattr(instance, "_similarity_top_k", None)
            return RetrievalInvocation(type(instance).__name__, top_k=top_k)
        if isinstance(instance, BaseTool) and method in _TOOL_METHODS:
            meta = instance.metadata
            return ToolInvocation(str(meta.name or "tool"), description=meta.description or None)
        if self._runs.knows(parent_id):
            return None  # nested plumbing
        if instance is not None and _is_agent(instance):
            return AgentInvocation(str(getattr(instance, "name", None) or type(instance).__name__),
                                   description=getattr(instance, "description", None) or None)
        return WorkflowInvocation(type(instance).__name__ if instance is not None else method)

    def span_exit(self, id_: str, bound_args: Any, instance: Any = None, result: Any = None, **kwargs: Any) -> None:
        try:
            inv = self._runs.get(id_)
            if isinstance(inv, ToolInvocation):
                if inv.arguments is None:
                    inv.arguments = dict(bound_args.arguments) if bound_args is not None else None
                inv.result = getattr(result, "content", result)
                if getattr(result, "is_error", False):
                    inv.error_type = sc.ERROR_TYPE_OTHER
            self._runs.finish(id_)
        except Exception as exc:
            report("llama_index.span", exc)

    def span_drop(self, id_: str, bound_args: Any, instance: Any = None, err: BaseException | None = None,
                  **kwargs: Any) -> None:
        try:
            self._runs.finish(id_, err)
        except Exception as exc:
            report("llama_index.span", exc)

    # the dispatcher calls span_enter/exit/drop; these BaseSpanHandler hooks are not used
    def new_span(self, *args: Any, **kwargs: Any) -> None:
        return None

    def prepare_to_exit_span(self, *args: Any, **kwargs: Any) -> None:
        return None

    def prepare_to_drop_span(self, *args: Any, **kwargs: Any) -> None:
        return None


class LlmOtelEventHandler(BaseEventHandler):
    """Adds what only the events carry (retrieved documents, messages) to the span handler's invocations."""

    _spans: Any = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        return "LlmOtelEventHandler"

    def handle(self, event: Any, **kwargs: Any) -> None:
        try:
            spans: LlmOtelSpanHandler | None = self._spans
            inv = spans.runs.get(event.span_id) if spans is not None and event.span_id else None
            if inv is None:
                return
            if isinstance(event, RetrievalEndEvent) and isinstance(inv, RetrievalInvocation):
                query = event.str_or_query_bundle
                inv.query = query if isinstance(query, str) else getattr(query, "query_str", None)
                inv.document_count = len(event.nodes)
                inv.documents = [(n.node.node_id, n.score) for n in event.nodes]
            elif isinstance(event, LLMChatStartEvent) and isinstance(inv, LLMInvocation):
                if inv.input_messages is None:
                    inv.input_messages = [_message(m) for m in event.messages]
            elif isinstance(event, LLMChatEndEvent) and isinstance(inv, LLMInvocation) and event.response is not None:
                _fill_chat_response(inv, event.response)
            elif isinstance(event, EmbeddingEndEvent) and isinstance(inv, LLMInvocation):
                if inv.embedding_dimensions is None and event.embeddings:
                    inv.embedding_dimensions = len(event.embeddings[0])
        except Exception as exc:
            report("llama_index.event", exc)


def _message(message: Any) -> dict[str, Any]:
    role = getattr(message.role, "value", message.role)
    return {"role": _ROLE_NAMES.get(str(role), str(role)), "content": message.content or ""}


def _fill_chat_response(inv: LLMInvocation, response: Any) -> None:
    """What the SDK call (merged when instrumented) did not fill already."""
    raw = response.raw
    usage = getattr(raw, "usage", None) if raw is not None and not isinstance(raw, dict) else None
    if usage is not None:
        if inv.input_tokens is None:
            inv.input_tokens = getattr(usage, "prompt_tokens", None)
        if inv.output_tokens is None:
            inv.output_tokens = getattr(usage, "completion_tokens", None)
    if inv.output_text is None and response.message is not None and response.message.content:
        inv.output_text = response.message.content


def attach() -> tuple[LlmOtelSpanHandler, LlmOtelEventHandler]:
    from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
    spans = LlmOtelSpanHandler()
    events = LlmOtelEventHandler()
    events._spans = spans
    dispatcher = get_dispatcher()  # the root: every module's dispatcher propagates to it
    dispatcher.add_span_handler(spans)
    dispatcher.add_event_handler(events)
    return spans, events


def detach(state: tuple[LlmOtelSpanHandler, LlmOtelEventHandler]) -> None:
    from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
    spans, events = state
    dispatcher = get_dispatcher()
    if spans in dispatcher.span_handlers:
        dispatcher.span_handlers.remove(spans)
    if events in dispatcher.event_handlers:
        dispatcher.event_handlers.remove(events)
    spans.runs.finish_all()
