"""Containment of llm_otel's own failures.

Telemetry must never break the app: every entry point from user code catches its own
exceptions here. Each failure is counted on ``llm_otel.instrumentation.errors`` (by stage)
and logged once per stage with its traceback, so a bug is visible without flooding logs.
"""

from __future__ import annotations

import logging
import threading

from llm_otel import _semconv as sc
from llm_otel import _telemetry

_log = logging.getLogger("llm_otel")
_logged_stages: set[str] = set()
_lock = threading.Lock()


def report(stage: str, exc: BaseException) -> None:
    try:
        with _lock:
            first = stage not in _logged_stages
            _logged_stages.add(stage)
        if first:
            _log.warning(
                "llm_otel contained an internal error in %s; the application call continues. "
                "Further errors in this stage are only counted (metric %s).",
                stage,
                sc.METRIC_INSTRUMENTATION_ERRORS,
                exc_info=exc,
            )
        _telemetry.current()[sc.METRIC_INSTRUMENTATION_ERRORS].add(1, {sc.LLM_OTEL_ERROR_STAGE: stage})
    except Exception:  # pragma: no cover - the last line of defence must not raise
        pass
