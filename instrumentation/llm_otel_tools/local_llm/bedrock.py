"""AWS Bedrock runtime REST for the local LLM: Converse, ConverseStream, InvokeModel and
InvokeModelWithResponseStream.

Routes (``{model}`` URL-encoded, as botocore sends it)::

    POST /model/{model}/converse                      JSON
    POST /model/{model}/converse-stream               application/vnd.amazon.eventstream
    POST /model/{model}/invoke                        the model family's own JSON body
    POST /model/{model}/invoke-with-response-stream   event stream of ``chunk`` events

InvokeModel bodies follow the model family (the model id without a region prefix such as
``us.``): ``anthropic.*`` the Anthropic Messages body (answered by the Anthropic builders),
``amazon.nova-*`` the Nova messages body, ``amazon.titan-text-*`` Titan text,
``amazon.titan-embed-*`` Titan embeddings, ``meta.*`` Llama prompt/generation.

SigV4 is not verified (any key is accepted) but an ``authorization`` header that names
``AWS4-HMAC-SHA256`` and an ``x-amz-date`` header are required (403 otherwise), as a
real endpoint would. The trigger words work as elsewhere: ``error`` -> 500
``InternalServerException``, ``ratelimit`` -> 429 ``ThrottlingException``, ``overloaded``
-> 503 ``ServiceUnavailableException``, ``broken`` -> the stream is cut after
``broken_after_events`` messages, ``nousage`` -> no usage, ``cachewrite`` -> cached
system tokens reported as written instead of read.

Event stream framing (each message): total length (u32), headers length (u32), CRC32 of
those 8 bytes, headers (name length u8, name, type 7 = string, value length u16, value),
payload, CRC32 of everything before it. Headers ``:event-type``, ``:content-type`` and
``:message-type``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from . import engine
from .engine import LocalLLMConfig, Reply, _Conversation, _Msg, _Tool

_ROUTE = re.compile(r"^/model/(?P<model>[^/]+)/(?P<op>converse|converse-stream|invoke|invoke-with-response-stream)$")
_REGION_PREFIX = re.compile(r"^(us|eu|apac|us-gov|global|ca|jp|au)\.")
_STREAM_TYPE = "application/vnd.amazon.eventstream"
_ERRORS = {
    "error": (500, "InternalServerException", "The server encountered an internal error."),
    "ratelimit": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "overloaded": (503, "ServiceUnavailableException", "The service is temporarily unable to handle the request."),
}


class _Error(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


def owns(route: str) -> bool:
    return route.startswith("/model/")


def handle(method: str, route: str, headers: Mapping[str, str], body: bytes, cfg: LocalLLMConfig) -> Reply:
    """One Bedrock runtime request -> reply (errors in Bedrock's shape)."""
    rid = engine._hash("bedrock", route, body)[:8] + "-" + engine._hash("rid", body)[:4] + "-local"
    try:
        reply = _dispatch(method, route, headers, body, cfg)
    except _Error as err:
        reply = Reply(err.status, {"content-type": "application/json", "x-amzn-errortype": f"{err.kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"},
                      engine._dumps({"message": err.message}).encode())
    reply.headers.setdefault("x-amzn-requestid", rid)
    return reply


def _dispatch(method: str, route: str, headers: Mapping[str, str], body: bytes, cfg: LocalLLMConfig) -> Reply:
    match = _ROUTE.match(route)
    if match is None or method != "POST":
        raise _Error(404, "UnknownOperationException", f"Unknown route: {method} {route}")
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256") or "x-amz-date" not in headers:
        raise _Error(403, "AccessDeniedException", "Missing SigV4 authentication (Authorization and X-Amz-Date headers).")
    model, op = unquote(match["model"]), match["op"]
    try:
        req = json.loads(body or b"{}")
    except ValueError as exc:
        raise _Error(400, "ValidationException", f"Malformed input request: {exc}") from None
    if not isinstance(req, dict):
        raise _Error(400, "ValidationException", "Malformed input request: expected a JSON object.")
    forced = engine._behaviors(headers)
    if op.startswith("converse"):
        plan = _converse_plan(model, req, forced, cfg)
        return _reply(plan, op == "converse-stream", cfg, lambda: _converse_events(plan))
    family = _family(model)
    builder = _INVOKE.get(family)
    if builder is None:
        raise _Error(400, "ValidationException", f"The local LLM does not know the body format of {model}.")
    return builder(model, req, forced, cfg, op == "invoke-with-response-stream")


def base_model(model_id: str) -> str:
    """``us.anthropic.claude-…`` -> ``anthropic.claude-…`` (ARNs keep their last path part)."""
    return _REGION_PREFIX.sub("", model_id.rsplit("/", 1)[-1])


def _family(model_id: str) -> str:
    base = base_model(model_id)
    for prefix in ("anthropic.", "amazon.nova", "amazon.titan-embed", "amazon.titan-text", "meta."):
        if base.startswith(prefix):
            return prefix.rstrip(".")
    return ""


# -- the conversation and the answer ---------------------------------------------------------


class _Plan:
    """What the model answers, in Converse terms; the other formats are views of it."""

    def __init__(self, message: dict[str, Any], stop: str, usage: dict[str, int] | None, conv: _Conversation) -> None:
        self.message, self.stop, self.usage, self.conv = message, stop, usage, conv

    @property
    def text(self) -> str:
        return "".join(b.get("text", "") for b in self.message["content"])

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"output": {"message": self.message}, "stopReason": self.stop, "metrics": {"latencyMs": 1}}
        if self.usage is not None:
            out["usage"] = self.usage
        return out


