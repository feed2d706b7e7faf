"""The Gemini REST API, both as the Gemini Developer API and as Vertex AI serves it.

Routes: ``/{version}/models/{model}:generateContent``, ``:streamGenerateContent`` (``?alt=sse``:
server-sent events, each ``data:`` a ``GenerateContentResponse`` holding one text piece, the last
with ``finishReason`` and the full ``usageMetadata``), ``:batchEmbedContents`` / ``:embedContent``;
Vertex paths (``/{version}/[projects/{p}/locations/{l}/]publishers/google/models/{model}:...``)
take the same calls plus ``:predict`` for embeddings.

``usageMetadata``: ``promptTokenCount`` (cached included), ``candidatesTokenCount``,
``thoughtsTokenCount`` (``gemini-2.5*`` / ``gemini-3*`` models think: 2 x words of the last user
message, unless ``thinkingBudget`` is 0), ``cachedContentTokenCount`` (a system instruction of
``cache_min_words`` words or more is reported as cached). Function calls are
``functionCall`` parts (finish reason STOP, as Gemini reports them). Errors are
``{"error": {"code", "message", "status"}}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .. import engine
from ..engine import LocalLLMConfig, Reply
from . import _common

_PATH = re.compile(r"^/v1[a-z0-9]*/(?:projects/[^/]+/locations/[^/]+/)?(publishers/google/)?models/([^:/]+):"
                   r"(generateContent|streamGenerateContent|batchEmbedContents|embedContent|predict)$")
_STATUS = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
_THINKING = re.compile(r"^gemini-(2\.5|3)")
_EMBED_DIMS = 768

API = _common.Api(error_body=lambda status, message: {"error": {"code": status, "message": message, "status": _STATUS.get(status, "UNKNOWN")}},
                  frame=lambda item: _common.sse(item, eol="\r\n"))


def _get(obj: Mapping[str, Any], camel: str) -> Any:
    """A request field, camelCase as the REST API names it or snake_case as some clients send it."""
    snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)
    return obj.get(camel, obj.get(snake))


def _parts_text(parts: Any) -> tuple[str, list[str], list[str]]:
    """(text, function call texts, function response texts) of a content's parts."""
    texts, calls, results = [], [], []
    for part in parts or []:
        if isinstance(part, str):
            texts.append(part)
        elif _get(part, "text") is not None:
            texts.append(str(_get(part, "text")))
        elif _get(part, "functionCall"):
            call = _get(part, "functionCall")
            calls.append(f"{call.get('name', '')} {engine._dumps_args(call.get('args') or {})}")
        elif _get(part, "functionResponse"):
            results.append(engine._dumps(_get(part, "functionResponse").get("response")))
    return "\n".join(texts), calls, results


def _conversation(req: Mapping[str, Any], headers: Mapping[str, str]) -> engine._Conversation:
    conv = _common.conversation(headers)
    system = _get(req, "systemInstruction")
    if system:
        conv.system = _parts_text(system.get("parts") if isinstance(system, dict) else [system])[0]
    for content in _get(req, "contents") or []:
        text, calls, results = _parts_text(content.get("parts"))
        if content.get("role") == "model":
            conv.messages.append(engine._Msg("assistant", " ".join([text] * bool(text) + calls)))
            continue
        if text:
            conv.messages.append(engine._Msg("user", text))
        conv.messages.extend(engine._Msg("tool", r) for r in results)
    return conv


