"""Hot-path cost of a manual ``llm_call`` versus the bare OpenTelemetry SDK doing the same work.

Both sides emit the same span (name, kind, 5 start + 6 end attributes, current while
the metrics are recorded) and the same 4 metric points (duration, input and output
token usage, cost) into SDK providers with a no-op span exporter and an idle metric
reader. Rounds alternate between the two so drift on a shared machine hits both.

    python benchmarks/bench_core.py [--rounds 15] [--calls 2000]

Budget (issue 2): llm_call <= 1.3x the SDK floor.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import platform
import statistics
import time

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

import llm_otel
from llm_otel import _semconv as sc
from llm_otel import _settings, _telemetry


class NoOpExporter(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS


def providers():
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(NoOpExporter()))
    mp = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return tp, mp


def make_bare():
    tp, mp = providers()
    tracer = tp.get_tracer("bare")
    meter = mp.get_meter("bare")
    duration = meter.create_histogram(sc.METRIC_OPERATION_DURATION, unit="s",
                                      explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS))
    tokens = meter.create_histogram(sc.METRIC_TOKEN_USAGE, unit="{token}",
                                    explicit_bucket_boundaries_advisory=list(sc.TOKEN_BUCKETS))
    cost = meter.create_counter(sc.METRIC_COST, unit="{USD}")
    perf = time.perf_counter

    def call():
        t0 = perf()
        with tracer.start_as_current_span(
            "chat gpt-4o-mini",
            kind=SpanKind.CLIENT,
            attributes={
                sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "openai",
                sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini", sc.SERVER_ADDRESS: "api.openai.com", sc.SERVER_PORT: 443,
            },
        ) as span:
            attrs = {
                sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "openai",
                sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini", sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
                sc.SERVER_ADDRESS: "api.openai.com", sc.SERVER_PORT: 443,
            }
            duration.record(perf() - t0, attrs)
            tokens.record(100, {**attrs, sc.GEN_AI_TOKEN_TYPE: "input"})
            tokens.record(20, {**attrs, sc.GEN_AI_TOKEN_TYPE: "output"})
            usd = (100 * 0.15 + 20 * 0.6) / 1e6
            cost.add(usd, attrs)
            span.set_attributes({
                sc.GEN_AI_USAGE_INPUT_TOKENS: 100, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 20, sc.LLM_OTEL_COST_USD: usd,
                sc.GEN_AI_RESPONSE_ID: "chatcmpl-1", sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
                sc.GEN_AI_RESPONSE_FINISH_REASONS: ["stop"],
            })

    return call


def _manual_call(output_text: str | None = None):
    def call():
        with llm_otel.llm_call(provider="openai", model="gpt-4o-mini", server_address="api.openai.com", server_port=443) as c:
            c.response_id = "chatcmpl-1"
            c.response_model = "gpt-4o-mini-2024-07-18"
            c.finish_reasons = ["stop"]
            c.input_tokens = 100
            c.output_tokens = 20
            if output_text is not None:
                c.output_text = output_text

    return call


def make_llm_otel():
    tp, mp = providers()
    return _manual_call(), _telemetry.build(tp, mp)


def make_llm_otel_with_quality():
    """The same call with output text and the built-in evaluators on: their bounded inline cost."""
    return _manual_call("I think the capital of France is probably Paris, a great city.")


def per_call_us(fn, calls: int) -> float:
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - t0) / calls * 1e6
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--name-width", type=int, default=20, help=argparse.SUPPRESS)
    args = parser.parse_args()

    bare = make_bare()
    ours, telemetry = make_llm_otel()
    quality = make_llm_otel_with_quality()
    previous = _telemetry.swap(telemetry)
    no_evaluators = _settings.get()
    with_evaluators = dataclasses.replace(no_evaluators, evaluators=("all",))
    try:
        for fn in (bare, ours):  # warm up: price lookup, instrument creation, caches
            per_call_us(fn, 500)
        samples: dict[str, list[float]] = {"bare OTel SDK": [], "llm_otel.llm_call": [], "+ evaluators (all)": []}
        for _ in range(args.rounds):
            samples["bare OTel SDK"].append(per_call_us(bare, args.calls))
            samples["llm_otel.llm_call"].append(per_call_us(ours, args.calls))
            _settings._current = with_evaluators
            samples["+ evaluators (all)"].append(per_call_us(quality, args.calls))
            _settings._current = no_evaluators
    finally:
        _telemetry.swap(previous)

    print(f"# {time.strftime('%Y-%m-%d')} {platform.machine()} {platform.python_implementation()} "
          f"{platform.python_version()}, {args.rounds} rounds x {args.calls} calls, medians")
    floor = statistics.median(samples["bare OTel SDK"])
    for name, values in samples.items():
        med = statistics.median(values)
        print(f"{name:20s} {med:7.1f} us/call  (min {min(values):6.1f}, max {max(values):6.1f})  "
              f"ratio {med / floor:4.2f}x")
    extra = statistics.median(samples["+ evaluators (all)"]) - statistics.median(samples["llm_otel.llm_call"])
    print(f"evaluators' inline cost: {extra:.1f} us/call (4 built-ins, events + metrics; off by default)")
    ratio = statistics.median(samples["llm_otel.llm_call"]) / floor
    print(f"RESULT llm_call/SDK floor = {ratio:.2f}x (budget 1.30x): {'OK' if ratio <= 1.3 else 'OVER BUDGET'}")


if __name__ == "__main__":
    main()
