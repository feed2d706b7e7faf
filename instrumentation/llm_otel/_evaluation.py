"""Quality evaluations of model responses, and user feedback, as OpenTelemetry data.

Built-in evaluators (seed 001's quality monitor) run on the response text the
instrumentation sees, when ``LLM_OTEL_EVALUATORS`` names them (``all`` = every built-in
except the judge; off by default in the library, on in the demo):

``refusal``          refusal phrases ("I cannot", "As an AI", ...)      label detected / not_detected
``hedging``          hallucination markers ("I think", "probably", ...) label detected / not_detected
``sentiment``        (positive - negative words) / words                score in [-1, 1], label positive / neutral / negative
``response_length``  characters                                         label empty / short / normal / long
``llm_judge``        an OpenAI-compatible model rates the answer 0..1   (background thread; opt-in by name)

Each result becomes a ``gen_ai.evaluation.result`` event (a log record tied to the
call's span, plus the same event on the span itself so trace views show it) and metric
points: ``llm_otel.evaluation.results`` (count by evaluator and label, for rates) and
``llm_otel.evaluation.score``. The built-ins are regular expressions over at most
``_SCAN_CHARS`` characters: a bounded cost measured in ``benchmarks/bench_core.py``.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from llm_otel import _limits, _settings, _telemetry
from llm_otel import _semconv as sc
from llm_otel._redaction import redact
from llm_otel._safety import report

_log = logging.getLogger("llm_otel")
_SCAN_CHARS = 16_384

DETECTED, NOT_DETECTED = "detected", "not_detected"

REFUSAL_PATTERNS = [r"\bI cannot\b", r"\bI'm unable to\b", r"\bI don't have access\b", r"\bI apologize, but\b",
                    r"\bAs an AI\b", r"\bI'm not able to\b"]
HEDGING_PATTERNS = [r"\bI think\b", r"\bI believe\b", r"\bprobably\b", r"\bmight be\b", r"\bI'm not sure\b",
                    r"\bas far as I know\b"]
_REFUSAL = re.compile("|".join(REFUSAL_PATTERNS), re.IGNORECASE)
_HEDGING = re.compile("|".join(HEDGING_PATTERNS), re.IGNORECASE)
_POSITIVE = re.compile(r"\b(good|great|excellent|helpful|correct)\b", re.IGNORECASE)
_NEGATIVE = re.compile(r"\b(bad|wrong|error|incorrect|sorry)\b", re.IGNORECASE)
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    name: str
    score: float | None = None
    label: str | None = None
    explanation: str | None = None


Evaluator = Callable[[str], EvaluationResult]


def _marker(name: str, pattern: re.Pattern[str]) -> Evaluator:
    def evaluate(text: str) -> EvaluationResult:
        found = pattern.search(text)
        return EvaluationResult(name, 1.0 if found else 0.0, DETECTED if found else NOT_DETECTED,
                                f"matched {found.group(0)!r}" if found else None)

    return evaluate


def _sentiment(text: str) -> EvaluationResult:
    words = max(len(_WORD.findall(text)), 1)
    score = (len(_POSITIVE.findall(text)) - len(_NEGATIVE.findall(text))) / words
    label = "positive" if score > 0 else "negative" if score < 0 else "neutral"
    return EvaluationResult("sentiment", score, label)


def _response_length(text: str) -> EvaluationResult:
    n = len(text)
    label = "empty" if n == 0 else "short" if n < 20 else "long" if n > 2000 else "normal"
    return EvaluationResult("response_length", float(n), label)


# 0/1 markers are fully described by their label counts; lengths have their own histogram
_COUNTED_ONLY = frozenset({"refusal", "hedging", "response_length"})

BUILTINS: dict[str, Evaluator] = {
    "refusal": _marker("refusal", _REFUSAL),
    "hedging": _marker("hedging", _HEDGING),
    "sentiment": _sentiment,
    "response_length": _response_length,
}
_custom: dict[str, Evaluator] = {}


def register_evaluator(name: str, evaluator: Evaluator) -> None:
    """Add an evaluator (``text -> EvaluationResult``); enable it by name in ``LLM_OTEL_EVALUATORS``."""
    _custom[name] = evaluator
    _selection_cache.clear()


_selection_cache: dict[tuple[tuple[str, ...], int], list[Evaluator]] = {}


def _selected(names: tuple[str, ...]) -> list[Evaluator]:
    key = (names, len(_custom))
    cached = _selection_cache.get(key)
    if cached is None:
        cached = _selection_cache[key] = _select(names)
    return cached


def _select(names: tuple[str, ...]) -> list[Evaluator]:
    if not names:
        return []
    wanted = set(names)
    if "all" in wanted:
        wanted |= set(BUILTINS) | set(_custom)
    return [fn for name, fn in (*BUILTINS.items(), *_custom.items()) if name in wanted]


# -- emission ----------------------------------------------------------------------------------


def _emit(result: EvaluationResult, context: Any, span: Any, base: dict[str, Any], response_id: str | None) -> None:
    tel = _telemetry.current()
    name = _limits.name(result.name)
    label = _limits.name(result.label) if result.label is not None else None
    score = _score(result.score, sc.METRIC_EVALUATION_SCORE)
    attributes: dict[str, Any] = {sc.GEN_AI_EVALUATION_NAME: name}
    if score is not None:
        attributes[sc.GEN_AI_EVALUATION_SCORE_VALUE] = score
    if label is not None:
        attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL] = label
    if result.explanation:
        attributes[sc.GEN_AI_EVALUATION_EXPLANATION] = redact(_limits.text(result.explanation, _EXPLANATION_CHARS))
    if response_id:
        attributes[sc.GEN_AI_RESPONSE_ID] = _limits.name(response_id)
    tel.logger.emit(event_name=sc.EVENT_EVALUATION_RESULT, attributes={**base, **attributes}, context=context)
    if span is not None and span.is_recording():
        span.add_event(sc.EVENT_EVALUATION_RESULT, attributes)
    op, provider, model = base.get(sc.GEN_AI_OPERATION_NAME), base.get(sc.GEN_AI_PROVIDER_NAME), base.get(sc.GEN_AI_REQUEST_MODEL)
    tel[sc.METRIC_EVALUATION_RESULTS].add(1, tel.evaluation((op, provider, model, name, label or "scored")))
    if score is not None and result.name not in _COUNTED_ONLY and _recordable(score, sc.METRIC_EVALUATION_SCORE):
        tel[sc.METRIC_EVALUATION_SCORE].record(score, tel.evaluation((op, provider, model, name, None)))


_EXPLANATION_CHARS = 4096


def _score(value: Any, field: str) -> float | None:
    """A finite number as a float, else None (counted)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value and abs(value) != float("inf"):
        return float(value)
    if value is not None:
        _limits.rejected(field, sc.REJECTED_TYPE)
    return None


