"""LLM-shaped OTLP trace load: deterministic traces from a seed, sent over OTLP/HTTP (protobuf) at a set rate.

Why not ``telemetrygen``: it shapes a trace only as one parent with N identical children and fixed attributes;
the pipeline's work depends on the LLM shape (a workflow over retrieval, two chat calls and a tool call, the
gen_ai.* / llm_otel.* attribute sets the tail-sampling policies and span_metrics dimensions read, ~5 % error
traces). Every trace here has 5 spans:

    invoke_workflow (INTERNAL) > retrieval (CLIENT), chat (CLIENT), execute_tool (INTERNAL), chat (CLIENT)

The same ``seed`` gives the same trace ids, attributes and statuses, so two runs (one Collector, two tiers) can be
compared trace by trace. Bodies are encoded before the timed send, so the generator's own cost stays small.
Standard library plus ``opentelemetry-proto`` (a dependency of the OTLP exporters).
"""

from __future__ import annotations

import dataclasses
import http.client
import random
import threading
import time
import urllib.parse
from collections.abc import Container, Iterator, Sequence

import llm_otel._semconv as sc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

__all__ = ["SPANS_PER_TRACE", "LoadResult", "TraceShape", "encode_requests", "repeat_with_new_ids", "send_at_rate", "trace_shapes"]

SPANS_PER_TRACE = 5
_MODELS = (("openai", "gpt-4o-mini", 0.15e-6, 0.6e-6), ("anthropic", "claude-3-5-haiku", 0.8e-6, 4e-6))
_TOOLS = ("get_weather", "search_docs", "calculator")


@dataclasses.dataclass(frozen=True)
class TraceShape:
    """One generated trace: its id and what decides its sampling (error, token sizes, cost)."""

    trace_id: bytes
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    error: bool
    start_ns: int

    @property
    def trace_id_hex(self) -> str:
        return self.trace_id.hex()


def trace_shapes(seed: int, count: int, *, start_ns: int | None = None) -> list[TraceShape]:
    """``count`` deterministic traces: ~5 % with an error, ~3 % with a large prompt, the rest ordinary."""
    rnd = random.Random(seed)
    base = time.time_ns() if start_ns is None else start_ns
    shapes = []
    for i in range(count):
        provider, model, in_price, out_price = _MODELS[rnd.randrange(len(_MODELS))]
        big = rnd.random() < 0.03
        input_tokens = rnd.randrange(8000, 20000) if big else rnd.randrange(50, 2000)
        output_tokens = rnd.randrange(10, 800)
        shapes.append(
            TraceShape(
                trace_id=rnd.getrandbits(128).to_bytes(16, "big"),
                provider=provider,
                model=model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_usd=input_tokens * in_price + output_tokens * out_price,
                error=rnd.random() < 0.05,
                start_ns=base + i * 1000,
            )
        )
    return shapes


def _kv(key: str, value: str | int | float) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(double_value=value))


def _spans(shape: TraceShape, index: int) -> Iterator[Span]:
    tid = shape.trace_id
    root_id = (index * 8 + 1).to_bytes(8, "big")
    t0 = shape.start_ns
    chat = [
        _kv(sc.GEN_AI_OPERATION_NAME, sc.OP_CHAT), _kv(sc.GEN_AI_PROVIDER_NAME, shape.provider),
        _kv(sc.GEN_AI_REQUEST_MODEL, shape.model), _kv(sc.GEN_AI_RESPONSE_MODEL, shape.model),
        _kv(sc.GEN_AI_USAGE_INPUT_TOKENS, shape.input_tokens), _kv(sc.GEN_AI_USAGE_OUTPUT_TOKENS, shape.output_tokens),
        _kv(sc.LLM_OTEL_COST_USD, shape.cost_usd), _kv(sc.GEN_AI_RESPONSE_ID, f"resp-{shape.trace_id_hex[:12]}"),
    ]
    children: list[tuple[str, Span.SpanKind.ValueType, list[KeyValue]]] = [
        (f"{sc.OP_RETRIEVAL} docs", Span.SPAN_KIND_CLIENT, [
            _kv(sc.GEN_AI_OPERATION_NAME, sc.OP_RETRIEVAL), _kv(sc.GEN_AI_PROVIDER_NAME, "chroma"),
            _kv(sc.GEN_AI_DATA_SOURCE_ID, "docs"), _kv(sc.GEN_AI_RETRIEVAL_TOP_K, 4),
            _kv(sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT, 4)]),
        (f"{sc.OP_CHAT} {shape.model}", Span.SPAN_KIND_CLIENT, chat),
        (f"{sc.OP_EXECUTE_TOOL} {_TOOLS[index % len(_TOOLS)]}", Span.SPAN_KIND_INTERNAL, [
            _kv(sc.GEN_AI_OPERATION_NAME, sc.OP_EXECUTE_TOOL), _kv(sc.GEN_AI_TOOL_NAME, _TOOLS[index % len(_TOOLS)]),
            _kv(sc.GEN_AI_TOOL_TYPE, "function"), _kv(sc.GEN_AI_TOOL_CALL_ID, f"call-{index}")]),
        (f"{sc.OP_CHAT} {shape.model}", Span.SPAN_KIND_CLIENT, chat),
    ]
    ok = Status(code=Status.STATUS_CODE_UNSET)
    for n, (name, kind, attrs) in enumerate(children):
        failed = shape.error and n == len(children) - 1
        yield Span(
            trace_id=tid, span_id=(index * 8 + 2 + n).to_bytes(8, "big"), parent_span_id=root_id, name=name,
            kind=kind, start_time_unix_nano=t0 + (n + 1) * 1_000_000, end_time_unix_nano=t0 + (n + 2) * 1_000_000,
            attributes=[*attrs, *([_kv(sc.ERROR_TYPE, "RateLimitError")] if failed else [])],
            status=Status(code=Status.STATUS_CODE_ERROR, message="rate limited") if failed else ok,
        )
    yield Span(
        trace_id=tid, span_id=root_id, name=f"{sc.OP_INVOKE_WORKFLOW} support", kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=t0, end_time_unix_nano=t0 + 7_000_000,
        attributes=[_kv(sc.GEN_AI_OPERATION_NAME, sc.OP_INVOKE_WORKFLOW), _kv(sc.GEN_AI_WORKFLOW_NAME, "support")],
        status=Status(code=Status.STATUS_CODE_ERROR) if shape.error else ok,
    )