def _text_of(blocks: Any) -> tuple[str, list[str], list[str]]:
    """(texts, tool results, tool uses) of Converse content blocks."""
    if isinstance(blocks, str):
        return blocks, [], []
    texts, results, uses = [], [], []
    for block in blocks or ():
        if "text" in block:
            texts.append(block["text"])
        elif "toolResult" in block:
            parts = block["toolResult"].get("content") or []
            results.append(" ".join(p.get("text") or engine._dumps(p.get("json")) for p in parts))
        elif "toolUse" in block:
            uses.append(f"{block['toolUse'].get('name', '')} {engine._dumps_args(block['toolUse'].get('input') or {})}")
    return "\n".join(texts), results, uses


def _conversation(req: Mapping[str, Any], forced: set[str]) -> _Conversation:
    system = "\n".join(s.get("text", "") for s in req.get("system") or [] if isinstance(s, dict))
    conv = _Conversation(system=system, extra_behaviors=forced)
    for m in req.get("messages") or []:
        text, results, uses = _text_of(m.get("content"))
        if m.get("role") == "assistant":
            conv.messages.append(_Msg("assistant", " ".join([text, *uses]).strip()))
        else:
            if text:
                conv.messages.append(_Msg("user", text))
            conv.messages.extend(_Msg("tool", r) for r in results)
    return conv


def _tools(req: Mapping[str, Any]) -> tuple[list[_Tool], str | None]:
    config = req.get("toolConfig") or {}
    tools = [_Tool(t["toolSpec"]["name"], (t["toolSpec"].get("inputSchema") or {}).get("json") or {})
             for t in config.get("tools") or [] if "toolSpec" in t]
    forced = ((config.get("toolChoice") or {}).get("tool") or {}).get("name")
    return tools, forced


def _converse_plan(model: str, req: Mapping[str, Any], forced: set[str], cfg: LocalLLMConfig) -> _Plan:
    if not req.get("messages"):
        raise _Error(400, "ValidationException", "The messages field is required.")
    conv = _conversation(req, forced)
    _raise_triggers(conv)
    tools, forced_tool = _tools(req)
    answer = engine._answer(model, conv, tools, "auto", forced_tool, True)
    inference = req.get("inferenceConfig") or {}
    return _plan(model, conv, answer, inference.get("maxTokens"), inference.get("stopSequences") or [], cfg)


def _raise_triggers(conv: _Conversation) -> None:
    for name in ("error", "ratelimit", "overloaded"):
        if name in conv.triggers:
            raise _Error(*_ERRORS[name])


