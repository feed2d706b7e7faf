"""The public factories: one per kind of operation.

Each returns an invocation that works as a context manager (sync and async) and as a
decorator (sync, async, generators and async generators).
"""

from __future__ import annotations

from typing import Any

from llm_otel import _semconv as sc
from llm_otel._agent import AgentInvocation, CreateAgentInvocation, WorkflowInvocation
from llm_otel._llm import REQUEST_PARAMS, LLMInvocation
from llm_otel._retrieval import RetrievalInvocation
from llm_otel._safety import unknown_fields
from llm_otel._tool import ToolInvocation


def llm_call(
    provider: str,
    model: str | None,
    operation: str = sc.OP_CHAT,
    server_address: str | None = None,
    server_port: int | None = None,
    **request_params: Any,
) -> LLMInvocation:
    """A model call: span ``{operation} {model}`` plus duration, token, cost metrics.

    >>> with llm_otel.llm_call(provider="openai", model="gpt-4o-mini", temperature=0.2) as call:
    ...     reply = my_client.complete(prompt)
    ...     call.input_tokens, call.output_tokens = reply.usage.input, reply.usage.output
    """
    try:
        return LLMInvocation(provider, model, operation, server_address, server_port, **request_params)
    except TypeError:  # an unknown keyword (a typo): reported, left out; the call goes on
        known = {k: v for k, v in request_params.items() if k in REQUEST_PARAMS}
        unknown_fields("llm_call", {k: v for k, v in request_params.items() if k not in REQUEST_PARAMS})
        return LLMInvocation(provider, model, operation, server_address, server_port, **known)


def retrieval(
    data_source: str,
    top_k: int | None = None,
    query: str | None = None,
    provider: str | None = None,
    **unknown: Any,
) -> RetrievalInvocation:
    """A retrieval: span ``retrieval {data_source}``; set ``documents`` to (id, score) pairs."""
    if unknown:
        unknown_fields("retrieval", unknown)
    return RetrievalInvocation(data_source, top_k, query, provider)


def tool(
    name: str,
    call_id: str | None = None,
    description: str | None = None,
    type: str = "function",
    **unknown: Any,
) -> ToolInvocation:
    """A tool execution: span ``execute_tool {name}``; ``arguments``/``result`` are opt-in content."""
    if unknown:
        unknown_fields("tool", unknown)
    return ToolInvocation(name, call_id, description, type)


def agent(
    name: str,
    id: str | None = None,
    description: str | None = None,
    **options: Any,
) -> AgentInvocation:
    """An agent run: span ``invoke_agent {name}``; options: version, provider, conversation_id."""
    return AgentInvocation(name, id, description, **_known("agent", options, _AGENT_OPTIONS))


_AGENT_OPTIONS = frozenset({"version", "provider", "conversation_id"})


def _known(factory: str, options: dict[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """The options a factory knows; the others are reported (logged once, counted), never raised."""
    if options.keys() <= allowed:
        return options
    unknown_fields(factory, {k: v for k, v in options.items() if k not in allowed})
    return {k: v for k, v in options.items() if k in allowed}


def create_agent(
    name: str,
    provider: str,
    model: str | None = None,
    **options: Any,
) -> CreateAgentInvocation:
    """Creating an agent on a remote agent service: CLIENT span ``create_agent {name}``; options: id (or set
    ``.id`` once the service answers), description, version."""
    return CreateAgentInvocation(name, provider, model, **_known("create_agent", options, _CREATE_AGENT_OPTIONS))


_CREATE_AGENT_OPTIONS = frozenset({"id", "description", "version"})


def workflow(name: str, *, conversation_id: str | None = None, **unknown: Any) -> WorkflowInvocation:
    """A workflow run (a RAG pipeline, a chain): span ``invoke_workflow {name}``."""
    if unknown:
        unknown_fields("workflow", unknown)
    return WorkflowInvocation(name, conversation_id=conversation_id)
