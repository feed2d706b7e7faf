"""LiteLLM instrumentation: ``litellm.completion`` / ``litellm.acompletion`` (streaming too).

One span per call, named for the *underlying* provider (``gen_ai.provider.name`` from
LiteLLM's own routing: ``bedrock/…`` -> ``aws.bedrock``). LiteLLM answers in OpenAI's chat
shapes, so the OpenAI translator reads requests, responses and chunks. When LiteLLM
calls a provider SDK that llm_otel also instruments (``openai`` for OpenAI and
OpenAI-compatible endpoints), that call finds this invocation open and is merged into it
by the duplicate guard: never a second span.

Streams: ``CustomStreamWrapper`` is neither a Stainless stream nor a generator, and Python
looks ``__next__`` up on the type, so its class methods ``__next__``/``__anext__``/
``close``/``aclose`` are wrapped once; for a stream this call returned they hand over to a
``_Tap`` that ``_stream`` observes like any SDK stream (one exactly-once ending: exhausted,
failed, closed, cancelled, dropped). Other streams pass straight through.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from typing import Any

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from llm_otel import _semconv as sc
from llm_otel._llm import LLMInvocation
from llm_otel.instrumentors import openai as _openai
from llm_otel.instrumentors._base import Patch, ProviderInstrumentor
from llm_otel.instrumentors._wrap import (
    StreamObserver,
    Translator,
    async_wrapper,
    sync_wrapper,
)

_STREAM_MODULE = "litellm.litellm_core_utils.streaming_handler"
_STREAM_CLASS = "CustomStreamWrapper"
_TAP_KEY = "_llm_otel_tap"
_PROVIDERS = {
    "openai": sc.PROVIDER_OPENAI, "text-completion-openai": sc.PROVIDER_OPENAI, "anthropic": sc.PROVIDER_ANTHROPIC,
    "bedrock": sc.PROVIDER_AWS_BEDROCK, "groq": sc.PROVIDER_GROQ, "azure": "azure.ai.openai", "azure_ai": "azure.ai.inference",
    "vertex_ai": "gcp.vertex_ai", "gemini": "gcp.gemini", "mistral": "mistral_ai", "cohere": "cohere",
    "cohere_chat": "cohere", "deepseek": "deepseek", "xai": "x_ai", "perplexity": "perplexity", "watsonx": "ibm.watsonx.ai",
    "ollama": "ollama", "ollama_chat": "ollama",
}
_originals: dict[str, Callable[..., Any]] = {}  # the stream class's own methods, while patched


def _route(kwargs: dict[str, Any]) -> tuple[str, str | None]:
    """(semconv provider name, model id as the provider knows it) by LiteLLM's own routing."""
    model = str(kwargs.get("model") or "")
    try:
        from litellm import get_llm_provider

        model, provider = get_llm_provider(model=model, custom_llm_provider=kwargs.get("custom_llm_provider"),
                                           api_base=kwargs.get("api_base"))[:2]
    except Exception:  # LiteLLM could not route it: read the prefix
        provider, _, rest = model.partition("/")
        model = rest or model
    if provider == "bedrock":
        model = model.removeprefix("converse/").removeprefix("invoke/")
    return _PROVIDERS.get(provider, provider or "litellm"), model or None


def _build(instance: Any, kwargs: dict[str, Any]) -> LLMInvocation:
    inv = _openai._build_chat(None, kwargs)
    inv.provider, inv.model = _route(kwargs)
    base = kwargs.get("api_base") or kwargs.get("base_url") or kwargs.get("aws_bedrock_runtime_endpoint")
    if isinstance(base, str):
        from urllib.parse import urlsplit

        url = urlsplit(base)
        inv.server_address, inv.server_port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
    return inv


def _fill(inv: LLMInvocation, response: Any) -> None:
    _openai._fill_chat(inv, response)
    written = getattr(getattr(response, "usage", None), "cache_creation_input_tokens", None)
    if written:
        inv.cache_write_input_tokens = written


def _observe(inv: LLMInvocation) -> StreamObserver:
    """OpenAI's chunk reader; chunk counting is left to a provider SDK call inside, if one observes its own stream."""
    on_item, on_end = _openai._observe_chat(inv)
    counted = [inv.chunk_count]
    inner = [False]
    reasons: list[str] = []

    def on_chunk(chunk: Any) -> None:
        if inv.chunk_count != counted[0]:
            inner[0] = True  # the SDK stream inside (merged by the duplicate guard) already counted this chunk
        if inner[0]:
            for choice in getattr(chunk, "choices", None) or ():
                if choice.finish_reason:
                    reasons[:] = [str(choice.finish_reason)]
        else:
            on_item(chunk)
        counted[0] = inv.chunk_count

    def end() -> None:
        on_end()
        if reasons:
            inv.finish_reasons = reasons

    return on_chunk, end


