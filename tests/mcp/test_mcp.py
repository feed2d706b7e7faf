"""MCP through the real `mcp` package: a client process and a server process (stdio subprocess and
streamable HTTP on a loopback port), each instrumented only by `llm_otel.configure()` or
`opentelemetry-instrument`, exporting OTLP like to a Collector."""

from __future__ import annotations

import json
import socket
import subprocess

import llm_otel._semconv as sc
import pytest

from tests.mcp.conftest import APPS, PYTHON, free_port, otel_env, python_cmd, run_client
from tests.support import poll

CLIENT, SERVER = "mcp-test-client", "mcp-test-server"


def _wait_for_spans(sink, names_by_service: dict[str, set[str]]) -> None:
    def ready():
        return all(names <= {s["name"] for s in sink.spans if s["service"] == service}
                   for service, names in names_by_service.items())
    poll(ready, timeout=60, what=f"spans {names_by_service}")


def _wait_for_metric(sink, name: str, service: str) -> None:
    poll(lambda: sink.metric(name, service), timeout=60, what=f"{name} from {service}")


def _run_stdio(sink, endpoint: str, *, via_instrument: bool, content: bool = False) -> str:
    env = otel_env(endpoint, configure=not via_instrument, content=content)
    env["MCP_TEST_SERVER_CMD"] = json.dumps(python_cmd(PYTHON, APPS / "mcp_server.py", "stdio",
                                                       via_instrument=via_instrument))
    return run_client(PYTHON, env, "stdio", via_instrument=via_instrument)


def _run_http(sink, endpoint: str, *, via_instrument: bool) -> str:
    port = free_port()
    env = otel_env(endpoint, configure=not via_instrument)
    command = python_cmd(PYTHON, APPS / "mcp_server.py", "http", str(port), via_instrument=via_instrument)
    server = subprocess.Popen(command,
                              env={**env, "OTEL_SERVICE_NAME": SERVER}, stderr=subprocess.PIPE, text=True)
    try:
        def listening():
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0
        poll(listening, timeout=90, what=f"the MCP server on port {port}")
        return run_client(PYTHON, env, "http", f"http://127.0.0.1:{port}/mcp", via_instrument=via_instrument)
    finally:
        server.terminate()  # uvicorn shuts down cleanly on SIGTERM: the SDK flushes at exit
        server.wait(timeout=30)


def _check_trace(sink, transport: str, content: bool = False) -> None:
    """One trace from the client's turn through the server's handler down to the tool's own work."""
    _wait_for_spans(sink, {CLIENT: {"tools/call lookup"}, SERVER: {"tools/call lookup", "retrieval numbers"}})
    turn = sink.span("agent turn", CLIENT)
    call = sink.span("tools/call lookup", CLIENT)
    handled = sink.span("tools/call lookup", SERVER)
    retrieval = sink.span("retrieval numbers", SERVER)
    assert turn["trace_id"] == call["trace_id"] == handled["trace_id"] == retrieval["trace_id"]
    assert call["parent_id"] == turn["span_id"]
    assert handled["parent_id"] == call["span_id"]
    assert retrieval["parent_id"] == handled["span_id"]
    assert handled["kind"] == "SPAN_KIND_SERVER" and call["kind"] == "SPAN_KIND_CLIENT"

    a = call["attributes"]
    assert a[sc.GEN_AI_OPERATION_NAME] == sc.OP_EXECUTE_TOOL and a[sc.GEN_AI_TOOL_NAME] == "lookup"
    assert a[sc.MCP_METHOD_NAME] == sc.MCP_TOOLS_CALL
    assert a[sc.NETWORK_TRANSPORT] == transport
    assert a[sc.MCP_PROTOCOL_VERSION] and a[sc.JSONRPC_REQUEST_ID]
    assert a[sc.JSONRPC_REQUEST_ID] == handled["attributes"][sc.JSONRPC_REQUEST_ID]
    assert (sc.GEN_AI_TOOL_CALL_ARGUMENTS in a) is content  # content is opt-in
    assert handled["attributes"][sc.NETWORK_TRANSPORT] == transport
    if transport == sc.TRANSPORT_TCP:
        assert a[sc.MCP_SESSION_ID] and a[sc.MCP_SESSION_ID] == handled["attributes"][sc.MCP_SESSION_ID]
        assert a[sc.SERVER_ADDRESS] == "127.0.0.1"

    # one client span per request: mcp 2.x's own "MCP send ..." span is replaced, not duplicated
    assert not [s for s in sink.spans if s["name"].startswith("MCP send")]
    # exactly one span per tool call on each side, whichever instrumentation scope (2.x's own server span is enriched)
    for service in (CLIENT, SERVER):
        tool_spans = [s for s in sink.spans if s["service"] == service
                      and s["attributes"].get(sc.MCP_METHOD_NAME) == sc.MCP_TOOLS_CALL]
        assert sorted(s["attributes"][sc.GEN_AI_TOOL_NAME] for s in tool_spans) == ["add", "divide", "lookup"], service
    for method, name in ((sc.MCP_INITIALIZE, "initialize"), (sc.MCP_TOOLS_LIST, "tools/list"),
                         (sc.MCP_RESOURCES_READ, "resources/read"), (sc.MCP_PROMPTS_GET, "prompts/get summarize")):
        client_span = sink.span(name, CLIENT)
        assert client_span["kind"] == "SPAN_KIND_CLIENT" and client_span["attributes"][sc.MCP_METHOD_NAME] == method
        assert client_span["parent_id"] == turn["span_id"]
        assert sink.span(name, SERVER)["parent_id"] == client_span["span_id"]
    assert sink.span("resources/read", CLIENT)["attributes"][sc.MCP_RESOURCE_URI] == "demo://greeting"

    failed = sink.span("tools/call divide", CLIENT)
    assert failed["attributes"][sc.ERROR_TYPE] == sc.ERROR_TYPE_TOOL_ERROR
    assert failed["status"].get("code") == "STATUS_CODE_ERROR"
    assert sink.span("tools/call divide", SERVER)["attributes"][sc.ERROR_TYPE] == sc.ERROR_TYPE_TOOL_ERROR