def _recordable(score: float, metric: str) -> bool:
    """Histograms take no negative values: a negative score stays on the event (its exact value) and is
    counted on ``llm_otel.rejected_values`` (reason ``negative``) instead of silently vanishing."""
    if score >= 0:
        return True
    _limits.rejected(metric, sc.REJECTED_NEGATIVE)
    return False


def evaluate_invocation(inv: Any, text: str, span: Any, base: dict[str, Any]) -> None:
    """Run the enabled evaluators on an inference's answer (called by the recorder before the span ends).

    ``base``: the inference's common metric attributes (operation, provider, model).
    """
    settings = _settings.get()
    evaluators = _selected(settings.evaluators)
    scanned = text[:_SCAN_CHARS]
    for evaluate in evaluators:
        try:
            _emit(evaluate(scanned), inv._context, span, base, inv.response_id)
        except Exception as exc:
            report("evaluation", exc)
    if "llm_judge" in settings.evaluators:
        _judge().submit(_last_user_text(inv.input_messages), text[:_SCAN_CHARS], inv._context, base, inv.response_id)


def _last_user_text(messages: Any) -> str | None:
    try:
        for message in reversed(list(messages or ())):
            message = message if isinstance(message, dict) else getattr(message, "__dict__", {})
            if message.get("role") == "user":
                content = message.get("content")
                return content if isinstance(content, str) else str(content)
    except Exception:
        return None
    return None


# -- the LLM judge: off the request path, bounded queue ------------------------------------------

JUDGE_PROMPT = (
    "Rate how well the response answers the question, for factual accuracy and relevance, from 0 to 1.\n"
    "Only respond with a number.\n\nQuestion: {question}\n\nResponse: {response}\n\nScore (0-1):"
)


