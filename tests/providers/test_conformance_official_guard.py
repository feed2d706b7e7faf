"""Issue 9 item 11: with the official OpenTelemetry openai instrumentation (opentelemetry-instrumentation-genai-openai)
also on, one call gives exactly one chat span and one set of metric points, whichever was instrumented first.
Where both wrap a method, the official one records it; what only ours wraps stays ours."""

from __future__ import annotations

import llm_otel
import llm_otel._semconv as sc
import pytest
from llm_otel.instrumentors.openai import OpenAIInstrumentor

try:
    from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor as OfficialOpenAIInstrumentor
except ImportError as exc:  # never skip: say how to get it
    raise ImportError("pip install -e '.[test]' (it installs opentelemetry-instrumentation-genai-openai)") from exc

OFFICIAL_SCOPE = "opentelemetry.instrumentation.genai.openai"


@pytest.fixture(params=["official_first", "official_second"])
def both(request, otel_capture):
    official = OfficialOpenAIInstrumentor()
    ours = OpenAIInstrumentor()

    def on(instrumentor):
        if instrumentor is official:
            official.instrument(tracer_provider=otel_capture.tracer_provider, meter_provider=otel_capture.meter_provider,
                                logger_provider=otel_capture.logger_provider)
        else:
            ours.instrument()

    order = [official, ours] if request.param == "official_first" else [ours, official]
    for instrumentor in order:
        on(instrumentor)
    try:
        yield otel_capture
    finally:
        for instrumentor in reversed(order):  # outermost wrapper first: unwrap() removes the outer layer
            instrumentor.uninstrument()


def _one_chat_span_and_one_set_of_points(capture):
    [span] = capture.spans_by_operation(sc.OP_CHAT)
    assert len(capture.spans) == 1
    durations = capture.metric_points(sc.METRIC_OPERATION_DURATION)
    assert sum(p.count for p in durations) == 1
    inputs = capture.metric_points(sc.METRIC_TOKEN_USAGE, {sc.GEN_AI_TOKEN_TYPE: "input"})
    assert sum(p.count for p in inputs) == 1
    return span


def test_one_chat_call_one_span_in_either_order(both, openai_client):
    reply = openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    span = _one_chat_span_and_one_set_of_points(both)
    assert span.instrumentation_scope.name == OFFICIAL_SCOPE  # the same recorder whichever loaded first
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == reply.id


async def test_one_async_stream_one_span_in_either_order(both, async_openai_client):
    stream = await async_openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True})
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text
    _one_chat_span_and_one_set_of_points(both)


def test_one_responses_call_one_span_in_either_order(both, openai_client):
    openai_client.responses.create(model="gpt-4o-mini", input="hi")
    _one_chat_span_and_one_set_of_points(both)


def test_what_only_ours_wraps_stays_recorded(both, openai_client):
    openai_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
    [span] = both.spans
    assert span.attributes[sc.GEN_AI_OPERATION_NAME] == sc.OP_TEXT_COMPLETION
    assert span.instrumentation_scope.name != OFFICIAL_SCOPE


def test_ours_records_again_once_the_official_one_is_off(otel_capture, openai_client):
    official, ours = OfficialOpenAIInstrumentor(), OpenAIInstrumentor()
    official.instrument(tracer_provider=otel_capture.tracer_provider, meter_provider=otel_capture.meter_provider)
    ours.instrument()
    try:
        # switched off while its wrapper lingers beneath ours (its wrappers then pass calls through)
        official._is_instrumented_by_opentelemetry = False
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        [span] = otel_capture.spans
        assert span.instrumentation_scope.name != OFFICIAL_SCOPE
    finally:
        official._is_instrumented_by_opentelemetry = True
        ours.uninstrument()
        official.uninstrument()


def test_inside_an_open_llm_otel_call_the_sdk_call_merges_and_the_official_layer_is_skipped(otel_capture, openai_client):
    # the order opentelemetry-instrument loads them in (the official one first, ours outer), e.g. under a
    # LangChain model run that llm_otel records: one chat span, the framework's, filled by the SDK call
    official, ours = OfficialOpenAIInstrumentor(), OpenAIInstrumentor()
    official.instrument(tracer_provider=otel_capture.tracer_provider, meter_provider=otel_capture.meter_provider)
    ours.instrument()
    try:
        with llm_otel.llm_call(provider=sc.PROVIDER_OPENAI, model="gpt-4o-mini") as call:
            reply = openai_client.chat.completions.create(model="gpt-4o-mini",
                                                          messages=[{"role": "user", "content": "hi"}])
        _one_chat_span_and_one_set_of_points(otel_capture)
        assert call.response_id == reply.id
    finally:
        ours.uninstrument()
        official.uninstrument()
