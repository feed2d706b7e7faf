"""Helpers shared by the test suites that wait on real processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")


def poll(fn: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.25) -> T:
    """Call `fn` until it returns a truthy value; fail with `what` and the last value at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = fn()
        except Exception as exc:  # noqa: BLE001 - reported at the deadline
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last result: {last!r}")
        time.sleep(interval)
