"""Declaring an invocation's fields once: type, span attribute, phase and merge rule together.

An invocation class declares each telemetry field as an annotated class attribute::

    temperature: Annotated[float | None, request(sc.GEN_AI_REQUEST_TEMPERATURE)] = None

and ``fields_of(cls)`` reads those declarations back as a table. Everything else is derived
from that table: the keyword arguments the factory accepts, what the recorder puts on the span
at start and at end, what a decorator copies per call and what the duplicate guard merges.
"""

from __future__ import annotations

import dataclasses
import enum
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin, get_type_hints


class Phase(enum.Enum):
    REQUEST = "request"
    """Known when the call starts: on the span at start (samplers see it); merged by the duplicate guard."""
    RESPONSE = "response"
    """Known when the call ends: set on the span at the end."""


@dataclass(frozen=True, slots=True)
class Field:
    phase: Phase
    attribute: str | None = None
    """The span attribute the field fills; None when the recorder reads it another way (content, metrics)."""
    convert: Callable[[Any], Any] | None = None
    """Field value -> attribute value (None to leave the attribute out); None means the value as is."""
    param: bool = True
    """Request fields: accepted as a keyword argument of the factory (``llm_call(temperature=...)``)."""
    merge: bool = True
    """Request fields: copied by the duplicate guard into an open invocation that lacks the value."""


def request(
    attribute: str | None = None, convert: Callable[[Any], Any] | None = None, *, param: bool = True,
    merge: bool = True,
) -> Field:
    return Field(Phase.REQUEST, attribute, convert, param, merge)


def response(attribute: str | None = None, convert: Callable[[Any], Any] | None = None) -> Field:
    return Field(Phase.RESPONSE, attribute, convert, param=False, merge=False)


def fields_of(cls: type) -> dict[str, Field]:
    """The declared fields of an invocation class, in declaration order.

    A field with an attribute gets a ``Checked`` conversion from its declared type: a value of another
    type (``input_tokens="100"``, ``temperature="hot"``), a negative count or an int beyond int64 is
    left out and counted (``llm_otel.rejected_values``); the rest of the span is unaffected.
    """
    hints = get_type_hints(cls, include_extras=True)
    out: dict[str, Field] = {}
    for name, hint in hints.items():
        for meta in getattr(hint, "__metadata__", ()):
            if isinstance(meta, Field):
                kind = _kind(hint.__origin__)
                if meta.attribute and kind is not None and not isinstance(meta.convert, Checked):
                    signed = meta.attribute in SIGNED_ATTRIBUTES
                    meta = dataclasses.replace(meta, convert=Checked(name, kind, meta.convert, signed))
                out[name] = meta
    return out


SIGNED_ATTRIBUTES = frozenset({"gen_ai.request.seed"})  # the one int field that may be negative
"""Int fields are counts (tokens, max_tokens, choices, dimensions, port): non-negative, except these."""


def _kind(hint: Any) -> str | None:
    """'int', 'float', 'str', 'bool' or 'strs' for ``X | None`` declarations; None for anything else."""
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        hint = args[0] if len(args) == 1 else None
    if hint in (int, float, str, bool):
        return hint.__name__  # type: ignore[no-any-return]
    if get_origin(hint) is Sequence and get_args(hint) == (str,):
        return "strs"
    return None


_INT64_MAX = (1 << 63) - 1
STR_MAX_CHARS = 1024
STRS_MAX_ITEMS = 64


class Checked:
    """A field's conversion guarded by its declared type (the slow path of ``attribute_copier``)."""

    __slots__ = ("field", "kind", "inner", "signed")

    def __init__(self, field: str, kind: str, inner: Callable[[Any], Any] | None, signed: bool = False) -> None:
        self.field, self.kind, self.inner, self.signed = field, kind, inner, signed

    def __call__(self, value: Any) -> Any:
        from llm_otel import _limits, _semconv

        try:
            checked = self._check(value)
        except Exception:
            checked = None
        if checked is None:
            reason = _semconv.REJECTED_RANGE if isinstance(value, (int, float)) else _semconv.REJECTED_TYPE
            _limits.rejected(self.field, reason)
            return None
        return self.inner(checked) if self.inner is not None else checked

    def _check(self, value: Any) -> Any:
        from llm_otel import _limits

        kind, cls = self.kind, value.__class__
        if kind == "int":
            if cls is float and value.is_integer():
                value, cls = int(value), int
            low = -_INT64_MAX - 1 if self.signed else 0
            return value if cls is int and low <= value <= _INT64_MAX else None
        if kind == "float":
            return float(value) if cls is float or cls is int else None
        if kind == "bool":
            return value if cls is bool else None
        if kind == "str":
            return _limits.clean(value[:STR_MAX_CHARS]) if isinstance(value, str) else None
        items = str_list(value)  # strs: a lone string is one item
        return None if items is None else [_limits.text(v, STR_MAX_CHARS) for v in items[:STRS_MAX_ITEMS]]


