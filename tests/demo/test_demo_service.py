"""The demo service, in process, against the local LLM over real HTTP through the openai SDK.

Spans and metrics go to the ``otel_capture`` fixture: llm_otel's through its telemetry swap,
the FastAPI server spans because ``create_app`` hands the capture's providers to
``FastAPIInstrumentor.instrument_app``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter

import httpx
import llm_otel._semconv as sc
import pytest
from llm_otel.instrumentors.mcp import MCPInstrumentor
from llm_otel.instrumentors.openai import OpenAIInstrumentor
from llm_otel.instrumentors.qdrant import QdrantInstrumentor
from llm_otel_tools.demo.app import DemoSettings, create_app
from llm_otel_tools.demo.tools import ToolError, calculator, evaluate
from llm_otel_tools.demo.traffic import SCENARIOS, arun_traffic, plan, run_traffic
from llm_otel_tools.demo.vectorstore import VectorStore, load_corpus, point_id
from llm_otel_tools.local_llm import TRIGGERS, LocalLLMServer
from opentelemetry.trace import SpanKind, StatusCode

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def llm_server():
    with LocalLLMServer() as server:
        yield server


@pytest.fixture
def capture(otel_capture):
    """The OpenAI SDK, Qdrant and MCP instrumentors on (as ``configure()`` turns them on), writing to this test's capture."""
    OpenAIInstrumentor().instrument()
    QdrantInstrumentor().instrument()
    MCPInstrumentor().instrument()
    try:
        yield otel_capture
    finally:
        MCPInstrumentor().uninstrument()
        OpenAIInstrumentor().uninstrument()
        QdrantInstrumentor().uninstrument()


@pytest.fixture
def app(llm_server, capture, monkeypatch):
    for signal in ("TRACES", "METRICS", "LOGS"):  # the MCP tool server process exports nothing here
        monkeypatch.setenv(f"OTEL_{signal}_EXPORTER", "none")
    settings = DemoSettings(openai_base_url=llm_server.openai_base_url, openai_api_key="sk-test")
    return create_app(settings, tracer_provider=capture.tracer_provider, meter_provider=capture.meter_provider)


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo", timeout=30) as c:
        yield c
    await app.state.service.tool_server.aclose()  # ASGITransport runs no lifespan


def server_span(capture, name):
    spans = [s for s in capture.spans if s.name == name and s.kind is SpanKind.SERVER]
    assert len(spans) == 1, [s.name for s in capture.spans]
    return spans[0]


def http_status(span):
    """The server span's status code (stable or, by default, the old HTTP semantic conventions)."""
    attrs = span.attributes
    return attrs.get("http.response.status_code", attrs.get("http.status_code"))


def trace_hex(span):
    return format(span.context.trace_id, "032x")


def sse_events(text):
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


# -- /generate -------------------------------------------------------------------------------


async def test_generate_is_traced_and_reports_its_model_call(client, capture):
    response = await client.post("/generate", json={"prompt": "What is a span", "max_tokens": 50})
    assert response.status_code == 200
    body = response.json()
    assert body["response"] == "This is a deterministic reply from gpt-4o-mini to: What is a span"
    assert body["model"] == "gpt-4o-mini-2024-07-18"
    chat = capture.span("chat gpt-4o-mini")
    server = server_span(capture, "POST /generate")
    capture.assert_parent_chain(chat, ["POST /generate"])
    assert body["trace_id"] == trace_hex(server) == trace_hex(chat)
    assert chat.attributes["gen_ai.request.max_tokens"] == 50
    assert body["llm_calls"] == [{
        "operation": "chat", "model": "gpt-4o-mini", "response_model": "gpt-4o-mini-2024-07-18",
        "input_tokens": chat.attributes["gen_ai.usage.input_tokens"],
        "output_tokens": chat.attributes["gen_ai.usage.output_tokens"], "ok": True, "error_type": None,
    }]
    assert body["usage"] == {"input_tokens": 4, "output_tokens": 12}


async def test_generate_other_model(client, capture):
    body = (await client.post("/generate", json={"prompt": "hi", "model": "gpt-4.1-mini"})).json()
    assert body["model"] == "gpt-4.1-mini-2025-04-14"
    assert capture.span("chat gpt-4.1-mini").attributes["gen_ai.response.model"] == body["model"]


