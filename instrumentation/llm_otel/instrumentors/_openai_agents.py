"""OpenAI Agents SDK: a tracing processor that turns the SDK's traces and spans into llm_otel invocations.

``instrument()`` *replaces* the SDK's trace processors with this one, so nothing is exported to
OpenAI's tracing backend (the default processor; it works offline); ``uninstrument()`` puts the
previous processors back.

* a trace (one ``Runner.run``): ``invoke_workflow {trace name}``, ``gen_ai.conversation.id`` = its group id;
* an agent span: ``invoke_agent {agent name}``;
* a response / generation span: the model call (``chat {model}``); the OpenAI SDK call inside it
  is merged into it by the duplicate guard (one span);
* a function span: ``execute_tool {name}`` (type ``function``);
* a handoff: ``execute_tool transfer_to_<agent>``, as the model asked for it (the GenAI conventions
  model a handoff as the tool call it is), with the two agents as ``llm_otel.handoff.*`` attributes;
* a guardrail (input or output): ``execute_tool {name}`` of type ``extension`` (the conventions have
  no guardrail operation; it is agent-side code checking input/output), ``llm_otel.guardrail.triggered``;
  a triggered tripwire is an error (``error.type`` = ``guardrail_tripwire_triggered``, ERROR status);
* task and turn spans (the SDK's own grouping inside a trace / an agent) add nothing: skipped.
"""

from __future__ import annotations

import contextvars
import importlib
import json
import re
from typing import Any

from agents.tracing import TracingProcessor
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from llm_otel import _semconv as sc
from llm_otel._agent import AgentInvocation, WorkflowInvocation
from llm_otel._invocation import Invocation, current_invocation
from llm_otel._llm import LLMInvocation, open_llm_invocation
from llm_otel._safety import report
from llm_otel._tool import ToolInvocation
from llm_otel.instrumentors._runs import Runs

# the model a Responses model object is about to call (response spans do not carry it)
_MODEL: contextvars.ContextVar[str | None] = contextvars.ContextVar("llm_otel_agents_model", default=None)
_MODEL_METHODS = ("OpenAIResponsesModel.get_response", "OpenAIResponsesModel.stream_response")
_MODEL_MODULE = "agents.models.openai_responses"
_HANDOFF = "handoff"
_TOOL_CONTEXT_MODULE, _TOOL_CONTEXT_METHOD = "agents.tool_context", "ToolContext.from_agent_context"


def _tool_name(agent_name: str) -> str:
    """The SDK's default handoff tool name: ``transfer_to_`` + the agent name in snake case."""
    return re.sub(r"[^a-zA-Z0-9]", "_", f"transfer_to_{agent_name}").lower()


class LlmOtelTracingProcessor(TracingProcessor):
    def __init__(self) -> None:
        self.runs = Runs()

    # -- traces ---------------------------------------------------------------------------
    def on_trace_start(self, trace: Any) -> None:
        try:
            group = getattr(trace, "group_id", None)
            inv = WorkflowInvocation(str(getattr(trace, "name", None) or "Agent workflow"), conversation_id=group)
            self.runs.start(trace.trace_id, None, inv)
        except Exception as exc:
            report("openai_agents.trace", exc)

    def on_trace_end(self, trace: Any) -> None:
        try:
            self.runs.finish(trace.trace_id)
        except Exception as exc:
            report("openai_agents.trace", exc)

    # -- spans ----------------------------------------------------------------------------
    def on_span_start(self, span: Any) -> None:
        try:
            parent = span.parent_id or span.trace_id
            inv = self._invocation(span)
            if inv is None:
                self.runs.skip(span.span_id, parent)
            elif isinstance(inv, LLMInvocation) and (outer := open_llm_invocation()) is not None:
                self.runs.adopt(span.span_id, outer)  # one model call, one span
            else:
                self.runs.start(span.span_id, parent, inv)
        except Exception as exc:
            report("openai_agents.span", exc)

    def on_span_end(self, span: Any) -> None:
        try:
            inv = self.runs.get(span.span_id)
            if inv is not None:
                _fill(inv, span.span_data)
                error = getattr(span, "error", None)
                if error and inv.error_type is None:
                    inv.error_type = str(error.get("message") or sc.ERROR_TYPE_OTHER)[:64]
            self.runs.finish(span.span_id)
        except Exception as exc:
            report("openai_agents.span", exc)

    def _invocation(self, span: Any) -> Invocation | None:
        data = span.span_data
        kind = data.type
        if kind == "agent":
            return AgentInvocation(data.name, provider="openai")
        if kind in ("response", "generation"):
            model = getattr(data, "model", None) or _MODEL.get()
            inv = LLMInvocation("openai", model)
            config = getattr(data, "model_config", None) or {}
            for field in ("temperature", "top_p", "max_tokens"):
                if config.get(field) is not None:
                    setattr(inv, field, config[field])
            return inv
        if kind == "function":
            return ToolInvocation(data.name)
        if kind == "handoff":
            handoff = ToolInvocation(_tool_name(data.to_agent) if data.to_agent else _HANDOFF)
            if data.from_agent:
                handoff.attributes[sc.LLM_OTEL_HANDOFF_FROM_AGENT] = data.from_agent
            return handoff
        if kind == "guardrail":
            return ToolInvocation(data.name, type=sc.TOOL_TYPE_EXTENSION)
        return None  # task, turn, custom, speech...: no information of their own

    def shutdown(self, timeout: float | None = None) -> None:
        self.runs.finish_all()

    def force_flush(self) -> None:
        pass


