"""Agents and workflows: the spans that group model calls, retrievals and tools."""

from __future__ import annotations

from llm_otel import _recorder
from llm_otel._invocation import Invocation


class AgentInvocation(Invocation):
    """One agent run (``invoke_agent {name}``); its model and tool calls nest inside."""

    __slots__ = ("name", "id", "description", "version", "provider", "conversation_id", "_inference_calls", "_tool_calls")
    _request_fields = ("name", "id", "description", "version", "provider", "conversation_id")
    _is_agent = True
    _span_start = _recorder.start_agent
    _span_end = _recorder.finish_agent

    def __init__(
        self,
        name: str,
        id: str | None = None,
        description: str | None = None,
        *,
        version: str | None = None,
        provider: str | None = None,
        conversation_id: str | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.id = id
        self.description = description
        self.version = version
        self.provider = provider
        self.conversation_id = conversation_id
        self._init_response_fields()

    def _init_response_fields(self) -> None:
        self._inference_calls = 0  # model and tool calls made inside this run (not inside a nested agent)
        self._tool_calls = 0


class CreateAgentInvocation(Invocation):
    """Creating an agent on a remote agent service (``create_agent {name}``, a CLIENT span): e.g. Bedrock
    Agents or an Azure AI Foundry agent. Its duration is a ``gen_ai.client.operation.duration`` point."""

    __slots__ = ("name", "provider", "model", "id", "description", "version")
    _request_fields = __slots__
    _span_start = _recorder.start_create_agent
    _span_end = _recorder.finish_create_agent

    def __init__(
        self,
        name: str,
        provider: str,
        model: str | None = None,
        *,
        id: str | None = None,
        description: str | None = None,
        version: str | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.provider = provider
        self.model = model
        self.id = id  # set it once the service answers with the new agent's id
        self.description = description
        self.version = version


class WorkflowInvocation(Invocation):
    """One workflow run (``invoke_workflow {name}``), e.g. a RAG pipeline."""

    __slots__ = ("name", "conversation_id")
    _request_fields = __slots__
    _span_start = _recorder.start_workflow
    _span_end = _recorder.finish_workflow

    def __init__(self, name: str, *, conversation_id: str | None = None) -> None:
        super().__init__()
        self.name = name
        self.conversation_id = conversation_id
