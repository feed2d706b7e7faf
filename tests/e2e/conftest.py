"""Session fixture: the real pipeline (Collector, Jaeger, Prometheus, Alertmanager) on free ports.

The stack is started with the test variant of the configs (`fast=True`: 1s scrape and rule evaluation,
alert `for:` set to 0s, 1s Alertmanager grouping, 1s tail-sampling decision wait). A missing component
FAILS the session with the command that installs it; nothing here skips.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from llm_otel_tools.stack import Endpoints, Stack, StackError

from tests.support import attr_dict as attr_dict  # re-exported: suites import it from here
from tests.support import jaeger_trace_spans, poll


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


class Pipeline:
    """The running stack plus the queries the tests need."""

    poll = staticmethod(poll)

    def __init__(self, stack: Stack, endpoints: Endpoints):
        self.stack = stack
        self.endpoints = endpoints

    # Jaeger (api_v3, OTLP JSON)
    def trace_spans(self, trace_id: str) -> list[dict[str, Any]]:
        """All spans of one trace with `service` added, or [] when Jaeger does not have it (yet)."""
        return jaeger_trace_spans(self.endpoints.jaeger_query, trace_id)

    def settled_traces(self, trace_ids: list[str], quiet: float = 2.0, timeout: float = 60.0) -> dict[str, list[dict[str, Any]]]:
        """Every trace as Jaeger holds it once it has stopped growing: all present, and the same span
        counts in two reads `quiet` seconds apart. Spans reach Jaeger in several batches (the SDK's,
        the Collector's, a tail-sampling decision per batch), so one read right after traffic can see
        a trace without its last spans."""
        last: dict[str, int] | None = None
        deadline = time.monotonic() + timeout
        while True:
            traces = {t: self.trace_spans(t) for t in trace_ids}
            counts = {t: len(spans) for t, spans in traces.items()}
            if counts == last and all(counts.values()):
                return traces
            if time.monotonic() >= deadline:
                missing = [t for t, n in counts.items() if not n]
                pytest.fail(f"Jaeger's traces still changing after {timeout:.0f}s: {len(missing)} of {len(counts)} "
                            f"absent ({missing[:5]}), counts {counts}")
            last = counts
            time.sleep(quiet)

    def wait_trace(self, trace_id: str, n_spans: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        return poll(lambda: (s := self.trace_spans(trace_id)) and len(s) >= n_spans and s,
                    timeout=timeout, what=f"{n_spans} spans of trace {trace_id} in Jaeger")

    # Prometheus
    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"{self.endpoints.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        data = get_json(url)
        assert data["status"] == "success", data
        return data["data"]["result"]

    def wait_query(self, promql: str, predicate: Callable[[list[dict[str, Any]]], bool] = bool, timeout: float = 60.0) -> list[dict[str, Any]]:
        return poll(lambda: (r := self.query(promql)) and predicate(r) and r, timeout=timeout, what=f"Prometheus: {promql}")

    # Collector own metrics (Prometheus text format)
    def collector_metric(self, name: str, **labels: str) -> float:
        with urllib.request.urlopen(f"{self.endpoints.collector_metrics}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        total = 0.0
        for line in text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total


class Webhook:
    """A local Alertmanager webhook receiver that keeps every notification it gets."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        received = self.payloads

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/llm-otel/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def alerts(self) -> list[dict[str, Any]]:
        return [alert for p in list(self.payloads) for alert in p.get("alerts", [])]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory, webhook: Webhook) -> Iterator[Pipeline]:
    stack = Stack(tmp_path_factory.mktemp("stack"))
    try:
        endpoints = stack.up(free_ports=True, fast=True, webhook_url=webhook.url)
    except StackError as exc:
        pytest.fail(f"cannot start the pipeline: {exc}", pytrace=False)
    try:
        yield Pipeline(stack, endpoints)
    finally:
        stack.down()


@pytest.fixture(scope="module")
def pipeline_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Pipeline]]:
    """Starts a stack of the module's own (free ports, test variant) under extra environment variables.

    For tests that reconfigure the Collector (auth, TLS, limits) or kill its processes, so the shared
    session `pipeline` stays as it is. The variables stay set until the module ends, so a process the
    test restarts (``stack.start``) gets the same configuration.
    """
    env = pytest.MonkeyPatch()
    stacks: list[Stack] = []

    def start(variables: dict[str, str] | None = None, **up: Any) -> Pipeline:
        for name, value in (variables or {}).items():
            env.setenv(name, value)
        stack = Stack(tmp_path_factory.mktemp("own-stack"))
        stacks.append(stack)
        try:
            endpoints = stack.up(free_ports=True, fast=True, **up)
        except StackError as exc:
            pytest.fail(f"cannot start the pipeline: {exc}", pytrace=False)
        return Pipeline(stack, endpoints)

    try:
        yield start
    finally:
        for stack in stacks:
            stack.down()
        env.undo()
