"""Fixture for the read-side end-to-end test: the real stack on free ports, its own state dir.

Same policy as tests/e2e: ``fast=True`` (1s scrape and rule evaluation, 1s tail-sampling wait); a
missing component FAILS with the command that installs it, nothing skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llm_otel_tools.stack import Endpoints, Stack, StackError


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