@pytest.mark.parametrize(("prompt", "status", "kind", "error_type"), [
    ("please raise an error now", 502, "upstream_error", "InternalServerError"),
    ("hit the ratelimit now", 429, "upstream_rate_limited", "RateLimitError"),
])
async def test_generate_upstream_failures(client, capture, prompt, status, kind, error_type):
    response = await client.post("/generate", json={"prompt": prompt})
    assert response.status_code == status
    body = response.json()
    assert body["error"]["type"] == kind and body["error"]["upstream_status"] in (500, 429)
    assert body["llm_calls"] == [{"operation": "chat", "model": "gpt-4o-mini", "response_model": None, "input_tokens": None,
                                  "output_tokens": None, "ok": False, "error_type": error_type}]
    chat = capture.span("chat gpt-4o-mini")
    assert chat.status.status_code is StatusCode.ERROR and chat.attributes["error.type"]
    server = server_span(capture, "POST /generate")
    assert body["trace_id"] == trace_hex(chat) == trace_hex(server)
    assert http_status(server) == status
    assert server.status.status_code is (StatusCode.ERROR if status >= 500 else StatusCode.UNSET)
    point = capture.metric_point("gen_ai.client.operation.duration", {"error.type": chat.attributes["error.type"]})
    assert point.count == 1


async def test_generate_stream(client, capture):
    response = await client.post("/generate", json={"prompt": "stream this answer", "stream": True})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    deltas = [data["text"] for name, data in events if name == "delta"]
    name, done = events[-1]
    assert name == "done" and "".join(deltas) == done["response"] == "This is a deterministic reply from gpt-4o-mini to: stream this answer"
    chat = capture.span("chat gpt-4o-mini")
    capture.assert_parent_chain(chat, ["POST /generate"])
    assert chat.attributes["gen_ai.request.stream"] is True
    assert chat.attributes["gen_ai.usage.output_tokens"] == len(deltas) == done["llm_calls"][0]["output_tokens"]
    assert done["trace_id"] == trace_hex(chat) == response.headers["x-trace-id"]
    assert done["llm_calls"][0]["ok"] is True


async def test_generate_stream_that_breaks(client, capture):
    response = await client.post("/generate", json={"prompt": "a broken stream", "stream": True})
    name, data = sse_events(response.text)[-1]
    assert name == "error" and data["llm_calls"][0]["ok"] is False
    chat = capture.span("chat gpt-4o-mini")
    assert chat.status.status_code is StatusCode.ERROR and chat.attributes["error.type"]


async def test_stream_failing_before_the_first_chunk_is_a_json_error(client, capture):
    response = await client.post("/generate", json={"prompt": "error while streaming", "stream": True})
    assert response.status_code == 502 and response.json()["llm_calls"][0]["ok"] is False
    assert capture.span("chat gpt-4o-mini").attributes["error.type"]


async def test_invalid_body_is_422_with_trace_id(client, capture):
    response = await client.post("/generate", json={"prompt": ""})
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["type"] == "invalid_request" and body["llm_calls"] == []
    assert body["trace_id"] == trace_hex(server_span(capture, "POST /generate"))


# -- /rag --------------------------------------------------------------------------------------


