"""What input may do to telemetry: strings OTLP can carry, values of the declared type, bounded metric series.

- ``text(value)`` / ``name(value)``: any value as a ``str`` that encodes as UTF-8 (a lone surrogate would
  make the OTLP encoder drop the whole batch), cut to a length. Names (span names, model, tool, agent,
  workflow, data source) are cut to ``NAME_MAX_CHARS``.
- ``rejected(field, reason)``: a value left out because of its type or range, counted on
  ``llm_otel.rejected_values`` and logged once per field: one bad value costs that value only.
- ``Guard``: the cardinality guard of one set of providers. Every metric attribute that can come from
  input is admitted per attribute up to ``LLM_OTEL_METRIC_ATTRIBUTE_LIMIT`` distinct values (default 100;
  models with a known price up to twice that), cut to ``LLM_OTEL_METRIC_LABEL_MAX_LENGTH`` characters
  (default 128); later values become ``_OTHER`` and are counted on ``llm_otel.metric.attribute_overflow``.
  Each family of metrics (inference, tool, agent, ...) also keeps at most ``SERIES_LIMIT`` distinct
  attribute sets, so no instrument reaches the SDK's own limit (2,000 streams) through our attributes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from llm_otel import _semconv as sc
from llm_otel import _settings, _telemetry

_log = logging.getLogger("llm_otel")

NAME_MAX_CHARS = 256
TEXT_MAX_CHARS = 4096
SERIES_LIMIT = 500
"""Distinct attribute sets per metric family (token usage doubles it by token type: 1,000 < 2,000)."""
_CACHE_MAX = 4096
_INT64 = (-(1 << 63), (1 << 63) - 1)
OTHER = sc.LABEL_OTHER


def clean(value: str) -> str:
    """``value`` as valid UTF-8 (lone surrogates replaced by '?')."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def safe_str(value: Any) -> str:
    """``str(value)``, or ``<TypeName>`` when its ``__str__`` fails (never raises)."""
    try:
        text = str(value)
        if isinstance(text, str):
            return text
    except Exception:
        pass
    return f"<{type(value).__qualname__}>"


def text(value: Any, max_chars: int = TEXT_MAX_CHARS) -> str:
    """Any value as a clean string of at most ``max_chars`` characters."""
    if value.__class__ is not str:
        value = safe_str(value)
    return clean(value[:max_chars])


def name(value: Any) -> str:
    """A name (span name part, identifying attribute): a clean string of at most ``NAME_MAX_CHARS``."""
    if value.__class__ is str and len(value) <= NAME_MAX_CHARS and value.isascii():
        return value
    return text(value, NAME_MAX_CHARS)


def attribute_value(value: Any) -> Any:
    """A span attribute value OTLP can carry, or None to leave it out (user-supplied ``attributes``)."""
    cls = value.__class__
    if cls is str:
        return clean(value)
    if cls is bool or cls is float:
        return value
    if cls is int:
        return value if _INT64[0] <= value <= _INT64[1] else None
    if isinstance(value, (list, tuple)):
        items = [attribute_value(v) for v in value]
        kinds = {type(v) for v in items}
        return items if len(kinds) == 1 and None.__class__ not in kinds else None
    return None


def clean_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in attributes.items():
        cleaned = attribute_value(value)
        if cleaned is None:
            rejected("attributes", sc.REJECTED_TYPE)
        else:
            out[text(key, NAME_MAX_CHARS)] = cleaned
    return out


def count(value: Any, field: str) -> int | None:
    """A non-negative int64 (an integral float is accepted), else None (counted as rejected)."""
    if value.__class__ is float and value.is_integer():
        value = int(value)
    if value.__class__ is int:
        if 0 <= value <= _INT64[1]:
            return value
        rejected(field, sc.REJECTED_RANGE)
        return None
    rejected(field, sc.REJECTED_TYPE)
    return None


# -- rejected values ----------------------------------------------------------------------------------

_logged: set[str] = set()


