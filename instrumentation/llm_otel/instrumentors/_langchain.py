"""LangChain and LangGraph: one callback handler added to every run, no change to user code.

The handler is registered with langchain-core's configure hook (``register_configure_hook``),
through a context variable whose default is the handler, so every callback manager LangChain
configures (any thread, any task) gets it as an inheritable handler.

What becomes a span (and why):

* a top-level run, and every LangGraph graph run (sub-graphs and sub-agents included):
  ``invoke_agent {name}`` when the graph has a tool node (an agent), else ``invoke_workflow {name}``;
* chat model / LLM runs: the model call (``chat``/``text_completion``); when the provider SDK call
  inside it is instrumented too, the duplicate guard merges both into this one span;
* tools: ``execute_tool {name}``; retrievers: ``retrieval {name}`` with the documents.

Other nested chains (prompt templates, parsers, sequences, graph nodes and edges) are plumbing:
they add no span, their children attach to the nearest recorded ancestor. The rule: a chain adds
information only if it is a graph (it has its own steps and its own name in the app's design).
"""

from __future__ import annotations

import contextvars
import importlib.util
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from llm_otel import _semconv as sc
from llm_otel._agent import AgentInvocation, WorkflowInvocation
from llm_otel._llm import LLMInvocation, open_llm_invocation
from llm_otel._retrieval import RetrievalInvocation
from llm_otel._safety import report
from llm_otel._tool import ToolInvocation
from llm_otel.instrumentors._runs import Runs

# the graph LangGraph is about to run, set just before its root callback: (name, has tools)
_PENDING_GRAPH: contextvars.ContextVar[tuple[str, bool] | None] = contextvars.ContextVar(
    "llm_otel_langgraph_pending", default=None
)
_GRAPH_METHODS = ("Pregel.stream", "Pregel.astream")
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool", "function": "tool"}
# invocation_params key -> LLMInvocation field
_PARAMS = (
    ("temperature", "temperature"),
    ("max_tokens", "max_tokens"),
    ("max_completion_tokens", "max_tokens"),
    ("top_p", "top_p"),
    ("frequency_penalty", "frequency_penalty"),
    ("presence_penalty", "presence_penalty"),
    ("seed", "seed"),
    ("n", "choice_count"),
)