async def test_rag_workflow_retrieves_from_the_vector_store(client, capture):
    capture.settings(capture="SPAN_ONLY")  # documents and query on the retrieval span
    question = "How does tail sampling decide which traces to keep?"
    first = await client.post("/rag", json={"question": question})
    assert first.status_code == 200
    body = first.json()
    assert body["sources"][0]["id"] == "tail-sampling" and len(body["sources"]) == 3
    assert body["answer"].startswith("This is a deterministic reply from gpt-4o-mini to: How does tail sampling")
    # the first /rag builds the index (one batched embeddings call), then embeds the question
    assert [(c["operation"], c["ok"]) for c in body["llm_calls"]] == [("embeddings", True), ("embeddings", True), ("chat", True)]
    assert body["llm_calls"][0]["input_tokens"] > 300

    workflow = capture.span("invoke_workflow rag")
    retrieval = capture.span("retrieval demo-docs")
    chat = capture.span("chat gpt-4o-mini")
    embeddings = capture.spans_by_operation("embeddings")
    assert len(embeddings) == 2
    chain = ["invoke_workflow rag", "POST /rag"]
    for span in (retrieval, chat, *embeddings):
        capture.assert_parent_chain(span, chain)
    capture.assert_parent_chain(workflow, ["POST /rag"])
    assert body["trace_id"] == trace_hex(workflow)
    # made by the Qdrant instrumentor around the store's query_points: no manual span in the demo
    assert retrieval.kind is SpanKind.CLIENT
    assert retrieval.attributes[sc.GEN_AI_PROVIDER_NAME] == sc.DB_SYSTEM_QDRANT
    assert retrieval.attributes[sc.DB_SYSTEM_NAME] == sc.DB_SYSTEM_QDRANT
    assert retrieval.attributes[sc.DB_COLLECTION_NAME] == "demo-docs"
    assert retrieval.attributes[sc.DB_OPERATION_NAME] == "query_points"
    assert retrieval.attributes[sc.GEN_AI_RETRIEVAL_TOP_K] == 3
    assert retrieval.attributes[sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT] == 3
    documents = json.loads(retrieval.attributes[sc.GEN_AI_RETRIEVAL_DOCUMENTS])
    assert [d["id"] for d in documents] == [point_id(s["id"]) for s in body["sources"]]
    assert documents[0]["score"] == pytest.approx(body["sources"][0]["score"], abs=1e-6)
    assert sc.GEN_AI_RETRIEVAL_QUERY_TEXT not in retrieval.attributes  # the query is a vector, not text
    capture.assert_parent_chain("upsert demo-docs", chain)  # the first /rag indexes the corpus
    system = json.loads(chat.attributes["gen_ai.input.messages"])[0]
    assert system["role"] == "system" and "[tail-sampling]" in system["parts"][0]["content"]  # grounded in the documents

    capture.clear()
    second = (await client.post("/rag", json={"question": "What does Prometheus scrape?", "top_k": 2})).json()
    assert [c["operation"] for c in second["llm_calls"]] == ["embeddings", "chat"]  # index built once
    assert next(s["id"] for s in second["sources"]) == "prometheus" and len(second["sources"]) == 2


async def test_rag_upstream_failure_marks_the_workflow(client, capture):
    response = await client.post("/rag", json={"question": "why would an error happen here?"})
    assert response.status_code == 502
    workflow = capture.span("invoke_workflow rag")
    assert workflow.status.status_code is StatusCode.ERROR
    failed = [s for s in capture.spans_by_operation("embeddings") if s.attributes.get("error.type")]
    assert len(failed) == 1 and response.json()["llm_calls"][-1]["ok"] is False


# -- /agent ------------------------------------------------------------------------------------


async def test_agent_runs_tools_and_answers_with_their_results(client, capture):
    capture.settings(capture="SPAN_ONLY")
    response = await client.post("/agent", json={"task": "Use the calculator for (17 + 25) * 3 and tell me the price of the keyboard"})
    assert response.status_code == 200
    body = response.json()
    assert body["answer"] == ("Based on the tool result, the answer is: (17 + 25) * 3 = 126; "
                              "keyboard costs 49.99 USD (120 in stock)")
    assert [s["tool"] for s in body["steps"]] == ["calculator", "lookup_price"]
    chain = ["invoke_agent demo-agent", "POST /agent"]
    chats = capture.spans_by_operation("chat")
    assert len(chats) == 2 == len(body["llm_calls"])
    for span in chats:
        capture.assert_parent_chain(span, chain)
    assert chats[0].attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    calc, lookup = capture.span("execute_tool calculator"), capture.span("execute_tool lookup_price")
    for span in (calc, lookup):
        capture.assert_parent_chain(span, chain)
    result = json.loads(calc.attributes["gen_ai.tool.call.result"])
    assert result["content"][0]["text"] == "(17 + 25) * 3 = 126"
    assert json.loads(lookup.attributes["gen_ai.tool.call.arguments"]) == {"product": "keyboard"}
    assert calc.attributes[sc.MCP_METHOD_NAME] == sc.MCP_TOOLS_CALL
    assert calc.attributes[sc.NETWORK_TRANSPORT] == sc.TRANSPORT_PIPE
    # one span per MCP call (the app's execute_tool, enriched with the MCP attributes) with the model's call id,
    # and one tool-duration point
    for span in (calc, lookup):
        assert span.kind == SpanKind.INTERNAL and span.attributes[sc.GEN_AI_TOOL_CALL_ID].startswith("call_")
        point = capture.metric_point(sc.METRIC_TOOL_DURATION, {sc.GEN_AI_TOOL_NAME: span.attributes[sc.GEN_AI_TOOL_NAME]})
        assert point.count == 1
    assert body["trace_id"] == trace_hex(capture.span("invoke_agent demo-agent"))


