"""Ollama SDK instrumentation: ``chat``, ``generate``, ``embed`` on ``Client`` and ``AsyncClient``,
streaming included (a generator of partial responses, observed by ``_stream.observe_iterable``).

Ollama is self-hosted: its calls are counted (tokens from ``prompt_eval_count`` / ``eval_count``)
but unpriced, so no cost is recorded. The module-level ``ollama.chat`` & co. are bound methods of
a default client made at import time; they are re-bound so they go through the patched methods.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from typing import Any

from llm_otel import _semconv as sc
from llm_otel._llm import LLMInvocation
from llm_otel.instrumentors._base import Patch, ProviderInstrumentor
from llm_otel.instrumentors._iterable import async_wrapper, is_iterable_stream, sync_wrapper
from llm_otel.instrumentors._sdk import capturing, get, given, plain, server
from llm_otel.instrumentors._wrap import StreamObserver, Translator

_MODULE = "ollama._client"
_POSITIONAL = {"chat": ("model", "messages"), "generate": ("model", "prompt", "suffix"), "embed": ("model", "input")}
_MODULE_FUNCTIONS = ("chat", "generate", "embed")
_OPTIONS = (("temperature", "temperature"), ("top_p", "top_p"), ("top_k", "top_k"), ("num_predict", "max_tokens"),
            ("seed", "seed"), ("presence_penalty", "presence_penalty"), ("frequency_penalty", "frequency_penalty"))


def _tool_definition(tool: Any) -> Any:
    if callable(tool) and not hasattr(tool, "model_dump"):
        return {"type": "function", "function": {"name": getattr(tool, "__name__", str(tool))}}
    return plain(tool)


def _build(operation: str) -> Any:
    def build(instance: Any, kwargs: dict[str, Any]) -> LLMInvocation:
        address, port = server(getattr(instance, "_client", None))  # remembered per base URL
        inv = LLMInvocation(sc.PROVIDER_OLLAMA, given(kwargs.get("model")) or None, operation, address, port)
        if operation == sc.OP_EMBEDDINGS:
            return inv
        options = plain(given(kwargs.get("options")))
        for key, field in _OPTIONS:
            if options.get(key) is not None:
                setattr(inv, field, options[key])
        stop = options.get("stop")
        inv.stop_sequences = [stop] if isinstance(stop, str) else stop
        inv.stream = bool(kwargs.get("stream")) or None
        if given(kwargs.get("format")) is not None:
            inv.output_type = "json"
        if operation == sc.OP_CHAT:
            inv.input_messages = [plain(m) for m in given(kwargs.get("messages")) or ()] if capturing() else None
            tools = given(kwargs.get("tools"))
            inv.tool_definitions = [_tool_definition(t) for t in tools] if tools else None
        else:
            prompt = given(kwargs.get("prompt"))
            inv.input_messages = [{"role": "user", "content": prompt}] if prompt is not None and capturing() else None
            inv.system_instructions = given(kwargs.get("system"))
        return inv

    return build


def _fill_final(inv: LLMInvocation, response: Any) -> None:
    """Fields every (final) chat/generate response carries."""
    inv.response_model = get(response, "model") or inv.response_model
    reason = get(response, "done_reason")
    if reason:
        inv.finish_reasons = [str(reason)]
    prompt, output = get(response, "prompt_eval_count"), get(response, "eval_count")
    if prompt is not None:
        inv.input_tokens = prompt
    if output is not None:
        inv.output_tokens = output


def _text(response: Any) -> str | None:
    message = get(response, "message")
    text = get(message, "content") if message is not None else get(response, "response")
    return text if isinstance(text, str) else None


def _output_message(text: str | None, calls: list[Any], reason: str | None) -> dict[str, Any]:
    return {"role": "assistant", "content": text or "", "tool_calls": calls, "finish_reason": reason}


def _calls(message: Any) -> list[dict[str, Any]]:
    return [{"type": "function", "function": plain(get(c, "function"))} for c in get(message, "tool_calls") or ()]


def _fill(inv: LLMInvocation, response: Any) -> None:
    _fill_final(inv, response)
    text = _text(response)
    if text:
        inv.output_text = text
    if capturing():
        reason = inv.finish_reasons[0] if inv.finish_reasons else None
        inv.output_messages = [_output_message(text, _calls(get(response, "message")), reason)]


def _fill_embed(inv: LLMInvocation, response: Any) -> None:
    inv.response_model = get(response, "model")
    inv.input_tokens = get(response, "prompt_eval_count")
    vectors = get(response, "embeddings") or []
    if vectors:
        inv.embedding_dimensions = len(vectors[0])


def _observe(inv: LLMInvocation) -> StreamObserver:
    content_on = capturing()
    calls: list[Any] = []

    def on_item(part: Any) -> None:
        inv.add_chunk(_text(part) or None)
        if content_on:
            calls.extend(_calls(get(part, "message")))
        if get(part, "done"):
            _fill_final(inv, part)

    def on_end() -> None:
        if content_on and (calls or inv.streamed_text()):
            inv.output_messages = [_output_message(inv.streamed_text(), calls, next(iter(inv.finish_reasons or ()), None))]

    return on_item, on_end


def _nothing_streamed(inv: LLMInvocation) -> StreamObserver:
    return (lambda item: None), (lambda: None)


TRANSLATORS = {
    "chat": Translator(_build(sc.OP_CHAT), _fill, _observe, is_iterable_stream),
    "generate": Translator(_build(sc.OP_TEXT_COMPLETION), _fill, _observe, is_iterable_stream),
    "embed": Translator(_build(sc.OP_EMBEDDINGS), _fill_embed, _nothing_streamed, is_iterable_stream),
}


class OllamaInstrumentor(ProviderInstrumentor):
    """Instruments the ``ollama`` SDK: ``chat``, ``generate``, ``embed`` (sync, async, streaming)."""

    library = "ollama"

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("ollama >= 0.4",)

    def _patches(self) -> list[Patch]:
        return [
            (_MODULE, f"{cls}.{name}", (async_wrapper if is_async else sync_wrapper)(translator, _POSITIONAL[name]))
            for name, translator in TRANSLATORS.items()
            for cls, is_async in (("Client", False), ("AsyncClient", True))
        ]

    def _wrap(self) -> None:
        super()._wrap()
        _rebind_module_functions()

    def _unwrap(self) -> None:
        super()._unwrap()
        _rebind_module_functions()


def _rebind_module_functions() -> None:
    """``ollama.chat`` is ``ollama._client.chat`` bound at import: bind it again to the class's current method."""
    ollama = importlib.import_module("ollama")
    default = getattr(ollama, "_client", None)
    if default is None:
        return
    for name in _MODULE_FUNCTIONS:
        if hasattr(ollama, name):
            setattr(ollama, name, getattr(default, name))
