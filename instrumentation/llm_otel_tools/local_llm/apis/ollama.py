"""Ollama's native API: ``/api/chat``, ``/api/generate``, ``/api/embed`` (NDJSON streams).

Streams are newline-delimited JSON objects (``done: false`` with a content piece, then one
``done: true`` with ``done_reason`` and the counts ``prompt_eval_count`` / ``eval_count``);
tool calls arrive whole, arguments as objects. Errors are ``{"error": "..."}``. Durations are
deterministic (1 ms per token, in nanoseconds as Ollama reports them).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .. import engine
from ..engine import LocalLLMConfig, Reply
from . import _common

API = _common.Api(error_body=lambda status, message: {"error": message}, frame=_common.ndjson,
                  stream_type=_common.NDJSON, bad_frame=b"{not valid json\n")
_NS_PER_TOKEN = 1_000_000


def _created_at(now: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime(now))


def _conversation(req: Mapping[str, Any], headers: Mapping[str, str]) -> engine._Conversation:
    conv = _common.conversation(headers)
    systems = []
    for m in req.get("messages") or []:
        role, text = m.get("role", "user"), engine._content_text(m.get("content"))
        if role == "system":
            systems.append(text)
        elif role == "tool":
            conv.messages.append(engine._Msg("tool", text))
        elif role == "assistant":
            calls = [f"{(c.get('function') or {}).get('name', '')} {engine._dumps_args((c.get('function') or {}).get('arguments') or {})}"
                     for c in m.get("tool_calls") or []]
            conv.messages.append(engine._Msg("assistant", " ".join([text] * bool(text) + calls)))
        else:
            conv.messages.append(engine._Msg("user", text))
    if req.get("prompt") is not None:  # /api/generate
        conv.messages.append(engine._Msg("user", str(req["prompt"])))
    if req.get("system"):
        systems.append(str(req["system"]))
    conv.system = "\n".join(systems)
    return conv


def _request(req: Mapping[str, Any], conv: engine._Conversation) -> _common.Request:
    options = req.get("options") or {}
    stops = options.get("stop") or []
    tools = [engine._Tool(t["function"]["name"], t["function"].get("parameters") or {})
             for t in req.get("tools") or [] if (t.get("function") or {}).get("name")]
    budget = options.get("num_predict")
    return _common.Request(req["model"], conv, tools, max_tokens=int(budget) if budget and budget > 0 else None,
                           stops=[stops] if isinstance(stops, str) else list(stops))


def _final(model: str, plan: _common.Plan, now: int) -> dict[str, Any]:
    out: dict[str, Any] = {"model": model, "created_at": _created_at(now), "done": True,
                           "done_reason": "length" if plan.finish == "length" else "stop"}
    if plan.usage:
        out.update(total_duration=(plan.input_tokens + plan.output_tokens + 1) * _NS_PER_TOKEN, load_duration=_NS_PER_TOKEN,
                   prompt_eval_count=plan.input_tokens, prompt_eval_duration=plan.input_tokens * _NS_PER_TOKEN,
                   eval_count=plan.output_tokens, eval_duration=plan.output_tokens * _NS_PER_TOKEN)
    return out


def _message(plan: _common.Plan, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if plan.tool_calls:
        message["tool_calls"] = [{"function": {"index": i, "name": c.name, "arguments": _common.arguments(c)}}
                                 for i, c in enumerate(plan.tool_calls)]
    return message


def _chat(model: str, plan: _common.Plan, now: int, stream: bool) -> Any:
    if not stream:
        return {**_final(model, plan, now), "message": _message(plan, plan.text or "")}
    head = {"model": model, "created_at": _created_at(now), "done": False}
    items = [{**head, "message": {"role": "assistant", "content": piece}} for piece in plan.pieces]
    if plan.tool_calls:
        items.append({**head, "message": _message(plan, "")})
    return [*items, {**_final(model, plan, now), "message": {"role": "assistant", "content": ""}}]


def _generate(model: str, plan: _common.Plan, now: int, stream: bool) -> Any:
    if not stream:
        return {**_final(model, plan, now), "response": plan.text or "", "context": list(range(1, plan.input_tokens + 1))}
    head = {"model": model, "created_at": _created_at(now), "done": False}
    items = [{**head, "response": piece} for piece in plan.pieces]
    return [*items, {**_final(model, plan, now), "response": "", "context": list(range(1, plan.input_tokens + 1))}]


def _embed(req: Mapping[str, Any]) -> dict[str, Any]:
    inputs = req.get("input")
    texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
    dims = int(req.get("dimensions") or 768)
    tokens = _common.embed_tokens(texts)
    return {"model": req["model"], "embeddings": [engine.embedding_vector(t, dims) for t in texts],
            "total_duration": tokens * _NS_PER_TOKEN, "load_duration": _NS_PER_TOKEN, "prompt_eval_count": tokens}


def route(method: str, path: str, headers: Mapping[str, str], body: bytes, cfg: LocalLLMConfig, now: int) -> Reply | None:
    route = path.split("?", 1)[0].rstrip("/")
    if method != "POST" or route not in ("/api/chat", "/api/generate", "/api/embed"):
        return None

    def serve() -> Reply:
        req = _common.parse_json(body)
        if not req.get("model"):
            raise _common.ApiError(400, "model is required")
        if route == "/api/embed":
            inputs = req.get("input")
            conv = engine._Conversation(messages=[engine._Msg("user", inputs if isinstance(inputs, str) else " ".join(inputs or []))],
                                        extra_behaviors=engine._behaviors(headers))
            return _common.respond(API, headers, cfg, conv.triggers, lambda: _embed(req), False)
        conv = _conversation(req, headers)
        stream = req.get("stream", True) is not False  # Ollama streams unless told not to
        plan = _common.plan(_request(req, conv), cfg)
        shape = _chat if route == "/api/chat" else _generate
        return _common.respond(API, headers, cfg, conv.triggers, lambda: shape(req["model"], plan, now, stream), stream)

    return _common.guarded(API, headers, cfg, serve)
