"""Reading provider SDK objects: helpers every translator shares."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from llm_otel import _semconv as sc
from llm_otel import _settings
from llm_otel._llm import open_llm_invocation
from llm_otel.instrumentors._base import Patch
from llm_otel.instrumentors._wrap import server_of

_SERVER_CACHE_SIZE = 64
_servers: dict[int, tuple[Any, tuple[str | None, int | None]]] = {}
_providers: dict[type, str] = {}
_JSON_FORMATS = frozenset({"json_object", "json_schema", "json"})


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


def provider_of(client: Any, default: str, by_class: Mapping[str, str]) -> str:
    """``gen_ai.provider.name`` of an SDK client: what its class declares (``_gen_ai_provider_name``, as
    anthropic's cloud clients do), else the value of the first class of its MRO named in ``by_class`` (e.g.
    openai's ``BaseAzureClient``), else ``default``. Remembered per class: the hot path does one dict lookup."""
    cls = type(client)
    hit = _providers.get(cls)
    if hit is None:
        declared = getattr(cls, "_gen_ai_provider_name", None)
        if isinstance(declared, str) and declared:
            hit = declared
        else:
            hit = next((by_class[k.__name__] for k in cls.__mro__ if k.__name__ in by_class), default)
        _providers[cls] = hit
    return hit


def output_type_of(fmt: Any) -> str | None:
    """``gen_ai.output.type`` of a requested format: a pydantic class (``parse()``) or a JSON format is json."""
    if isinstance(fmt, type):
        return sc.OUTPUT_TYPE_JSON
    kind = get(fmt, "type")
    if not kind:
        return None
    return sc.OUTPUT_TYPE_JSON if kind in _JSON_FORMATS else str(kind)


def available(patches: Iterable[Patch]) -> list[Patch]:
    """The patches whose class and method exist in the installed SDK (older ones lack ``parse()``, ``beta``...)."""
    found = []
    for module, name, wrapper in patches:
        owner, method = name.split(".")
        try:
            cls = getattr(importlib.import_module(module), owner)
        except (ImportError, AttributeError):
            continue
        if hasattr(cls, method):
            found.append((module, name, wrapper))
    return found


# The official OpenTelemetry GenAI instrumentations (util-genai based) record the calls they wrap themselves.
_FOREIGN_PREFIX = "opentelemetry.instrumentation.genai."


def _official_beneath(wrapped: Any) -> Any:
    """The wrapt wrapper of an active official GenAI instrumentation that the method our wrapper was handed
    goes through (it will record the call), or None."""
    for _ in range(8):  # a few stacked wrappers at most
        wrapper = getattr(wrapped, "_self_wrapper", None)
        if wrapper is None:
            return None
        if str(getattr(wrapper, "__module__", "")).startswith(_FOREIGN_PREFIX):
            for cell in getattr(wrapper, "__closure__", None) or ():
                try:
                    owner = cell.cell_contents
                except ValueError:
                    continue
                if hasattr(owner, "_is_instrumented_by_opentelemetry"):  # its BaseInstrumentor: still on?
                    return wrapped if owner._is_instrumented_by_opentelemetry else None
            return wrapped
        wrapped = getattr(wrapped, "__wrapped__", None)
    return None


def deferring(wrapper: Callable[..., Any], foreign_module: str) -> Callable[..., Any]:
    """The duplicate guard for the load order in which ours is the OUTER wrapper: when the official
    instrumentation ``foreign_module`` has wrapped the same method first, the call passes straight to it, as
    it does when that one is outer (its span is then current, see ``_recorder.foreign_inference_span_is_current``).
    Either way one call gives one span and one set of metric points: the official one's. Except inside an open
    llm_otel inference call (a framework's model run, an ``llm_call``): the SDK call merges into that one as
    always, and the official layer is skipped (it would add a second span for the same call)."""

    def guarded(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if foreign_module in sys.modules:
            official = _official_beneath(wrapped)
            if official is not None:
                if open_llm_invocation() is None:
                    return wrapped(*args, **kwargs)
                wrapped = official.__wrapped__
        return wrapper(wrapped, instance, args, kwargs)

    return guarded
