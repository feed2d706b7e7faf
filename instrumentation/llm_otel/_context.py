"""Carrying the current span into threads.

``asyncio`` tasks (``gather``, ``create_task``) and ``asyncio.to_thread`` copy the
context by themselves. Plain threads and ``ThreadPoolExecutor.submit`` do not: wrap the
callable with ``bind_context`` (or use ``start_thread``) and its spans nest under the
caller's.
"""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def bind_context(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` bound to the caller's current context (spans, llm_otel invocations).

    >>> pool.submit(llm_otel.bind_context(summarize), doc)
    """
    ctx = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        # a copy per call: the same bound callable may run in several threads at once
        return ctx.copy().run(fn, *args, **kwargs)

    return run


def start_thread(target: Callable[..., Any], *args: Any, name: str | None = None, daemon: bool | None = None, **kwargs: Any) -> threading.Thread:
    """Start a thread that runs ``target(*args, **kwargs)`` inside the caller's context."""
    thread = threading.Thread(target=bind_context(target), args=args, kwargs=kwargs, name=name, daemon=daemon)
    thread.start()
    return thread