def encode_requests(
    shapes: Sequence[TraceShape], *, service: str, traces_per_request: int = 20, spans: Container[int] = range(SPANS_PER_TRACE)
) -> list[bytes]:
    """OTLP/HTTP protobuf bodies of ``traces_per_request`` traces each; ``spans`` picks span positions (0-3 the
    children, 4 the root) so one trace can be sent in parts, to different agents."""
    resource = [_kv("service.name", service), _kv("telemetry.sdk.name", "llm-otel-loadgen")]
    bodies = []
    for start in range(0, len(shapes), traces_per_request):
        picked = [s for i, shape in enumerate(shapes[start:start + traces_per_request])
                  for n, s in enumerate(_spans(shape, start + i)) if n in spans]
        request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
            resource=Resource(attributes=resource),
            scope_spans=[ScopeSpans(scope=InstrumentationScope(name="llm_otel"), spans=picked)])])
        bodies.append(request.SerializeToString())
    return bodies


def repeat_with_new_ids(
    bodies: Sequence[bytes], shapes: Sequence[TraceShape], requests: int, *, seed: int, traces_per_request: int = 20
) -> list[bytes]:
    """``requests`` bodies cycling through ``bodies`` (from ``encode_requests(shapes)``), each copy with fresh trace
    ids swapped in at the byte level: a large load without encoding every trace in Python (~40x faster)."""
    rnd = random.Random(seed)
    out = []
    for j in range(requests):
        k = j % len(bodies)
        body = bodies[k]
        if j >= len(bodies):
            for shape in shapes[k * traces_per_request:(k + 1) * traces_per_request]:
                body = body.replace(shape.trace_id, rnd.getrandbits(128).to_bytes(16, "big"))
        out.append(body)
    return out


@dataclasses.dataclass
class LoadResult:
    """What one timed send achieved: requests/spans sent with a 2xx, failures (non-2xx or errors), seconds."""

    sent_requests: int = 0
    failed_requests: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] = dataclasses.field(default_factory=dict)


def send_at_rate(
    endpoint: str, bodies: Sequence[bytes], requests_per_s: float, *, workers: int = 4, max_seconds: float | None = None
) -> LoadResult:
    """POST the bodies to ``<endpoint>/v1/traces`` on a fixed schedule (request i at t0 + i/rate) with keep-alive
    connections; a slow Collector makes the send fall behind schedule (OTLP/HTTP answers after the pipeline has
    taken the data), which is how saturation shows. ``requests_per_s <= 0`` sends as fast as possible.
    ``max_seconds`` stops starting new requests after that long (the rest of ``bodies`` stays unsent)."""
    url = urllib.parse.urlsplit(endpoint)
    result = LoadResult()
    lock = threading.Lock()
    next_index = iter(range(len(bodies)))
    t0 = time.monotonic() + 0.05
    stop_at = t0 + max_seconds if max_seconds else float("inf")

    def worker() -> None:
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 4318, timeout=30)
        headers = {"Content-Type": "application/x-protobuf"}
        while True:
            with lock:
                i = next(next_index, None)
            if i is None or time.monotonic() > stop_at:
                break
            if requests_per_s > 0:
                delay = t0 + i / requests_per_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            try:
                conn.request("POST", "/v1/traces", body=bodies[i], headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 4318, timeout=30)
                status = 0
            with lock:
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if 200 <= status < 300:
                    result.sent_requests += 1
                else:
                    result.failed_requests += 1
        conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - t0
    return result
