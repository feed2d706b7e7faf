"""Fixture for the read-side end-to-end test: the real stack on free ports, its own state dir.

Same policy as tests/e2e: ``fast=True`` (1s scrape and rule evaluation, 1s tail-sampling wait); a
missing component FAILS with the command that installs it, nothing skips.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from llm_otel.stack import Endpoints, Stack, StackError

T = TypeVar("T")


def poll(fn: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.25) -> T:
    """Call `fn` until it returns a truthy value; fail with `what` and the last value at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = fn()
        except Exception as exc:  # noqa: BLE001 - report the last failure at the deadline
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last result: {last!r}")
        time.sleep(interval)


@pytest.fixture(scope="module")
def readside_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Endpoints, Path]]:
    state_dir = tmp_path_factory.mktemp("readside-stack")
    stack = Stack(state_dir)
    try:
        endpoints = stack.up(free_ports=True, fast=True)
    except StackError as exc:
        pytest.fail(f"cannot start the pipeline: {exc}", pytrace=False)
    try:
        yield stack, endpoints, state_dir
    finally:
        stack.down()
