"""Checks finished spans, metrics and log records against the GenAI conventions model.

``check(spans, metrics, logs)`` returns every violation as a line of text (empty = conformant):

- spans: the span type of ``gen_ai.operation.name`` (or ``mcp.method.name``), its kind and name format;
  every attribute name in the registry, in the names the model references, in ``llm_otel.*`` or in a
  documented other namespace; value types and enum members (open enums: documented custom values only);
  required attributes (conditionally required ones where the condition can be read from the span);
  content attributes valid JSON against their schema; the scope's schema URL.
- metrics: name, unit and instrument type from the model, the advisory buckets, point attributes as above
  (and only the ones the metric's definition lists), required point attributes.
- log records (events): the event name, attributes as on spans, content attributes structured (not JSON
  strings) and valid against their schema.

Dated differences (``differences.DIFFERENCES``) replace the snapshot's names; the snapshot's name then fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema

from tests.conformance import differences as diff
from tests.conformance import semconv_model
from tests.conformance.semconv_model import CONDITIONALLY_REQUIRED, REQUIRED, MetricDef, Model, Requirement

OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
METHOD = "mcp.method.name"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT = "gen_ai.tool.call.result"

# conditions of "conditionally_required" the checker can read from the data (the rest cannot be checked)
_CHECKABLE: dict[str, Any] = {
    "If `server.address` is set.": lambda attrs, failed: "server.address" in attrs,
    "If the operation ended in an error.": lambda attrs, failed: failed,
}


def model() -> Model:
    return semconv_model.load()


def expected_schema_url() -> str:
    url = model().schema_url
    return diff.SUPERSEDED[url].ours if url in diff.SUPERSEDED else url


# -- attributes ------------------------------------------------------------------------------------


def _type_ok(kind: str, value: Any) -> bool:
    scalar = {
        "string": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "double": lambda v: isinstance(v, float),
        "boolean": lambda v: isinstance(v, bool),
    }
    if kind.endswith("[]"):
        return isinstance(value, (list, tuple)) and all(scalar[kind[:-2]](v) for v in value)
    check = scalar.get(kind)
    return True if check is None else bool(check(value))


def _template(key: str) -> str | None:
    for name, definition in model().attributes.items():
        if definition.is_template and key.startswith(name + "."):
            return name
    return None


def check_attribute(where: str, key: str, value: Any, structured_content: bool) -> list[str]:
    """One attribute: its name is known, its value has the registry's type, enum member and schema."""
    m = model()
    if key in diff.SUPERSEDED:
        d = diff.SUPERSEDED[key]
        return [f"{where}: {key!r} is the 2026-08 snapshot name; emit {d.ours!r} (difference of {d.since})"]
    registry_key = diff.RENAMED_TO[key].snapshot if key in diff.RENAMED_TO else key
    definition = m.attributes.get(registry_key)
    if definition is None:
        if key.startswith(diff.OWN_PREFIX) or _template(key):
            return []
        kind = diff.UPSTREAM_TYPES.get(key) if key in m.referenced else diff.OTHER_ATTRIBUTES.get(key)
        if kind is None:
            return [f"{where}: attribute {key!r} is not in the conventions' registry"]
        return [] if _type_ok(kind, value) else [f"{where}: {key!r} should be {kind}, got {value!r}"]
    if definition.deprecated:
        return [f"{where}: attribute {key!r} is deprecated ({definition.deprecated})"]
    if definition.type == "enum":
        allowed = definition.members | diff.CUSTOM_ENUM_VALUES.get(key, {}).keys()
        if value not in allowed:
            return [f"{where}: {key!r} = {value!r} is not a member of the enum {sorted(definition.members)}"]
        return []
    if definition.json_schema is not None:
        return check_content(where, key, value, structured_content)
    if not _type_ok(definition.type, value):
        return [f"{where}: {key!r} should be {definition.type}, got {type(value).__name__} {value!r}"]
    return []


