"""Cohere's v2 API: ``/v2/chat`` (stream or not), ``/v2/embed``, ``/v2/rerank``.

Chat replies carry ``message.content`` text blocks or ``tool_calls`` (with a ``tool_plan``),
``finish_reason`` COMPLETE / MAX_TOKENS / STOP_SEQUENCE / TOOL_CALL and ``usage`` with
``billed_units``, ``tokens`` and ``cached_tokens``. Streams are SSE events ``message-start``,
``content-start/delta/end``, ``tool-plan-delta``, ``tool-call-start/delta/end``, ``message-end``.
Rerank scores are the cosine similarity of the local embeddings of query and document.
Errors are ``{"message": "..."}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import engine
from ..engine import LocalLLMConfig, Reply
from . import _common

API = _common.Api(error_body=lambda status, message: {"message": message},
                  frame=lambda item: _common.sse(item, item["type"]))
_FINISH = {"stop": "COMPLETE", "length": "MAX_TOKENS", "stop_sequence": "STOP_SEQUENCE", "tool_calls": "TOOL_CALL"}
_EMBED_DIMS = 1024


def _conversation(req: Mapping[str, Any], headers: Mapping[str, str]) -> engine._Conversation:
    conv = _common.conversation(headers)
    systems = []
    for m in req.get("messages") or []:
        role, text = m.get("role", "user"), engine._content_text(m.get("content"))
        if role == "system":
            systems.append(text)
        elif role == "tool":
            conv.messages.append(engine._Msg("tool", text or engine._dumps(m.get("content"))))
        elif role == "assistant":
            calls = [f"{(c.get('function') or {}).get('name', '')} {(c.get('function') or {}).get('arguments', '')}"
                     for c in m.get("tool_calls") or []]
            conv.messages.append(engine._Msg("assistant", " ".join([text] * bool(text) + calls)))
        else:
            conv.messages.append(engine._Msg("user", text))
    conv.system = "\n".join(systems)
    return conv


def _request(req: Mapping[str, Any], conv: engine._Conversation) -> _common.Request:
    tools = [engine._Tool(t["function"]["name"], t["function"].get("parameters") or {})
             for t in req.get("tools") or [] if (t.get("function") or {}).get("name")]
    mode = "none" if str(req.get("tool_choice", "")).upper() == "NONE" else "auto"
    return _common.Request(req["model"], conv, tools, mode, max_tokens=req.get("max_tokens"),
                           stops=list(req.get("stop_sequences") or []), thinking=(req.get("thinking") or {}).get("type") == "enabled")


def _usage(plan: _common.Plan) -> dict[str, Any]:
    output = plan.output_tokens + plan.reasoning_tokens
    return {"billed_units": {"input_tokens": plan.input_tokens - plan.cached_tokens, "output_tokens": output},
            "tokens": {"input_tokens": plan.input_tokens, "output_tokens": output}, "cached_tokens": plan.cached_tokens}


def _calls(plan: _common.Plan, body_hash: str) -> list[dict[str, Any]]:
    return [{"id": _common.call_id("call_", body_hash, i), "type": "function",
             "function": {"name": c.name, "arguments": c.arguments}} for i, c in enumerate(plan.tool_calls)]


def _tool_plan(plan: _common.Plan) -> str:
    return "I will call " + ", ".join(c.name for c in plan.tool_calls) + "."


def _chat(plan: _common.Plan, body_hash: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant"}
    if plan.tool_calls:
        message.update(tool_plan=_tool_plan(plan), tool_calls=_calls(plan, body_hash))
    else:
        message["content"] = [{"type": "text", "text": plan.text or ""}]
    out: dict[str, Any] = {"id": "chat-" + body_hash[:24], "finish_reason": _FINISH[plan.finish], "message": message}
    if plan.usage:
        out["usage"] = _usage(plan)
    return out


def _events(plan: _common.Plan, body_hash: str) -> list[dict[str, Any]]:
    start = {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}
    events: list[dict[str, Any]] = [{"type": "message-start", "id": "chat-" + body_hash[:24], "delta": start}]
    if plan.tool_calls:
        for piece in engine._pieces(_tool_plan(plan)):
            events.append({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": piece}}})
        for i, call in enumerate(_calls(plan, body_hash)):
            first = {**call, "function": {"name": call["function"]["name"], "arguments": ""}}
            events.append({"type": "tool-call-start", "index": i, "delta": {"message": {"tool_calls": first}}})
            for piece in engine._pieces(call["function"]["arguments"]):
                events.append({"type": "tool-call-delta", "index": i, "delta": {"message": {"tool_calls": {"function": {"arguments": piece}}}}})
            events.append({"type": "tool-call-end", "index": i})
    else:
        events.append({"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}})
        for piece in plan.pieces:
            events.append({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": piece}}}})
        events.append({"type": "content-end", "index": 0})
    end: dict[str, Any] = {"finish_reason": _FINISH[plan.finish]}
    if plan.usage:
        end["usage"] = _usage(plan)
    events.append({"type": "message-end", "delta": end})
    return events


def _meta(**billed: int) -> dict[str, Any]:
    return {"api_version": {"version": "2"}, "billed_units": billed}


def _embed(req: Mapping[str, Any], body_hash: str) -> dict[str, Any]:
    texts = [str(t) for t in req.get("texts") or []]
    if not texts:
        raise _common.ApiError(400, "invalid request: texts must be a non-empty list")
    dims = int(req.get("output_dimension") or _EMBED_DIMS)
    vectors = [engine.embedding_vector(t, dims) for t in texts]
    kinds = req.get("embedding_types") or ["float"]
    return {"id": "embed-" + body_hash[:24], "embeddings": {k: vectors for k in kinds}, "texts": texts,
            "meta": _meta(input_tokens=_common.embed_tokens(texts)), "response_type": "embeddings_by_type"}


def _document_text(doc: Any) -> str:
    return doc if isinstance(doc, str) else engine._dumps(doc)


def _rerank(req: Mapping[str, Any], body_hash: str) -> dict[str, Any]:
    query, docs = str(req.get("query") or ""), [_document_text(d) for d in req.get("documents") or []]
    if not query or not docs:
        raise _common.ApiError(400, "invalid request: query and documents are required")
    q = engine.embedding_vector(query, _EMBED_DIMS)
    scores = [sum(a * b for a, b in zip(q, engine.embedding_vector(d, _EMBED_DIMS), strict=False)) for d in docs]
    ranked = sorted(range(len(docs)), key=lambda i: (-scores[i], i))[: int(req.get("top_n") or len(docs))]
    return {"id": "rerank-" + body_hash[:24], "results": [{"index": i, "relevance_score": round((scores[i] + 1) / 2, 6)} for i in ranked],
            "meta": _meta(search_units=1)}


def route(method: str, path: str, headers: Mapping[str, str], body: bytes, cfg: LocalLLMConfig, now: int) -> Reply | None:
    route = path.split("?", 1)[0].rstrip("/")
    if method != "POST" or route not in ("/v2/chat", "/v2/embed", "/v2/rerank"):
        return None
    body_hash = engine._hash(method, route, body)

    def serve() -> Reply:
        req = _common.parse_json(body)
        if not req.get("model"):
            raise _common.ApiError(400, "invalid request: model must be specified")
        if route != "/v2/chat":
            text = " ".join([str(req.get("query") or "")] + [str(t) for t in req.get("texts") or []])
            conv = engine._Conversation(messages=[engine._Msg("user", text)], extra_behaviors=engine._behaviors(headers))
            build = (lambda: _embed(req, body_hash)) if route == "/v2/embed" else (lambda: _rerank(req, body_hash))
            return _common.respond(API, headers, cfg, conv.triggers, build, False)
        conv = _conversation(req, headers)
        plan = _common.plan(_request(req, conv), cfg)
        stream = bool(req.get("stream"))
        return _common.respond(API, headers, cfg, conv.triggers,
                               (lambda: _events(plan, body_hash)) if stream else (lambda: _chat(plan, body_hash)), stream)

    return _common.guarded(API, headers, cfg, serve)
