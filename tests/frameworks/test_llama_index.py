"""A LlamaIndex query engine over an in-memory VectorStoreIndex, with the OpenAI LLM and embeddings."""

from __future__ import annotations

import json

import llm_otel._semconv as sc
import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.instrumentation import get_dispatcher
from llama_index.embeddings.openai import OpenAIEmbedding
from llama_index.llms.openai import OpenAI
from llm_otel.instrumentors.llama_index import LlamaIndexInstrumentor

DOCS = [
    Document(text="Paris is the capital of France.", id_="france"),
    Document(text="Rome is the capital of Italy.", id_="italy"),
    Document(text="Bananas are yellow and sweet.", id_="bananas"),
]
WORKFLOW = "invoke_workflow RetrieverQueryEngine"
RETRIEVAL = "retrieval VectorIndexRetriever"


@pytest.fixture
def li(with_openai, instrument):
    instrument(LlamaIndexInstrumentor())
    return with_openai


@pytest.fixture
def engine(llm_server):
    url = llm_server.openai_base_url
    embed = OpenAIEmbedding(model="text-embedding-3-small", api_base=url, api_key="sk-test", max_retries=0)
    index = VectorStoreIndex.from_documents(DOCS, embed_model=embed)
    llm = OpenAI(model="gpt-4o-mini", api_base=url, api_key="sk-test", max_retries=0)
    return index.as_query_engine(llm=llm, similarity_top_k=2)


def test_query_engine_tree_retrieval_embeddings_and_chat(engine, li, tree):  # index built before instrumenting
    answer = engine.query("What is the capital of France?")
    assert tree() == [
        (WORKFLOW, []),
        (RETRIEVAL, [WORKFLOW]),
        ("embeddings text-embedding-3-small", [RETRIEVAL, WORKFLOW]),
        ("chat gpt-4o-mini", [WORKFLOW]),
    ]
    retrieval = li.span(RETRIEVAL)
    assert retrieval.attributes[sc.GEN_AI_RETRIEVAL_TOP_K] == 2
    assert retrieval.attributes[sc.LLM_OTEL_RETRIEVAL_DOCUMENT_COUNT] == 2
    assert sc.GEN_AI_RETRIEVAL_DOCUMENTS not in retrieval.attributes  # content is opt-in
    chat = li.span("chat gpt-4o-mini")
    assert chat.attributes[sc.GEN_AI_RESPONSE_ID].startswith("chatcmpl-")  # from the merged SDK call
    assert chat.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == len(str(answer).split())
    embeddings = li.span("embeddings text-embedding-3-small")
    assert embeddings.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 6  # the query's words, from the SDK call
    assert li.metric_point(sc.METRIC_OPERATION_DURATION, {sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT}).count == 1
    assert li.metric_point(sc.METRIC_OPERATION_DURATION, {sc.GEN_AI_OPERATION_NAME: sc.OP_EMBEDDINGS}).count == 1
    assert li.metric_point(sc.METRIC_RETRIEVAL_DOCUMENTS).value == 2
    assert li.metric_point(sc.METRIC_WORKFLOW_DURATION, {sc.GEN_AI_WORKFLOW_NAME: "RetrieverQueryEngine"}).count == 1


def test_content_mode_records_the_retrieved_documents(engine, li):
    with li.capturing_content("SPAN_ONLY"):
        engine.query("What is the capital of France?")
    retrieval = li.span(RETRIEVAL)
    docs = json.loads(retrieval.attributes[sc.GEN_AI_RETRIEVAL_DOCUMENTS])
    assert len(docs) == 2 and all(isinstance(d["score"], float) for d in docs)
    assert retrieval.attributes[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] == "What is the capital of France?"
    messages = json.loads(li.span("chat gpt-4o-mini").attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert "Paris is the capital of France." in json.dumps(messages)


async def test_async_query_keeps_the_same_tree(engine, li, tree):
    await engine.aquery("What is the capital of Italy?")
    assert [name for name, _ in tree()] == [WORKFLOW, RETRIEVAL, "embeddings text-embedding-3-small",
                                            "chat gpt-4o-mini"]
    li.assert_parent_chain("chat gpt-4o-mini", [WORKFLOW])


def test_index_building_embeddings_are_one_span_per_sdk_call(li, llm_server):
    embed = OpenAIEmbedding(model="text-embedding-3-small", api_base=llm_server.openai_base_url, api_key="sk-test",
                            max_retries=0)
    VectorStoreIndex.from_documents(DOCS, embed_model=embed)
    embeddings = li.spans_by_operation(sc.OP_EMBEDDINGS)
    assert len(embeddings) == 1  # one batch call for three documents: one span, not one per layer
    assert embeddings[0].attributes[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 1536


def test_uninstrument_removes_both_handlers(with_openai, engine):
    dispatcher = get_dispatcher()
    before = (len(dispatcher.span_handlers), len(dispatcher.event_handlers))
    LlamaIndexInstrumentor().instrument()
    LlamaIndexInstrumentor().uninstrument()
    assert (len(dispatcher.span_handlers), len(dispatcher.event_handlers)) == before
    with_openai.clear()
    engine.query("What is the capital of France?")
    assert sorted(s.name for s in with_openai.spans) == ["chat gpt-4o-mini", "embeddings text-embedding-3-small"]


# -- agents ----------------------------------------------------------------------------------------


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def get_time(city: str) -> str:
    """The local time in a city."""
    return f"10:00 in {city}"


@pytest.fixture
def travel_agent(llm_server):
    from llama_index.core.agent.workflow import FunctionAgent
    from llama_index.core.tools import FunctionTool

    llm = OpenAI(model="gpt-4o-mini", api_base=llm_server.openai_base_url, api_key="sk-test", max_retries=0)
    tools = [FunctionTool.from_defaults(fn) for fn in (get_weather, get_time)]
    return FunctionAgent(name="travel", description="answers travellers", tools=tools, llm=llm,
                         system_prompt="Use the tools.")


async def test_function_agent_is_an_agent_with_its_model_calls_and_tools(travel_agent, li, tree):
    response = await travel_agent.run(user_msg="What are the weather and time in Paris?")
    assert "sunny in Paris" in str(response) and "10:00 in Paris" in str(response)
    agent = "invoke_agent travel"
    spans = tree()
    assert spans[0] == (agent, [])
    chats = [s for s in spans if s[0] == "chat gpt-4o-mini"]
    assert len(chats) == 2 and all(chain == [agent] for _, chain in chats)  # one span per model call
    tools = sorted(s for s in spans if s[0].startswith("execute_tool "))
    assert tools == [("execute_tool get_time", [agent]), ("execute_tool get_weather", [agent])]
    assert len(spans) == 5
    span = li.span(agent)
    assert span.attributes[sc.GEN_AI_AGENT_NAME] == "travel"
    assert span.attributes[sc.GEN_AI_AGENT_DESCRIPTION] == "answers travellers"
    assert li.metric_point(sc.METRIC_AGENT_TOOL_CALLS, {sc.GEN_AI_AGENT_NAME: "travel"}).value == 2
    assert li.metric_point(sc.METRIC_AGENT_INFERENCE_CALLS, {sc.GEN_AI_AGENT_NAME: "travel"}).value == 2
    weather = li.span("execute_tool get_weather")
    assert weather.attributes[sc.GEN_AI_TOOL_DESCRIPTION].startswith("get_weather")
