"""An inference call: chat, text completion, content generation or embeddings."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Annotated, Any

from opentelemetry.context import get_value

from llm_otel import _recorder
from llm_otel import _semconv as sc
from llm_otel._fields import (
    Phase,
    as_float,
    as_int,
    attribute_copier,
    clearer,
    fields_of,
    not_one,
    request,
    response,
    slot_names,
    str_list,
    true_or_none,
    truthy,
)
from llm_otel._invocation import Invocation
from llm_otel._keys import INVOCATION_KEY, STARTED

_OUTPUT_TEXT_LIMIT = 1 << 20  # chars kept from streamed str chunks (length is always counted)


class LLMInvocation(Invocation):
    """One call to a model. Set the response fields; the telemetry follows.

    >>> with llm_otel.llm_call(provider="openai", model="gpt-4o-mini") as call:
    ...     call.input_tokens, call.output_tokens = 12, 40

    Each field below is declared once: its type, the span attribute it fills, and whether it is
    known at the request (on the span from the start, an ``llm_call()`` keyword, merged by the
    duplicate guard) or at the response (set at the end). Unset fields read as None.
    """

    # -- request: known when the call starts ------------------------------------------------------
    server_address: Annotated[str | None, request(sc.SERVER_ADDRESS, truthy, param=False)]
    server_port: Annotated[int | None, request(sc.SERVER_PORT, truthy, param=False)]
    temperature: Annotated[float | None, request(sc.GEN_AI_REQUEST_TEMPERATURE, as_float)]
    max_tokens: Annotated[int | None, request(sc.GEN_AI_REQUEST_MAX_TOKENS)]
    top_p: Annotated[float | None, request(sc.GEN_AI_REQUEST_TOP_P, as_float)]
    top_k: Annotated[float | None, request(sc.GEN_AI_REQUEST_TOP_K, as_int)]
    frequency_penalty: Annotated[float | None, request(sc.GEN_AI_REQUEST_FREQUENCY_PENALTY, as_float)]
    presence_penalty: Annotated[float | None, request(sc.GEN_AI_REQUEST_PRESENCE_PENALTY, as_float)]
    stop_sequences: Annotated[Sequence[str] | None, request(sc.GEN_AI_REQUEST_STOP_SEQUENCES, str_list)]
    seed: Annotated[int | None, request(sc.GEN_AI_REQUEST_SEED)]
    choice_count: Annotated[int | None, request(sc.GEN_AI_REQUEST_CHOICE_COUNT, not_one)]
    stream: Annotated[bool | None, request(sc.GEN_AI_REQUEST_STREAM, true_or_none)]
    encoding_formats: Annotated[Sequence[str] | None, request(sc.GEN_AI_REQUEST_ENCODING_FORMATS, str_list)]
    output_type: Annotated[str | None, request(sc.GEN_AI_OUTPUT_TYPE)]
    conversation_id: Annotated[str | None, request(sc.GEN_AI_CONVERSATION_ID)]
    # content: on spans and events only when capture is on (the recorder's content path reads them)
    input_messages: Annotated[Any, request()]
    system_instructions: Annotated[Any, request()]
    tool_definitions: Annotated[Any, request()]

    # -- response: known when the call ends --------------------------------------------------------
    response_id: Annotated[str | None, response(sc.GEN_AI_RESPONSE_ID)]
    response_model: Annotated[str | None, response(sc.GEN_AI_RESPONSE_MODEL)]
    finish_reasons: Annotated[Sequence[str] | None, response(sc.GEN_AI_RESPONSE_FINISH_REASONS, str_list)]
    input_tokens: Annotated[int | None, response(sc.GEN_AI_USAGE_INPUT_TOKENS)]
    """Provider-reported input tokens, cached ones included (as the conventions count them)."""
    output_tokens: Annotated[int | None, response(sc.GEN_AI_USAGE_OUTPUT_TOKENS)]
    cache_read_input_tokens: Annotated[int | None, response(sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)]
    cache_write_input_tokens: Annotated[int | None, response(sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS)]
    reasoning_output_tokens: Annotated[int | None, response(sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS)]
    embedding_dimensions: Annotated[int | None, response(sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT, truthy)]
    cost_usd: Annotated[float | None, response(sc.LLM_OTEL_COST_USD)]
    """Computed from usage and offline prices at the end; set it to override."""
    output_text: Annotated[str | None, response()]
    """The answer text, if the app has it: response length, quality and (opt-in) content."""
    output_messages: Annotated[Any, response()]

    __slots__ = (
        "provider", "model", "operation", *slot_names(__annotations__),
        "_first_chunk", "_last_chunk", "_chunks", "_text_parts", "_text_len", "_chunk_attributes",
    )

    def __init__(
        self,
        provider: str,
        model: str | None,
        operation: str = sc.OP_CHAT,
        server_address: str | None = None,
        server_port: int | None = None,
        **request_params: Any,
    ) -> None:
        Invocation.__init__(self)
        self._init_response_fields()  # every declared field starts as None
        self.provider = provider
        self.model = model
        self.operation = operation
        self.server_address = server_address
        self.server_port = server_port
        for name, value in request_params.items():
            if name not in REQUEST_PARAMS:
                raise TypeError(
                    f"llm_call() got an unexpected keyword argument {name!r}; "
                    f"request parameters are: {', '.join(REQUEST_PARAMS)}"
                )
            setattr(self, name, value)

    def _init_response_fields(self) -> None:
        _clear_fields(self)
        self._first_chunk: float | None = None
        self._last_chunk = 0.0
        self._chunks = 0
        self._text_parts: list[str] | None = None
        self._text_len = 0
        self._chunk_attributes: dict[str, Any] | None = None  # of the per-chunk points, set at the first chunk; None: none

    # -- telemetry (the recorder decides what the fields become) ----------------------------------
    def _copy_start_attributes(self, out: dict[str, Any]) -> None:
        """Put the request fields that are set into ``out`` (generated from the declarations, below)."""

    def _copy_end_attributes(self, out: dict[str, Any]) -> None:
        """Put the response fields that are set into ``out`` (generated from the declarations, below)."""

    _span_start = _recorder.start_llm
    _span_end = _recorder.finish_llm

    # -- streaming ------------------------------------------------------------------
    def add_chunk(self, text: str | None = None) -> None:
        """Record that one output chunk arrived (optionally with its text)."""
        now = time.perf_counter()
        if self._first_chunk is None:
            self._first_chunk = now
            _recorder.first_chunk(self, now)
        elif self._chunk_attributes is not None:
            _recorder.next_chunk(self, now - self._last_chunk, self._chunk_attributes)
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


# -- derived from the declarations above ---------------------------------------------------------------
FIELDS = fields_of(LLMInvocation)
REQUEST_FIELDS: tuple[str, ...] = tuple(n for n, f in FIELDS.items() if f.phase is Phase.REQUEST)
REQUEST_PARAMS: tuple[str, ...] = tuple(n for n in REQUEST_FIELDS if FIELDS[n].param)
"""The keyword arguments ``llm_call(**request_params)`` accepts."""
MERGED_FIELDS: tuple[str, ...] = tuple(n for n in REQUEST_FIELDS if FIELDS[n].merge)
"""What the duplicate guard copies into an open invocation that lacks it."""
LLMInvocation._request_fields = ("provider", "model", "operation", *REQUEST_FIELDS)
_clear_fields = clearer(tuple(FIELDS))
LLMInvocation._copy_start_attributes = attribute_copier(  # type: ignore[method-assign,assignment]
    [(n, f.attribute, f.convert) for n, f in FIELDS.items() if f.phase is Phase.REQUEST and f.attribute]
)
LLMInvocation._copy_end_attributes = attribute_copier(  # type: ignore[method-assign,assignment]
    [(n, f.attribute, f.convert) for n, f in FIELDS.items() if f.phase is Phase.RESPONSE and f.attribute]
)


def open_llm_invocation() -> LLMInvocation | None:
    """The llm_otel inference invocation open in this context, or None (the duplicate guard)."""
    inv = get_value(INVOCATION_KEY)
    if isinstance(inv, LLMInvocation) and inv._state == STARTED:
        return inv
    return None


def merge_request(outer: LLMInvocation, inner: LLMInvocation) -> None:
    """The duplicate guard's merge: the open invocation learns what it does not know yet (the model
    included). Request fields learnt after its span started reach the span when it finishes."""
    if outer.model is None and inner.model is not None:
        outer.model = inner.model
    for name in MERGED_FIELDS:
        if getattr(outer, name) is None:
            value = getattr(inner, name)
            if value is not None:
                setattr(outer, name, value)
