"""A small instrumented HTTP service for the pipeline e2e tests, configured ONLY through OTEL_* variables
(llm_otel.configure(): the real SDK, BatchSpanProcessor and OTLP exporter, whatever the variables say).

    python tests/e2e/apps/steady_app.py serve <port>   GET /work: one trace of SPANS_PER_REQUEST spans,
                                                       answers {"trace_id": ...}; GET /health; SIGTERM flushes
    python tests/e2e/apps/steady_app.py once           one trace, flushed; prints its id and the export result

Plain OTel spans (no gen_ai content): what the pipeline must carry does not depend on what the spans hold.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import llm_otel
from opentelemetry import trace
from opentelemetry.trace import SpanKind

SPANS_PER_REQUEST = 2

configuration = llm_otel.configure(service_name="steady-app")
tracer = trace.get_tracer("steady-app")


def one_trace(route: str) -> str:
    with tracer.start_as_current_span(f"GET {route}", kind=SpanKind.SERVER) as server:
        with tracer.start_as_current_span("work step"):
            time.sleep(0.002)
        return format(server.get_span_context().trace_id, "032x")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            body = b"{}"
        elif self.path == "/work":
            body = json.dumps({"trace_id": one_trace("/work")}).encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def serve(port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)

    def stop(*_: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print("READY", flush=True)
    server.serve_forever()
    configuration.tracer_provider.shutdown()  # flushes what the BatchSpanProcessor still holds


def once() -> None:
    trace_id = one_trace("/once")
    flushed = configuration.tracer_provider.force_flush(15_000)
    print(json.dumps({"trace_id": trace_id, "flushed": flushed}), flush=True)
    configuration.tracer_provider.shutdown()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        once()