def _lower_types(schema: Any) -> Any:
    """Gemini schemas spell types in capitals (``STRING``); the engine reads JSON-schema ones."""
    if isinstance(schema, dict):
        return {k: (v.lower() if k == "type" and isinstance(v, str) else _lower_types(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_lower_types(v) for v in schema]
    return schema


def _request(req: Mapping[str, Any], model: str, conv: engine._Conversation) -> _common.Request:
    tools = []
    for tool in _get(req, "tools") or []:
        for fn in _get(tool, "functionDeclarations") or []:
            schema = _get(fn, "parametersJsonSchema") or _get(fn, "parameters") or {}
            tools.append(engine._Tool(fn["name"], _lower_types(schema)))
    calling = _get(_get(req, "toolConfig") or {}, "functionCallingConfig") or {}
    mode = {"NONE": "none", "ANY": "required"}.get(str(calling.get("mode", "AUTO")).upper(), "auto")
    forced = (_get(calling, "allowedFunctionNames") or [None])[0] if mode == "required" else None
    config = _get(req, "generationConfig") or {}
    budget = _get(_get(config, "thinkingConfig") or {}, "thinkingBudget")
    return _common.Request(model, conv, tools, mode, forced, _get(config, "maxOutputTokens"),
                           list(_get(config, "stopSequences") or []), bool(_THINKING.match(model)) and budget != 0)


def _usage(plan: _common.Plan, final: bool) -> dict[str, Any]:
    usage: dict[str, Any] = {"promptTokenCount": plan.input_tokens,
                             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": plan.input_tokens}]}
    if plan.cached_tokens:
        usage["cachedContentTokenCount"] = plan.cached_tokens
    total = plan.input_tokens
    if final:
        usage["candidatesTokenCount"] = plan.output_tokens
        total += plan.output_tokens
        if plan.reasoning_tokens:
            usage["thoughtsTokenCount"] = plan.reasoning_tokens
            total += plan.reasoning_tokens
    usage["totalTokenCount"] = total
    return usage


def _response(model: str, body_hash: str, parts: list[dict[str, Any]], plan: _common.Plan, final: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if final:
        candidate["finishReason"] = "MAX_TOKENS" if plan.finish == "length" else "STOP"
    out: dict[str, Any] = {"candidates": [candidate]}
    if plan.usage:
        out["usageMetadata"] = _usage(plan, final)
    out.update(modelVersion=model, responseId=body_hash[:22])
    return out


def _call_parts(plan: _common.Plan) -> list[dict[str, Any]]:
    return [{"functionCall": {"name": c.name, "args": _common.arguments(c)}} for c in plan.tool_calls]


def _generate(model: str, plan: _common.Plan, body_hash: str) -> dict[str, Any]:
    parts = _call_parts(plan) if plan.tool_calls else [{"text": plan.text or ""}]
    return _response(model, body_hash, parts, plan, final=True)


def _stream(model: str, plan: _common.Plan, body_hash: str) -> list[dict[str, Any]]:
    if plan.tool_calls:
        return [_response(model, body_hash, _call_parts(plan), plan, final=True)]
    pieces = plan.pieces or [""]
    return [_response(model, body_hash, [{"text": p}], plan, final=i == len(pieces) - 1) for i, p in enumerate(pieces)]


def _embed_texts(req: Mapping[str, Any], action: str) -> list[tuple[str, int | None]]:
    """(text, output dimensionality) per item, from any of the three embedding request shapes."""
    if action == "predict":
        dims = (req.get("parameters") or {}).get("outputDimensionality")
        return [(str(i.get("content", "")), dims) for i in req.get("instances") or []]
    items = req.get("requests") or [req]
    return [(_parts_text((_get(r, "content") or {}).get("parts"))[0], _get(r, "outputDimensionality")) for r in items]


def _embed(req: Mapping[str, Any], action: str) -> dict[str, Any]:
    texts = _embed_texts(req, action)
    if not texts:
        raise _common.ApiError(400, "* BatchEmbedContentsRequest.requests: at least one request is required")
    vectors = [engine.embedding_vector(t, int(d or _EMBED_DIMS)) for t, d in texts]
    if action == "predict":
        return {"predictions": [{"embeddings": {"values": v, "statistics": {"token_count": engine.count_tokens(t), "truncated": False}}}
                                for v, (t, _) in zip(vectors, texts, strict=False)],
                "metadata": {"billableCharacterCount": sum(len(t) for t, _ in texts)}}
    if action == "embedContent":
        return {"embedding": {"values": vectors[0]}, "usageMetadata": {"promptTokenCount": _common.embed_tokens([texts[0][0]])}}
    return {"embeddings": [{"values": v} for v in vectors]}


def route(method: str, path: str, headers: Mapping[str, str], body: bytes, cfg: LocalLLMConfig, now: int) -> Reply | None:
    match = _PATH.match(path.split("?", 1)[0])
    if method != "POST" or match is None:
        return None
    _, model, action = match.groups()
    body_hash = engine._hash(method, path.split("?", 1)[0], body)

    def serve() -> Reply:
        req = _common.parse_json(body)
        if action in ("batchEmbedContents", "embedContent", "predict"):
            text = " ".join(t for t, _ in _embed_texts(req, action))
            conv = engine._Conversation(messages=[engine._Msg("user", text)], extra_behaviors=engine._behaviors(headers))
            return _common.respond(API, headers, cfg, conv.triggers, lambda: _embed(req, action), False)
        if not _get(req, "contents"):
            raise _common.ApiError(400, "* GenerateContentRequest.contents: contents is not specified")
        conv = _conversation(req, headers)
        plan = _common.plan(_request(req, model, conv), cfg)
        if action == "streamGenerateContent":
            return _common.respond(API, headers, cfg, conv.triggers, lambda: _stream(model, plan, body_hash), True)
        return _common.respond(API, headers, cfg, conv.triggers, lambda: _generate(model, plan, body_hash), False)

    return _common.guarded(API, headers, cfg, serve)
