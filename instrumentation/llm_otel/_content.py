"""Captured content: the semconv message shape, redaction, and structural truncation.

Content is captured only when ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
asks for it. Every string is redacted first, then the JSON is cut to the size limit
*structurally*: the longest strings are shortened first (each keeps a marker saying how
much was cut), whole messages are dropped from the start only if that is not enough,
and the result is always valid JSON and valid UTF-8 (lone surrogates are replaced).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from llm_otel import _semconv as sc
from llm_otel._redaction import redact, redact_number

# Keys whose values are structure, not user content: never redacted or cut.
_STRUCTURAL_KEYS = frozenset({"role", "type", "id", "name", "finish_reason", "mime_type", "modality"})
TRUNCATION_MARKER = "…[llm_otel: truncated {cut} of {total} bytes]"
_MARKER_RESERVE = 48  # bytes a marker may take


# -- shape -----------------------------------------------------------------------------


def _text_part(text: Any) -> dict[str, Any]:
    return {"type": "text", "content": text if isinstance(text, str) else str(text)}


_TEXT_KINDS = frozenset({"text", "input_text", "output_text"})
# schema part types kept as they are (a blob/uri/file also needs its payload field, checked below)
_SCHEMA_KINDS = frozenset(
    {"tool_call_response", "reasoning", "compaction", "server_tool_call", "server_tool_call_response", "generic"}
)
_PAYLOAD = {"blob": "content", "uri": "uri", "file": "file_id"}


def _parts_from_content(content: Any) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [_text_part(content)]
    if isinstance(content, Mapping):
        content = [content]
    if not isinstance(content, Iterable):
        return [_text_part(content)]
    return [normalize_part(item) for item in content]


def normalize_part(item: Any) -> dict[str, Any]:
    """One content part in the schema's shape: the schema's own part types pass, provider shapes (OpenAI
    chat/Responses, Anthropic blocks) are converted (images and files become ``blob``, ``uri`` or ``file``),
    tool-call arguments become the parsed JSON object, anything else is ``{"type": "generic", "content": ...}``."""
    if not isinstance(item, Mapping):
        return _text_part(item)
    kind = item.get("type")
    if kind in _TEXT_KINDS:
        return _text_part(item.get("text", item.get("content", "")))
    if kind == "tool_call":
        return {**item, "arguments": tool_payload(item.get("arguments"))}
    if kind in _SCHEMA_KINDS:
        return dict(item)
    if kind in _PAYLOAD and _PAYLOAD[kind] in item:
        part = dict(item)
        part.setdefault("modality", _modality(part.get("mime_type")))
        return part
    converted = _provider_part(str(kind), item)
    return converted if converted is not None else {"type": "generic", "content": _jsonable(item)}


def _provider_part(kind: str, item: Mapping[str, Any]) -> dict[str, Any] | None:
    if kind in ("image_url", "input_image"):  # OpenAI chat / Responses
        url = item.get("image_url")
        url = url.get("url") if isinstance(url, Mapping) else url
        if url is None and item.get("file_id"):
            return {"type": "file", "modality": "image", "file_id": str(item["file_id"])}
        return _from_url(str(url), "image")
    if kind in ("image", "document") and isinstance(item.get("source"), Mapping):  # Anthropic blocks
        source = item["source"]
        mime = source.get("media_type")
        modality = "image" if kind == "image" else "document"
        if source.get("type") == "base64":
            return {"type": "blob", "mime_type": mime, "modality": modality, "content": source.get("data", "")}
        if source.get("type") == "url":
            return {"type": "uri", "mime_type": mime, "modality": modality, "uri": str(source.get("url"))}
        if source.get("type") == "file":
            return {"type": "file", "mime_type": mime, "modality": modality, "file_id": str(source.get("file_id"))}
    if kind == "input_audio" and isinstance(item.get("input_audio"), Mapping):  # OpenAI chat
        audio = item["input_audio"]
        return {"type": "blob", "mime_type": f"audio/{audio.get('format', 'wav')}", "modality": "audio",
                "content": audio.get("data", "")}
    if kind in ("file", "input_file"):  # OpenAI chat {"file": {...}} / Responses input_file
        nested = item.get("file")
        spec: Mapping[str, Any] = nested if isinstance(nested, Mapping) else item
        if spec.get("file_id"):
            return {"type": "file", "modality": "document", "file_id": str(spec["file_id"])}
        if spec.get("file_data") or spec.get("file_url"):
            return _from_url(str(spec.get("file_data") or spec.get("file_url")), "document")
    if kind == "tool_use":  # Anthropic
        return {"type": "tool_call", "id": item.get("id"), "name": str(item.get("name")),
                "arguments": tool_payload(item.get("input"))}
    if kind == "tool_result":
        return {"type": "tool_call_response", "id": item.get("tool_use_id"), "response": _jsonable(item.get("content"))}
    if kind == "thinking":
        return {"type": "reasoning", "content": item.get("thinking", "")}
    return None


def _from_url(url: str, modality: str) -> dict[str, Any]:
    """A ``data:`` URL becomes an inline ``blob``, any other URL a ``uri`` part."""
    if url.startswith("data:") and "," in url:
        header, data = url[5:].split(",", 1)
        mime = header.split(";")[0] or None
        return {"type": "blob", "mime_type": mime, "modality": _modality(mime, modality), "content": data}
    return {"type": "uri", "modality": modality, "uri": url}


def _modality(mime: Any, default: str = "document") -> str:
    major = str(mime or "").split("/")[0]
    return major if major in ("image", "audio", "video") else default


def tool_payload(value: Any) -> Any:
    """Tool-call arguments or result as the schemas want them (an object): a JSON string holding an object is
    parsed; plain text stays text (there is no object to give)."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, dict) else value
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)  # pydantic objects from provider SDKs
    if callable(dump):
        try:
            return _jsonable(dump(mode="json", exclude_none=True))
        except Exception:
            pass
    return str(value)


