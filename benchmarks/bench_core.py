"""The recorder's own cost: a manual ``llm_call`` versus the bare OpenTelemetry SDK doing the same work.

Both sides emit the same span (name, kind, 5 start + 6 end attributes, current while the
metrics are recorded) and the same 4 metric points (duration, input and output token usage,
cost) into the benchmark SDK set-up (BatchSpanProcessor into a no-op exporter,
InMemoryMetricReader). No provider call: this is the floor any integration builds on.

Instructions per call from cachegrind (a run of N calls minus a run of 0 calls, forked from
one warmed-up process, see ``_measure.py``), wall time per call natively as context.

    python benchmarks/bench_core.py [--calls 300] [--wall-calls 5000]

Budget (issue 2): llm_call <= 1.3x the SDK floor.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import _measure as m

CONFIGS = {
    "core/floor": "bare OTel SDK (span + 4 points by hand)",
    "core/llm_call": "llm_otel.llm_call",
    "core/llm_call+evaluators": "+ output text, evaluators (all)",
}
BUDGET = 1.3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls counted under cachegrind")
    parser.add_argument("--wall-calls", type=int, default=5000, help="calls timed natively")
    parser.add_argument("--python", help="interpreter with the bench extra (default .venv-bench/bin/python)")
    parser.add_argument("--no-wall", action="store_true")
    parser.add_argument("--keep", metavar="DIR", help="keep cachegrind's output files there (for cg_annotate)")
    args = parser.parse_args()
    if args.keep:
        m.KEEP = Path(args.keep)
    python = args.python or m.default_python()
    started = time.time()
    print(m.header(python), flush=True)
    runs = [("plain", 0), ("plain", args.calls)]
    print(f"# counting {len(CONFIGS)} configurations under cachegrind ...", file=sys.stderr, flush=True)
    counts = m.count_all(python, {name: runs for name in CONFIGS})
    walls = {} if args.no_wall else m.wall(python, {name: [("plain", args.wall_calls)] for name in CONFIGS})

    per_call = {name: (r[("plain", args.calls)]["ir"] - r[("plain", 0)]["ir"]) / args.calls
                for name, r in counts.items()}
    floor = per_call["core/floor"]
    wall_floor = walls["core/floor"][("plain", args.wall_calls)]["us_per_call"] if walls else None
    print(f"\n## recorder: instructions per call (cachegrind, {args.calls} calls minus 0), wall time as context\n")
    print("| configuration | instructions/call | x SDK | wall us/call | x SDK (wall) |")
    print("|---|---|---|---|---|")
    for name, label in CONFIGS.items():
        wall = f"{walls[name][('plain', args.wall_calls)]['us_per_call']:.1f}" if walls else "-"
        wall_x = (f"{walls[name][('plain', args.wall_calls)]['us_per_call'] / wall_floor:.2f}x"
                  if walls and wall_floor else "-")
        print(f"| {label} | {m.mi(per_call[name])} | {per_call[name] / floor:.2f}x | {wall} | {wall_x} |")
    ratio = per_call["core/llm_call"] / floor
    print(f"\nRESULT llm_call/SDK floor = {ratio:.2f}x instructions (budget {BUDGET:.2f}x): "
          f"{'OK' if ratio <= BUDGET else 'OVER BUDGET'}")
    print(f"# total {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
