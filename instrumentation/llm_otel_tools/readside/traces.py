"""``llm-otel trace`` and ``llm-otel traces``: traces from Jaeger's query API (api_v3, OTLP JSON).

    llm-otel trace TRACE_ID [--json] [--jaeger URL]
    llm-otel traces --service S [--last 10] [--lookback 1h] [--json] [--jaeger URL]

``trace`` prints one trace as an indented tree (children under their ``parentSpanId``, ordered by
start time): span name, duration in ms, service, and the GenAI attributes that matter (request and
response model, input/output tokens, cost, finish reasons, ``error.type``); spans with status ERROR
are marked ``ERROR``. A span whose parent is not in the trace (not sampled, not yet stored) is shown
as a root with ``(parent <id> missing)``. ``--json`` prints ``{"trace_id", "span_count",
"error", "roots": [NODE]}`` with NODE = ``{"span_id", "parent_span_id", "name", "service", "kind",
"start", "duration_ms", "error", "status_message", "attributes": {key gen_ai attributes},
"children": [NODE]}``.

``traces`` lists the most recent traces of a service (``GET /api/v3/traces`` with
``query.service_name`` and a ``[now - lookback, now]`` start-time window): trace id, root span name,
start time, duration, span count and whether any span failed. Jaeger answers 404 "No traces found"
for an empty result: that is an empty list, not an error. ``--json`` prints a list of ``{"trace_id",
"root", "service", "start", "duration_ms", "span_count", "error"}``, newest first.

Jaeger URL: ``--jaeger``, else the running local stack, else ``$LLM_OTEL_JAEGER_URL``, else
``http://127.0.0.1:16686``. Exit codes: 0 ok, 1 Jaeger unreachable/failing or trace not found,
2 usage error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from llm_otel import _semconv as sc

from llm_otel_tools.readside._http import BackendError, NotFound, default_url, get_json
from llm_otel_tools.readside._otlp import attributes
from llm_otel_tools.readside.report import parse_duration

__all__ = ["build_tree", "fetch_trace", "flatten", "main_trace", "main_traces", "render_tree", "search_traces", "summarize"]

# Attributes shown on a span line, in this order, with their short labels.
KEY_ATTRIBUTES = (
    (sc.GEN_AI_REQUEST_MODEL, "model"),
    (sc.GEN_AI_RESPONSE_MODEL, "response_model"),
    (sc.GEN_AI_USAGE_INPUT_TOKENS, "in"),
    (sc.GEN_AI_USAGE_OUTPUT_TOKENS, "out"),
    (sc.LLM_OTEL_COST_USD, "cost"),
    (sc.GEN_AI_RESPONSE_FINISH_REASONS, "finish"),
    (sc.GEN_AI_TOOL_NAME, "tool"),
    (sc.GEN_AI_DATA_SOURCE_ID, "data_source"),
    (sc.ERROR_TYPE, "error.type"),
)
KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_TRACE_ID = re.compile(r"^[0-9a-fA-F]{1,32}$")


def _is_error(span: Mapping[str, Any]) -> bool:
    code = (span.get("status") or {}).get("code")
    return code in (2, "2", "STATUS_CODE_ERROR", "ERROR")


def flatten(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every span of an api_v3 response (``{"result": {"resourceSpans": [...]}}``), with service and attrs."""
    spans = []
    for rs in (payload.get("result") or {}).get("resourceSpans", []):
        service = attributes(rs.get("resource", {}).get("attributes", [])).get("service.name")
        for ss in rs.get("scopeSpans", []):
            for span in ss.get("spans", []):
                start, end = int(span.get("startTimeUnixNano", 0)), int(span.get("endTimeUnixNano", 0))
                spans.append({
                    "trace_id": span.get("traceId", ""),
                    "span_id": span.get("spanId", ""),
                    "parent_span_id": span.get("parentSpanId") or None,
                    "name": span.get("name", ""),
                    "service": service,
                    "kind": KINDS.get(span.get("kind", 0), str(span.get("kind"))),
                    "start_ns": start,
                    "end_ns": end,
                    "error": _is_error(span),
                    "status_message": (span.get("status") or {}).get("message") or None,
                    "attrs": attributes(span.get("attributes", [])),
                })
    return spans


