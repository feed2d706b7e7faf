"""Issue 10 rows 1, 7, 8: one bad value costs that value only, never the span, never the batch."""

from __future__ import annotations

import llm_otel
import llm_otel._semconv as sc
import pytest
from hardening_support import assert_encodable
from opentelemetry.trace import StatusCode


def test_lone_surrogates_in_names_and_errors_do_not_drop_the_batch(otel_capture):
    with llm_otel.workflow("wf_\ud800"):
        with llm_otel.llm_call(provider="openai", model="gpt-\udcff") as call:
            call.response_id = "id-\ud800"
            call.finish_reasons = ["stop\udcff"]
            call.attributes["app.note"] = "x \ud800"
        with pytest.raises(ValueError):
            with llm_otel.tool("lookup_\ud800"):
                raise ValueError("x \udcff")
        with llm_otel.retrieval(data_source="docs\ud800") as r:
            r.documents = [("doc-\ud800", 0.5)]
    spans = otel_capture.spans
    assert len(spans) == 4
    assert_encodable(spans)
    tool = otel_capture.span("execute_tool lookup_?")
    assert tool.status.status_code is StatusCode.ERROR
    assert tool.attributes[sc.ERROR_TYPE] == "ValueError"
    # the metric label is clean too (the metric exporter would fail the same way)
    [point] = otel_capture.metric_points(sc.METRIC_TOOL_DURATION)
    assert point.attributes[sc.GEN_AI_TOOL_NAME] == "lookup_?"


def test_one_bad_response_field_costs_that_field_only(otel_capture):
    with llm_otel.workflow("wf"):
        with llm_otel.llm_call(provider="openai", model=123) as call:  # type: ignore[arg-type]
            call.input_tokens = "100"  # type: ignore[assignment]
            call.output_tokens = 40
            call.response_id = "resp-1"
            call.finish_reasons = 5  # type: ignore[assignment]
            call.cache_read_input_tokens = -3
    span = otel_capture.span("chat 123")
    assert otel_capture.parent_chain(span) == ["invoke_workflow wf"]
    attrs = span.attributes
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 40 and attrs[sc.GEN_AI_RESPONSE_ID] == "resp-1"
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in attrs and sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS not in attrs
    assert list(attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS]) == ["5"]
    assert otel_capture.metric_point(sc.METRIC_TOKEN_USAGE, {sc.GEN_AI_TOKEN_TYPE: "output"}).value == 40
    assert otel_capture.metric_point(sc.METRIC_REJECTED_VALUES, {sc.LLM_OTEL_REJECTED_FIELD: "input_tokens"}).value == 1
    assert otel_capture.metric_point(
        sc.METRIC_REJECTED_VALUES, {sc.LLM_OTEL_REJECTED_FIELD: "cache_read_input_tokens"}
    ).attributes[sc.LLM_OTEL_REJECTED_REASON] == sc.REJECTED_RANGE
    assert_encodable(otel_capture.spans)


def test_bad_request_parameters_still_give_a_span_and_keep_children(otel_capture):
    with llm_otel.llm_call(provider=None, model="m", stop_sequences=5, top_k="abc", temperature="hot") as call:  # type: ignore[arg-type]
        with llm_otel.tool("inner"):
            pass
        call.output_tokens = 2
    with llm_otel.llm_call(provider="openai", model="m2", stop_sequences="END"):
        pass
    with llm_otel.retrieval(data_source="docs", top_k="abc") as r:  # type: ignore[arg-type]
        r.documents = [("a", "not a score"), ("b", 0.5), 7]  # type: ignore[list-item]
    span = otel_capture.span("chat m")
    assert otel_capture.parent_chain(otel_capture.span("execute_tool inner")) == ["chat m"]
    attrs = span.attributes
    assert None not in attrs.values()
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == sc.LABEL_OTHER
    assert sc.GEN_AI_REQUEST_TEMPERATURE not in attrs and sc.GEN_AI_REQUEST_TOP_K not in attrs
    assert list(attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES]) == ["5"]
    assert list(otel_capture.span("chat m2").attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES]) == ["END"]
    retrieval = otel_capture.span("retrieval docs")
    assert retrieval.attributes[sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT] == 1
    assert_encodable(otel_capture.spans)


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


@pytest.mark.parametrize("capture", ["NO_CONTENT", "SPAN_AND_EVENT"])
def test_exception_whose_str_raises_is_still_an_error(otel_capture, capture):
    otel_capture.settings(capture=capture)
    error = _Unprintable()
    with pytest.raises(_Unprintable) as caught:
        with llm_otel.llm_call(provider="openai", model="m"):
            raise error
    assert caught.value is error
    span = otel_capture.span("chat m")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "_Unprintable"
    assert otel_capture.metric_point(sc.METRIC_OPERATION_DURATION, {sc.ERROR_TYPE: "_Unprintable"}).count == 1
    assert_encodable([span])


def test_huge_int_and_odd_extra_attributes(otel_capture):
    with llm_otel.tool("t") as t:
        t.attributes.update({"big": 1 << 70, "mixed": [1, "a"], "nested": {"a": 1}, "ok": "\ud800x"})
    span = otel_capture.span("execute_tool t")
    assert "big" not in span.attributes and "nested" not in span.attributes
    assert span.attributes["ok"] == "?x"
    assert_encodable([span])
