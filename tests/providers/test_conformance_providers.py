"""Issue 9, provider side: the provider a cloud client really talks to, the recommended request attributes,
and the SDK entry points that bypass ``create()`` — each through the real SDK over real HTTP."""

from __future__ import annotations

import json

import anthropic
import llm_otel._semconv as sc
import openai
import pydantic
import pytest
from genai_prices import Usage, calc_price

AZURE_API_VERSION = "2024-10-21"
BEDROCK_MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"
VERTEX_MODEL = "claude-haiku-4-5@20251001"


class Answer(pydantic.BaseModel):
    city: str


def _list_price(provider_id: str, model: str, input_tokens: int, output_tokens: int) -> float:
    """What genai-prices says the call costs (the figure the cost metric must show)."""
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return float(calc_price(usage, model_ref=model, provider_id=provider_id).total_price)


# -- item 6: the provider of Azure, Bedrock and Vertex clients, and the price that follows --------------------


@pytest.fixture
def azure_client(llm_server):
    return openai.AzureOpenAI(azure_endpoint=llm_server.base_url, api_version=AZURE_API_VERSION, api_key="az-key",
                              max_retries=0)


@pytest.fixture
def async_azure_client(llm_server):
    return openai.AsyncAzureOpenAI(azure_endpoint=llm_server.base_url, api_version=AZURE_API_VERSION,
                                   api_key="az-key", max_retries=0)


@pytest.fixture
def bedrock_anthropic(llm_server):
    return anthropic.AnthropicBedrock(base_url=llm_server.base_url, aws_region="us-east-1", aws_access_key="AKIDLOCAL",
                                      aws_secret_key="local-secret", max_retries=0)


@pytest.fixture
def vertex_anthropic(llm_server):
    return anthropic.AnthropicVertex(base_url=llm_server.base_url + "/v1", region="us-east5", project_id="proj",
                                     access_token="local-token", max_retries=0)


def test_azure_openai_client_is_azure_ai_openai_and_priced_as_azure(instrumented, azure_client, llm_server):
    reply = azure_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert llm_server.requests[-1].path.startswith("/openai/deployments/gpt-4o-mini/chat/completions?api-version=")
    span = instrumented.span("chat gpt-4o-mini")
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_AZURE_AI_OPENAI
    expected = _list_price("azure", reply.model, reply.usage.prompt_tokens, reply.usage.completion_tokens)
    point = instrumented.metric_point(sc.METRIC_COST, {sc.GEN_AI_PROVIDER_NAME: sc.PROVIDER_AZURE_AI_OPENAI})
    assert point.value == pytest.approx(expected) and expected > 0


async def test_async_azure_deployment_without_a_list_price_counts_as_unpriced(instrumented, async_azure_client):
    await async_azure_client.chat.completions.create(model="team-deployment-7",
                                                     messages=[{"role": "user", "content": "hi"}])
    span = instrumented.span("chat team-deployment-7")
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_AZURE_AI_OPENAI
    assert sc.LLM_OTEL_COST_USD not in span.attributes
    where = {sc.GEN_AI_PROVIDER_NAME: sc.PROVIDER_AZURE_AI_OPENAI, sc.GEN_AI_REQUEST_MODEL: "team-deployment-7"}
    assert instrumented.metric_point(sc.METRIC_UNPRICED, where).value == 1


def test_azure_responses_and_embeddings(instrumented, azure_client):
    azure_client.responses.create(model="gpt-4o-mini", input="hi")
    azure_client.embeddings.create(model="text-embedding-3-small", input="hi")
    providers = {s.attributes[sc.GEN_AI_OPERATION_NAME]: s.attributes[sc.GEN_AI_PROVIDER_NAME] for s in instrumented.spans}
    assert providers == {sc.OP_CHAT: sc.PROVIDER_AZURE_AI_OPENAI, sc.OP_EMBEDDINGS: sc.PROVIDER_AZURE_AI_OPENAI}


def test_anthropic_bedrock_client_is_aws_bedrock_and_priced_as_aws(instrumented, bedrock_anthropic, llm_server):
    message = bedrock_anthropic.messages.create(model=BEDROCK_MODEL, max_tokens=60,
                                                messages=[{"role": "user", "content": "hi"}])
    assert llm_server.requests[-1].path.startswith("/model/")
    span = instrumented.span(f"chat {BEDROCK_MODEL}")
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_AWS_BEDROCK
    expected = _list_price("aws", message.model, message.usage.input_tokens, message.usage.output_tokens)
    assert span.attributes[sc.LLM_OTEL_COST_USD] == pytest.approx(expected) and expected > 0


def test_anthropic_bedrock_stream(instrumented, bedrock_anthropic):
    with bedrock_anthropic.messages.stream(model=BEDROCK_MODEL, max_tokens=60,
                                           messages=[{"role": "user", "content": "hi"}]) as stream:
        text = "".join(stream.text_stream)
    span = instrumented.span(f"chat {BEDROCK_MODEL}")
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_AWS_BEDROCK
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == len(text.split())