def _iso_ns(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_tree(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nodes nested by parent span id, roots first; siblings by start time."""
    ids = {s["span_id"] for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        parent = span["parent_span_id"] if span["parent_span_id"] in ids else None
        children[parent].append(span)

    def node(span: dict[str, Any], seen: frozenset[str]) -> dict[str, Any]:
        kids = sorted(children.get(span["span_id"], []), key=lambda s: (s["start_ns"], s["name"]))
        return {
            "span_id": span["span_id"],
            "parent_span_id": span["parent_span_id"],
            "name": span["name"],
            "service": span["service"],
            "kind": span["kind"],
            "start": _iso_ns(span["start_ns"]),
            "duration_ms": round((span["end_ns"] - span["start_ns"]) / 1e6, 3),
            "error": span["error"],
            "status_message": span["status_message"],
            "attributes": {k: span["attrs"][k] for k, _ in KEY_ATTRIBUTES if k in span["attrs"]},
            "children": [node(k, seen | {span["span_id"]}) for k in kids if k["span_id"] not in seen],
        }

    roots = sorted(children.get(None, []), key=lambda s: (s["start_ns"], s["name"]))
    return [node(r, frozenset()) for r in roots]


def _fmt_attr(label: str, value: Any) -> str:
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    elif label == "cost":
        value = f"${value:.6f}" if isinstance(value, (int, float)) else value
    return f"{label}={value}"


def _line(node: Mapping[str, Any]) -> str:
    parts = [node["name"], f"{node['duration_ms']:.1f} ms"]
    if node.get("service"):
        parts.append(f"[{node['service']}]")
    labels = dict(KEY_ATTRIBUTES)
    parts += [_fmt_attr(labels[k], v) for k, v in node["attributes"].items()]
    if node["error"]:
        parts.append("ERROR" + (f": {node['status_message']}" if node.get("status_message") else ""))
    if node["parent_span_id"] and node.get("_orphan"):
        parts.append(f"(parent {node['parent_span_id']} missing)")
    return "  ".join(parts)


def render_tree(roots: list[dict[str, Any]], trace_id: str = "") -> str:
    """Plain-text tree: one span per line, children indented under their parent."""
    lines = [f"trace {trace_id}"] if trace_id else []

    def walk(node: Mapping[str, Any], prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        lines.append(prefix + branch + _line(node))
        child_prefix = prefix if top else prefix + ("   " if last else "│  ")
        kids = node["children"]
        for i, kid in enumerate(kids):
            walk(kid, child_prefix, i == len(kids) - 1, False)

    for root in roots:
        if root["parent_span_id"]:
            root = {**root, "_orphan": True}
        walk(root, "", True, True)
    return "\n".join(lines)


def _count(nodes: list[dict[str, Any]]) -> tuple[int, bool]:
    n, err = 0, False
    for node in nodes:
        k, e = _count(node["children"])
        n, err = n + 1 + k, err or e or node["error"]
    return n, err


def fetch_trace(jaeger: str, trace_id: str) -> list[dict[str, Any]]:
    """The spans of one trace; NotFound when Jaeger does not have it."""
    return flatten(get_json(jaeger, f"/api/v3/traces/{trace_id.lower()}", backend="jaeger_query"))


def search_traces(jaeger: str, service: str, lookback: str = "1h", limit: int = 10, now: float | None = None) -> list[dict[str, Any]]:
    """Recent traces of `service`, newest first (at most `limit`); [] when Jaeger finds none."""
    now = time.time() if now is None else now
    start = now - parse_duration(lookback)
    depth = max(limit, 100)
    params = {
        "query.service_name": service,
        "query.start_time_min": _iso_ns(int(start * 1e9)),
        "query.start_time_max": _iso_ns(int((now + 1) * 1e9)),
        "query.num_traces": depth,  # named search_depth in newer Jaeger releases; both are sent
        "query.search_depth": depth,
    }
    try:
        payload = get_json(jaeger, "/api/v3/traces", params, backend="jaeger_query")
    except NotFound:
        return []
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in flatten(payload):
        by_trace[span["trace_id"]].append(span)
    rows = [summarize(tid, spans) for tid, spans in by_trace.items()]
    rows.sort(key=lambda r: r["_start_ns"], reverse=True)
    for row in rows:
        del row["_start_ns"]
    return rows[:limit]


def summarize(trace_id: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    """One line of `llm-otel traces`."""
    roots = build_tree(spans)
    root = roots[0] if roots else None
    start = min(s["start_ns"] for s in spans)
    end = max(s["end_ns"] for s in spans)
    return {
        "trace_id": trace_id,
        "root": root["name"] if root else "",
        "service": root["service"] if root else None,
        "start": _iso_ns(start),
        "duration_ms": round((end - start) / 1e6, 3),
        "span_count": len(spans),
        "error": any(s["error"] for s in spans),
        "_start_ns": start,
    }


def _jaeger_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jaeger", help="Jaeger query base URL (default: local stack, $LLM_OTEL_JAEGER_URL, http://127.0.0.1:16686)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def main_trace(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llm-otel trace", description="One trace from Jaeger as a tree.")
    parser.add_argument("trace_id", help="32 hex digits")
    _jaeger_arg(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not _TRACE_ID.match(args.trace_id):
        parser.error(f"not a trace id: {args.trace_id!r} (expected up to 32 hex digits)")
    trace_id = args.trace_id.lower().rjust(32, "0")
    jaeger = (args.jaeger or default_url("jaeger_query")).rstrip("/")
    try:
        spans = fetch_trace(jaeger, trace_id)
    except NotFound:
        print(f"llm-otel trace: trace {trace_id} not found in Jaeger at {jaeger} "
              "(not sampled, not flushed yet, or expired)", file=sys.stderr)
        return 1
    except BackendError as exc:
        print(f"llm-otel trace: error: {exc}", file=sys.stderr)
        return 1
    roots = build_tree(spans)
    if args.json:
        count, error = _count(roots)
        print(json.dumps({"trace_id": trace_id, "span_count": count, "error": error, "roots": roots}, indent=2))
    else:
        print(render_tree(roots, trace_id))
    return 0


def main_traces(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llm-otel traces", description="Recent traces of a service from Jaeger.")
    parser.add_argument("--service", required=True, help="service.name")
    parser.add_argument("--last", type=int, default=10, help="how many traces (default 10)")
    parser.add_argument("--lookback", default="1h", help="how far back, e.g. 15m, 1h, 2d (default 1h)")
    _jaeger_arg(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.last < 1:
        parser.error("--last must be at least 1")
    try:
        parse_duration(args.lookback)
    except ValueError as exc:
        parser.error(str(exc))
    jaeger = (args.jaeger or default_url("jaeger_query")).rstrip("/")
    try:
        rows = search_traces(jaeger, args.service, args.lookback, args.last)
    except BackendError as exc:
        print(f"llm-otel traces: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no traces of service {args.service!r} in the last {args.lookback} (Jaeger at {jaeger})")
        return 0
    header = ("trace id", "root span", "start", "duration", "spans", "error")
    table = [header] + [
        (r["trace_id"], r["root"], r["start"], f"{r['duration_ms']:.1f} ms", str(r["span_count"]), "ERROR" if r["error"] else "")
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main_trace())
