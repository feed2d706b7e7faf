"""Issue 10 rows 1, 3, 4, 5 at the demo's door: bad input is a 4xx, never a 500; no query value in spans."""

from __future__ import annotations

import httpx
import pytest
from llm_otel_tools.demo.app import DemoSettings, create_app
from llm_otel_tools.local_llm import LocalLLMServer

pytestmark = pytest.mark.timeout(120)
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module")
def llm_server():
    with LocalLLMServer() as server:
        yield server


@pytest.fixture
async def client(llm_server, otel_capture, monkeypatch):
    for signal in ("TRACES", "METRICS", "LOGS"):
        monkeypatch.setenv(f"OTEL_{signal}_EXPORTER", "none")
    settings = DemoSettings(openai_base_url=llm_server.openai_base_url, openai_api_key="sk-test")
    app = create_app(settings, tracer_provider=otel_capture.tracer_provider, meter_provider=otel_capture.meter_provider)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo", timeout=60) as c:
        yield c
    await app.state.service.tool_server.aclose()


async def test_lone_surrogate_prompt_and_huge_model_are_4xx(client):
    response = await client.post("/generate", content=b'{"prompt": "hi \\udcff"}',
                                 headers={"content-type": "application/json"})
    assert response.status_code == 422
    response = await client.post("/generate", json={"prompt": "hi", "model": "m" * 200_000})
    assert response.status_code == 422


async def test_negative_feedback_says_it_is_not_on_the_metric(client):
    body = (await client.post("/feedback", json={"trace_id": TRACE, "score": -1, "label": "down"})).json()
    assert body["recorded"] is True and body["score_on_metric"] is False
    body = (await client.post("/feedback", json={"trace_id": TRACE, "score": 1})).json()
    assert body["score_on_metric"] is True


async def test_query_values_never_reach_the_server_span(client, otel_capture):
    await client.get("/health?token=hunter2&x=1")
    [span] = [s for s in otel_capture.spans if s.name.startswith("GET /health")]
    assert "hunter2" not in str(dict(span.attributes)), dict(span.attributes)
