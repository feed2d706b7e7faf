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
        except Exception as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last result: {last!r}")
        time.sleep(interval)


def pip_target(*specs: str) -> str:
    """A cached directory with ``specs`` pip-installed into it (``--target``), for PYTHONPATH.

    Built once per spec set and Python version (under ~/.cache/llm-otel), then reused: how the MCP
    tests and benchmark run the same code against another major version of a library (mcp 1.x)
    than the venv's, or add a peer instrumentation, without a second venv.
    """
    import hashlib
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    key = hashlib.sha1(f"{sorted(specs)} {sys.version_info[:2]}".encode()).hexdigest()[:12]
    target = Path.home() / ".cache" / "llm-otel" / f"site-{key}"
    if not (target / ".complete").exists():
        building = target.with_name(f"{target.name}.building-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(building), *specs],
                              capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"could not pip install {specs} into {building}: {proc.stderr[-2000:]}")
        (building / ".complete").touch()
        shutil.rmtree(target, ignore_errors=True)
        building.rename(target)
    return str(target)


def jaeger_trace_spans(query_url: str, trace_id: str) -> list[dict[str, Any]]:
    """All spans of one trace from Jaeger's api_v3 (OTLP JSON) at `query_url`, each with `service` and its
    attributes flattened into `attrs`; [] when Jaeger does not have it (yet)."""
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{query_url}/api/v3/traces/{trace_id}", timeout=5) as resp:
            data = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise
    spans = []
    for rs in data.get("result", {}).get("resourceSpans", []):
        service = attr_dict(rs.get("resource", {}).get("attributes", [])).get("service.name")
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                spans.append({**span, "service": service, "attrs": attr_dict(span.get("attributes", []))})
    return spans


def attr_dict(attrs: list[dict[str, Any]]) -> dict[str, Any]:
    """OTLP JSON attributes as {key: value}."""
    out = {}
    for a in attrs:
        value = a.get("value", {})
        out[a["key"]] = next(iter(value.values()), None) if value else None
    return out
