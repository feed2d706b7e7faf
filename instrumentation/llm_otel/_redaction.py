"""Redaction of secrets and personal data before any content leaves the process.

Runs on every string of captured content (messages, system instructions, tool
arguments and results, retrieval queries) before it is set on a span or event. The
Collector's ``redaction`` processor is the second line of defence, not the first.

Built-in patterns (documented in README, off with ``LLM_OTEL_REDACT_BUILTINS=false``):
API keys (OpenAI/Anthropic ``sk-``, AWS ``AKIA``, Google ``AIza``, GitHub ``ghp_``),
bearer tokens, e-mail addresses, and payment card numbers that pass the Luhn check.
Users add patterns with ``LLM_OTEL_REDACT_PATTERNS`` or ``add_redaction_pattern()``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from llm_otel import _settings

_Replacer = str | Callable[[re.Match[str]], str]

_BUILTINS: tuple[tuple[str, re.Pattern[str], _Replacer], ...] = (
    ("bearer", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer [REDACTED:token]"),
    (
        "api_key",
        re.compile(
            r"\b(?:sk-(?:ant-|proj-|live-|test-)?[A-Za-z0-9_-]{16,}"
            r"|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|gh[pousr]_[A-Za-z0-9]{36,})"
        ),
        "[REDACTED:api_key]",
    ),
    ("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"), "[REDACTED:email]"),
)
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_replacement(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return "[REDACTED:card]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


_user_patterns: list[tuple[re.Pattern[str], _Replacer]] = []


def add_redaction_pattern(pattern: str | re.Pattern[str], replacement: _Replacer = "[REDACTED]") -> None:
    """Redact every match of ``pattern`` in captured content from now on.

    >>> import llm_otel
    >>> llm_otel.add_redaction_pattern(r"ACME-\\d{6}", "[REDACTED:customer]")
    """
    _user_patterns.append((re.compile(pattern) if isinstance(pattern, str) else pattern, replacement))


def clear_redaction_patterns() -> None:
    """Forget patterns added with ``add_redaction_pattern`` (the env ones stay)."""
    _user_patterns.clear()


def redact(text: str) -> str:
    settings = _settings.get()
    if settings.redact_builtins:
        for _, pattern, replacement in _BUILTINS:
            text = pattern.sub(replacement, text)
        text = _CARD.sub(_card_replacement, text)
    for pattern in settings.redact_patterns:
        text = pattern.sub("[REDACTED]", text)
    for pattern, replacement in _user_patterns:
        text = pattern.sub(replacement, text)
    return text
