"""``llm-otel demo``: the whole pipeline in one command.

1. brings the stack up (Docker compose when an engine runs, local processes otherwise);
2. starts the local OpenAI/Anthropic-compatible LLM server (unless ``OPENAI_BASE_URL`` points
   elsewhere) and the instrumented demo service, both configured only through ``OTEL_*``;
3. sends a realistic traffic mix and prints its summary;
4. waits until Prometheus has scraped every call, then prints the URLs to open and the report.

Everything keeps running afterwards; ``llm-otel stack down`` stops it all.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from llm_otel_tools.stack import Stack, StackError
from llm_otel_tools.stack._stack import DEFAULT_PORTS, Endpoints, find_repo_root

SERVICE_NAME = "llm-otel-demo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _docker_engine() -> bool:
    docker = shutil.which("docker")
    return bool(docker) and subprocess.run([docker, "info"], capture_output=True, check=False).returncode == 0


def _prometheus_value(prometheus: str, query: str) -> float | None:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            result = json.load(response)["data"]["result"]
    except (OSError, ValueError, KeyError):
        return None
    return float(result[0]["value"][1]) if result else 0.0


def wait_for_scrape(prometheus: str, expected_calls: int, timeout: float = 120.0) -> float:
    """Wait until Prometheus counts ``expected_calls`` model calls from the demo service."""
    query = f'sum(gen_ai_client_operation_duration_seconds_count{{job="{SERVICE_NAME}"}})'
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = _prometheus_value(prometheus, query)
        if seen is not None and seen >= expected_calls:
            return seen
        time.sleep(1.0)
    raise StackError(f"Prometheus counted {seen} of {expected_calls} model calls after {timeout:.0f}s ({query})")


def _service_env(endpoints: Endpoints, llm_base_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "OTEL_SERVICE_NAME": SERVICE_NAME,
        "OTEL_RESOURCE_ATTRIBUTES": env.get("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=demo"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoints.otlp_grpc,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_METRIC_EXPORT_INTERVAL": "2000",  # fresh figures for the report within seconds
        "OTEL_BSP_SCHEDULE_DELAY": "500",
        "OPENAI_BASE_URL": llm_base_url,
        "OPENAI_API_KEY": env.get("OPENAI_API_KEY", "sk-local-demo"),
        "LLM_OTEL_EVALUATORS": env.get("LLM_OTEL_EVALUATORS", "all"),  # quality on in the demo
        "LLM_OTEL_OPENAI_INCLUDE_USAGE": env.get("LLM_OTEL_OPENAI_INCLUDE_USAGE", "true"),
    })
    return env


def start_apps(stack: Stack, endpoints: Endpoints) -> dict[str, str]:
    """Start the local LLM (unless OPENAI_BASE_URL is set) and the demo service; return their URLs."""
    urls: dict[str, str] = {}
    llm_base_url = os.environ.get("OPENAI_BASE_URL")
    if not llm_base_url:
        port = _free_port()
        stack.run_app("local-llm", [sys.executable, "-m", "llm_otel_tools.local_llm", "--port", str(port)], dict(os.environ),
                      f"http://127.0.0.1:{port}/v1/models")
        llm_base_url = f"http://127.0.0.1:{port}/v1"
        urls["local LLM (OpenAI/Anthropic API)"] = f"http://127.0.0.1:{port}"
    port = int(os.environ.get("LLM_OTEL_DEMO_PORT", "0")) or _free_port()
    stack.run_app("demo-service", [sys.executable, "-m", "llm_otel_tools.demo.serve", "--host", "127.0.0.1", "--port", str(port)],
                  _service_env(endpoints, llm_base_url), f"http://127.0.0.1:{port}/health")
    urls["demo service"] = f"http://127.0.0.1:{port}"
    return urls


def _print_urls(endpoints: Endpoints, apps: dict[str, str], docker: bool, trace_id: str | None, ui_note: str | None) -> None:
    """What to open, and plainly where a UI is not available locally and what shows the same thing."""
    print("\nOpen:")
    rows = []
    if trace_id:
        rows.append(("Jaeger UI: an example trace", endpoints.jaeger_trace_url(trace_id)))
    rows += [
        ("Jaeger UI: search", endpoints.jaeger_search_url(SERVICE_NAME)),
        ("Prometheus graph", f"{endpoints.prometheus}/graph?g0.expr=gen_ai_client_operation_duration_seconds_count&g0.tab=0"),
        *apps.items(),
    ]
    if docker:
        rows.append(("Alertmanager UI", endpoints.alertmanager))
        rows.append(("Grafana (LLM overview dashboard)", "http://127.0.0.1:3000"))
    width = max(len(name) for name, _ in rows)
    for name, url in rows:
        print(f"  {name:<{width}}  {url}")
    notes = []
    if ui_note:
        notes.append(f"Jaeger serves its API and a placeholder page only: {ui_note}. "
                     f"The same trace in the terminal: llm-otel trace {trace_id or '<trace_id>'}")
    if not docker:
        notes.append("Alertmanager runs without a web UI (Debian's package does not ship it): `llm-otel report` "
                     f"lists the firing alerts; API: {endpoints.alertmanager}/api/v2/alerts")
        notes.append("Grafana is not run locally (Docker only: llm-otel demo --docker): the `llm-otel report` "
                     "table below shows the dashboard's figures; the Prometheus graph page plots any of its queries")
    for note in notes:
        print(f"\nNote: {note}")
    print("\nStop everything: llm-otel stack down\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llm-otel demo", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests the traffic generator sends (default 300)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--state-dir", help="stack state directory (default: <repo>/.state/stack)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--docker", action="store_true", help="use docker compose for the stack")
    mode.add_argument("--local", action="store_true", help="local processes even if a Docker engine runs")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)

    from llm_otel_tools.demo.traffic import run_traffic
    from llm_otel_tools.readside import report

    docker = args.docker or (not args.local and _docker_engine())
    stack = Stack(args.state_dir)
    try:
        if docker:
            from llm_otel_tools.stack._docker import compose

            if compose(find_repo_root(), "up") != 0:
                print("docker compose up failed", file=sys.stderr)
                return 1
            endpoints = Endpoints.from_ports(DEFAULT_PORTS)
            stack.adopt_external(DEFAULT_PORTS)
        else:
            print("Bringing the stack up (first run builds the Collector, Jaeger and its UI: several minutes)...", flush=True)
            endpoints = stack.up()
        apps = start_apps(stack, endpoints)
    except StackError as exc:
        print(f"llm-otel demo: {exc}", file=sys.stderr)
        return 1

    started = time.time()
    summary = run_traffic(apps["demo service"], requests=args.requests, concurrency=args.concurrency, seed=args.seed)
    expected = summary.llm_calls_total()
    try:
        wait_for_scrape(endpoints.prometheus, expected)
    except StackError as exc:
        print(f"llm-otel demo: {exc}", file=sys.stderr)
        return 1
    window = f"{int(time.time() - started) + 60}s"
    ui_note = None if docker else stack.status().get("jaeger_ui_note")
    _print_urls(endpoints, apps, docker, summary.example_trace_id, ui_note)
    return report.main(["--window", window, "--prometheus", endpoints.prometheus, *(["--json"] if args.json else [])])

