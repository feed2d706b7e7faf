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
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import apis, engine
from .engine import LocalLLMConfig

engine.ROUTERS.extend(r for r in apis.ROUTERS if r not in engine.ROUTERS)  # further provider APIs

__all__ = ["LocalLLMServer", "RecordedRequest"]


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

    def _serve(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
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
        self.requests: list[RecordedRequest] = []
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

    def clear_requests(self) -> None:
        with self._requests_lock:
            self.requests.clear()
