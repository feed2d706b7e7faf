"""Sustained throughput with the real export path: instrumented calls through the OTLP exporters into a Collector.

One Python process (a worker, one per row) makes instrumented OpenAI calls for ``--seconds`` on the
in-process local LLM transport (no sockets for the LLM), with ``OpenAIInstrumentor`` and the SDK's
BatchSpanProcessor in front of the real OTLP span exporter, gRPC or HTTP/protobuf, into a Collector
started here (the project's build, ``bash collector/build.sh``, with a minimal config: otlp receiver ->
debug exporter, on free ports).

A row either paces the calls at a fixed rate (the worker sleeps between calls, as an app does while it
waits for its LLM) or makes them back to back (``unpaced``: the main thread never lets go of the GIL,
the worst case for the exporter thread). The rates climb a ladder (``--rates``) per protocol and setting
until one does not keep up. ``--switch-interval`` sets the app process's ``sys.setswitchinterval()``:
how long a thread that wants the GIL waits before the running one must let go (Python's default 5 ms
is what starves the exporter thread of a busy process). A rate KEPT UP when, over the run:

- the SDK dropped no span and no export failed (its own processor/exporter metrics,
  ``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED``: ``otel.sdk.processor.span.processed`` and
  ``otel.sdk.exporter.span.exported`` with ``error.type``),
- the Collector accepted every span ended (``otelcol_receiver_accepted_spans`` from its own metrics
  endpoint), and
- the backlog left in the queue at the end (``otel.sdk.processor.span.queue.size``, read before the
  final flush) was at most two export batches: the exporter thread was not falling behind.

A protocol's RESULT line names its best kept-up row: the highest rate reached by a row that kept up,
with its setting. One run's best row is not a sustained figure by itself: the same rate and setting
may fail in another run, so compare runs.
Per row also: calls per CPU-second of the process (= calls/s per core when CPU-bound), the share of
the process's CPU taken by the exporter thread (``OtelBatchSpanRecordProcessor``, from
/proc/self/task/<tid>/stat), and the share of the run's wall time the exporter thread spent inside
``export()``, waits for the GIL and retry back-off included (high with little CPU = starved, not
saturated). Metrics are recorded in memory, not exported: the span path is
the one that scales with calls.

    python benchmarks/bench_export.py [--seconds 15] [--protocols grpc,http] [--rates 150,300,450,600]
    python benchmarks/bench_export.py --settings default,batch1024
    python benchmarks/bench_export.py --switch-interval 0.001 --settings default --rates 450,600

Calls/s move with the machine's load (printed with the load average); the run takes ~9-10 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

SETTINGS: dict[str, dict[str, str]] = {
    "default": {},  # SDK defaults: queue 2048, batch 512, delay 5000 ms
    "batch128": {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "128"},
    "batch1024": {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1024", "OTEL_BSP_MAX_QUEUE_SIZE": "4096"},
    "delay1s-batch1024": {"OTEL_BSP_SCHEDULE_DELAY": "1000", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1024",
                          "OTEL_BSP_MAX_QUEUE_SIZE": "4096"},
}
SDK_BATCH = 512  # the SDK's OTEL_BSP_MAX_EXPORT_BATCH_SIZE default


class Row(NamedTuple):
    protocol: str
    setting: str
    rate: float  # paced calls/s; 0 = back to back
    reached: float  # calls/s (wall) the process made
    per_cpu: float  # calls per CPU-second
    kept_up: bool
CONFIG = """receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{grpc}
      http:
        endpoint: 127.0.0.1:{http}
exporters:
  debug:
    verbosity: basic
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
  telemetry:
    logs:
      level: warn
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: {metrics}
"""


# ============================================================================ worker (its own process)


def _thread_cpu(native_id: int) -> float:
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _sums(reader: Any, name: str) -> dict[str, int]:
    """A counter's value by error.type ("" = no error)."""
    out: dict[str, int] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        key = str(point.attributes.get("error.type", ""))
                        out[key] = out.get(key, 0) + int(point.value)
    return out