def normalize_message(message: Any) -> dict[str, Any]:
    """One message in the semconv shape, from the semconv shape or an OpenAI-style dict."""
    if not isinstance(message, Mapping):
        message = _jsonable(message)
        if not isinstance(message, Mapping):
            return {"role": "user", "parts": [_text_part(message)]}
    if "parts" in message:
        shaped = dict(_jsonable(message))
        shaped["parts"] = [normalize_part(p) for p in shaped.get("parts") or ()]
        return shaped
    role = str(message.get("role", "user"))
    parts = _parts_from_content(message.get("content"))
    for call in message.get("tool_calls") or ():
        call = _jsonable(call)
        fn = call.get("function", {}) if isinstance(call, Mapping) else {}
        parts.append(
            {"type": "tool_call", "id": call.get("id"), "name": fn.get("name"),
             "arguments": tool_payload(fn.get("arguments"))}
        )
    if role == "tool" or (role == "function"):
        parts = [{"type": "tool_call_response", "id": message.get("tool_call_id"), "response": _content_text(parts)}]
        role = "tool"
    out: dict[str, Any] = {"role": role, "parts": parts}
    if message.get("name"):
        out["name"] = str(message["name"])
    if message.get("finish_reason"):
        out["finish_reason"] = str(message["finish_reason"])
    return out


def _content_text(parts: list[dict[str, Any]]) -> Any:
    texts = [p.get("content") for p in parts if p.get("type") == "text"]
    return texts[0] if len(texts) == 1 else texts


def normalize_messages(messages: Any) -> list[dict[str, Any]]:
    if messages is None:
        return []
    if isinstance(messages, (str, Mapping)):
        messages = [messages]
    return [normalize_message(m) for m in messages]


