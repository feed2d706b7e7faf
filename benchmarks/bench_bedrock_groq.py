"""Worker side of ``bench_providers_wall.py --provider groq|bedrock`` (the parent side is shared).

groq: ``chat.completions.create`` through the in-process ``LocalLLMTransport`` (httpx).
bedrock: boto3 ``converse`` / ``converse_stream`` answered in process by botocore's
``before-send`` hook (``llm_otel_tools.local_llm.bedrock.install_in_process``), SigV4 signing
included, no sockets.

Configs: bare, floor (one hand-written span + the metric points llm_otel records), llm_otel,
official (bedrock: opentelemetry-instrumentation-botocore, whose Bedrock extension records
gen_ai spans and metrics), openllmetry (opentelemetry-instrumentation-groq / -bedrock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

GROQ_MODEL = "llama-3.3-70b-versatile"
BEDROCK_MODEL = "amazon.nova-lite-v1:0"
PROMPT = "Say hello in five words"


def _instrument(provider: str, config: str) -> None:
    if config == "llm_otel":
        if provider == "groq":
            from llm_otel.instrumentors.groq import GroqInstrumentor as Instrumentor
        else:
            from llm_otel.instrumentors.bedrock import (
                BedrockInstrumentor as Instrumentor,  # type: ignore[assignment]
            )
    elif config == "official" and provider == "bedrock":
        from opentelemetry.instrumentation.botocore import (
            BotocoreInstrumentor as Instrumentor,  # type: ignore[assignment]
        )
    elif config == "openllmetry":
        if provider == "groq":
            from opentelemetry.instrumentation.groq import (
                GroqInstrumentor as Instrumentor,  # type: ignore[assignment]
            )
        else:
            from opentelemetry.instrumentation.bedrock import (
                BedrockInstrumentor as Instrumentor,  # type: ignore[assignment]
            )
    elif config in ("bare", "floor"):
        return
    else:
        raise SystemExit(f"{config} has no {provider} instrumentation")
    Instrumentor().instrument()


def _groq_client() -> Any:
    import groq
    import httpx
    from llm_otel_tools.local_llm.transport import LocalLLMTransport

    return groq.Groq(base_url="http://local", api_key="x", max_retries=0, http_client=httpx.Client(transport=LocalLLMTransport()))


def _bedrock_client() -> Any:
    import boto3
    from llm_otel_tools.local_llm.bedrock import install_in_process

    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url="http://local",
                          aws_access_key_id="AKIDLOCAL", aws_secret_access_key="x")
    install_in_process(client)
    return client


def _bare(provider: str, client: Any, stream: bool) -> Callable[[], Any]:
    if provider == "groq":
        create, messages = client.chat.completions.create, [{"role": "user", "content": PROMPT}]
        if not stream:
            return lambda: create(model=GROQ_MODEL, messages=messages)

        def call() -> None:
            for _ in create(model=GROQ_MODEL, messages=messages, stream=True):
                pass

        return call
    messages = [{"role": "user", "content": [{"text": PROMPT}]}]
    if not stream:
        return lambda: client.converse(modelId=BEDROCK_MODEL, messages=messages)

    def call_stream() -> None:
        for _ in client.converse_stream(modelId=BEDROCK_MODEL, messages=messages)["stream"]:
            pass

    return call_stream


def _floor(provider: str, client: Any, stream: bool) -> Callable[[], Any]:
    """The bare call plus, by hand, a span with llm_otel's attributes and its metric points."""
    from llm_otel import _semconv as sc
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind

    tracer, meter = trace.get_tracer("floor"), metrics.get_meter("floor")
    duration = meter.create_histogram(sc.METRIC_OPERATION_DURATION, unit="s", explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS))
    tokens = meter.create_histogram(sc.METRIC_TOKEN_USAGE, unit="{token}", explicit_bucket_boundaries_advisory=list(sc.TOKEN_BUCKETS))
    ttfc = meter.create_histogram(sc.METRIC_TIME_TO_FIRST_CHUNK, unit="s", explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS))
    tpoc = meter.create_histogram(sc.METRIC_TIME_PER_OUTPUT_CHUNK, unit="s", explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS))
    length = meter.create_histogram(sc.METRIC_RESPONSE_LENGTH, unit="{char}")
    cost = meter.create_counter(sc.METRIC_COST, unit="{USD}")
    bare = _bare(provider, client, False)
    model = GROQ_MODEL if provider == "groq" else BEDROCK_MODEL
    name_, perf = f"chat {model}", time.perf_counter
    start_attrs = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: provider if provider == "groq" else "aws.bedrock",
                   sc.GEN_AI_REQUEST_MODEL: model, sc.SERVER_ADDRESS: "local", sc.SERVER_PORT: 80}

    def usage_of(response: Any) -> tuple[int, int, str, str]:
        if provider == "groq":
            return (response.usage.prompt_tokens, response.usage.completion_tokens, response.choices[0].finish_reason,
                    response.choices[0].message.content or "")
        return (response["usage"]["inputTokens"], response["usage"]["outputTokens"], response["stopReason"],
                response["output"]["message"]["content"][0]["text"])

    def record(span: Any, t0: float, inp: int, out: int, finish: str, chars: int, extra: dict[str, Any]) -> None:
        attrs = {**start_attrs}
        duration.record(perf() - t0, attrs)
        tokens.record(inp, {**attrs, sc.GEN_AI_TOKEN_TYPE: "input"})
        tokens.record(out, {**attrs, sc.GEN_AI_TOKEN_TYPE: "output"})
        usd = (inp * 0.06 + out * 0.24) / 1e6
        cost.add(usd, attrs)
        length.record(chars, attrs)
        span.set_attributes({sc.GEN_AI_USAGE_INPUT_TOKENS: inp, sc.GEN_AI_USAGE_OUTPUT_TOKENS: out, sc.LLM_OTEL_COST_USD: usd,
                             sc.GEN_AI_RESPONSE_FINISH_REASONS: [finish], **extra})

    def call() -> None:
        t0 = perf()
        with tracer.start_as_current_span(name_, kind=SpanKind.CLIENT, attributes=start_attrs) as span:
            inp, out, finish, text = usage_of(bare())
            record(span, t0, inp, out, finish, len(text), {})

    def call_stream() -> None:
        t0 = perf()
        with tracer.start_as_current_span(name_, kind=SpanKind.CLIENT, attributes={**start_attrs, sc.GEN_AI_REQUEST_STREAM: True}) as span:
            first = last = None
            chunks = chars = inp = out = 0
            finish = ""
            for item in _items(provider, client):
                now = perf()
                text, usage, reason = item
                if text is not None:
                    chunks += 1
                    chars += len(text)
                    if first is None:
                        first = now
                        ttfc.record(now - t0, start_attrs)
                    else:
                        tpoc.record(now - last, start_attrs)  # type: ignore[operator]
                    last = now
                if usage:
                    inp, out = usage
                finish = reason or finish
            record(span, t0, inp, out, finish, chars, {sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: (first or t0) - t0,
                                                        sc.LLM_OTEL_STREAM_CHUNKS: chunks})

    return call_stream if stream else call


