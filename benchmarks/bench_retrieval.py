"""Per-retrieval overhead of the vector-store instrumentations, side by side, per store.

Stores and the call timed (each in memory or on a temp dir, 500 vectors of 64 dimensions, top 5):

    faiss    index.search(q, 5) on an IndexFlatL2
    qdrant   client.query_points("docs", query=q, limit=5), QdrantClient(":memory:")
    chroma   collection.query(query_embeddings=[q], n_results=5), EphemeralClient
    lancedb  table.search(q).limit(5).to_list(), lancedb.connect(tmpdir)

Configurations, each measured in its own process (``--worker STORE CONFIG``):

    bare        the library call, no telemetry
    floor       the bare call plus one hand-written span with the attributes llm_otel sets
                (GenAI retrieval + db.*) and llm_otel's two metric points (the "OTel SDK floor")
    llm_otel    llm_otel's instrumentor for the store
    openllmetry OpenLLMetry's instrumentor (chromadb, qdrant, lancedb: it has none for FAISS)

Every worker installs the same SDK globals as ``bench_providers_wall.py`` (TracerProvider +
SimpleSpanProcessor into a counting no-op exporter, MeterProvider + InMemoryMetricReader),
warms up, then times N calls with the GC paused and checks that every call made a span.
Workers run interleaved, order rotated each round. Content capture is off everywhere
(``TRACELOOP_TRACE_CONTENT=false`` for OpenLLMetry).

Wall time on a shared machine is noisy (+-20 %); ``--cachegrind`` also counts instructions per
call with valgrind's cachegrind (the worker runs twice, N and 2N calls, and the difference is
divided by N, so start-up and imports cancel out).

    python benchmarks/bench_retrieval.py [--stores faiss,qdrant] [--rounds 5] [--calls 300]
    python benchmarks/bench_retrieval.py --cachegrind --stores faiss,qdrant
    python benchmarks/bench_retrieval.py --cachegrind --rounds 0      # instruction counts only

The workers run under ``.venv-bench-retrieval/`` (created on first use from
``benchmarks/requirements-retrieval-peers.txt`` plus ``pip install -e .``) or ``--python PATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _measure import count_process
from _measure import per_call as count_per_call
from bench_providers_wall import _metric_points, _sdk_globals, cpu_hogs, cpu_model, ensure_venv, loadavg

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = Path(__file__).resolve().parent / "requirements-retrieval-peers.txt"
VENV = ROOT / ".venv-bench-retrieval"
STORES = ("faiss", "qdrant", "chroma", "lancedb")
CONFIGS = ("bare", "floor", "llm_otel", "openllmetry")
PEERLESS = {"faiss"}
DIM, ROWS, TOP_K = 64, 500, 5
TARGET_FLOOR = 1.3


# ============================================================================ worker side


def _vectors() -> Any:
    import numpy as np

    return np.random.default_rng(3).random((ROWS, DIM), dtype=np.float32)


def _setup(store: str) -> tuple[Callable[[], Any], Callable[[Any], int], str]:
    """(the call, how many documents a result holds, the collection name) for one store."""
    vectors = _vectors()
    query = vectors[0] + 0.01
    if store == "faiss":
        import faiss

        faiss.omp_set_num_threads(1)  # one query row: OpenMP threads spinning between calls would only add noise
        index = faiss.IndexFlatL2(DIM)
        index.add(vectors)
        q = query.reshape(1, -1)
        return (lambda: index.search(q, TOP_K)), (lambda r: int((r[1] >= 0).sum())), ""
    if store == "qdrant":
        from qdrant_client import QdrantClient, models

        client = QdrantClient(":memory:")
        client.create_collection("docs", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE))
        client.upsert("docs", points=[models.PointStruct(id=i, vector=v.tolist()) for i, v in enumerate(vectors)])
        q = query.tolist()
        return (lambda: client.query_points("docs", query=q, limit=TOP_K)), (lambda r: len(r.points)), "docs"
    if store == "chroma":
        import chromadb
        from chromadb.config import Settings

        collection = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False)).create_collection("docs")
        collection.add(ids=[f"d{i}" for i in range(ROWS)], embeddings=vectors)
        q = [query.tolist()]
        return (lambda: collection.query(query_embeddings=q, n_results=TOP_K)), (
            lambda r: sum(len(row) for row in r["ids"])), "docs"
    if store == "lancedb":
        import lancedb

        table = lancedb.connect(tempfile.mkdtemp()).create_table(
            "docs", data=[{"id": f"d{i}", "vector": v.tolist()} for i, v in enumerate(vectors)])
        q = query.tolist()
        return (lambda: table.search(q).limit(TOP_K).to_list()), len, "docs"
    raise SystemExit(f"unknown store {store}")


def _floor(call: Callable[[], Any], count: Callable[[Any], int], store: str, collection: str) -> Callable[[], Any]:
    """The same span and metric points as llm_otel's retrieval, written by hand with the SDK."""
    from llm_otel import _semconv as sc
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind

    system = {"chroma": sc.DB_SYSTEM_CHROMA}.get(store, store)
    tracer = trace.get_tracer("floor")
    meter = metrics.get_meter("floor")
    duration = meter.create_histogram(sc.METRIC_OPERATION_DURATION, unit="s",
                                      explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS))
    documents = meter.create_histogram(sc.METRIC_RETRIEVAL_DOCUMENTS, unit="{document}",
                                       explicit_bucket_boundaries_advisory=list(sc.DOCUMENT_COUNT_BUCKETS))
    source = collection or "IndexFlatL2"
    start = {sc.GEN_AI_OPERATION_NAME: sc.OP_RETRIEVAL, sc.GEN_AI_DATA_SOURCE_ID: source,
             sc.GEN_AI_PROVIDER_NAME: system, sc.GEN_AI_RETRIEVAL_TOP_K: TOP_K}
    name = f"{sc.OP_RETRIEVAL} {source}"
    operation = {"qdrant": "query_points", "chroma": "query"}.get(store, "search")
    perf = time.perf_counter

    def floor() -> Any:
        t0 = perf()
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=start) as span:
            result = call()
            n = count(result)
            attrs = {sc.GEN_AI_OPERATION_NAME: sc.OP_RETRIEVAL, sc.GEN_AI_PROVIDER_NAME: system}
            duration.record(perf() - t0, attrs)
            documents.record(n, attrs)
            end = {sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT: n, sc.DB_SYSTEM_NAME: system,
                   sc.DB_OPERATION_NAME: operation, sc.DB_RESPONSE_RETURNED_ROWS: n}
            if collection:
                end[sc.DB_COLLECTION_NAME] = collection
            span.set_attributes(end)
        return result

    return floor


