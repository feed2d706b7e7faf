"""AWS Bedrock runtime (boto3 ``bedrock-runtime``): Converse, ConverseStream, InvokeModel and
InvokeModelWithResponseStream.

Where it hooks: ``botocore.client.BaseClient._make_api_call(operation_name, api_params)``,
the one method every generated client method goes through (boto3 builds client classes at
run time, so there is no stable per-operation method to wrap). Filtering on the client's
service name and the operation keeps every other AWS call a pass-through. Wrapping the
call, rather than hooking botocore's event system (``before-call``/``after-call``), keeps
the span current while botocore signs, retries and sends, sees the exception exactly as
the caller does, and needs no per-client registration, so clients created before
``instrument()`` are covered too. The official botocore instrumentation wraps the same
method; when its span (with ``gen_ai.operation.name``) is current, ours stands aside.

InvokeModel bodies are read by model family (the model id without a region prefix):
``anthropic.*`` (the Anthropic translator's own readers), ``amazon.nova-*`` (Converse's
shape), ``amazon.titan-text-*`` and ``meta.*`` (prompt in, text out: ``text_completion``),
``amazon.titan-embed-*`` (embeddings). The response body is read once and handed back
as an equal ``StreamingBody``.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from llm_otel import _semconv as sc
from llm_otel._llm import LLMInvocation
from llm_otel.instrumentors import _eventstream
from llm_otel.instrumentors import anthropic as _anthropic
from llm_otel.instrumentors._base import Patch, ProviderInstrumentor
from llm_otel.instrumentors._sdk import capturing
from llm_otel.instrumentors._wrap import StreamObserver, Translator, sync_wrapper

_SERVICE = "bedrock-runtime"
_REGION_PREFIX = re.compile(r"^(us|eu|apac|us-gov|global|ca|jp|au)\.")


def _server(client: Any) -> tuple[str | None, int | None]:
    try:
        url = urlsplit(client.meta.endpoint_url)
        return url.hostname, url.port or (443 if url.scheme == "https" else 80)
    except (AttributeError, ValueError):
        return None, None


def family(model_id: str) -> str:
    """``us.anthropic.claude-…`` -> ``anthropic``; ``amazon.nova-lite-v1:0`` -> ``amazon.nova``."""
    base = _REGION_PREFIX.sub("", model_id.rsplit("/", 1)[-1])
    for prefix in ("anthropic.", "amazon.nova", "amazon.titan-embed", "amazon.titan-text", "meta."):
        if base.startswith(prefix):
            return prefix.rstrip(".")
    return ""


def _new(client: Any, model: Any, operation: str, stream: bool) -> LLMInvocation:
    address, port = _server(client)
    inv = LLMInvocation(sc.PROVIDER_AWS_BEDROCK, str(model) if model else None, operation, address, port)
    inv.stream = stream or None
    return inv


# -- Converse content <-> semconv parts ------------------------------------------------------


def _parts(blocks: Any) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for block in blocks or ():
        if "text" in block:
            parts.append({"type": "text", "content": block["text"]})
        elif "toolUse" in block:
            use = block["toolUse"]
            parts.append({"type": "tool_call", "id": use.get("toolUseId"), "name": use.get("name"), "arguments": use.get("input")})
        elif "toolResult" in block:
            result = block["toolResult"]
            parts.append({"type": "tool_call_response", "id": result.get("toolUseId"), "response": result.get("content")})
        elif "reasoningContent" in block:
            text = (block["reasoningContent"].get("reasoningText") or {}).get("text", "")
            parts.append({"type": "reasoning", "content": text})
        else:
            kind = next(iter(block), "unknown")
            parts.append({"type": kind, "content": {k: v for k, v in block[kind].items() if k != "bytes"} if isinstance(block[kind], dict) else None})
    return parts


def _message(message: dict[str, Any]) -> dict[str, Any]:
    parts = _parts(message.get("content"))
    role = message.get("role", "user")
    if parts and all(p["type"] == "tool_call_response" for p in parts):
        role = "tool"
    return {"role": role, "parts": parts}


def _tool_definitions(tool_config: Any) -> list[dict[str, Any]] | None:
    tools = (tool_config or {}).get("tools") if isinstance(tool_config, dict) else None
    if not tools:
        return None
    specs = [t["toolSpec"] for t in tools if isinstance(t, dict) and "toolSpec" in t]
    return [{"type": "function", "name": s.get("name"), "description": s.get("description"),
             "parameters": (s.get("inputSchema") or {}).get("json")} for s in specs]


def _fill_messages_request(inv: LLMInvocation, request: dict[str, Any], inference: dict[str, Any]) -> None:
    """Converse and the Nova body share messages, system, inferenceConfig and toolConfig."""
    inv.max_tokens = inference.get("maxTokens", inference.get("max_new_tokens"))
    inv.temperature = inference.get("temperature")
    inv.top_p = inference.get("topP", inference.get("top_p"))
    inv.top_k = inference.get("topK", inference.get("top_k"))
    inv.stop_sequences = inference.get("stopSequences")
    inv.tool_definitions = _tool_definitions(request.get("toolConfig"))
    if capturing():
        inv.input_messages = [_message(m) for m in request.get("messages") or ()]
        system = [{"type": "text", "content": s["text"]} for s in request.get("system") or () if "text" in s]
        inv.system_instructions = system or None


def _build_converse(client: Any, params: dict[str, Any], stream: bool) -> LLMInvocation:
    inv = _new(client, params.get("modelId"), sc.OP_CHAT, stream)
    _fill_messages_request(inv, params, params.get("inferenceConfig") or {})
    extra = params.get("additionalModelRequestFields")
    if isinstance(extra, dict) and inv.top_k is None:
        inv.top_k = extra.get("top_k", extra.get("topK"))
    guardrail = (params.get("guardrailConfig") or {}).get("guardrailIdentifier")
    if guardrail:
        inv.attributes[sc.AWS_BEDROCK_GUARDRAIL_ID] = str(guardrail)
    return inv


def _fill_usage(inv: LLMInvocation, usage: Any) -> None:
    """Converse/Nova usage: ``inputTokens`` excludes cache reads and writes; the conventions count them in."""
    if not isinstance(usage, dict):
        return
    read = usage.get("cacheReadInputTokens", usage.get("cacheReadInputTokenCount"))
    written = usage.get("cacheWriteInputTokens", usage.get("cacheWriteInputTokenCount"))
    if usage.get("inputTokens") is not None:
        inv.input_tokens = usage["inputTokens"] + (read or 0) + (written or 0)
        inv.cache_read_input_tokens = read
        inv.cache_write_input_tokens = written
    if usage.get("outputTokens") is not None:
        inv.output_tokens = usage["outputTokens"]


def _fill_converse(inv: LLMInvocation, response: Any) -> None:
    if not isinstance(response, dict):
        return
    stop = response.get("stopReason")
    inv.finish_reasons = [str(stop)] if stop else None
    _fill_usage(inv, response.get("usage"))
    content = ((response.get("output") or {}).get("message") or {}).get("content") or []
    texts = [b["text"] for b in content if "text" in b]
    if texts:
        inv.output_text = "".join(texts)
    if capturing():
        inv.output_messages = [{"role": "assistant", "parts": _parts(content), "finish_reason": stop}]


def _observe_converse(inv: LLMInvocation) -> StreamObserver:
    """ConverseStream events (and Nova's streamed body chunks, which have the same shape)."""
    content_on = capturing()
    blocks: dict[int, dict[str, Any]] = {}
    stop: list[str] = []

    def on_item(event: Any) -> None:
        delta_event = event.get("contentBlockDelta")
        if delta_event is not None:
            delta = delta_event.get("delta") or {}
            text = delta.get("text")
            inv.add_chunk(text)
            if content_on:
                block = blocks.setdefault(delta_event.get("contentBlockIndex", 0), {})
                if text is not None:
                    block["text"] = block.get("text", "") + text
                elif "toolUse" in delta:
                    block.setdefault("toolUse", {})["input_json"] = block.get("toolUse", {}).get("input_json", "") + (delta["toolUse"].get("input") or "")
        elif "contentBlockStart" in event and content_on:
            start = event["contentBlockStart"]
            use = (start.get("start") or {}).get("toolUse")
            if use:
                blocks[start.get("contentBlockIndex", 0)] = {"toolUse": {**use, "input_json": ""}}
        elif "messageStop" in event:
            reason = event["messageStop"].get("stopReason")
            if reason:
                stop[:] = [str(reason)]
        elif "metadata" in event:
            _fill_usage(inv, event["metadata"].get("usage"))

    def on_end() -> None:
        if stop:
            inv.finish_reasons = list(stop)
        if content_on and blocks:
            content = [_finish_block(blocks[i]) for i in sorted(blocks)]
            inv.output_messages = [{"role": "assistant", "parts": _parts(content), "finish_reason": stop[0] if stop else None}]

    return on_item, on_end


def _finish_block(block: dict[str, Any]) -> dict[str, Any]:
    use = block.get("toolUse")
    if use is None:
        return block
    raw = use.pop("input_json", "")
    try:
        use["input"] = json.loads(raw or "{}")
    except ValueError:
        use["input"] = raw
    return block


# -- InvokeModel: one reader per body family ----------------------------------------------------


def _body(params: dict[str, Any]) -> dict[str, Any]:
    body = params.get("body")
    if isinstance(body, (bytes, bytearray, str)):
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}  # a file-like body is the caller's to read: request details stay unknown


