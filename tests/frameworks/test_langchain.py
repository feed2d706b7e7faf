"""LangChain's ChatOpenAI and a LangGraph tool-calling agent, with no change to the user's code."""

from __future__ import annotations

import asyncio
import json

import llm_otel
import llm_otel._semconv as sc
import openai
import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import tool
from langchain_core.tracers import context as lc_context
from langchain_openai import ChatOpenAI
from langgraph.prebuilt import create_react_agent
from llm_otel.instrumentors.langchain import LangChainInstrumentor

AGENT = "invoke_agent LangGraph"
CHAT = "chat gpt-4o-mini"


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@tool
def get_time(city: str) -> str:
    """The local time in a city."""
    return f"10:00 in {city}"


@pytest.fixture
def lc(with_openai, instrument):
    instrument(LangChainInstrumentor())
    return with_openai


@pytest.fixture
def llm(llm_server):
    return ChatOpenAI(model="gpt-4o-mini", base_url=llm_server.openai_base_url, api_key="sk-test", max_retries=0)


def _agent(llm):
    return create_react_agent(llm, [get_weather, get_time])


QUESTION = {"messages": [("user", "What are the weather and time in Paris?")]}
AGENT_TREE = [
    (AGENT, []),
    (CHAT, [AGENT]),
    ("execute_tool get_time", [AGENT]),  # run in parallel: compared in name order
    ("execute_tool get_weather", [AGENT]),
    (CHAT, [AGENT]),
]


def test_chat_model_call_is_one_chat_span_with_the_sdk_details(lc, llm):
    reply = llm.invoke("hello there", temperature=0.3)
    [span] = lc.spans  # the LangChain run and the SDK call it made: one span
    assert span.name == CHAT and span.attributes[sc.GEN_AI_OPERATION_NAME] == sc.OP_CHAT
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert span.attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.3
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == reply.response_metadata["id"]
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == reply.usage_metadata["input_tokens"]
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == reply.usage_metadata["output_tokens"]
    # only the SDK call knows the server: merged into the one invocation (its metric points carry it)
    assert lc.metric_point(sc.METRIC_OPERATION_DURATION, {sc.SERVER_ADDRESS: "127.0.0.1"}).count == 1
    out = lc.metric_point(sc.METRIC_TOKEN_USAGE, {sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT})
    assert out.count == 1 and out.value == reply.usage_metadata["output_tokens"]
    assert lc.metric_point(sc.METRIC_COST).value > 0


def test_langgraph_agent_tree_tools_and_model_calls(lc, llm, tree):
    result = _agent(llm).invoke(QUESTION, config={"configurable": {"thread_id": "conv-7"}})
    assert tree() == AGENT_TREE
    agent = lc.span(AGENT)
    assert agent.attributes[sc.GEN_AI_AGENT_NAME] == "LangGraph"
    assert agent.attributes[sc.GEN_AI_CONVERSATION_ID] == "conv-7"
    calls = {c["name"]: c["id"] for c in result["messages"][1].tool_calls}
    for name, description in (("get_weather", "The weather in a city."), ("get_time", "The local time in a city.")):
        span = lc.span(f"execute_tool {name}")
        assert span.attributes[sc.GEN_AI_TOOL_CALL_ID] == calls[name]
        assert span.attributes[sc.GEN_AI_TOOL_DESCRIPTION] == description
        assert sc.GEN_AI_TOOL_CALL_ARGUMENTS not in span.attributes  # content is opt-in
    first, second = sorted(lc.spans_by_operation(sc.OP_CHAT), key=lambda s: s.start_time)
    assert second.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == result["messages"][-1].usage_metadata["output_tokens"]
    assert first.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert lc.metric_point(sc.METRIC_OPERATION_DURATION, {sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT}).count == 2
    assert lc.metric_point(sc.METRIC_AGENT_DURATION, {sc.GEN_AI_AGENT_NAME: "LangGraph"}).count == 1
    assert lc.metric_point(sc.METRIC_TOOL_DURATION, {sc.GEN_AI_TOOL_NAME: "get_time"}).count == 1


