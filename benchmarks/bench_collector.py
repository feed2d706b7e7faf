"""Capacity of the shipped Collector pipeline, and the scale-out curve of the two-tier one.

    python benchmarks/bench_collector.py            # full: 6 rate steps of 20 s, curve for 1, 2, 3 gateways
    python benchmarks/bench_collector.py --quick    # <= 4 min: 4 steps of 8 s, shorter curve
    python benchmarks/bench_collector.py --json out.json

Load: LLM-shaped traces (llm_otel_tools.stack._loadgen: workflow > retrieval, chat, execute_tool, chat; 5 spans,
the gen_ai.* / llm_otel.* attributes; 20 traces per OTLP/HTTP request, the bodies encoded before the timed send).
telemetrygen cannot shape such trees (one parent, N identical children) -- and its v0.159.0/v0.158.0 module is not
served by the Go proxy here.

1. Capacity: the real stack (`Stack.up`, shipped otel-collector-config.yaml as is: sampling baseline 100 %, so
   Jaeger must receive every span), its Collector pinned to one core (`taskset -a -c <core>`), the generator on the
   other. Each step sends at a fixed rate; it is *sustained* when the Collector accepted >= 97 % of the target rate,
   refused nothing (otelcol_receiver_refused_spans), dropped nothing (exporter send/enqueue failures,
   tail-sampling early drops) and Jaeger's own otelcol_receiver_accepted_spans grew by exactly the spans sent.
   Per step: achieved spans/s, Collector CPU (core fraction), spans per Collector CPU-second (the least
   load-sensitive figure on a shared machine), peak RSS. Then a flat-out step with a 5 s CPU profile
   (pprof extension; `go tool pprof -top -cum`) names the component that saturates first, and a burst held in
   the tail sampler (decision_wait 10 s) gives its heap per in-flight trace (heap after a forced GC, via
   /debug/pprof/heap?gc=1, over otelcol_processor_tail_sampling_sampling_traces_on_memory).
2. Curve: `TwoTier.up(gateways=g, agents=2)` for g = 1, 2, 3 (each gateway GOMAXPROCS=1), a fixed number of traces
   sent flat out, each trace split across the two agents; figure = spans/s until every gateway-accepted span is
   counted (zero refused / failed), with the CPU-seconds each tier spent.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "instrumentation"))

from llm_otel_tools.stack import Stack
from llm_otel_tools.stack._loadgen import (
    SPANS_PER_TRACE,
    encode_requests,
    repeat_with_new_ids,
    send_at_rate,
    trace_shapes,
)
from llm_otel_tools.stack._topology import TwoTier

TRACES_PER_REQUEST = 20
CLK_TCK = os.sysconf("SC_CLK_TCK")
COMPONENTS = {  # pprof frame pattern -> component (cumulative CPU share in the flat-out profile)
    "otlpreceiver": r"otlpreceiver.*\(\*Receiver\)|otlpreceiver.*handleTraces",
    "memory_limiter": r"memorylimiterprocessor",
    "transform/drop_content": r"transformprocessor",
    "redaction": r"redactionprocessor",
    "span_metrics": r"spanmetricsconnector",
    "tail_sampling": r"tailsamplingprocessor",
    "batch": r"batchprocessor",
    "otlp_grpc/jaeger exporter": r"otlpexporter|otlpgrpcexporter",
    "persistent queue (file_storage)": r"filestorage|bbolt",
    "protobuf decode": r"ptrace.*Unmarshal|proto.*Unmarshal",
    "Go GC": r"runtime\.gcBgMarkWorker$",
}


def load_bodies(seed: int, traces: int, service: str) -> list[bytes]:
    """Bodies for ``traces`` traces: 2000 encoded ones, repeated with fresh trace ids (see repeat_with_new_ids)."""
    shapes = trace_shapes(seed, min(traces, 2000))
    bodies = encode_requests(shapes, service=service, traces_per_request=TRACES_PER_REQUEST)
    return repeat_with_new_ids(bodies, shapes, traces // TRACES_PER_REQUEST, seed=seed, traces_per_request=TRACES_PER_REQUEST)


def metric(base: str, name: str, **labels: str) -> float:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRSS:
    """Samples a process's RSS every 0.25 s in a thread; ``peak`` in MiB."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.25)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def pid_of(stack: Stack, name: str) -> int:
    pid = stack.status()["processes"].get(name, {}).get("pid") or stack.status()["apps"].get(name, {}).get("pid")
    if not pid:
        raise SystemExit(f"{name} is not running in {stack.state_dir}")
    return int(pid)


