"""Anthropic SDK instrumentation: messages (sync, async, streaming, ``messages.stream()``).

Only translation lives here; the telemetry comes from ``llm_otel._recorder``. Per the
conventions, ``gen_ai.usage.input_tokens`` is input + cache read + cache creation tokens.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from llm_otel import _settings, _telemetry
from llm_otel import _semconv as sc
from llm_otel._llm import LLMInvocation
from llm_otel.instrumentors._wrap import (
    StreamObserver, Translator, async_wrapper, server_of, stream_manager_wrapper, sync_wrapper,
)
from llm_otel.instrumentors.openai import _capturing, _get, _given, _plain

_MODULE = "anthropic.resources.messages.messages"


def _build(instance: Any, kwargs: dict[str, Any]) -> LLMInvocation:
    address, port = server_of(getattr(instance, "_client", None))
    inv = LLMInvocation(sc.PROVIDER_ANTHROPIC, _given(kwargs.get("model")), sc.OP_CHAT, address, port)
    inv.max_tokens = _given(kwargs.get("max_tokens"))
    inv.temperature = _given(kwargs.get("temperature"))
    inv.top_p = _given(kwargs.get("top_p"))
    inv.top_k = _given(kwargs.get("top_k"))
    inv.stop_sequences = _given(kwargs.get("stop_sequences"))
    inv.stream = bool(_given(kwargs.get("stream"))) or None
    inv.input_messages = [_message(m) for m in _given(kwargs.get("messages")) or ()] if _capturing() else None
    inv.system_instructions = _given(kwargs.get("system"))
    inv.tool_definitions = _given(kwargs.get("tools"))
    return inv


def _parts(content: Any) -> list[dict[str, Any]]:
    """Anthropic content blocks -> semconv parts."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts = []
    for block in content or ():
        block = _plain(block)
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": block.get("text", "")})
        elif kind == "tool_use":
            parts.append({"type": "tool_call", "id": block.get("id"), "name": block.get("name"), "arguments": block.get("input")})
        elif kind == "tool_result":
            parts.append({"type": "tool_call_response", "id": block.get("tool_use_id"), "response": block.get("content")})
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": block.get("thinking", "")})
        else:
            parts.append({"type": str(kind), "content": block})
    return parts


def _message(message: Any) -> dict[str, Any]:
    message = _plain(message)
    role = message.get("role", "user")
    parts = _parts(message.get("content"))
    if parts and all(p["type"] == "tool_call_response" for p in parts):
        role = "tool"
    return {"role": role, "parts": parts}


def _fill_usage(inv: LLMInvocation, usage: Any) -> None:
    if usage is None:
        return
    read = _get(usage, "cache_read_input_tokens")
    created = _get(usage, "cache_creation_input_tokens")
    plain_input = _get(usage, "input_tokens")
    if plain_input is not None:
        inv.input_tokens = plain_input + (read or 0) + (created or 0)
        inv.cache_read_input_tokens = read
        inv.cache_creation_input_tokens = created
    output = _get(usage, "output_tokens")
    if output is not None:
        inv.output_tokens = output


def _fill(inv: LLMInvocation, message: Any) -> None:
    inv.response_id = _get(message, "id")
    inv.response_model = _get(message, "model")
    reason = _get(message, "stop_reason")
    inv.finish_reasons = [str(reason)] if reason else None
    _fill_usage(inv, _get(message, "usage"))
    content = _get(message, "content") or []
    texts = [_get(b, "text") for b in content if _get(b, "type") == "text"]
    if texts:
        inv.output_text = "".join(t or "" for t in texts)
    if _capturing():
        inv.output_messages = [{"role": "assistant", "parts": _parts(content), "finish_reason": reason}]


