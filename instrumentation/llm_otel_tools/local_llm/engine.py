"""Pure response construction for the local deterministic LLM.

Nothing in this module does I/O, sleeps or reads the clock (the caller
passes ``now``).  :func:`handle` turns one HTTP request (method, path,
headers, body bytes) into a :class:`Reply` — status, headers, and either a
complete body or a list of pre-encoded server-sent-event frames plus the
timing the caller should apply.  Both the socket server
(:mod:`llm_otel_tools.local_llm.server`) and the in-process ``httpx`` transports
(:mod:`llm_otel_tools.local_llm.transport`) are thin layers over this function, so
they return byte-identical bodies for identical requests.

The behaviour rules are documented in the package docstring
(:mod:`llm_otel_tools.local_llm`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MODEL_ALIASES",
    "TRIGGERS",
    "LocalLLMConfig",
    "Reply",
    "anthropic_events",
    "anthropic_message",
    "chat_completion",
    "chat_completion_chunks",
    "count_tokens",
    "embeddings",
    "handle",
    "reply_text",
    "responses_create",
    "responses_events",
]

#: Whole words (case-insensitive) in the latest user message that switch on a
#: special behaviour.  They can also be forced with the ``x-llm-behaviors``
#: request header (comma separated).
TRIGGERS = frozenset(
    {
        "refuse",
        "unsure",
        "long",
        "error",
        "ratelimit",
        "overloaded",
        "broken",
        "slow",
        "nousage",
        "malformed",
        "cachewrite",
    }
)

#: Request model -> model reported in OpenAI responses (dated snapshot, like
#: the real API).  Models not listed are echoed unchanged.
MODEL_ALIASES: dict[str, str] = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "o3-mini": "o3-mini-2025-01-31",
    "o3": "o3-2025-04-16",
    "o4-mini": "o4-mini-2025-04-16",
    "gpt-5": "gpt-5-2025-08-07",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
    "gpt-5-nano": "gpt-5-nano-2025-08-07",
    # Anthropic aliases resolve to a snapshot; other Claude ids echo.
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
    "claude-opus-4-5": "claude-opus-4-5-20251101",
    "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
    "claude-3-5-sonnet-latest": "claude-3-5-sonnet-20241022",
    "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
}

_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")
_EMBEDDING_DIMS = {"text-embedding-3-large": 3072}
_DEFAULT_EMBEDDING_DIMS = 1536

HEADER_LATENCY = "x-llm-latency-ms"
HEADER_TTFT = "x-llm-ttft-ms"
HEADER_CHUNK_DELAY = "x-llm-chunk-delay-ms"
HEADER_BEHAVIORS = "x-llm-behaviors"
_GROQ = "x-local-llm-groq"  # internal: the request came in on Groq's /openai/v1 prefix
# request-dict key through which header-forced behaviours reach the builders
_BEHAVIOR_KEY = "_llm_behaviors"


@dataclass
class LocalLLMConfig:
    """Server-wide defaults; per-request headers override the timings."""

    latency_ms: float = 0.0  # non-streaming: delay before the response
    ttft_ms: float = 0.0  # streaming: delay before the first event
    chunk_delay_ms: float = 0.0  # streaming: delay between events
    slow_ms: float = 3000.0  # latency/ttft used when the "slow" trigger fires
    cache_min_words: int = 32  # system prompts this long report cached tokens
    broken_after_events: int = 3  # SSE frames sent before a "broken" drop
    fixed_time: int | None = None  # freeze created/created_at (for byte-equality)


@dataclass
class Reply:
    """What to send back.  ``events`` is set for streams (pre-encoded SSE frames)."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    events: list[bytes] | None = None
    # Drop the connection: streams after ``events``; non-streams after half the body.
    broken: bool = False
    latency_ms: float = 0.0
    ttft_ms: float = 0.0
    chunk_delay_ms: float = 0.0

    @property
    def is_stream(self) -> bool:
        return self.events is not None

    def json(self) -> Any:
        return json.loads(self.body)


