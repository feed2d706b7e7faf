"""Per-run overhead of framework instrumentations: llm_otel vs OpenInference vs OpenLLMetry.

One "run" per framework, the same in every configuration, through the in-process local LLM
(``llm_otel_tools.local_llm.transport``, no sockets):

    langgraph    a LangGraph react agent (ChatOpenAI, one tool): 2 model calls, 1 tool run
    llama_index  a query engine over an in-memory VectorStoreIndex: 1 query embedding, 1 chat
    agents       an Agents SDK agent with two function tools and a handoff: 2 model calls, 2 tools, 1 handoff

Configurations, each in its own process (``--worker FRAMEWORK CONFIG``):

    bare         the framework, no instrumentation
    llm_otel     llm_otel's framework instrumentor plus its OpenAI SDK instrumentor (what configure() turns
                 on; the SDK calls merge into the framework's model spans)
    openinference  openinference-instrumentation-{langchain,llama-index,openai-agents}
    openllmetry  opentelemetry-instrumentation-{langchain,llamaindex,openai-agents} (Traceloop)

Every worker installs the same SDK globals (TracerProvider + SimpleSpanProcessor into a counting
no-op exporter, MeterProvider + InMemoryMetricReader, LoggerProvider) and, for the Agents SDK, clears
the SDK's own trace processors first (its default one would export to OpenAI: all runs stay offline).
It warms up, then measures N runs with the garbage collector paused: CPU time (``process_time``, less
disturbed by the other processes on a shared machine than wall time) and wall time per run. Workers
run interleaved, the order rotated each round. Content capture is off everywhere
(TRACELOOP_TRACE_CONTENT=false, OPENINFERENCE_HIDE_INPUTS/OUTPUTS=true).

The peers pin their own dependencies, so the workers run under ``.venv-bench-frameworks/`` (repo root),
created on first use from ``benchmarks/requirements-frameworks.txt`` plus ``pip install -e .[test]``;
``--python PATH`` uses an interpreter that already has them.

    python benchmarks/bench_frameworks.py [--rounds 5] [--runs 200] [--frameworks langgraph,agents]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = Path(__file__).resolve().parent / "requirements-frameworks.txt"
VENV = ROOT / ".venv-bench-frameworks"
FRAMEWORKS = ("langgraph", "llama_index", "agents")
CONFIGS = ("bare", "llm_otel", "openinference", "openllmetry")
PEERS = {
    ("langgraph", "openinference"): ("openinference.instrumentation.langchain", "LangChainInstrumentor"),
    ("langgraph", "openllmetry"): ("opentelemetry.instrumentation.langchain", "LangchainInstrumentor"),
    ("llama_index", "openinference"): ("openinference.instrumentation.llama_index", "LlamaIndexInstrumentor"),
    ("llama_index", "openllmetry"): ("opentelemetry.instrumentation.llamaindex", "LlamaIndexInstrumentor"),
    ("agents", "openinference"): ("openinference.instrumentation.openai_agents", "OpenAIAgentsInstrumentor"),
    ("agents", "openllmetry"): ("opentelemetry.instrumentation.openai_agents", "OpenAIAgentsInstrumentor"),
}
OURS = {
    "langgraph": ("llm_otel.instrumentors.langchain", "LangChainInstrumentor"),
    "llama_index": ("llm_otel.instrumentors.llama_index", "LlamaIndexInstrumentor"),
    "agents": ("llm_otel.instrumentors.openai_agents", "OpenAIAgentsInstrumentor"),
}


# ============================================================================ worker side


def _sdk_globals() -> Any:
    from opentelemetry import _logs, metrics, trace
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class CountingExporter(SpanExporter):
        def __init__(self) -> None:
            self.names: dict[str, int] = {}

        def export(self, spans: Any) -> SpanExportResult:
            for span in spans:
                self.names[span.name] = self.names.get(span.name, 0) + 1
            return SpanExportResult.SUCCESS

    exporter = CountingExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    _logs.set_logger_provider(LoggerProvider())
    return exporter


def _instrument(framework: str, config: str) -> None:
    import importlib

    if config == "bare":
        return
    if config == "llm_otel":
        from llm_otel.instrumentors.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
        module, cls = OURS[framework]
    else:
        module, cls = PEERS[(framework, config)]
    getattr(importlib.import_module(module), cls)().instrument()


def _langgraph_run() -> Any:
    import httpx
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI
    from langgraph.prebuilt import create_react_agent
    from llm_otel_tools.local_llm.transport import LocalLLMTransport

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    llm = ChatOpenAI(model="gpt-4o-mini", base_url="http://local/v1", api_key="x",  # type: ignore[arg-type]
                     max_retries=0, http_client=httpx.Client(transport=LocalLLMTransport()))
    agent = create_react_agent(llm, [get_weather])
    question = {"messages": [("user", "weather in Paris")]}
    return lambda: agent.invoke(question)


def _llama_index_run() -> Any:
    import httpx
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.embeddings.openai import OpenAIEmbedding
    from llama_index.llms.openai import OpenAI
    from llm_otel_tools.local_llm.transport import LocalLLMTransport

    client = httpx.Client(transport=LocalLLMTransport())
    embed = OpenAIEmbedding(model="text-embedding-3-small", api_base="http://local/v1", api_key="x",
                            max_retries=0, http_client=client)
    docs = [Document(text=t) for t in ("Paris is the capital of France.", "Rome is the capital of Italy.",
                                       "Bananas are yellow and sweet.")]
    index = VectorStoreIndex.from_documents(docs, embed_model=embed)
    llm = OpenAI(model="gpt-4o-mini", api_base="http://local/v1", api_key="x", max_retries=0, http_client=client)
    engine = index.as_query_engine(llm=llm, similarity_top_k=2)
    return lambda: engine.query("What is the capital of France?")


def _agents_run() -> Any:
    import asyncio

    import httpx
    from agents import Agent, Runner, function_tool, set_default_openai_client
    from llm_otel_tools.local_llm.transport import AsyncLocalLLMTransport
    from openai import AsyncOpenAI

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    @function_tool
    def get_time(city: str) -> str:
        """The local time in a city."""
        return f"10:00 in {city}"

    set_default_openai_client(AsyncOpenAI(base_url="http://local/v1", api_key="x", max_retries=0,
                                          http_client=httpx.AsyncClient(transport=AsyncLocalLLMTransport())),
                              use_for_tracing=False)
    booking = Agent(name="Booking agent", instructions="Book trips.", model="gpt-4o-mini")
    triage = Agent(name="Triage agent", instructions="Help travellers.", model="gpt-4o-mini",
                   tools=[get_weather, get_time], handoffs=[booking])
    loop = asyncio.new_event_loop()
    question = "Transfer to booking agent after the weather and time in Paris"
    return lambda: loop.run_until_complete(Runner.run(triage, question))


RUNS = {"langgraph": _langgraph_run, "llama_index": _llama_index_run, "agents": _agents_run}


def run_worker(framework: str, config: str, runs: int, warmup: int) -> None:
    exporter = _sdk_globals()
    if framework == "agents":
        from agents import set_trace_processors

        set_trace_processors([])  # no export to OpenAI in any configuration
    _instrument(framework, config)
    run = RUNS[framework]()
    for _ in range(warmup):
        run()
    exporter.names.clear()
    gc.collect()
    gc.disable()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(runs):
        run()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    gc.enable()
    spans = {name: count // runs for name, count in sorted(exporter.names.items())}
    print(json.dumps({"framework": framework, "config": config, "cpu_us": cpu / runs * 1e6,
                      "wall_us": wall / runs * 1e6, "spans_per_run": spans}))


# ============================================================================ parent side


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]", "-r", str(REQUIREMENTS)],
                       check=True)
    return python


def _worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    env.update({"TRACELOOP_TRACE_CONTENT": "false", "OPENINFERENCE_HIDE_INPUTS": "true",
                "OPENINFERENCE_HIDE_OUTPUTS": "true", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false",
                "PYTHONWARNINGS": "ignore", "TRACELOOP_TELEMETRY": "false"})
    return env


def _worker_cmd(python: str, framework: str, config: str, runs: int, warmup: int) -> list[str]:
    return [python, __file__, "--worker", framework, config, "--runs", str(runs), "--warmup", str(warmup)]


def run_one(python: str, framework: str, config: str, args: argparse.Namespace) -> dict[str, Any]:
    proc = subprocess.run(_worker_cmd(python, framework, config, args.runs, args.warmup), env=_worker_env(),
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"worker {framework}/{config} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=2, metavar=("FRAMEWORK", "CONFIG"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--python", help="interpreter with the frameworks and peers installed")
    parser.add_argument("--cachegrind", action="store_true", help="instructions per run instead of CPU time")
    parser.add_argument("--cg-runs", type=int, default=40, help="N of the (2N - N) / N count (the start-up of ~12 G instructions jitters by ~0.06 %%: ~7 M, divided by N)")
    parser.add_argument("--repeats", type=int, default=2, help="counted runs per configuration (they should agree)")
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker[0], args.worker[1], args.runs, args.warmup)
        return
    python = args.python or str(ensure_venv())
    frameworks = [f for f in args.frameworks.split(",") if f]
    if args.cachegrind:
        counted(python, frameworks, args)
        return
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rnd in range(args.rounds):
        order = CONFIGS[rnd % len(CONFIGS):] + CONFIGS[:rnd % len(CONFIGS)]
        for framework in frameworks:
            for config in order:
                result = run_one(python, framework, config, args)
                results.setdefault((framework, config), []).append(result)
                print(f"round {rnd + 1} {framework:11} {config:13} cpu {result['cpu_us']:9.0f} us/run  "
                      f"wall {result['wall_us']:9.0f} us/run", file=sys.stderr)
    print("\n| framework | config | spans per run | CPU us/run (median) | overhead vs bare (min..max over rounds) |")
    print("|---|---|---|---|---|")
    for framework in frameworks:
        bare = [r["cpu_us"] for r in results[(framework, "bare")]]
        for config in CONFIGS:
            rows = results[(framework, config)]
            cpu = [r["cpu_us"] for r in rows]
            spans = sum(rows[-1]["spans_per_run"].values())
            if config == "bare":
                over = "-"
            else:
                deltas = [c - b for c, b in zip(cpu, bare, strict=False)]
                over = f"{statistics.median(cpu) - statistics.median(bare):.0f} us ({min(deltas):.0f}..{max(deltas):.0f})"
            print(f"| {framework} | {config} | {spans} | {statistics.median(cpu):.0f} | {over} |")


def counted(python: str, frameworks: list[str], args: argparse.Namespace) -> None:
    """Instructions per run (cachegrind): each worker runs N and 2N times, (Ir(2N) - Ir(N)) / N is one run."""
    from _measure import count_process, counted_table, per_call

    n = args.cg_runs
    print(f"instructions per run (cachegrind, ({2 * n} - {n} runs) / {n}); overhead = config - bare")
    for framework in frameworks:
        def count(config: str, runs: int, framework: str = framework) -> int:
            return count_process(_worker_cmd(python, framework, config, runs, 3), _worker_env(), f"{framework}/{config}")

        counted_table(framework, [per_call(count, list(CONFIGS), n) for _ in range(args.repeats)], versus="llm_otel")


if __name__ == "__main__":
    main()