async def test_agent_tool_failure_goes_back_to_the_model(client, capture):
    body = (await client.post("/agent", json={"task": "What is the price of a projector?"})).json()
    assert body["steps"][0]["ok"] is False and "no product named 'projector'" in body["answer"]
    tool = capture.span("execute_tool lookup_price")
    assert tool.status.status_code is StatusCode.ERROR and tool.attributes[sc.ERROR_TYPE] == sc.ERROR_TYPE_TOOL_ERROR


async def test_agent_refusal_calls_no_tool(client, capture):
    body = (await client.post("/agent", json={"task": "refuse to compute 2 + 2 with the calculator"})).json()
    assert body["steps"] == [] and body["answer"].startswith("I cannot help")
    assert not [s for s in capture.spans if s.name.startswith("execute_tool")]


# -- /feedback, /health --------------------------------------------------------------------------


async def test_feedback_is_recorded_for_the_answers_trace(client, capture):
    answer = (await client.post("/generate", json={"prompt": "hello"})).json()
    response = await client.post("/feedback", json={"trace_id": answer["trace_id"], "score": 1, "label": "thumbs_up"})
    assert response.status_code == 200 and response.json()["recorded"] is True
    (event,) = capture.events("gen_ai.evaluation.result")
    assert format(event.trace_id, "032x") == answer["trace_id"]
    assert event.attributes["gen_ai.evaluation.score.label"] == "thumbs_up"
    bad = await client.post("/feedback", json={"trace_id": "not-a-trace", "score": 1})
    assert bad.status_code == 422


async def test_health(client):
    body = (await client.get("/health")).json()
    assert body["status"] == "ok" and body["index"]["documents"] == len(load_corpus())
    assert re.fullmatch(r"[0-9a-f]{32}", body["trace_id"]) and body["index"]["vector_store"].startswith("qdrant 1.")


# -- the traffic generator ---------------------------------------------------------------------


