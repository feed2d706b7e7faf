"""The local LLM server is bounded: it never reads more than its body limit, never trusts Content-Length
beyond what arrives, and keeps a request log of bounded size. Raw sockets where the client must misbehave,
the real openai SDK where a user would hit the limit."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import openai
import pytest
from llm_otel_tools.local_llm import LocalLLMServer

LIMIT = 4096


@pytest.fixture
def server() -> Iterator[LocalLLMServer]:
    with LocalLLMServer(max_body_bytes=LIMIT, max_recorded_requests=5, max_recorded_bytes=3000) as srv:
        srv.body_timeout_s = 0.5
        yield srv


def raw(server: LocalLLMServer, head: str, body: bytes = b"", *, close_write: bool = False) -> tuple[int, dict]:
    """Send a hand-made request; return the status and the JSON error body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2] or b"{}")


def post_head(length: str, extra: str = "") -> str:
    return f"POST /v1/chat/completions HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: {length}\n{extra}\n"


def client(server: LocalLLMServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_base_url, api_key="test", max_retries=0)


def ask(server: LocalLLMServer, prompt: str) -> str:
    reply = client(server).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}])
    return reply.choices[0].message.content or ""


def test_a_body_over_the_limit_is_refused_before_it_is_read(server: LocalLLMServer):
    # Only the headers are sent: the 413 comes back without the server waiting for 1 GiB.
    started = time.monotonic()
    status, error = raw(server, post_head(str(1 << 30)))
    assert status == 413 and "exceeds the limit" in error["error"]["message"]
    assert time.monotonic() - started < 5
    assert len(server.requests) == 0


def test_the_sdk_sees_413_for_an_oversized_prompt_and_the_server_keeps_serving(server: LocalLLMServer):
    with pytest.raises(openai.APIStatusError) as refused:
        ask(server, "x" * (2 * LIMIT))
    assert refused.value.status_code == 413
    assert ask(server, "hello")  # the next request is served as usual


def test_a_body_shorter_than_its_content_length_is_refused(server: LocalLLMServer):
    status, error = raw(server, post_head("100"), b'{"model": "m"}', close_write=True)
    assert status == 400 and "shorter" in error["error"]["message"]
    assert len(server.requests) == 0


def test_a_body_that_never_comes_is_refused_after_the_body_timeout(server: LocalLLMServer):
    status, _ = raw(server, post_head("100"), b'{"model": "m"}')  # the connection stays open, the body stalls
    assert status == 408


@pytest.mark.parametrize("head", [
    post_head("abc"),
    post_head("-5"),
    post_head("10", "Content-Length: 20\n"),
], ids=["not-a-number", "negative", "conflicting"])
def test_an_invalid_content_length_is_refused(server: LocalLLMServer, head: str):
    status, _ = raw(server, head, b"{}", close_write=True)
    assert status == 400


def test_a_chunked_request_body_is_refused(server: LocalLLMServer):
    head = "POST /v1/chat/completions HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n"
    status, _ = raw(server, head, b"2\r\n{}\r\n0\r\n\r\n")
    assert status == 411


def test_the_request_log_keeps_only_the_most_recent_requests(server: LocalLLMServer):
    for i in range(12):
        ask(server, f"question {i}")
    assert len(server.requests) == 5
    prompts = [r.json()["messages"][0]["content"] for r in server.requests]
    assert prompts == [f"question {i}" for i in range(7, 12)]


def test_the_request_log_is_bounded_in_bytes(server: LocalLLMServer):
    for i in range(6):
        ask(server, f"{i} " + "y" * 1000)
    assert sum(len(r.body) for r in server.requests) <= 3000
    assert server.requests and server.requests[-1].json()["messages"][0]["content"].startswith("5 ")
    server.clear_requests()
    ask(server, "z" * 2000)  # after clearing, the byte budget is whole again
    assert len(server.requests) == 1
