"""The LLM-shaped load generator: deterministic per seed, whole traces, parts that add up, fresh ids on repeat."""

from __future__ import annotations

from collections import Counter

import llm_otel._semconv as sc
from llm_otel_tools.stack._loadgen import SPANS_PER_TRACE, encode_requests, repeat_with_new_ids, trace_shapes
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


def spans_of(bodies: list[bytes]) -> list:  # type: ignore[type-arg]
    out = []
    for body in bodies:
        for rs in ExportTraceServiceRequest.FromString(body).resource_spans:
            for ss in rs.scope_spans:
                out.extend(ss.spans)
    return out


def test_same_seed_same_traces_and_llm_shape() -> None:
    shapes = trace_shapes(3, 40, start_ns=0)
    assert trace_shapes(3, 40, start_ns=0) == shapes
    assert [s.trace_id for s in trace_shapes(4, 40, start_ns=0)] != [s.trace_id for s in shapes]
    spans = spans_of(encode_requests(shapes, service="s"))
    per_trace = Counter(s.trace_id for s in spans)
    assert set(per_trace.values()) == {SPANS_PER_TRACE} and len(per_trace) == 40
    ops = Counter(next(a.value.string_value for a in s.attributes if a.key == sc.GEN_AI_OPERATION_NAME) for s in spans)
    assert ops == {sc.OP_INVOKE_WORKFLOW: 40, sc.OP_RETRIEVAL: 40, sc.OP_CHAT: 80, sc.OP_EXECUTE_TOOL: 40}
    roots = [s for s in spans if not s.parent_span_id]
    assert len(roots) == 40 and all(s.parent_span_id == r.span_id for r in roots for s in spans
                                    if s.trace_id == r.trace_id and s is not r)


def test_parts_add_up_to_the_whole_trace() -> None:
    shapes = trace_shapes(5, 30)
    children = spans_of(encode_requests(shapes, service="s", spans=range(SPANS_PER_TRACE - 1)))
    roots = spans_of(encode_requests(shapes, service="s", spans=[SPANS_PER_TRACE - 1]))
    whole = spans_of(encode_requests(shapes, service="s"))
    assert sorted(s.SerializeToString() for s in children + roots) == sorted(s.SerializeToString() for s in whole)


def test_repeats_carry_fresh_trace_ids_and_stay_whole() -> None:
    shapes = trace_shapes(6, 40)
    bodies = repeat_with_new_ids(encode_requests(shapes, service="s"), shapes, 10, seed=1)
    per_trace = Counter(s.trace_id for s in spans_of(bodies))
    assert len(per_trace) == 10 * 20 and set(per_trace.values()) == {SPANS_PER_TRACE}
