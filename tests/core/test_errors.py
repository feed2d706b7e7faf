"""Failures: the user's exception passes through unchanged; ours never reach the user."""

from __future__ import annotations

import asyncio

import llm_otel
import pytest
from llm_otel import _telemetry
from opentelemetry.trace import StatusCode


class ProviderDown(Exception):
    pass


def test_user_exception_is_reraised_unchanged_and_recorded(otel_capture):
    error = ProviderDown("503 from upstream")
    with pytest.raises(ProviderDown) as caught, llm_otel.llm_call(provider="openai", model="m"):
        raise error
    assert caught.value is error
    span = otel_capture.span("chat m")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ProviderDown"
    assert [e.name for e in span.events] == ["exception"]
    [point] = otel_capture.metric_points("gen_ai.client.operation.duration")
    assert point.attributes["error.type"] == "ProviderDown"
    assert point.count == 1


def test_error_type_set_by_code_marks_failure_without_exception(otel_capture):
    with llm_otel.llm_call(provider="openai", model="m") as call:
        call.error_type = "content_filter"
    span = otel_capture.span("chat m")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "content_filter"


async def test_decorated_async_function_reraises_same_object(otel_capture):
    error = ValueError("bad")

    @llm_otel.tool(name="t")
    async def failing():
        raise error

    with pytest.raises(ValueError) as caught:
        await failing()
    assert caught.value is error
    [point] = otel_capture.metric_points("gen_ai.execute_tool.duration")
    assert point.attributes == {  # the instrument names the operation (no gen_ai.operation.name, as in the model)
        "gen_ai.tool.name": "t", "gen_ai.tool.type": "function", "error.type": "ValueError",
    }


async def test_cancellation_is_an_early_end_not_an_error(otel_capture):
    started = asyncio.Event()

    async def call():
        with llm_otel.llm_call(provider="openai", model="m"):
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(call())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    span = otel_capture.span("chat m")
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["llm_otel.stream.end_reason"] == "cancellederror"


class _BrokenTracer:
    def start_span(self, *args, **kwargs):
        raise RuntimeError("tracer bug")


def test_internal_failure_is_contained_counted_and_logged_once(otel_capture, caplog):
    good = _telemetry.current()
    _telemetry.swap(_telemetry.Telemetry(_BrokenTracer(), good.logger, dict(good)))
    try:
        for _ in range(3):
            with llm_otel.llm_call(provider="openai", model="m") as call:
                call.input_tokens = 1
            assert call.finished is False or call.finished is True  # the block ran to the end
    finally:
        _telemetry.swap(good)
    [point] = otel_capture.metric_points("llm_otel.instrumentation.errors")
    assert point.value == 3 and point.attributes == {"llm_otel.error.stage": "start"}
    assert sum("contained an internal error in start" in r.getMessage() for r in caplog.records) == 1


def test_span_ends_exactly_once_even_if_exited_twice(otel_capture):
    call = llm_otel.llm_call(provider="openai", model="m")
    with call:
        pass
    call.__exit__(None, None, None)
    assert len(otel_capture.spans) == 1
    assert otel_capture.metric_point("gen_ai.client.operation.duration").count == 1


def test_telemetry_failure_while_recording_metrics_does_not_break_the_call(otel_capture):
    with llm_otel.llm_call(provider="openai", model="m") as call:
        call.input_tokens = "not a number"  # a bad value from a malformed response
        call.output_tokens = 5
    # the span still ends and the failure is counted, not raised
    assert len(otel_capture.spans) == 1
