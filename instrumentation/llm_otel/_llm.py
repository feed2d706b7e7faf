"""An inference call: chat, text completion, content generation or embeddings."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from llm_otel import _recorder
from llm_otel import _semconv as sc
from llm_otel._invocation import Invocation

# request parameters accepted by llm_call(**request_params), each filling gen_ai.request.*
REQUEST_PARAMS = (
    "temperature",
    "max_tokens",
    "top_p",
    "top_k",
    "frequency_penalty",
    "presence_penalty",
    "stop_sequences",
    "seed",
    "choice_count",
    "stream",
    "encoding_formats",
    "output_type",
    "conversation_id",
    "input_messages",
    "system_instructions",
    "tool_definitions",
)
_OUTPUT_TEXT_LIMIT = 1 << 20  # chars kept from streamed str chunks (length is always counted)


class LLMInvocation(Invocation):
    """One call to a model. Set the response fields; the telemetry follows.

    >>> with llm_otel.llm_call(provider="openai", model="gpt-4o-mini") as call:
    ...     call.input_tokens, call.output_tokens = 12, 40
    """

    __slots__ = (
        "provider", "model", "operation", "server_address", "server_port",
        *REQUEST_PARAMS,
        "response_id", "response_model", "finish_reasons",
        "input_tokens", "output_tokens", "cache_read_input_tokens",
        "cache_creation_input_tokens", "reasoning_output_tokens",
        "output_text", "output_messages", "embedding_dimensions", "cost_usd",
        "_first_chunk", "_last_chunk", "_chunks", "_text_parts", "_text_len", "_chunk_attributes",
    )
    _request_fields = ("provider", "model", "operation", "server_address", "server_port", *REQUEST_PARAMS)
    _kind = "llm"

    def __init__(
        self,
        provider: str,
        model: str | None,
        operation: str = sc.OP_CHAT,
        server_address: str | None = None,
        server_port: int | None = None,
        **request_params: Any,
    ) -> None:
        super().__init__()
        self.provider = provider
        self.model = model
        self.operation = operation
        self.server_address = server_address
        self.server_port = server_port
        self.temperature: float | None = None
        self.max_tokens: int | None = None
        self.top_p: float | None = None
        self.top_k: float | None = None
        self.frequency_penalty: float | None = None
        self.presence_penalty: float | None = None
        self.stop_sequences: Sequence[str] | None = None
        self.seed: int | None = None
        self.choice_count: int | None = None
        self.stream: bool | None = None
        self.encoding_formats: Sequence[str] | None = None
        self.output_type: str | None = None
        self.conversation_id: str | None = None
        self.input_messages: Any = None
        self.system_instructions: Any = None
        self.tool_definitions: Any = None
        for name, value in request_params.items():
            if name not in REQUEST_PARAMS:
                raise TypeError(
                    f"llm_call() got an unexpected keyword argument {name!r}; "
                    f"request parameters are: {', '.join(REQUEST_PARAMS)}"
                )
            setattr(self, name, value)
        self._init_response_fields()

    def _init_response_fields(self) -> None:
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: Sequence[str] | None = None
        self.input_tokens: int | None = None
        """Provider-reported input tokens, cached ones included (as the conventions count them)."""
        self.output_tokens: int | None = None
        self.cache_read_input_tokens: int | None = None
        self.cache_creation_input_tokens: int | None = None
        self.reasoning_output_tokens: int | None = None
        self.output_text: str | None = None
        """The answer text, if the app has it: response length, quality and (opt-in) content."""
        self.output_messages: Any = None
        self.embedding_dimensions: int | None = None
        self.cost_usd: float | None = None
        """Computed from usage and offline prices at the end; set it to override."""
        self._first_chunk: float | None = None
        self._last_chunk = 0.0
        self._chunks = 0
        self._text_parts: list[str] | None = None
        self._text_len = 0
        self._chunk_attributes: dict[str, Any] | None = None  # metric attributes of chunk points, fixed at the first

    # -- streaming ------------------------------------------------------------------
    def add_chunk(self, text: str | None = None) -> None:
        """Record that one output chunk arrived (optionally with its text)."""
        now = time.perf_counter()
        if self._first_chunk is None:
            self._first_chunk = now
            _recorder.first_chunk(self, now)
        else:
            _recorder.next_chunk(self, now - self._last_chunk)
        self._last_chunk = now
        self._chunks += 1
        if text:
            self._text_len += len(text)
            if self._text_parts is None:
                self._text_parts = []
            if self._text_len <= _OUTPUT_TEXT_LIMIT:
                self._text_parts.append(text)

    @property
    def time_to_first_chunk(self) -> float | None:
        return None if self._first_chunk is None else self._first_chunk - self._start

    @property
    def chunk_count(self) -> int:
        return self._chunks

    def streamed_text(self) -> str | None:
        return None if self._text_parts is None else "".join(self._text_parts)

    # -- decorator hooks ----------------------------------------------------------------
    def _on_return(self, value: Any) -> None:
        if isinstance(value, str) and self.output_text is None:
            self.output_text = value

    def _on_item(self, item: Any) -> None:
        self.add_chunk(item if isinstance(item, str) else None)
