"""Issue 10 row 3: 10,000 distinct inputs give bounded metric series; a known model keeps its own."""

from __future__ import annotations

import llm_otel
import llm_otel._semconv as sc

N = 10_000
LIMIT = 100  # LLM_OTEL_METRIC_ATTRIBUTE_LIMIT's default


def _values(capture, metric, key):
    return {p.attributes.get(key) for p in capture.metric_points(metric)}


def test_ten_thousand_distinct_inputs_give_bounded_series(otel_capture):
    with llm_otel.llm_call(provider="openai", model="early-model") as call:  # admitted before the flood
        call.input_tokens, call.output_tokens = 1, 1
    for i in range(N):
        with llm_otel.llm_call(provider="openai", model=f"m-{i}", server_address=f"h{i}.example") as call:
            call.response_model = f"r-{i}"
            call.error_type = f"E{i}"
            call.input_tokens, call.output_tokens = 1, 1
        with llm_otel.agent(f"agent-{i}"):
            with llm_otel.tool(f"tool-{i}"):
                pass
        with llm_otel.workflow(f"wf-{i}"):
            pass
        llm_otel.record_feedback("4bf92f3577b34da6a3ce929d0e0e4736", 1, label=f"label-{i}")
    with llm_otel.llm_call(provider="openai", model="gpt-4o") as call:  # known (priced) model, after the flood
        call.input_tokens, call.output_tokens = 10, 10
    with llm_otel.llm_call(provider="openai", model="early-model") as call:
        call.input_tokens, call.output_tokens = 1, 1

    for metric, keys in (
        (sc.METRIC_OPERATION_DURATION, (sc.GEN_AI_REQUEST_MODEL, sc.GEN_AI_RESPONSE_MODEL, sc.SERVER_ADDRESS,
                                        sc.ERROR_TYPE)),
        (sc.METRIC_TOOL_DURATION, (sc.GEN_AI_TOOL_NAME, sc.GEN_AI_AGENT_NAME)),
        (sc.METRIC_AGENT_DURATION, (sc.GEN_AI_AGENT_NAME,)),
        (sc.METRIC_WORKFLOW_DURATION, (sc.GEN_AI_WORKFLOW_NAME,)),
        (sc.METRIC_FEEDBACK_SCORE, (sc.LLM_OTEL_FEEDBACK_LABEL,)),
    ):
        points = otel_capture.metric_points(metric)
        assert len(points) <= 2 * LIMIT + 2, (metric, len(points))  # a known model may pass the limit
        for point in points:
            assert "otel.metric.overflow" not in point.attributes  # the SDK's own limit is never reached
        for key in keys:
            values = _values(otel_capture, metric, key)
            assert sc.LABEL_OTHER in values, (metric, key)
            assert len(values) <= 2 * LIMIT + 2, (metric, key, len(values))
    models = _values(otel_capture, sc.METRIC_TOKEN_USAGE, sc.GEN_AI_REQUEST_MODEL)
    assert {"gpt-4o", "early-model"} <= models
    assert otel_capture.metric_point(
        sc.METRIC_TOKEN_USAGE, {sc.GEN_AI_REQUEST_MODEL: "gpt-4o", sc.GEN_AI_TOKEN_TYPE: "output"}
    ).value == 10
    overflow = otel_capture.metric_point(sc.METRIC_ATTRIBUTE_OVERFLOW, {sc.LLM_OTEL_METRIC_ATTRIBUTE: sc.GEN_AI_REQUEST_MODEL})
    assert overflow.value >= N - LIMIT


def test_a_huge_model_name_is_cut_in_span_name_attribute_and_label(otel_capture):
    model = "m" * 200_000
    with llm_otel.llm_call(provider="openai", model=model) as call:
        call.output_tokens = 1
    [span] = otel_capture.spans
    assert len(span.name) <= 300 and len(span.attributes[sc.GEN_AI_REQUEST_MODEL]) <= 256
    [point] = otel_capture.metric_points(sc.METRIC_OPERATION_DURATION)
    assert len(point.attributes[sc.GEN_AI_REQUEST_MODEL]) <= 128


def test_ids_and_emails_never_become_labels(otel_capture):
    llm_otel.record_feedback("4bf92f3577b34da6a3ce929d0e0e4736", 1, label="jane@example.com")
    [point] = otel_capture.metric_points(sc.METRIC_FEEDBACK_SCORE)
    assert "jane" not in point.attributes[sc.LLM_OTEL_FEEDBACK_LABEL]
    [event] = otel_capture.events(sc.EVENT_EVALUATION_RESULT)
    assert "jane" not in str(dict(event.attributes))
