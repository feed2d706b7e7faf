"""Mistral SDK instrumentation: ``chat.complete``, ``chat.stream`` (sync and async) and
``embeddings.create``/``create_async``.

Mistral's chat API has OpenAI's shape (choices, deltas, ``usage.prompt_tokens``...), so the
response side is the OpenAI translator's; only the request (``random_seed``, the SDK's ``UNSET``)
and the stream wrapper differ: ``chat.stream`` returns the SDK's own ``EventStream`` of events
whose ``data`` is the chunk, observed by ``_stream.observe_iterable``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Collection
from typing import Any

from llm_otel import _semconv as sc
from llm_otel._llm import LLMInvocation
from llm_otel.instrumentors import openai as openai_translation
from llm_otel.instrumentors._base import Patch, ProviderInstrumentor
from llm_otel.instrumentors._iterable import async_wrapper, is_iterable_stream, sync_wrapper
from llm_otel.instrumentors._sdk import get, given, server_of_url
from llm_otel.instrumentors._wrap import StreamObserver, Translator

_REQUEST = (("temperature", "temperature"), ("top_p", "top_p"), ("max_tokens", "max_tokens"), ("random_seed", "seed"),
            ("presence_penalty", "presence_penalty"), ("frequency_penalty", "frequency_penalty"), ("n", "choice_count"))


def _server(instance: Any) -> tuple[str | None, int | None]:
    config = getattr(instance, "sdk_configuration", None)
    url = config.get_server_details()[0] if config is not None else None
    return server_of_url(url) if url else (None, None)


def _build(operation: str, stream: bool) -> Callable[[Any, dict[str, Any]], LLMInvocation]:
    def build(instance: Any, kwargs: dict[str, Any]) -> LLMInvocation:
        inv = LLMInvocation(sc.PROVIDER_MISTRAL_AI, given(kwargs.get("model")), operation, *_server(instance))
        if operation == sc.OP_EMBEDDINGS:
            fmt = given(kwargs.get("output_dtype"))
            inv.encoding_formats = [str(fmt)] if fmt else None
            return inv
        for key, field in _REQUEST:
            value = given(kwargs.get(key))
            if value is not None:
                setattr(inv, field, value)
        stop = given(kwargs.get("stop"))
        inv.stop_sequences = [stop] if isinstance(stop, str) else stop
        inv.stream = stream or None
        fmt = get(given(kwargs.get("response_format")), "type")
        if fmt:
            inv.output_type = "json" if str(fmt) in ("json_object", "json_schema") else str(fmt)
        inv.input_messages = given(kwargs.get("messages"))
        inv.tool_definitions = given(kwargs.get("tools"))
        return inv

    return build


def _observe(inv: LLMInvocation) -> StreamObserver:
    on_chunk, on_end = openai_translation._observe_chat(inv)

    def on_item(event: Any) -> None:
        on_chunk(event.data)  # a CompletionEvent: the chunk is its data

    return on_item, on_end


def _fill_embeddings(inv: LLMInvocation, response: Any) -> None:
    openai_translation._fill_embeddings(inv, response)
    if not inv.output_tokens:  # Mistral reports completion_tokens: 0 for embeddings: there is no output
        inv.output_tokens = None


def _no_stream(inv: LLMInvocation) -> StreamObserver:
    return (lambda item: None), (lambda: None)


CHAT = Translator(_build(sc.OP_CHAT, False), openai_translation._fill_chat, _observe, is_iterable_stream)
CHAT_STREAM = Translator(_build(sc.OP_CHAT, True), openai_translation._fill_chat, _observe, is_iterable_stream)
EMBEDDINGS = Translator(_build(sc.OP_EMBEDDINGS, False), _fill_embeddings, _no_stream, is_iterable_stream)


class MistralAIInstrumentor(ProviderInstrumentor):
    """Instruments the ``mistralai`` SDK (``mistralai.client.Mistral``): chat and embeddings, sync/async/stream."""

    library = "mistralai.client"  # mistralai itself is a namespace package: no import hook fires for it

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("mistralai >= 1.0",)

    def _patches(self) -> list[Patch]:
        package = "mistralai.client" if importlib.util.find_spec("mistralai.client") else "mistralai"  # 2.x+ / 1.x
        chat, embeddings = f"{package}.chat", f"{package}.embeddings"
        return [
            (chat, "Chat.complete", sync_wrapper(CHAT)),
            (chat, "Chat.complete_async", async_wrapper(CHAT)),
            (chat, "Chat.stream", sync_wrapper(CHAT_STREAM)),
            (chat, "Chat.stream_async", async_wrapper(CHAT_STREAM)),
            (embeddings, "Embeddings.create", sync_wrapper(EMBEDDINGS)),
            (embeddings, "Embeddings.create_async", async_wrapper(EMBEDDINGS)),
        ]
