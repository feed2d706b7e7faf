"""Anthropic SDK instrumentation: messages and beta messages (sync, async, streaming, ``stream()``, ``parse()``);
``AnthropicBedrock``/``AnthropicVertex`` clients report ``aws.bedrock``/``gcp.vertex_ai``.

Only translation lives here; the telemetry comes from ``llm_otel._recorder``. Per the
conventions, ``gen_ai.usage.input_tokens`` is input + cache read + cache creation tokens.

anthropic >= 2.x emits its own CLIENT span per API call once a tracer provider is set. While this
instrumentor is on, our span replaces it (one span per call, never two): clients get no SDK tracer
(``anthropic._base_client.get_tracer`` answers ``None``). Uninstrument, or disable this instrumentor
(``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=anthropic``), to keep the SDK's own spans instead.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Collection
from typing import Any

from wrapt import wrap_function_wrapper

from llm_otel import _semconv as sc
from llm_otel._llm import LLMInvocation
from llm_otel.instrumentors._base import Patch, ProviderInstrumentor
from llm_otel.instrumentors._sdk import (
    available,
    capturing,
    get,
    given,
    is_sdk_stream,
    output_type_of,
    parse_raw,
    plain,
    provider_of,
    server,
)
from llm_otel.instrumentors._wrap import StreamObserver, Translator, async_wrapper, stream_manager_wrapper, sync_wrapper

_MODULES = ("anthropic.resources.messages.messages", "anthropic.resources.beta.messages.messages")
# Cloud clients, for SDKs whose client classes do not declare ``_gen_ai_provider_name`` themselves
_CLIENT_PROVIDERS = {"BaseBedrockClient": sc.PROVIDER_AWS_BEDROCK, "BaseVertexClient": sc.PROVIDER_GCP_VERTEX_AI}


def _build(instance: Any, kwargs: dict[str, Any]) -> LLMInvocation:
    client = getattr(instance, "_client", None)
    address, port = server(client)
    provider = provider_of(client, sc.PROVIDER_ANTHROPIC, _CLIENT_PROVIDERS)
    inv = LLMInvocation(provider, given(kwargs.get("model")), sc.OP_CHAT, address, port)
    inv.max_tokens = given(kwargs.get("max_tokens"))
    inv.temperature = given(kwargs.get("temperature"))
    inv.top_p = given(kwargs.get("top_p"))
    inv.top_k = given(kwargs.get("top_k"))
    inv.stop_sequences = given(kwargs.get("stop_sequences"))
    inv.stream = bool(given(kwargs.get("stream"))) or None
    inv.input_messages = [_message(m) for m in given(kwargs.get("messages")) or ()] if capturing() else None
    inv.system_instructions = given(kwargs.get("system"))
    inv.tool_definitions = given(kwargs.get("tools"))
    config = given(kwargs.get("output_config"))
    effort = get(config, "effort")
    if effort:
        inv.attributes[sc.GEN_AI_REQUEST_REASONING_LEVEL] = str(effort)
    output_format = given(kwargs.get("output_format"))  # parse(): a pydantic class
    inv.output_type = output_type_of(output_format if output_format is not None else get(config, "format"))
    return inv


def _parts(content: Any) -> list[dict[str, Any]]:
    """Anthropic content blocks -> semconv parts."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts = []
    for block in content or ():
        block = plain(block)
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
    message = plain(message)
    role = message.get("role", "user")
    parts = _parts(message.get("content"))
    if parts and all(p["type"] == "tool_call_response" for p in parts):
        role = "tool"
    return {"role": role, "parts": parts}


def _fill_usage(inv: LLMInvocation, usage: Any) -> None:
    if usage is None:
        return
    read = get(usage, "cache_read_input_tokens")
    created = get(usage, "cache_creation_input_tokens")
    plain_input = get(usage, "input_tokens")
    if plain_input is not None:
        inv.input_tokens = plain_input + (read or 0) + (created or 0)
        inv.cache_read_input_tokens = read
        inv.cache_write_input_tokens = created
    output = get(usage, "output_tokens")
    if output is not None:
        inv.output_tokens = output


def _fill(inv: LLMInvocation, message: Any) -> None:
    inv.response_id = get(message, "id")
    inv.response_model = get(message, "model")
    reason = get(message, "stop_reason")
    inv.finish_reasons = [str(reason)] if reason else None
    _fill_usage(inv, get(message, "usage"))
    content = get(message, "content") or []
    texts = [get(b, "text") for b in content if get(b, "type") == "text"]
    if texts:
        inv.output_text = "".join(t or "" for t in texts)
    if capturing():
        inv.output_messages = [{"role": "assistant", "parts": _parts(content), "finish_reason": reason}]


