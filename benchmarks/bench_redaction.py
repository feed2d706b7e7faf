"""Redaction cost: the worst case per 64 KiB over adversarial inputs, one per built-in pattern.

Every built-in pattern is linear (issue 10): this measures the constant. Each input is 64 KiB of a
repeated unit chosen to make one pattern work hardest (the e-mail pattern was quadratic: 10 s here).
Wall time, best of ``--repeat`` runs (the machine is shared: the best run is the least disturbed),
plus the spread. Callers cut before they redact, so 64 KiB (LLM_OTEL_CONTENT_MAX_BYTES) is the most one
string costs.

    python benchmarks/bench_redaction.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

from llm_otel._redaction import redact

SIZE = 64 * 1024
UNITS = {
    "email (a.)": "a.",
    "email (a@)": "a@",
    "jwt (eyJ)": "eyJ",
    "jwt segments": "eyJaaaa.",
    "card (digits)": "1 ",
    "card (dashes)": "4111-",
    "aws secret (alnum)": "A1b",
    "bearer": "bearer ",
    "basic": "Basic dXNl ",
    "api key header": "api_key=",
    "api key prefixes": "sk-ghp_xoxb-",
    "prose with secrets": "Mail jane@example.com, key AKIAIOSFODNN7EXAMPLE, card 4111 1111 1111 1111. ",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print("| input (64 KiB) | best ms | median ms | max ms |")
    print("|---|---|---|---|")
    worst = ("", 0.0)
    for name, unit in UNITS.items():
        text = (unit * (SIZE // len(unit) + 1))[:SIZE]
        runs = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            redact(text)
            runs.append((time.perf_counter() - started) * 1000)
        best = min(runs)
        print(f"| {name} | {best:.2f} | {statistics.median(runs):.2f} | {max(runs):.2f} |")
        if best > worst[1]:
            worst = (name, best)
    print(f"\nworst case per 64 KiB: {worst[1]:.2f} ms ({worst[0]})")


if __name__ == "__main__":
    main()
