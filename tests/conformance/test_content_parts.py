"""Content parts in the schema's shape (issue 9, item 7): provider parts converted, unknown ones ``generic``,
images and files as ``blob``/``uri``/``file``, tool-call arguments as the parsed object. Each case failed before."""

from __future__ import annotations

import json

import llm_otel
import llm_otel._semconv as sc


def _input_parts(otel_capture, content):
    otel_capture.settings(capture="SPAN_ONLY")
    with llm_otel.llm_call(provider="openai", model="m", input_messages=[{"role": "user", "content": content}]):
        pass
    [message] = json.loads(otel_capture.span("chat m").attributes[sc.GEN_AI_INPUT_MESSAGES])
    return message["parts"]


def test_images_become_blob_uri_or_file(otel_capture):
    parts = _input_parts(otel_capture, [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},  # OpenAI chat, inline
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "input_image", "file_id": "file-1"},  # OpenAI Responses
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},  # Anthropic
        {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
        {"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}},
    ])
    assert parts == [
        {"type": "blob", "mime_type": "image/png", "modality": "image", "content": "iVBORw0K"},
        {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"},
        {"type": "file", "modality": "image", "file_id": "file-1"},
        {"type": "blob", "mime_type": "image/jpeg", "modality": "image", "content": "/9j/4AAQ"},
        {"type": "uri", "mime_type": None, "modality": "document", "uri": "https://example.com/a.pdf"},
        {"type": "blob", "mime_type": "audio/wav", "modality": "audio", "content": "UklGR"},
    ]


def test_unknown_parts_become_generic_and_keep_their_content(otel_capture):
    parts = _input_parts(otel_capture, [{"type": "refusal", "refusal": "no"}, {"type": "text", "text": "hi"}])
    assert parts == [
        {"type": "generic", "content": {"type": "refusal", "refusal": "no"}},
        {"type": "text", "content": "hi"},
    ]


def test_shaped_messages_from_an_integration_are_normalized_too(otel_capture):
    """Integrations that build the semconv shape themselves (Anthropic, Gemini) still get schema parts."""
    otel_capture.settings(capture="SPAN_ONLY")
    shaped = [{"role": "user", "parts": [
        {"type": "image", "content": {"type": "image"}},  # an integration's pass-through of an unknown block
        {"type": "uri", "uri": "gs://b/cat.png", "mime_type": "image/png"},  # no modality
        {"type": "tool_call", "id": "t1", "name": "f", "arguments": '{"x": 1}'},
    ]}]
    with llm_otel.llm_call(provider="gcp.gemini", model="m", input_messages=shaped):
        pass
    [message] = json.loads(otel_capture.span("chat m").attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert message["parts"] == [
        {"type": "generic", "content": {"type": "image", "content": {"type": "image"}}},
        {"type": "uri", "uri": "gs://b/cat.png", "mime_type": "image/png", "modality": "image"},
        {"type": "tool_call", "id": "t1", "name": "f", "arguments": {"x": 1}},
    ]


def test_tool_call_arguments_are_the_parsed_object_on_messages_and_tool_spans(otel_capture):
    otel_capture.settings(capture="SPAN_ONLY")
    messages = [{"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": '{"a": [1]}'}}]}]
    with llm_otel.llm_call(provider="openai", model="m", input_messages=messages):
        pass
    with llm_otel.tool(name="f") as tool:
        tool.arguments = '{"a": [1]}'
    [message] = json.loads(otel_capture.span("chat m").attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert message["parts"][0]["arguments"] == {"a": [1]}
    assert json.loads(otel_capture.span("execute_tool f").attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"a": [1]}


def test_tool_call_arguments_and_results_that_are_plain_text_stay_text(otel_capture):
    otel_capture.settings(capture="SPAN_ONLY")
    with llm_otel.tool(name="g") as tool:
        tool.arguments, tool.result = "not json", '{"temperature": 21}'  # text stays text; a JSON object is parsed
    attributes = otel_capture.span("execute_tool g").attributes
    assert json.loads(attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == "not json"
    assert json.loads(attributes[sc.GEN_AI_TOOL_CALL_RESULT]) == {"temperature": 21}