def _items(provider: str, client: Any) -> Any:
    """(text or None, (input, output) or None, finish reason or None) per stream item."""
    if provider == "groq":
        for chunk in client.chat.completions.create(model=GROQ_MODEL, messages=[{"role": "user", "content": PROMPT}], stream=True):
            choice = chunk.choices[0] if chunk.choices else None
            usage = chunk.x_groq.usage if chunk.x_groq is not None and chunk.x_groq.usage is not None else None
            yield (choice.delta.content if choice else None, (usage.prompt_tokens, usage.completion_tokens) if usage else None,
                   choice.finish_reason if choice else None)
        return
    for event in client.converse_stream(modelId=BEDROCK_MODEL, messages=[{"role": "user", "content": [{"text": PROMPT}]}])["stream"]:
        delta = event.get("contentBlockDelta")
        usage = event.get("metadata", {}).get("usage")
        yield (delta["delta"].get("text") if delta else None, (usage["inputTokens"], usage["outputTokens"]) if usage else None,
               event.get("messageStop", {}).get("stopReason"))


def worker_call(provider: str, config: str, stream: bool) -> Callable[[], Any]:
    """Instrument for ``config`` and return the timed call."""
    _instrument(provider, config)
    client = _groq_client() if provider == "groq" else _bedrock_client()
    return _floor(provider, client, stream) if config == "floor" else _bare(provider, client, stream)