def rejected(field: str, reason: str) -> None:
    """Count a value left out (``field``: a declared name, never input) and log the first per field."""
    try:
        if field not in _logged:
            _logged.add(field)
            _log.warning(
                "llm_otel left out a value of %s (%s); the rest of the telemetry is kept. Further ones are "
                "only counted (metric %s).", field, reason, sc.METRIC_REJECTED_VALUES,
            )
        _telemetry.current()[sc.METRIC_REJECTED_VALUES].add(
            1, {sc.LLM_OTEL_REJECTED_FIELD: field, sc.LLM_OTEL_REJECTED_REASON: reason}
        )
    except Exception:  # pragma: no cover - counting must never raise
        pass


# -- the cardinality guard ----------------------------------------------------------------------------


class Guard:
    """Bounded metric attributes for one set of providers (``Telemetry.guard``)."""

    def __init__(self, count_overflow: Callable[[str], None], known_model: Callable[[Any, str], bool]) -> None:
        self._admitted: dict[str, dict[Any, Any]] = {}
        self._families: dict[str, Family] = {}
        self._count_overflow = count_overflow
        self._known_model = known_model
        self._lock = threading.Lock()

    def family(self, keys: tuple[str, ...]) -> Family:
        """The bounded attribute sets of metrics whose attributes are ``keys`` (a value per key per call)."""
        with self._lock:
            found = self._families.get(",".join(keys))
            if found is None:
                found = self._families[",".join(keys)] = Family(self, keys)
            return found

    def label(self, key: str, value: Any, provider: Any = None) -> Any:
        """The value a metric point carries for ``key``: the value (clean, cut) or ``_OTHER``."""
        admitted = self._admitted.get(key)
        if admitted is None:
            admitted = self._admitted.setdefault(key, {})
        try:
            return admitted[value]
        except (KeyError, TypeError):
            pass
        settings = _settings.get()
        if value.__class__ is int and _INT64[0] <= value <= _INT64[1]:
            label: Any = value
        else:
            label = text(value, settings.metric_label_max_length)
        limit = settings.metric_attribute_limit
        with self._lock:
            if label in admitted.values() or len(admitted) < limit or (
                key in _MODEL_KEYS and len(admitted) < 2 * limit and self._known(provider, label)
            ):
                if len(admitted) < 4 * limit:  # several raw values may share a label (cut)
                    try:
                        admitted[value] = label
                    except TypeError:
                        pass
                return label
        self._count_overflow(key)
        return OTHER

    def _known(self, provider: Any, model: Any) -> bool:
        try:
            return bool(provider) and isinstance(model, str) and self._known_model(provider, model)
        except Exception:
            return False


_MODEL_KEYS = frozenset({sc.GEN_AI_REQUEST_MODEL, sc.GEN_AI_RESPONSE_MODEL})


class Family:
    """The attribute sets of one family of metric points, from the raw values of its keys.

    ``family(values)`` -> the attributes dict (shared: never modify it). Falsy values are left out,
    as before; every other value passes ``Guard.label``. Beyond ``SERIES_LIMIT`` sets every value
    becomes ``_OTHER``.
    """

    __slots__ = ("_guard", "_keys", "_cache", "_distinct", "_provider_index")

    def __init__(self, guard: Guard, keys: tuple[str, ...]) -> None:
        self._guard = guard
        self._keys = keys
        self._cache: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._distinct: set[frozenset[tuple[str, Any]]] = set()
        self._provider_index = keys.index(sc.GEN_AI_PROVIDER_NAME) if sc.GEN_AI_PROVIDER_NAME in keys else None

    def __call__(self, values: tuple[Any, ...]) -> dict[str, Any]:
        try:
            return self._cache[values]
        except (KeyError, TypeError):
            return self._build(values)

    def _build(self, values: tuple[Any, ...]) -> dict[str, Any]:
        guard = self._guard
        provider = values[self._provider_index] if self._provider_index is not None else None
        attributes = {
            key: guard.label(key, value, provider) for key, value in zip(self._keys, values, strict=True) if value
        }
        frozen = frozenset(attributes.items())
        with guard._lock:
            overflow = frozen not in self._distinct and len(self._distinct) >= SERIES_LIMIT
            if not overflow:
                self._distinct.add(frozen)
                if len(self._cache) < _CACHE_MAX and OTHER not in attributes.values():
                    try:  # collapsed sets are not cached: each of their points is counted
                        self._cache[values] = attributes
                    except TypeError:
                        pass
        if overflow:
            for key in attributes:
                guard._count_overflow(key)
            attributes = {key: OTHER for key in attributes}
        return attributes
