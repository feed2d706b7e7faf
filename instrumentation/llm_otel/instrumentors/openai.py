"""OpenAI SDK instrumentation: chat completions, legacy completions, embeddings and the Responses API.

Only translation lives here (SDK request and response objects -> ``LLMInvocation``
fields); spans, metrics, cost and content come from ``llm_otel._recorder``.
``server.address``/``server.port`` come from the client's base URL, so
OpenAI-compatible servers (vLLM, Ollama, LiteLLM) are labelled by where they are.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from llm_otel import _semconv as sc
from llm_otel import _settings
from llm_otel._llm import LLMInvocation
from llm_otel.instrumentors._base import Patch, ProviderInstrumentor
from llm_otel.instrumentors._sdk import (
    available,
    capturing,
    deferring,
    get,
    given,
    is_sdk_stream,
    output_type_of,
    parse_raw,
    plain,
    provider_of,
    server,
)
from llm_otel.instrumentors._wrap import StreamObserver, Translator, async_wrapper, sync_wrapper

_CHAT_MODULE = "openai.resources.chat.completions.completions"
_COMPLETIONS_MODULE = "openai.resources.completions"
_EMBEDDINGS_MODULE = "openai.resources.embeddings"
_RESPONSES_MODULE = "openai.resources.responses.responses"
# (module, class, method, translator, async): parse() posts on its own (it does not go through create())
_PATCHES = (
    (_CHAT_MODULE, "Completions", "create", "chat", False),
    (_CHAT_MODULE, "AsyncCompletions", "create", "chat", True),
    (_CHAT_MODULE, "Completions", "parse", "chat", False),
    (_CHAT_MODULE, "AsyncCompletions", "parse", "chat", True),
    (_COMPLETIONS_MODULE, "Completions", "create", "completions", False),
    (_COMPLETIONS_MODULE, "AsyncCompletions", "create", "completions", True),
    (_EMBEDDINGS_MODULE, "Embeddings", "create", "embeddings", False),
    (_EMBEDDINGS_MODULE, "AsyncEmbeddings", "create", "embeddings", True),
    (_RESPONSES_MODULE, "Responses", "create", "responses", False),
    (_RESPONSES_MODULE, "AsyncResponses", "create", "responses", True),
    (_RESPONSES_MODULE, "Responses", "parse", "responses", False),
    (_RESPONSES_MODULE, "AsyncResponses", "parse", "responses", True),
)
_FINISH_FROM_STATUS = {"completed": "stop", "incomplete": "length", "failed": "error", "cancelled": "cancelled"}
# The official OpenTelemetry instrumentation (opentelemetry-instrumentation-genai-openai): where it wraps a method
# too, it records the call and ours steps aside, whichever was instrumented first
_OFFICIAL_INSTRUMENTATION = "opentelemetry.instrumentation.genai.openai"
# Clients whose calls go to another provider than OpenAI (matched by class name along the client's MRO)
_CLIENT_PROVIDERS = {"BaseAzureClient": sc.PROVIDER_AZURE_AI_OPENAI}


def _new_invocation(instance: Any, kwargs: dict[str, Any], operation: str) -> LLMInvocation:
    client = getattr(instance, "_client", None)
    address, port = server(client)
    provider = provider_of(client, sc.PROVIDER_OPENAI, _CLIENT_PROVIDERS)
    inv = LLMInvocation(provider, given(kwargs.get("model")), operation, address, port)
    inv.temperature = given(kwargs.get("temperature"))
    inv.top_p = given(kwargs.get("top_p"))
    inv.seed = given(kwargs.get("seed"))
    inv.stream = bool(given(kwargs.get("stream"))) or None
    tier = given(kwargs.get("service_tier"))
    if tier:
        inv.attributes[sc.OPENAI_REQUEST_SERVICE_TIER] = str(tier)
    return inv


def _sampling(inv: LLMInvocation, kwargs: dict[str, Any]) -> None:
    """What chat and legacy completions share: penalties, stop sequences, n, streamed usage."""
    inv.max_tokens = given(kwargs.get("max_completion_tokens")) or given(kwargs.get("max_tokens"))
    inv.frequency_penalty = given(kwargs.get("frequency_penalty"))
    inv.presence_penalty = given(kwargs.get("presence_penalty"))
    stop = given(kwargs.get("stop"))
    inv.stop_sequences = [stop] if isinstance(stop, str) else stop
    inv.choice_count = given(kwargs.get("n"))
    if inv.stream and _settings.get().openai_include_usage and given(kwargs.get("stream_options")) is None:
        kwargs["stream_options"] = {"include_usage": True}  # opt-in: servers then send a usage chunk


# -- chat completions -----------------------------------------------------------------------


def _build_chat(instance: Any, kwargs: dict[str, Any]) -> LLMInvocation:
    inv = _new_invocation(instance, kwargs, sc.OP_CHAT)
    _sampling(inv, kwargs)
    inv.output_type = output_type_of(given(kwargs.get("response_format")))
    effort = given(kwargs.get("reasoning_effort"))
    if effort:
        inv.attributes[sc.GEN_AI_REQUEST_REASONING_LEVEL] = str(effort)
    inv.input_messages = given(kwargs.get("messages"))
    inv.tool_definitions = given(kwargs.get("tools"))
    return inv


def _build_openai_chat(instance: Any, kwargs: dict[str, Any]) -> LLMInvocation:
    """``_build_chat`` (which Groq and LiteLLM share) plus what only OpenAI's own API is: ``openai.api.type``."""
    inv = _build_chat(instance, kwargs)
    inv.attributes[sc.OPENAI_API_TYPE] = sc.OPENAI_API_TYPE_CHAT_COMPLETIONS
    return inv