def _build_invoke(client: Any, params: dict[str, Any], stream: bool) -> LLMInvocation:
    model = str(params.get("modelId") or "")
    body, kind = _body(params), family(model)
    if kind == "anthropic":
        inv = _anthropic._build(None, body)
        inv.provider, inv.model = sc.PROVIDER_AWS_BEDROCK, model
        inv.server_address, inv.server_port = _server(client)
        inv.stream = stream or None
        return inv
    if kind == "amazon.nova":
        inv = _new(client, model, sc.OP_CHAT, stream)
        _fill_messages_request(inv, body, body.get("inferenceConfig") or {})
        return inv
    if kind == "amazon.titan-embed":
        return _new(client, model, sc.OP_EMBEDDINGS, stream)
    inv = _new(client, model, sc.OP_TEXT_COMPLETION if kind else sc.OP_CHAT, stream)
    if kind == "amazon.titan-text":
        config = body.get("textGenerationConfig") or {}
        inv.max_tokens, inv.temperature, inv.top_p = config.get("maxTokenCount"), config.get("temperature"), config.get("topP")
        inv.stop_sequences = config.get("stopSequences")
        prompt = body.get("inputText")
    else:  # meta.* and unknown families: Llama's prompt body is the common one
        inv.max_tokens, inv.temperature, inv.top_p = body.get("max_gen_len"), body.get("temperature"), body.get("top_p")
        prompt = body.get("prompt")
    if capturing() and isinstance(prompt, str):
        inv.input_messages = [{"role": "user", "parts": [{"type": "text", "content": prompt}]}]
    return inv