# -- the stream tap ---------------------------------------------------------------------------


def _sync_source(tap: _Tap) -> Iterator[Any]:
    next_, stream = _originals["__next__"], tap._stream
    while True:
        tap.inside = True  # LiteLLM closes its own stream at the end: that close is not the caller's
        try:
            item = next_(stream)
        except StopIteration:
            return
        finally:
            tap.inside = False
        yield item


async def _async_source(tap: _Tap) -> AsyncIterator[Any]:
    anext_, stream = _originals["__anext__"], tap._stream
    while True:
        tap.inside = True
        try:
            item = await anext_(stream)
        except StopAsyncIteration:
            return
        finally:
            tap.inside = False
        yield item


class _Tap:
    """A CustomStreamWrapper as ``_stream`` observes streams: ``_iterator`` and ``close``."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.inside = False
        self._iterator: Any = _sync_source(self)
        stream.__dict__[_TAP_KEY] = self

    def close(self) -> None:
        _originals["close"](self._stream)


class _AsyncTap(_Tap):
    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._iterator = _async_source(self)

    async def close(self) -> None:  # type: ignore[override]
        await _originals["aclose"](self._stream)


def _tap_of(tap_type: type[_Tap]) -> Callable[[Any], Any]:
    def parse(result: Any) -> Any:
        return tap_type(result) if type(result).__name__ == _STREAM_CLASS and _originals else None

    return parse


def _is_tap(obj: Any) -> bool:
    return isinstance(obj, _Tap)


def _tap(instance: Any) -> Any:
    return instance.__dict__.get(_TAP_KEY) if hasattr(instance, "__dict__") else None


def _caller_tap(instance: Any) -> Any:
    """The tap, when the caller (not LiteLLM's own iteration) closes the stream."""
    tap = _tap(instance)
    return None if tap is None or tap.inside else tap


def _next(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    tap = _tap(instance)
    return wrapped(*args, **kwargs) if tap is None else next(tap._iterator)


def _anext(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    tap = _tap(instance)
    return wrapped(*args, **kwargs) if tap is None else tap._iterator.__anext__()


def _close(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    tap = _caller_tap(instance)
    return wrapped(*args, **kwargs) if tap is None or isinstance(tap, _AsyncTap) else tap.close()


def _aclose(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    tap = _caller_tap(instance)
    return wrapped(*args, **kwargs) if not isinstance(tap, _AsyncTap) else tap.close()


_TRANSLATOR = Translator(_build, _fill, _observe, _is_tap, _tap_of(_Tap))
_ASYNC_TRANSLATOR = dataclasses.replace(_TRANSLATOR, parse_raw=_tap_of(_AsyncTap))


def _with_keywords(shared: Callable[..., Any]) -> Callable[..., Any]:
    """``completion(model, messages, ...)`` positional arguments seen as keywords by the translator."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if args:
            kwargs = {**dict(zip(("model", "messages"), args, strict=False)), **kwargs}
            args = args[2:]
        return shared(wrapped, instance, args, kwargs)

    return wrapper


class LiteLLMInstrumentor(ProviderInstrumentor):
    """Instruments ``litellm.completion`` and ``litellm.acompletion`` (streaming included)."""

    library = "litellm"

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("litellm >= 1.40",)

    def _patches(self) -> list[Patch]:
        return [
            ("litellm", "completion", _with_keywords(sync_wrapper(_TRANSLATOR))),
            ("litellm", "acompletion", _with_keywords(async_wrapper(_ASYNC_TRANSLATOR))),
        ]

    def _wrap(self) -> None:
        owner = getattr(importlib.import_module(_STREAM_MODULE), _STREAM_CLASS)
        _originals.update({name: getattr(owner, name) for name in ("__next__", "__anext__", "close", "aclose")})
        for name, wrapper in (("__next__", _next), ("__anext__", _anext), ("close", _close), ("aclose", _aclose)):
            wrap_function_wrapper(_STREAM_MODULE, f"{_STREAM_CLASS}.{name}", wrapper)
        super()._wrap()

    def _unwrap(self) -> None:
        module = importlib.import_module("litellm")
        for name in ("completion", "acompletion"):
            unwrap(module, name)
        owner = getattr(importlib.import_module(_STREAM_MODULE), _STREAM_CLASS)
        for name in ("__next__", "__anext__", "close", "aclose"):
            unwrap(owner, name)
        _originals.clear()