def _instrument(store: str, config: str) -> None:
    if config == "llm_otel":
        from llm_otel.instrumentors.chromadb import ChromaInstrumentor
        from llm_otel.instrumentors.faiss import FaissInstrumentor
        from llm_otel.instrumentors.lancedb import LanceDBInstrumentor
        from llm_otel.instrumentors.qdrant import QdrantInstrumentor

        ours = {"faiss": FaissInstrumentor, "qdrant": QdrantInstrumentor, "chroma": ChromaInstrumentor,
                "lancedb": LanceDBInstrumentor}
        ours[store]().instrument()
    elif config == "openllmetry":
        if store == "chroma":
            from opentelemetry.instrumentation.chromadb import ChromaInstrumentor as Peer
        elif store == "qdrant":
            from opentelemetry.instrumentation.qdrant import QdrantInstrumentor as Peer
        elif store == "lancedb":
            from opentelemetry.instrumentation.lancedb import LanceInstrumentor as Peer
        else:
            raise SystemExit(f"OpenLLMetry has no {store} instrumentation")
        Peer().instrument()


def run_worker(store: str, config: str, calls: int, warmup: int) -> None:
    import gc

    exporter, reader, _ = _sdk_globals()
    _instrument(store, config)
    call, count, collection = _setup(store)
    if config == "floor":
        call = _floor(call, count, store, collection)
    for _ in range(warmup):
        call()
    spans_before = exporter.count
    gc.collect()
    gc.disable()
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(calls):
            call()
        t1, c1 = time.perf_counter(), time.process_time()
    finally:
        gc.enable()
    spans = exporter.count - spans_before
    if config != "bare" and spans < calls:
        raise SystemExit(f"{store}/{config}: only {spans} spans for {calls} calls: not instrumented? {exporter.names}")
    points, _ = _metric_points(reader)
    print(json.dumps({"store": store, "config": config, "us": (t1 - t0) / calls * 1e6,
                      "cpu_us": (c1 - c0) / calls * 1e6, "spans_per_call": spans / calls,
                      "span_names": exporter.names, "span_attributes": exporter.last_attributes,
                      "metric_points": points}))


# ============================================================================ parent side


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TRACELOOP_", "LLM_OTEL_"))}
    env.update({"TRACELOOP_TRACE_CONTENT": "false", "PYTHONDONTWRITEBYTECODE": "1"})
    return env


