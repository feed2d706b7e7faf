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


_reported_fields: set[tuple[str, str]] = set()


def unknown_fields(kind: str, extra: dict[str, object]) -> None:
    """Names set on an invocation that are no field of it (a typo): logged once each, counted, never raised.

    The values stay on the object (the app may read them back); they are not telemetry.
    """
    try:
        for name in list(extra):
            key = (kind, str(name)[:64])
            if key not in _reported_fields and len(_reported_fields) < 256:
                _reported_fields.add(key)
                _log.warning("%s has no field %r; the value is not recorded (a typo?)", kind, key[1])
            _telemetry.current()[sc.METRIC_INSTRUMENTATION_ERRORS].add(1, {sc.LLM_OTEL_ERROR_STAGE: "unknown_field"})
    except Exception:  # pragma: no cover - the last line of defence must not raise
        pass
