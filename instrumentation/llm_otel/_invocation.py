"""The shared life cycle of every invocation: start, finish once, context, decoration.

An invocation is a plain record of one operation (its fields are named after the
attributes they fill). ``with`` starts it, leaving the block finishes it; used as a
decorator it makes a fresh copy per call. What the fields turn into (span attributes,
metric points, cost, content) is decided in one place: ``_recorder``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from opentelemetry.context import get_value

from llm_otel import _recorder, _safety
from llm_otel._keys import FINISHED, INVOCATION_KEY, NEW

if TYPE_CHECKING:
    from opentelemetry.trace import Span, SpanKind

    from llm_otel._telemetry import Telemetry

    SpanStart = tuple[str, SpanKind, dict[str, Any]]

F = TypeVar("F", bound=Callable[..., Any])


class Invocation:
    """Base of every invocation; not used directly."""

    __slots__ = (
        "__dict__",  # a name that is no field lands here: reported at the end (a typo never raises)
        "attributes",
        "error_type",
        "_span",
        "_token",
        "_context",
        "_start",
        "_state",
        "_end_reason",
    )
    # request-side fields copied when a decorator makes a fresh invocation per call
    _request_fields: ClassVar[tuple[str, ...]] = ()
    _is_agent: ClassVar[bool] = False

    def __init__(self) -> None:
        self.attributes: dict[str, Any] = {}
        """Extra span attributes (span only: never on metrics)."""
        self.error_type: str | None = None
        """Set to mark a failure without an exception (e.g. a provider error code)."""
        self._span: Any = None
        self._token: Any = None
        self._context: Any = None
        self._start = 0.0
        self._state = NEW
        self._end_reason: str | None = None

    # -- context manager ------------------------------------------------------------
    def __enter__(self) -> Any:
        _recorder.start(self, attach_context=True)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        _recorder.finish(self, exc)

    async def __aenter__(self) -> Any:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        _recorder.finish(self, exc)

    @property
    def finished(self) -> bool:
        return self._state == FINISHED

    @property
    def span(self) -> Any:
        """The OpenTelemetry span (a non-recording span before start or when not sampled)."""
        from opentelemetry.trace import INVALID_SPAN

        return self._span if self._span is not None else INVALID_SPAN

    def end_early(self, reason: str) -> None:
        """Mark that the operation stopped before completing (e.g. a stream closed early)."""
        if self._end_reason is None:
            self._end_reason = reason

    # -- decorator ------------------------------------------------------------------
    def _fresh(self) -> Any:
        clone = type(self).__new__(type(self))
        Invocation.__init__(clone)
        clone._init_response_fields()
        for name in self._request_fields:
            setattr(clone, name, getattr(self, name))
        clone.attributes = dict(self.attributes)
        return clone

    def _init_response_fields(self) -> None:  # overridden by each kind
        pass

    # -- what the recorder does for this kind (each subclass binds the recorder's functions) -----------
    def _span_start(self) -> SpanStart:
        """(span name, span kind, attributes known at start)."""
        raise NotImplementedError

    def _span_end(self, tel: Telemetry, span: Span, error_type: str | None, duration: float) -> None:
        """Attributes known at the end, metric points, cost and content."""
        raise NotImplementedError

    def _on_call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Hook: a decorated function was called with these arguments."""

    def _on_return(self, value: Any) -> None:
        """Hook: a decorated function returned ``value``."""

    def _on_item(self, item: Any) -> None:
        """Hook: a decorated generator yielded ``item``."""

    def __call__(self, fn: F) -> F:
        return _decorate(self, fn)


def current_invocation() -> Invocation | None:
    """The innermost llm_otel invocation open in this context, if any.

    Inside a decorated function this is how the function fills in fields::

        @llm_otel.llm_call(provider="openai", model="gpt-4o-mini")
        def ask(q):
            answer = client.chat.completions.create(...)
            llm_otel.current_invocation().input_tokens = answer.usage.prompt_tokens
    """
    value = get_value(INVOCATION_KEY)
    return value if isinstance(value, Invocation) else None


def _hook(method: Callable[..., None], *args: Any) -> None:
    try:
        method(*args)
    except Exception as exc:
        _safety.report("decorator", exc)


def _decorate(template: Invocation, fn: F) -> F:
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
            inv = template._fresh()
            _hook(inv._on_call, fn, args, kwargs)
            agen = fn(*args, **kwargs)
            _recorder.start(inv, attach_context=False)
            error: BaseException | None = None
            try:
                while True:
                    token = _recorder.activate(inv)
                    try:
                        item = await agen.__anext__()
                    except StopAsyncIteration:
                        break
                    finally:
                        _recorder.deactivate(token)
                    _hook(inv._on_item, item)
                    yield item
            except GeneratorExit:
                inv.end_early("closed")
                raise
            except BaseException as exc:
                error = exc
                raise
            finally:
                try:
                    await agen.aclose()
                finally:
                    _recorder.finish(inv, error)

        return agen_wrapper  # type: ignore[return-value]

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            inv = template._fresh()
            _hook(inv._on_call, fn, args, kwargs)
            gen = fn(*args, **kwargs)
            _recorder.start(inv, attach_context=False)
            error: BaseException | None = None
            try:
                while True:
                    token = _recorder.activate(inv)
                    try:
                        item = next(gen)
                    except StopIteration:
                        break
                    finally:
                        _recorder.deactivate(token)
                    _hook(inv._on_item, item)
                    yield item
            except GeneratorExit:
                inv.end_early("closed")
                raise
            except BaseException as exc:
                error = exc
                raise
            finally:
                try:
                    gen.close()
                finally:
                    _recorder.finish(inv, error)

        return gen_wrapper  # type: ignore[return-value]

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            inv = template._fresh()
            _hook(inv._on_call, fn, args, kwargs)
            with inv:
                value = await fn(*args, **kwargs)
                _hook(inv._on_return, value)
                return value

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        inv = template._fresh()
        _hook(inv._on_call, fn, args, kwargs)
        with inv:
            value = fn(*args, **kwargs)
            _hook(inv._on_return, value)
            return value

    return wrapper  # type: ignore[return-value]
