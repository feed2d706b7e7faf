"""Issue 10 rows 4, 5 and 9: negative scores, error texts, cancellation."""

from __future__ import annotations

import asyncio

import llm_otel
import llm_otel._semconv as sc
import pytest
from hardening_support import assert_encodable
from opentelemetry.trace import StatusCode

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
KEY = "sk-proj-" + "A1b2C3d4" * 4


def test_negative_feedback_is_counted_never_silent(otel_capture):
    assert llm_otel.record_feedback(TRACE, 1, label="up") is True
    assert llm_otel.record_feedback(TRACE, -1, label="down") is False
    rejected = otel_capture.metric_point(sc.METRIC_REJECTED_VALUES, {sc.LLM_OTEL_REJECTED_FIELD: sc.METRIC_FEEDBACK_SCORE})
    assert rejected.value == 1 and rejected.attributes[sc.LLM_OTEL_REJECTED_REASON] == sc.REJECTED_NEGATIVE
    scores = [e.attributes[sc.GEN_AI_EVALUATION_SCORE_VALUE] for e in otel_capture.events(sc.EVENT_EVALUATION_RESULT)]
    assert scores == [1.0, -1.0]  # the event keeps the exact value


def test_negative_evaluation_scores_are_counted(otel_capture):
    otel_capture.settings(evaluators=("sentiment",))
    with llm_otel.llm_call(provider="openai", model="m") as call:
        call.output_text = "bad wrong error sorry"
    [event] = otel_capture.events(sc.EVENT_EVALUATION_RESULT)
    assert event.attributes[sc.GEN_AI_EVALUATION_SCORE_VALUE] < 0
    rejected = otel_capture.metric_point(sc.METRIC_REJECTED_VALUES, {sc.LLM_OTEL_REJECTED_FIELD: sc.METRIC_EVALUATION_SCORE})
    assert rejected.value == 1


def test_error_text_with_content_off_carries_the_type_only(otel_capture):
    @llm_otel.tool(name="parse")
    def parse(arg: str) -> None:
        raise ValueError(f"cannot parse {arg!r} with key {KEY}")

    with pytest.raises(ValueError, match="my diary"):
        parse("my diary")
    span = otel_capture.span("execute_tool parse")
    assert span.status.description == "ValueError"
    [event] = [e for e in span.events if e.name == sc.EXCEPTION_EVENT]
    text = str(dict(event.attributes)) + str(span.status.description)
    assert "my diary" not in text and KEY not in text
    assert event.attributes[sc.EXCEPTION_TYPE] == "ValueError" and "parse" in event.attributes[sc.EXCEPTION_STACKTRACE]


def test_error_text_with_content_on_is_redacted(otel_capture):
    otel_capture.settings(capture="SPAN_AND_EVENT")
    error = RuntimeError(f"upstream said: Authorization: Bearer {KEY} for jane@example.com")
    with pytest.raises(RuntimeError) as caught:
        with llm_otel.llm_call(provider="openai", model="m"):
            raise error
    assert caught.value is error and KEY in str(caught.value)  # the app's exception is untouched
    span = otel_capture.span("chat m")
    [event] = [e for e in span.events if e.name == sc.EXCEPTION_EVENT]
    for text in (span.status.description, event.attributes[sc.EXCEPTION_MESSAGE]):
        assert "upstream said" in text and KEY not in text and "jane@" not in text


async def _cancelled(kind: str) -> asyncio.CancelledError:
    started = asyncio.Event()

    async def run() -> None:
        factories = {
            "tool": lambda: llm_otel.tool("t"), "agent": lambda: llm_otel.agent("a"),
            "workflow": lambda: llm_otel.workflow("w"), "retrieval": lambda: llm_otel.retrieval(data_source="d"),
        }
        async with factories[kind]():
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError) as caught:
        await task
    return caught.value


@pytest.mark.parametrize("kind,name", [("tool", "execute_tool t"), ("agent", "invoke_agent a"),
                                       ("workflow", "invoke_workflow w"), ("retrieval", "retrieval d")])
async def test_cancellation_is_not_success_and_marked(otel_capture, kind, name):
    await _cancelled(kind)
    span = otel_capture.span(name)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == "CancelledError"
    assert span.attributes[sc.LLM_OTEL_ENDED_EARLY] is True
    assert span.attributes[sc.LLM_OTEL_END_REASON] == "cancellederror"


def test_keyboard_interrupt_passes_unchanged_and_is_marked(otel_capture):
    interrupt = KeyboardInterrupt()

    @llm_otel.tool(name="slow")
    def slow() -> None:
        raise interrupt

    with pytest.raises(KeyboardInterrupt) as caught:
        with llm_otel.workflow("w"):
            slow()
    assert caught.value is interrupt
    for name in ("execute_tool slow", "invoke_workflow w"):
        span = otel_capture.span(name)
        assert span.attributes[sc.ERROR_TYPE] == "KeyboardInterrupt"
        assert span.attributes[sc.LLM_OTEL_END_REASON] == "keyboardinterrupt"
    assert_encodable(otel_capture.spans)
