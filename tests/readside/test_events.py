"""`llm-otel events` reads the Collector's OTLP-JSON-lines events file."""

from __future__ import annotations

import json

from llm_otel_tools.readside import events

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _line(name, trace_id, attrs, service="svc"):
    return json.dumps({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeLogs": [{"scope": {"name": "llm_otel"}, "logRecords": [{
            "timeUnixNano": "1795337867910923947", "eventName": name, "traceId": trace_id, "spanId": "00f067aa0ba902b7",
            "attributes": [{"key": k, "value": v} for k, v in attrs.items()],
        }]}],
    }]})


def test_reads_events_with_typed_values(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([
        _line("gen_ai.evaluation.result", TRACE, {"gen_ai.evaluation.name": {"stringValue": "refusal"},
                                                  "gen_ai.evaluation.score.value": {"doubleValue": 1.0},
                                                  "gen_ai.usage.output_tokens": {"intValue": "42"}}),
        _line("gen_ai.client.inference.operation.details", "", {"gen_ai.finish": {"arrayValue": {"values": [{"stringValue": "stop"}]}}}),
        '{"resourceLogs": [{"scopeLogs": [',  # a torn line while the Collector writes
    ]))
    got = list(events.read_events(path))
    assert len(got) == 2
    assert got[0]["trace_id"] == TRACE and got[0]["service"] == "svc"
    assert got[0]["attributes"] == {"gen_ai.evaluation.name": "refusal", "gen_ai.evaluation.score.value": 1.0,
                                    "gen_ai.usage.output_tokens": 42}
    assert got[1]["attributes"]["gen_ai.finish"] == ["stop"]


def test_cli_filters_by_name_and_trace(tmp_path, capsys):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([
        _line("gen_ai.evaluation.result", TRACE, {"gen_ai.evaluation.name": {"stringValue": "user_feedback"}}),
        _line("gen_ai.evaluation.result", "0" * 31 + "1", {"gen_ai.evaluation.name": {"stringValue": "refusal"}}),
        _line("gen_ai.client.inference.operation.details", TRACE, {}),
    ]))
    assert events.main(["--file", str(path), "--name", "gen_ai.evaluation.result", "--trace", TRACE.upper(), "--json"]) == 0
    [only] = json.loads(capsys.readouterr().out)
    assert only["attributes"]["gen_ai.evaluation.name"] == "user_feedback"
    assert events.main(["--file", str(path)]) == 0
    assert capsys.readouterr().out.count("\n") == 3


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    assert events.main(["--file", str(tmp_path / "nope.jsonl")]) == 1
    assert "llm-otel stack up" in capsys.readouterr().err
