"""The GenAI conventions model (``tests/conformance/model``), loaded mechanically.

Reads the Weaver ``definition/2`` YAML as it is: the attribute registries, the attribute groups (with
``ref_group`` resolved and later refs overriding earlier requirement levels), the span and metric
definitions and their provider refinements, the events, and the JSON schema each content attribute
names in its ``annotations.type.json_schema``. Nothing here copies a name list by hand: which operations a
span type covers comes from its brief ("`gen_ai.operation.name` SHOULD be `x`"), its span names from the
backticked templates of its ``name.note``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

MODEL_DIR = Path(__file__).parent / "model"
REQUIRED, CONDITIONALLY_REQUIRED, RECOMMENDED, OPT_IN = "required", "conditionally_required", "recommended", "opt_in"


@dataclass(frozen=True)
class AttributeDef:
    key: str
    type: str  # string, int, double, boolean, string[], any, template[string], or "enum"
    members: frozenset[Any] = frozenset()  # enum values
    json_schema: str | None = None  # path under MODEL_DIR
    deprecated: str | None = None

    @property
    def is_template(self) -> bool:
        return self.type.startswith("template[")


@dataclass(frozen=True)
class Requirement:
    level: str
    condition: str | None = None


@dataclass
class SpanDef:
    type: str
    kind: str
    name_note: str
    operations: frozenset[str]
    attributes: dict[str, Requirement]
    refinements: dict[str, dict[str, Requirement]] = field(default_factory=dict)  # provider -> overrides


@dataclass
class MetricDef:
    name: str
    instrument: str
    unit: str
    attributes: dict[str, Requirement]
    refinements: dict[str, dict[str, Requirement]] = field(default_factory=dict)


@dataclass
class EventDef:
    name: str
    attributes: dict[str, Requirement]


@dataclass
class Model:
    schema_url: str
    attributes: dict[str, AttributeDef]
    referenced: frozenset[str]  # keys the model refs but defines upstream (server.*, error.*, network.* ...)
    spans: dict[str, SpanDef]
    metrics: dict[str, MetricDef]
    events: dict[str, EventDef]

    def spans_for_operation(self, operation: str) -> list[SpanDef]:
        return [s for s in self.spans.values() if operation in s.operations]

    def schema(self, key: str) -> dict[str, Any] | None:
        definition = self.attributes.get(key)
        if definition is None or definition.json_schema is None:
            return None
        return _json(definition.json_schema)


@cache
def _json(relative: str) -> dict[str, Any]:
    return json.loads((MODEL_DIR / relative).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _documents() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(MODEL_DIR.glob("*/*.yaml"))]


def _attribute(raw: dict[str, Any]) -> AttributeDef:
    kind = raw["type"]
    schema = ((raw.get("annotations") or {}).get("type") or {}).get("json_schema")
    deprecated = raw.get("deprecated")
    deprecated_note = None if deprecated is None else json.dumps(deprecated, default=str)
    if isinstance(kind, dict):
        members = frozenset(m["value"] for m in kind.get("members", ()))
        return AttributeDef(raw["key"], "enum", members, deprecated=deprecated_note)
    if schema:
        schema = str(schema).removeprefix("model/")
    return AttributeDef(raw["key"], str(kind), json_schema=schema, deprecated=deprecated_note)


def _requirement(raw: Any) -> Requirement | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return Requirement(raw)
    (level, condition), = raw.items()
    return Requirement(str(level), str(condition).strip())


def _resolve(entries: list[dict[str, Any]], groups: dict[str, list[dict[str, Any]]]) -> dict[str, Requirement]:
    """Refs and ref_groups in order; a later ref's requirement level overrides, an absent one keeps the earlier."""
    out: dict[str, Requirement] = {}
    for entry in entries or ():
        if "ref_group" in entry:
            out.update(_resolve(groups[entry["ref_group"]], groups))
            continue
        key = entry["ref"]
        requirement = _requirement(entry.get("requirement_level"))
        out[key] = requirement or out.get(key) or Requirement(RECOMMENDED)
    return out


_OPERATION_SENTENCE = re.compile(r"`gen_ai\.operation\.name` SHOULD be ([^.]*)\.")


def _operations(text: str) -> frozenset[str]:
    found: set[str] = set()
    for sentence in _OPERATION_SENTENCE.findall(" ".join(text.split())):
        found.update(re.findall(r"`([a-z_]+)`", sentence))
    return frozenset(found)


@cache
def load() -> Model:
    docs = _documents()
    manifest = yaml.safe_load((MODEL_DIR / "manifest.yaml").read_text(encoding="utf-8"))
    attributes = {a["key"]: _attribute(a) for d in docs for a in d.get("attributes", ())}
    groups = {g["id"]: g.get("attributes", []) for d in docs for g in d.get("attribute_groups", ())}
    for d in docs:  # spans are groups too (events ref_group "span.<type>")
        for s in d.get("spans", ()):
            groups[f"span.{s['type']}"] = s.get("attributes", [])

    spans: dict[str, SpanDef] = {}
    for d in docs:
        for s in d.get("spans", ()):
            text = f"{s.get('brief', '')} {s.get('note', '')}"
            spans[s["type"]] = SpanDef(
                s["type"], s["kind"], (s.get("name") or {}).get("note", ""), _operations(text),
                _resolve(s.get("attributes", []), groups),
            )
    # the inference span type names no operation: it covers the operation members no other span type claims
    claimed = frozenset().union(*(s.operations for s in spans.values()))
    all_operations = attributes["gen_ai.operation.name"].members
    for span in spans.values():
        if not span.operations and span.type.startswith("gen_ai."):
            span.operations = all_operations - claimed
    for d in docs:
        for r in d.get("span_refinements", ()):
            base = spans[r["ref"]]
            said = re.search(r'`gen_ai\.provider\.name` MUST be set to `"([^"]+)"`', " ".join(f"{r.get('brief', '')} {r.get('note', '')}".split()))
            provider = said.group(1) if said else r["id"].split(".")[0]
            base.refinements[provider] = {
                k: v for k, v in _resolve(r.get("attributes", []), groups).items()
                if any(e.get("ref") == k and "requirement_level" in e for e in r.get("attributes", []))
            }

    metrics = {
        m["name"]: MetricDef(m["name"], m["instrument"], str(m["unit"]), _resolve(m.get("attributes", []), groups))
        for d in docs for m in d.get("metrics", ())
    }
    events = {e["name"]: EventDef(e["name"], _resolve(e.get("attributes", []), groups)) for d in docs for e in d.get("events", ())}

    referenced: set[str] = set()
    for entries in groups.values():
        referenced.update(e["ref"] for e in entries if "ref" in e)
    for d in docs:
        for m in d.get("metrics", ()):
            referenced.update(e["ref"] for e in m.get("attributes", []) if "ref" in e)
        for e in d.get("events", ()):
            referenced.update(a["ref"] for a in e.get("attributes", []) if "ref" in a)
    return Model(manifest["schema_url"], attributes, frozenset(referenced - attributes.keys()), spans, metrics, events)


def span_name_templates(note: str) -> list[str]:
    """The backticked span-name formats of a span's ``name.note`` (``{attr}`` placeholders)."""
    names = re.findall(r"`([^`]+)`", note)
    return [n for n in names if "{" in n or re.fullmatch(r"[a-z_]+", n)]