def worker(protocol: str, port: int, seconds: float, rate: float, switch_interval: float) -> dict[str, Any]:
    """One row: calls for ``seconds``, paced at ``rate`` calls/s (0 = back to back)."""
    os.environ["OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED"] = "true"
    if switch_interval:
        sys.setswitchinterval(switch_interval)
    import threading

    import httpx2
    import openai
    from llm_otel.instrumentors.openai import OpenAIInstrumentor
    from llm_otel_tools.local_llm.transport import LocalLLMTransport2
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporter: Any
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        exporter = GrpcExporter(endpoint=f"http://127.0.0.1:{port}", insecure=True)
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        exporter = HttpExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces")
    # wall time inside export() in the exporter thread (GIL waits and retries included), and the start of
    # the export under way (0.0: none)
    export_wall = [0.0, 0.0]
    real_export = exporter.export

    def export(batch: Any) -> Any:
        if threading.current_thread() is threading.main_thread():  # the final force_flush
            return real_export(batch)
        export_wall[1] = started = time.perf_counter()
        try:
            return real_export(batch)
        finally:
            export_wall[0] += time.perf_counter() - started
            export_wall[1] = 0.0

    exporter.export = export
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "bench-export"}))
    processor = BatchSpanProcessor(exporter, meter_provider=meter_provider)
    tracer_provider.add_span_processor(processor)
    trace.set_tracer_provider(tracer_provider)
    OpenAIInstrumentor().instrument()
    create = openai.OpenAI(base_url="http://local/v1", api_key="x", max_retries=0,
                           http_client=httpx2.Client(transport=LocalLLMTransport2())).chat.completions.create
    messages = [{"role": "user", "content": "Say hello in five words"}]
    for _ in range(50):
        create(model="gpt-4o-mini", messages=messages)
    tracer_provider.force_flush()
    export_thread = next(t for t in threading.enumerate() if t.name.startswith("OtelBatchSpan"))
    assert export_thread.native_id is not None
    export_wall[0] = 0.0
    assert not export_wall[1], "the warm-up's spans were flushed: no export is under way"
    calls = 0
    cpu0, thread0, t0 = time.process_time(), _thread_cpu(export_thread.native_id), time.perf_counter()
    deadline = t0 + seconds
    while (now := time.perf_counter()) < deadline:
        if rate:  # wait for this call's slot, as an app waits for its LLM (the GIL is free meanwhile)
            if (pause := t0 + calls / rate - now) > 0:
                time.sleep(pause)
        create(model="gpt-4o-mini", messages=messages)
        calls += 1
    wall = time.perf_counter() - t0
    under_way = export_wall[1]  # read once: the exporter thread may end that export meanwhile
    busy = export_wall[0] + (t0 + wall - under_way if under_way else 0.0)  # counting one still under way
    backlog = sum(_sums(reader, "otel.sdk.processor.span.queue.size").values())  # before the final flush
    tracer_provider.force_flush()  # the spans still queued are part of the run's export work
    cpu, thread = time.process_time() - cpu0, _thread_cpu(export_thread.native_id) - thread0
    processed = _sums(reader, "otel.sdk.processor.span.processed")
    exported = _sums(reader, "otel.sdk.exporter.span.exported")
    tracer_provider.shutdown()
    return {"calls": calls, "wall_s": wall, "cpu_s": cpu, "export_thread_cpu_s": thread,
            "export_busy_s": busy, "backlog": backlog, "warmup_spans": 50, "processed": processed, "exported": exported,
            "bsp": {k: v for k, v in os.environ.items() if k.startswith("OTEL_BSP_")}}


# ============================================================================ driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _collector_binary() -> str:
    proc = subprocess.run(["bash", str(ROOT / "collector" / "build.sh")], capture_output=True, text=True, cwd=ROOT)
    path = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0 or not Path(path).is_file():
        raise SystemExit(f"no Collector binary: `bash collector/build.sh` failed:\n{proc.stderr[-2000:]}")
    return path


