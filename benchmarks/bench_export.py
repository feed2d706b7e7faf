"""Throughput with the real export path: instrumented calls through the OTLP exporters into a running Collector.

One Python process (a worker, one per setting) makes instrumented OpenAI calls back to back for
``--seconds`` on the in-process local LLM transport (no sockets for the LLM), with
``OpenAIInstrumentor`` and the SDK's BatchSpanProcessor in front of the real OTLP span exporter,
gRPC or HTTP/protobuf, into a Collector started here (the project's build, ``bash collector/build.sh``,
with a minimal config: otlp receiver -> debug exporter, on free ports). Per worker:

- calls/s (wall) and calls per CPU-second of the process (= calls/s per core when CPU-bound: the
  figure that does not move with the machine's load),
- the share of the process's CPU time taken by the exporter thread (``OtelBatchSpanRecordProcessor``,
  from /proc/self/task/<tid>/stat) and by ``export()`` itself wherever it runs (the final
  ``force_flush`` exports in the calling thread),
- the spans the SDK dropped (its own processor/exporter metrics, ``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED``:
  ``otel.sdk.processor.span.processed`` and ``otel.sdk.exporter.span.exported`` with ``error.type``),
  and the spans the Collector accepted/refused over the worker's run (``otelcol_receiver_accepted_spans`` /
  ``otelcol_receiver_refused_spans`` from its own metrics endpoint): they must agree with the spans ended.

Settings: ``OTEL_BSP_*`` variations (``--settings``), each for gRPC and HTTP. Metrics are recorded (in
memory) but not exported: the span path is the one that scales with calls.

    python benchmarks/bench_export.py [--seconds 8] [--protocols grpc,http] [--python PATH]
    python benchmarks/bench_export.py --settings default,batch2048

Wall figures move with the machine's load (printed with the load average); the run takes ~2-3 minutes.
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
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

SETTINGS: dict[str, dict[str, str]] = {
    "default": {},  # SDK defaults: queue 2048, batch 512, delay 5000 ms
    "batch128": {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "128"},
    "batch2048": {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "2048", "OTEL_BSP_MAX_QUEUE_SIZE": "8192"},
    "delay1s-batch1024": {"OTEL_BSP_SCHEDULE_DELAY": "1000", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1024",
                          "OTEL_BSP_MAX_QUEUE_SIZE": "4096"},
}
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


def worker(protocol: str, port: int, seconds: float) -> dict[str, Any]:
    os.environ["OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED"] = "true"
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
    export_cpu = [0.0]  # CPU time inside export(), in whichever thread runs it (worker thread or force_flush)
    real_export = exporter.export

    def export(batch: Any) -> Any:
        t = time.thread_time()
        try:
            return real_export(batch)
        finally:
            export_cpu[0] += time.thread_time() - t

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
    export_cpu[0] = 0.0
    calls = 0
    cpu0, thread0, t0 = time.process_time(), _thread_cpu(export_thread.native_id), time.perf_counter()
    deadline = t0 + seconds
    while time.perf_counter() < deadline:
        create(model="gpt-4o-mini", messages=messages)
        calls += 1
    wall = time.perf_counter() - t0
    tracer_provider.force_flush()  # the spans still queued are part of the run's export work
    cpu, thread = time.process_time() - cpu0, _thread_cpu(export_thread.native_id) - thread0
    processed = _sums(reader, "otel.sdk.processor.span.processed")
    exported = _sums(reader, "otel.sdk.exporter.span.exported")
    tracer_provider.shutdown()
    return {"calls": calls, "wall_s": wall, "cpu_s": cpu, "export_thread_cpu_s": thread, "export_cpu_s": export_cpu[0],
            "warmup_spans": 50, "processed": processed, "exported": exported,
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
    parser.add_argument("--seconds", type=float, default=6.0, help="calls made back to back for this long")
    parser.add_argument("--protocols", default="grpc,http")
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"of {', '.join(SETTINGS)}")
    parser.add_argument("--python", help="interpreter with llm-otel, openai and the OTLP exporters (.venv-bench)")
    parser.add_argument("--worker", nargs=3, metavar=("PROTOCOL", "PORT", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]), float(args.worker[2]))))
        return
    python = args.python or _default_python()
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
                  f"{args.seconds:g} s of back-to-back instrumented openai calls per row (in-process LLM), "
                  "BatchSpanProcessor -> OTLP exporter -> Collector (otlp receiver -> debug exporter)\n")
            print("| protocol | OTEL_BSP_* | calls | calls/s (wall) | calls per CPU-second | exporter thread CPU "
                  "| export() CPU | SDK dropped | SDK export failed | Collector accepted | refused | agree |")
            print("|---|---|---|---|---|---|---|---|---|---|---|---|")
            results = []
            for protocol in args.protocols.split(","):
                for name in args.settings.split(","):
                    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
                    env.update(SETTINGS[name])
                    before = _accepted(ports["metrics"])
                    proc = subprocess.run([python, __file__, "--worker", protocol, str(ports[protocol]), str(args.seconds)],
                                          capture_output=True, text=True, env=env, cwd=ROOT)
                    if proc.returncode != 0:
                        raise SystemExit(f"worker failed:\n{proc.stderr[-3000:]}")
                    r = json.loads(proc.stdout.strip().splitlines()[-1])
                    time.sleep(0.5)
                    after = _accepted(ports["metrics"])
                    accepted = after.get(f"accepted/{protocol}", 0) - before.get(f"accepted/{protocol}", 0)
                    refused = after.get(f"refused/{protocol}", 0) - before.get(f"refused/{protocol}", 0)
                    spans = r["calls"] + r["warmup_spans"]  # one span per call
                    dropped = sum(v for k, v in r["processed"].items() if k)
                    failed = sum(v for k, v in r["exported"].items() if k)
                    agree = accepted == spans - dropped - failed and dropped == 0 and failed == 0
                    per_cpu = r["calls"] / r["cpu_s"]
                    results.append((protocol, name, per_cpu, agree))
                    print(f"| {protocol} | {name} {' '.join(f'{k[9:]}={v}' for k, v in SETTINGS[name].items())} "
                          f"| {r['calls']} | {r['calls'] / r['wall_s']:.0f} | {per_cpu:.0f} "
                          f"| {r['export_thread_cpu_s'] / r['cpu_s']:.1%} | {r['export_cpu_s'] / r['cpu_s']:.1%} | {dropped} | {failed} | {accepted:.0f} "
                          f"| {refused:.0f} | {'yes' if agree else 'NO'} |", flush=True)
            for protocol in args.protocols.split(","):
                ok = [row for row in results if row[0] == protocol and row[3]]
                if ok:
                    best = max(ok, key=lambda row: row[2])
                    print(f"\nRESULT {protocol}: best {best[2]:.0f} calls per CPU-second with no dropped span "
                          f"({best[1]})", end="")
            print(f"\n# total {time.time() - started:.0f} s; load at the end "
                  f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
        finally:
            collector.terminate()
            collector.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
