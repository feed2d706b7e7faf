"""google-genai SDK instrumentation: ``models.generate_content``, ``generate_content_stream``,
``embed_content`` and their ``aio`` variants; ``chats`` go through them. Gemini Developer API
(provider ``gcp.gemini``) and Vertex AI (``gcp.vertex_ai``), as the client is configured.

Usage, per the conventions: input tokens = ``prompt_token_count`` (cached ones included, also
reported as ``cache_read``); output tokens = ``candidates_token_count`` + ``thoughts_token_count``
(thinking is billed as output), the thoughts also reported as reasoning tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from llm_otel import _semconv as sc
from llm_otel._llm import LLMInvocation
from llm_otel.instrumentors._base import Patch, ProviderInstrumentor
from llm_otel.instrumentors._iterable import async_wrapper, is_iterable_stream, sync_wrapper
from llm_otel.instrumentors._sdk import capturing, get, given, plain, server_of_url
from llm_otel.instrumentors._wrap import StreamObserver, Translator

_MODULE = "google.genai.models"
_CONFIG = (("temperature", "temperature"), ("top_p", "top_p"), ("top_k", "top_k"), ("max_output_tokens", "max_tokens"),
           ("seed", "seed"), ("candidate_count", "choice_count"), ("presence_penalty", "presence_penalty"),
           ("frequency_penalty", "frequency_penalty"), ("stop_sequences", "stop_sequences"))


def _provider_and_server(instance: Any) -> tuple[str, str | None, int | None]:
    client = getattr(instance, "_api_client", None)
    provider = sc.PROVIDER_GCP_VERTEX_AI if getattr(client, "vertexai", False) else sc.PROVIDER_GCP_GEMINI
    base = get(getattr(client, "_http_options", None), "base_url")
    return (provider, *server_of_url(base)) if base else (provider, None, None)


def _model(kwargs: dict[str, Any]) -> str | None:
    model = given(kwargs.get("model"))
    return str(model).rsplit("models/", 1)[-1] if model else None


# -- contents -> the conventions' message schema ---------------------------------------------------


def _part(part: Any) -> dict[str, Any]:
    if isinstance(part, str):
        return {"type": "text", "content": part}
    part = plain(part)
    if part.get("text") is not None:
        return {"type": "reasoning" if part.get("thought") else "text", "content": part["text"]}
    if part.get("function_call"):
        call = part["function_call"]
        return {"type": "tool_call", "id": call.get("id"), "name": call.get("name"), "arguments": call.get("args")}
    if part.get("function_response"):
        result = part["function_response"]
        return {"type": "tool_call_response", "id": result.get("id") or result.get("name"), "response": result.get("response")}
    if part.get("inline_data"):
        return {"type": "blob", "mime_type": part["inline_data"].get("mime_type"), "modality": "image"}
    if part.get("file_data"):
        return {"type": "uri", "uri": part["file_data"].get("file_uri"), "mime_type": part["file_data"].get("mime_type")}
    return {"type": "unknown", "content": part}


def _message(content: Any) -> dict[str, Any]:
    if isinstance(content, str) or not _is_content(content):
        return {"role": "user", "parts": [_part(content)]}
    role = get(content, "role") or "user"
    parts = [_part(p) for p in get(content, "parts") or ()]
    if parts and all(p["type"] == "tool_call_response" for p in parts):
        role = "tool"
    return {"role": "assistant" if role == "model" else role, "parts": parts}


def _is_content(obj: Any) -> bool:
    return get(obj, "parts") is not None or get(obj, "role") is not None


def _messages(contents: Any) -> list[dict[str, Any]]:
    if contents is None:
        return []
    if isinstance(contents, (str, dict)) or not isinstance(contents, (list, tuple)):
        contents = [contents]
    if contents and not any(_is_content(c) for c in contents):  # a list of parts is one user message
        return [{"role": "user", "parts": [_part(p) for p in contents]}]
    return [_message(c) for c in contents]


# -- request ------------------------------------------------------------------------------------------


def _build(operation: str, stream: bool) -> Callable[[Any, dict[str, Any]], LLMInvocation]:
    def build(instance: Any, kwargs: dict[str, Any]) -> LLMInvocation:
        provider, address, port = _provider_and_server(instance)
        inv = LLMInvocation(provider, _model(kwargs), operation, address, port)
        config = given(kwargs.get("config"))
        if operation == sc.OP_EMBEDDINGS:
            return inv
        for key, field in _CONFIG:
            value = get(config, key)
            if value is not None:
                setattr(inv, field, value)
        inv.stream = stream or None
        mime = get(config, "response_mime_type")
        if mime:
            inv.output_type = "json" if "json" in mime else "text"
        if capturing():
            inv.input_messages = _messages(given(kwargs.get("contents")))
            system = get(config, "system_instruction")
            if system is not None:
                inv.system_instructions = [p for m in _messages(system) for p in m["parts"]]
        tools = get(config, "tools")
        inv.tool_definitions = [plain(t) if not callable(t) else {"name": getattr(t, "__name__", "")} for t in tools] if tools else None
        return inv

    return build


# -- response -----------------------------------------------------------------------------------------


def _fill_usage(inv: LLMInvocation, usage: Any) -> None:
    if usage is None:
        return
    prompt, candidates = get(usage, "prompt_token_count"), get(usage, "candidates_token_count")
    thoughts = get(usage, "thoughts_token_count")
    if prompt is not None:
        inv.input_tokens = prompt
    if candidates is not None or thoughts is not None:
        inv.output_tokens = (candidates or 0) + (thoughts or 0)
    if thoughts is not None:
        inv.reasoning_output_tokens = thoughts
    cached = get(usage, "cached_content_token_count")
    if cached is not None:
        inv.cache_read_input_tokens = cached


def _reason(candidate: Any) -> str | None:
    reason = get(candidate, "finish_reason")
    return str(getattr(reason, "value", reason)).lower() if reason else None


def _text(response: Any) -> str:
    candidates = get(response, "candidates") or ()
    parts = get(get(candidates[0], "content"), "parts") or () if candidates else ()
    return "".join(get(p, "text") or "" for p in parts if not get(p, "thought"))


def _fill_meta(inv: LLMInvocation, response: Any) -> None:
    inv.response_id = get(response, "response_id") or inv.response_id
    inv.response_model = get(response, "model_version") or inv.response_model
    _fill_usage(inv, get(response, "usage_metadata"))


def _fill(inv: LLMInvocation, response: Any) -> None:
    _fill_meta(inv, response)
    candidates = get(response, "candidates") or []
    reasons = [r for r in (_reason(c) for c in candidates) if r]
    inv.finish_reasons = reasons or None
    text = _text(response)
    if text:
        inv.output_text = text
    if capturing():
        inv.output_messages = [{**_message(get(c, "content") or {"role": "model", "parts": []}), "finish_reason": _reason(c)}
                               for c in candidates]


def _observe(inv: LLMInvocation) -> StreamObserver:
    content_on = capturing()
    parts: list[dict[str, Any]] = []
    reason: list[str] = []

    def on_item(chunk: Any) -> None:
        _fill_meta(inv, chunk)
        candidates = get(chunk, "candidates") or ()
        inv.add_chunk(_text(chunk) or None)
        if not candidates:
            return
        if _reason(candidates[0]):
            reason[:] = [_reason(candidates[0]) or ""]
        if content_on:
            for part in get(get(candidates[0], "content"), "parts") or ():
                converted = _part(part)
                if converted["type"] == "text" and parts and parts[-1]["type"] == "text":
                    parts[-1]["content"] += converted["content"]
                else:
                    parts.append(converted)

    def on_end() -> None:
        if reason:
            inv.finish_reasons = list(reason)
        if content_on and parts:
            inv.output_messages = [{"role": "assistant", "parts": parts, "finish_reason": next(iter(reason or ()), None)}]

    return on_item, on_end


def _fill_embed(inv: LLMInvocation, response: Any) -> None:
    embeddings = get(response, "embeddings") or []
    if embeddings and get(embeddings[0], "values"):
        inv.embedding_dimensions = len(get(embeddings[0], "values"))
    counts = [get(get(e, "statistics"), "token_count") for e in embeddings]  # Vertex reports tokens per text
    if counts and all(c is not None for c in counts):
        inv.input_tokens = int(sum(counts))


def _no_stream(inv: LLMInvocation) -> StreamObserver:
    return (lambda item: None), (lambda: None)


GENERATE = Translator(_build(sc.OP_GENERATE_CONTENT, False), _fill, _observe, is_iterable_stream)
GENERATE_STREAM = Translator(_build(sc.OP_GENERATE_CONTENT, True), _fill, _observe, is_iterable_stream)
EMBED = Translator(_build(sc.OP_EMBEDDINGS, False), _fill_embed, _no_stream, is_iterable_stream)


class GoogleGenAIInstrumentor(ProviderInstrumentor):
    """Instruments the ``google-genai`` SDK (``from google import genai``): content generation
    (sync, async, streaming, chats) and embeddings, Gemini Developer API and Vertex AI."""

    library = "google.genai"

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("google-genai >= 1.0",)

    def _patches(self) -> list[Patch]:
        return [
            (_MODULE, "Models.generate_content", sync_wrapper(GENERATE)),
            (_MODULE, "Models.generate_content_stream", sync_wrapper(GENERATE_STREAM)),
            (_MODULE, "Models.embed_content", sync_wrapper(EMBED)),
            (_MODULE, "AsyncModels.generate_content", async_wrapper(GENERATE)),
            (_MODULE, "AsyncModels.generate_content_stream", async_wrapper(GENERATE_STREAM)),
            (_MODULE, "AsyncModels.embed_content", async_wrapper(EMBED)),
        ]