def _guard(stage: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Contain any failure of a callback: telemetry never breaks the run."""

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        def call(*args: Any, **kwargs: Any) -> None:
            try:
                fn(*args, **kwargs)
            except Exception as exc:
                report(stage, exc)

        call.__name__ = fn.__name__
        return call

    return decorate


class LlmOtelCallbackHandler(BaseCallbackHandler):
    """Translates LangChain runs into llm_otel invocations (see the module docstring)."""

    run_inline = True  # called in the run's own context, not in an executor
    raise_error = False

    def __init__(self) -> None:
        super().__init__()
        self.runs = Runs()

    # -- chains and graphs --------------------------------------------------------------
    @_guard("langchain.chain")
    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None,
                       tags: list[str] | None = None, metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        name = kwargs.get("name") or _serialized_name(serialized) or "chain"
        graph = _PENDING_GRAPH.get()
        if graph is not None and graph[0] == name:
            _PENDING_GRAPH.set(None)
        else:
            graph = None
        is_root = not self.runs.knows(parent_run_id)
        if graph is None and not is_root:
            self.runs.skip(run_id, parent_run_id)
            return
        conversation = _conversation_id(metadata)
        inv: AgentInvocation | WorkflowInvocation
        if graph is not None and graph[1]:
            inv = AgentInvocation(name, conversation_id=conversation)
        else:
            inv = WorkflowInvocation(name, conversation_id=conversation)
        self.runs.start(run_id, parent_run_id, inv)

    @_guard("langchain.chain")
    def on_chain_end(self, outputs: Any, *, run_id: Any, **kwargs: Any) -> None:
        self.runs.finish(run_id)

    @_guard("langchain.chain")
    def on_chain_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
        if _is_control_flow(error):  # LangGraph's interrupt / parent command: not a failure
            self.runs.finish(run_id)
        else:
            self.runs.finish(run_id, error)

    # -- model calls --------------------------------------------------------------------
    @_guard("langchain.llm")
    def on_chat_model_start(self, serialized: Any, messages: list[list[Any]], *, run_id: Any,
                            parent_run_id: Any = None, metadata: dict[str, Any] | None = None,
                            **kwargs: Any) -> None:
        inv = self._model_start(serialized, run_id, parent_run_id, metadata, kwargs, sc.OP_CHAT)
        if inv is not None and inv.input_messages is None and messages:
            inv.input_messages = [_message(m) for m in messages[0]]

    @_guard("langchain.llm")
    def on_llm_start(self, serialized: Any, prompts: list[str], *, run_id: Any, parent_run_id: Any = None,
                     metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        inv = self._model_start(serialized, run_id, parent_run_id, metadata, kwargs, sc.OP_TEXT_COMPLETION)
        if inv is not None and inv.input_messages is None and prompts:
            inv.input_messages = [{"role": "user", "content": prompts[0]}]

    def _model_start(self, serialized: Any, run_id: Any, parent_run_id: Any, metadata: dict[str, Any] | None,
                     kwargs: dict[str, Any], operation: str) -> LLMInvocation | None:
        metadata = metadata or {}
        params = kwargs.get("invocation_params") or {}
        open_inv = open_llm_invocation()
        if open_inv is not None:  # an llm_otel model call is already open around this run: enrich it
            self.runs.adopt(run_id, open_inv)
            _fill_request(open_inv, params, metadata)
            return open_inv
        provider = str(metadata.get("ls_provider") or params.get("_type") or "langchain")
        model = metadata.get("ls_model_name") or params.get("model") or params.get("model_name")
        inv = LLMInvocation(provider, str(model) if model else None, operation)
        _fill_request(inv, params, metadata)
        inv.conversation_id = _conversation_id(metadata)
        self.runs.start(run_id, parent_run_id, inv)
        inv.attributes[_CHUNKS_SEEN] = 0
        return inv

    @_guard("langchain.llm")
    def on_llm_new_token(self, token: str, *, run_id: Any, **kwargs: Any) -> None:
        inv = self.runs.get(run_id)
        if not isinstance(inv, LLMInvocation):
            return
        seen = inv.attributes.get(_CHUNKS_SEEN)
        # the provider SDK's stream is observed as well (merged): it already counts the chunks
        if seen is not None and inv.chunk_count == seen:
            inv.add_chunk(token)
            inv.attributes[_CHUNKS_SEEN] = seen + 1
        else:
            inv.attributes.pop(_CHUNKS_SEEN, None)

    @_guard("langchain.llm")
    def on_llm_end(self, response: Any, *, run_id: Any, **kwargs: Any) -> None:
        inv = self.runs.get(run_id)
        if isinstance(inv, LLMInvocation):
            inv.attributes.pop(_CHUNKS_SEEN, None)
            _fill_response(inv, response)
        self.runs.finish(run_id)

    @_guard("langchain.llm")
    def on_llm_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
        inv = self.runs.get(run_id)
        if isinstance(inv, LLMInvocation):
            inv.attributes.pop(_CHUNKS_SEEN, None)
        self.runs.finish(run_id, error)

    # -- tools ----------------------------------------------------------------------------
    @_guard("langchain.tool")
    def on_tool_start(self, serialized: Any, input_str: str, *, run_id: Any, parent_run_id: Any = None,
                      inputs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        serialized = serialized or {}
        name = kwargs.get("name") or serialized.get("name") or "tool"
        inv = ToolInvocation(str(name), call_id=kwargs.get("tool_call_id"), description=serialized.get("description"))
        inv.arguments = inputs if inputs is not None else input_str
        self.runs.start(run_id, parent_run_id, inv)

    @_guard("langchain.tool")
    def on_tool_end(self, output: Any, *, run_id: Any, **kwargs: Any) -> None:
        inv = self.runs.get(run_id)
        if isinstance(inv, ToolInvocation):
            call_id = getattr(output, "tool_call_id", None)
            if call_id and not inv.call_id:
                inv.attributes[sc.GEN_AI_TOOL_CALL_ID] = call_id
            inv.result = getattr(output, "content", output)
            if getattr(output, "status", None) == "error":
                inv.error_type = sc.ERROR_TYPE_OTHER
        self.runs.finish(run_id)

    @_guard("langchain.tool")
    def on_tool_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
        self.runs.finish(run_id, error)

    # -- retrievers -------------------------------------------------------------------------
    @_guard("langchain.retriever")
    def on_retriever_start(self, serialized: Any, query: str, *, run_id: Any, parent_run_id: Any = None,
                           metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        metadata = metadata or {}
        name = kwargs.get("name") or _serialized_name(serialized) or "retriever"
        provider = metadata.get("ls_vector_store_provider")
        inv = RetrievalInvocation(str(name), query=query, provider=str(provider) if provider else None)
        self.runs.start(run_id, parent_run_id, inv)

    @_guard("langchain.retriever")
    def on_retriever_end(self, documents: Sequence[Any], *, run_id: Any, **kwargs: Any) -> None:
        inv = self.runs.get(run_id)
        if isinstance(inv, RetrievalInvocation):
            inv.document_count = len(documents)
            inv.documents = [_document(i, d) for i, d in enumerate(documents)]
        self.runs.finish(run_id)

    @_guard("langchain.retriever")
    def on_retriever_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
        self.runs.finish(run_id, error)


_CHUNKS_SEEN = "llm_otel.langchain.chunks"  # private scratch key, removed before the span ends


def _serialized_name(serialized: Any) -> str | None:
    if not isinstance(serialized, Mapping):
        return None
    name = serialized.get("name")
    if name:
        return str(name)
    ids = serialized.get("id")
    return str(ids[-1]) if isinstance(ids, list) and ids else None


def _conversation_id(metadata: Mapping[str, Any] | None) -> str | None:
    if not metadata:
        return None
    value = metadata.get("thread_id") or metadata.get("conversation_id")
    return str(value) if value else None


def _is_control_flow(error: BaseException) -> bool:
    return type(error).__name__ in ("GraphInterrupt", "NodeInterrupt", "ParentCommand", "GraphBubbleUp")


def _fill_request(inv: LLMInvocation, params: Mapping[str, Any], metadata: Mapping[str, Any]) -> None:
    for key, field in _PARAMS:
        value = params.get(key)
        if value is not None and getattr(inv, field) is None:
            setattr(inv, field, value)
    if inv.temperature is None and metadata.get("ls_temperature") is not None:
        inv.temperature = metadata["ls_temperature"]
    if inv.max_tokens is None and metadata.get("ls_max_tokens") is not None:
        inv.max_tokens = metadata["ls_max_tokens"]
    stop = params.get("stop") or metadata.get("ls_stop")
    if stop and inv.stop_sequences is None:
        inv.stop_sequences = [stop] if isinstance(stop, str) else list(stop)
    if params.get("stream") and inv.stream is None:
        inv.stream = True
    tools = params.get("tools")
    if tools and inv.tool_definitions is None:
        inv.tool_definitions = tools


def _message(message: Any) -> dict[str, Any]:
    role = _ROLES.get(getattr(message, "type", ""), getattr(message, "type", "user"))
    out: dict[str, Any] = {"role": role, "content": getattr(message, "content", message)}
    tool_calls = getattr(message, "tool_calls", None)
    if tool_calls:
        out["tool_calls"] = [
            {"id": c.get("id"), "type": "function",
             "function": {"name": c.get("name"), "arguments": json.dumps(c.get("args", {}))}}
            for c in tool_calls
        ]
    call_id = getattr(message, "tool_call_id", None)
    if call_id:
        out["tool_call_id"] = call_id
    return out


def _fill_response(inv: LLMInvocation, response: Any) -> None:
    """What the SDK call (if instrumented and merged) has not filled already."""
    generations = getattr(response, "generations", None) or []
    first = generations[0][0] if generations and generations[0] else None
    message = getattr(first, "message", None)
    usage = getattr(message, "usage_metadata", None) or {}
    llm_output = getattr(response, "llm_output", None) or {}
    token_usage = llm_output.get("token_usage") or llm_output.get("usage") or {}
    if inv.input_tokens is None:
        inv.input_tokens = usage.get("input_tokens", token_usage.get("prompt_tokens"))
    if inv.output_tokens is None:
        inv.output_tokens = usage.get("output_tokens", token_usage.get("completion_tokens"))
    meta = getattr(message, "response_metadata", None) or {}
    info = getattr(first, "generation_info", None) or {}
    if inv.response_model is None:
        inv.response_model = meta.get("model_name") or llm_output.get("model_name")
    if inv.response_id is None:
        inv.response_id = meta.get("id") or getattr(message, "id", None)
    if inv.finish_reasons is None:
        reason = meta.get("finish_reason") or info.get("finish_reason")
        if reason:
            inv.finish_reasons = [reason]
    if inv.output_text is None and first is not None:
        inv.output_text = getattr(first, "text", None) or None
    if inv.output_messages is None and message is not None and getattr(message, "tool_calls", None):
        out = _message(message)
        if inv.finish_reasons:
            out["finish_reason"] = inv.finish_reasons[0]
        inv.output_messages = [out]


def _document(index: int, doc: Any) -> tuple[str, float | None]:
    meta = getattr(doc, "metadata", None) or {}
    doc_id = getattr(doc, "id", None) or meta.get("id") or meta.get("source") or str(index)
    score = meta.get("score", meta.get("relevance_score"))
    return str(doc_id), None if score is None else float(score)


# -- LangGraph: which graph runs are agents ------------------------------------------------------


def _has_tool_node(graph: Any) -> bool:
    for node in (getattr(graph, "nodes", None) or {}).values():
        bound = getattr(node, "bound", node)
        if type(bound).__name__ == "ToolNode" or hasattr(bound, "tools_by_name"):
            return True
    return False


def _graph_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        config = kwargs.get("config") or (args[1] if len(args) > 1 else None) or {}
        name = (config.get("run_name") if isinstance(config, Mapping) else None) or instance.get_name()
        _PENDING_GRAPH.set((str(name), _has_tool_node(instance)))
    except Exception as exc:
        report("langgraph", exc)
    return wrapped(*args, **kwargs)


def attach() -> tuple[LlmOtelCallbackHandler, Any, bool]:
    """Register the handler with langchain-core's configure hook; mark LangGraph's agent graphs."""
    from langchain_core.tracers import context as lc_context

    handler = LlmOtelCallbackHandler()
    # the variable's default is the handler, so every context (any thread, any task) sees it
    var: contextvars.ContextVar[Any] = contextvars.ContextVar("llm_otel_langchain_handler", default=handler)
    lc_context.register_configure_hook(var, inheritable=True)
    hook = lc_context._configure_hooks[-1]
    graphs = importlib.util.find_spec("langgraph") is not None
    if graphs:
        for method in _GRAPH_METHODS:
            wrap_function_wrapper("langgraph.pregel", method, _graph_wrapper)
    return handler, hook, graphs


def detach(state: tuple[LlmOtelCallbackHandler, Any, bool]) -> None:
    from langchain_core.tracers import context as lc_context

    handler, hook, graphs = state
    if hook in lc_context._configure_hooks:
        lc_context._configure_hooks.remove(hook)  # the hook list has no public removal
    handler.runs.finish_all()
    if graphs:
        import langgraph.pregel

        for method in _GRAPH_METHODS:
            unwrap(langgraph.pregel.Pregel, method.split(".")[1])