def _payload_errors(schema: Mapping[str, Any], value: Any) -> list[str]:
    """Tool-call arguments/result: an object; text that is not a serialized object passes (the registry asks
    instrumentations to deserialize a serialized string "best effort": plain text has no object to give)."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return []
        if not isinstance(parsed, dict):
            return []
    return _schema_errors(schema, value)


def _schema_errors(schema: Mapping[str, Any], value: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in validator.iter_errors(value)]


def _message_part_types() -> frozenset[str]:
    defs = model().schema("gen_ai.input.messages")["$defs"]  # type: ignore[index]
    consts = {d.get("properties", {}).get("type", {}).get("const") for d in defs.values()}
    return frozenset(c for c in consts if c) | {"generic"}


def _content_rules(key: str, value: Any) -> list[str]:
    """What the schemas say in words: a part type is one of the schema's (else ``generic``), tool-call
    arguments are an object (the ``gen_ai.tool.call.arguments`` schema), output finish reasons a member."""
    problems: list[str] = []
    if key not in ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"):
        return problems
    known = _message_part_types()
    arguments_schema = model().schema(TOOL_CALL_ARGUMENTS) or {}
    finish = model().schema("gen_ai.output.messages")["$defs"]["FinishReason"]["enum"]  # type: ignore[index]
    messages = value if key != "gen_ai.system_instructions" else [{"parts": value}]
    for i, message in enumerate(messages if isinstance(messages, list) else ()):
        if not isinstance(message, Mapping):
            continue
        if key == "gen_ai.output.messages" and message.get("finish_reason") not in finish:
            problems.append(f"{i}/finish_reason: {message.get('finish_reason')!r} is not one of {finish}")
        for j, part in enumerate(message.get("parts") or ()):
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind not in known:
                problems.append(f"{i}/parts/{j}: part type {kind!r} is not a schema part type (unknown parts are 'generic')")
            if kind == "tool_call" and part.get("arguments") is not None:
                problems += [f"{i}/parts/{j}/arguments: {e}" for e in _payload_errors(arguments_schema, part["arguments"])]
    return problems


def check_content(where: str, key: str, value: Any, structured: bool) -> list[str]:
    """A content attribute: a JSON string on spans, a structured value on events; valid against its schema."""
    if structured:
        if isinstance(value, str) and key not in (TOOL_CALL_ARGUMENTS, TOOL_CALL_RESULT):
            return [f"{where}: {key!r} must be a structured value on an event, got a JSON string"]
        data = value
    else:
        if not isinstance(value, str):
            return [f"{where}: {key!r} must be a JSON string on a span, got {type(value).__name__}"]
        try:
            data = json.loads(value)
        except ValueError as exc:
            return [f"{where}: {key!r} is not valid JSON ({exc})"]
    check = _payload_errors if key in (TOOL_CALL_ARGUMENTS, TOOL_CALL_RESULT) else _schema_errors
    errors = check(model().schema(key) or {}, _plain(data)) + _content_rules(key, data)
    return [f"{where}: {key!r} violates its schema at {e}" for e in errors]


def _plain(value: Any) -> Any:
    """OTel attribute values (tuples, mapping proxies) as JSON data."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _required(where: str, wanted: Mapping[str, Requirement], attrs: Mapping[str, Any], failed: bool) -> list[str]:
    out = []
    for key, requirement in wanted.items():
        if key in attrs or (key in diff.SUPERSEDED and diff.SUPERSEDED[key].ours in attrs):
            continue
        if key in diff.NOT_REQUIRED:
            continue
        if requirement.level == REQUIRED:
            out.append(f"{where}: required attribute {key!r} is missing")
        elif requirement.level == CONDITIONALLY_REQUIRED and requirement.condition in _CHECKABLE:
            if _CHECKABLE[requirement.condition](attrs, failed):
                out.append(f"{where}: attribute {key!r} is missing ({requirement.condition})")
    return out


# -- spans ----------------------------------------------------------------------------------------


def _names(templates: list[str], attrs: Mapping[str, Any], literals: Iterable[str]) -> set[str]:
    """Every name the templates allow for these attributes (``{target}``: a single-placeholder template)."""
    singles = [t for t in templates if re.fullmatch(r"\{[^}]+\}", t) and t != "{target}"]
    names: set[str] = set()
    for template in templates:
        variants = [template]
        if "{target}" in template:
            variants = [template.replace(" {target}", "")] + [template.replace("{target}", s) for s in singles]
        for variant in variants:
            keys = re.findall(r"\{([^}]+)\}", variant)
            if "{" not in variant and variant not in literals:
                continue
            if all(k in attrs for k in keys):
                names.add(re.sub(r"\{([^}]+)\}", lambda g: str(attrs[g.group(1)]), variant))
    return names