def test_anthropic_vertex_client_is_gcp_vertex_ai_and_priced_as_google(instrumented, vertex_anthropic, llm_server):
    message = vertex_anthropic.messages.create(model=VERTEX_MODEL, max_tokens=60,
                                               messages=[{"role": "user", "content": "hi"}])
    assert ":rawPredict" in llm_server.requests[-1].path
    span = instrumented.span(f"chat {VERTEX_MODEL}")
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_GCP_VERTEX_AI
    expected = _list_price("google", message.model, message.usage.input_tokens, message.usage.output_tokens)
    assert span.attributes[sc.LLM_OTEL_COST_USD] == pytest.approx(expected) and expected > 0


async def test_async_anthropic_vertex_stream(instrumented, llm_server):
    client = anthropic.AsyncAnthropicVertex(base_url=llm_server.base_url + "/v1", region="us-east5",
                                            project_id="proj", access_token="local-token", max_retries=0)
    stream = await client.messages.create(model=VERTEX_MODEL, max_tokens=60, stream=True,
                                          messages=[{"role": "user", "content": "hi"}])
    events = [event async for event in stream]
    assert ":streamRawPredict" in llm_server.requests[-1].path and events
    span = instrumented.span(f"chat {VERTEX_MODEL}")
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_GCP_VERTEX_AI
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0


def test_plain_clients_keep_their_provider(instrumented, openai_client, anthropic_client):
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=30, messages=[{"role": "user", "content": "hi"}])
    assert sorted(s.attributes[sc.GEN_AI_PROVIDER_NAME] for s in instrumented.spans) == [sc.PROVIDER_ANTHROPIC,
                                                                                        sc.PROVIDER_OPENAI]


# -- item 7: recommended attributes ----------------------------------------------------------------------------


def test_chat_completions_reasoning_level_and_api_type(instrumented, openai_client):
    openai_client.chat.completions.create(model="o4-mini", reasoning_effort="low",
                                          messages=[{"role": "user", "content": "hi"}])
    attrs = instrumented.span("chat o4-mini").attributes
    assert attrs[sc.GEN_AI_REQUEST_REASONING_LEVEL] == "low"
    assert attrs[sc.OPENAI_API_TYPE] == sc.OPENAI_API_TYPE_CHAT_COMPLETIONS


def test_responses_previous_response_reasoning_level_output_type_and_api_type(instrumented, openai_client):
    first = openai_client.responses.create(model="o4-mini", input="hi")
    openai_client.responses.create(model="o4-mini", input="and then?", previous_response_id=first.id,
                                   reasoning={"effort": "high"},
                                   text={"format": {"type": "json_schema", "name": "answer", "strict": True,
                                                    "schema": Answer.model_json_schema() | {"additionalProperties": False}}})
    plain, follow_up = instrumented.spans_by_operation(sc.OP_CHAT)
    assert sc.GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID not in plain.attributes
    assert sc.GEN_AI_OUTPUT_TYPE not in plain.attributes  # nothing was requested
    assert follow_up.attributes[sc.GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID] == first.id
    assert follow_up.attributes[sc.GEN_AI_REQUEST_REASONING_LEVEL] == "high"
    assert follow_up.attributes[sc.GEN_AI_OUTPUT_TYPE] == sc.OUTPUT_TYPE_JSON
    assert {s.attributes[sc.OPENAI_API_TYPE] for s in (plain, follow_up)} == {sc.OPENAI_API_TYPE_RESPONSES}


def test_responses_plain_text_format_is_text(instrumented, openai_client):
    openai_client.responses.create(model="gpt-4o-mini", input="hi", text={"format": {"type": "text"}})
    assert instrumented.span("chat gpt-4o-mini").attributes[sc.GEN_AI_OUTPUT_TYPE] == sc.OUTPUT_TYPE_TEXT


def test_anthropic_effort_and_json_output(instrumented, anthropic_client):
    anthropic_client.messages.create(model="claude-sonnet-4-5", max_tokens=60, messages=[{"role": "user", "content": "hi"}],
                                     output_config={"effort": "medium", "format": {"type": "json_schema",
                                                                                   "schema": Answer.model_json_schema()}})
    attrs = instrumented.span("chat claude-sonnet-4-5").attributes
    assert attrs[sc.GEN_AI_REQUEST_REASONING_LEVEL] == "medium"
    assert attrs[sc.GEN_AI_OUTPUT_TYPE] == sc.OUTPUT_TYPE_JSON


# -- item 9: entry points that bypass create() -------------------------------------------------------------------


def test_chat_completions_parse(instrumented, openai_client):
    parsed = openai_client.chat.completions.parse(model="gpt-4o-mini", response_format=Answer,
                                                  messages=[{"role": "user", "content": "hi"}])
    span = instrumented.span("chat gpt-4o-mini")
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == parsed.id
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == parsed.usage.completion_tokens
    assert span.attributes[sc.GEN_AI_OUTPUT_TYPE] == sc.OUTPUT_TYPE_JSON


