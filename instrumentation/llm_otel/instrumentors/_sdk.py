"""Reading provider SDK objects: helpers every translator shares."""

from __future__ import annotations

from typing import Any

from llm_otel import _settings
from llm_otel.instrumentors._wrap import server_of

_SERVER_CACHE_SIZE = 64
_servers: dict[int, tuple[Any, tuple[str | None, int | None]]] = {}


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


def server(client: Any) -> tuple[str | None, int | None]:
    """``server_of(client)``, remembered per base URL object: the SDKs' ``base_url`` property costs a
    relative import on every read (openai), and the URL's host/port parsing is the same each call."""
    url = getattr(client, "_base_url", None)
    if url is None:
        return server_of(client)
    hit = _servers.get(id(url))
    if hit is not None and hit[0] is url:  # the entry keeps its URL alive, so the id cannot be reused
        return hit[1]
    value = server_of(client)
    if len(_servers) < _SERVER_CACHE_SIZE:
        _servers[id(url)] = (url, value)
    return value