def slot_names(annotations: dict[str, Any]) -> tuple[str, ...]:
    """The field names of a class body's annotations so far (``__slots__ = (..., *slot_names(__annotations__))``).

    Fields are slots, so a misspelt field name raises instead of silently dropping the value.
    """
    return tuple(name for name, hint in annotations.items() if "ClassVar" not in str(hint))


def clearer(names: Sequence[str]) -> Callable[[Any], None]:
    """A function that sets every named field of an object to None, as straight-line code (fast)."""
    body = "".join(f"    obj.{name} = None\n" for name in names) or "    pass\n"
    namespace: dict[str, Any] = {}
    exec(f"def clear(obj):\n{body}", namespace)
    clear: Callable[[Any], None] = namespace["clear"]
    return clear


def attribute_copier(table: Sequence[tuple[str, str, Callable[[Any], Any] | None]]) -> Callable[[Any, dict[str, Any]], None]:
    """A method ``copy(self, out)`` that puts each set field of ``table`` into ``out`` under its
    attribute (converted, and left out when the conversion gives None), as straight-line code:
    this runs twice per call on the hot path, so no loop, no tuple unpacking, no getattr().
    A ``Checked`` conversion gets its common case inline (a value of the declared type)."""
    lines = ["def copy(self, out):"]
    namespace: dict[str, Any] = {"int": int, "float": float, "str": str, "bool": bool, "MAX": _INT64_MAX,
                                 "SMAX": STR_MAX_CHARS}
    for i, (field, attribute, convert) in enumerate(table):
        namespace[f"k{i}"] = attribute
        lines.append(f"    v = self.{field}")
        lines.append("    if v is not None:")
        fast = _FAST_CHECKS.get(convert.kind if isinstance(convert, Checked) else "")
        if isinstance(convert, Checked) and fast is not None:
            namespace[f"c{i}"] = convert
            test = fast if not (convert.kind == "int" and convert.signed) else "v.__class__ is int and -MAX <= v <= MAX"
            lines.append(f"        if {test}:")
            if convert.inner is None:
                lines.append(f"            out[k{i}] = v")
            else:
                namespace[f"i{i}"] = convert.inner
                lines.append(f"            v = i{i}(v)")
                lines.append("            if v is not None:")
                lines.append(f"                out[k{i}] = v")
            lines.append("        else:")
            lines.append(f"            v = c{i}(v)")
            lines.append("            if v is not None:")
            lines.append(f"                out[k{i}] = v")
        elif convert is None:
            lines.append(f"        out[k{i}] = v")
        else:
            namespace[f"c{i}"] = convert
            lines.append(f"        v = c{i}(v)")
            lines.append("        if v is not None:")
            lines.append(f"            out[k{i}] = v")
    if len(lines) == 1:
        lines.append("    pass")
    exec("\n".join(lines), namespace)
    copy: Callable[[Any, dict[str, Any]], None] = namespace["copy"]
    return copy


_FAST_CHECKS = {
    "int": "v.__class__ is int and 0 <= v <= MAX",
    "float": "v.__class__ is float or v.__class__ is int",
    "bool": "v.__class__ is bool",
    "str": "v.__class__ is str and len(v) <= SMAX and v.isascii()",
}


# -- conversions shared by the declarations ---------------------------------------------------------


def str_list(value: Any) -> list[str] | None:
    """A sequence of strings as a list; a lone string is one item (never split into characters)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    try:
        items = [str(v) for v in value]
    except TypeError:
        return [str(value)]
    return items or None


def true_or_none(value: Any) -> bool | None:
    return True if value else None


def truthy(value: Any) -> Any:
    return value or None


def not_one(value: Any) -> Any:
    return None if value == 1 else value



def as_int(value: Any) -> int | None:
    """The conventions' ``int`` attributes (Gemini's SDK gives ``top_k`` as a float)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_float(value: Any) -> float | None:
    """The conventions' ``double`` attributes (a user's ``temperature=0`` is an int)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
