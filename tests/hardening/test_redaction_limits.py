"""Issue 10 rows 2 and 6: redaction covers the formats, is linear, and never sees more than the cut."""

from __future__ import annotations

import json
import time

import llm_otel
import llm_otel._semconv as sc
import pytest
from hardening_support import assert_encodable
from llm_otel._redaction import redact

SECRETS = {
    "aws key id": "AKIAIOSFODNN7EXAMPLE",
    "aws session key id": "ASIAIOSFODNN7EXAMPLE",
    "aws secret key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "github fine-grained": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGH",
    "github classic": "ghp_" + "aB3" * 12,
    "stripe live": "sk_live_51HxYzABCDEFGHIJKLMN",
    "stripe test": "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "slack bot": "xoxb-1234567890-abcdefghijkl",
    "slack user": "xoxp-1234567890-abcdefghijkl",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdEFGH1234",
    "basic auth": "Basic dXNlcjpwYXNzd29yZA==",
    "x-api-key": "x-api-key: 9f8e7d6c5b4a",
    "bearer": "Bearer abc.def-ghi_123456",
    "card": "4111 1111 1111 1111",
    "email": "jane.doe@example.co.uk",
}


@pytest.mark.parametrize("kind", list(SECRETS))
def test_builtin_patterns_cover_the_format(kind):
    secret = SECRETS[kind]
    out = redact(f"before {secret} after")
    assert "[REDACTED" in out and out.startswith("before ") and out.endswith(" after")
    leftover = secret.split()[-1].split(":")[-1].strip()
    assert leftover not in out, out


def test_plain_words_are_not_redacted():
    text = "a basic understanding of the api keys page, card 1234 and 40 chars"
    assert redact(text) == text


def test_content_path_redacts_secrets_a_card_int_and_an_email_in_a_document_id(otel_capture):
    otel_capture.settings(capture="SPAN_AND_EVENT")
    with llm_otel.tool("pay") as t:
        t.arguments = {"note": " ".join(SECRETS.values())}
        t.result = {"card": 4111111111111111, "count": 3}
    with llm_otel.retrieval(data_source="crm") as r:
        r.documents = [("customer-jane@example.com-7", 0.9)]
    tool = otel_capture.span("execute_tool pay")
    arguments = tool.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]
    for secret in SECRETS.values():
        assert secret.split()[-1] not in arguments, secret
    result = json.loads(tool.attributes[sc.GEN_AI_TOOL_CALL_RESULT])
    assert result == {"card": "[REDACTED:card]", "count": 3}
    documents = otel_capture.span("retrieval crm").attributes[sc.GEN_AI_RETRIEVAL_DOCUMENTS]
    assert "jane" not in documents and "[REDACTED:email]" in documents
    assert_encodable(otel_capture.spans)


class _Seen:
    """A user pattern that records the length of every text handed to redaction."""

    def __init__(self) -> None:
        self.lengths: list[int] = []

    def __call__(self, match) -> str:
        self.lengths.append(len(match.string))
        return match.group(0)


@pytest.fixture
def seen():
    spy = _Seen()
    llm_otel.add_redaction_pattern(r"\A", spy)
    yield spy
    llm_otel.clear_redaction_patterns()


def test_cut_before_redact(otel_capture, seen):
    otel_capture.settings(capture="SPAN_AND_EVENT", content_max_bytes=4096)
    llm_otel.record_feedback("4bf92f3577b34da6a3ce929d0e0e4736", 1, comment="x" * 131072)
    with pytest.raises(ValueError):
        with llm_otel.tool("t"):
            raise ValueError("y" * 131072)
    with llm_otel.llm_call(provider="openai", model="m") as call:
        call.output_text = "a." * 524288
    assert seen.lengths and max(seen.lengths) <= 4096 + 256, max(seen.lengths)


def _seconds(text: str) -> float:
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        redact(text)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("unit", ["a.", "eyJ", "a@", "1 ", "A1b", "bearer ", "api_key="])
def test_redaction_is_linear(unit):
    # a quadratic pattern takes 16x the time for 4x the text (the e-mail one took 10 s per 64 KiB);
    # a linear one about 4x: the bound leaves room for a noisy shared machine. Sizes from 512 KiB: below,
    # cache effects alone make the ratio jump (64 KiB -> 256 KiB measured 10-20x, 1 MiB -> 4 MiB 3-5x).
    small = (unit * 524288)[:524288]
    large = (unit * 2097152)[:2097152]
    assert _seconds(large) < 10 * max(_seconds(small), 1e-4)