def _check_metrics(sink, transport: str) -> None:
    _wait_for_metric(sink, sc.METRIC_MCP_CLIENT_OPERATION_DURATION, CLIENT)
    _wait_for_metric(sink, sc.METRIC_MCP_SERVER_OPERATION_DURATION, SERVER)
    _wait_for_metric(sink, sc.METRIC_MCP_CLIENT_SESSION_DURATION, CLIENT)
    calls = sink.metric(sc.METRIC_MCP_CLIENT_OPERATION_DURATION, CLIENT, **{sc.GEN_AI_TOOL_NAME: "lookup"})
    assert calls and calls[-1]["unit"] == "s" and calls[-1]["bounds"] == list(sc.MCP_DURATION_BUCKETS)
    assert calls[-1]["attributes"][sc.NETWORK_TRANSPORT] == transport
    assert calls[-1]["attributes"][sc.MCP_METHOD_NAME] == sc.MCP_TOOLS_CALL
    assert sc.MCP_SESSION_ID not in calls[-1]["attributes"] and sc.JSONRPC_REQUEST_ID not in calls[-1]["attributes"]
    failed = sink.metric(sc.METRIC_MCP_CLIENT_OPERATION_DURATION, CLIENT, **{sc.GEN_AI_TOOL_NAME: "divide"})
    assert failed[-1]["attributes"][sc.ERROR_TYPE] == sc.ERROR_TYPE_TOOL_ERROR
    served = sink.metric(sc.METRIC_MCP_SERVER_OPERATION_DURATION, SERVER, **{sc.MCP_METHOD_NAME: sc.MCP_TOOLS_CALL})
    assert sum(p["count"] for p in served if p["attributes"].get(sc.GEN_AI_TOOL_NAME) == "add") >= 1
    session = sink.metric(sc.METRIC_MCP_CLIENT_SESSION_DURATION, CLIENT)
    assert session[-1]["count"] == 1 and session[-1]["attributes"][sc.NETWORK_TRANSPORT] == transport


def test_stdio_server_subprocess_is_one_trace(receiver):
    """Both processes set up by `llm_otel.configure()` (the KNOWN table)."""
    sink, endpoint = receiver
    out = _run_stdio(sink, endpoint, via_instrument=False)
    assert "ADD 5" in out and "LOOKUP 2" in out and "DIVIDE True" in out  # the app's behaviour is unchanged
    _check_trace(sink, sc.TRANSPORT_PIPE)
    _check_metrics(sink, sc.TRANSPORT_PIPE)
    _wait_for_metric(sink, sc.METRIC_MCP_SERVER_SESSION_DURATION, SERVER)
    session = sink.metric(sc.METRIC_MCP_SERVER_SESSION_DURATION, SERVER)
    assert session[-1]["attributes"][sc.NETWORK_TRANSPORT] == sc.TRANSPORT_PIPE


def test_streamable_http_server_is_one_trace(receiver):
    sink, endpoint = receiver
    out = _run_http(sink, endpoint, via_instrument=False)
    assert "ADD 5" in out and "RESOURCE hello from the MCP server" in out
    _check_trace(sink, sc.TRANSPORT_TCP)
    _check_metrics(sink, sc.TRANSPORT_TCP)


def test_opentelemetry_instrument_with_content_capture(receiver):
    """Both processes under `opentelemetry-instrument` (the entry point); content capture on."""
    sink, endpoint = receiver
    out = _run_stdio(sink, endpoint, via_instrument=True, content=True)
    assert "ADD 5" in out
    _check_trace(sink, sc.TRANSPORT_PIPE, content=True)
    for span in (sink.span("tools/call add", CLIENT), sink.span("tools/call add", SERVER)):
        assert json.loads(span["attributes"][sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"a": 2, "b": 3}
        result = json.loads(span["attributes"][sc.GEN_AI_TOOL_CALL_RESULT])
        assert result["content"][0]["text"] == "5"


@pytest.mark.parametrize("transport", [sc.TRANSPORT_PIPE, sc.TRANSPORT_TCP], ids=["stdio", "streamable-http"])
def test_mcp_1x_gets_the_same_telemetry(receiver, mcp1_site, monkeypatch, transport):
    """mcp 1.x opens no spans and injects no context: llm_otel does both, with the same result."""
    monkeypatch.setenv("PYTHONPATH", mcp1_site)
    probe = subprocess.run([PYTHON, "-c", "import importlib.metadata as m; print(m.version('mcp'))"],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.startswith("1."), probe.stdout
    sink, endpoint = receiver
    out = (_run_stdio if transport == sc.TRANSPORT_PIPE else _run_http)(sink, endpoint, via_instrument=False)
    assert "ADD 5" in out and "DIVIDE True" in out
    _check_trace(sink, transport)
    _check_metrics(sink, transport)
