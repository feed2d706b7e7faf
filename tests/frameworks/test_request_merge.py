"""The duplicate guard's merge into an llm_otel model call that is already open: what the inner call
(the provider SDK's, or a framework's model run) knows about the request reaches the open call's span,
although that span started before (real openai SDK and LangChain against the local LLM server)."""

from __future__ import annotations

import llm_otel
import llm_otel._semconv as sc
import openai
import pytest
from langchain_openai import ChatOpenAI
from llm_otel.instrumentors.langchain import LangChainInstrumentor

MODEL = "gpt-4o-mini"


@pytest.fixture
def client(llm_server):
    return openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test", max_retries=0)


def test_an_open_call_without_a_model_learns_the_sdk_request(with_openai, client):
    with llm_otel.llm_call(provider="openai", model=None) as call:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                       temperature=0.3, max_tokens=40, seed=7)
    [span] = with_openai.spans
    assert call.model == MODEL  # the merge copies the model
    assert span.name == f"chat {MODEL}"
    attributes = span.attributes
    assert attributes[sc.GEN_AI_REQUEST_MODEL] == MODEL
    assert attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.3
    assert attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 40 and attributes[sc.GEN_AI_REQUEST_SEED] == 7
    point = with_openai.metric_point(sc.METRIC_OPERATION_DURATION)
    assert point.attributes[sc.GEN_AI_REQUEST_MODEL] == MODEL and point.count == 1


def test_a_model_given_at_the_start_is_kept(with_openai, client):
    with llm_otel.llm_call(provider="openai", model="my-deployment"):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], temperature=0.5)
    [span] = with_openai.spans
    assert span.name == "chat my-deployment" and span.attributes[sc.GEN_AI_REQUEST_MODEL] == "my-deployment"
    assert span.attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.5


def test_a_langchain_run_inside_an_open_call_fills_its_request(with_openai, instrument, llm_server):
    instrument(LangChainInstrumentor())
    llm = ChatOpenAI(model=MODEL, base_url=llm_server.openai_base_url, api_key="sk-test", max_retries=0,
                     temperature=0.2)
    with llm_otel.llm_call(provider="openai", model=None):
        llm.invoke("hi", max_tokens=30)
    [span] = with_openai.spans
    assert span.name == f"chat {MODEL}"
    assert span.attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 30
    assert span.attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.2
