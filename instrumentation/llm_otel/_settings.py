"""Environment variables llm_otel reads, and the parsed settings.

Standard ``OTEL_*`` variables come first; our own use the ``LLM_OTEL_`` prefix and
only cover what no standard variable does. Settings are parsed once and cached;
``reload()`` re-reads them (``configure()``, ``instrument()`` and the test fixture
call it).
"""

from __future__ import annotations

import enum
import json
import logging
import os
import re
from dataclasses import dataclass, field

_log = logging.getLogger("llm_otel")

# standard (semantic conventions)
OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# standard (opentelemetry-instrumentation): comma-separated entry point names to skip
OTEL_PYTHON_DISABLED_INSTRUMENTATIONS = "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"

# ours
LLM_OTEL_CONTENT_MAX_BYTES = "LLM_OTEL_CONTENT_MAX_BYTES"
"""Largest content attribute, in UTF-8 bytes (default 65536). Longer content is cut structurally."""
LLM_OTEL_REDACT_PATTERNS = "LLM_OTEL_REDACT_PATTERNS"
"""Extra redaction regexes: a JSON list, or one pattern per line."""
LLM_OTEL_REDACT_BUILTINS = "LLM_OTEL_REDACT_BUILTINS"
"""``false`` turns the built-in patterns (API keys, bearer tokens, e-mail, cards) off."""
LLM_OTEL_PRICES_FILE = "LLM_OTEL_PRICES_FILE"
"""JSON file of USD prices per million tokens; wins over the bundled genai-prices data."""
LLM_OTEL_OPENAI_INCLUDE_USAGE = "LLM_OTEL_OPENAI_INCLUDE_USAGE"
"""``true`` asks OpenAI-compatible servers for usage on streams (stream_options.include_usage)."""
LLM_OTEL_TOOL_DEFINITION_DETAILS = "LLM_OTEL_TOOL_DEFINITION_DETAILS"
"""``true`` adds tools' descriptions and parameter schemas to ``gen_ai.tool.definitions`` (content
capture on); by default only type and name, as the conventions recommend (they can be large)."""
LLM_OTEL_EVALUATORS = "LLM_OTEL_EVALUATORS"
"""Comma-separated built-in evaluators to run on responses (off by default), or ``all``."""
LLM_OTEL_TIME_PER_OUTPUT_CHUNK = "LLM_OTEL_TIME_PER_OUTPUT_CHUNK"
"""``false`` stops the ``gen_ai.client.operation.time_per_output_chunk`` points, one per stream chunk after the
first (the conventions recommend them; each costs the OTel SDK ~0.1 M instructions, so a long stream's
telemetry is mostly these). Time to first chunk, the chunk count and the span are kept."""

LLM_OTEL_METRIC_ATTRIBUTE_LIMIT = "LLM_OTEL_METRIC_ATTRIBUTE_LIMIT"
"""Distinct values per metric attribute that comes from input (model, tool, agent, workflow, error.type,
server.address, feedback and evaluation labels; default 100); later ones are recorded as ``_OTHER``."""
LLM_OTEL_METRIC_LABEL_MAX_LENGTH = "LLM_OTEL_METRIC_LABEL_MAX_LENGTH"
"""Longest metric attribute value in characters (default 128); longer ones are cut."""
LLM_OTEL_SHUTDOWN_TIMEOUT = "LLM_OTEL_SHUTDOWN_TIMEOUT"
"""Seconds the providers ``configure()`` installed may take to flush at process exit (default 5)."""

DEFAULT_CONTENT_MAX_BYTES = 64 * 1024
DEFAULT_METRIC_ATTRIBUTE_LIMIT = 100
DEFAULT_METRIC_LABEL_MAX_LENGTH = 128
DEFAULT_SHUTDOWN_TIMEOUT = 5.0


class ContentCapture(enum.Enum):
    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"

    @property
    def on_span(self) -> bool:
        return self in (ContentCapture.SPAN_ONLY, ContentCapture.SPAN_AND_EVENT)

    @property
    def on_event(self) -> bool:
        return self in (ContentCapture.EVENT_ONLY, ContentCapture.SPAN_AND_EVENT)


# Values used by the earlier boolean form of the variable (openai-v2 instrumentation).
_LEGACY_CAPTURE = {"TRUE": ContentCapture.SPAN_AND_EVENT, "FALSE": ContentCapture.NO_CONTENT}


@dataclass(frozen=True)
class Settings:
    capture: ContentCapture = ContentCapture.NO_CONTENT
    content_max_bytes: int = DEFAULT_CONTENT_MAX_BYTES
    redact_builtins: bool = True
    redact_patterns: tuple[re.Pattern[str], ...] = ()
    prices_file: str | None = None
    openai_include_usage: bool = False
    tool_definition_details: bool = False
    evaluators: tuple[str, ...] = ()
    time_per_output_chunk: bool = True
    disabled_instrumentations: frozenset[str] = field(default_factory=frozenset)
    metric_attribute_limit: int = DEFAULT_METRIC_ATTRIBUTE_LIMIT
    metric_label_max_length: int = DEFAULT_METRIC_LABEL_MAX_LENGTH
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT


def _parse_bool(name: str, raw: str | None, default: bool) -> bool:
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    _log.warning("%s=%r is not a boolean; using %s", name, raw, default)
    return default


def parse_capture(raw: str | None) -> ContentCapture:
    if raw is None or raw.strip() == "":
        return ContentCapture.NO_CONTENT
    value = raw.strip().upper()
    if value in _LEGACY_CAPTURE:
        return _LEGACY_CAPTURE[value]
    try:
        return ContentCapture(value)
    except ValueError:
        _log.warning(
            "%s=%r is not one of NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT; "
            "content capture stays off",
            OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
            raw,
        )
        return ContentCapture.NO_CONTENT


def _parse_patterns(raw: str | None) -> tuple[re.Pattern[str], ...]:
    if not raw or not raw.strip():
        return ()
    text = raw.strip()
    if text.startswith("["):
        try:
            items = [str(p) for p in json.loads(text)]
        except ValueError:
            _log.warning("%s is not a JSON list of strings; ignored", LLM_OTEL_REDACT_PATTERNS)
            return ()
    else:
        items = [line for line in text.splitlines() if line.strip()]
    compiled = []
    for item in items:
        try:
            compiled.append(re.compile(item))
        except re.error as exc:
            _log.warning("%s: pattern %r does not compile (%s); ignored", LLM_OTEL_REDACT_PATTERNS, item, exc)
    return tuple(compiled)


def _parse_int(name: str, raw: str | None, default: int, minimum: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        _log.warning("%s=%r is not an integer; using %d", name, raw, default)
        return default
    if value < minimum:
        _log.warning("%s=%d is below %d; using %d", name, value, minimum, minimum)
        return minimum
    return value


def _parse_seconds(name: str, raw: str | None, default: float) -> float:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        _log.warning("%s=%r is not a positive number of seconds; using %s", name, raw, default)
        return default
    return value


def from_env(environ: os._Environ[str] | dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    evaluators = tuple(
        e.strip().lower() for e in env.get(LLM_OTEL_EVALUATORS, "").split(",") if e.strip()
    )
    disabled = frozenset(
        e.strip() for e in env.get(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS, "").split(",") if e.strip()
    )
    return Settings(
        capture=parse_capture(env.get(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)),
        content_max_bytes=_parse_int(
            LLM_OTEL_CONTENT_MAX_BYTES, env.get(LLM_OTEL_CONTENT_MAX_BYTES), DEFAULT_CONTENT_MAX_BYTES, 256
        ),
        redact_builtins=_parse_bool(LLM_OTEL_REDACT_BUILTINS, env.get(LLM_OTEL_REDACT_BUILTINS), True),
        redact_patterns=_parse_patterns(env.get(LLM_OTEL_REDACT_PATTERNS)),
        prices_file=env.get(LLM_OTEL_PRICES_FILE) or None,
        openai_include_usage=_parse_bool(
            LLM_OTEL_OPENAI_INCLUDE_USAGE, env.get(LLM_OTEL_OPENAI_INCLUDE_USAGE), False
        ),
        tool_definition_details=_parse_bool(
            LLM_OTEL_TOOL_DEFINITION_DETAILS, env.get(LLM_OTEL_TOOL_DEFINITION_DETAILS), False
        ),
        evaluators=evaluators,
        time_per_output_chunk=_parse_bool(
            LLM_OTEL_TIME_PER_OUTPUT_CHUNK, env.get(LLM_OTEL_TIME_PER_OUTPUT_CHUNK), True
        ),
        disabled_instrumentations=disabled,
        metric_attribute_limit=_parse_int(
            LLM_OTEL_METRIC_ATTRIBUTE_LIMIT, env.get(LLM_OTEL_METRIC_ATTRIBUTE_LIMIT), DEFAULT_METRIC_ATTRIBUTE_LIMIT, 1
        ),
        metric_label_max_length=_parse_int(
            LLM_OTEL_METRIC_LABEL_MAX_LENGTH, env.get(LLM_OTEL_METRIC_LABEL_MAX_LENGTH),
            DEFAULT_METRIC_LABEL_MAX_LENGTH, 8,
        ),
        shutdown_timeout=_parse_seconds(
            LLM_OTEL_SHUTDOWN_TIMEOUT, env.get(LLM_OTEL_SHUTDOWN_TIMEOUT), DEFAULT_SHUTDOWN_TIMEOUT
        ),
    )


_current: Settings | None = None


def get() -> Settings:
    global _current
    if _current is None:
        _current = from_env()
    return _current


def reload() -> Settings:
    global _current
    _current = from_env()
    return _current