def _observe(inv: LLMInvocation) -> StreamObserver:
    blocks: dict[int, dict[str, Any]] = {}
    capturing = _capturing()
    stop_reason: list[str] = []

    def on_item(event: Any) -> None:
        kind = _get(event, "type")
        if kind == "content_block_delta":
            delta = _get(event, "delta")
            delta_type = _get(delta, "type")
            if delta_type == "text_delta":
                text = _get(delta, "text")
                inv.add_chunk(text)
                if capturing:
                    blocks.setdefault(_get(event, "index", 0), {"type": "text", "text": ""})["text"] += text or ""
            elif delta_type == "input_json_delta":
                inv.add_chunk(None)
                if capturing:
                    block = blocks.setdefault(_get(event, "index", 0), {"type": "tool_use", "input_json": ""})
                    block["input_json"] = block.get("input_json", "") + (_get(delta, "partial_json") or "")
        elif kind == "message_start":
            message = _get(event, "message")
            inv.response_id = _get(message, "id")
            inv.response_model = _get(message, "model")
            _fill_usage(inv, _get(message, "usage"))
        elif kind == "content_block_start" and capturing:
            block = _plain(_get(event, "content_block"))
            blocks[_get(event, "index", 0)] = {**block, "input_json": ""} if block.get("type") == "tool_use" else block
        elif kind == "message_delta":
            reason = _get(_get(event, "delta"), "stop_reason")
            if reason:
                stop_reason[:] = [str(reason)]
            _fill_usage_delta(inv, _get(event, "usage"))

    def on_end() -> None:
        if stop_reason:
            inv.finish_reasons = list(stop_reason)
        if capturing and blocks:
            content = []
            for index in sorted(blocks):
                block = dict(blocks[index])
                if block.get("type") == "tool_use":
                    import json

                    try:
                        block["input"] = json.loads(block.pop("input_json") or "{}")
                    except ValueError:
                        block["input"] = block.pop("input_json", "")
                content.append(block)
            inv.output_messages = [{"role": "assistant", "parts": _parts(content), "finish_reason": stop_reason[0] if stop_reason else None}]

    return on_item, on_end


def _fill_usage_delta(inv: LLMInvocation, usage: Any) -> None:
    """message_delta carries cumulative output tokens (and, on newer APIs, the input side too)."""
    if usage is None:
        return
    output = _get(usage, "output_tokens")
    if output is not None:
        inv.output_tokens = output
    if _get(usage, "input_tokens") is not None:
        _fill_usage(inv, usage)


def _is_stream(obj: Any) -> bool:
    return type(obj).__name__ in ("Stream", "AsyncStream")


def _parse_raw(result: Any) -> Any:
    if type(result).__name__ == "LegacyAPIResponse":
        return result.parse()
    return None


TRANSLATOR = Translator(_build, _fill, _observe, _is_stream, _parse_raw)


class AnthropicInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the ``anthropic`` SDK: ``messages.create`` (sync/async/stream) and ``messages.stream()``."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("anthropic >= 0.40",)

    def _instrument(self, **kwargs: Any) -> None:
        providers = {k: kwargs.get(k) for k in ("tracer_provider", "meter_provider", "logger_provider")}
        if any(providers.values()):
            _telemetry.bind(**providers)
        _settings.reload()
        wrap_function_wrapper(_MODULE, "Messages.create", sync_wrapper(TRANSLATOR))
        wrap_function_wrapper(_MODULE, "AsyncMessages.create", async_wrapper(TRANSLATOR))
        raw_of = lambda message_stream: message_stream._raw_stream  # noqa: E731 - the SDK stream inside the helper
        wrap_function_wrapper(_MODULE, "Messages.stream", stream_manager_wrapper(TRANSLATOR, raw_of))
        wrap_function_wrapper(_MODULE, "AsyncMessages.stream", stream_manager_wrapper(TRANSLATOR, raw_of))

    def _uninstrument(self, **kwargs: Any) -> None:
        module = importlib.import_module(_MODULE)
        for cls in ("Messages", "AsyncMessages"):
            unwrap(getattr(module, cls), "create")
            unwrap(getattr(module, cls), "stream")
