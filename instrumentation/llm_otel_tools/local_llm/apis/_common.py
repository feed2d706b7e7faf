"""What the further wire formats share: the deterministic answer, triggers, timing and framing.

Each API module (``gemini``, ``cohere``, ``mistral``, ``ollama``) only reads its request shape
into a :class:`Request` and writes :class:`Plan` out in its response shape; the rules (reply
text, tool calls, token counts, caching, trigger words) are the engine's, the same for every API.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import engine
from ..engine import LocalLLMConfig, Reply

SSE = "text/event-stream; charset=utf-8"
NDJSON = "application/x-ndjson"
JSON = "application/json"

#: trigger -> (HTTP status, message) for the APIs here (all report 503 for "overloaded")
ERRORS = {
    "error": (500, "Internal server error"),
    "ratelimit": (429, "Rate limit exceeded. Please try again later."),
    "overloaded": (503, "The model is overloaded. Please try again later."),
}


class ApiError(Exception):
    """A 4xx the API reports in its own error shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Request:
    """A chat-like request, read from any API's shape."""

    model: str
    conv: engine._Conversation
    tools: list[engine._Tool] = field(default_factory=list)
    tool_mode: str = "auto"  # auto | none | required
    forced_tool: str | None = None
    max_tokens: int | None = None
    stops: list[str] = field(default_factory=list)
    thinking: bool = False  # a reasoning model: reasoning tokens = 2 x words of the last user message


@dataclass
class Plan:
    """The answer, API-neutral: what every shape is written from."""

    text: str | None
    tool_calls: list[engine._ToolCall]
    finish: str  # stop | length | stop_sequence | tool_calls
    input_tokens: int  # cached ones included
    output_tokens: int  # visible output: text or tool calls (reasoning not included)
    cached_tokens: int
    reasoning_tokens: int
    usage: bool  # False under the "nousage" trigger

    @property
    def pieces(self) -> list[str]:
        """Stream pieces of the text: one token each, leading whitespace attached."""
        return engine._pieces(self.text or "")


def plan(req: Request, cfg: LocalLLMConfig) -> Plan:
    conv = req.conv
    ans = engine._answer(req.model, conv, req.tools, req.tool_mode, req.forced_tool, True)
    reasoning = 2 * engine.count_tokens(conv.last_user_text) if req.thinking else 0
    if ans.tool_calls:
        text, finish = None, "tool_calls"
        output = sum(engine._tool_call_tokens(c) for c in ans.tool_calls)
    else:
        text, reason, _ = engine._truncate(ans.text or "", req.max_tokens, req.stops)
        finish = {"max_tokens": "length", "stop_sequence": "stop_sequence"}.get(reason or "", "stop")
        output = engine.count_tokens(text)
    return Plan(text, ans.tool_calls, finish, conv.prompt_tokens, output, engine._cached_tokens(conv, cfg),
                reasoning, "nousage" not in conv.triggers)


def arguments(call: engine._ToolCall) -> dict[str, Any]:
    return json.loads(call.arguments)


def call_id(prefix: str, body_hash: str, index: int) -> str:
    return f"{prefix}{engine._hash(prefix, body_hash, index)[:24]}"


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise ApiError(400, f"Invalid JSON payload received: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return data


def conversation(headers: Mapping[str, str]) -> engine._Conversation:
    return engine._Conversation(extra_behaviors=engine._behaviors(headers))


def sse(data: Any, event: str | None = None, eol: str = "\n") -> bytes:
    head = f"event: {event}{eol}" if event else ""
    payload = data if isinstance(data, str) else engine._dumps(data)
    return f"{head}data: {payload}{eol}{eol}".encode()


def ndjson(data: Any) -> bytes:
    return (engine._dumps(data) + "\n").encode()


@dataclass
class Api:
    """One API's error shape and stream framing."""

    error_body: Callable[[int, str], Any]  # (status, message) -> JSON body
    frame: Callable[[Any], bytes]  # one stream item -> its bytes on the wire
    stream_type: str = SSE
    bad_frame: bytes = b"data: {not valid json\n\n"

    def error(self, status: int, message: str) -> Reply:
        headers = {"content-type": JSON}
        if status == 429:
            headers["retry-after"] = "0"
        return Reply(status, headers, engine._dumps(self.error_body(status, message)).encode())


def timing(headers: Mapping[str, str], cfg: LocalLLMConfig) -> dict[str, float]:
    return {
        "latency_ms": engine._ms(headers, engine.HEADER_LATENCY, cfg.latency_ms),
        "ttft_ms": engine._ms(headers, engine.HEADER_TTFT, cfg.ttft_ms),
        "chunk_delay_ms": engine._ms(headers, engine.HEADER_CHUNK_DELAY, cfg.chunk_delay_ms),
    }


def respond(api: Api, headers: Mapping[str, str], cfg: LocalLLMConfig, triggers: set[str],
            build: Callable[[], Any], stream: bool) -> Reply:
    """The reply for a parsed request: error triggers first, then the body or the stream items
    ``build()`` makes, with the timing, ``slow``, ``broken`` and ``malformed`` behaviours applied."""
    times = timing(headers, cfg)
    for name in ("error", "ratelimit", "overloaded"):
        if name in triggers:
            reply = api.error(*ERRORS[name])
            reply.latency_ms = cfg.slow_ms if "slow" in triggers else times["latency_ms"]
            return reply
    if "slow" in triggers:
        times["latency_ms"] = max(times["latency_ms"], cfg.slow_ms)
        times["ttft_ms"] = max(times["ttft_ms"], cfg.slow_ms)
    result = build()
    broken = "broken" in triggers
    if not stream:
        body = engine._dumps(result).encode()
        if "malformed" in triggers:
            body = body[: len(body) // 2] + b"<<not json>>"
        return Reply(200, {"content-type": JSON}, body, broken=broken, **times)
    frames = [api.frame(item) for item in result]
    if "malformed" in triggers:
        frames = [*frames[:1], api.bad_frame, *frames[1:]]
    if broken:
        frames = frames[: max(1, cfg.broken_after_events)]
    return Reply(200, {"content-type": api.stream_type, "cache-control": "no-cache"}, events=frames, broken=broken, **times)


def guarded(api: Api, headers: Mapping[str, str], cfg: LocalLLMConfig, serve: Callable[[], Reply]) -> Reply:
    """``serve()``, with the API's own 4xx shape for what it rejects."""
    try:
        return serve()
    except ApiError as err:
        reply = api.error(err.status, err.message)
        times = timing(headers, cfg)
        reply.latency_ms = times["latency_ms"]
        return reply


def embed_tokens(texts: list[str]) -> int:
    return sum(max(1, engine.count_tokens(t)) for t in texts)
