"""Prometheus as the stack runner starts it: no lifecycle endpoints, so nobody on the host can stop or
reload it with an unauthenticated POST (a changed config is reloaded with SIGHUP instead)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Pipeline

pytestmark = pytest.mark.stack


def post(url: str) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("endpoint", ["/-/quit", "/-/reload"])
def test_lifecycle_endpoints_are_refused_and_prometheus_keeps_running(pipeline: Pipeline, endpoint: str):
    assert post(pipeline.endpoints.prometheus + endpoint) == 403  # "Lifecycle API is not enabled."
    with urllib.request.urlopen(pipeline.endpoints.prometheus + "/-/healthy", timeout=5) as resp:
        assert resp.status == 200
    assert pipeline.stack.status()["processes"]["prometheus"]["healthy"]