def _plan(model: str, conv: _Conversation, answer: Any, max_tokens: Any, stops: list[str], cfg: LocalLLMConfig) -> _Plan:
    content: list[dict[str, Any]] = []
    if answer.tool_calls:
        content.append({"text": f"I will call {', '.join(c.name for c in answer.tool_calls)}."})
        for j, call in enumerate(answer.tool_calls):
            tool_id = "tooluse_" + engine._hash("tooluse", model, conv.last_user_text, j)[:22]
            content.append({"toolUse": {"toolUseId": tool_id, "name": call.name, "input": json.loads(call.arguments)}})
        stop = "tool_use"
        output = engine.count_tokens(content[0]["text"]) + sum(engine._tool_call_tokens(c) for c in answer.tool_calls)
    else:
        text, reason, _ = engine._truncate(answer.text or "", int(max_tokens) if max_tokens else None, stops)
        stop = reason or "end_turn"
        content.append({"text": text})
        output = engine.count_tokens(text)
    usage = None
    if "nousage" not in conv.triggers:
        cached = engine._cached_tokens(conv, cfg)
        write = "cachewrite" in conv.triggers
        uncached = conv.prompt_tokens - cached
        usage = {"inputTokens": uncached, "outputTokens": output, "totalTokens": conv.prompt_tokens + output,
                 "cacheReadInputTokens": 0 if write else cached, "cacheWriteInputTokens": cached if write else 0}
    return _Plan({"role": "assistant", "content": content}, stop, usage, conv)


