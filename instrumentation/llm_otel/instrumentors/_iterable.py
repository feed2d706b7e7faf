"""Wrappers for SDKs whose streams are plain (async) iterators, not Stainless ``Stream`` objects.

google-genai, mistralai, ollama and cohere (and botocore's EventStream) hand back generators or
their own stream classes. The shared wrappers in ``_wrap`` observe Stainless streams in place and
return the SDK's object; these return ``_stream.observe_iterable``'s proxy instead. Everything
else (the duplicate guard, start, errors, non-stream responses) is ``_wrap``'s, unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from llm_otel import _recorder
from llm_otel._llm import LLMInvocation
from llm_otel._safety import report
from llm_otel.instrumentors import _stream, _wrap
from llm_otel.instrumentors._wrap import Translator


def is_iterable_stream(obj: Any) -> bool:
    """A generator or an SDK stream object; SDK response models (pydantic, dicts) are not.
    The protocol methods are looked up on the type, as iteration does: on a pydantic model instance a
    missing attribute goes through its ``__getattr__``, which formats an AttributeError each time."""
    cls = type(obj)
    return hasattr(cls, "__next__") or hasattr(cls, "__anext__") or cls.__name__ in _STREAM_CLASSES


_STREAM_CLASSES = frozenset({"EventStream", "EventStreamAsync"})


def _not_a_stream(_: Any) -> bool:
    return False


def _after(translator: Translator, complete: Translator, target: LLMInvocation, own: LLMInvocation | None, result: Any,
           is_async: bool) -> Any:
    """``complete``: the translator for a complete (non-stream) response, made once per wrapper."""
    if not translator.is_stream(result):
        return _wrap._after(complete, target, own, result, is_async)
    try:
        on_item, on_end = translator.observe_stream(target)
        if own is not None:
            _recorder.release(own)  # the stream outlives this call: the span stays open, not current
        return _stream.observe_iterable(result, target, on_item, on_end, owned=own is not None)
    except Exception as exc:
        report("response", exc)
        if own is not None:
            _recorder.finish(own, None)
        return result


def _request(args: tuple[Any, ...], kwargs: dict[str, Any], positional: tuple[str, ...]) -> dict[str, Any]:
    """The call's arguments by name, for SDK methods that also take some positionally."""
    return {**dict(zip(positional, args, strict=False)), **kwargs} if args and positional else kwargs


def sync_wrapper(translator: Translator, positional: tuple[str, ...] = ()) -> Callable[..., Any]:
    """For a method called without ``await``; its stream may still be an async iterator.
    ``positional``: the names of the parameters the SDK method also accepts positionally."""
    complete = dataclasses.replace(translator, is_stream=_not_a_stream)

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        target, own = _wrap._prepare(translator, instance, _request(args, kwargs, positional))
        if target is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            if own is not None:
                _recorder.finish(own, exc)
            raise
        return _after(translator, complete, target, own, result, is_async=False)

    return wrapper


def async_wrapper(translator: Translator, positional: tuple[str, ...] = ()) -> Callable[..., Any]:
    """For a coroutine method (``await client.aio.models.generate_content_stream(...)``)."""
    complete = dataclasses.replace(translator, is_stream=_not_a_stream)

    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        target, own = _wrap._prepare(translator, instance, _request(args, kwargs, positional))
        if target is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            if own is not None:
                _recorder.finish(own, exc)
            raise
        return _after(translator, complete, target, own, result, is_async=True)

    return wrapper