def _fill(inv: Invocation, data: Any) -> None:
    kind = data.type
    if isinstance(inv, LLMInvocation):
        _fill_model_call(inv, data)
    elif kind == "function" and isinstance(inv, ToolInvocation):
        if inv.arguments is None and data.input is not None:
            inv.arguments = _json_or_text(data.input)
        if inv.result is None and data.output is not None:
            inv.result = data.output
    elif kind == "handoff" and isinstance(inv, ToolInvocation) and data.to_agent:
        inv.attributes[sc.LLM_OTEL_HANDOFF_TO_AGENT] = data.to_agent
        if inv.name == _HANDOFF:  # the target is only known once the handoff ran: name the tool now
            inv.name = _tool_name(data.to_agent)
            inv.attributes[sc.GEN_AI_TOOL_NAME] = inv.name
            inv.span.update_name(f"{sc.OP_EXECUTE_TOOL} {inv.name}")
    elif kind == "guardrail":
        inv.attributes[sc.LLM_OTEL_GUARDRAIL_TRIGGERED] = bool(data.triggered)
        if data.triggered and inv.error_type is None:  # the tripwire stops the run: an error outcome
            inv.error_type = sc.ERROR_TYPE_GUARDRAIL_TRIPWIRE


def _json_or_text(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def _fill_model_call(inv: LLMInvocation, data: Any) -> None:
    """What the SDK call (when instrumented it was merged into this invocation) did not fill."""
    response = getattr(data, "response", None)
    usage = getattr(data, "usage", None) or {}
    if response is not None:
        if inv.response_id is None:
            inv.response_id = getattr(response, "id", None)
        if inv.response_model is None:
            inv.response_model = getattr(response, "model", None)
        r_usage = getattr(response, "usage", None)
        if r_usage is not None:
            usage = {"input_tokens": r_usage.input_tokens, "output_tokens": r_usage.output_tokens}
    if inv.input_tokens is None and usage.get("input_tokens") is not None:
        inv.input_tokens = usage["input_tokens"]
    if inv.output_tokens is None and usage.get("output_tokens") is not None:
        inv.output_tokens = usage["output_tokens"]


def _tool_context_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The SDK builds a tool's context inside its function span: the one place that knows the call id."""
    try:
        call_id = args[1] if len(args) > 1 else kwargs.get("tool_call_id")
        inv = current_invocation()
        if call_id and isinstance(inv, ToolInvocation) and inv.call_id is None:
            inv.call_id = str(call_id)
            inv.attributes[sc.GEN_AI_TOOL_CALL_ID] = inv.call_id
    except Exception as exc:
        report("openai_agents.tool", exc)
    return wrapped(*args, **kwargs)


def _model_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        _MODEL.set(str(instance.model))
    except Exception as exc:
        report("openai_agents.model", exc)
    return wrapped(*args, **kwargs)


def attach() -> tuple[LlmOtelTracingProcessor, tuple[Any, ...]]:
    """Replace the SDK's processors (the default exports to OpenAI) with ours; keep them to restore."""
    from agents.tracing import get_trace_provider, set_trace_processors

    multi = getattr(get_trace_provider(), "_multi_processor", None)
    previous = tuple(getattr(multi, "_processors", ()))  # the provider has no public getter
    processor = LlmOtelTracingProcessor()
    set_trace_processors([processor])
    for method in _MODEL_METHODS:
        wrap_function_wrapper(_MODEL_MODULE, method, _model_wrapper)
    wrap_function_wrapper(_TOOL_CONTEXT_MODULE, _TOOL_CONTEXT_METHOD, _tool_context_wrapper)
    return processor, previous


def detach(state: tuple[LlmOtelTracingProcessor, tuple[Any, ...]]) -> None:
    from agents.tracing import set_trace_processors

    processor, previous = state
    set_trace_processors(list(previous))
    processor.runs.finish_all()
    module = importlib.import_module(_MODEL_MODULE)
    for method in _MODEL_METHODS:
        owner, name = method.split(".")
        unwrap(getattr(module, owner), name)
    owner_name, name = _TOOL_CONTEXT_METHOD.split(".")
    owner = getattr(importlib.import_module(_TOOL_CONTEXT_MODULE), owner_name)
    wrapper = owner.__dict__.get(name)  # a classmethod: put the original descriptor back, not a bound method
    if hasattr(wrapper, "__wrapped__"):
        setattr(owner, name, wrapper.__wrapped__)
