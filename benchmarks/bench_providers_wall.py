"""Wall and CPU time per call of provider instrumentations, side by side (the per-provider companion of the
instruction counts in bench_providers.py: `--provider openai|groq|bedrock|gemini|mistral|ollama|cohere`).

Configurations, each measured in its own process (``--worker CONFIG``) so that no
instrumentor's patches, caches or globals leak into another's figure:

    bare        the SDK call, no instrumentation
    floor       the bare call plus one hand-written span with the attributes llm_otel
                sets and the metric points llm_otel records (the "OTel SDK floor")
    llm_otel    llm_otel.instrumentors.openai.OpenAIInstrumentor
    official    opentelemetry-instrumentation-genai-openai (OpenTelemetry contrib)
    openllmetry opentelemetry-instrumentation-openai (Traceloop's OpenLLMetry)

Every worker installs the same SDK globals (TracerProvider + SimpleSpanProcessor into
a counting no-op exporter, MeterProvider + InMemoryMetricReader, LoggerProvider +
a counting log processor) and calls through the same in-process fake server
(``llm_otel_tools.local_llm.transport.LocalLLMTransport2``, no sockets), warms up, then
times N calls with the garbage collector paused. Workers run interleaved, the order
rotated each round, so drift on a shared machine hits every configuration alike.
Content capture is off everywhere (OpenLLMetry captures by default:
TRACELOOP_TRACE_CONTENT=false is set for every worker).

The peers may pin dependencies that conflict with the dev venv, so by default the
script runs the workers under ``.venv-bench-wall/`` (repo root), created on first use from
``benchmarks/requirements-peers.txt`` plus ``pip install -e .``; ``--python PATH``
uses an interpreter that already has them. The parent process itself needs only the
standard library.

    python benchmarks/bench_providers_wall.py [--rounds 7] [--calls 2000] [--no-stream]
    python benchmarks/bench_providers_wall.py --worker llm_otel --profile   # cProfile one worker

Targets: llm_otel overhead <= 1.3x the SDK floor's; official >= 2x and OpenLLMetry
>= 5x llm_otel's (overhead = median config - median bare, in us/call).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = Path(__file__).resolve().parent / "requirements-peers.txt"
VENV = ROOT / ".venv-bench-wall"

CONFIGS = ("bare", "floor", "llm_otel", "official", "openllmetry")
LABELS = {
    "bare": "bare SDK call",
    "floor": "OTel SDK floor",
    "llm_otel": "llm_otel",
    "official": "official genai-openai",
    "openllmetry": "OpenLLMetry",
}
PACKAGES = (
    "openai",
    "httpx2",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "llm-otel",
    "opentelemetry-instrumentation-genai-openai",
    "opentelemetry-util-genai",
    "opentelemetry-instrumentation-openai",
    "wrapt",
    "groq",
    "botocore",
    "opentelemetry-instrumentation-groq",
    "opentelemetry-instrumentation-bedrock",
    "opentelemetry-instrumentation-botocore",
)
MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello in five words"}]
TARGET_FLOOR, TARGET_OFFICIAL, TARGET_OPENLLMETRY = 1.3, 2.0, 5.0


# ============================================================================ worker side


def _sdk_globals():
    """The same real SDK providers for every worker, installed as the globals."""
    from opentelemetry import _logs, metrics, trace
    from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class CountingExporter(SpanExporter):
        def __init__(self):
            self.count = 0
            self.names: dict[str, int] = {}
            self.last_attributes = 0

        def export(self, spans):
            self.count += len(spans)
            for span in spans:
                self.names[span.name] = self.names.get(span.name, 0) + 1
                self.last_attributes = len(span.attributes or ())
            return SpanExportResult.SUCCESS

    class CountingLogs(LogRecordProcessor):
        def __init__(self):
            self.count = 0

        def on_emit(self, log_record):
            self.count += 1

        def shutdown(self):
            pass

        def force_flush(self, timeout_millis=30000):
            return True

    exporter, logs = CountingExporter(), CountingLogs()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(logs)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    _logs.set_logger_provider(logger_provider)
    return exporter, reader, logs


def _client():
    import httpx2
    import openai
    from llm_otel_tools.local_llm.transport import LocalLLMTransport2

    return openai.OpenAI(
        base_url="http://local/v1",
        api_key="x",
        max_retries=0,
        http_client=httpx2.Client(transport=LocalLLMTransport2()),
    )


def _bare_call(client, stream: bool):
    create = client.chat.completions.create
    if not stream:
        return lambda: create(model=MODEL, messages=MESSAGES)

    def call():
        for _ in create(model=MODEL, messages=MESSAGES, stream=True):
            pass

    return call


def _floor_call(client, stream: bool):
    """The bare call plus, by hand, the span and metric points llm_otel produces for it.

    Non-streaming: span "chat gpt-4o-mini" (CLIENT) with 5 start and 10 end attributes;
    metric points: operation duration, input and output token usage, cost, response length.
    Streaming (no usage in the stream: llm_otel's default leaves stream_options alone):
    the span with 6 start and 7 end attributes, time to first chunk, one time-per-output-chunk
    measurement per later chunk, operation duration and response length.
    """
    from llm_otel import _semconv as sc
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind

    tracer = trace.get_tracer("floor")
    meter = metrics.get_meter("floor")

    def histogram(name, unit, buckets):
        return meter.create_histogram(name, unit=unit, explicit_bucket_boundaries_advisory=list(buckets))

    duration = histogram(sc.METRIC_OPERATION_DURATION, "s", sc.DURATION_BUCKETS)
    tokens = histogram(sc.METRIC_TOKEN_USAGE, "{token}", sc.TOKEN_BUCKETS)
    ttfc = histogram(sc.METRIC_TIME_TO_FIRST_CHUNK, "s", sc.DURATION_BUCKETS)
    tpoc = histogram(sc.METRIC_TIME_PER_OUTPUT_CHUNK, "s", sc.DURATION_BUCKETS)
    length = meter.create_histogram(sc.METRIC_RESPONSE_LENGTH, unit="{char}")
    cost = meter.create_counter(sc.METRIC_COST, unit="{USD}")
    create = client.chat.completions.create
    perf = time.perf_counter
    name = f"chat {MODEL}"
    start_attrs = {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: MODEL,
        sc.SERVER_ADDRESS: "local",
        sc.SERVER_PORT: 80,
    }
    price_in, price_out = 0.15e-6, 0.6e-6

    def call():
        t0 = perf()
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=start_attrs) as span:
            r = create(model=MODEL, messages=MESSAGES)
            usage = r.usage
            inp, out = usage.prompt_tokens, usage.completion_tokens
            usd = inp * price_in + out * price_out
            attrs = {**start_attrs, sc.GEN_AI_RESPONSE_MODEL: r.model}
            duration.record(perf() - t0, attrs)
            tokens.record(inp, {**attrs, sc.GEN_AI_TOKEN_TYPE: "input"})
            tokens.record(out, {**attrs, sc.GEN_AI_TOKEN_TYPE: "output"})
            cost.add(usd, attrs)
            length.record(len(r.choices[0].message.content or ""), attrs)
            span.set_attributes({
                sc.GEN_AI_USAGE_INPUT_TOKENS: inp,
                sc.GEN_AI_USAGE_OUTPUT_TOKENS: out,
                sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: usage.prompt_tokens_details.cached_tokens,
                sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: usage.completion_tokens_details.reasoning_tokens,
                sc.LLM_OTEL_COST_USD: usd,
                sc.GEN_AI_RESPONSE_ID: r.id,
                sc.GEN_AI_RESPONSE_MODEL: r.model,
                sc.GEN_AI_RESPONSE_FINISH_REASONS: [c.finish_reason for c in r.choices],
                sc.OPENAI_RESPONSE_SERVICE_TIER: r.service_tier,
                sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT: r.system_fingerprint,
            })

    stream_start_attrs = {**start_attrs, sc.GEN_AI_REQUEST_STREAM: True}

    def call_stream():
        t0 = perf()
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=stream_start_attrs) as span:
            first = last = attrs = None
            chunks = chars = 0
            finish = []
            response_id = fingerprint = tier = None
            for chunk in create(model=MODEL, messages=MESSAGES, stream=True):
                now = perf()
                chunks += 1
                if first is None:
                    first = now
                    attrs = {**start_attrs, sc.GEN_AI_RESPONSE_MODEL: chunk.model}
                    ttfc.record(now - t0, attrs)
                else:
                    tpoc.record(now - last, attrs)
                last = now
                response_id, fingerprint, tier = chunk.id, chunk.system_fingerprint, chunk.service_tier
                for choice in chunk.choices:
                    if choice.delta.content:
                        chars += len(choice.delta.content)
                    if choice.finish_reason:
                        finish.append(choice.finish_reason)
            duration.record(perf() - t0, attrs)
            length.record(chars, attrs)
            span.set_attributes({
                sc.GEN_AI_RESPONSE_ID: response_id,
                sc.GEN_AI_RESPONSE_MODEL: attrs[sc.GEN_AI_RESPONSE_MODEL],
                sc.GEN_AI_RESPONSE_FINISH_REASONS: finish,
                sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: first - t0,
                sc.LLM_OTEL_STREAM_CHUNKS: chunks,
                sc.OPENAI_RESPONSE_SERVICE_TIER: tier,
                sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT: fingerprint,
            })

    return call_stream if stream else call


def _instrument(config: str) -> None:
    if config == "llm_otel":
        from llm_otel.instrumentors.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
    elif config == "official":
        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
    elif config == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def _metric_points(reader) -> tuple[dict[str, int], int]:
    """Series per metric name, and the number of histogram measurements in all."""
    points: dict[str, int] = {}
    measurements = 0
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                points[m.name] = points.get(m.name, 0) + len(m.data.data_points)
                measurements += sum(getattr(dp, "count", 0) for dp in m.data.data_points)
    return points, measurements


def run_worker(config: str, calls: int, warmup: int, stream: bool, profile: bool, provider: str = "openai") -> None:
    import gc

    exporter, reader, logs = _sdk_globals()
    if provider in ("groq", "bedrock"):  # Groq and Bedrock workers: benchmarks/bench_bedrock_groq.py
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_bedrock_groq import worker_call

        call = worker_call(provider, config, stream)
    elif provider == "openai":
        _instrument(config)
        client = _client()
        call = _floor_call(client, stream) if config == "floor" else _bare_call(client, stream)
    else:  # the further providers: benchmarks/bench_more_providers.py
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import bench_more_providers as more

        spec = more.SPECS[provider]
        more.instrument(spec, config)
        client = spec.client()
        call = more.floor_call(spec, client, stream) if config == "floor" else more.bare_call(spec, client, stream)

    for _ in range(warmup):
        call()
    spans_after_warmup = exporter.count
    gc.collect()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    gc.disable()
    try:
        if profiler:
            profiler.enable()
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(calls):
            call()
        t1, c1 = time.perf_counter(), time.process_time()
        if profiler:
            profiler.disable()
    finally:
        gc.enable()

    spans = exporter.count - spans_after_warmup
    points, measurements = _metric_points(reader)
    if config != "bare" and spans < calls:
        raise SystemExit(f"{config}: only {spans} spans for {calls} calls: not instrumented?")
    if profiler:
        import io
        import pstats

        for sort in ("cumulative", "tottime"):
            buf = io.StringIO()
            pstats.Stats(profiler, stream=buf).sort_stats(sort).print_stats(35)
            print(buf.getvalue(), file=sys.stderr)
    print(json.dumps({
        "config": config,
        "stream": stream,
        "us": (t1 - t0) / calls * 1e6,
        "cpu_us": (c1 - c0) / calls * 1e6,
        "spans": spans,
        "span_names": exporter.names,
        "span_attributes": exporter.last_attributes,
        "log_records": logs.count,
        "metric_points": points,
        "histogram_measurements_per_call": measurements / (warmup + calls),
        "versions": _versions(),
    }))


# ============================================================================ parent side


def venv_python(venv: Path = VENV) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(venv: Path = VENV, requirements: Path = REQUIREMENTS) -> Path:
    """Create or refresh the bench venv (.venv-bench-wall/) when missing or when the requirements changed."""
    python, stamp = venv_python(venv), venv / ".bench-stamp"
    digest = hashlib.sha256(requirements.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    print(f"# setting up {venv.name}/ from {requirements.relative_to(ROOT)} + -e . (one-off)", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(requirements), "-e", str(ROOT)],
        check=True,
    )
    stamp.write_text(digest + "\n")
    return python


def worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACELOOP_", "LLM_OTEL_"))}
    env["TRACELOOP_TRACE_CONTENT"] = "false"  # OpenLLMetry captures prompts/completions unless told not to
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_one(python: str, config: str, args, stream: bool) -> dict:
    calls = args.stream_calls if stream else args.calls
    cmd = [python, str(Path(__file__).resolve()), "--worker", config,
           "--calls", str(calls), "--warmup", str(args.warmup), "--provider", args.provider]
    if stream:
        cmd.append("--stream")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=worker_env(), cwd=str(ROOT))
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"worker {config} failed ({proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["stderr"] = proc.stderr.strip()
    return result


def cpu_hogs(window: float = 1.0, threshold: float = 0.15) -> list[str]:
    """Other processes using more than `threshold` of a core over `window` seconds (Linux)."""

    def sample() -> dict[int, tuple[str, int]]:
        out = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            name = raw[raw.index("(") + 1: raw.rindex(")")]
            fields = raw[raw.rindex(")") + 2:].split()
            out[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))
        return out

    if not Path("/proc/stat").exists():
        return []
    hz = os.sysconf("SC_CLK_TCK")
    before = sample()
    time.sleep(window)
    after = sample()
    hogs = []
    for pid, (name, ticks) in after.items():
        used = (ticks - before.get(pid, (name, ticks))[1]) / hz / window
        if used >= threshold:
            hogs.append(f"{name}[{pid}] {used:.0%}")
    return hogs


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def run_table(python: str, args, stream: bool, configs: list[str]) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {c: [] for c in configs}
    for r in range(args.rounds):
        order = configs[r % len(configs):] + configs[: r % len(configs)]
        for config in order:
            results[config].append(run_one(python, config, args, stream))
        print(f"#   round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    return results


def report(results: dict[str, list[dict]], stream: bool, args) -> dict[str, float]:
    calls = args.stream_calls if stream else args.calls
    kind = "streaming (whole stream consumed)" if stream else "non-streaming"
    call_name = {"openai": "chat.completions.create", "groq": "groq chat.completions.create",
                 "bedrock": "bedrock-runtime converse"}.get(args.provider, args.provider)
    print(f"\n## {call_name}, {kind}: {args.rounds} rounds x {calls} calls "
          f"(+{args.warmup} warmup) per config, one process each; medians of per-worker means, us/call")
    med = {c: statistics.median(x["us"] for x in runs) for c, runs in results.items()}
    cpu = {c: statistics.median(x["cpu_us"] for x in runs) for c, runs in results.items()}
    bare, bare_cpu = med.get("bare"), cpu.get("bare")
    print(f"{'config':22s} {'wall':>8s} {'min':>7s} {'max':>7s} {'overhead':>9s} {'cpu':>8s} {'cpu ovh':>8s}"
          f"   {'spans/call':>10s} {'attrs':>5s} {'hist/call':>9s} {'logs':>5s}  span names; metrics")
    for c, runs in results.items():
        values = [x["us"] for x in runs]
        last = runs[-1]
        overhead = f"{med[c] - bare:+9.1f}" if bare is not None else f"{'-':>9s}"
        cpu_over = f"{cpu[c] - bare_cpu:+8.1f}" if bare_cpu is not None else f"{'-':>8s}"
        names = ",".join(sorted(last["span_names"])) or "-"
        metrics_ = ",".join(f"{k}({v})" if v > 1 else k for k, v in sorted(last["metric_points"].items())) or "-"
        label = "official botocore" if c == "official" and args.provider == "bedrock" else LABELS.get(c, c)
        print(f"{label:22s} {med[c]:8.1f} {min(values):7.1f} {max(values):7.1f} {overhead} "
              f"{cpu[c]:8.1f} {cpu_over}   {last['spans'] / calls:10.2f} {last['span_attributes']:5d} "
              f"{last['histogram_measurements_per_call']:9.1f} {last['log_records']:5d}  {names}; {metrics_}")
    overheads = {c: med[c] - bare for c in med} if bare is not None else {}
    ours = overheads.get("llm_otel")
    if ours is None:
        return overheads
    if ours <= 0:
        print("llm_otel overhead is within noise (<= 0 us): ratios not meaningful")
        return overheads

    def line(label: str, value: float, target: float, at_most: bool) -> None:
        ok = value <= target if at_most else value >= target
        sign = "<=" if at_most else ">="
        print(f"RESULT {label:36s} {value:6.2f}x (target {sign} {target:.1f}x): {'OK' if ok else 'MISSED'}")

    if "floor" in overheads and overheads["floor"] > 0:
        line("llm_otel overhead / SDK floor overhead", ours / overheads["floor"], TARGET_FLOOR, True)
    if "official" in overheads:
        line("official overhead / llm_otel overhead", overheads["official"] / ours, TARGET_OFFICIAL, False)
    if "openllmetry" in overheads:
        line("OpenLLMetry overhead / llm_otel overhead", overheads["openllmetry"] / ours, TARGET_OPENLLMETRY, False)
    floor = overheads.get("floor", 0)
    if floor > 0 and ("official" in overheads or "openllmetry" in overheads):
        best = [f"{LABELS[c]} / floor = {overheads[c] / floor:.2f}x" for c in ("official", "openllmetry") if c in overheads]
        print(f"# ceiling of those two ratios if llm_otel cost no more than the SDK floor: {'; '.join(best)}")
    return overheads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--stream-calls", type=int, default=1000, help="calls per worker, streaming table")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--python", help="interpreter that already has the peers installed (skips .venv-bench-wall/)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"subset of {','.join(CONFIGS)}")
    parser.add_argument("--no-stream", action="store_true", help="skip the streaming table")
    parser.add_argument("--worker", choices=CONFIGS, help=argparse.SUPPRESS)
    parser.add_argument("--stream", action="store_true", help="(worker) streaming call")
    parser.add_argument("--profile", action="store_true", help="(worker) cProfile the timed loop to stderr")
    parser.add_argument("--provider", default="openai",
                        choices=("openai", "groq", "bedrock", "gemini", "mistral", "ollama", "cohere"),
                        help="the SDK under test (default openai; groq/bedrock: benchmarks/bench_bedrock_groq.py, "
                             "official = botocore's; the others: benchmarks/bench_more_providers.py; "
                             "a config without a peer for that SDK is skipped)")
    args = parser.parse_args()

    if args.worker:
        run_worker(args.worker, args.calls, args.warmup, args.stream, args.profile, args.provider)
        return

    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = set(configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configs: {', '.join(sorted(unknown))}")
    if args.provider not in ("openai", "groq", "bedrock"):
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_more_providers import SPECS

        configs = [c for c in configs if c in ("bare", "floor") or c in SPECS[args.provider].instrumentors]
    python = args.python or str(ensure_venv())

    started = time.time()
    hogs = cpu_hogs()
    load_before = loadavg()
    tables = [False] if args.no_stream else [False, True]
    all_results = {s: run_table(python, args, s, configs) for s in tables}
    load_after = loadavg()
    hogs_after = cpu_hogs()

    first = next(iter(all_results[False].values()))[0]
    impl = subprocess.run([python, "-c", "import platform; print(platform.python_implementation(), "
                           "platform.python_version())"], capture_output=True, text=True).stdout.strip()
    print(f"# {time.strftime('%Y-%m-%d %H:%M')}  {platform.system()} {platform.machine()}, "
          f"nproc {os.cpu_count()}, {cpu_model()}, {impl}")
    print("# " + ", ".join(f"{k} {v}" for k, v in first["versions"].items()))
    print("# SDK setup in every worker: TracerProvider + SimpleSpanProcessor(no-op counting exporter), "
          "MeterProvider + InMemoryMetricReader, LoggerProvider; fake transport LocalLLMTransport2 (httpx2, "
          "in-process); gc paused while timing")
    print("# content capture off: llm_otel and official default (no OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT); "
          "OpenLLMetry via TRACELOOP_TRACE_CONTENT=false (it captures by default); other settings are defaults")
    busy = sorted(set(hogs) | set(hogs_after))
    print(f"# load average {load_before} before, {load_after} after; other busy processes: "
          f"{'; '.join(busy) if busy else 'none seen'}"
          + ("  (Go build in the background)" if any(h.split('[')[0] in ('go', 'compile', 'link', 'asm', 'cgo')
                                                    for h in busy) else ""))
    for stream, results in all_results.items():
        report(results, stream, args)
    warnings = {c: r[-1]["stderr"] for res in all_results.values() for c, r in res.items() if r[-1]["stderr"]}
    for c, text in warnings.items():
        print(f"# stderr of a {c} worker: {text.splitlines()[-1][:200]}")
    print(f"# total wall time {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
