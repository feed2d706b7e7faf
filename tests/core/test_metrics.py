"""Metric instruments: semconv names, units, advisory buckets, allowlisted attributes."""

from __future__ import annotations

import time

import llm_otel
from llm_otel import _semconv as sc
from llm_otel import _settings

SEMCONV_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
SEMCONV_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)


def _call(**fields):
    with llm_otel.llm_call(provider="openai", model="gpt-4o-mini", server_address="localhost", server_port=8000,
                           conversation_id="conv-secret") as call:
        call.response_id = "resp-123"
        call.response_model = "gpt-4o-mini-2024-07-18"
        for k, v in fields.items():
            setattr(call, k, v)
    return call


def test_duration_and_token_usage_follow_semconv(otel_capture):
    _call(input_tokens=42, output_tokens=7)
    base = {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "server.address": "localhost", "server.port": 8000,
    }
    duration = otel_capture.metric_point("gen_ai.client.operation.duration")
    assert duration.unit == "s"
    assert duration.explicit_bounds == SEMCONV_DURATION_BUCKETS
    assert duration.attributes == base and duration.count == 1
    tokens = {p.attributes["gen_ai.token.type"]: p for p in otel_capture.metric_points("gen_ai.client.token.usage")}
    assert tokens["input"].value == 42 and tokens["output"].value == 7
    assert tokens["input"].unit == "{token}"
    assert tokens["input"].explicit_bounds == SEMCONV_TOKEN_BUCKETS
    assert tokens["input"].attributes == {**base, "gen_ai.token.type": "input"}


def test_no_ids_ever_reach_metric_attributes(otel_capture):
    _call(input_tokens=1, output_tokens=1, output_text="x")
    with llm_otel.tool(name="t", call_id="call-9"):
        pass
    with llm_otel.agent(name="a", id="agent-7", conversation_id="conv-secret"):
        pass
    for name in otel_capture.metric_names():
        for point in otel_capture.metric_points(name):
            assert set(point.attributes) <= sc.METRIC_ATTRIBUTE_ALLOWLIST, (name, point.attributes)
            for value in point.attributes.values():
                assert value not in {"resp-123", "conv-secret", "call-9", "agent-7"}


def test_missing_usage_records_no_token_points_and_no_cost(otel_capture):
    _call(output_text="an answer without usage")
    assert otel_capture.metric_points("gen_ai.client.token.usage") == []
    assert otel_capture.metric_points("llm_otel.client.cost") == []
    assert otel_capture.metric_points("llm_otel.client.unpriced") == []
    span = otel_capture.span("chat gpt-4o-mini")
    assert "gen_ai.usage.input_tokens" not in span.attributes
    assert otel_capture.metric_point("gen_ai.client.operation.duration").count == 1


def test_streaming_records_time_to_first_chunk_and_per_chunk(otel_capture):
    with llm_otel.llm_call(provider="openai", model="m", stream=True) as call:
        time.sleep(0.02)
        call.add_chunk("Hel")
        time.sleep(0.01)
        call.add_chunk("lo")
        call.add_chunk("!")
    ttfc = otel_capture.metric_point("gen_ai.client.operation.time_to_first_chunk")
    assert ttfc.count == 1 and ttfc.value >= 0.02 and ttfc.unit == "s"
    assert ttfc.explicit_bounds == SEMCONV_DURATION_BUCKETS
    per_chunk = otel_capture.metric_point("gen_ai.client.operation.time_per_output_chunk")
    assert per_chunk.count == 2 and per_chunk.value >= 0.01
    span = otel_capture.span("chat m")
    assert span.attributes["gen_ai.response.time_to_first_chunk"] >= 0.02
    assert otel_capture.metric_point("llm_otel.client.response.length").value == len("Hello!")
    assert ttfc.exemplars and ttfc.exemplars[0].trace_id == span.context.trace_id  # links metrics to traces


def test_per_chunk_points_can_be_turned_off_keeping_the_rest(otel_capture):
    assert _settings.from_env({"LLM_OTEL_TIME_PER_OUTPUT_CHUNK": "false"}).time_per_output_chunk is False
    assert _settings.from_env({}).time_per_output_chunk is True
    otel_capture.settings(time_per_output_chunk=False)
    with llm_otel.llm_call(provider="openai", model="m", stream=True) as call:
        for part in ("Hel", "lo", "!"):
            call.add_chunk(part)
    assert otel_capture.metric_points("gen_ai.client.operation.time_per_output_chunk") == []
    assert otel_capture.metric_point("gen_ai.client.operation.time_to_first_chunk").count == 1
    attributes = otel_capture.span("chat m").attributes
    assert attributes["llm_otel.stream.chunks"] == 3 and "gen_ai.response.time_to_first_chunk" in attributes
    assert otel_capture.metric_point("llm_otel.client.response.length").value == len("Hello!")


def test_no_chunk_metrics_for_non_streamed_calls(otel_capture):
    _call(input_tokens=1, output_tokens=1)
    assert otel_capture.metric_points("gen_ai.client.operation.time_to_first_chunk") == []
    assert otel_capture.metric_points("gen_ai.client.operation.time_per_output_chunk") == []


def test_response_length_histogram_in_characters(otel_capture):
    _call(output_text="héllo wörld")
    point = otel_capture.metric_point("llm_otel.client.response.length")
    assert point.value == 11 and point.unit == "{char}"
    assert point.explicit_bounds == sc.RESPONSE_LENGTH_BUCKETS


def test_retrieval_and_tool_metrics(otel_capture):
    with llm_otel.retrieval(data_source="kb-private-name", provider="chroma") as r:
        r.documents = [("a", 0.1), ("b", 0.2), ("c", 0.3)]
    with llm_otel.tool(name="calc"):
        pass
    docs = otel_capture.metric_point("llm_otel.retrieval.documents")
    assert docs.value == 3 and docs.attributes == {"gen_ai.operation.name": "retrieval", "gen_ai.provider.name": "chroma"}
    retrieval = otel_capture.metric_point("gen_ai.client.operation.duration", {"gen_ai.operation.name": "retrieval"})
    assert retrieval.unit == "s" and retrieval.count == 1  # the conventions' operation-duration instrument
    tool = otel_capture.metric_point("gen_ai.execute_tool.duration")
    assert tool.attributes["gen_ai.tool.name"] == "calc" and tool.count == 1


def test_errors_are_counted_by_error_type_on_the_duration_histogram(otel_capture):
    for _ in range(3):
        _call(input_tokens=1, output_tokens=1)
    for _ in range(2):
        try:
            with llm_otel.llm_call(provider="openai", model="gpt-4o-mini"):
                raise TimeoutError
        except TimeoutError:
            pass
    failed = otel_capture.metric_point("gen_ai.client.operation.duration", {"error.type": "TimeoutError"})
    assert failed.count == 2
    total = sum(p.count for p in otel_capture.metric_points("gen_ai.client.operation.duration"))
    assert total == 5