class _Read:
    """An InvokeModel response whose body was read (and handed back as an equal StreamingBody)."""

    __slots__ = ("data", "error")

    def __init__(self, data: Any, error: BaseException | None) -> None:
        self.data, self.error = data, error


class _Failed(io.RawIOBase):
    """Body stand-in after a failed read: the caller's read fails the same way."""

    def __init__(self, error: BaseException) -> None:
        self._error = error

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        raise self._error


def _read_invoke(result: Any) -> _Read | None:
    body: Any = result.get("body") if isinstance(result, dict) else None
    if type(body).__name__ != "StreamingBody":
        return None
    streaming_body: Any = type(body)
    try:
        data = body.read()
    except Exception as exc:  # whatever the read raised, the caller gets it on read()
        result["body"] = streaming_body(_Failed(exc), None)
        return _Read(None, exc)
    result["body"] = streaming_body(io.BytesIO(data), len(data))
    try:
        return _Read(json.loads(data), None)
    except ValueError:
        return _Read(None, None)


def _fill_invoke(inv: LLMInvocation, read: Any) -> None:
    if not isinstance(read, _Read):
        return
    if read.error is not None:
        inv.error_type = type(read.error).__qualname__
        return
    body = read.data
    if not isinstance(body, dict):
        return
    kind = family(inv.model or "")
    if kind == "anthropic":
        _anthropic._fill(inv, body)
    elif kind == "amazon.nova":
        _fill_converse(inv, body)
    elif kind == "amazon.titan-embed":
        inv.input_tokens = body.get("inputTextTokenCount")
        vector = body.get("embedding")
        inv.embedding_dimensions = len(vector) if isinstance(vector, list) else None
    elif kind == "amazon.titan-text":
        inv.input_tokens = body.get("inputTextTokenCount")
        results = body.get("results") or [{}]
        inv.output_tokens = sum(r.get("tokenCount") or 0 for r in results)
        _fill_text(inv, "".join(r.get("outputText") or "" for r in results), [r.get("completionReason") for r in results])
    else:
        inv.input_tokens, inv.output_tokens = body.get("prompt_token_count"), body.get("generation_token_count")
        _fill_text(inv, body.get("generation"), [body.get("stop_reason")])