# providers' finish reasons -> the conventions' enum (values not listed pass through: the schema allows them)
_FINISH_REASONS = {
    "stop": sc.FINISH_STOP, "end_turn": sc.FINISH_STOP, "stop_sequence": sc.FINISH_STOP, "completed": sc.FINISH_STOP,
    "pause_turn": sc.FINISH_STOP, "eos": sc.FINISH_STOP, "complete": sc.FINISH_STOP, "end": sc.FINISH_STOP,
    "length": sc.FINISH_LENGTH, "max_tokens": sc.FINISH_LENGTH, "max_output_tokens": sc.FINISH_LENGTH,
    "model_context_window_exceeded": sc.FINISH_LENGTH,
    "tool_calls": sc.FINISH_TOOL_CALL, "tool_call": sc.FINISH_TOOL_CALL, "tool_use": sc.FINISH_TOOL_CALL,
    "function_call": sc.FINISH_TOOL_CALL,
    "content_filter": sc.FINISH_CONTENT_FILTER, "refusal": sc.FINISH_CONTENT_FILTER, "safety": sc.FINISH_CONTENT_FILTER,
    "recitation": sc.FINISH_CONTENT_FILTER, "blocklist": sc.FINISH_CONTENT_FILTER,
    "prohibited_content": sc.FINISH_CONTENT_FILTER, "spii": sc.FINISH_CONTENT_FILTER,
    "error": sc.FINISH_ERROR, "failed": sc.FINISH_ERROR, "malformed_function_call": sc.FINISH_ERROR,
    # Bedrock (Titan completionReason, Converse stopReason), Cohere, Mistral, Gemini
    "finish": sc.FINISH_STOP, "content_filtered": sc.FINISH_CONTENT_FILTER,
    "guardrail_intervened": sc.FINISH_CONTENT_FILTER, "error_toxic": sc.FINISH_CONTENT_FILTER,
    "error_limit": sc.FINISH_LENGTH, "model_length": sc.FINISH_LENGTH, "image_safety": sc.FINISH_CONTENT_FILTER,
    "unexpected_tool_call": sc.FINISH_ERROR, "user_cancel": sc.FINISH_ERROR,
}


def finish_reason(raw: Any, default: str = sc.FINISH_STOP) -> str:
    """A provider's finish reason as the conventions' enum value (unknown ones pass through as text)."""
    if raw is None or raw == "":
        return default
    text = str(raw)
    return _FINISH_REASONS.get(text.lower(), text)


def output_messages(messages: Any, reasons: Any, failed: bool) -> list[dict[str, Any]]:
    """Output messages in the schema shape: each with a ``finish_reason`` (required) from the enum."""
    default = sc.FINISH_ERROR if failed else sc.FINISH_STOP
    reason_list = [reasons] if isinstance(reasons, str) else list(reasons or ())
    out = normalize_messages(messages)
    for i, message in enumerate(out):
        message.setdefault("role", "assistant")
        raw = message.get("finish_reason") or (reason_list[i] if i < len(reason_list) else None)
        message["finish_reason"] = finish_reason(raw, default)
    return out


def output_messages_from_text(text: str, reason: Any, failed: bool = False) -> list[dict[str, Any]]:
    return output_messages([{"role": "assistant", "parts": [_text_part(text)]}], reason, failed)


def tool_definitions(value: Any, details: bool) -> list[dict[str, Any]]:
    """Tool definitions in the schema shape (``{"type": "function", "name"}``; description and parameters
    only with ``details``), from OpenAI chat (nested ``function``), Responses, Anthropic
    (``input_schema``, no ``type``), Gemini (``function_declarations``) or conforming definitions."""
    out: list[dict[str, Any]] = []
    tools: list[Any] = []
    for raw in [value] if isinstance(value, Mapping) else (value or ()):
        tool = _jsonable(raw)
        declarations = tool.get("function_declarations") if isinstance(tool, Mapping) else None
        tools.extend(declarations if isinstance(declarations, list) else [tool])  # Gemini: several per tool
    for tool in tools:
        if not isinstance(tool, Mapping):
            out.append({"type": "function", "name": str(tool)})
            continue
        nested = tool.get("function")
        fn: Mapping[str, Any] = nested if isinstance(nested, Mapping) else tool
        kind = str(tool.get("type") or "function")
        if "function" in tool or "input_schema" in tool or kind == "custom":
            kind = "function"
        entry: dict[str, Any] = {"type": kind, "name": str(fn.get("name") or tool.get("name") or kind)}
        if details:
            if fn.get("description") is not None:
                entry["description"] = str(fn["description"])
            parameters = fn.get("parameters", fn.get("input_schema"))
            if parameters is not None:
                entry["parameters"] = parameters
        out.append(entry)
    return out


def system_instructions(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, (str, Mapping)):
        value = [value]
    parts: list[dict[str, Any]] = []
    for item in value or ():
        content = item if not isinstance(item, Mapping) or "type" in item else item.get("content")
        parts.extend(_parts_from_content(content))
    return parts


# -- redaction and truncation ---------------------------------------------------------------


