"""Declaring an invocation's fields once: type, span attribute, phase and merge rule together.

An invocation class declares each telemetry field as an annotated class attribute::

    temperature: Annotated[float | None, request(sc.GEN_AI_REQUEST_TEMPERATURE)] = None

and ``fields_of(cls)`` reads those declarations back as a table. Everything else is derived
from that table: the keyword arguments the factory accepts, what the recorder puts on the span
at start and at end, what a decorator copies per call and what the duplicate guard merges.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, get_type_hints


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
    """The declared fields of an invocation class, in declaration order."""
    hints = get_type_hints(cls, include_extras=True)
    out: dict[str, Field] = {}
    for name, hint in hints.items():
        for meta in getattr(hint, "__metadata__", ()):
            if isinstance(meta, Field):
                out[name] = meta
    return out


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
    this runs twice per call on the hot path, so no loop, no tuple unpacking, no getattr()."""
    lines = ["def copy(self, out):"]
    namespace: dict[str, Any] = {}
    for i, (field, attribute, convert) in enumerate(table):
        namespace[f"k{i}"] = attribute
        lines.append(f"    v = self.{field}")
        lines.append("    if v is not None:")
        if convert is None:
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