def test_async_agent_keeps_the_same_tree(lc, llm, tree):
    asyncio.run(_agent(llm).ainvoke(QUESTION))
    assert tree() == AGENT_TREE


def test_content_mode_records_messages_arguments_and_results(lc, llm):
    with lc.capturing_content("SPAN_ONLY"):
        _agent(llm).invoke(QUESTION)
    weather = lc.span("execute_tool get_weather")
    assert json.loads(weather.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"city": "Paris"}
    assert json.loads(weather.attributes[sc.GEN_AI_TOOL_CALL_RESULT]) == "sunny in Paris"
    first = min(lc.spans_by_operation(sc.OP_CHAT), key=lambda s: s.start_time)
    [message] = json.loads(first.attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert message["role"] == "user"


def test_an_open_llm_call_around_the_run_is_enriched_not_duplicated(lc, llm):
    # the other nesting order: an llm_otel model call is already open when LangChain's run starts
    with llm_otel.llm_call(provider="openai", model="gpt-4o-mini") as call:
        reply = llm.invoke("hi", max_tokens=50)
    [span] = lc.spans
    assert span.name == CHAT and call.max_tokens == 50  # LangChain's request parameters reach the open call
    assert call.output_tokens == reply.usage_metadata["output_tokens"]
    assert lc.metric_point(sc.METRIC_OPERATION_DURATION).count == 1


def test_streamed_model_call_counts_each_chunk_once(lc, llm):
    chunks = list(llm.stream("tell me something"))
    [span] = lc.spans
    streamed = span.attributes[sc.LLM_OTEL_STREAM_CHUNKS]
    assert 1 < streamed <= len(chunks)  # the SDK's chunks, not also LangChain's copies of them
    assert lc.metric_point(sc.METRIC_TIME_PER_OUTPUT_CHUNK).count == streamed - 1


def test_sdk_call_inside_a_tool_nests_under_the_tool_across_the_executor_thread(lc, llm, llm_server):
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="sk-test", max_retries=0)

    @tool
    def summarize(text: str) -> str:
        """Summarize a text."""
        return client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": text}]) \
            .choices[0].message.content or ""

    create_react_agent(llm, [summarize]).invoke({"messages": [("user", "summarize this text")]})
    lc.assert_parent_chain("chat gpt-4.1-mini", ["execute_tool summarize", AGENT])


def test_retriever_run_is_a_retrieval_with_its_documents(lc):
    class Notes(BaseRetriever):
        def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
            return [Document(id="n1", page_content="a", metadata={"score": 0.9}), Document(id="n2", page_content="b")]

    with lc.capturing_content("SPAN_ONLY"):
        Notes().invoke("what notes?")
    [span] = lc.spans
    assert span.name == "retrieval Notes"
    assert span.attributes[sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT] == 2
    assert json.loads(span.attributes[sc.GEN_AI_RETRIEVAL_DOCUMENTS]) == [{"id": "n1", "score": 0.9},
                                                                        {"id": "n2", "score": None}]
    assert span.attributes[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] == "what notes?"


def test_failing_tool_marks_its_span_and_the_agent_span(lc, llm):
    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        raise ValueError("station offline")

    with pytest.raises(ValueError, match="station offline"):  # LangGraph 1.x re-raises tool errors
        create_react_agent(llm, [get_weather]).invoke({"messages": [("user", "weather in Rome")]})
    assert lc.span("execute_tool get_weather").attributes[sc.ERROR_TYPE] == "ValueError"
    assert lc.span(AGENT).attributes[sc.ERROR_TYPE] == "ValueError"
    assert lc.metric_point(sc.METRIC_TOOL_DURATION, {sc.ERROR_TYPE: "ValueError"}).count == 1


def test_uninstrument_removes_the_handler_exactly(with_openai, llm):
    hooks = len(lc_context._configure_hooks)
    LangChainInstrumentor().instrument()
    assert len(lc_context._configure_hooks) == hooks + 1
    LangChainInstrumentor().uninstrument()
    assert len(lc_context._configure_hooks) == hooks
    _agent(llm).invoke(QUESTION)
    assert [s.name for s in with_openai.spans] == [CHAT, CHAT]  # the SDK's own spans only
