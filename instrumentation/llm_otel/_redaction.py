"""Redaction of secrets and personal data before any content leaves the process.

Runs on every string of captured content (messages, system instructions, tool
arguments and results, retrieval queries) before it is set on a span or event. The
Collector's ``redaction`` processor is the second line of defence, not the first.

Built-in patterns (documented in README, off with ``LLM_OTEL_REDACT_BUILTINS=false``):
API keys (OpenAI/Anthropic ``sk-``, Stripe ``sk_live_``/``sk_test_``, AWS ``AKIA``/``ASIA`` key ids and
40-character secret keys, Google ``AIza``, GitHub ``ghp_``/``gho_``/``github_pat_``, Slack ``xoxb-``/``xoxp-``),
bearer tokens, ``Basic`` credentials, ``x-api-key:``/``api_key=`` values, bare JWTs, e-mail addresses (also
inside ids), and payment card numbers that pass the Luhn check (also given as an int).
Users add patterns with ``LLM_OTEL_REDACT_PATTERNS`` or ``add_redaction_pattern()``.

Cost: every built-in pattern is linear in the text (each can only start where a token starts, its
quantifiers are possessive or bounded), and a pattern runs only when its marker ("@", "eyJ", ...) occurs.
Callers cut before they redact: content to ``LLM_OTEL_CONTENT_MAX_BYTES`` characters per string,
exception texts to 1,024, feedback comments to 4,096. The worst case per 64 KiB is measured by
``benchmarks/bench_redaction.py``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from llm_otel import _settings

_Replacer = str | Callable[[re.Match[str]], str]


def _basic(match: re.Match[str]) -> str:
    """``Basic <base64 of user:password>`` only (not the English word "basic" before a long word)."""
    try:
        decoded = base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return match.group(0)
    return f"{match.group(1)} [REDACTED:credentials]" if b":" in decoded else match.group(0)


def _aws_secret(match: re.Match[str]) -> str:
    token = match.group(0)
    mixed = any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token)
    return "[REDACTED:aws_secret]" if mixed else token


# (name, pattern, replacement, markers: the pattern runs only if one occurs (lower-cased text if lower))
_BUILTINS: tuple[tuple[str, re.Pattern[str], _Replacer, tuple[str, ...], bool], ...] = (
    ("bearer", re.compile(r"(?i)\bbearer\s{1,16}[A-Za-z0-9._~+/=-]{8,}+"), "Bearer [REDACTED:token]", ("bearer",), True),
    ("basic", re.compile(r"(?i)\b(basic)\s{1,16}([A-Za-z0-9+/]{6,}+={0,2})"), _basic, ("basic",), True),
    (
        "api_key_header",
        re.compile(r"(?i)\b((?:x-)?api[-_]?key[\"']?\s{0,8}[:=]\s{0,8}[\"']?)[^\s\"',;]{4,}+"),
        r"\1[REDACTED:api_key]", ("api",), True,
    ),
    (
        "api_key",
        re.compile(
            r"\b(?:sk-(?:ant-|proj-|live-|test-)?[A-Za-z0-9_-]{16,}+|[sr]k_(?:live|test)_[A-Za-z0-9]{10,}+"
            r"|(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|gh[pousr]_[A-Za-z0-9]{36,}+"
            r"|github_pat_[A-Za-z0-9_]{22,}+|xox[abposr]-[A-Za-z0-9-]{10,}+)"
        ),
        "[REDACTED:api_key]", ("sk-", "sk_", "rk_", "AKIA", "ASIA", "AIza", "gh", "xox"), False,
    ),
    (
        "jwt",
        re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]{4,}+\.[A-Za-z0-9_-]{4,}+"),
        "[REDACTED:jwt]", ("eyJ",), False,
    ),
    (
        "email",
        re.compile(
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b"
        ),
        "[REDACTED:email]", ("@",), False,
    ),
    (
        "aws_secret",
        re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
        _aws_secret, ("",), False,
    ),
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
    digits = match.group(0).replace(" ", "").replace("-", "")
    return "[REDACTED:card]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


def redact_number(value: int) -> int | str:
    """A card number given as an int (13-19 digits, Luhn) becomes the redaction marker; other ints stay."""
    if 10**12 <= value < 10**19 and _luhn_ok(str(value)):
        return "[REDACTED:card]"
    return value


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
    """``text`` with every built-in, environment and added pattern replaced. Cut ``text`` first."""
    settings = _settings.get()
    if settings.redact_builtins:
        lowered = None
        for _, pattern, replacement, markers, lower in _BUILTINS:
            if lower:
                if lowered is None:
                    lowered = text.lower()
                haystack = lowered
            else:
                haystack = text
            if any(marker in haystack for marker in markers):
                text = pattern.sub(replacement, text)
        if any(d in text for d in "0123456789"):
            text = _CARD.sub(_card_replacement, text)
    for pattern in settings.redact_patterns:
        text = pattern.sub("[REDACTED]", text)
    for pattern, replacement in _user_patterns:
        text = pattern.sub(replacement, text)
    return text
