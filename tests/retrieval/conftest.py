"""The ``instrumented`` fixture: the test module's ``INSTRUMENTOR`` on, writing to this test's capture."""

from __future__ import annotations

import pytest

from tests.retrieval.checks import instrumenting


@pytest.fixture
def instrumented(otel_capture, request):
    with instrumenting(request.module.INSTRUMENTOR):
        yield otel_capture
