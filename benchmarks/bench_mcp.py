"""Per-call overhead of MCP instrumentations: one ``ClientSession.call_tool`` round trip to a FastMCP
server in the same process over the in-memory transport (client and server telemetry both count).

Configurations, each in its own process (``--worker CONFIG MAJOR``):

    bare        no SDK installed (mcp 2.x's own spans hit the no-op API)
    native      SDK installed, no instrumentor: mcp 2.x's own spans (one client + one server span
                per call, fewer attributes, no metrics); 2.x only, 1.x has none
    llm_otel    SDK + llm_otel.instrumentors.mcp.MCPInstrumentor: one client + one server span per
                call, the MCP attributes, the MCP and tool duration metrics
    openllmetry SDK + opentelemetry-instrumentation-mcp (Traceloop's OpenLLMetry), if it installs

for ``mcp`` 2.x (the dev venv) and 1.x (a cached ``pip --target`` directory shadowing it on
PYTHONPATH). Every instrumented worker has the same SDK globals: TracerProvider +
SimpleSpanProcessor into a counting no-op exporter, MeterProvider + InMemoryMetricReader. Workers
run interleaved, the order rotated each round; each warms up, then times N calls with the GC paused
(CPU time, the fastest of 5 batches) and checks the spans it produced. Content capture is off
(TRACELOOP_TRACE_CONTENT=false).

    python benchmarks/bench_mcp.py [--rounds 3] [--calls 1000] [--majors 2,1]
    python benchmarks/bench_mcp.py --paired   # without/with llm_otel alternating in one process
    python benchmarks/bench_mcp.py --cachegrind [--repeats 2]   # instructions per call, the primary figure

``--cachegrind`` counts instructions (valgrind's cachegrind) instead of timing: each worker runs for N
and for 2N calls, and (Ir(2N) - Ir(N)) / N is one round trip; start-up, imports and warm-up cancel out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ("bare", "native", "llm_otel", "openllmetry")
OPENLLMETRY = ("opentelemetry-instrumentation-mcp==0.62.4", "opentelemetry-semantic-conventions-ai>=0.5.1,<0.6")
MCP1 = "mcp>=1.9,<2"
BATCHES = 5


# -- worker -------------------------------------------------------------------------------------


def _sdk() -> dict[str, int]:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    counts = {"spans": 0}

    class Counting(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            counts["spans"] += len(spans)
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(Counting()))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    return counts


def _server():  # type: ignore[no-untyped-def]
    try:
        from mcp.server.mcpserver import MCPServer as FastServer
    except ImportError:
        from mcp.server.fastmcp import FastMCP as FastServer
    server = FastServer("bench")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return getattr(server, "_lowlevel_server", None) or server._mcp_server


@contextlib.asynccontextmanager
async def _session() -> AsyncIterator[Any]:
    """An initialized ClientSession to the benchmark server, over the in-memory transport."""
    import anyio
    from mcp import ClientSession
    from mcp.shared.memory import create_client_server_memory_streams

    lowlevel = _server()
    async with create_client_server_memory_streams() as (client_streams, server_streams):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: lowlevel.run(server_streams[0], server_streams[1],
                                               lowlevel.create_initialization_options()))
            async with ClientSession(client_streams[0], client_streams[1]) as session:
                await session.initialize()
                await session.list_tools()
                yield session
            tg.cancel_scope.cancel()


async def _batch(session: Any, calls: int) -> float:
    """CPU µs per call over ``calls`` calls, GC paused."""
    import gc

    gc.collect()
    gc.disable()
    start = time.process_time()
    for i in range(calls):
        await session.call_tool("add", {"a": i, "b": 1})
    elapsed = time.process_time() - start
    gc.enable()
    return elapsed / calls * 1e6


async def _run(calls: int, warmup: int) -> float:
    # CPU time of the fastest batch: on a shared machine wall clock, and even one long CPU
    # measurement, pick up other processes' interference; the least disturbed batch does not.
    async with _session() as session:
        for i in range(warmup):
            await session.call_tool("add", {"a": i, "b": 1})
        return min([await _batch(session, max(1, calls // BATCHES)) for _ in range(BATCHES)])


async def _paired(calls: int, warmup: int) -> dict[str, float]:
    """Batches without and with llm_otel alternating in ONE process (instrument()/uninstrument() are
    exact), SDK installed throughout: the fastest batch of each. Without llm_otel, mcp 2.x still
    writes its own two spans; mcp 1.x writes none."""
    from llm_otel.instrumentors.mcp import MCPInstrumentor

    best = {"without": float("inf"), "llm_otel": float("inf")}
    batch = max(1, calls // (2 * BATCHES))
    async with _session() as session:
        for _ in range(2 * BATCHES):
            for mode in ("without", "llm_otel"):
                if mode == "llm_otel":
                    MCPInstrumentor().instrument()
                for i in range(warmup // BATCHES):
                    await session.call_tool("add", {"a": i, "b": 1})
                best[mode] = min(best[mode], await _batch(session, batch))
                if mode == "llm_otel":
                    MCPInstrumentor().uninstrument()
    return best


def worker(config: str, calls: int, warmup: int) -> dict[str, object]:
    import anyio

    counts = {"spans": 0}
    if config != "bare":
        counts = _sdk()
    if config == "paired":
        import importlib.metadata

        return {**anyio.run(_paired, calls, warmup), "mcp": importlib.metadata.version("mcp")}
    if config == "llm_otel":
        from llm_otel.instrumentors.mcp import MCPInstrumentor

        MCPInstrumentor().instrument()
    elif config == "openllmetry":
        from opentelemetry.instrumentation.mcp import McpInstrumentor

        McpInstrumentor().instrument()
    per_call = anyio.run(_run, calls, warmup)
    import importlib.metadata

    return {"us_per_call": per_call, "spans_per_call": counts["spans"] / (calls + warmup + 2),
            "mcp": importlib.metadata.version("mcp")}


# -- parent -------------------------------------------------------------------------------------


def _env(major: str, config: str) -> dict[str, str] | None:
    sys.path.insert(0, str(ROOT))
    from tests.support import pip_target

    paths = []
    if major == "1":
        paths.append(pip_target(MCP1))
    if config == "openllmetry":
        paths.append(pip_target(*OPENLLMETRY, "--no-deps"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["TRACELOOP_TRACE_CONTENT"] = "false"
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--majors", default="2,1")
    parser.add_argument("--worker", nargs=2, metavar=("CONFIG", "MAJOR"))
    parser.add_argument("--cachegrind", action="store_true", help="instructions per call instead of CPU time")
    parser.add_argument("--cg-calls", type=int, default=100, help="N of the (2N - N) / N count")
    parser.add_argument("--repeats", type=int, default=2, help="counted runs per configuration (they should agree)")
    parser.add_argument("--paired", action="store_true",
                        help="per major, one process alternating batches without/with llm_otel (the steadier figure)")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.calls, args.warmup)))
        return 0

    if args.paired:
        return paired(args)
    if args.cachegrind:
        return counted(args)
    plan = [(major, config) for major in args.majors.split(",") for config in CONFIGS
            if not (config == "native" and major == "1")]
    results: dict[tuple[str, str], list[float]] = {key: [] for key in plan}
    failures: dict[tuple[str, str], str] = {}
    for round_number in range(args.rounds):
        order = plan[round_number % len(plan):] + plan[:round_number % len(plan)]
        for major, config in order:
            if (major, config) in failures:
                continue
            cmd = [sys.executable, __file__, "--worker", config, major, "--calls", str(args.calls),
                   "--warmup", str(args.warmup)]
            proc = subprocess.run(cmd, env=_env(major, config), capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                failures[(major, config)] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
                continue
            data = json.loads(proc.stdout.strip().splitlines()[-1])
            assert data["mcp"].startswith(major + "."), data
            results[(major, config)].append(data["us_per_call"])
            print(f"round {round_number + 1} mcp {data['mcp']:<7} {config:<12} {data['us_per_call']:8.1f} us/call "
                  f"({data['spans_per_call']:.2f} spans/call)", flush=True)

    print("\nmedian CPU us per call_tool round trip (client + server), overhead = config - bare:")
    for major in args.majors.split(","):
        bare = statistics.median(results[(major, "bare")]) if results.get((major, "bare")) else None
        for config in CONFIGS:
            key = (major, config)
            if key in failures:
                print(f"  mcp {major}.x {config:<12} did not run: {failures[key]}")
            elif results.get(key):
                values = results[key]
                median = statistics.median(values)
                overhead = f"+{median - bare:7.1f}" if bare is not None and config != "bare" else "        "
                runs = ", ".join(f"{v:.0f}" for v in values)
                print(f"  mcp {major}.x {config:<12} {median:8.1f} {overhead}  (runs: {runs})")
    return 0


def counted(args: argparse.Namespace) -> int:
    """Instructions per call_tool round trip (client + server), per configuration and mcp major."""
    from _measure import count_process, counted_table, per_call

    n = args.cg_calls
    print(f"instructions per call_tool round trip (cachegrind, ({2 * n} - {n} calls) / {n}); overhead = config - bare")
    for major in args.majors.split(","):
        configs = []
        for config in CONFIGS:
            if config == "native" and major == "1":
                continue
            cmd = [sys.executable, __file__, "--worker", config, major, "--calls", "5", "--warmup", "1"]
            proc = subprocess.run(cmd, env=_env(major, config), capture_output=True, text=True, timeout=300)
            if proc.returncode == 0:
                configs.append(config)
            else:  # e.g. OpenLLMetry's MCP instrumentor on mcp 2.x (it patches names 2.x no longer has)
                reason = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
                print(f"mcp {major}.x {config}: does not run, not counted: {reason}")

        def count(config: str, calls: int, major: str = major) -> int:
            cmd = [sys.executable, __file__, "--worker", config, major, "--calls", str(calls), "--warmup", "20"]
            return count_process(cmd, _env(major, config) or {}, f"mcp {major}.x {config}")

        counted_table(f"mcp {major}.x", [per_call(count, configs, n) for _ in range(args.repeats)])
    return 0


def paired(args: argparse.Namespace) -> int:
    print("fastest-batch CPU us per call_tool round trip, without and with llm_otel in the same process:")
    for major in args.majors.split(","):
        for round_number in range(args.rounds):
            cmd = [sys.executable, __file__, "--worker", "paired", major, "--calls", str(args.calls),
                   "--warmup", str(args.warmup)]
            proc = subprocess.run(cmd, env=_env(major, "paired"), capture_output=True, text=True, timeout=900,
                                  check=True)
            data = json.loads(proc.stdout.strip().splitlines()[-1])
            difference = data["llm_otel"] - data["without"]
            print(f"  mcp {data['mcp']:<7} round {round_number + 1}: without {data['without']:8.1f}  "
                  f"llm_otel {data['llm_otel']:8.1f}  difference {difference:+7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