class _Judge:
    """Scores answers with an OpenAI-compatible model on a background thread.

    Model: ``LLM_OTEL_JUDGE_MODEL`` (default gpt-4o-mini) at ``LLM_OTEL_JUDGE_BASE_URL`` /
    ``LLM_OTEL_JUDGE_API_KEY`` (default: the usual ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``).
    The judge's own call is not instrumented (it would count as app traffic). When the queue
    is full the evaluation is dropped and counted (stage ``judge_queue_full``).
    """

    def __init__(self, maxsize: int = 256) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._thread = threading.Thread(target=self._run, name="llm_otel-judge", daemon=True)
        self._client: Any = None
        self._thread.start()
        atexit.register(self.flush, 5.0)

    def submit(self, question: str | None, response: str, context: Any, base: dict[str, Any], response_id: str | None) -> None:
        try:
            self._queue.put_nowait((question, response, context, base, response_id))
        except queue.Full:
            _telemetry.current()[sc.METRIC_INSTRUMENTATION_ERRORS].add(1, {sc.LLM_OTEL_ERROR_STAGE: "judge_queue_full"})

    def flush(self, timeout: float = 10.0) -> bool:
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                self._score(*item)
            except Exception as exc:
                report("llm_judge", exc)

    def _score(self, question: str | None, response: str, context: Any, base: dict[str, Any], response_id: str | None) -> None:
        from opentelemetry.instrumentation.utils import suppress_instrumentation

        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                base_url=os.environ.get("LLM_OTEL_JUDGE_BASE_URL") or os.environ.get("OPENAI_BASE_URL"),
                api_key=os.environ.get("LLM_OTEL_JUDGE_API_KEY") or os.environ.get("OPENAI_API_KEY") or "unset",
                max_retries=1, timeout=30,
            )
        with suppress_instrumentation():
            reply = self._client.chat.completions.create(
                model=os.environ.get("LLM_OTEL_JUDGE_MODEL", "gpt-4o-mini"), max_tokens=5,
                messages=[{"role": "user", "content": JUDGE_PROMPT.format(question=redact(question or "")[:1000], response=redact(response)[:1000])}],
            )
        raw = (reply.choices[0].message.content or "").strip()
        match = re.search(r"\d+(?:\.\d+)?", raw)
        if match is None or not 0.0 <= float(match.group(0)) <= 1.0:
            result = EvaluationResult("llm_judge", None, "unparsable", f"judge answered {raw[:40]!r}")
        else:
            score = float(match.group(0))
            result = EvaluationResult("llm_judge", score, "pass" if score >= 0.5 else "fail")
        _emit(result, context, None, base, response_id)


_judge_instance: _Judge | None = None
_judge_lock = threading.Lock()


def _judge() -> _Judge:
    global _judge_instance
    with _judge_lock:
        if _judge_instance is None:
            _judge_instance = _Judge()
        return _judge_instance


def flush_evaluations(timeout: float = 10.0) -> bool:
    """Wait until queued background evaluations (the LLM judge) are done. True if drained."""
    return _judge_instance.flush(timeout) if _judge_instance is not None else True


# -- user feedback ---------------------------------------------------------------------------------


def _parse_id(value: str | int, hex_len: int, what: str) -> int:
    if isinstance(value, int):
        parsed = value
    else:
        text = value.strip().lower()
        if len(text) != hex_len or not re.fullmatch(r"[0-9a-f]+", text):
            raise ValueError(f"{what} must be {hex_len} hex characters (as in traceparent), got {value!r}")
        parsed = int(text, 16)
    if parsed == 0:
        raise ValueError(f"{what} must not be all zeros")
    return parsed


def record_feedback(
    trace_id: str | int,
    score: float,
    label: str | None = None,
    comment: str | None = None,
    *,
    span_id: str | int | None = None,
) -> bool:
    """Record a user's rating of an earlier response, linked to that response's trace.

    Emits a ``gen_ai.evaluation.result`` event named ``user_feedback`` carrying the trace id
    (and span id, if given) plus a point on ``llm_otel.feedback.score``. The comment is user
    content: it is redacted and only sent when content capture is on. The label becomes a metric
    attribute: it is redacted (an e-mail never becomes a label) and bounded like every other one.

    Returns True if the score is on the metric too; False if only the event carries it (a negative
    score: histograms take none, it is counted on ``llm_otel.rejected_values``) or recording failed.

    >>> llm_otel.record_feedback("4bf92f3577b34da6a3ce929d0e0e4736", 1, label="thumbs_up")
    """
    trace = _parse_id(trace_id, 32, "trace_id")
    span = _parse_id(span_id, 16, "span_id") if span_id is not None else 0
    if not isinstance(score, (int, float)) or score != score:
        raise ValueError(f"score must be a number, got {score!r}")
    try:
        context = set_span_in_context(NonRecordingSpan(SpanContext(trace, span, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))))
        attributes: dict[str, Any] = {sc.GEN_AI_EVALUATION_NAME: "user_feedback", sc.GEN_AI_EVALUATION_SCORE_VALUE: float(score)}
        safe_label = redact(_limits.text(label, _FEEDBACK_LABEL_CHARS)) if label else None
        if safe_label:
            attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL] = safe_label
        if comment and _settings.get().capture.on_event:
            # cut, then redact (a key at the cut may be left partly visible: the cut keeps a margin)
            cut = _limits.text(comment, _COMMENT_CHARS + _REDACT_MARGIN)
            attributes[sc.GEN_AI_EVALUATION_EXPLANATION] = redact(cut)[:_COMMENT_CHARS]
        tel = _telemetry.current()
        tel.logger.emit(event_name=sc.EVENT_EVALUATION_RESULT, attributes=attributes, context=context)
        if not _recordable(float(score), sc.METRIC_FEEDBACK_SCORE):
            return False
        tel[sc.METRIC_FEEDBACK_SCORE].record(float(score), tel.feedback((safe_label,)))
        return True
    except Exception as exc:
        report("feedback", exc)
        return False


_FEEDBACK_LABEL_CHARS = 64
_COMMENT_CHARS = 4096
_REDACT_MARGIN = 256
