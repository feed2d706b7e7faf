"""pytest plugin: the ``otel_capture`` fixture (see ``llm_otel.testing``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llm_otel.testing import TelemetryCapture


@pytest.fixture
def otel_capture() -> Iterator[TelemetryCapture]:
    """Capture llm_otel's spans, metric points and events in memory for one test."""
    with TelemetryCapture() as capture:
        yield capture
