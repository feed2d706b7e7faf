"""Provider instrumentations side by side: instructions per call (cachegrind), wall time as context.

Configurations (``scenarios.py`` builds each; all run in the one ``.venv-bench`` that holds every
peer, so what is installed is the same for all):

    bare         the SDK call, no telemetry
    floor        the bare call + the span and metric points llm_otel produces, written by hand
    manual       the bare call inside ``llm_otel.llm_call`` filled by the app (OpenAI only)
    llm_otel     llm_otel's instrumentor
    llm_otel_no_chunk_points
                 the same with LLM_OTEL_TIME_PER_OUTPUT_CHUNK=false: no time-per-chunk point per stream
                 chunk, which OpenLLMetry's Anthropic, Gemini, Groq, Ollama and Bedrock streams do not record
    official     opentelemetry-instrumentation-genai-openai 1.3b0 (OpenAI only: no Anthropic one exists)
    openllmetry  Traceloop's opentelemetry-instrumentation-openai / -anthropic 0.62.4

Per configuration, in one process under cachegrind: set up, warm up, then forked children
making 0 calls, N non-streaming calls, N streaming calls (the whole stream consumed) and a few
long streams; per call = (Ir(N) - Ir(0)) / N, per chunk = the long stream's extra cost per
extra chunk. Overhead = configuration - bare; "x floor" = overhead / the floor's overhead.
Start-up: the process that imports the SDKs and installs the SDK providers, plus the import
and instrument() (or ``llm_otel.configure()``) of each package, minus the same process without.

    python benchmarks/bench_providers.py [--calls 20] [--stream-calls 10] [--long-calls 1] [--keep DIR]
    python benchmarks/bench_providers.py --only openai/llm_otel,openai/bare   # a subset
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import _measure as m
import scenarios

PROVIDERS = {
    "openai": ("bare", "floor", "manual", "llm_otel", "llm_otel_no_chunk_points", "official", "openllmetry"),
    "anthropic": ("bare", "floor", "llm_otel", "llm_otel_no_chunk_points", "openllmetry"),
    **{p: scenarios.more_configs(p) for p in scenarios.MORE},
}
STARTUP = ("llm_otel_openai", "llm_otel_configure", "official", "openllmetry",
           *(f"{kind}_{p}" for p in scenarios.STARTUP_MORE for kind in ("import", "llm_otel")))
LABELS = {
    "bare": "bare SDK call", "floor": "SDK floor (same telemetry by hand)", "manual": "manual llm_otel.llm_call",
    "llm_otel": "llm_otel instrumentor",
    "llm_otel_no_chunk_points": "llm_otel, no per-chunk points (LLM_OTEL_TIME_PER_OUTPUT_CHUNK=false)",
    "official": "official instrumentation", "openllmetry": "OpenLLMetry 0.62.4",
}
STARTUP_LABELS = {
    "llm_otel_openai": "llm_otel: import + OpenAIInstrumentor().instrument()",
    "llm_otel_configure": "llm_otel: import + configure() (instruments every installed library, imports none)",
    "official": "official genai-openai 1.3b0: import + instrument()",
    "openllmetry": "OpenLLMetry openai 0.62.4: import + instrument()",
    **{f"import_{p}": f"import {scenarios.MORE_SDK[p]} (the SDK alone)" for p in scenarios.STARTUP_MORE},
    **{f"llm_otel_{p}": f"import {scenarios.MORE_SDK[p]} + llm_otel's {p} instrument()" for p in scenarios.STARTUP_MORE},
}
PEER_LABELS = {"official": {"openai": "official genai-openai 1.3b0", "bedrock": "official botocore 0.66b2"}}
TARGETS = {"openai": 1.2, "anthropic": 1.2}  # issue 16; the further providers: issue 11's 1.3x
TARGET_MORE = 1.3


def _per_call(res: dict, variant: str, calls: int) -> float:
    return (res[(variant, calls)]["ir"] - res[("plain", 0)]["ir"]) / calls


def provider_table(provider: str, counts: dict, walls: dict, chunks: dict, args: Any) -> list[str]:
    configs = [c for c in PROVIDERS[provider] if f"{provider}/{c}" in counts]
    n_items = chunks[provider]["long"] - chunks[provider]["stream"]
    rows: dict[str, dict[str, float]] = {}
    for c in configs:
        res = counts[f"{provider}/{c}"]
        plain = _per_call(res, "plain", args.calls)
        stream = _per_call(res, "stream", args.stream_calls)
        long = _per_call(res, "long", args.long_calls)
        rows[c] = {"plain": plain, "stream": stream, "chunk": (long - stream) / n_items}
    bare = rows.get("bare")
    floor = rows.get("floor")
    lines = [
        f"\n## {provider}: instructions per call (cachegrind; {args.calls} non-streaming, {args.stream_calls} "
        f"streaming ({chunks[provider]['stream']} items), {args.long_calls} long streams "
        f"({chunks[provider]['long']} items) minus 0 calls)",
        "",
        "| configuration | non-streaming | overhead | x floor | streaming | overhead | x floor "
        "| per extra chunk | overhead | wall us/call | wall overhead |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c, r in rows.items():
        cells = [PEER_LABELS.get(c, {}).get(provider, LABELS[c])]
        for key in ("plain", "stream", "chunk"):
            cells.append(m.mi(r[key]))
            if bare is None or c == "bare":
                cells.append("—")
                if key != "chunk":
                    cells.append("—")
                continue
            over = r[key] - bare[key]
            cells.append(m.mi(over))
            if key != "chunk":
                fo = floor[key] - bare[key] if floor else 0
                cells.append(f"{over / fo:.2f}x" if fo > 0 and c != "floor" else "—")
        w = walls.get(f"{provider}/{c}")
        wb = walls.get(f"{provider}/bare")
        if w:
            us = w[("plain", args.wall_calls)]["us_per_call"]
            cells.append(f"{us:.0f}")
            cells.append(f"{us - wb[('plain', args.wall_calls)]['us_per_call']:+.0f}" if wb and c != "bare" else "—")
        else:
            cells += ["-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    if bare and floor and "llm_otel" in rows:
        target = TARGETS.get(provider, TARGET_MORE)
        lines.append("")
        lines.append(same_telemetry(provider, counts, args))
        for key, label in (("plain", "non-streaming"), ("stream", "streaming")):
            ours = rows["llm_otel"][key] - bare[key]
            fo = floor[key] - bare[key]
            ok = ours <= target * fo
            lines.append(f"RESULT {provider} {label}: llm_otel overhead {m.mi(ours)} = {ours / fo:.2f}x floor "
                         f"(target <= {target}x: {'OK' if ok else 'MISSED'}); "
                         f"{_versus_peers(provider, rows, key, ours)}")
        if "llm_otel_no_chunk_points" in rows:
            lean = rows["llm_otel_no_chunk_points"]["stream"] - bare["stream"]
            lean_run = counts[f"{provider}/llm_otel_no_chunk_points"].get(("stream", args.stream_calls), {})
            full_run = counts[f"{provider}/llm_otel"].get(("stream", args.stream_calls), {})
            dropped = sorted(set(full_run.get("metrics", ())) - set(lean_run.get("metrics", ())))
            lines.append(f"WITHOUT PER-CHUNK POINTS {provider} (streaming metrics missing against llm_otel's): "
                         f"{dropped} {'OK' if dropped == ['gen_ai.client.operation.time_per_output_chunk'] else 'DIFFERS'}")
            lines.append(f"RESULT {provider} streaming without the per-chunk points "
                         f"(LLM_OTEL_TIME_PER_OUTPUT_CHUNK=false): llm_otel overhead {m.mi(lean)}; "
                         f"{_versus_peers(provider, rows, 'stream', lean)}")
    return lines


def _versus_peers(provider: str, rows: dict[str, dict[str, float]], key: str, ours: float) -> str:
    """``below the peers (<each peer's overhead>): OK`` when ``ours`` is below every peer's overhead."""
    peers = {p: rows[p][key] - rows["bare"][key] for p in ("official", "openllmetry") if p in rows}
    named = [f"{PEER_LABELS.get(p, {}).get(provider, LABELS[p])} {m.mi(v)}" for p, v in peers.items()]
    below = all(ours < v for v in peers.values())
    return f"below the peers ({'; '.join(named) or '-'}): {'OK' if below else 'MISSED'}"


def same_telemetry(provider: str, counts: dict, args: Any) -> str:
    """The floor is only a floor if it writes what llm_otel writes: same span attribute names, same metrics."""
    diffs = []
    for run, label in ((("plain", args.calls), "non-streaming"), (("stream", args.stream_calls), "streaming")):
        floor, ours = counts[f"{provider}/floor"].get(run), counts[f"{provider}/llm_otel"].get(run)
        if floor is None or ours is None:
            continue
        for what in ("span_keys", "metrics"):
            extra, missing = set(ours[what]) - set(floor[what]), set(floor[what]) - set(ours[what])
            if extra or missing:
                diffs.append(f"{label} {what}: llm_otel +{sorted(extra)} -{sorted(missing)}")
    return (f"SAME TELEMETRY {provider} (floor vs llm_otel: span attribute names, metric names): "
            + ("OK" if not diffs else "DIFFERS: " + "; ".join(diffs)))


def startup_table(counts: dict, walls: dict) -> list[str]:
    base = counts["startup/baseline"][("plain", 0)]["ir"]
    base_ms = walls["startup/baseline"][("plain", 0)]["setup_ms"] if walls else 0.0
    lines = [
        "\n## start-up: instructions added to a process that has imported openai + anthropic and installed the SDK "
        "providers (cachegrind; the further SDKs are not imported before)",
        "",
        "| what | instructions | wall ms |",
        "|---|---|---|",
        f"| baseline process (python, imports, SDK providers) | {m.mi(base)} | - |",
    ]
    for c in STARTUP:
        name = f"startup/{c}"
        if name in counts:
            extra = counts[name][("plain", 0)]["ir"] - base
            wall = f"{walls[name][('plain', 0)]['setup_ms'] - base_ms:+.0f}" if walls else "-"
            lines.append(f"| {STARTUP_LABELS.get(c, c)} | +{m.mi(extra)} | {wall} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="non-streaming calls counted")
    parser.add_argument("--stream-calls", type=int, default=10, help="streaming calls counted")
    parser.add_argument("--long-calls", type=int, default=1, help="long streams counted (per-chunk cost)")
    parser.add_argument("--wall-calls", type=int, default=200, help="non-streaming calls timed natively")
    parser.add_argument("--python", help="interpreter with the bench extra (default .venv-bench/bin/python)")
    parser.add_argument("--only", help="comma list of scenarios (e.g. openai/bare,openai/llm_otel)")
    parser.add_argument("--no-wall", action="store_true", help="instructions only")
    parser.add_argument("--no-startup", action="store_true")
    parser.add_argument("--parallel", type=int, default=2, help="valgrind batches at a time (counts do not move)")
    parser.add_argument("--keep", metavar="DIR", help="keep cachegrind's output files there (for cg_annotate)")
    args = parser.parse_args()
    if args.keep:
        m.KEEP = Path(args.keep)
    python = args.python or m.default_python()
    started = time.time()

    runs = [("plain", 0), ("plain", args.calls), ("stream", args.stream_calls), ("long", args.long_calls)]
    jobs = {f"{p}/{c}": runs for p, cs in PROVIDERS.items() for c in cs}
    if not args.no_startup:
        jobs.update({f"startup/{c}": [("plain", 0)] for c in ("baseline", *STARTUP)})
    if args.only:
        wanted = set(args.only.split(","))
        jobs = {k: v for k, v in jobs.items() if k in wanted}
    print(m.header(python), flush=True)
    chunks = m.chunks(python)
    print(f"# counting {len(jobs)} configurations under cachegrind, {args.parallel} at a time ...", file=sys.stderr,
          flush=True)
    counts = m.count_all(python, jobs, args.parallel)
    walls: dict[str, Any] = {}
    if not args.no_wall:
        print("# wall time (native, one configuration at a time) ...", file=sys.stderr, flush=True)
        walls = m.wall(python, {name: [("plain", 0)] if name.startswith("startup/") else [("plain", args.wall_calls)]
                                for name in jobs})
    for provider in PROVIDERS:
        if any(k.startswith(provider + "/") for k in counts):
            print("\n".join(provider_table(provider, counts, walls, chunks, args)))
    if "startup/baseline" in counts:
        print("\n".join(startup_table(counts, walls)))
    verify = [f"{k}: {r[('plain', args.calls)]['span']} ({r[('plain', args.calls)]['span_attributes']} attributes, "
              f"{r[('plain', args.calls)]['spans_per_call']:.0f} span/call), "
              f"{len(r[('plain', args.calls)]['metrics'])} metrics"
              for k, r in counts.items() if not k.startswith("startup/") and ("plain", args.calls) in r]
    print("\n# what each configuration produced (non-streaming): " + "; ".join(verify))
    print(f"# total {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
