"""Reading provider SDK objects: helpers every translator shares."""

from __future__ import annotations

from typing import Any

from llm_otel import _settings


def given(value: Any) -> Any:
    """The SDKs' ``NOT_GIVEN``/``omit``/``UNSET`` sentinels and None all mean 'not set'."""
    if value is None or type(value).__name__ in ("NotGiven", "Omit", "Unset"):
        return None
    return value


def get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of an SDK model object or of the equivalent dict."""
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def plain(obj: Any) -> dict[str, Any]:
    """An SDK model object as a plain dict (JSON mode, no None fields)."""
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    dump = getattr(obj, "model_dump", None)
    return dump(mode="json", exclude_none=True) if callable(dump) else {"content": str(obj)}


def capturing() -> bool:
    """True when content goes anywhere: only then are output messages worth building."""
    capture = _settings.get().capture
    return capture.on_span or capture.on_event


def is_sdk_stream(obj: Any) -> bool:
    return type(obj).__name__ in ("Stream", "AsyncStream")


def parse_raw(result: Any) -> Any:
    """The parsed body of a ``with_raw_response`` result (``parse()`` caches it), else None."""
    if type(result).__name__ == "LegacyAPIResponse":
        return result.parse()
    return None


def server_of_url(url: Any) -> tuple[str | None, int | None]:
    """(server.address, server.port) of a base URL string, default ports filled in."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(str(url))
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    except ValueError:
        return None, None
    return parts.hostname or None, port
