"""Quality evaluations and user feedback as events and metrics."""

from __future__ import annotations

import llm_otel
import pytest
from llm_otel import _evaluation


@pytest.fixture(autouse=True)
def _no_leftover_custom_evaluators():
    yield
    _evaluation._custom.clear()
    _evaluation._selection_cache.clear()


def _answer(otel_capture, text, model="gpt-4o-mini"):
    with llm_otel.llm_call(provider="openai", model=model) as call:
        call.response_id = "resp-1"
        call.output_text = text
    return otel_capture.span(f"chat {model}") if len(otel_capture.spans) == 1 else None


def test_evaluators_are_off_by_default(otel_capture):
    _answer(otel_capture, "I cannot help with that.")
    assert otel_capture.events("gen_ai.evaluation.result") == []
    assert otel_capture.metric_points("llm_otel.evaluation.results") == []


def test_builtin_evaluators_emit_events_tied_to_the_span_and_rate_metrics(otel_capture):
    otel_capture.settings(evaluators=("all",))
    span = _answer(otel_capture, "I cannot help with that. I think it is probably wrong.")
    events = {e.attributes["gen_ai.evaluation.name"]: e for e in otel_capture.events("gen_ai.evaluation.result")}
    assert set(events) == {"refusal", "hedging", "sentiment", "response_length"}
    for event in events.values():
        assert event.trace_id == span.context.trace_id and event.span_id == span.context.span_id
        assert event.attributes["gen_ai.response.id"] == "resp-1"
    assert events["refusal"].attributes["gen_ai.evaluation.score.label"] == "detected"
    assert events["hedging"].attributes["gen_ai.evaluation.score.label"] == "detected"
    assert events["sentiment"].attributes["gen_ai.evaluation.score.value"] == pytest.approx(-1 / 11)
    assert events["response_length"].attributes["gen_ai.evaluation.score.value"] == 54
    assert [e.name for e in span.events].count("gen_ai.evaluation.result") == 4  # visible in trace views
    refusal = otel_capture.metric_point("llm_otel.evaluation.results", {"gen_ai.evaluation.name": "refusal"})
    assert refusal.attributes == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.evaluation.name": "refusal", "gen_ai.evaluation.score.label": "detected",
    }


def test_clean_answer_is_not_flagged(otel_capture):
    otel_capture.settings(evaluators=("refusal", "hedging"))
    _answer(otel_capture, "Paris is the capital of France.")
    labels = {p.attributes["gen_ai.evaluation.name"]: p.attributes["gen_ai.evaluation.score.label"]
              for p in otel_capture.metric_points("llm_otel.evaluation.results")}
    assert labels == {"refusal": "not_detected", "hedging": "not_detected"}


def test_custom_evaluator(otel_capture):
    llm_otel.register_evaluator("mentions_otel", lambda text: llm_otel.EvaluationResult(
        "mentions_otel", 1.0 if "OTel" in text else 0.0, "yes" if "OTel" in text else "no"))
    otel_capture.settings(evaluators=("mentions_otel",))
    _answer(otel_capture, "OTel is great")
    [event] = otel_capture.events("gen_ai.evaluation.result")
    assert event.attributes["gen_ai.evaluation.score.label"] == "yes"


def test_a_failing_evaluator_is_contained(otel_capture):
    def broken(text):
        raise RuntimeError("evaluator bug")

    llm_otel.register_evaluator("broken", broken)
    otel_capture.settings(evaluators=("broken", "refusal"))
    _answer(otel_capture, "fine")
    assert otel_capture.metric_point("llm_otel.instrumentation.errors").attributes == {"llm_otel.error.stage": "evaluation"}
    assert len(otel_capture.events("gen_ai.evaluation.result")) == 1  # the other evaluator still ran


def test_llm_judge_scores_in_the_background_without_instrumenting_itself(otel_capture, monkeypatch):
    from llm_otel.instrumentors.openai import OpenAIInstrumentor
    from llm_otel_tools.local_llm import LocalLLMServer

    with LocalLLMServer() as server:
        monkeypatch.setenv("LLM_OTEL_JUDGE_BASE_URL", server.openai_base_url)
        monkeypatch.setenv("LLM_OTEL_JUDGE_API_KEY", "sk-test")
        from llm_otel import _evaluation

        monkeypatch.setattr(_evaluation, "_judge_instance", None)
        OpenAIInstrumentor().instrument()
        try:
            otel_capture.settings(evaluators=("llm_judge",))
            span = _answer(otel_capture, "Paris.")
            assert llm_otel.flush_evaluations(10)
        finally:
            OpenAIInstrumentor().uninstrument()
    [event] = otel_capture.events("gen_ai.evaluation.result")
    assert event.attributes["gen_ai.evaluation.name"] == "llm_judge"
    assert event.trace_id == span.context.trace_id
    # the local model does not answer with a number: recorded as such, not guessed
    assert event.attributes["gen_ai.evaluation.score.label"] == "unparsable"
    assert len(otel_capture.spans) == 1  # the judge's own call made no span


def test_record_feedback_links_to_the_trace(otel_capture):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    llm_otel.record_feedback(trace_id, 1, label="thumbs_up", comment="great, mail me at a@b.com")
    [event] = otel_capture.events("gen_ai.evaluation.result")
    assert event.trace_id == int(trace_id, 16)
    assert event.attributes["gen_ai.evaluation.name"] == "user_feedback"
    assert event.attributes["gen_ai.evaluation.score.value"] == 1.0
    assert "gen_ai.evaluation.explanation" not in event.attributes  # comments are content: off by default
    point = otel_capture.metric_point("llm_otel.feedback.score")
    assert point.value == 1.0 and point.attributes == {"llm_otel.feedback.label": "thumbs_up"}

    otel_capture.settings(capture="EVENT_ONLY")
    llm_otel.record_feedback(trace_id, -1, comment="mail me at a@b.com", span_id="00f067aa0ba902b7")
    event = otel_capture.events("gen_ai.evaluation.result")[-1]
    assert event.attributes["gen_ai.evaluation.explanation"] == "mail me at [REDACTED:email]"
    assert event.span_id == 0x00F067AA0BA902B7


@pytest.mark.parametrize("bad", ["xyz", "", "0" * 32, "4bf92f3577b34da6a3ce929d0e0e47"])
def test_record_feedback_rejects_malformed_trace_ids(otel_capture, bad):
    with pytest.raises(ValueError, match="trace_id"):
        llm_otel.record_feedback(bad, 1)