class _HTTPError(Exception):
    def __init__(self, status: int, kind: str, message: str, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.kind, self.message, self.code, self.param = status, kind, message, code, param


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """Deterministic token count: whitespace-separated words."""
    return len(text.split())


def _pieces(text: str) -> list[str]:
    """Split into stream pieces, one per token, leading whitespace attached."""
    return re.findall(r"\s*\S+", text)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _hash(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\x00")
    return h.hexdigest()


def response_model(model: str) -> str:
    return MODEL_ALIASES.get(model, model)


def _is_reasoning(model: str) -> bool:
    return bool(_REASONING_MODEL.match(model))


def _fingerprint(model: str) -> str:
    return "fp_" + _hash("fp", model)[:10]


# --------------------------------------------------------------------------
# conversation model shared by the three APIs
# --------------------------------------------------------------------------


@dataclass
class _Msg:
    role: str  # system | user | assistant | tool
    text: str


@dataclass
class _Tool:
    name: str
    schema: dict[str, Any]


@dataclass
class _Conversation:
    system: str = ""
    messages: list[_Msg] = field(default_factory=list)
    extra_behaviors: set[str] = field(default_factory=set)
    output_schema: dict[str, Any] | None = None  # structured output asked for: the text is JSON of this schema

    @property
    def last_user_text(self) -> str:
        for m in reversed(self.messages):
            if m.role == "user":
                return m.text
        return ""

    @property
    def ends_with_tool_result(self) -> bool:
        return bool(self.messages) and self.messages[-1].role == "tool"

    @property
    def tool_results(self) -> list[str]:
        out: list[str] = []
        for m in reversed(self.messages):
            if m.role != "tool":
                break
            out.append(m.text)
        return list(reversed(out))

    @property
    def triggers(self) -> set[str]:
        return (_words(self.last_user_text) & TRIGGERS) | self.extra_behaviors

    @property
    def prompt_tokens(self) -> int:
        return max(1, count_tokens(self.system) + sum(count_tokens(m.text) for m in self.messages))

    @property
    def system_tokens(self) -> int:
        return count_tokens(self.system)


def _content_text(content: Any) -> str:
    """Text of OpenAI / Responses / Anthropic content (string or list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
        return "\n".join(texts)
    return str(content)


# --------------------------------------------------------------------------
# the "model": what to answer
# --------------------------------------------------------------------------


@dataclass
class _ToolCall:
    name: str
    arguments: str  # JSON text


@dataclass
class _Answer:
    text: str | None  # full text before truncation (None for pure tool calls)
    tool_calls: list[_ToolCall]
    reasoning_tokens: int = 0


def reply_text(model: str, user_text: str, triggers: Iterable[str] = ()) -> str:
    """The deterministic text reply: a pure function of model + last user message."""
    trig = set(triggers) | (_words(user_text) & TRIGGERS)
    words = user_text.split()
    topic = " ".join(words[:8]) if words else "nothing in particular"
    if "refuse" in trig:
        return "I cannot help with that request. Please ask about something else."
    if "unsure" in trig:
        return f"I think the answer is probably related to {topic}, but I am not completely certain."
    if "long" in trig:
        sentences = [
            f"Point {i}: the local model {model} elaborates on {topic} with deterministic detail number {i}."
            for i in range(1, 31)
        ]
        return " ".join(sentences)
    echo = " ".join(words[:20]) if words else "(empty prompt)"
    return f"This is a deterministic reply from {model} to: {echo}"


def _tool_result_text(results: list[str]) -> str:
    return "Based on the tool result, the answer is: " + "; ".join(r.strip() for r in results)


def _derive_arguments(schema: Mapping[str, Any] | None, text: str) -> dict[str, Any]:
    props = (schema or {}).get("properties") or {}
    tokens = re.findall(r"[A-Za-z0-9_\-]+", text)
    subject = tokens[-1] if tokens else ""
    numbers = re.findall(r"-?\d+(?:\.\d+)?", text)
    args: dict[str, Any] = {}
    for name, spec in props.items():
        spec = spec if isinstance(spec, dict) else {}
        typ = spec.get("type")
        if isinstance(typ, list):
            typ = next((t for t in typ if t != "null"), "string")
        if spec.get("enum"):
            args[name] = spec["enum"][0]
        elif typ in ("number", "integer"):
            num = float(numbers[0]) if numbers else 1
            args[name] = int(num) if typ == "integer" else num
        elif typ == "boolean":
            args[name] = True
        elif typ == "array":
            args[name] = [subject]
        elif typ == "object":
            args[name] = {}
        elif name.lower() in ("query", "q", "text", "prompt", "question", "input"):
            args[name] = text
        else:
            args[name] = subject
    return args


def _choose_tools(tools: list[_Tool], user_text: str, forced: str | None, parallel: bool) -> list[_Tool]:
    if forced:
        return [t for t in tools if t.name == forced][:1] or tools[:1]
    lowered = user_text.lower()
    words = _words(user_text)

    def mentioned(name: str) -> bool:
        name = name.lower()
        spaced = re.sub(r"[_\-.]+", " ", name)
        return name in lowered or spaced in lowered or re.split(r"[_\-.]", name)[-1] in words

    named = [t for t in tools if mentioned(t.name)]
    chosen = named or tools[:1]
    return chosen if parallel else chosen[:1]


def _answer(
    model: str,
    conv: _Conversation,
    tools: list[_Tool],
    tool_mode: str,  # "auto" | "none" | "required"
    forced_tool: str | None,
    parallel: bool,
) -> _Answer:
    trig = conv.triggers
    user_text = conv.last_user_text
    reasoning = 2 * count_tokens(user_text) if _is_reasoning(model) else 0
    if conv.ends_with_tool_result:
        return _Answer(_tool_result_text(conv.tool_results), [], reasoning)
    if tools and tool_mode != "none" and "refuse" not in trig:
        calls = [
            _ToolCall(t.name, _dumps_args(_derive_arguments(t.schema, user_text)))
            for t in _choose_tools(tools, user_text, forced_tool, parallel)
        ]
        return _Answer(None, calls, reasoning)
    if conv.output_schema is not None and "refuse" not in trig:
        fields = _derive_arguments(conv.output_schema, user_text) if conv.output_schema else {"answer": reply_text(model, user_text, trig)}
        return _Answer(_dumps_args(fields), [], reasoning)
    return _Answer(reply_text(model, user_text, trig), [], reasoning)


def _output_schema(req: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a structured-output request asks for ({} for plain JSON mode), None for text:
    chat ``response_format``, Responses ``text.format``, Anthropic ``output_config.format``."""
    fmt = req.get("response_format") or (req.get("text") or {}).get("format") or (req.get("output_config") or {}).get("format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        schema = fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else {}
    return {} if fmt.get("type") == "json_object" else None


def _dumps_args(args: dict[str, Any]) -> str:
    return json.dumps(args, ensure_ascii=False)  # ", " / ": " separators: tokenizes nicely


def _truncate(text: str, budget: int | None, stops: list[str]) -> tuple[str, str | None, str | None]:
    """Apply stop sequences and a token budget. Returns (text, reason, matched_stop)."""
    for stop in stops:
        if stop and stop in text:
            return text[: text.index(stop)], "stop_sequence", stop
    if budget is not None:
        pieces = _pieces(text)
        if len(pieces) > budget:
            return "".join(pieces[: max(0, budget)]), "max_tokens", None
    return text, None, None


def _tool_call_tokens(call: _ToolCall) -> int:
    return count_tokens(call.name) + count_tokens(call.arguments)


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise _HTTPError(400, "invalid_request_error", f"Could not parse the JSON body of your request: {exc}") from None
    if not isinstance(data, dict):
        raise _HTTPError(400, "invalid_request_error", "The request body must be a JSON object.")
    return data


def _require(req: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if req.get(name) in (None, ""):
            raise _HTTPError(400, "invalid_request_error", f"Missing required parameter: '{name}'.", "missing_required_parameter", name)


def _behaviors(headers: Mapping[str, str]) -> set[str]:
    raw = headers.get(HEADER_BEHAVIORS, "")
    return {b.strip().lower() for b in raw.split(",") if b.strip().lower() in TRIGGERS}


# --------------------------------------------------------------------------
# OpenAI chat completions
# --------------------------------------------------------------------------


def _openai_conversation(req: Mapping[str, Any]) -> _Conversation:
    conv = _Conversation(extra_behaviors=set(req.get(_BEHAVIOR_KEY) or ()), output_schema=_output_schema(req))
    systems = []
    for m in req.get("messages") or []:
        role = m.get("role")
        text = _content_text(m.get("content"))
        if role in ("system", "developer"):
            systems.append(text)
        elif role == "tool" or role == "function":
            conv.messages.append(_Msg("tool", text))
        elif role == "assistant":
            parts = [text] if text else []
            for tc in m.get("tool_calls") or []:
                fn = tc.get("function") or {}
                parts.append(f"{fn.get('name', '')} {fn.get('arguments', '')}")
            conv.messages.append(_Msg("assistant", " ".join(parts)))
        else:
            conv.messages.append(_Msg("user", text))
    conv.system = "\n".join(systems)
    return conv


def _openai_tools(req: Mapping[str, Any]) -> tuple[list[_Tool], str, str | None, bool]:
    tools = []
    for t in req.get("tools") or []:
        fn = t.get("function") if isinstance(t.get("function"), dict) else t
        if t.get("type", "function") == "function" and fn.get("name"):
            tools.append(_Tool(fn["name"], fn.get("parameters") or {}))
    choice = req.get("tool_choice", "auto")
    mode, forced = "auto", None
    if choice == "none":
        mode = "none"
    elif isinstance(choice, dict):
        forced = (choice.get("function") or {}).get("name") or choice.get("name")
    parallel = req.get("parallel_tool_calls", True) is not False
    return tools, mode, forced, parallel


def _openai_usage(prompt: int, completion: int, cached: int, reasoning: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _cached_tokens(conv: _Conversation, cfg: LocalLLMConfig) -> int:
    return conv.system_tokens if conv.system_tokens >= cfg.cache_min_words else 0


@dataclass
class _ChatChoice:
    index: int
    text: str | None
    tool_calls: list[tuple[str, _ToolCall]]  # (id, call)
    finish_reason: str
    tokens: int


def _chat_plan(req: Mapping[str, Any], cfg: LocalLLMConfig, body_hash: str) -> tuple[list[_ChatChoice], int, _Conversation, _Answer]:
    conv = _openai_conversation(req)
    tools, mode, forced, parallel = _openai_tools(req)
    model = req["model"]
    ans = _answer(model, conv, tools, mode, forced, parallel)
    limit = req.get("max_completion_tokens", req.get("max_tokens"))
    budget = None if limit is None else max(0, int(limit) - ans.reasoning_tokens)
    stops = req.get("stop") or []
    stops = [stops] if isinstance(stops, str) else list(stops)
    choices = []
    for i in range(max(1, int(req.get("n") or 1))):
        if ans.tool_calls:
            calls = [(f"call_{_hash(body_hash, i, j, c.name)[:24]}", c) for j, c in enumerate(ans.tool_calls)]
            tokens = sum(_tool_call_tokens(c) for _, c in calls)
            choices.append(_ChatChoice(i, None, calls, "tool_calls", tokens))
        else:
            full = ans.text if i == 0 else f"{ans.text} (variant {i + 1})"
            text, reason, _ = _truncate(full, budget, stops)
            finish = "length" if reason == "max_tokens" else "stop"
            choices.append(_ChatChoice(i, text, [], finish, count_tokens(text)))
    completion = sum(c.tokens for c in choices) + ans.reasoning_tokens
    return choices, completion, conv, ans


def _chat_common(req: Mapping[str, Any], body_hash: str, now: int) -> dict[str, Any]:
    tier = req.get("service_tier")
    return {
        "id": f"chatcmpl-{_hash('chat', body_hash)[:29]}",
        "created": now,
        "model": response_model(req["model"]),
        "service_tier": tier if tier and tier != "auto" else "default",
        "system_fingerprint": _fingerprint(req["model"]),
    }


def chat_completion(req: Mapping[str, Any], cfg: LocalLLMConfig | None = None, *, now: int = 0, body_hash: str = "") -> dict[str, Any]:
    """Non-streaming ``chat.completion`` object for a request dict."""
    cfg = cfg or LocalLLMConfig()
    choices, completion, conv, ans = _chat_plan(req, cfg, body_hash)
    common = _chat_common(req, body_hash, now)
    out: dict[str, Any] = {"id": common.pop("id"), "object": "chat.completion", **common, "choices": []}
    for c in choices:
        msg: dict[str, Any] = {"role": "assistant", "content": c.text, "refusal": None, "annotations": []}
        if c.tool_calls:
            msg["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
                for cid, call in c.tool_calls
            ]
        out["choices"].append({"index": c.index, "message": msg, "logprobs": None, "finish_reason": c.finish_reason})
    if "nousage" not in conv.triggers:
        out["usage"] = _openai_usage(conv.prompt_tokens, completion, _cached_tokens(conv, cfg), ans.reasoning_tokens)
    return out


def chat_completion_chunks(req: Mapping[str, Any], cfg: LocalLLMConfig | None = None, *, now: int = 0, body_hash: str = "") -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed completion (without ``[DONE]``)."""
    cfg = cfg or LocalLLMConfig()
    choices, completion, conv, ans = _chat_plan(req, cfg, body_hash)
    common = _chat_common(req, body_hash, now)
    include_usage = bool((req.get("stream_options") or {}).get("include_usage")) and "nousage" not in conv.triggers
    base = {"id": common.pop("id"), "object": "chat.completion.chunk", **common}
    if include_usage:
        base["usage"] = None

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    chunks = []
    for c in choices:
        if c.tool_calls:
            for j, (cid, call) in enumerate(c.tool_calls):
                first = {"index": j, "id": cid, "type": "function", "function": {"name": call.name, "arguments": ""}}
                delta: dict[str, Any] = {"tool_calls": [first]}
                if j == 0:
                    delta = {"role": "assistant", "content": None, "refusal": None, **delta}
                chunks.append(chunk(c.index, delta))
                for piece in _pieces(call.arguments):
                    chunks.append(chunk(c.index, {"tool_calls": [{"index": j, "function": {"arguments": piece}}]}))
        else:
            chunks.append(chunk(c.index, {"role": "assistant", "content": "", "refusal": None}))
            for piece in _pieces(c.text or ""):
                chunks.append(chunk(c.index, {"content": piece}))
        chunks.append(chunk(c.index, {}, c.finish_reason))
    if include_usage:
        chunks.append({**base, "choices": [], "usage": _openai_usage(conv.prompt_tokens, completion, _cached_tokens(conv, cfg), ans.reasoning_tokens)})
    return chunks


# --------------------------------------------------------------------------
# OpenAI embeddings
# --------------------------------------------------------------------------


# Function words carry no topic: leaving them out keeps "What is X?" close to texts about X
# rather than to every other question.
_EMBEDDING_STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "i", "in", "is", "it", "its", "me", "my", "of", "on", "or", "so", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "was", "we", "what", "when", "where", "which", "who", "why", "will", "with", "you", "your"]
)


def _feature(feature: str) -> tuple[int, float]:
    """Stable (dimension-seed, sign) for one feature: blake2b, not Python's salted hash()."""
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value >> 1, (1.0 if value & 1 else -1.0)


def _stem(word: str) -> str:
    """Crude plural folding ("metrics" -> "metric", not "process"), enough for the demo's retrieval."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _hash_vector(text: str, dims: int) -> list[float]:
    """Dense pseudo-random vector from sha256(text): the fallback when no word features exist."""
    raw: list[float] = []
    counter = 0
    while len(raw) < dims:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
        for i in range(0, 32, 4):
            raw.append(int.from_bytes(digest[i : i + 4], "little") / 2**31 - 1.0)
    return raw[:dims]


def embedding_vector(text: str, dims: int) -> list[float]:
    """Unit-length, float32-representable bag-of-words embedding (feature hashing).

    Lower-cased word tokens (stop words dropped, plurals folded) and adjacent-word bigrams are each hashed
    with blake2b into a dimension and a sign; repeated features weigh ``1 + log(count)``
    (bigrams half).  Texts sharing words therefore get a positive cosine similarity, and
    unrelated texts about zero.  Text without words, or whose features cancel out, falls
    back to a dense hash of the whole text, so the vector is never all-zero.
    """
    words = [_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _EMBEDDING_STOPWORDS]
    counts: dict[str, float] = {}
    for w in words:
        counts["w:" + w] = counts.get("w:" + w, 0.0) + 1.0
    for a, b in zip(words, words[1:], strict=False):
        counts[f"b:{a} {b}"] = counts.get(f"b:{a} {b}", 0.0) + 1.0
    raw = [0.0] * dims
    for feat, n in counts.items():
        seed, sign = _feature(feat)
        weight = (1.0 + math.log(n)) * (0.5 if feat.startswith("b:") else 1.0)
        raw[seed % dims] += sign * weight
    norm = math.sqrt(sum(x * x for x in raw))
    if norm == 0.0:
        raw = _hash_vector(text, dims)
        norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return list(struct.unpack(f"<{dims}f", struct.pack(f"<{dims}f", *(x / norm for x in raw))))


def embeddings(req: Mapping[str, Any], cfg: LocalLLMConfig | None = None) -> dict[str, Any]:
    """``/v1/embeddings`` response body (``encoding_format`` float or base64)."""
    model = req["model"]
    inp = req.get("input")
    if isinstance(inp, str) or (isinstance(inp, list) and inp and isinstance(inp[0], int)):
        inputs: list[Any] = [inp]
    elif isinstance(inp, list) and inp:
        inputs = inp
    else:
        raise _HTTPError(400, "invalid_request_error", "'input' must be a non-empty string or array.", None, "input")
    dims = req.get("dimensions") or _EMBEDDING_DIMS.get(model, _DEFAULT_EMBEDDING_DIMS)
    dims = int(dims)
    if dims < 1:
        raise _HTTPError(400, "invalid_request_error", "'dimensions' must be at least 1.", None, "dimensions")
    fmt = req.get("encoding_format") or "float"
    data, tokens = [], 0
    for i, item in enumerate(inputs):
        if isinstance(item, str):
            text, tokens = item, tokens + max(1, count_tokens(item))
        else:  # token ids
            text, tokens = " ".join(str(t) for t in item), tokens + len(item)
        vec = embedding_vector(text, dims)
        emb: Any = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode() if fmt == "base64" else vec
        data.append({"object": "embedding", "index": i, "embedding": emb})
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


# --------------------------------------------------------------------------
# OpenAI Responses API
# --------------------------------------------------------------------------


def _responses_conversation(req: Mapping[str, Any]) -> _Conversation:
    conv = _Conversation(extra_behaviors=set(req.get(_BEHAVIOR_KEY) or ()), output_schema=_output_schema(req))
    systems = [req["instructions"]] if isinstance(req.get("instructions"), str) else []
    inp = req.get("input")
    items = [{"role": "user", "content": inp}] if isinstance(inp, str) else (inp or [])
    for item in items:
        typ = item.get("type", "message")
        if typ == "function_call_output":
            conv.messages.append(_Msg("tool", _content_text(item.get("output"))))
        elif typ == "function_call":
            conv.messages.append(_Msg("assistant", f"{item.get('name', '')} {item.get('arguments', '')}"))
        elif typ == "message":
            role, text = item.get("role", "user"), _content_text(item.get("content"))
            if role in ("system", "developer"):
                systems.append(text)
            else:
                conv.messages.append(_Msg("assistant" if role == "assistant" else "user", text))
    conv.system = "\n".join(systems)
    return conv


def _responses_tools(req: Mapping[str, Any]) -> tuple[list[_Tool], str, str | None, bool]:
    tools = [_Tool(t["name"], t.get("parameters") or {}) for t in req.get("tools") or [] if t.get("type") == "function" and t.get("name")]
    choice = req.get("tool_choice", "auto")
    mode, forced = "auto", None
    if choice == "none":
        mode = "none"
    elif isinstance(choice, dict) and choice.get("type") == "function":
        forced = choice.get("name")
    return tools, mode, forced, req.get("parallel_tool_calls", True) is not False


def _responses_plan(req: Mapping[str, Any], cfg: LocalLLMConfig, body_hash: str, now: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(final response object, output items) for a Responses API request."""
    conv = _responses_conversation(req)
    tools, mode, forced, parallel = _responses_tools(req)
    model = req["model"]
    ans = _answer(model, conv, tools, mode, forced, parallel)
    limit = req.get("max_output_tokens")
    budget = None if limit is None else max(0, int(limit) - ans.reasoning_tokens)
    output: list[dict[str, Any]] = []
    status, incomplete = "completed", None
    if ans.reasoning_tokens:
        output.append({"id": f"rs_{_hash('rs', body_hash)[:48]}", "type": "reasoning", "summary": []})
    if ans.tool_calls:
        for j, call in enumerate(ans.tool_calls):
            output.append(
                {
                    "id": f"fc_{_hash('fc', body_hash, j)[:48]}",
                    "type": "function_call",
                    "status": "completed",
                    "arguments": call.arguments,
                    "call_id": f"call_{_hash('call', body_hash, j)[:24]}",
                    "name": call.name,
                }
            )
        out_tokens = sum(_tool_call_tokens(c) for c in ans.tool_calls)
    else:
        text, reason, _ = _truncate(ans.text or "", budget, [])
        if reason == "max_tokens":
            status, incomplete = "incomplete", {"reason": "max_output_tokens"}
        output.append(
            {
                "id": f"msg_{_hash('msg', body_hash)[:48]}",
                "type": "message",
                "status": status,
                "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}],
                "role": "assistant",
            }
        )
        out_tokens = count_tokens(text)
    out_tokens += ans.reasoning_tokens
    usage = None
    if "nousage" not in conv.triggers:
        prompt = conv.prompt_tokens
        usage = {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": _cached_tokens(conv, cfg)},
            "output_tokens": out_tokens,
            "output_tokens_details": {"reasoning_tokens": ans.reasoning_tokens},
            "total_tokens": prompt + out_tokens,
        }
    tool_choice = req.get("tool_choice", "auto")
    resp = {
        "id": f"resp_{_hash('resp', body_hash)[:48]}",
        "object": "response",
        "created_at": now,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": req.get("instructions"),
        "max_output_tokens": limit,
        "max_tool_calls": None,
        "model": response_model(model),
        "output": output,
        "parallel_tool_calls": parallel,
        "previous_response_id": req.get("previous_response_id"),
        "reasoning": {"effort": (req.get("reasoning") or {}).get("effort"), "summary": None},
        "service_tier": req.get("service_tier") if req.get("service_tier") not in (None, "auto") else "default",
        "store": req.get("store", True),
        "temperature": req.get("temperature", 1.0),
        "text": req.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": tool_choice,
        "tools": req.get("tools") or [],
        "top_p": req.get("top_p", 1.0),
        "truncation": req.get("truncation", "disabled"),
        "usage": usage,
        "user": req.get("user"),
        "metadata": req.get("metadata") or {},
    }
    return resp, output


def responses_create(req: Mapping[str, Any], cfg: LocalLLMConfig | None = None, *, now: int = 0, body_hash: str = "") -> dict[str, Any]:
    """Non-streaming ``/v1/responses`` body."""
    return _responses_plan(req, cfg or LocalLLMConfig(), body_hash, now)[0]


def responses_events(req: Mapping[str, Any], cfg: LocalLLMConfig | None = None, *, now: int = 0, body_hash: str = "") -> list[dict[str, Any]]:
    """The streamed Responses API events (each dict has ``type`` and ``sequence_number``)."""
    final, output = _responses_plan(req, cfg or LocalLLMConfig(), body_hash, now)
    pending = {**final, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    events: list[dict[str, Any]] = []

    def emit(typ: str, **fields: Any) -> None:
        events.append({"type": typ, "sequence_number": len(events), **fields})

    emit("response.created", response=pending)
    emit("response.in_progress", response=pending)
    for idx, item in enumerate(output):
        iid = item["id"]
        if item["type"] == "reasoning":
            emit("response.output_item.added", output_index=idx, item=item)
            emit("response.output_item.done", output_index=idx, item=item)
        elif item["type"] == "function_call":
            emit("response.output_item.added", output_index=idx, item={**item, "arguments": "", "status": "in_progress"})
            for piece in _pieces(item["arguments"]):
                emit("response.function_call_arguments.delta", item_id=iid, output_index=idx, delta=piece)
            emit("response.function_call_arguments.done", item_id=iid, output_index=idx, name=item["name"], arguments=item["arguments"])
            emit("response.output_item.done", output_index=idx, item=item)
        else:
            part = item["content"][0]
            emit("response.output_item.added", output_index=idx, item={**item, "status": "in_progress", "content": []})
            empty = {**part, "text": ""}
            emit("response.content_part.added", item_id=iid, output_index=idx, content_index=0, part=empty)
            for piece in _pieces(part["text"]):
                emit("response.output_text.delta", item_id=iid, output_index=idx, content_index=0, delta=piece, logprobs=[])
            emit("response.output_text.done", item_id=iid, output_index=idx, content_index=0, text=part["text"], logprobs=[])
            emit("response.content_part.done", item_id=iid, output_index=idx, content_index=0, part=part)
            emit("response.output_item.done", output_index=idx, item=item)
    emit("response.completed" if final["status"] == "completed" else "response.incomplete", response=final)
    return events


# --------------------------------------------------------------------------
# Anthropic messages
# --------------------------------------------------------------------------


def _anthropic_conversation(req: Mapping[str, Any]) -> _Conversation:
    conv = _Conversation(system=_content_text(req.get("system")), extra_behaviors=set(req.get(_BEHAVIOR_KEY) or ()),
                         output_schema=_output_schema(req))
    for m in req.get("messages") or []:
        role, content = m.get("role", "user"), m.get("content")
        if isinstance(content, str):
            conv.messages.append(_Msg(role, content))
            continue
        texts, results, uses = [], [], []
        for block in content or []:
            typ = block.get("type")
            if typ == "text":
                texts.append(block.get("text", ""))
            elif typ == "tool_result":
                results.append(_content_text(block.get("content")))
            elif typ == "tool_use":
                uses.append(f"{block.get('name', '')} {_dumps_args(block.get('input') or {})}")
        if role == "assistant":
            conv.messages.append(_Msg("assistant", " ".join(texts + uses)))
        else:
            if texts:
                conv.messages.append(_Msg("user", "\n".join(texts)))
            conv.messages.extend(_Msg("tool", r) for r in results)
    return conv


def _anthropic_tools(req: Mapping[str, Any]) -> tuple[list[_Tool], str, str | None, bool]:
    tools = [_Tool(t["name"], t.get("input_schema") or {}) for t in req.get("tools") or [] if t.get("name") and t.get("type") in (None, "custom")]
    choice = req.get("tool_choice") or {"type": "auto"}
    mode = "none" if choice.get("type") == "none" else "auto"
    forced = choice.get("name") if choice.get("type") == "tool" else None
    return tools, mode, forced, not choice.get("disable_parallel_tool_use", False)


def _anthropic_plan(req: Mapping[str, Any], cfg: LocalLLMConfig, body_hash: str) -> tuple[dict[str, Any], _Conversation]:
    conv = _anthropic_conversation(req)
    tools, mode, forced, parallel = _anthropic_tools(req)
    model = req["model"]
    ans = _answer(model, conv, tools, mode, forced, parallel)
    content: list[dict[str, Any]] = []
    stop_sequence = None
    if ans.tool_calls:
        names = ", ".join(c.name for c in ans.tool_calls)
        content.append({"type": "text", "text": f"I will call {names}."})
        for j, call in enumerate(ans.tool_calls):
            content.append({"type": "tool_use", "id": f"toolu_01{_hash('toolu', body_hash, j)[:22]}", "name": call.name, "input": json.loads(call.arguments)})
        stop_reason = "tool_use"
        out_tokens = count_tokens(content[0]["text"]) + sum(_tool_call_tokens(c) for c in ans.tool_calls)
    else:
        text, reason, stop_sequence = _truncate(ans.text or "", int(req.get("max_tokens") or 0) or None, list(req.get("stop_sequences") or []))
        stop_reason = reason or "end_turn"
        content.append({"type": "text", "text": text})
        out_tokens = count_tokens(text)
    msg: dict[str, Any] = {
        "id": f"msg_01{_hash('amsg', body_hash)[:22]}",
        "type": "message",
        "role": "assistant",
        "model": response_model(model),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
    }
    if "nousage" not in conv.triggers:
        cached = _cached_tokens(conv, cfg)
        write = "cachewrite" in conv.triggers
        msg["usage"] = {
            "input_tokens": conv.prompt_tokens - cached,
            "cache_creation_input_tokens": cached if write else 0,
            "cache_read_input_tokens": 0 if write else cached,
            "output_tokens": out_tokens,
            "service_tier": "standard",
        }
    return msg, conv


def anthropic_message(req: Mapping[str, Any], cfg: LocalLLMConfig | None = None, *, body_hash: str = "") -> dict[str, Any]:
    """Non-streaming Anthropic ``message`` object."""
    return _anthropic_plan(req, cfg or LocalLLMConfig(), body_hash)[0]


def anthropic_events(req: Mapping[str, Any], cfg: LocalLLMConfig | None = None, *, body_hash: str = "") -> list[dict[str, Any]]:
    """The streamed Anthropic events (each dict has ``type``)."""
    msg, _ = _anthropic_plan(req, cfg or LocalLLMConfig(), body_hash)
    usage = msg.get("usage")
    start = {**msg, "content": [], "stop_reason": None, "stop_sequence": None}
    if usage is not None:
        start["usage"] = {**usage, "output_tokens": 1}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for i, block in enumerate(msg["content"]):
        if block["type"] == "text":
            events.append({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}})
            if i == 0:
                events.append({"type": "ping"})
            for piece in _pieces(block["text"]):
                events.append({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": piece}})
        else:
            events.append({"type": "content_block_start", "index": i, "content_block": {**block, "input": {}}})
            events.append({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": ""}})
            for piece in _pieces(_dumps_args(block["input"])):
                events.append({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": piece}})
        events.append({"type": "content_block_stop", "index": i})
    delta: dict[str, Any] = {"type": "message_delta", "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": msg["stop_sequence"]}}
    if usage is not None:
        delta["usage"] = {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")}
    events.append(delta)
    events.append({"type": "message_stop"})
    return events


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------

_LISTED_MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "o4-mini", "gpt-5-mini", "text-embedding-3-small", "text-embedding-3-large", "claude-haiku-4-5-20251001", "claude-sonnet-4-5-20250929"]


def _models_list(anthropic: bool, now: int) -> dict[str, Any]:
    if anthropic:
        data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"} for m in _LISTED_MODELS if m.startswith("claude")]
        return {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
    return {"object": "list", "data": [{"id": m, "object": "model", "created": 1700000000, "owned_by": "local-llm"} for m in _LISTED_MODELS]}


# --------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------

_OPENAI_ERRORS = {
    "error": (500, "server_error", None, "The server had an error while processing your request. Sorry about that!"),
    "ratelimit": (429, "requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 0s."),
    "overloaded": (503, "server_error", "overloaded", "The server is overloaded or not ready yet."),
}
_ANTHROPIC_ERRORS = {
    "error": (500, "api_error", "Internal server error"),
    "ratelimit": (429, "rate_limit_error", "Number of requests has exceeded your rate limit. Please try again later."),
    "overloaded": (529, "overloaded_error", "Overloaded"),
}


def _sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else _dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


def _error_reply(anthropic: bool, status: int, kind: str, message: str, code: str | None = None, param: str | None = None, rid: str = "") -> Reply:
    if anthropic:
        body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": rid}
    else:
        body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    headers = {"content-type": "application/json"}
    if status == 429:
        headers["retry-after"] = "0"
    return Reply(status, headers, _dumps(body).encode())


def _ms(headers: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return default


#: Further wire formats, each in a module of its own (``local_llm.apis``): a router gets
#: (method, path, headers) and returns None when the request is not for its API, else the Reply.
ROUTERS: list[Callable[[str, str, Mapping[str, str], bytes, LocalLLMConfig, int], Reply | None]] = []


def handle(method: str, path: str, headers: Mapping[str, str], body: bytes, config: LocalLLMConfig | None = None, *, now: int = 0) -> Reply:
    """Build the reply for one request.  ``headers`` keys must be lower-case."""
    cfg = config or LocalLLMConfig()
    if cfg.fixed_time is not None:
        now = cfg.fixed_time
    for router in ROUTERS:
        routed = router(method, path, headers, body, cfg, now)
        if routed is not None:
            return routed
    route = path.split("?", 1)[0].rstrip("/")
    if route.startswith("/openai/v1/"):  # Groq's OpenAI-compatible API lives under /openai/v1
        route, headers = route[len("/openai"):], {**headers, _GROQ: "1"}
    if route.startswith("/v1/") or route == "/v1":
        route = route[3:]
    is_anthropic = route.startswith("/messages") or "anthropic-version" in headers
    body_hash = _hash(method, route, body)
    rid = "req_" + body_hash[:24]
    timing = {
        "latency_ms": _ms(headers, HEADER_LATENCY, cfg.latency_ms),
        "ttft_ms": _ms(headers, HEADER_TTFT, cfg.ttft_ms),
        "chunk_delay_ms": _ms(headers, HEADER_CHUNK_DELAY, cfg.chunk_delay_ms),
    }
    try:
        if route.startswith("/model/"):  # AWS Bedrock runtime (own wire format module)
            from . import bedrock

            reply = bedrock.handle(method, route, headers, body, cfg)
        else:
            reply = _dispatch(method, route, headers, body, cfg, now, body_hash, is_anthropic, timing, rid)
    except _HTTPError as err:
        reply = _error_reply(is_anthropic, err.status, err.kind, err.message, err.code, err.param, rid)
    if reply.status >= 400 and is_anthropic:
        reply.headers.setdefault("x-should-retry", "true" if reply.status in (429, 500, 529) else "false")
    reply.headers.setdefault("x-request-id", rid)
    reply.headers.setdefault("request-id", rid)
    for k, v in timing.items():
        if not getattr(reply, k):
            setattr(reply, k, v)
    return reply


def _dispatch(method: str, route: str, headers: Mapping[str, str], body: bytes, cfg: LocalLLMConfig, now: int, body_hash: str, is_anthropic: bool, timing: dict[str, float], rid: str) -> Reply:
    if method == "GET" and route == "/models":
        return Reply(200, {"content-type": "application/json"}, _dumps(_models_list(is_anthropic, now)).encode())
    builders = {
        "/chat/completions": "chat",
        "/embeddings": "embeddings",
        "/responses": "responses",
        "/messages": "messages",
    }
    kind = builders.get(route)
    if kind is None or method != "POST":
        raise _HTTPError(404, "not_found_error" if is_anthropic else "invalid_request_error", f"Unknown route: {method} {route}")
    req = _parse_json(body)
    _require(req, "model")
    forced = _behaviors(headers)
    if forced:
        req[_BEHAVIOR_KEY] = sorted(forced)
    if kind == "messages":
        _require(req, "messages", "max_tokens")
        conv = _anthropic_conversation(req)
    elif kind == "chat":
        _require(req, "messages")
        conv = _openai_conversation(req)
    elif kind == "responses":
        _require(req, "input")
        conv = _responses_conversation(req)
    else:
        inp = req.get("input")
        text = inp if isinstance(inp, str) else " ".join(x for x in inp or [] if isinstance(x, str))
        conv = _Conversation(messages=[_Msg("user", text)], extra_behaviors=forced)
    trig = conv.triggers
    for name in ("error", "ratelimit", "overloaded"):
        if name in trig:
            if is_anthropic:
                status, etype, msg = _ANTHROPIC_ERRORS[name]
                reply = _error_reply(True, status, etype, msg, rid=rid)
            else:
                status, etype, code, msg = _OPENAI_ERRORS[name]
                reply = _error_reply(False, status, etype, msg, code, rid=rid)
            if "slow" in trig:
                reply.latency_ms = cfg.slow_ms
            return reply
    stream = bool(req.get("stream")) and kind != "embeddings"
    if "slow" in trig:
        timing["latency_ms"] = max(timing["latency_ms"], cfg.slow_ms)
        timing["ttft_ms"] = max(timing["ttft_ms"], cfg.slow_ms)
    if kind == "embeddings":
        result: Any = embeddings(req, cfg)
    elif kind == "chat":
        result = chat_completion_chunks(req, cfg, now=now, body_hash=body_hash) if stream else chat_completion(req, cfg, now=now, body_hash=body_hash)
    elif kind == "responses":
        result = responses_events(req, cfg, now=now, body_hash=body_hash) if stream else responses_create(req, cfg, now=now, body_hash=body_hash)
    else:
        result = anthropic_events(req, cfg, body_hash=body_hash) if stream else anthropic_message(req, cfg, body_hash=body_hash)

    if kind == "chat" and stream and _GROQ in headers and "nousage" not in trig:
        # Groq reports a stream's usage on its last chunk under x_groq (its SDK has no stream_options)
        result[-1]["x_groq"] = {"id": rid, "usage": chat_completion(req, cfg, now=now, body_hash=body_hash)["usage"]}
    if not stream:
        if "malformed" in trig:
            return Reply(200, {"content-type": "application/json"}, b'{"id": "malformed", "object": ' + b"<<not json>>")
        return Reply(200, {"content-type": "application/json"}, _dumps(result).encode(), broken="broken" in trig)
    frames = [_sse(c) for c in result] + [_sse("[DONE]")] if kind == "chat" else [_sse(e, e["type"]) for e in result]
    if "malformed" in trig:
        bad = "data: {not valid json\n\n" if kind == "chat" else f"event: {result[1]['type']}\ndata: {{not valid json\n\n"
        frames = [*frames[:1], bad.encode(), *frames[1:]]
    broken = "broken" in trig
    if broken:
        frames = frames[: max(1, cfg.broken_after_events)]
    return Reply(200, {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}, events=frames, broken=broken)


