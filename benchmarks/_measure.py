"""Shared by the benchmark drivers: run scenarios under cachegrind (instructions) and natively (wall time).

Instructions: each configuration runs in its own process under
``valgrind --tool=cachegrind --cache-sim=no``; that process sets up and warms up once, then
forks one child per counted run (0 calls, N calls, ...). A forked child inherits the parent's
counters, so every child's total Ir starts from the same count, and
``(Ir(N calls) - Ir(0 calls)) / N`` is the exact cost of one call: interpreter start, imports,
instrument() and warm-up cancel out; the call, the spans it leaves for export (flushed in the
child) and the garbage collection it causes stay in.

Why the total Ir and not ``--toggle-collect``: Debian's valgrind 3.19 cachegrind has neither
``--toggle-collect`` (a callgrind option) nor the start/stop client requests (cachegrind 3.22+);
and a Python function is not a C symbol that toggling could name anyway. The difference of
totals needs nothing in the measured code and counts every thread (the export happens at flush).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIOS = HERE / "scenarios.py"
VENV = ROOT / ".venv-bench"
Run = tuple[str, int]  # (variant, calls)


def default_python() -> str:
    python = VENV / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{python} is missing: run `make bench` (it creates {VENV.name}/ with the bench extra)")
    return str(python)


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACELOOP_", "LLM_OTEL_"))}
    out.update({"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "TRACELOOP_TRACE_CONTENT": "false",
                "TRACELOOP_TELEMETRY": "false",
                # anthropic>=2.14 makes a span of its own per call whenever a tracer provider is set: off, so
                # the bare call is bare and no configuration counts that span (llm_otel's or the peers')
                "ANTHROPIC_OPEN_TELEMETRY": "false",
                # LiteLLM reads its bundled model price map instead of fetching it at import (no network)
                "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    return out


Jobs = dict[str, list[Run]]  # scenario -> its counted runs
Results = dict[str, dict[Run, dict[str, Any]]]  # scenario -> run -> what the child reported (+ "ir")


def _argv(jobs: Jobs) -> list[str]:
    return [f"{name}@" + ",".join(f"{v}:{n}" for v, n in runs) for name, runs in jobs.items()]


def _children(stdout: str, jobs: Jobs) -> Results:
    out: Results = {name: {} for name in jobs}
    for line in stdout.splitlines():
        if line.startswith("{"):
            child = json.loads(line)
            out[child["scenario"]][(child["variant"], child["calls"])] = child
    return out


KEEP: Path | None = None
"""When set, cachegrind's output files are kept there (``<scenario>.<variant>.<calls>``) for cg_annotate."""


def count(python: str, jobs: Jobs) -> Results:
    """One valgrind process for a batch of scenarios: total instructions of each forked child."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: `apt-get install valgrind` (make bench does it)")
    with tempfile.TemporaryDirectory(prefix="llm-otel-cg-") as tmp:
        cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={tmp}/cg.%p",
               python, str(SCENARIOS), *_argv(jobs)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env(), cwd=str(ROOT))
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            raise SystemExit(f"valgrind run failed ({proc.returncode}): {' '.join(jobs)}")
        results = _children(proc.stdout, jobs)
        for name, children in results.items():
            for run, child in children.items():
                text = Path(tmp, f"cg.{child['pid']}").read_text()
                child["ir"] = int(re.search(r"^summary:\s+(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
                if KEEP is not None:
                    KEEP.mkdir(parents=True, exist_ok=True)
                    (KEEP / f"{name.replace('/', '.')}.{run[0]}.{run[1]}").write_text(text)
        return results


def count_process(cmd: list[str], env: dict[str, str], what: str) -> int:
    """Instructions one whole process executes (every thread), counted by cachegrind.

    For the drivers whose workers do not fork (``bench_retrieval``, ``bench_mcp``, ``bench_frameworks``):
    run the worker for N and for 2N calls and take the difference over N (``per_call``), so interpreter
    start, imports, set-up and warm-up cancel out. ``PYTHONHASHSEED`` is fixed (set iteration order,
    and with it the instruction count, depends on it)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: `apt-get install valgrind`")
    with tempfile.TemporaryDirectory(prefix="llm-otel-cg-") as tmp:
        out = Path(tmp) / "cg.out"
        proc = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}", *cmd],
                              capture_output=True, text=True, env={"PYTHONHASHSEED": "0", **env}, cwd=str(ROOT))
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            raise SystemExit(f"cachegrind {what} failed ({proc.returncode})")
        match = re.search(r"^summary:\s+(\d+)", out.read_text(), re.M)
        if match is None:
            raise SystemExit(f"no summary line in cachegrind's output for {what}")
        return int(match.group(1))


def per_call(count_calls: Any, names: list[str], calls: int, parallel: int = 2) -> dict[str, float]:
    """``(Ir(2N calls) - Ir(N calls)) / N`` per configuration, where ``count_calls(name, n)`` counts a whole
    worker process making n calls; the processes run ``parallel`` at a time (counts do not depend on load)."""
    runs = [(name, n) for name in names for n in (calls, 2 * calls)]
    with ThreadPoolExecutor(parallel) as pool:
        ir = dict(zip(runs, pool.map(lambda run: count_calls(*run), runs), strict=True))
    return {name: (ir[(name, 2 * calls)] - ir[(name, calls)]) / calls for name in names}