# (input, output, input details, output details): chat completions and embeddings name usage one way, the
# Responses API the other. Reading the other shape's names first would cost a failed attribute lookup on the
# SDK's pydantic model (an exception raised and caught inside pydantic) on every call.
_CHAT_USAGE = ("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details")
_RESPONSES_USAGE = ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details")


def _either(obj: Any, first: str, second: str) -> Any:
    value = get(obj, first)
    return get(obj, second) if value is None else value


def _fill_usage(inv: LLMInvocation, usage: Any, names: tuple[str, str, str, str] = _CHAT_USAGE) -> None:
    if usage is None:
        return
    other = _RESPONSES_USAGE if names is _CHAT_USAGE else _CHAT_USAGE
    inv.input_tokens = _either(usage, names[0], other[0])
    inv.output_tokens = _either(usage, names[1], other[1])
    cached = get(_either(usage, names[2], other[2]), "cached_tokens")
    if cached is not None:
        inv.cache_read_input_tokens = cached
    reasoning = get(_either(usage, names[3], other[3]), "reasoning_tokens")
    if reasoning is not None:
        inv.reasoning_output_tokens = reasoning


def _fill_response_meta(inv: LLMInvocation, response: Any) -> None:
    inv.response_id = get(response, "id") or inv.response_id
    inv.response_model = get(response, "model") or inv.response_model
    tier = get(response, "service_tier")
    if tier:
        inv.attributes[sc.OPENAI_RESPONSE_SERVICE_TIER] = str(tier)
    fingerprint = get(response, "system_fingerprint")
    if fingerprint:
        inv.attributes[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = str(fingerprint)




def _fill_choices(inv: LLMInvocation, completion: Any) -> list[Any]:
    """What a chat or legacy completion object shares: meta, finish reasons, usage; returns its choices."""
    _fill_response_meta(inv, completion)
    choices: list[Any] = get(completion, "choices") or []
    inv.finish_reasons = [str(get(c, "finish_reason") or "") for c in choices] or None
    _fill_usage(inv, get(completion, "usage"))
    return choices


def _chunk_choices(inv: LLMInvocation, chunk: Any) -> Any:
    """Per chunk of a chat or legacy completions stream: meta (first chunk), usage (usage chunk); its choices."""
    if inv.response_id is None:
        _fill_response_meta(inv, chunk)
    usage = getattr(chunk, "usage", None)
    if usage is not None:
        _fill_usage(inv, usage)
    return getattr(chunk, "choices", None)


def _fill_chat(inv: LLMInvocation, completion: Any) -> None:
    choices = _fill_choices(inv, completion)
    if choices:
        content = get(get(choices[0], "message"), "content")
        if isinstance(content, str):
            inv.output_text = content
    if capturing():
        inv.output_messages = [
            {**plain(get(c, "message")), "finish_reason": get(c, "finish_reason")} for c in choices
        ]




def _observe_chat(inv: LLMInvocation) -> StreamObserver:
    reasons: dict[int, str] = {}
    tool_calls: dict[tuple[int, int], dict[str, Any]] = {}
    content_on = capturing()

    def on_item(chunk: Any) -> None:
        # Runs once per chunk: plain attribute reads on the SDK's chunk objects (streams always yield them).
        choices = _chunk_choices(inv, chunk)
        if not choices:
            return
        text = None
        for choice in choices:
            delta = choice.delta
            index = choice.index or 0
            content = getattr(delta, "content", None)
            if content and index == 0:
                text = content
            if choice.finish_reason:
                reasons[index] = str(choice.finish_reason)
            if content_on:
                for call in getattr(delta, "tool_calls", None) or ():
                    acc = tool_calls.setdefault((index, get(call, "index", 0)),
                                                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}})
                    acc["id"] = get(call, "id") or acc["id"]
                    fn = get(call, "function")
                    acc["function"]["name"] += get(fn, "name") or ""
                    acc["function"]["arguments"] += get(fn, "arguments") or ""
        inv.add_chunk(text)

    def on_end() -> None:
        if reasons:
            inv.finish_reasons = [reasons[i] for i in sorted(reasons)]
        if content_on and (tool_calls or inv._text_parts):
            inv.output_messages = [{
                "role": "assistant",
                "content": inv.streamed_text(),
                "tool_calls": [tool_calls[k] for k in sorted(tool_calls)],
                "finish_reason": reasons.get(0),
            }]

    return on_item, on_end


