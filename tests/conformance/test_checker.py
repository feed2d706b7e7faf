"""The conformance checker passes what llm_otel emits and names each deviation precisely when one is put back.

Real telemetry comes from llm_otel itself (``TelemetryCapture``); a deviation is the same telemetry with one
thing changed, emitted through the real SDK (a tracer, meter or logger with llm_otel's scope).
"""

from __future__ import annotations

import json
from typing import Any

import llm_otel
import llm_otel._semconv as sc
import pytest
from llm_otel.testing import TelemetryCapture
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.conformance import checker, semconv_model
from tests.conformance import differences as diff

MODEL = "gpt-4o-mini"
CHAT: dict[str, Any] = {
    sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT, sc.GEN_AI_PROVIDER_NAME: sc.PROVIDER_OPENAI,
    sc.GEN_AI_REQUEST_MODEL: MODEL, sc.SERVER_ADDRESS: "api.openai.com", sc.SERVER_PORT: 443,
}


def span(name: str = f"chat {MODEL}", attributes: dict[str, Any] | None = None, kind: SpanKind = SpanKind.CLIENT,
         error: bool = False, schema_url: str = sc.SCHEMA_URL) -> Any:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("llm_otel", schema_url=schema_url).start_as_current_span(
        name, kind=kind, attributes=CHAT if attributes is None else attributes
    ) as s:
        if error:
            s.set_status(Status(StatusCode.ERROR))
    return exporter.get_finished_spans()[0]


def histogram(name: str, unit: str, value: float, attributes: dict[str, Any], buckets: Any = None) -> Any:
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("llm_otel")
    meter.create_histogram(name, unit=unit, explicit_bucket_boundaries_advisory=buckets).record(value, attributes)
    return reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics[0]


def event(name: str, attributes: dict[str, Any]) -> Any:
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    provider.get_logger("llm_otel").emit(event_name=name, attributes=attributes)
    return exporter.get_finished_logs()[0].log_record


def test_what_llm_otel_emits_with_content_is_conformant():
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "weather?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}}]},
        {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "21C"},
    ]
    with TelemetryCapture() as capture, capture.capturing_content("SPAN_AND_EVENT"):
        with llm_otel.workflow("trip"), llm_otel.agent("planner"):
            with llm_otel.retrieval(data_source="docs", top_k=2) as r:
                r.documents = [("doc-1", 0.9)]
            with llm_otel.llm_call(provider="openai", model=MODEL, input_messages=messages, tool_definitions=tools) as call:
                call.output_text, call.finish_reasons = "Sunny.", ["tool_calls"]
                call.input_tokens, call.output_tokens, call.cache_write_input_tokens = 10, 3, 2
            with llm_otel.tool(name="get_weather") as t:
                t.arguments, t.result = '{"city": "Oslo"}', {"temperature": 21}  # the model's JSON string
        problems = checker.check(capture.spans, capture._metrics(), capture.events())
        names = {s.name for s in capture.spans}
    assert problems == []
    assert {"invoke_workflow trip", "invoke_agent planner", "retrieval docs", f"chat {MODEL}",
            "execute_tool get_weather"} <= names


def test_the_model_is_read_mechanically():
    model = semconv_model.load()
    assert model.schema_url == "https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev"
    assert {s.type for s in model.spans_for_operation("chat")} == {"gen_ai.inference.client"}
    assert {s.kind for s in model.spans_for_operation("invoke_agent")} == {"client", "internal"}
    assert model.spans["gen_ai.inference.client"].attributes["gen_ai.provider.name"].level == "required"
    assert model.metrics["gen_ai.client.token.usage"].unit == "{token}"
    assert model.schema("gen_ai.tool.definitions")["title"] == "ToolDefinitions"  # type: ignore[index]


def test_a_raw_openai_tool_definition_fails_the_schema():
    raw = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    problems = checker.check([span(attributes={**CHAT, sc.GEN_AI_TOOL_DEFINITIONS: json.dumps(raw)})])
    assert len(problems) == 1
    assert problems[0].startswith(f"span 'chat {MODEL}': 'gen_ai.tool.definitions' violates its schema at 0: ")


def test_an_anthropic_tool_definition_without_type_fails_the_schema():
    raw = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    [problem] = checker.check([span(attributes={**CHAT, sc.GEN_AI_TOOL_DEFINITIONS: json.dumps(raw)})])
    assert "'gen_ai.tool.definitions' violates its schema at 0" in problem