def _clean_utf8(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:  # lone surrogates cannot travel in OTLP (protobuf wants UTF-8)
        return text.encode("utf-8", "replace").decode("utf-8")


def _prepare(value: Any, limit: int, key: str | None = None) -> Any:
    """Copy of value with every content string pre-cut to ``limit`` chars, cleaned and redacted."""
    if isinstance(value, str):
        if key in _STRUCTURAL_KEYS:
            return _clean_utf8(value[:256])
        if len(value) > limit:
            value = value[:limit] + TRUNCATION_MARKER.format(cut=len(value.encode("utf-8", "replace")) - limit, total=len(value.encode("utf-8", "replace")))
        return redact(_clean_utf8(value))
    if isinstance(value, Mapping):
        return {_clean_utf8(str(k)): _prepare(v, limit, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_prepare(v, limit, key) for v in value]
    if value.__class__ is int:  # a card number given as a number
        return redact_number(value)
    return value


def _leaves(value: Any, out: list[tuple[Any, Any]], key: str | None = None) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str):
                if k not in _STRUCTURAL_KEYS:
                    out.append((value, k))
            else:
                _leaves(v, out, k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, str):
                out.append((value, i))
            else:
                _leaves(v, out, key)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _cut(text: str, max_bytes: int) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    kept = raw[: max(max_bytes, 0)].decode("utf-8", "ignore")
    return kept + TRUNCATION_MARKER.format(cut=len(raw) - len(kept.encode("utf-8")), total=len(raw))


def encode(value: Any, max_bytes: int) -> tuple[str, bool]:
    """Redacted JSON of ``value`` that fits in ``max_bytes``; True if anything was cut."""
    prepared = _prepare(value, max_bytes)
    text = _dumps(prepared)
    size = len(text.encode("utf-8"))
    truncated = "…[llm_otel: truncated" in text
    if size <= max_bytes:
        return text, truncated

    # Too many messages for the budget even when empty: drop the oldest, keep the newest.
    marker = None
    if isinstance(prepared, list) and len(prepared) > 1:
        dropped = 0
        while len(prepared) > 1 and _structure_size(prepared) > max_bytes // 2:
            prepared.pop(0)
            dropped += 1
        if dropped:
            marker = {"role": "system", "parts": [_text_part(f"[llm_otel: {dropped} earlier messages omitted]")]}

    # Water-fill: cap every string leaf at the same byte size so the total fits.
    leaves: list[tuple[Any, Any]] = []
    _leaves(prepared, leaves)
    sizes = [len(container[k].encode("utf-8")) for container, k in leaves]
    if marker is not None:
        prepared.insert(0, marker)
    overhead = len(_dumps(prepared).encode("utf-8")) - sum(sizes)
    cap = _water_level(sizes, max(max_bytes - overhead, 0))
    cut_count = sum(1 for n in sizes if n > cap)
    cap = _water_level(sizes, max(max_bytes - overhead - _MARKER_RESERVE * cut_count, 0))
    for (container, k), n in zip(leaves, sizes, strict=True):
        if n > cap:
            container[k] = _cut(container[k], cap)
    text = _dumps(prepared)
    if len(text.encode("utf-8")) > max_bytes:  # pathological: structure alone is too big
        text = _dumps([{"role": "system", "parts": [_text_part(f"[llm_otel: content of {size} bytes omitted]")]}])
    return text, True


def _structure_size(messages: list[Any]) -> int:
    """Bytes of the messages with every content string emptied, plus a marker's reserve per string."""
    leaves: list[tuple[Any, Any]] = []
    _leaves(messages, leaves)
    return len(_dumps(_skeleton(messages)).encode("utf-8")) + _MARKER_RESERVE * len(leaves)


def _skeleton(messages: Sequence[Any]) -> Any:
    return [_blank(m) for m in messages]


def _blank(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("" if isinstance(v, str) and k not in _STRUCTURAL_KEYS else _blank(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    return value


def _water_level(sizes: list[int], budget: int) -> int:
    """Largest cap c with sum(min(s, c)) <= budget."""
    if sum(sizes) <= budget:
        return max(sizes, default=0)
    ordered = sorted(sizes)
    remaining = budget
    for i, s in enumerate(ordered):
        share = remaining // (len(ordered) - i)
        if s > share:
            return share
        remaining -= s
    return ordered[-1]


def encode_text(text: str, max_bytes: int) -> str:
    """A single content string, cleaned, redacted and cut to ``max_bytes``."""
    return _cut(redact(_clean_utf8(text[: max_bytes + 1])), max_bytes)
