"""HTTP layer of the local LLM: a ThreadingHTTPServer speaking HTTP/1.1.

Keep-alive connections, ``Content-Length`` bodies for plain responses and
``Transfer-Encoding: chunked`` for server-sent events.  All response content
comes from :func:`llm_otel_tools.local_llm.engine.handle`; this module only applies
the timing (latency, time to first token, chunk delay) and the connection
drop of the "broken" behaviour.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import apis, engine
from .engine import LocalLLMConfig

engine.ROUTERS.extend(r for r in apis.ROUTERS if r not in engine.ROUTERS)  # further provider APIs

__all__ = ["LocalLLMServer", "RecordedRequest"]

MAX_BODY_BYTES = 8 * 1024 * 1024
"""Default largest request body (413 beyond): an LLM request with a few images fits."""
MAX_RECORDED_REQUESTS = 1000
MAX_RECORDED_BYTES = 64 * 1024 * 1024
"""Default bounds of the request log: the oldest requests go first when either is exceeded."""
BODY_TIMEOUT_S = 10.0
"""How long a client may take to send the body it declared before the request is refused (408)."""


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = field(repr=False)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.owner.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _refuse(self, status: int, message: str) -> None:
        """An error answer after which the connection closes (any unread body stays unread)."""
        body = json.dumps({"error": {"type": "invalid_request_error", "message": message}}).encode()
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self) -> bytes | None:
        """The request body, read only up to the server's limit and only as long as declared; None after a
        refusal (411 chunked, 400 bad or short Content-Length, 413 too large, 408 too slow)."""
        limit = self.server.owner.max_body_bytes
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._refuse(411, "send the body with a Content-Length")
            return None
        declared = self.headers.get_all("Content-Length") or []
        if len(set(declared)) > 1 or not all(v.strip().isdigit() for v in declared):
            self._refuse(400, "invalid Content-Length")
            return None
        length = int(declared[0]) if declared else 0
        if length > limit:
            self._refuse(413, f"request body of {length} bytes exceeds the limit of {limit} bytes")
            return None
        if not length:
            return b""
        timeout = self.server.owner.body_timeout_s
        self.connection.settimeout(timeout)
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            self._refuse(408, f"request body not received within {timeout:g}s")
            return None
        finally:
            self.connection.settimeout(None)
        if len(body) != length:
            self._refuse(400, f"request body shorter than its Content-Length ({len(body)} < {length})")
            return None
        return body

    def _serve(self) -> None:
        owner = self.server.owner
        body = self._read_body()
        if body is None:
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        owner._record(RecordedRequest(self.command, self.path, headers, body))
        reply = engine.handle(self.command, self.path, headers, body, owner.config, now=int(time.time()))
        stopping = owner._stopping
        try:
            if not reply.is_stream:
                if stopping.wait(reply.latency_ms / 1000):
                    self.close_connection = True
                    return
                self._start(reply, {"Content-Length": str(len(reply.body))})
                if reply.broken:  # promise the whole body, deliver half, hang up
                    self.wfile.write(reply.body[: len(reply.body) // 2])
                    self._drop()
                    return
                self.wfile.write(reply.body)
                return
            if stopping.wait(reply.ttft_ms / 1000):
                self.close_connection = True
                return
            self._start(reply, {"Transfer-Encoding": "chunked"})
            for i, frame in enumerate(reply.events or []):
                if i and reply.chunk_delay_ms and stopping.wait(reply.chunk_delay_ms / 1000):
                    self._drop()
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            if reply.broken:  # no terminating zero-length chunk: incomplete body
                self._drop()
                return
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    def _start(self, reply: engine.Reply, extra: dict[str, str]) -> None:
        self.send_response(reply.status)
        for k, v in {**reply.headers, **extra}.items():
            self.send_header(k, v)
        self.end_headers()

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], owner: LocalLLMServer) -> None:
        self.owner = owner
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients closing keep-alive or half-read streams is normal here (tests close early).
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self) -> None:
        with self._conns_lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class LocalLLMServer:
    """Deterministic OpenAI + Anthropic compatible server on a local port.

    >>> with LocalLLMServer() as srv:            # port 0 = any free port
    ...     client = openai.OpenAI(base_url=srv.openai_base_url, api_key="x")
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency_ms: float = 0.0,
        ttft_ms: float = 0.0,
        chunk_delay_ms: float = 0.0,
        slow_ms: float = 3000.0,
        cache_min_words: int = 32,
        broken_after_events: int = 3,
        fixed_time: int | None = None,
        config: LocalLLMConfig | None = None,
        verbose: bool = False,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_recorded_requests: int = MAX_RECORDED_REQUESTS,
        max_recorded_bytes: int = MAX_RECORDED_BYTES,
    ) -> None:
        self.host, self.port = host, port
        self.config = config or LocalLLMConfig(
            latency_ms=latency_ms,
            ttft_ms=ttft_ms,
            chunk_delay_ms=chunk_delay_ms,
            slow_ms=slow_ms,
            cache_min_words=cache_min_words,
            broken_after_events=broken_after_events,
            fixed_time=fixed_time,
        )
        self.verbose = verbose
        self.max_body_bytes = max_body_bytes
        self.max_recorded_requests = max_recorded_requests
        self.max_recorded_bytes = max_recorded_bytes
        self.body_timeout_s = BODY_TIMEOUT_S
        # The most recent requests, oldest first (bounded by count and by body bytes).
        self.requests: deque[RecordedRequest] = deque()
        self._recorded_bytes = 0
        self._requests_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> LocalLLMServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _Server((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="local-llm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_all_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LocalLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("LocalLLMServer is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return self.base_url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.base_url

    @property
    def mistral_base_url(self) -> str:
        return self.base_url + "/mistral"  # Mistral's paths are OpenAI's: a prefix tells them apart

    # -- request log ---------------------------------------------------------
    def _record(self, req: RecordedRequest) -> None:
        with self._requests_lock:
            self.requests.append(req)
            self._recorded_bytes += len(req.body)
            while self.requests and (
                len(self.requests) > self.max_recorded_requests or self._recorded_bytes > self.max_recorded_bytes
            ):
                self._recorded_bytes -= len(self.requests.popleft().body)

    def clear_requests(self) -> None:
        with self._requests_lock:
            self.requests.clear()
            self._recorded_bytes = 0