def test_a_raw_provider_finish_reason_is_named():
    out = [{"role": "assistant", "parts": [{"type": "text", "content": "x"}], "finish_reason": "tool_calls"}]
    problems = checker.check([span(attributes={**CHAT, sc.GEN_AI_OUTPUT_MESSAGES: json.dumps(out)})])
    assert problems == [
        f"span 'chat {MODEL}': 'gen_ai.output.messages' violates its schema at 0/finish_reason: 'tool_calls' is not "
        "one of ['stop', 'length', 'content_filter', 'tool_call', 'compaction', 'error']"
    ]


def test_a_missing_finish_reason_fails_the_schema():
    out = [{"role": "assistant", "parts": [{"type": "text", "content": "x"}]}]
    problems = checker.check([span(attributes={**CHAT, sc.GEN_AI_OUTPUT_MESSAGES: json.dumps(out)})])
    assert f"span 'chat {MODEL}': 'gen_ai.output.messages' violates its schema at 0: 'finish_reason' is a required property" in problems


def test_the_snapshot_cache_creation_name_is_rejected():
    problems = checker.check([span(attributes={**CHAT, "gen_ai.usage.cache_creation.input_tokens": 5})])
    assert problems == [
        f"span 'chat {MODEL}': 'gen_ai.usage.cache_creation.input_tokens' is the 2026-08 snapshot name; "
        "emit 'gen_ai.usage.cache_write.input_tokens' (difference of 2026-10)"
    ]


def test_the_snapshot_workflow_metric_name_is_rejected():
    metric = histogram("gen_ai.workflow.duration", "s", 1.0, {sc.GEN_AI_WORKFLOW_NAME: "w"})
    assert checker.check(metrics=[metric]) == [
        "metric 'gen_ai.workflow.duration': the 2026-08 snapshot name; emit 'gen_ai.invoke_workflow.duration' "
        "(difference of 2026-10)"
    ]


def test_a_wrong_bucket_boundary_is_named():
    attributes = {sc.GEN_AI_WORKFLOW_NAME: "w"}
    good = histogram(sc.METRIC_WORKFLOW_DURATION, "s", 1.0, attributes, sc.WORKFLOW_DURATION_BUCKETS)
    bad = histogram(sc.METRIC_WORKFLOW_DURATION, "s", 1.0, attributes, sc.DURATION_BUCKETS)  # tops out at 81.92 s
    assert checker.check(metrics=[good]) == []
    assert checker.check(metrics=[bad]) == [
        f"metric 'gen_ai.invoke_workflow.duration': bucket boundaries {sc.DURATION_BUCKETS}, "
        f"advised {diff.ADVISORY_BUCKETS['gen_ai.invoke_workflow.duration']}"
    ]


def test_a_wrong_unit_and_an_id_on_a_metric_point_are_named():
    metric = histogram(sc.METRIC_OPERATION_DURATION, "ms", 1.0,
                       {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "openai", sc.GEN_AI_RESPONSE_ID: "r1"},
                       sc.DURATION_BUCKETS)
    problems = checker.check(metrics=[metric])
    assert "metric 'gen_ai.client.operation.duration': unit 'ms', the conventions say 's'" in problems
    assert any(p.endswith("attribute 'gen_ai.response.id' is not one the conventions list for this metric") for p in problems)


def test_a_missing_required_attribute_is_named():
    attributes = {k: v for k, v in CHAT.items() if k != sc.GEN_AI_PROVIDER_NAME}
    assert checker.check([span(attributes=attributes)]) == [
        f"span 'chat {MODEL}': required attribute 'gen_ai.provider.name' is missing"
    ]


def test_checkable_conditions_are_checked():
    no_port = {k: v for k, v in CHAT.items() if k != sc.SERVER_PORT}
    assert checker.check([span(attributes=no_port)]) == [
        f"span 'chat {MODEL}': attribute 'server.port' is missing (If `server.address` is set.)"
    ]
    assert checker.check([span(error=True)]) == [
        f"span 'chat {MODEL}': attribute 'error.type' is missing (If the operation ended in an error.)"
    ]