def _fill_text(inv: LLMInvocation, text: Any, reasons: list[Any]) -> None:
    reasons = [str(r) for r in reasons if r]
    inv.finish_reasons = reasons or None
    if isinstance(text, str):
        inv.output_text = text
        if capturing():
            inv.output_messages = [{"role": "assistant", "parts": [{"type": "text", "content": text}],
                                    "finish_reason": reasons[0] if reasons else None}]


def _observe_invoke(inv: LLMInvocation) -> StreamObserver:
    """InvokeModelWithResponseStream: each ``chunk`` carries one body-format event."""
    kind = family(inv.model or "")
    if kind == "anthropic":
        inner_item, inner_end = _anthropic._observe(inv)
    elif kind == "amazon.nova":
        inner_item, inner_end = _observe_converse(inv)
    else:
        inner_item, inner_end = _observe_text(inv, kind)

    def on_item(event: Any) -> None:
        chunk = event.get("chunk")
        if chunk is not None:
            inner_item(json.loads(chunk["bytes"]))

    return on_item, inner_end


def _observe_text(inv: LLMInvocation, kind: str) -> StreamObserver:
    """Titan text and Llama stream their generation as text pieces with running counts."""
    text_key, reason_key = ("outputText", "completionReason") if kind == "amazon.titan-text" else ("generation", "stop_reason")
    reason: list[str] = []

    def on_item(data: dict[str, Any]) -> None:
        inv.add_chunk(data.get(text_key))
        if data.get(reason_key):
            reason[:] = [str(data[reason_key])]
        metrics = data.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, dict):
            inv.input_tokens, inv.output_tokens = metrics.get("inputTokenCount"), metrics.get("outputTokenCount")

    def on_end() -> None:
        _fill_text(inv, inv.streamed_text(), reason)

    return on_item, on_end


def _tap_stream(key: str) -> Any:
    def parse(result: Any) -> Any:
        return _eventstream.tap(result.get(key)) if isinstance(result, dict) else None

    return parse


def _no_stream(inv: LLMInvocation) -> StreamObserver:
    return lambda item: None, lambda: None


def _never(obj: Any) -> bool:
    return False


TRANSLATORS = {
    "Converse": Translator(lambda c, p: _build_converse(c, p, False), _fill_converse, _no_stream, _never),
    "ConverseStream": Translator(lambda c, p: _build_converse(c, p, True), lambda inv, r: None, _observe_converse,
                                 _eventstream.is_tap, _tap_stream("stream")),
    "InvokeModel": Translator(lambda c, p: _build_invoke(c, p, False), _fill_invoke, _no_stream, _never, _read_invoke),
    "InvokeModelWithResponseStream": Translator(lambda c, p: _build_invoke(c, p, True), lambda inv, r: None, _observe_invoke,
                                                _eventstream.is_tap, _tap_stream("body")),
}
_WRAPPERS = {operation: sync_wrapper(translator) for operation, translator in TRANSLATORS.items()}


def _records_itself(wrapped: Any) -> bool:
    """True when the next wrapper is the official botocore instrumentation, which records Bedrock calls
    itself: then it, not llm_otel, records this call (it never checks for an open span, so ours would be a second)."""
    inner = getattr(wrapped, "_self_wrapper", None)
    return inner is not None and getattr(inner, "__module__", "").startswith("opentelemetry.instrumentation.botocore")


def _make_api_call(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``BaseClient._make_api_call(operation_name, api_params)``: Bedrock runtime calls go through the shared wrapper."""
    try:
        operation, params = (*args, None, None)[:2] if args else (kwargs.get("operation_name"), kwargs.get("api_params"))
        wrapper = _WRAPPERS.get(operation) if instance.meta.service_model.service_name == _SERVICE else None
    except Exception:  # an unexpected call shape: not ours to observe
        wrapper = None
    if wrapper is None or not isinstance(params, dict) or _records_itself(wrapped):
        return wrapped(*args, **kwargs)
    return wrapper(lambda **_: wrapped(*args, **kwargs), instance, (), params)


class BedrockInstrumentor(ProviderInstrumentor):
    """Instruments boto3's ``bedrock-runtime`` client: converse, converse_stream, invoke_model and
    invoke_model_with_response_stream (Anthropic, Amazon Nova/Titan and Meta Llama bodies)."""

    library = "botocore"

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("botocore >= 1.34",)

    def _patches(self) -> list[Patch]:
        return [("botocore.client", "BaseClient._make_api_call", _make_api_call)]
