"""Content capture: off by default, the standard switch, redaction first, structural truncation."""

from __future__ import annotations

import json

import llm_otel
import pytest
from llm_otel import _settings

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "My key is sk-proj-abcdefghijklmnopqrstuvwxyz0123 and mail bob@example.com"},
]


def _chat(**fields):
    with llm_otel.llm_call(provider="openai", model="m", input_messages=MESSAGES) as call:
        call.output_text = "Sure. Card 4111 1111 1111 1111 noted; Bearer abcdefghijklmnop123"
        call.finish_reasons = ["stop"]
        for k, v in fields.items():
            setattr(call, k, v)
    return call


def test_no_content_by_default(otel_capture):
    _chat()
    attrs = otel_capture.span("chat m").attributes
    assert not any(k in attrs for k in ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"))
    assert otel_capture.events() == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, "NO_CONTENT"), ("", "NO_CONTENT"), ("span_only", "SPAN_ONLY"), ("EVENT_ONLY", "EVENT_ONLY"),
        ("Span_And_Event", "SPAN_AND_EVENT"), ("bogus", "NO_CONTENT"), ("true", "SPAN_AND_EVENT"), ("false", "NO_CONTENT"),
    ],
)
def test_capture_switch_values(raw, expected, monkeypatch):
    if raw is None:
        monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    else:
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raw)
    assert _settings.from_env().capture.value == expected


def test_invalid_switch_value_warns(monkeypatch, caplog):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "yes please")
    _settings.from_env()
    assert any("content capture stays off" in r.getMessage() for r in caplog.records)


def test_span_only_sets_semconv_json_and_redacts(otel_capture):
    otel_capture.settings(capture="SPAN_ONLY")
    _chat()
    attrs = otel_capture.span("chat m").attributes
    inputs = json.loads(attrs["gen_ai.input.messages"])
    assert inputs[0] == {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]}
    user_text = inputs[1]["parts"][0]["content"]
    assert "sk-proj" not in user_text and "[REDACTED:api_key]" in user_text
    assert "bob@example.com" not in user_text and "[REDACTED:email]" in user_text
    outputs = json.loads(attrs["gen_ai.output.messages"])
    assert outputs[0]["role"] == "assistant" and outputs[0]["finish_reason"] == "stop"
    out_text = outputs[0]["parts"][0]["content"]
    assert "4111" not in out_text and "[REDACTED:card]" in out_text
    assert "abcdefghijklmnop123" not in out_text
    assert otel_capture.events() == []


def test_event_only_emits_the_details_event_tied_to_the_span(otel_capture):
    otel_capture.settings(capture="EVENT_ONLY")
    _chat(input_tokens=5, output_tokens=6)
    span = otel_capture.span("chat m")
    assert "gen_ai.input.messages" not in span.attributes
    [event] = otel_capture.events("gen_ai.client.inference.operation.details")
    assert event.trace_id == span.context.trace_id and event.span_id == span.context.span_id
    assert event.attributes["gen_ai.usage.output_tokens"] == 6
    messages = event.attributes["gen_ai.input.messages"]  # structured values, as the convention requires
    assert not isinstance(messages, str) and messages[1]["role"] == "user"
    assert event.attributes["gen_ai.output.messages"][0]["finish_reason"] == "stop"
    # the span's attributes, not a subset
    for key, value in span.attributes.items():
        assert event.attributes[key] == value, key


def test_span_and_event(otel_capture):
    otel_capture.settings(capture="SPAN_AND_EVENT")
    _chat()
    assert "gen_ai.output.messages" in otel_capture.span("chat m").attributes
    assert len(otel_capture.events("gen_ai.client.inference.operation.details")) == 1


def test_card_like_numbers_failing_luhn_are_kept(otel_capture):
    otel_capture.settings(capture="SPAN_ONLY")
    _chat(output_text="order 1234 5678 9012 3456 shipped")
    out = json.loads(otel_capture.span("chat m").attributes["gen_ai.output.messages"])
    assert "1234 5678 9012 3456" in out[0]["parts"][0]["content"]


def test_user_redaction_patterns_by_code_and_env(otel_capture, monkeypatch):
    monkeypatch.setenv("LLM_OTEL_REDACT_PATTERNS", '["EMP-\\\\d{4}"]')
    otel_capture.settings(redact_patterns=_settings.from_env().redact_patterns)
    llm_otel.add_redaction_pattern(r"ACME-\d{6}", "[REDACTED:customer]")
    try:
        otel_capture.settings(capture="SPAN_ONLY")
        _chat(output_text="ACME-123456 is handled by EMP-0042")
    finally:
        llm_otel.clear_redaction_patterns()
    text = json.loads(otel_capture.span("chat m").attributes["gen_ai.output.messages"])[0]["parts"][0]["content"]
    assert text == "[REDACTED:customer] is handled by [REDACTED]"