def _converse_events(plan: _Plan) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
    for i, block in enumerate(plan.message["content"]):
        if "toolUse" in block:
            use = block["toolUse"]
            events.append(("contentBlockStart", {"contentBlockIndex": i, "start": {"toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}}))
            events.extend(("contentBlockDelta", {"contentBlockIndex": i, "delta": {"toolUse": {"input": piece}}})
                          for piece in engine._pieces(engine._dumps_args(use["input"])))
        else:
            events.extend(("contentBlockDelta", {"contentBlockIndex": i, "delta": {"text": piece}})
                          for piece in engine._pieces(block["text"]))
        events.append(("contentBlockStop", {"contentBlockIndex": i}))
    events.append(("messageStop", {"stopReason": plan.stop}))
    metadata: dict[str, Any] = {"metrics": {"latencyMs": 1}}
    if plan.usage is not None:
        metadata["usage"] = plan.usage
    events.append(("metadata", metadata))
    return events


# -- InvokeModel bodies by model family -------------------------------------------------------


def _invoke_anthropic(model: str, req: dict[str, Any], forced: set[str], cfg: LocalLLMConfig, stream: bool) -> Reply:
    if not req.get("messages") or not req.get("max_tokens"):
        raise _Error(400, "ValidationException", "messages and max_tokens are required.")
    req = {**req, "model": _anthropic_name(model), engine._BEHAVIOR_KEY: sorted(forced)}
    conv = engine._anthropic_conversation(req)
    _raise_triggers(conv)
    body_hash = engine._hash("bedrock", engine._dumps(req))
    message = engine.anthropic_message(req, cfg, body_hash=body_hash)
    message["id"] = "msg_bdrk_" + message["id"][6:]
    usage = message.get("usage") or {}
    if not stream:
        return _json(message, usage.get("input_tokens"), usage.get("output_tokens"), conv)
    events = engine.anthropic_events(req, cfg, body_hash=body_hash)
    for event in events:
        if event["type"] == "message_start":
            event["message"]["id"] = message["id"]
    if usage:
        events[-1]["amazon-bedrock-invocationMetrics"] = _metrics(usage["input_tokens"], usage["output_tokens"])
    return _stream_reply(events, conv, cfg)


def _anthropic_name(model: str) -> str:
    """``anthropic.claude-3-5-sonnet-20240620-v1:0`` -> ``claude-3-5-sonnet-20240620`` (what the body reports)."""
    return re.sub(r"-v\d+(:\d+)?$", "", base_model(model).removeprefix("anthropic."))


def _invoke_nova(model: str, req: dict[str, Any], forced: set[str], cfg: LocalLLMConfig, stream: bool) -> Reply:
    inference = req.get("inferenceConfig") or {}
    converse = {**req, "inferenceConfig": {"maxTokens": inference.get("maxTokens", inference.get("max_new_tokens")),
                                           "stopSequences": inference.get("stopSequences")}}
    plan = _converse_plan(model, converse, forced, cfg)
    if plan.usage is not None:  # Nova's body names its cache counters differently from Converse
        usage = plan.usage
        plan.usage = {"inputTokens": usage["inputTokens"], "outputTokens": usage["outputTokens"], "totalTokens": usage["totalTokens"],
                      "cacheReadInputTokenCount": usage["cacheReadInputTokens"], "cacheWriteInputTokenCount": usage["cacheWriteInputTokens"]}
    if not stream:
        body = plan.body()
        body.pop("metrics")
        return _json(body, *_counts(plan), plan.conv)
    events: list[dict[str, Any]] = [{name: payload} for name, payload in _converse_events(plan) if name != "metadata"]
    if plan.usage is not None:
        events.append({"metadata": {"usage": plan.usage}, "amazon-bedrock-invocationMetrics": _metrics(*_counts(plan))})
    return _stream_reply(events, plan.conv, cfg)


def _invoke_prompt(model: str, prompt: Any, max_tokens: Any, stops: list[str], forced: set[str], cfg: LocalLLMConfig) -> _Plan:
    if not isinstance(prompt, str) or not prompt:
        raise _Error(400, "ValidationException", "The prompt is required.")
    conv = _Conversation(messages=[_Msg("user", prompt)], extra_behaviors=forced)
    _raise_triggers(conv)
    answer = engine._answer(model, conv, [], "none", None, False)
    return _plan(model, conv, answer, max_tokens, stops, cfg)


def _invoke_titan_text(model: str, req: dict[str, Any], forced: set[str], cfg: LocalLLMConfig, stream: bool) -> Reply:
    config = req.get("textGenerationConfig") or {}
    plan = _invoke_prompt(model, req.get("inputText"), config.get("maxTokenCount"), config.get("stopSequences") or [], forced, cfg)
    reason = {"end_turn": "FINISH", "max_tokens": "LENGTH", "stop_sequence": "STOP_CRITERIA_MET"}[plan.stop]
    prompt_tokens, output = _counts(plan)
    if not stream:
        body = {"inputTextTokenCount": prompt_tokens, "results": [{"tokenCount": output, "outputText": plan.text, "completionReason": reason}]}
        return _json(body, prompt_tokens, output, plan.conv)
    pieces = engine._pieces(plan.text) or [""]
    events: list[dict[str, Any]] = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        event: dict[str, Any] = {"outputText": piece, "index": 0, "totalOutputTextTokenCount": i + 1,
                                 "completionReason": reason if last else None, "inputTextTokenCount": prompt_tokens if i == 0 else None}
        if last and plan.usage is not None:
            event["amazon-bedrock-invocationMetrics"] = _metrics(prompt_tokens, output)
        events.append(event)
    return _stream_reply(events, plan.conv, cfg)


def _invoke_llama(model: str, req: dict[str, Any], forced: set[str], cfg: LocalLLMConfig, stream: bool) -> Reply:
    plan = _invoke_prompt(model, req.get("prompt"), req.get("max_gen_len"), [], forced, cfg)
    reason = "length" if plan.stop == "max_tokens" else "stop"
    prompt_tokens, output = _counts(plan)
    if not stream:
        body = {"generation": plan.text, "prompt_token_count": prompt_tokens, "generation_token_count": output, "stop_reason": reason}
        return _json(body, prompt_tokens, output, plan.conv)
    pieces = engine._pieces(plan.text) or [""]
    events = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        event: dict[str, Any] = {"generation": piece, "prompt_token_count": prompt_tokens if i == 0 else None,
                                 "generation_token_count": i + 1, "stop_reason": reason if last else None}
        if last and plan.usage is not None:
            event["amazon-bedrock-invocationMetrics"] = _metrics(prompt_tokens, output)
        events.append(event)
    return _stream_reply(events, plan.conv, cfg)


def _invoke_titan_embed(model: str, req: dict[str, Any], forced: set[str], cfg: LocalLLMConfig, stream: bool) -> Reply:
    text = req.get("inputText")
    if not isinstance(text, str) or stream:
        raise _Error(400, "ValidationException", "inputText is required (and embeddings do not stream).")
    conv = _Conversation(messages=[_Msg("user", text)], extra_behaviors=forced)
    _raise_triggers(conv)
    dims = int(req.get("dimensions") or 1024)
    tokens = max(1, engine.count_tokens(text))
    return _json({"embedding": engine.embedding_vector(text, dims), "inputTextTokenCount": tokens}, tokens, None, conv)


_INVOKE = {
    "anthropic": _invoke_anthropic,
    "amazon.nova": _invoke_nova,
    "amazon.titan-text": _invoke_titan_text,
    "amazon.titan-embed": _invoke_titan_embed,
    "meta": _invoke_llama,
}


def _counts(plan: _Plan) -> tuple[int, int]:
    text_tokens = engine.count_tokens(plan.text)
    if plan.usage is None:
        return plan.conv.prompt_tokens, text_tokens
    return plan.usage["inputTokens"] + plan.usage.get("cacheReadInputTokens", plan.usage.get("cacheReadInputTokenCount", 0)) \
        + plan.usage.get("cacheWriteInputTokens", plan.usage.get("cacheWriteInputTokenCount", 0)), plan.usage["outputTokens"]


def _metrics(input_tokens: int, output_tokens: int) -> dict[str, int]:
    return {"inputTokenCount": input_tokens, "outputTokenCount": output_tokens, "invocationLatency": 1, "firstByteLatency": 1}


# -- replies -------------------------------------------------------------------------------------


def _json(body: dict[str, Any], input_tokens: int | None, output_tokens: int | None, conv: _Conversation) -> Reply:
    headers = {"content-type": "application/json"}
    if "nousage" not in conv.triggers:
        if input_tokens is not None:
            headers["x-amzn-bedrock-input-token-count"] = str(input_tokens)
        if output_tokens is not None:
            headers["x-amzn-bedrock-output-token-count"] = str(output_tokens)
    payload = engine._dumps(body).encode()
    if "malformed" in conv.triggers:
        payload = b'{"output": <<not json>>'
    return Reply(200, headers, payload, broken="broken" in conv.triggers)


def _reply(plan: _Plan, stream: bool, cfg: LocalLLMConfig, events: Any) -> Reply:
    if not stream:
        return _json(plan.body(), None, None, plan.conv)
    return _frames([frame(name, payload) for name, payload in events()], plan.conv, cfg)


def _stream_reply(chunks: list[dict[str, Any]], conv: _Conversation, cfg: LocalLLMConfig) -> Reply:
    """InvokeModelWithResponseStream: each body chunk base64-encoded in a ``chunk`` event."""
    encoded = [frame("chunk", {"bytes": base64.b64encode(engine._dumps(c).encode()).decode()}) for c in chunks]
    return _frames(encoded, conv, cfg)


def _frames(frames: list[bytes], conv: _Conversation, cfg: LocalLLMConfig) -> Reply:
    broken = "broken" in conv.triggers
    if broken:
        frames = frames[: max(1, cfg.broken_after_events)]
    return Reply(200, {"content-type": _STREAM_TYPE}, events=frames, broken=broken)


def frame(event_type: str, payload: dict[str, Any], message_type: str = "event") -> bytes:
    """One event-stream message (see the module docstring for the layout)."""
    kind = ":exception-type" if message_type == "exception" else ":event-type"
    headers = b"".join(_header(name, value) for name, value in (
        (kind, event_type), (":content-type", "application/json"), (":message-type", message_type)))
    body = engine._dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message))


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return struct.pack(">B", len(raw_name)) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value


# -- in process (benchmarks): botocore's before-send hook answers instead of a socket -------------


class _Raw:
    """What botocore reads a response body from: ``read`` (blobs) and ``stream`` (event streams)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._buffer = b"".join(chunks)
        self._chunks = chunks

    def read(self, amt: int | None = None) -> bytes:
        data, self._buffer = (self._buffer, b"") if amt is None else (self._buffer[:amt], self._buffer[amt:])
        return data

    def stream(self, **_: Any) -> Any:
        yield from self._chunks

    def close(self) -> None:
        self._buffer = b""


def install_in_process(client: Any, config: LocalLLMConfig | None = None) -> None:
    """Answer a boto3 ``bedrock-runtime`` client's requests in process (no sockets, no sleeping)."""
    from urllib.parse import urlsplit

    from botocore.awsrequest import AWSResponse

    cfg = config or LocalLLMConfig()

    def send(request: Any, **_: Any) -> Any:
        headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
        raw = request.body or b""
        body = raw if isinstance(raw, bytes) else str(raw).encode()
        reply = engine.handle(request.method, urlsplit(request.url).path, headers, body, cfg)
        return AWSResponse(request.url, reply.status, reply.headers, _Raw(reply.events or [] if reply.is_stream else [reply.body]))

    client.meta.events.register("before-send.bedrock-runtime.*", send)
