"""A tool (function) execution, usually requested by a model."""

from __future__ import annotations

import inspect
from typing import Any

from opentelemetry.trace import SpanKind

from llm_otel import _recorder
from llm_otel._invocation import Invocation


class ToolInvocation(Invocation):
    """One tool execution. ``arguments`` and ``result`` are captured only in content mode.

    >>> @llm_otel.tool(name="calculator")
    ... def calculator(expression: str) -> float: ...
    """

    __slots__ = ("name", "call_id", "description", "type", "agent_name", "kind", "arguments", "result")
    _request_fields = ("name", "call_id", "description", "type", "agent_name", "kind")
    _span_start = _recorder.start_tool
    _span_end = _recorder.finish_tool

    def __init__(
        self,
        name: str,
        call_id: str | None = None,
        description: str | None = None,
        type: str = "function",
        agent_name: str | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> None:
        super().__init__()
        self.name = name
        self.call_id = call_id
        self.description = description
        self.type = type
        self.agent_name = agent_name
        """The agent that called the tool; defaults to the innermost open ``llm_otel.agent``."""
        self.kind = kind
        """The span kind: INTERNAL for a tool run in process, CLIENT for one called on a remote server (MCP)."""
        self._init_response_fields()

    def _init_response_fields(self) -> None:
        self.arguments: Any = None
        self.result: Any = None

    def _on_call(self, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self.arguments is None:
            try:
                bound = inspect.signature(fn).bind_partial(*args, **kwargs)
                self.arguments = dict(bound.arguments)
            except (TypeError, ValueError):
                self.arguments = {"args": list(args), **kwargs}

    def _on_return(self, value: Any) -> None:
        if self.result is None:
            self.result = value