def _observe(inv: LLMInvocation) -> StreamObserver:
    blocks: dict[int, dict[str, Any]] = {}
    content_on = capturing()
    stop_reason: list[str] = []

    def on_item(event: Any) -> None:
        kind = get(event, "type")
        if kind == "content_block_delta":
            delta = get(event, "delta")
            delta_type = get(delta, "type")
            if delta_type == "text_delta":
                text = get(delta, "text")
                inv.add_chunk(text)
                if content_on:
                    blocks.setdefault(get(event, "index", 0), {"type": "text", "text": ""})["text"] += text or ""
            elif delta_type == "input_json_delta":
                inv.add_chunk(None)
                if content_on:
                    block = blocks.setdefault(get(event, "index", 0), {"type": "tool_use", "input_json": ""})
                    block["input_json"] = block.get("input_json", "") + (get(delta, "partial_json") or "")
        elif kind == "message_start":
            message = get(event, "message")
            inv.response_id = get(message, "id")
            inv.response_model = get(message, "model")
            _fill_usage(inv, get(message, "usage"))
        elif kind == "content_block_start" and content_on:
            block = plain(get(event, "content_block"))
            blocks[get(event, "index", 0)] = {**block, "input_json": ""} if block.get("type") == "tool_use" else block
        elif kind == "message_delta":
            reason = get(get(event, "delta"), "stop_reason")
            if reason:
                stop_reason[:] = [str(reason)]
            _fill_usage_delta(inv, get(event, "usage"))

    def on_end() -> None:
        if stop_reason:
            inv.finish_reasons = list(stop_reason)
        if content_on and blocks:
            content = []
            for index in sorted(blocks):
                block = dict(blocks[index])
                if block.get("type") == "tool_use":
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
    output = get(usage, "output_tokens")
    if output is not None:
        inv.output_tokens = output
    if get(usage, "input_tokens") is not None:
        _fill_usage(inv, usage)






TRANSLATOR = Translator(_build, _fill, _observe, is_sdk_stream, parse_raw)


class AnthropicInstrumentor(ProviderInstrumentor):
    """Instruments the ``anthropic`` SDK: ``messages.create`` (sync/async/stream), ``messages.stream()`` and
    ``messages.parse()``, the same for ``beta.messages``."""

    library = "anthropic"

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("anthropic >= 0.40",)

    def _patches(self) -> list[Patch]:
        helper = stream_manager_wrapper(TRANSLATOR, _raw_stream_of)
        patches: list[Patch] = []
        for module in _MODULES:
            patches += [
                (module, "Messages.create", sync_wrapper(TRANSLATOR)),
                (module, "AsyncMessages.create", async_wrapper(TRANSLATOR)),
                (module, "Messages.parse", sync_wrapper(TRANSLATOR)),  # parse() posts on its own
                (module, "AsyncMessages.parse", async_wrapper(TRANSLATOR)),
                (module, "Messages.stream", helper),
                (module, "AsyncMessages.stream", helper),
            ]
        return available(patches)

    def _wrap(self) -> None:
        super()._wrap()
        module = _sdk_tracing_module()
        if module is not None and not hasattr(module.get_tracer, "__wrapped__"):
            wrap_function_wrapper(module, "get_tracer", _no_sdk_tracer)

    def _unwrap(self) -> None:
        super()._unwrap()
        module = _sdk_tracing_module()
        if module is not None and hasattr(module.get_tracer, "__wrapped__"):
            module.get_tracer = module.get_tracer.__wrapped__


def _sdk_tracing_module() -> Any:
    """The SDK module whose ``get_tracer`` gives each client its tracer (anthropic >= 2.x), or None."""
    try:
        module = importlib.import_module("anthropic._base_client")
    except ImportError:
        return None
    return module if callable(getattr(module, "get_tracer", None)) else None


def _no_sdk_tracer(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> None:
    """Our span replaces the SDK's own call span: the client gets no tracer (the SDK then calls nothing of OTel)."""
    return None


def _raw_stream_of(message_stream: Any) -> Any:
    """The SDK stream inside the ``messages.stream()`` helper's MessageStream."""
    return message_stream._raw_stream