# -- legacy completions (operation text_completion) -----------------------------------------------


def _build_completions(instance: Any, kwargs: dict[str, Any]) -> LLMInvocation:
    inv = _new_invocation(instance, kwargs, sc.OP_TEXT_COMPLETION)
    _sampling(inv, kwargs)
    prompt = given(kwargs.get("prompt"))
    if isinstance(prompt, str):
        inv.input_messages = [{"role": "user", "content": prompt}]
    elif isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
        inv.input_messages = [{"role": "user", "content": p} for p in prompt]
    return inv


def _fill_completions(inv: LLMInvocation, completion: Any) -> None:
    choices = _fill_choices(inv, completion)
    if choices and isinstance(get(choices[0], "text"), str):
        inv.output_text = get(choices[0], "text")
    if capturing():
        inv.output_messages = [{"role": "assistant", "content": get(c, "text"), "finish_reason": get(c, "finish_reason")}
                               for c in choices]


def _observe_completions(inv: LLMInvocation) -> StreamObserver:
    reasons: dict[int, str] = {}

    def on_item(chunk: Any) -> None:
        choices = _chunk_choices(inv, chunk)
        if not choices:
            return
        text = None
        for choice in choices:
            if (choice.index or 0) == 0 and choice.text:
                text = choice.text
            if choice.finish_reason:
                reasons[choice.index or 0] = str(choice.finish_reason)
        inv.add_chunk(text)

    def on_end() -> None:
        if reasons:
            inv.finish_reasons = [reasons[i] for i in sorted(reasons)]
        if capturing() and inv._text_parts:
            inv.output_messages = [{"role": "assistant", "content": inv.streamed_text(), "finish_reason": reasons.get(0)}]

    return on_item, on_end


# -- embeddings --------------------------------------------------------------------------------


def _build_embeddings(instance: Any, kwargs: dict[str, Any]) -> LLMInvocation:
    inv = _new_invocation(instance, kwargs, sc.OP_EMBEDDINGS)
    fmt = given(kwargs.get("encoding_format"))
    if fmt:
        inv.encoding_formats = [str(fmt)]
    return inv


def _fill_embeddings(inv: LLMInvocation, response: Any) -> None:
    inv.response_model = get(response, "model")
    _fill_usage(inv, get(response, "usage"))
    data = get(response, "data") or []
    if data:
        vector = get(data[0], "embedding")
        if isinstance(vector, list):
            inv.embedding_dimensions = len(vector)


# -- Responses API --------------------------------------------------------------------------------


