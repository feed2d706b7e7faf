"""boto3 bedrock-runtime through the instrumentor, over real HTTP (SigV4-signed) to the local
LLM: Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream."""

from __future__ import annotations

import json

import botocore.client
import llm_otel
import llm_otel._semconv as sc
import pytest
from llm_otel.instrumentors.bedrock import BedrockInstrumentor
from opentelemetry.trace import SpanKind, StatusCode

SONNET = "anthropic.claude-3-5-sonnet-20240620-v1:0"
NOVA = "amazon.nova-lite-v1:0"
LONG_SYSTEM = [{"text": "You are a careful assistant. " * 20}]  # long enough for the server to report cached tokens
WEATHER = {"toolSpec": {"name": "get_weather", "description": "weather",
                        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}}}}


def _user(text):
    return [{"role": "user", "content": [{"text": text}]}]


def test_converse_span_and_metrics(instrumented, bedrock_client, llm_server):
    response = bedrock_client.converse(modelId=NOVA, messages=_user("hello there"),
                                       inferenceConfig={"maxTokens": 64, "temperature": 0.2, "topP": 0.9, "stopSequences": ["STOP"]})
    span = instrumented.span(f"chat {NOVA}")
    attrs = span.attributes
    assert span.kind is SpanKind.CLIENT
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_AWS_BEDROCK
    assert attrs[sc.GEN_AI_REQUEST_MODEL] == NOVA
    assert (attrs[sc.SERVER_ADDRESS], attrs[sc.SERVER_PORT]) == ("127.0.0.1", llm_server.port)
    assert attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 64
    assert attrs[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("STOP",)
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == response["usage"]["outputTokens"]
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == response["usage"]["inputTokens"]
    assert sc.GEN_AI_INPUT_MESSAGES not in attrs and sc.GEN_AI_OUTPUT_MESSAGES not in attrs  # privacy by default
    text = response["output"]["message"]["content"][0]["text"]
    assert instrumented.metric_point(sc.METRIC_RESPONSE_LENGTH).value == len(text)
    point = instrumented.metric_point(sc.METRIC_OPERATION_DURATION)
    assert point.attributes[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_AWS_BEDROCK


@pytest.mark.parametrize("model_id", [SONNET, f"us.{SONNET}"], ids=["base", "cross-region"])
@pytest.mark.parametrize("prompt", ["hi", "hi cachewrite"], ids=["cache-read", "cache-write"])
def test_cache_tokens_and_cost_of_a_known_bedrock_model(instrumented, bedrock_client, model_id, prompt):
    response = bedrock_client.converse(modelId=model_id, system=LONG_SYSTEM, messages=_user(prompt))
    usage = response["usage"]
    read, written = usage["cacheReadInputTokens"], usage["cacheWriteInputTokens"]
    assert read + written > 0 and read * written == 0
    attrs = instrumented.span(f"chat {model_id}").attributes
    # Bedrock's inputTokens leaves the cached ones out; the conventions count them in
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == usage["inputTokens"] + read + written
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == read
    assert attrs[sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == written
    # Claude 3.5 Sonnet on Bedrock: $3 input, $15 output, $0.30 cache read, $3.75 cache write per MTok
    expected = (usage["inputTokens"] * 3 + usage["outputTokens"] * 15 + read * 0.3 + written * 3.75) / 1e6
    assert attrs[sc.LLM_OTEL_COST_USD] == pytest.approx(expected)
    assert instrumented.metric_point(sc.METRIC_COST).value == pytest.approx(expected)


def test_converse_tool_use_and_result_in_the_conventions_message_schema(instrumented, bedrock_client):
    instrumented.settings(capture="SPAN_AND_EVENT")
    first = bedrock_client.converse(modelId=NOVA, messages=_user("weather in Oslo?"), toolConfig={"tools": [WEATHER]},
                                    system=[{"text": "be brief"}])
    assert first["stopReason"] == "tool_use"
    use = next(b["toolUse"] for b in first["output"]["message"]["content"] if "toolUse" in b)
    span = instrumented.span(f"chat {NOVA}")
    out = json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert {"type": "tool_call", "id": use["toolUseId"], "name": "get_weather", "arguments": use["input"]} in out[0]["parts"]
    assert json.loads(span.attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": "be brief"}]
    assert json.loads(span.attributes[sc.GEN_AI_TOOL_DEFINITIONS])[0]["name"] == "get_weather"
    result = {"toolResult": {"toolUseId": use["toolUseId"], "content": [{"text": "5C"}]}}
    bedrock_client.converse(modelId=NOVA, toolConfig={"tools": [WEATHER]}, messages=[
        *_user("weather in Oslo?"), first["output"]["message"], {"role": "user", "content": [result]}])
    second = instrumented.spans_by_operation(sc.OP_CHAT)[1]
    inputs = json.loads(second.attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert inputs[-1] == {"role": "tool", "parts": [{"type": "tool_call_response", "id": use["toolUseId"], "response": [{"text": "5C"}]}]}
    assert second.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)


def test_converse_stream_tool_call_is_reassembled(instrumented, bedrock_client):
    instrumented.settings(capture="SPAN_ONLY")
    response = bedrock_client.converse_stream(modelId=NOVA, messages=_user("weather in Paris"), toolConfig={"tools": [WEATHER]})
    events = list(response["stream"])
    assert type(response["stream"]).__name__ == "EventStream"  # the caller's object is the SDK's own
    assert list(events[0]) == ["messageStart"] and "metadata" in events[-1]
    span = instrumented.span(f"chat {NOVA}")
    attrs = span.attributes
    assert attrs[sc.GEN_AI_REQUEST_STREAM] is True
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == events[-1]["metadata"]["usage"]["outputTokens"]
    assert attrs[sc.LLM_OTEL_STREAM_CHUNKS] == sum(1 for e in events if "contentBlockDelta" in e)
    out = json.loads(attrs[sc.GEN_AI_OUTPUT_MESSAGES])
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert {"type": "tool_call", "id": start["start"]["toolUse"]["toolUseId"],
            "name": "get_weather", "arguments": {"city": "Paris"}} in out[0]["parts"]


INVOKE_BODIES = {
    "anthropic": ("anthropic.claude-3-haiku-20240307-v1:0", sc.OP_CHAT,
                  {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 40, "messages": [{"role": "user", "content": "hello there"}]}),
    "nova": ("us.amazon.nova-micro-v1:0", sc.OP_CHAT,
             {"schemaVersion": "messages-v1", "messages": _user("hello there"), "inferenceConfig": {"maxTokens": 40}}),
    "titan": ("amazon.titan-text-express-v1", sc.OP_TEXT_COMPLETION,
              {"inputText": "hello there", "textGenerationConfig": {"maxTokenCount": 40}}),
    "llama": ("meta.llama3-1-8b-instruct-v1:0", sc.OP_TEXT_COMPLETION, {"prompt": "hello there", "max_gen_len": 40}),
}
EXPECTED_REASON = {"anthropic": "end_turn", "nova": "end_turn", "titan": "FINISH", "llama": "stop"}


@pytest.mark.parametrize("family", INVOKE_BODIES)
def test_invoke_model_reads_each_body_family(instrumented, bedrock_client, family):
    instrumented.settings(capture="SPAN_ONLY")
    model, operation, body = INVOKE_BODIES[family]
    response = bedrock_client.invoke_model(modelId=model, body=json.dumps(body))
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    raw = response["body"].read()  # still the caller's to read, unchanged
    assert type(response["body"]).__name__ == "StreamingBody" and json.loads(raw)
    span = instrumented.span(f"{operation} {model}")
    attrs = span.attributes
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == sc.PROVIDER_AWS_BEDROCK
    assert attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 40
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == int(headers["x-amzn-bedrock-input-token-count"])
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == int(headers["x-amzn-bedrock-output-token-count"])
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == (EXPECTED_REASON[family],)
    assert attrs[sc.LLM_OTEL_COST_USD] > 0  # every one of these model ids has a Bedrock price
    out = json.loads(attrs[sc.GEN_AI_OUTPUT_MESSAGES])
    assert out[0]["parts"][0]["content"].startswith("This is a deterministic reply")
    inputs = json.loads(attrs[sc.GEN_AI_INPUT_MESSAGES])
    assert inputs[0]["parts"][0] == {"type": "text", "content": "hello there"}


@pytest.mark.parametrize("family", INVOKE_BODIES)
def test_invoke_model_with_response_stream_reads_each_body_family(instrumented, bedrock_client, family):
    model, operation, body = INVOKE_BODIES[family]
    response = bedrock_client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    attrs = instrumented.span(f"{operation} {model}").attributes
    assert attrs[sc.GEN_AI_REQUEST_STREAM] is True
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == metrics["inputTokenCount"]
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == metrics["outputTokenCount"]
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == (EXPECTED_REASON[family],)
    assert attrs[sc.LLM_OTEL_STREAM_CHUNKS] == metrics["outputTokenCount"]  # one text delta per token
    assert instrumented.metric_point(sc.METRIC_TIME_TO_FIRST_CHUNK).count == 1


def test_titan_embeddings(instrumented, bedrock_client):
    response = bedrock_client.invoke_model(modelId="amazon.titan-embed-text-v2:0", body=json.dumps({"inputText": "hello", "dimensions": 256}))
    vector = json.loads(response["body"].read())["embedding"]
    attrs = instrumented.span("embeddings amazon.titan-embed-text-v2:0").attributes
    assert len(vector) == 256
    assert attrs["gen_ai.embeddings.dimension.count"] == 256
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 1


@pytest.mark.parametrize(("trigger", "error"), [("ratelimit", "ThrottlingException"), ("error", "InternalServerException"),
                                                 ("overloaded", "ServiceUnavailableException")])
def test_errors_keep_the_sdks_exception(instrumented, bedrock_client, trigger, error):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        bedrock_client.converse(modelId=NOVA, messages=_user(f"please {trigger}"))
    assert type(caught.value).__name__ == error
    assert isinstance(caught.value, getattr(bedrock_client.exceptions, error))
    span = instrumented.span(f"chat {NOVA}")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == error
    assert instrumented.metric_point(sc.METRIC_OPERATION_DURATION).attributes[sc.ERROR_TYPE] == error


def test_a_body_cut_off_mid_way_fails_the_callers_read_and_the_span(instrumented, bedrock_client):
    _, _, body = INVOKE_BODIES["llama"]
    response = bedrock_client.invoke_model(modelId="meta.llama3-1-8b-instruct-v1:0",
                                           body=json.dumps({**body, "prompt": "tell me broken"}))
    with pytest.raises(Exception) as caught:
        response["body"].read()
    span = instrumented.span("text_completion meta.llama3-1-8b-instruct-v1:0")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == type(caught.value).__qualname__


def test_other_aws_services_pass_through(instrumented, llm_server):
    import boto3

    control = boto3.client("bedrock", region_name="us-east-1", endpoint_url=llm_server.base_url,
                           aws_access_key_id="AKIDLOCAL", aws_secret_access_key="x")
    with pytest.raises(botocore.exceptions.ClientError):
        control.list_foundation_models()  # not a runtime call: the local server has no such route
    assert instrumented.spans == []


def test_duplicate_guard_merges_into_an_open_call_and_yields_to_another_instrumentation(instrumented, bedrock_client):
    with llm_otel.llm_call(provider=sc.PROVIDER_AWS_BEDROCK, model=NOVA) as call:
        response = bedrock_client.converse(modelId=NOVA, messages=_user("hi"), inferenceConfig={"maxTokens": 30})
    [span] = instrumented.spans_by_operation(sc.OP_CHAT)
    assert call.output_tokens == response["usage"]["outputTokens"]
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == response["usage"]["outputTokens"]
    assert instrumented.metric_point(sc.METRIC_OPERATION_DURATION).count == 1
    tracer = instrumented.tracer_provider.get_tracer("opentelemetry.instrumentation.botocore")
    with tracer.start_as_current_span("BedrockRuntime.Converse", kind=SpanKind.CLIENT,
                                      attributes={sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT, sc.GEN_AI_PROVIDER_NAME: sc.PROVIDER_AWS_BEDROCK}):
        bedrock_client.converse(modelId=NOVA, messages=_user("hi"))
    assert [s.name for s in instrumented.spans] == [f"chat {NOVA}", "BedrockRuntime.Converse"]  # no second span of ours
    assert instrumented.metric_point(sc.METRIC_OPERATION_DURATION).count == 1


def test_uninstrument_restores_botocore_exactly(otel_capture):
    original = botocore.client.BaseClient._make_api_call
    BedrockInstrumentor().instrument()
    assert botocore.client.BaseClient._make_api_call is not original
    BedrockInstrumentor().uninstrument()
    assert botocore.client.BaseClient._make_api_call is original


@pytest.mark.parametrize("official_first", [True, False], ids=["official-instrumented-first", "official-instrumented-last"])
def test_official_botocore_instrumentation_records_the_call_once(instrumented, bedrock_client, official_first):
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    ours = BedrockInstrumentor()
    if official_first:
        ours.uninstrument()
    BotocoreInstrumentor().instrument(tracer_provider=instrumented.tracer_provider, meter_provider=instrumented.meter_provider)
    if official_first:
        ours.instrument()
    try:
        bedrock_client.converse(modelId=NOVA, messages=_user("hi"))
    finally:
        BotocoreInstrumentor().uninstrument()
    [span] = instrumented.spans  # whichever wraps outside, the call is one span: the official one
    assert span.instrumentation_scope.name.startswith("opentelemetry.instrumentation.botocore")
    assert instrumented.metric_points(sc.METRIC_COST) == []  # and no llm_otel metric points for it