def counted_table(title: str, runs: list[dict[str, float]], versus: str | None = None) -> None:
    """Print repeated ``per_call`` results as a markdown table: the median count, the overhead over
    ``bare``, optionally that overhead as a multiple of ``versus``'s, every run, and their spread."""
    def fmt(value: float) -> str:
        return f"{value / 1e6:,.3f} M" if abs(value) >= 1e6 else f"{value / 1e3:,.1f} k"

    def overhead(config: str) -> float:
        return statistics.median(run[config] - run["bare"] for run in runs)

    head = ["instructions", "overhead", *([f"x {versus}'s"] if versus else []), "runs", "spread"]
    print(f"\n| {title} | {' | '.join(head)} |\n|{'---|' * (len(head) + 1)}")
    for config in runs[0]:
        values = [run[config] for run in runs]
        cells = [fmt(statistics.median(values))]
        if config == "bare":
            cells += ["—"] * (2 if versus else 1)
        else:
            cells += [fmt(overhead(config)), *([f"{overhead(config) / overhead(versus):.2f}x"] if versus else [])]
        spread = (max(values) - min(values)) / min(values) * 100
        cells += [", ".join(fmt(v) for v in values), f"{spread:.2f} %"]
        print(f"| {config} | {' | '.join(cells)} |", flush=True)


def compile_sources(python: str) -> None:
    """Byte-compile this checkout's packages first, as ``pip install`` does for every installed wheel.

    The counted processes run with PYTHONDONTWRITEBYTECODE (nothing written into the tree while
    counting), so a stale or missing ``__pycache__`` would make every start-up count include compiling
    llm_otel from source (~0.2 G instructions) while the peers, installed from wheels, load bytecode."""
    subprocess.run([python, "-m", "compileall", "-q", str(ROOT / "instrumentation"), str(HERE)],
                   capture_output=True, check=True)


def count_all(python: str, jobs: Jobs, parallel: int = 2) -> Results:
    """Every scenario under cachegrind, in four batches run ``parallel`` at a time (counts do not depend on
    load); each batch imports the common modules once and forks a process per scenario. Start-up
    scenarios go into batches of their own: they must not inherit the further providers' SDK imports."""
    compile_sources(python)
    startup = [n for n in jobs if n.startswith("startup/")]
    first = [n for n in jobs if n.startswith(("core/", "openai/", "anthropic/"))]
    more = [n for n in jobs if n not in startup and n not in first]  # without openai/anthropic imported
    groups = [first, more[0::2], more[1::2], startup]
    batches = [{n: jobs[n] for n in group} for group in groups if group]
    with ThreadPoolExecutor(parallel) as pool:
        results: Results = {}
        for part in pool.map(lambda b: count(python, b), batches):
            results.update(part)
        return results


def wall(python: str, jobs: Jobs) -> Results:
    """The same children natively, GC paused while timing: microseconds per call (context only).
    Start-up scenarios in a process of their own (they must not inherit the further providers' SDKs)."""
    results: Results = {}
    for group in ({k: v for k, v in jobs.items() if not k.startswith("startup/")},
                  {k: v for k, v in jobs.items() if k.startswith("startup/")}):
        if not group:
            continue
        proc = subprocess.run([python, str(SCENARIOS), *_argv(group), "--timed"],
                              capture_output=True, text=True, env=env(), cwd=str(ROOT))
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            raise SystemExit(f"run failed ({proc.returncode})")
        results.update(_children(proc.stdout, group))
    return results


def chunks(python: str) -> dict[str, dict[str, int]]:
    proc = subprocess.run([python, str(SCENARIOS), "--chunks"], capture_output=True, text=True, env=env(),
                          cwd=str(ROOT), check=True)
    return json.loads(proc.stdout)


def header(python: str) -> str:
    versions = subprocess.run(
        [python, "-c", "import platform, importlib.metadata as m\n"
         "names = ['openai', 'anthropic', 'httpx2', 'opentelemetry-sdk', 'wrapt', 'llm-otel',\n"
         "         'opentelemetry-instrumentation-genai-openai', 'opentelemetry-util-genai',\n"
         "         'opentelemetry-instrumentation-openai', 'opentelemetry-instrumentation-anthropic']\n"
         "print(platform.python_implementation(), platform.python_version(), '|', "
         "', '.join(f'{n} {m.version(n)}' for n in names))"],
        capture_output=True, text=True, env=env()).stdout.strip()
    valgrind = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
    return (f"# {time.strftime('%Y-%m-%d %H:%M')} {platform.system()} {platform.machine()}, nproc {os.cpu_count()}, "
            f"load {' '.join(load)}; {valgrind} --tool=cachegrind --cache-sim=no\n# {versions}")


def mi(value: float) -> str:
    """Instructions, in millions (M) or thousands (k)."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:.3f} M"
    return f"{value / 1e3:.1f} k"
