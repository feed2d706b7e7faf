"""Property tests (hypothesis) over the public API and the content/redaction path.

Whatever the app passes (any field value, strings with lone surrogates and control characters, huge or
nested structures, exceptions whose ``__str__`` fails), each run gives spans the real OTLP encoder
accepts, and the app's own exception reaches the app unchanged. Bounded: few examples, no deadline.
"""

from __future__ import annotations

from typing import Any

import llm_otel
import pytest
from hardening_support import assert_encodable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llm_otel._content import encode
from llm_otel._redaction import redact

BOUNDED = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

texts = st.text(alphabet=st.characters(codec=None, blacklist_categories=()), max_size=64) | st.sampled_from(
    ["x \ud800", "\udcff", "\x00\x1b[31m", "a." * 2000, "jane@example.com", "AKIAIOSFODNN7EXAMPLE"]
)
scalars = st.none() | st.booleans() | st.integers(min_value=-(1 << 70), max_value=1 << 70) | st.floats() | texts
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
                      max_leaves=20)


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


class _BadStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("broken __str__")


errors = st.sampled_from([None, ValueError("x \udcff"), _BadStr(), KeyError(object()), RuntimeError("k sk-" + "a" * 20)])
LLM_FIELDS = ["input_tokens", "output_tokens", "response_id", "response_model", "finish_reasons", "cost_usd",
              "output_text", "output_messages", "input_messages", "cache_read_input_tokens"]


def _run(body, error: BaseException | None) -> None:
    if error is None:
        body()
        return
    with pytest.raises(type(error)) as caught:
        body()
    assert caught.value is error


@BOUNDED
@given(name=values, model=values, fields=st.dictionaries(st.sampled_from(LLM_FIELDS), values, max_size=6),
       extra=st.dictionaries(texts, values, max_size=3), error=errors, capture=st.booleans())
def test_llm_call_any_values(otel_capture, name, model, fields, extra, error, capture):
    otel_capture.clear()
    otel_capture.settings(capture="SPAN_AND_EVENT" if capture else "NO_CONTENT")

    def body() -> None:
        with llm_otel.llm_call(provider=name, model=model, temperature=name, stop_sequences=model) as call:
            for key, value in fields.items():
                setattr(call, key, value)
            call.attributes.update(extra)
            if error is not None:
                raise error

    _run(body, error)
    assert_encodable(otel_capture.spans)


@BOUNDED
@given(name=values, arguments=values, result=values, documents=values, query=values, error=errors,
       capture=st.booleans())
def test_tool_agent_workflow_retrieval_any_values(otel_capture, name, arguments, result, documents, query, error,
                                                  capture):
    otel_capture.clear()
    otel_capture.settings(capture="SPAN_AND_EVENT" if capture else "NO_CONTENT")

    def body() -> None:
        with llm_otel.workflow(name), llm_otel.agent(name, id=name, description=arguments):
            with llm_otel.retrieval(data_source=name, top_k=query, query=query) as r:
                r.documents = documents
            with llm_otel.tool(name, call_id=name, description=name) as t:
                t.arguments, t.result = arguments, result
                if error is not None:
                    raise error

    _run(body, error)
    assert_encodable(otel_capture.spans)


@BOUNDED
@given(score=st.floats(allow_nan=False, allow_infinity=False, min_value=-10, max_value=10), label=values,
       comment=texts)
def test_record_feedback_any_label(otel_capture, score, label, comment):
    otel_capture.settings(capture="SPAN_AND_EVENT")
    llm_otel.record_feedback("4bf92f3577b34da6a3ce929d0e0e4736", score, label=label, comment=comment)


@BOUNDED
@given(value=values)
def test_content_encoding_is_valid_utf8_json_within_the_limit(value):
    text, _ = encode(value, 1024)
    assert len(text.encode("utf-8")) <= 1024
    assert redact(text).encode("utf-8")


def test_deeply_nested_content_costs_the_attribute_only(otel_capture):
    otel_capture.settings(capture="SPAN_AND_EVENT")
    with llm_otel.tool("deep") as t:
        t.arguments = _deep(5000)
        t.result = "fine"
    span = otel_capture.span("execute_tool deep")
    assert span.attributes["gen_ai.tool.call.result"] == '"fine"'
    assert_encodable([span])