def counters(collector: str, jaeger: str) -> dict[str, float]:
    return {
        "accepted": metric(collector, "otelcol_receiver_accepted_spans", transport="http"),
        "refused": metric(collector, "otelcol_receiver_refused_spans"),
        "send_failed": metric(collector, "otelcol_exporter_send_failed_spans"),
        "enqueue_failed": metric(collector, "otelcol_exporter_enqueue_failed_spans"),
        "early_drops": metric(collector, "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early"),
        "jaeger": metric(jaeger, "otelcol_receiver_accepted_spans") + metric(jaeger, "otelcol_receiver_accepted_spans_total"),
    }


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return check()


def capacity(stack: Stack, rates: list[int], seconds: float, seed: int) -> dict[str, Any]:
    ep = stack.endpoints()
    collector, jaeger = ep.collector_metrics, f"http://127.0.0.1:{ep.ports['jaeger_metrics']}"
    pid = pid_of(stack, "collector")
    profiled = max((r for r in rates if r), default=0)
    memory = tail_sampling_memory(stack, seed + 100)  # first: on the fresh Collector, nothing else in the sampler
    rows = []
    for step, rate in enumerate(rates):
        traces = int(rate * seconds / SPANS_PER_TRACE) if rate else 20_000
        bodies = load_bodies(seed + step, max(traces, TRACES_PER_REQUEST), "bench")
        before, cpu0, peak = counters(collector, jaeger), cpu_seconds(pid), PeakRSS(pid)
        profile: dict[str, float] = {}
        prof_thread = None
        if rate == profiled:  # steady state of the highest fixed rate: reception, decisions and export all running
            prof_thread = threading.Thread(target=lambda p=profile: p.update(cpu_profile(ep.ports["collector_pprof"], max(1.0, seconds - 6))), daemon=True)
            prof_thread.start()
        sent = send_at_rate(ep.otlp_http, bodies, rate / (TRACES_PER_REQUEST * SPANS_PER_TRACE), workers=16,
                            max_seconds=seconds * 1.25 if rate else seconds * 2)  # a Collector behind schedule ends the step
        spans = sent.sent_requests * TRACES_PER_REQUEST * SPANS_PER_TRACE
        accepted = counters(collector, jaeger)["accepted"] - before["accepted"]
        # Drain: decision_wait (10 s) + batch timeout, then Jaeger must hold every span (baseline sampling 100 %).
        wait_until(lambda b=before, n=spans: counters(collector, jaeger)["jaeger"] - b["jaeger"] >= n, 30)
        cpu = cpu_seconds(pid) - cpu0  # the whole step: receive, sample, batch, export
        if prof_thread:
            prof_thread.join()
        after = counters(collector, jaeger)
        d = {k: after[k] - before[k] for k in after}
        achieved = accepted / sent.seconds
        ok = (rate == 0 or achieved >= 0.97 * rate) and sent.failed_requests == 0 and d["refused"] == 0 \
            and d["send_failed"] == 0 and d["enqueue_failed"] == 0 and d["early_drops"] == 0 and d["jaeger"] == spans
        rows.append({
            "target_spans_s": rate or "flat out", "achieved_spans_s": round(achieved), "traces_s": round(achieved / SPANS_PER_TRACE),
            "spans_per_cpu_s": round(d["accepted"] / cpu) if cpu else None,
            "peak_rss_mib": round(peak.stop()), "refused": d["refused"], "dropped": d["send_failed"] + d["enqueue_failed"] + d["early_drops"],
            "jaeger_spans": int(d["jaeger"]), "sent_spans": spans, "failed_requests": sent.failed_requests, "sustained": ok,
            **({"profile_cum_pct": profile} if profile else {}),
        })
        print_row(rows[-1])
    sustained = [r for r in rows if r["sustained"] and r["target_spans_s"] != "flat out"]
    best = max(sustained, key=lambda r: r["achieved_spans_s"]) if sustained else None
    per_cpu = [r["spans_per_cpu_s"] for r in rows if r["sustained"] and r["spans_per_cpu_s"]]
    return {"steps": rows, "sustained_spans_s": best["achieved_spans_s"] if best else 0,
            "spans_per_cpu_s_median": sorted(per_cpu)[len(per_cpu) // 2] if per_cpu else 0,
            "memory": memory}


def cpu_profile(pprof_port: int, delay: float, seconds: int = 5) -> dict[str, float]:
    """Cumulative CPU share per pipeline component from a CPU profile of the running Collector."""
    go = shutil.which("go")
    if go is None:
        return {"(go not on PATH: no profile)": 0.0}
    time.sleep(delay)
    with urllib.request.urlopen(f"http://127.0.0.1:{pprof_port}/debug/pprof/profile?seconds={seconds}", timeout=seconds + 20) as resp:
        data = resp.read()
    with tempfile.NamedTemporaryFile(suffix=".pprof") as tmp:
        tmp.write(data)
        tmp.flush()
        top = subprocess.run([go, "tool", "pprof", "-top", "-cum", "-nodecount=400", tmp.name],
                             capture_output=True, text=True, check=False).stdout
    shares: dict[str, float] = {}
    for line in top.splitlines():
        parts = line.split()
        if len(parts) < 6 or not parts[4].endswith("%"):
            continue
        cum, func = float(parts[4].rstrip("%")), " ".join(parts[5:])
        for component, pattern in COMPONENTS.items():
            if re.search(pattern, func):
                shares[component] = max(shares.get(component, 0.0), cum)
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


def heap_after_gc(pprof_port: int, collector: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{pprof_port}/debug/pprof/heap?gc=1", timeout=30) as resp:
        resp.read()
    return metric(collector, "otelcol_process_runtime_heap_alloc_bytes")


def tail_sampling_memory(stack: Stack, seed: int, traces: int = 10_000) -> dict[str, float]:
    """Heap per trace held by tail_sampling: a burst sent well inside the 10 s decision_wait, heap after GC, over
    the growth of otelcol_processor_tail_sampling_sampling_traces_on_memory."""
    ep = stack.endpoints()
    port = ep.ports["collector_pprof"]
    gauge = "otelcol_processor_tail_sampling_sampling_traces_on_memory"
    time.sleep(3)
    base, before = heap_after_gc(port, ep.collector_metrics), metric(ep.collector_metrics, gauge)
    bodies = load_bodies(seed, traces, "bench-memory")
    started = time.monotonic()
    send_at_rate(ep.otlp_http, bodies, 0, workers=4)
    held = heap_after_gc(port, ep.collector_metrics)
    in_memory = metric(ep.collector_metrics, gauge) - before
    result = {"traces_in_memory": in_memory, "heap_delta_mib": round((held - base) / 2**20, 1),
              "bytes_per_trace": round((held - base) / in_memory) if in_memory else 0.0,
              "burst_seconds": round(time.monotonic() - started, 1)}
    print(f"tail_sampling memory: {result}")
    time.sleep(12)  # decided before the rate steps start
    return result


def curve(stack: Stack, gateway_counts: list[int], traces: int, seed: int) -> list[dict[str, Any]]:
    rows = []
    tiers = TwoTier(stack)
    for g in gateway_counts:
        tiers.up(gateways=g, agents=2, free_ports=True, gomaxprocs=1)
        try:
            shapes = trace_shapes(seed + g, min(traces, 2000))
            agents = tiers.agents()
            requests = traces // TRACES_PER_REQUEST
            halves = [repeat_with_new_ids(encode_requests(shapes, service="bench-tiers", traces_per_request=TRACES_PER_REQUEST, spans=part),
                                          shapes, requests, seed=seed + g, traces_per_request=TRACES_PER_REQUEST)
                      for part in (range(SPANS_PER_TRACE - 1), [SPANS_PER_TRACE - 1])]
            gws = tiers.gateways()
            pids = {t.name: pid_of(tiers.stack, t.name) for t in [*agents, *gws]}
            cpu0 = {n: cpu_seconds(p) for n, p in pids.items()}
            spans = requests * TRACES_PER_REQUEST * SPANS_PER_TRACE
            t0 = time.monotonic()
            senders = [threading.Thread(target=send_at_rate, args=(a.url("otlp_http"), b, 0), kwargs={"workers": 2})
                       for a, b in zip(agents, halves, strict=True)]
            for s in senders:
                s.start()
            for s in senders:
                s.join()
            done = wait_until(lambda gws=gws, n=spans: sum(metric(gw.url("metrics"), "otelcol_receiver_accepted_spans") for gw in gws) >= n, 120)
            wall = time.monotonic() - t0
            cpu = {n: cpu_seconds(p) - cpu0[n] for n, p in pids.items()}
            refused = sum(metric(t.url("metrics"), "otelcol_receiver_refused_spans") for t in [*agents, *gws])
            failed = sum(metric(a.url("metrics"), "otelcol_exporter_send_failed_spans") for a in agents)
            row = {"gateways": g, "spans": spans, "complete": done, "spans_s": round(spans / wall), "wall_s": round(wall, 1),
                   "agents_cpu_s": round(sum(v for n, v in cpu.items() if n.startswith("agent")), 1),
                   "gateways_cpu_s": round(sum(v for n, v in cpu.items() if n.startswith("gateway")), 1),
                   "refused": refused, "failed": failed}
            rows.append(row)
            print(f"curve: {row}")
        finally:
            tiers.down()
    return rows


def print_row(row: dict[str, Any]) -> None:
    keys = ("target_spans_s", "achieved_spans_s", "traces_s", "spans_per_cpu_s", "peak_rss_mib",
            "refused", "dropped", "jaeger_spans", "sent_spans", "sustained")
    print("  ".join(f"{k}={row[k]}" for k in keys) + (f"\n  profile (cum % of CPU): {row['profile_cum_pct']}" if "profile_cum_pct" in row else ""))


def print_tables(results: dict[str, Any]) -> None:
    """The figures as Markdown tables (what README quotes)."""
    cap = results["capacity"]
    print("\n| target spans/s | achieved spans/s | traces/s | spans per Collector CPU-s | peak RSS MiB | refused | dropped | Jaeger spans / sent | sustained |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in cap["steps"]:
        print(f"| {r['target_spans_s']} | {r['achieved_spans_s']} | {r['traces_s']} | {r['spans_per_cpu_s']} | {r['peak_rss_mib']} | "
              f"{r['refused']:.0f} | {r['dropped']:.0f} | {r['jaeger_spans']} / {r['sent_spans']} | {'yes' if r['sustained'] else 'no'} |")
    m = cap["memory"]
    print(f"\ntail_sampling: {m['traces_in_memory']:.0f} traces in memory, heap +{m['heap_delta_mib']} MiB = {m['bytes_per_trace']} B per trace")
    print(f"one core: {cap['spans_per_cpu_s_median']} spans per Collector CPU-second (median of sustained steps) = "
          f"{cap['spans_per_cpu_s_median'] // SPANS_PER_TRACE} LLM traces/s")
    if results.get("curve"):
        print("\n| gateways | spans | spans/s | wall s | agents CPU-s | gateways CPU-s | refused | failed |")
        print("|---|---|---|---|---|---|---|---|")
        for r in results["curve"]:
            print(f"| {r['gateways']} | {r['spans']} | {r['spans_s']} | {r['wall_s']} | {r['agents_cpu_s']} | {r['gateways_cpu_s']} | "
                  f"{r['refused']:.0f} | {r['failed']:.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="<= 4 min: 4 short steps, curve with fewer traces")
    parser.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], help="spans/s steps (0 = flat out)")
    parser.add_argument("--seconds", type=float, help="seconds per step")
    parser.add_argument("--gateways", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 3])
    parser.add_argument("--curve-traces", type=int)
    parser.add_argument("--core", type=int, default=1, help="the core the Collector is pinned to (generator: the others)")
    parser.add_argument("--no-curve", action="store_true")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()
    rates = args.rates or ([5000, 10000, 20000, 0] if args.quick else [2000, 5000, 10000, 15000, 20000, 30000, 0])
    seconds = args.seconds or (12.0 if args.quick else 20.0)
    curve_traces = args.curve_traces or (10_000 if args.quick else 30_000)
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, set(os.sched_getaffinity(0)) - {args.core})
    started = time.monotonic()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at start")
    results: dict[str, Any] = {"load_average_at_start": load, "rates": rates, "seconds": seconds}
    with tempfile.TemporaryDirectory(prefix="bench-collector-") as tmp:
        stack = Stack(Path(tmp) / "single")
        stack.up(free_ports=True)
        try:
            subprocess.run(["taskset", "-a", "-c", "-p", str(args.core), str(pid_of(stack, "collector"))], check=True, capture_output=True)
            print(f"capacity of otel-collector-config.yaml, Collector pinned to core {args.core}, {seconds:.0f} s a step:")
            results["capacity"] = capacity(stack, rates, seconds, seed=1)
            if not args.no_curve:
                print(f"scale-out: 2 agents -> N gateways (every tier Collector GOMAXPROCS=1), {curve_traces} traces flat out:")
                results["curve"] = curve(stack, args.gateways, curve_traces, seed=50)
        finally:
            stack.down()
    results["load_average_at_end"] = os.getloadavg()
    results["wall_seconds"] = round(time.monotonic() - started)
    print(f"sustained (zero refused, zero dropped, Jaeger complete): {results['capacity']['sustained_spans_s']} spans/s = "
          f"{results['capacity']['sustained_spans_s'] // SPANS_PER_TRACE} traces/s on one core; "
          f"load average at end {results['load_average_at_end'][0]:.1f}; {results['wall_seconds']} s")
    print_tables(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