def _build_responses(instance: Any, kwargs: dict[str, Any]) -> LLMInvocation:
    inv = _new_invocation(instance, kwargs, sc.OP_CHAT)
    inv.attributes[sc.OPENAI_API_TYPE] = sc.OPENAI_API_TYPE_RESPONSES
    inv.max_tokens = given(kwargs.get("max_output_tokens"))
    user_input = given(kwargs.get("input"))
    inv.input_messages = [{"role": "user", "content": user_input}] if isinstance(user_input, str) else user_input
    inv.system_instructions = given(kwargs.get("instructions"))
    inv.tool_definitions = given(kwargs.get("tools"))
    conversation = given(kwargs.get("conversation"))
    if isinstance(conversation, str):
        inv.conversation_id = conversation
    previous = given(kwargs.get("previous_response_id"))
    if previous:
        inv.attributes[sc.GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID] = str(previous)
    effort = get(given(kwargs.get("reasoning")), "effort")
    if effort:
        inv.attributes[sc.GEN_AI_REQUEST_REASONING_LEVEL] = str(effort)
    text_format = given(kwargs.get("text_format"))  # parse(): a pydantic class
    inv.output_type = output_type_of(text_format) if text_format is not None else \
        output_type_of(get(given(kwargs.get("text")), "format"))
    return inv


def _fill_responses(inv: LLMInvocation, response: Any) -> None:
    _fill_response_meta(inv, response)
    _fill_usage(inv, get(response, "usage"), _RESPONSES_USAGE)
    status = get(response, "status")
    output = get(response, "output") or []
    if any(get(item, "type") == "function_call" for item in output):
        inv.finish_reasons = ["tool_calls"]
    elif status == "incomplete":
        reason = get(get(response, "incomplete_details"), "reason")
        inv.finish_reasons = ["length" if reason == "max_output_tokens" else str(reason or "incomplete")]
    elif status:
        inv.finish_reasons = [_FINISH_FROM_STATUS.get(status, str(status))]
    if status == "failed":
        inv.error_type = str(get(get(response, "error"), "code") or "response_failed")
    text = getattr(response, "output_text", None)
    if isinstance(text, str) and text:
        inv.output_text = text
    if capturing():
        inv.output_messages = [_response_item_message(item) for item in output]


def _response_item_message(item: Any) -> dict[str, Any]:
    kind = get(item, "type")
    if kind == "function_call":
        return {"role": "assistant", "parts": [{"type": "tool_call", "id": get(item, "call_id"),
                                                "name": get(item, "name"), "arguments": get(item, "arguments")}]}
    if kind == "reasoning":
        return {"role": "assistant", "parts": [{"type": "reasoning", "content": str(plain(item).get("summary", ""))}]}
    parts = [{"type": "text", "content": get(c, "text", "")} for c in (get(item, "content") or ()) if get(c, "type") == "output_text"]
    return {"role": str(get(item, "role") or "assistant"), "parts": parts}


def _observe_responses(inv: LLMInvocation) -> StreamObserver:
    def on_item(event: Any) -> None:
        kind = get(event, "type")
        if kind == "response.output_text.delta":
            inv.add_chunk(get(event, "delta") or None)
        elif kind in ("response.created", "response.in_progress"):
            _fill_response_meta(inv, get(event, "response"))
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            text = inv.streamed_text()
            _fill_responses(inv, get(event, "response"))
            if text and not inv.output_text:
                inv.output_text = text
        elif kind == "error":
            inv.error_type = str(get(event, "code") or "stream_error")

    return on_item, lambda: None


# -- shared -----------------------------------------------------------------------------------------






TRANSLATORS = {
    "chat": Translator(_build_openai_chat, _fill_chat, _observe_chat, is_sdk_stream, parse_raw),
    "embeddings": Translator(_build_embeddings, _fill_embeddings, lambda inv: (lambda item: None, lambda: None), is_sdk_stream, parse_raw),
    "completions": Translator(_build_completions, _fill_completions, _observe_completions, is_sdk_stream, parse_raw),
    "responses": Translator(_build_responses, _fill_responses, _observe_responses, is_sdk_stream, parse_raw),
}


class OpenAIInstrumentor(ProviderInstrumentor):
    """Instruments the ``openai`` SDK (1.40+): chat completions (``create``/``parse``), legacy completions,
    embeddings, Responses API (``create``/``parse``); ``AzureOpenAI`` clients report ``azure.ai.openai``.

    >>> OpenAIInstrumentor().instrument()   # or llm_otel.configure(), or opentelemetry-instrument
    """

    library = "openai"

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("openai >= 1.40",)

    def _patches(self) -> list[Patch]:
        return available(
            (module, f"{cls}.{method}",
             deferring((async_wrapper if is_async else sync_wrapper)(TRANSLATORS[kind]), _OFFICIAL_INSTRUMENTATION))
            for module, cls, method, kind, is_async in _PATCHES
        )