def _accepted(metrics_port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    out: dict[str, float] = {}
    for name in ("otelcol_receiver_accepted_spans", "otelcol_receiver_refused_spans"):
        for match in re.finditer(rf"^{name}(?:_total)?{{([^}}]*)}} (\S+)$", text, re.M):
            transport = re.search(r'transport="([^"]+)"', match.group(1))
            key = f"{name.split('_')[2]}/{transport.group(1) if transport else '?'}"
            out[key] = out.get(key, 0.0) + float(match.group(2))
    return out


def _default_python() -> str:
    python = ROOT / ".venv-bench" / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{python} is missing: run `make bench-venv` (the bench extra holds the OTLP exporters)")
    return str(python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of one row's run")
    parser.add_argument("--protocols", default="grpc,http")
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"of {', '.join(SETTINGS)}")
    parser.add_argument("--rates", default="150,300,450,600",
                        help="paced calls/s, climbed per protocol and setting until one does not keep up")
    parser.add_argument("--switch-interval", type=float, default=0.0,
                        help="sys.setswitchinterval() in the app process, seconds (default: Python's 0.005)")
    parser.add_argument("--python", help="interpreter with llm-otel, openai and the OTLP exporters (.venv-bench)")
    parser.add_argument("--worker", nargs=5, metavar=("PROTOCOL", "PORT", "SECONDS", "RATE", "SWITCH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        protocol, port, seconds, rate, switch = args.worker
        print(json.dumps(worker(protocol, int(port), float(seconds), float(rate), float(switch))))
        return
    python = args.python or _default_python()
    rates = [float(r) for r in args.rates.split(",")]
    ports = {"grpc": _free_port(), "http": _free_port(), "metrics": _free_port()}
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="llm-otel-export-") as tmp, open(Path(tmp, "collector.log"), "w") as log:
        config = Path(tmp, "collector.yaml")
        config.write_text(CONFIG.format(**ports))
        collector = subprocess.Popen([_collector_binary(), f"--config={config}"], stdout=subprocess.DEVNULL, stderr=log)
        try:
            for _ in range(120):
                try:
                    _accepted(ports["metrics"])
                    break
                except OSError as exc:
                    if collector.poll() is not None:
                        log.flush()
                        raise SystemExit(f"the Collector exited:\n{Path(tmp, 'collector.log').read_text()[-2000:]}") from exc
                    time.sleep(0.5)
            load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
            print(f"# {time.strftime('%Y-%m-%d %H:%M')} nproc {os.cpu_count()}, load {load}; "
                  f"{args.seconds:g} s of instrumented openai calls per row (in-process LLM), "
                  f"switch interval {args.switch_interval or sys.getswitchinterval():g} s, "
                  "BatchSpanProcessor -> OTLP exporter -> Collector (otlp receiver -> debug exporter)\n")
            print("| protocol | OTEL_BSP_* | paced at | calls/s (wall) | calls per CPU-second | exporter thread CPU "
                  "| exporter busy (wall) | backlog at end | SDK dropped | export failed | Collector accepted "
                  "| kept up |")
            print("|---|---|---|---|---|---|---|---|---|---|---|---|")
            results: list[Row] = []

            def row(protocol: str, name: str, rate: float) -> bool:
                env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
                env.update(SETTINGS[name])
                batch = int(SETTINGS[name].get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", SDK_BATCH))
                before = _accepted(ports["metrics"])
                proc = subprocess.run([python, __file__, "--worker", protocol, str(ports[protocol]), str(args.seconds),
                                       str(rate), str(args.switch_interval)], capture_output=True, text=True, env=env, cwd=ROOT)
                if proc.returncode != 0:
                    raise SystemExit(f"worker failed:\n{proc.stderr[-3000:]}")
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                time.sleep(0.5)
                accepted = _accepted(ports["metrics"]).get(f"accepted/{protocol}", 0) - before.get(f"accepted/{protocol}", 0)
                spans = r["calls"] + r["warmup_spans"]  # one span per call
                dropped = sum(v for k, v in r["processed"].items() if k)
                failed = sum(v for k, v in r["exported"].items() if k)
                kept_up = bool(dropped == 0 and failed == 0 and accepted == spans and r["backlog"] <= 2 * batch)
                per_cpu = r["calls"] / r["cpu_s"]
                results.append(Row(protocol, name, rate, r["calls"] / r["wall_s"], per_cpu, kept_up))
                print(f"| {protocol} | {name} {' '.join(f'{k[9:]}={v}' for k, v in SETTINGS[name].items())} "
                      f"| {f'{rate:g}/s' if rate else 'unpaced'} | {r['calls'] / r['wall_s']:.0f} | {per_cpu:.0f} "
                      f"| {r['export_thread_cpu_s'] / r['cpu_s']:.1%} | {r['export_busy_s'] / r['wall_s']:.0%} "
                      f"| {r['backlog']} | {dropped} | {failed} | {accepted:.0f} of {spans} "
                      f"| {'yes' if kept_up else 'NO'} |", flush=True)
                return kept_up

            for protocol in args.protocols.split(","):
                row(protocol, "default", 0.0)  # back to back: the CPU-bound worst case, and calls/s per core
                for name in args.settings.split(","):
                    for rate in rates:
                        if not row(protocol, name, rate):
                            break  # a higher rate will not keep up either
            for protocol in args.protocols.split(","):
                unpaced = [r for r in results if r.protocol == protocol and not r.rate]
                ok = [r for r in results if r.protocol == protocol and r.rate and r.kept_up]
                print(f"\nRESULT {protocol}: ", end="")
                if ok:  # ranked by the rate reached (a pace the process could not make counts as what it made)
                    best = max(ok, key=lambda r: r.reached)
                    print(f"best kept-up row {best.reached:.0f} calls/s, no dropped span ({best.setting}, "
                          f"paced at {best.rate:g}/s); ",
                          end="")
                else:
                    print("no paced rate kept up; ", end="")
                for r in unpaced:
                    print(f"back to back {r.per_cpu:.0f} calls per CPU-second, "
                          f"{'kept up' if r.kept_up else 'did NOT keep up'}",
                          end="")
            print(f"\n# total {time.time() - started:.0f} s; load at the end "
                  f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
        finally:
            collector.terminate()
            collector.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