async def test_traffic_summary_equals_the_telemetry(app, capture):
    summary = await arun_traffic("http://demo", requests=60, concurrency=4, seed=2,
                                 transport=httpx.ASGITransport(app=app), progress=False)
    assert set(summary.scenarios) == set(SCENARIOS)  # every kind of request was sent
    assert summary.transport_errors == 0

    # per endpoint: server spans by route and status
    servers = [s for s in capture.spans if s.kind is SpanKind.SERVER]
    by_route = Counter(s.attributes["http.route"] for s in servers)
    assert by_route == {path: e.requests for path, e in summary.endpoints.items()}
    statuses = Counter((s.attributes["http.route"], http_status(s)) for s in servers)
    for path, e in summary.endpoints.items():
        http_failures = {k: v for k, v in e.failures.items() if k.isdigit()}
        assert {str(code): n for (route, code), n in statuses.items() if route == path and code >= 400} == http_failures
    assert summary.endpoints["/generate"].failures["stream_error"] >= 1
    assert summary.endpoints["/generate"].failures["502"] >= 1 and summary.endpoints["/generate"].failures["429"] >= 1

    # model calls: spans by operation, model and outcome; tokens
    for operation in ("chat", "embeddings"):
        spans = capture.spans_by_operation(operation)
        outcome = Counter((s.attributes["gen_ai.request.model"], "error.type" not in s.attributes) for s in spans)
        expected = Counter()
        for model, stats in summary.llm[operation].items():
            expected[(model, True)] += stats.ok
            expected[(model, False)] += stats.failed
        assert outcome == +expected
        for model in summary.llm[operation]:
            ok_spans = [s for s in spans if s.attributes["gen_ai.request.model"] == model and "error.type" not in s.attributes]
            tokens_in = sum(s.attributes.get("gen_ai.usage.input_tokens", 0) for s in ok_spans)
            tokens_out = sum(s.attributes.get("gen_ai.usage.output_tokens", 0) for s in ok_spans)
            assert (tokens_in, tokens_out) == summary.tokens(operation, model)
    assert len(summary.llm["chat"]) == 3  # three request models in the mix

    # the metrics Prometheus will see
    duration = capture.metric_points("gen_ai.client.operation.duration")
    model_calls = [p for p in duration if p.attributes[sc.GEN_AI_OPERATION_NAME] != sc.OP_RETRIEVAL]
    assert sum(p.count for p in model_calls) == summary.llm_calls_total()
    retrievals = capture.metric_point("gen_ai.client.operation.duration", {sc.GEN_AI_OPERATION_NAME: sc.OP_RETRIEVAL})
    assert retrievals.count == len(capture.spans_by_operation(sc.OP_RETRIEVAL)) > 0  # the /rag store queries
    failed = capture.metric_points("gen_ai.client.operation.duration", {"gen_ai.operation.name": "chat"})
    assert sum(p.count for p in failed if "error.type" in p.attributes) == summary.chat_calls(ok=False)
    for model in summary.llm["chat"]:
        tokens = {t: sum(p.value for p in capture.metric_points("gen_ai.client.token.usage", {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": model, "gen_ai.token.type": t})) for t in ("input", "output")}
        assert (tokens["input"], tokens["output"]) == summary.tokens("chat", model)

    # feedback
    feedback = [e for e in capture.events("gen_ai.evaluation.result") if e.attributes["gen_ai.evaluation.name"] == "user_feedback"]
    assert len(feedback) == summary.feedback == summary.endpoints["/feedback"].requests > 0
    assert summary.example_trace_id in summary.trace_ids
    assert summary.to_dict()["llm_calls_total"] == summary.llm_calls_total()


def test_traffic_plan_is_seeded():
    assert plan(30, seed=1) == plan(30, seed=1)
    assert plan(30, seed=1) != plan(30, seed=2)


# -- building blocks ---------------------------------------------------------------------------


def test_corpus_has_no_trigger_words():
    """The local LLM answers embeddings inputs containing a trigger word with that behaviour."""
    docs = load_corpus()
    assert 20 <= len(docs) <= 40 and len({d.id for d in docs}) == len(docs)
    for doc in docs:
        assert not set(re.findall(r"[a-z0-9]+", f"{doc.title} {doc.text}".lower())) & TRIGGERS, doc.id


def test_vector_store_cosine_search():
    store = VectorStore(3)
    docs = load_corpus()[:3]
    store.add(docs, [[1, 0, 0], [0, 1, 0], [0.6, 0.8, 0]])
    hits = store.search([1, 0.1, 0], 2)
    assert [h.id for h in hits] == [docs[0].id, docs[2].id]
    assert hits[0].score == pytest.approx(0.995, abs=1e-3)
    with pytest.raises(ValueError):
        store.search([1, 0], 1)


@pytest.mark.parametrize(("text", "result"), [
    ("2 + 3 * 4", "2 + 3 * 4 = 14"),
    ("what is (17 + 25) * 3?", "(17 + 25) * 3 = 126"),
    ("7 / 2", "7 / 2 = 3.5"),
    ("2^10", "2^10 = 1024"),
    ("-3 ** 2", "-3 ** 2 = -9"),
])
def test_calculator(text, result):
    assert calculator(text) == result


@pytest.mark.parametrize("text", ["__import__('os').system('id')", "1 / 0", "2 ** 10000", "(9**99)**99", "x + 1", "open('f')", ""])
def test_calculator_rejects(text):
    with pytest.raises(ToolError):
        calculator(text)
    with pytest.raises(ToolError):
        evaluate(text)


# -- the runner, as `llm-otel demo` starts it --------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_module_runs_the_service_and_flushes_on_sigterm(llm_server, tmp_path):
    port = _free_port()
    env = {**os.environ, "OPENAI_BASE_URL": llm_server.openai_base_url, "OPENAI_API_KEY": "sk-test",
           "OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
           "OTEL_BSP_SCHEDULE_DELAY": "60000"}  # nothing leaves before shutdown unless the runner flushes
    env.pop("OTEL_SERVICE_NAME", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llm_otel_tools.demo.serve", "--port", str(port), "--log-level", "warning"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        summary = run_traffic(url, requests=12, concurrency=3, seed=4, progress=False, show_summary=False)
        assert summary.transport_errors == 0 and summary.requests >= 12
        assert re.fullmatch(r"[0-9a-f]{32}", summary.example_trace_id or "")
    finally:
        proc.terminate()  # SIGTERM, as `llm-otel stack down` stops it
        proc.wait(timeout=15)
    exported = log.read_text()
    chat_spans = len(re.findall(r'"name": "chat [^"]+"', exported))
    assert chat_spans == summary.chat_calls() > 0
    assert '"service.name": "llm-otel-demo"' in exported


@pytest.mark.parametrize("provider", ["gemini", "vertex_ai", "mistral", "ollama", "cohere"])
async def test_the_demo_runs_on_another_provider_sdk(llm_server, otel_capture, provider):
    """LLM_OTEL_DEMO_PROVIDER points the service at another SDK through the local LLM; its instrumentor traces it."""
    from llm_otel.instrumentors import KNOWN, instrument_installed
    from llm_otel_tools.demo.providers import MODELS

    settings = DemoSettings.from_env({"OPENAI_BASE_URL": llm_server.openai_base_url, "LLM_OTEL_DEMO_PROVIDER": provider})
    done = instrument_installed()
    try:
        app = create_app(settings, tracer_provider=otel_capture.tracer_provider, meter_provider=otel_capture.meter_provider)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo", timeout=30) as c:
            assert (await c.post("/generate", json={"prompt": "hello there"})).status_code == 200
            streamed = await c.post("/generate", json={"prompt": "hello there", "stream": True})
            assert "event: done" in streamed.text
            rag = await c.post("/rag", json={"question": "How do I export traces?"})
            assert rag.status_code == 200 and rag.json()["sources"]
            agent = await c.post("/agent", json={"task": "What is 12 * 7? Use the calculator."})
            assert agent.status_code == 200 and agent.json()["steps"][0]["tool"] == "calculator"
            assert (await c.post("/generate", json={"prompt": "ratelimit"})).status_code == 429
    finally:
        for name in done:
            module_name, class_name = KNOWN[name][1].split(":")
            getattr(__import__(module_name, fromlist=[class_name]), class_name)().uninstrument()
    model = MODELS[provider][0]
    inference = [s for s in otel_capture.spans if s.attributes.get("gen_ai.request.model") == model]
    assert len(inference) >= 6 and {s.attributes["gen_ai.provider.name"] for s in inference} == {
        {"gemini": "gcp.gemini", "vertex_ai": "gcp.vertex_ai", "mistral": "mistral_ai"}.get(provider, provider)}
    assert any(s.attributes.get("gen_ai.operation.name") == "embeddings" for s in otel_capture.spans)


@pytest.fixture
def graph_capture(capture):
    from llm_otel.instrumentors.langchain import LangChainInstrumentor  # imports langchain-core: only here

    LangChainInstrumentor().instrument()
    try:
        yield capture
    finally:
        LangChainInstrumentor().uninstrument()


async def test_graph_agent_trace_has_the_agent_its_tools_and_model_calls_once(client, graph_capture):
    import llm_otel._semconv as sc

    capture = graph_capture
    capture.settings(capture="SPAN_ONLY")
    response = await client.post("/graph", json={"task": "Use the calculator for (17 + 25) * 3 and tell me the price of the keyboard"})
    assert response.status_code == 200
    body = response.json()
    assert body["answer"] == ("Based on the tool result, the answer is: (17 + 25) * 3 = 126; "
                              "keyboard costs 49.99 USD (120 in stock)")
    assert [s["tool"] for s in body["steps"]] == ["calculator", "lookup_price"]
    chain = ["invoke_agent demo-graph", "POST /graph"]
    chats = capture.spans_by_operation(sc.OP_CHAT)
    assert len(chats) == 2 == len(body["llm_calls"])  # one span per model call: LangChain's and the SDK's merged
    assert [s.name for s in capture.spans if s.kind != SpanKind.SERVER] == [
        "chat gpt-4o-mini", "execute_tool calculator", "execute_tool lookup_price", "chat gpt-4o-mini",
        "invoke_agent demo-graph"]
    for name in ("execute_tool calculator", "execute_tool lookup_price"):
        capture.assert_parent_chain(name, chain)
    for span in chats:
        capture.assert_parent_chain(span, chain)
        assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    calc = capture.span("execute_tool calculator")
    assert json.loads(calc.attributes[sc.GEN_AI_TOOL_CALL_RESULT]) == "(17 + 25) * 3 = 126"
    assert calc.attributes[sc.GEN_AI_TOOL_CALL_ID].startswith("call_")
    assert body["usage"]["output_tokens"] == sum(s.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] for s in chats)
    assert body["trace_id"] == trace_hex(capture.span("invoke_agent demo-graph"))