def check_span(span: Any) -> list[str]:
    attrs: Mapping[str, Any] = dict(span.attributes or {})
    where = f"span {span.name!r}"
    failed = span.status.status_code.name == "ERROR"
    out: list[str] = []
    scope = span.instrumentation_scope
    if scope is not None and scope.schema_url != expected_schema_url():
        out.append(f"{where}: scope schema_url {scope.schema_url!r}, expected {expected_schema_url()!r}")
    for key, value in attrs.items():
        out += check_attribute(where, key, value, structured_content=False)
    m = model()
    # an MCP span may carry gen_ai.operation.name = execute_tool, and an execute_tool span an MCP instrumentor
    # enriched (as the MCP conventions ask) carries mcp.method.name: either span type may apply
    candidates = m.spans_for_operation(str(attrs[OPERATION])) if OPERATION in attrs else []
    if METHOD in attrs:
        candidates += [s for s in m.spans.values() if s.type.startswith("mcp.")]
    if not candidates:
        if OPERATION in attrs or METHOD in attrs:
            out.append(f"{where}: no span type of the conventions covers this operation")
        return out
    kind = span.kind.name.lower()
    matching = [s for s in candidates if s.kind == kind]
    if not matching:
        return [*out, f"{where}: kind {kind.upper()} but the conventions say {sorted({s.kind.upper() for s in candidates})}"]
    definition = matching[0]
    names = _names(semconv_model.span_name_templates(definition.name_note), attrs, definition.operations)
    if names and span.name not in names:
        out.append(f"{where}: name should be one of {sorted(names)}")
    wanted = dict(definition.attributes)
    wanted.update(definition.refinements.get(str(attrs.get(PROVIDER)), {}))
    out += _required(where, wanted, attrs, failed)
    return out


# -- metrics --------------------------------------------------------------------------------------


def _instrument(metric: Any) -> str:
    kind = type(metric.data).__name__
    if kind == "Sum":
        return "counter" if metric.data.is_monotonic else "updowncounter"
    return {"Histogram": "histogram", "Gauge": "gauge", "ExponentialHistogram": "histogram"}.get(kind, kind)


def check_metric(metric: Any) -> list[str]:
    m = model()
    name = metric.name
    where = f"metric {name!r}"
    if name in diff.SUPERSEDED:
        d = diff.SUPERSEDED[name]
        return [f"{where}: the 2026-08 snapshot name; emit {d.ours!r} (difference of {d.since})"]
    definition = m.metrics.get(diff.RENAMED_TO[name].snapshot if name in diff.RENAMED_TO else name)
    if definition is None and name in diff.OTHER_METRICS:
        instrument, unit, attributes = diff.OTHER_METRICS[name]
        definition = MetricDef(name, instrument, unit, {k: Requirement(v) for k, v in attributes.items()})
    if definition is None:
        if name.startswith(diff.OWN_PREFIX):
            return []
        return [f"{where}: not a metric of the conventions"]
    out = []
    if metric.unit != definition.unit:
        out.append(f"{where}: unit {metric.unit!r}, the conventions say {definition.unit!r}")
    if _instrument(metric) != definition.instrument:
        out.append(f"{where}: instrument {_instrument(metric)}, the conventions say {definition.instrument}")
    buckets = diff.ADVISORY_BUCKETS.get(name)
    for point in metric.data.data_points:
        attrs = dict(point.attributes or {})
        at = f"{where} point {attrs}"
        if buckets is not None and hasattr(point, "explicit_bounds") and tuple(point.explicit_bounds) != buckets:
            out.append(f"{where}: bucket boundaries {tuple(point.explicit_bounds)}, advised {buckets}")
        for key, value in attrs.items():
            out += check_attribute(at, key, value, structured_content=False)
            added = (name, key) in diff.METRIC_ATTRIBUTES_ADDED
            if key not in definition.attributes and not key.startswith(diff.OWN_PREFIX) and not added:
                out.append(f"{at}: attribute {key!r} is not one the conventions list for this metric")
        out += _required(at, definition.attributes, attrs, "error.type" in attrs)
    return sorted(set(out), key=out.index)


# -- log records (events) -------------------------------------------------------------------------


def check_log(record: Any) -> list[str]:
    name = getattr(record, "event_name", None)
    where = f"event {name!r}"
    definition = model().events.get(name) if name else None
    if definition is None:
        return [f"{where}: not an event of the conventions"]
    attrs = dict(record.attributes or {})
    out: list[str] = []
    for key, value in attrs.items():
        out += check_attribute(where, key, value, structured_content=True)
    out += _required(where, definition.attributes, attrs, "error.type" in attrs)
    return out


def check(spans: Iterable[Any] = (), metrics: Iterable[Any] = (), logs: Iterable[Any] = ()) -> list[str]:
    out: list[str] = []
    for span in spans:
        out += check_span(span)
    for metric in metrics:
        out += check_metric(metric)
    for record in logs:
        out += check_log(record)
    return out
