"""Backend URLs (running local stack, else environment, else the default port) and JSON over HTTP."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

__all__ = ["BackendError", "NotFound", "default_url", "get_json"]

DEFAULTS = {
    "prometheus": ("LLM_OTEL_PROMETHEUS_URL", "http://127.0.0.1:9090"),
    "jaeger_query": ("LLM_OTEL_JAEGER_URL", "http://127.0.0.1:16686"),
}
LABELS = {"prometheus": "Prometheus", "jaeger_query": "Jaeger"}
PROCESS = {"prometheus": "prometheus", "jaeger_query": "jaeger"}
FLAGS = {"prometheus": "--prometheus", "jaeger_query": "--jaeger"}


class BackendError(RuntimeError):
    """The backend cannot be reached or answered with an error; the message is for the user."""


class NotFound(BackendError):
    """HTTP 404 (Jaeger: no such trace / no traces found)."""


def _stack_url(key: str) -> str | None:
    """The URL of the running local stack (``llm-otel stack up``), if one runs."""
    try:
        from llm_otel_tools.stack import Stack

        status = Stack().status()
    except Exception:
        return None
    process = status.get("processes", {}).get(PROCESS[key]) or {}
    if not process.get("pid"):
        return None
    url = status.get(key)
    return url if isinstance(url, str) else None


def default_url(key: str) -> str:
    """``key`` is ``prometheus`` or ``jaeger_query``: running stack, else $LLM_OTEL_*_URL, else 127.0.0.1."""
    env, fallback = DEFAULTS[key]
    return (_stack_url(key) or os.environ.get(env) or fallback).rstrip("/")


def get_json(base: str, path: str, params: dict[str, Any] | None = None, *, backend: str, timeout: float = 10.0) -> Any:
    """GET ``base + path`` and decode JSON; every failure becomes a BackendError naming the URL."""
    url = base.rstrip("/") + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    label = LABELS[backend]
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:500]
        if exc.code == 404:
            raise NotFound(f"{label} at {base}: 404 {detail}") from exc
        raise BackendError(f"{label} at {base} answered HTTP {exc.code}: {detail}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BackendError(
            f"cannot reach {label} at {base} ({reason}). Start the local stack with `llm-otel stack up`, "
            f"or point {FLAGS[backend]} / ${DEFAULTS[backend][0]} at your {label}."
        ) from exc
    try:
        return json.loads(body)
    except ValueError as exc:
        raise BackendError(f"{label} at {base} returned something that is not JSON for {path}") from exc
