"""Mistral's chat and embeddings API (``/v1/chat/completions``, ``/v1/embeddings``), served
under the ``/mistral`` prefix so it does not clash with OpenAI's identical paths
(``Mistral(server_url=srv.mistral_base_url)``). Same answers as OpenAI; differences from it:
streams always end with usage on the finish chunk (no ``stream_options``), tool calls come
whole in one delta, no OpenAI-only
fields, errors as ``{"object": "error", "message", "type", "code"}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import engine
from ..engine import LocalLLMConfig, Reply
from . import _common

PREFIX = "/mistral/v1"
_OPENAI_ONLY = ("service_tier", "system_fingerprint")

API = _common.Api(
    error_body=lambda status, message: {"object": "error", "message": message, "type": "invalid_request_error"
                                        if status < 500 else "internal_error", "param": None, "code": str(status)},
    frame=lambda item: _common.sse(item),
)


def _strip(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in _OPENAI_ONLY}


def _chunks(req: dict[str, Any], cfg: LocalLLMConfig, now: int, body_hash: str) -> list[Any]:
    chunks = engine.chat_completion_chunks({**req, "stream_options": {"include_usage": True}}, cfg, now=now, body_hash=body_hash)
    out, calls = [], {}
    for chunk in chunks:
        delta = chunk["choices"][0]["delta"] if chunk["choices"] else {}
        pieces = [c for c in delta.get("tool_calls") or () if "id" not in c]
        if pieces:  # Mistral sends each tool call whole, in one delta
            for piece in pieces:
                calls[piece["index"]]["function"]["arguments"] += piece["function"]["arguments"]
            continue
        for call in delta.get("tool_calls") or ():
            calls[call["index"]] = call
        out.append(_strip({k: v for k, v in chunk.items() if k != "usage" or v is not None}))
    if out and not out[-1]["choices"]:  # usage travels on the finish chunk
        usage = out.pop()["usage"]
        out[-1]["usage"] = usage
    return [*out, "[DONE]"]


def route(method: str, path: str, headers: Mapping[str, str], body: bytes, cfg: LocalLLMConfig, now: int) -> Reply | None:
    route = path.split("?", 1)[0].rstrip("/")
    if not route.startswith(PREFIX) or method != "POST":
        return None
    kind = route[len(PREFIX):]
    if kind not in ("/chat/completions", "/embeddings"):
        return None
    body_hash = engine._hash(method, kind, body)

    def serve() -> Reply:
        req = _common.parse_json(body)
        if not req.get("model"):
            raise _common.ApiError(422, "model: Field required")
        req[engine._BEHAVIOR_KEY] = sorted(engine._behaviors(headers))
        if kind == "/embeddings":
            inputs = req.get("inputs", req.get("input"))
            req["input"] = inputs
            conv = engine._Conversation(messages=[engine._Msg("user", inputs if isinstance(inputs, str) else " ".join(inputs or []))],
                                        extra_behaviors=engine._behaviors(headers))
            build = lambda: {"id": "emb-" + body_hash[:24], **engine.embeddings({**req, "dimensions": req.get("output_dimension") or 1024}, cfg),  # noqa: E731
                             "usage": _embed_usage(req)}
            return _common.respond(API, headers, cfg, conv.triggers, build, False)
        conv = engine._openai_conversation(req)
        stream = bool(req.get("stream"))
        if stream:
            return _common.respond(API, headers, cfg, conv.triggers, lambda: _chunks(req, cfg, now, body_hash), True)
        return _common.respond(API, headers, cfg, conv.triggers,
                               lambda: _strip(engine.chat_completion(req, cfg, now=now, body_hash=body_hash)), False)

    return _common.guarded(API, headers, cfg, serve)


def _embed_usage(req: Mapping[str, Any]) -> dict[str, int]:
    inputs = req.get("input")
    tokens = _common.embed_tokens([inputs] if isinstance(inputs, str) else list(inputs or []))
    return {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens}