def test_unknown_names_types_enums_kinds_span_names_and_schema_url_are_named():
    attributes = {**CHAT, "gen_ai.prompt": "hi", sc.GEN_AI_REQUEST_MAX_TOKENS: "100", sc.GEN_AI_PROVIDER_NAME: "open-ai"}
    problems = checker.check([span(name="openai.chat", attributes=attributes, kind=SpanKind.INTERNAL,
                                   schema_url="https://opentelemetry.io/schemas/1.11.0")])
    assert problems[0] == ("span 'openai.chat': scope schema_url 'https://opentelemetry.io/schemas/1.11.0', "
                           "expected 'https://opentelemetry.io/schemas/1.37.0'")
    assert "span 'openai.chat': attribute 'gen_ai.prompt' is not in the conventions' registry" in problems
    assert "span 'openai.chat': 'gen_ai.request.max_tokens' should be int, got str '100'" in problems
    assert any(p.startswith("span 'openai.chat': 'gen_ai.provider.name' = 'open-ai' is not a member") for p in problems)
    assert problems[-1] == "span 'openai.chat': kind INTERNAL but the conventions say ['CLIENT']"
    assert checker.check([span(name="chat")]) == [f"span 'chat': name should be one of ['chat {MODEL}']"]


def test_content_parts_tool_arguments_and_event_content_are_checked():
    messages = [{"role": "user", "parts": [
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        {"type": "tool_call", "name": "f", "arguments": '{"a": 1}'},
    ]}]
    problems = checker.check([span(attributes={**CHAT, sc.GEN_AI_INPUT_MESSAGES: json.dumps(messages)})])
    where = f"span 'chat {MODEL}': 'gen_ai.input.messages' violates its schema at"
    assert problems == [
        f"{where} 0/parts/0: part type 'image_url' is not a schema part type (unknown parts are 'generic')",
        f"{where} 0/parts/1/arguments: (root): '{{\"a\": 1}}' is not of type 'object'",
    ]
    details = event(sc.EVENT_INFERENCE_DETAILS, {**CHAT, sc.GEN_AI_INPUT_MESSAGES: json.dumps([])})
    assert checker.check(logs=[details]) == [
        "event 'gen_ai.client.inference.operation.details': 'gen_ai.input.messages' must be a structured value "
        "on an event, got a JSON string"
    ]


@pytest.mark.conformance_exempt(reason="emits a snapshot name on purpose to show the hook's opt-out")
def test_the_marker_exempts_a_test_from_the_hook(otel_capture):
    with llm_otel.llm_call(provider="openai", model=MODEL) as call:
        call.attributes = {"gen_ai.usage.cache_creation.input_tokens": 1}
    assert checker.check(otel_capture.spans) == [
        f"span 'chat {MODEL}': 'gen_ai.usage.cache_creation.input_tokens' is the 2026-08 snapshot name; "
        "emit 'gen_ai.usage.cache_write.input_tokens' (difference of 2026-10)"
    ]


def test_scope_schema_url_is_util_genais():
    from opentelemetry.semconv.schemas import Schemas

    assert sc.SCHEMA_URL == Schemas.V1_37_0.value == checker.expected_schema_url()
    assert sc.SCHEMA_URL in (sc.__doc__ or "") or "Schemas.V1_37_0" in (sc.__doc__ or "")
    assert "1.42.0-dev" not in (sc.__doc__ or "").split("SCHEMA_URL")[1]  # the docstring no longer claims it


def test_an_execute_tool_span_enriched_by_mcp_is_an_execute_tool_span():
    attributes = {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: "calc", sc.MCP_METHOD_NAME: "tools/call"}
    assert checker.check([span("execute_tool calc", attributes, kind=SpanKind.INTERNAL)]) == []
    assert checker.check([span("execute_tool calc", attributes, kind=SpanKind.PRODUCER)]) == [
        "span 'execute_tool calc': kind PRODUCER but the conventions say ['CLIENT', 'INTERNAL', 'SERVER']"
    ]


def test_tool_results_may_be_text_but_not_a_serialized_object():
    text = {sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: "t", sc.GEN_AI_TOOL_CALL_RESULT: '"sunny"'}
    assert checker.check([span("execute_tool t", text, kind=SpanKind.INTERNAL)]) == []
    serialized = {**text, sc.GEN_AI_TOOL_CALL_RESULT: json.dumps('{"t": 21}')}  # an object left as a JSON string
    assert checker.check([span("execute_tool t", serialized, kind=SpanKind.INTERNAL)]) == [
        "span 'execute_tool t': 'gen_ai.tool.call.result' violates its schema at (root): '{\"t\": 21}' is not of type 'object'"
    ]
