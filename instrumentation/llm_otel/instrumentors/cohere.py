"""Cohere SDK instrumentation (v2 client): ``chat``, ``chat_stream``, ``embed``, ``rerank``, sync and async.

``rerank`` generates nothing: it orders the caller's documents by relevance to a query and is
billed per search unit, not per token. So it is recorded as what it is, a retrieval
(``retrieval {model}`` span, ``gen_ai.operation.name = retrieval``, data source = the rerank
model, ``top_k`` = ``top_n``, the returned (document index, relevance score) pairs as the
documents, content-gated like any retrieval), not as an inference span with token metrics.

Instrument before building clients (``configure()``/``opentelemetry-instrument`` do): a cohere
client made with ``log_warning_experimental_features=True`` (the default) binds its own
``chat``/``chat_stream`` at construction, so one built earlier keeps the uninstrumented methods.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

import llm_otel
from llm_otel import _semconv as sc
from llm_otel._llm import LLMInvocation
from llm_otel._safety import report
from llm_otel.instrumentors._base import Patch, ProviderInstrumentor
from llm_otel.instrumentors._iterable import async_wrapper, is_iterable_stream, sync_wrapper
from llm_otel.instrumentors._sdk import capturing, get, given, plain, server_of_url
from llm_otel.instrumentors._wrap import StreamObserver, Translator

_MODULE = "cohere.v2.client"
_REQUEST = (("temperature", "temperature"), ("max_tokens", "max_tokens"), ("p", "top_p"), ("k", "top_k"),
            ("seed", "seed"), ("frequency_penalty", "frequency_penalty"), ("presence_penalty", "presence_penalty"),
            ("stop_sequences", "stop_sequences"))


def _server(instance: Any) -> tuple[str | None, int | None]:
    wrapper = get(get(instance, "_raw_client"), "_client_wrapper")
    base = wrapper.get_base_url() if wrapper is not None else None
    return server_of_url(base) if base else (None, None)


def _build(operation: str, stream: bool) -> Callable[[Any, dict[str, Any]], LLMInvocation]:
    def build(instance: Any, kwargs: dict[str, Any]) -> LLMInvocation:
        inv = LLMInvocation(sc.PROVIDER_COHERE, given(kwargs.get("model")), operation, *_server(instance))
        if operation == sc.OP_EMBEDDINGS:
            kinds = given(kwargs.get("embedding_types"))
            inv.encoding_formats = [str(k) for k in kinds] if kinds else None
            return inv
        for key, field in _REQUEST:
            value = given(kwargs.get(key))
            if value is not None:
                setattr(inv, field, value)
        inv.stream = stream or None
        fmt = get(given(kwargs.get("response_format")), "type")
        if fmt:
            inv.output_type = "json" if "json" in str(fmt) else str(fmt)
        inv.input_messages = [plain(m) for m in given(kwargs.get("messages")) or ()] if capturing() else None
        tools = given(kwargs.get("tools"))
        inv.tool_definitions = [plain(t) for t in tools] if tools else None
        return inv

    return build


def _fill_usage(inv: LLMInvocation, usage: Any) -> None:
    counts = get(usage, "tokens") or get(usage, "billed_units")
    if counts is None:
        return
    for source, field in (("input_tokens", "input_tokens"), ("output_tokens", "output_tokens")):
        value = get(counts, source)
        if value is not None:
            setattr(inv, field, int(value))
    cached = get(usage, "cached_tokens")
    if cached is not None:
        inv.cache_read_input_tokens = int(cached)


def _tool_part(call: Any) -> dict[str, Any]:
    fn = get(call, "function")
    return {"type": "tool_call", "id": get(call, "id"), "name": get(fn, "name"), "arguments": get(fn, "arguments")}


def _output(text: str | None, calls: list[Any], reason: str | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "content": text}] if text else []
    parts += [_tool_part(c) for c in calls]
    return {"role": "assistant", "parts": parts, "finish_reason": reason}


def _fill_chat(inv: LLMInvocation, response: Any) -> None:
    inv.response_id = get(response, "id")
    reason = get(response, "finish_reason")
    inv.finish_reasons = [str(reason)] if reason else None
    _fill_usage(inv, get(response, "usage"))
    message = get(response, "message")
    text = "".join(get(c, "text") or "" for c in get(message, "content") or () if get(c, "type") == "text")
    if text:
        inv.output_text = text
    if capturing():
        inv.output_messages = [_output(text, list(get(message, "tool_calls") or ()), reason)]


def _observe_chat(inv: LLMInvocation) -> StreamObserver:
    content_on = capturing()
    calls: dict[int, dict[str, Any]] = {}
    reason: list[str] = []

    def on_item(event: Any) -> None:
        kind = get(event, "type")
        message = get(get(event, "delta"), "message")
        if kind == "content-delta":
            inv.add_chunk(get(get(message, "content"), "text"))
        elif kind in ("tool-plan-delta", "tool-call-start", "tool-call-delta"):
            inv.add_chunk(None)
            if content_on and kind != "tool-plan-delta":
                call = get(message, "tool_calls")
                acc = calls.setdefault(get(event, "index") or 0, {"id": None, "function": {"name": None, "arguments": ""}})
                acc["id"] = get(call, "id") or acc["id"]
                fn = get(call, "function")
                acc["function"]["name"] = get(fn, "name") or acc["function"]["name"]
                acc["function"]["arguments"] += get(fn, "arguments") or ""
        elif kind == "message-start":
            inv.response_id = get(event, "id")
        elif kind == "message-end":
            delta = get(event, "delta")
            if get(delta, "finish_reason"):
                reason[:] = [str(get(delta, "finish_reason"))]
                inv.finish_reasons = list(reason)
            _fill_usage(inv, get(delta, "usage"))

    def on_end() -> None:
        if content_on and (calls or inv.streamed_text()):
            inv.output_messages = [_output(inv.streamed_text(), [calls[i] for i in sorted(calls)], next(iter(reason or ()), None))]

    return on_item, on_end


def _fill_embed(inv: LLMInvocation, response: Any) -> None:
    inv.response_id = get(response, "id")
    billed = get(get(response, "meta"), "billed_units")
    if get(billed, "input_tokens") is not None:
        inv.input_tokens = int(get(billed, "input_tokens"))
    embeddings = get(response, "embeddings")
    for kind in ("float_", "int8", "uint8", "binary", "ubinary"):
        vectors = get(embeddings, kind)
        if vectors:
            inv.embedding_dimensions = len(vectors[0])
            return
    if isinstance(embeddings, list) and embeddings:
        inv.embedding_dimensions = len(embeddings[0])


def _no_stream(inv: LLMInvocation) -> StreamObserver:
    return (lambda item: None), (lambda: None)


def _translator(build: Any, fill: Any, observe: Any = _no_stream) -> Translator:
    return Translator(build, fill, observe, is_iterable_stream)


CHAT = _translator(_build(sc.OP_CHAT, False), _fill_chat, _observe_chat)
CHAT_STREAM = _translator(_build(sc.OP_CHAT, True), _fill_chat, _observe_chat)
EMBED = _translator(_build(sc.OP_EMBEDDINGS, False), _fill_embed)


# -- rerank: a retrieval ---------------------------------------------------------------------


def _rerank_invocation(kwargs: dict[str, Any]) -> Any:
    if not is_instrumentation_enabled():
        return None
    try:
        query = given(kwargs.get("query"))
        inv = llm_otel.retrieval(str(given(kwargs.get("model")) or "rerank"), given(kwargs.get("top_n")),
                                 query if isinstance(query, str) else None, sc.PROVIDER_COHERE)
        inv.attributes[sc.GEN_AI_REQUEST_MODEL] = str(given(kwargs.get("model")))
        return inv
    except Exception as exc:
        report("request", exc)
        return None


def _fill_rerank(inv: Any, response: Any) -> None:
    try:
        inv.documents = [(str(get(r, "index")), get(r, "relevance_score")) for r in get(response, "results") or ()]
    except Exception as exc:
        report("response", exc)


def _rerank_sync(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    inv = _rerank_invocation(kwargs)
    if inv is None:
        return wrapped(*args, **kwargs)
    with inv:
        response = wrapped(*args, **kwargs)
        _fill_rerank(inv, response)
    return response


async def _rerank_async(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    inv = _rerank_invocation(kwargs)
    if inv is None:
        return await wrapped(*args, **kwargs)
    async with inv:
        response = await wrapped(*args, **kwargs)
        _fill_rerank(inv, response)
    return response


class CohereInstrumentor(ProviderInstrumentor):
    """Instruments the ``cohere`` v2 client (``ClientV2``/``AsyncClientV2``): chat, chat_stream, embed, rerank."""

    library = "cohere"

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("cohere >= 5.9",)

    def _patches(self) -> list[Patch]:
        return [
            (_MODULE, "V2Client.chat", sync_wrapper(CHAT)),
            (_MODULE, "V2Client.chat_stream", sync_wrapper(CHAT_STREAM)),
            (_MODULE, "V2Client.embed", sync_wrapper(EMBED)),
            (_MODULE, "V2Client.rerank", _rerank_sync),
            (_MODULE, "AsyncV2Client.chat", async_wrapper(CHAT)),
            (_MODULE, "AsyncV2Client.chat_stream", sync_wrapper(CHAT_STREAM)),  # an async generator: not awaited
            (_MODULE, "AsyncV2Client.embed", async_wrapper(EMBED)),
            (_MODULE, "AsyncV2Client.rerank", _rerank_async),
        ]