def test_huge_content_is_cut_structurally_to_valid_json(otel_capture):
    otel_capture.settings(capture="SPAN_ONLY", content_max_bytes=4096)
    big = [{"role": "user", "content": "x" * 100_000}, {"role": "user", "content": "short question"}]
    with llm_otel.llm_call(provider="openai", model="m", input_messages=big) as call:
        call.output_text = "y" * 50_000
    attrs = otel_capture.span("chat m").attributes
    for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
        raw = attrs[key]
        assert len(raw.encode("utf-8")) <= 4096
        parsed = json.loads(raw)  # still valid JSON
        assert parsed[-1]["parts"][0]["content"]
    inputs = json.loads(attrs["gen_ai.input.messages"])
    assert inputs[1]["parts"][0]["content"] == "short question"  # small parts survive whole
    assert "truncated" in inputs[0]["parts"][0]["content"]
    truncations = otel_capture.metric_points("llm_otel.content.truncated")
    assert {p.attributes["llm_otel.content.attribute"] for p in truncations} == {"gen_ai.input.messages", "gen_ai.output.messages"}


def test_many_messages_drop_oldest_with_a_marker(otel_capture):
    otel_capture.settings(capture="SPAN_ONLY", content_max_bytes=1024)
    history = [{"role": "user", "content": f"message number {i}"} for i in range(500)]
    with llm_otel.llm_call(provider="openai", model="m", input_messages=history):
        pass
    raw = otel_capture.span("chat m").attributes["gen_ai.input.messages"]
    parsed = json.loads(raw)
    assert len(raw.encode()) <= 1024
    assert "earlier messages omitted" in parsed[0]["parts"][0]["content"]
    assert parsed[-1]["parts"][0]["content"] == "message number 499"


def test_odd_unicode_becomes_valid_utf8(otel_capture):
    otel_capture.settings(capture="SPAN_ONLY")
    with llm_otel.llm_call(provider="openai", model="m", input_messages=[{"role": "user", "content": "bad \ud800 surrogate, emoji 🧪, rtl \u202e"}]) as call:
        call.output_text = "ok"
    raw = otel_capture.span("chat m").attributes["gen_ai.input.messages"]
    raw.encode("utf-8")  # would raise on a lone surrogate
    assert "🧪" in json.loads(raw)[0]["parts"][0]["content"]


def test_tool_and_retrieval_content_is_opt_in(otel_capture):
    @llm_otel.tool(name="lookup")
    def lookup(city: str, units: str = "metric"):
        return {"temp": 21, "city": city}

    with llm_otel.retrieval(data_source="kb", query="where is jane@example.com?") as r:
        r.documents = [("doc-1", 0.9)]
    lookup("Oslo")
    assert "gen_ai.tool.call.arguments" not in otel_capture.span("execute_tool lookup").attributes
    assert "gen_ai.retrieval.query.text" not in otel_capture.span("retrieval kb").attributes

    otel_capture.clear()
    otel_capture.settings(capture="SPAN_ONLY")
    with llm_otel.retrieval(data_source="kb", query="where is jane@example.com?") as r:
        r.documents = [("doc-1", 0.9)]
    lookup("Oslo")
    tool_attrs = otel_capture.span("execute_tool lookup").attributes
    assert json.loads(tool_attrs["gen_ai.tool.call.arguments"]) == {"city": "Oslo"}
    assert json.loads(tool_attrs["gen_ai.tool.call.result"]) == {"temp": 21, "city": "Oslo"}
    ret = otel_capture.span("retrieval kb").attributes
    assert ret["gen_ai.retrieval.query.text"] == "where is [REDACTED:email]?"
    assert json.loads(ret["gen_ai.retrieval.documents"]) == [{"id": "doc-1", "score": 0.9}]


def test_openai_style_tool_calls_and_tool_results_map_to_parts(otel_capture):
    otel_capture.settings(capture="SPAN_ONLY")
    messages = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "21C"},
    ]
    with llm_otel.llm_call(provider="openai", model="m", input_messages=messages, system_instructions="Be brief."):
        pass
    attrs = otel_capture.span("chat m").attributes
    parsed = json.loads(attrs["gen_ai.input.messages"])
    # the arguments are the parsed object (the schema's ToolCallArguments), not the provider's JSON string
    assert parsed[1]["parts"] == [{"type": "tool_call", "id": "c1", "name": "get_weather", "arguments": {"city": "Oslo"}}]
    assert parsed[2] == {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "21C"}]}
    assert json.loads(attrs["gen_ai.system_instructions"]) == [{"type": "text", "content": "Be brief."}]