def _worker_cmd(python: str, store: str, config: str, calls: int, warmup: int) -> list[str]:
    return [python, str(Path(__file__).resolve()), "--worker", store, config, "--calls", str(calls),
            "--warmup", str(warmup)]


def run_one(python: str, store: str, config: str, args: argparse.Namespace) -> dict[str, Any]:
    proc = subprocess.run(_worker_cmd(python, store, config, args.calls, args.warmup), capture_output=True,
                          text=True, env=_env(), cwd=str(ROOT))
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"worker {store}/{config} failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def instructions(python: str, store: str, config: str, calls: int, warmup: int) -> int:
    """Instructions executed by the whole worker (all threads), counted by cachegrind."""
    # one OpenMP thread: FAISS's pool threads spin while they wait, a number of instructions that differs
    # from run to run (with the default pool a FAISS search counted 54 k one run and 76 k the next)
    env = {**_env(), "OMP_NUM_THREADS": "1"}
    return count_process(_worker_cmd(python, store, config, calls, warmup), env, f"{store}/{config}")


def configs_for(store: str) -> list[str]:
    return [c for c in CONFIGS if not (c == "openllmetry" and store in PEERLESS)]


def report(store: str, rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    print(f"\n## {store}: per retrieval, median of {len(rows['bare'])} rounds (min..max); overhead = config - bare")
    print(f"{'config':<12} {'wall us':>9} {'min..max':>19} {'overhead':>9} {'cpu us':>9} {'min..max':>19} "
          f"{'overhead':>9} {'spans/call':>10} {'span attrs':>10}")
    for clock in ("us", "cpu_us"):
        med = {c: statistics.median(r[clock] for r in runs) for c, runs in rows.items()}
        out[clock] = {"median": med, "overhead": {c: med[c] - med["bare"] for c in med},
                      "min": {c: min(r[clock] for r in runs) for c, runs in rows.items()},
                      "max": {c: max(r[clock] for r in runs) for c, runs in rows.items()}}
    for c in rows:
        cells = [f"{out[k]['median'][c]:>9.1f} {out[k]['min'][c]:>9.1f}..{out[k]['max'][c]:<9.1f} "
                 f"{out[k]['overhead'][c]:>9.1f}" for k in ("us", "cpu_us")]
        last = rows[c][-1]
        print(f"{c:<12} {cells[0]} {cells[1]} {last['spans_per_call']:>10.2f} {last['span_attributes']:>10}")
    for clock in ("us", "cpu_us"):
        over = out[clock]["overhead"]
        if over["floor"] > 0:
            ratio = over["llm_otel"] / over["floor"]
            print(f"{clock}: llm_otel / floor overhead = {ratio:.2f}x (target <= {TARGET_FLOOR}x)")
        if "openllmetry" in over and over["llm_otel"] > 0:
            print(f"{clock}: OpenLLMetry / llm_otel overhead = {over['openllmetry'] / over['llm_otel']:.2f}x")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", nargs=2, metavar=("STORE", "CONFIG"))
    parser.add_argument("--stores", default=",".join(STORES))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--python", help="interpreter with the stores and OpenLLMetry installed")
    parser.add_argument("--cachegrind", action="store_true", help="also count instructions per call")
    parser.add_argument("--cg-calls", type=int, default=200)
    args = parser.parse_args()
    if args.worker:
        run_worker(*args.worker, calls=args.calls, warmup=args.warmup)
        return
    python = args.python or str(ensure_venv(VENV, REQUIREMENTS))
    print(f"# {cpu_model()}, {os.cpu_count()} cores, load {loadavg()}, busy: {', '.join(cpu_hogs()) or 'none'}")
    summary: dict[str, Any] = {}
    for store in args.stores.split(","):
        configs = configs_for(store)
        rows: dict[str, list[dict[str, Any]]] = {c: [] for c in configs}
        for r in range(args.rounds):
            for config in configs[r % len(configs):] + configs[: r % len(configs)]:
                rows[config].append(run_one(python, store, config, args))
        summary[store] = report(store, rows) if args.rounds else {}
        if args.cachegrind:
            n = args.cg_calls
            per_call = count_per_call(lambda c, k, store=store: instructions(python, store, c, k, 20), configs, n)
            summary[store]["instructions_per_call"] = per_call
            print(f"instructions per call (cachegrind, ({2 * n} - {n} calls) / {n}):")
            for c, ir in per_call.items():
                print(f"  {c:<12} {ir:>12,.0f}   overhead {ir - per_call['bare']:>10,.0f}")
    print(f"\n# load after: {loadavg()}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
