"""Names and values the read side shares: OTLP JSON decoding, and Prometheus names derived from
the library's declarations (``llm_otel._semconv``), so a renamed metric or attribute follows everywhere."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from llm_otel import _semconv as sc

# -- OTLP JSON (Jaeger api_v3, the Collector's file exporter) -------------------------------------


def any_value(value: Mapping[str, Any]) -> Any:
    """An OTLP JSON ``AnyValue`` as a Python value (64-bit ints arrive as strings)."""
    if not value:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "intValue":
        return int(inner)
    if kind == "doubleValue":
        return float(inner)
    if kind == "arrayValue":
        return [any_value(v) for v in inner.get("values", [])]
    if kind == "kvlistValue":
        return {kv["key"]: any_value(kv.get("value", {})) for kv in inner.get("values", [])}
    return inner


def attributes(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """An OTLP JSON ``KeyValue`` list as a dict."""
    return {item["key"]: any_value(item.get("value", {})) for item in items}


# -- Prometheus names (what the Collector's prometheus exporter makes of ours) --------------------

_UNIT_SUFFIXES = {"s": "_seconds", "ms": "_milliseconds", "By": "_bytes"}


def prom_metric(metric: sc.Metric) -> str:
    """The Prometheus family name of a declared metric: dots to underscores, the unit suffix, and
    ``_total`` for counters (``{curly}`` annotation units add nothing)."""
    name = metric.replace(".", "_") + _UNIT_SUFFIXES.get(metric.unit, "")
    return name + "_total" if metric.kind == "counter" else name


def prom_label(attribute: str) -> str:
    """The Prometheus label name of an attribute."""
    return attribute.replace(".", "_")