async def test_async_chat_completions_parse(instrumented, async_openai_client):
    parsed = await async_openai_client.chat.completions.parse(model="gpt-4o-mini", response_format=Answer,
                                                              messages=[{"role": "user", "content": "hi"}])
    assert instrumented.span("chat gpt-4o-mini").attributes[sc.GEN_AI_RESPONSE_ID] == parsed.id


def test_responses_parse(instrumented, openai_client):
    parsed = openai_client.responses.parse(model="gpt-4o-mini", input="hi", text_format=Answer)
    attrs = instrumented.span("chat gpt-4o-mini").attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == parsed.id and attrs[sc.GEN_AI_OUTPUT_TYPE] == sc.OUTPUT_TYPE_JSON
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == parsed.usage.output_tokens
    assert attrs[sc.OPENAI_API_TYPE] == sc.OPENAI_API_TYPE_RESPONSES


async def test_async_responses_parse(instrumented, async_openai_client):
    parsed = await async_openai_client.responses.parse(model="gpt-4o-mini", input="hi", text_format=Answer)
    assert instrumented.span("chat gpt-4o-mini").attributes[sc.GEN_AI_RESPONSE_ID] == parsed.id


def test_legacy_completions_are_text_completion(instrumented, openai_client):
    instrumented.settings(capture="SPAN_ONLY")
    completion = openai_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", max_tokens=40)
    span = instrumented.span(f"{sc.OP_TEXT_COMPLETION} gpt-3.5-turbo-instruct")
    assert span.attributes[sc.GEN_AI_OPERATION_NAME] == sc.OP_TEXT_COMPLETION
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_OPENAI
    assert span.attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 40
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == completion.id
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == completion.usage.prompt_tokens
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    output = json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output[0]["parts"][0]["content"] == completion.choices[0].text
    where = {sc.GEN_AI_OPERATION_NAME: sc.OP_TEXT_COMPLETION}
    assert instrumented.metric_point(sc.METRIC_OPERATION_DURATION, where).count == 1


def test_legacy_completions_stream(instrumented, openai_client):
    stream = openai_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", stream=True,
                                              stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    span = instrumented.span(f"{sc.OP_TEXT_COMPLETION} gpt-3.5-turbo-instruct")
    assert span.attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == chunks[-1].usage.completion_tokens
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert instrumented.metric_point(sc.METRIC_RESPONSE_LENGTH).value == len(text)


async def test_async_legacy_completions(instrumented, async_openai_client):
    completion = await async_openai_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
    span = instrumented.span(f"{sc.OP_TEXT_COMPLETION} gpt-3.5-turbo-instruct")
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == completion.usage.completion_tokens


def test_anthropic_beta_messages_create_and_stream(instrumented, anthropic_client):
    message = anthropic_client.beta.messages.create(model="claude-haiku-4-5", max_tokens=60,
                                                    messages=[{"role": "user", "content": "hi"}])
    with anthropic_client.beta.messages.stream(model="claude-haiku-4-5", max_tokens=60,
                                               messages=[{"role": "user", "content": "again"}]) as stream:
        text = "".join(stream.text_stream)
    first, second = instrumented.spans_by_operation(sc.OP_CHAT)
    assert first.attributes[sc.GEN_AI_RESPONSE_ID] == message.id
    assert first.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == message.usage.output_tokens
    assert second.attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert second.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == len(text.split())


async def test_async_anthropic_beta_messages(instrumented, async_anthropic_client):
    message = await async_anthropic_client.beta.messages.create(model="claude-haiku-4-5", max_tokens=60,
                                                                messages=[{"role": "user", "content": "hi"}])
    async with async_anthropic_client.beta.messages.stream(model="claude-haiku-4-5", max_tokens=60,
                                                           messages=[{"role": "user", "content": "hi"}]) as stream:
        await stream.get_final_message()
    first, second = instrumented.spans_by_operation(sc.OP_CHAT)
    assert first.attributes[sc.GEN_AI_RESPONSE_ID] == message.id
    assert second.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == message.usage.output_tokens


def test_anthropic_parse(instrumented, anthropic_client):
    parsed = anthropic_client.messages.parse(model="claude-haiku-4-5", max_tokens=60, output_format=Answer,
                                             messages=[{"role": "user", "content": "hi"}])
    attrs = instrumented.span("chat claude-haiku-4-5").attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == parsed.id and attrs[sc.GEN_AI_OUTPUT_TYPE] == sc.OUTPUT_TYPE_JSON


def test_openai_api_type_stays_on_openai_apis(instrumented, groq_client):
    groq_client.chat.completions.create(model="llama-3.3-70b-versatile", messages=[{"role": "user", "content": "hi"}])
    [span] = instrumented.spans_by_operation(sc.OP_CHAT)
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_GROQ
    assert sc.OPENAI_API_TYPE not in span.attributes  # Groq shares the translator, not OpenAI's API names
