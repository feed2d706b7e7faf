"""The demo agent's tools: a safe calculator and a product-price lookup in SQLite.

Each tool is a plain function with a name and a description; :mod:`llm_otel_tools.demo.tool_server`
serves them over MCP, and the agent loop in :mod:`llm_otel_tools.demo.app` calls them through an MCP
client session (the ``execute_tool`` spans come from llm_otel's MCP instrumentation).
"""

from __future__ import annotations

import ast
import operator
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class ToolError(Exception):
    """A tool could not do what it was asked; the message goes back to the model."""


# -- calculator --------------------------------------------------------------------------

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_MAX_EXPONENT = 100
_MAX_LENGTH = 200
# A run of arithmetic: numbers, operators, parentheses and spaces, with at least one operator.
_EXPRESSION = re.compile(r"[\d.(][\d.\s()+\-*/%^]*[\d.)]")
_ARITHMETIC_ONLY = re.compile(r"^[\d.\s()+\-*/%^]+$")


def evaluate(expression: str) -> float | int:
    """Evaluate an arithmetic expression with ``ast`` (numbers, + - * / // % ** and parentheses).

    Never ``eval``: anything but numeric literals and those operators is rejected.
    """
    if len(expression) > _MAX_LENGTH:
        raise ToolError(f"expression longer than {_MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"not an arithmetic expression: {expression!r}") from exc

    def walk(node: ast.AST) -> float | int:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
                raise ToolError(f"exponent {right} is too large")
            try:
                value = _BINARY[type(node.op)](left, right)
            except ZeroDivisionError as exc:
                raise ToolError("division by zero") from exc
            except OverflowError as exc:
                raise ToolError("result too large") from exc
            if isinstance(value, int) and value.bit_length() > 512:
                raise ToolError("result too large")
            return value
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](walk(node.operand))
        raise ToolError(f"unsupported element {type(node).__name__} in {expression!r}")

    return walk(tree)


def extract_expression(text: str) -> str:
    """The longest arithmetic run in ``text`` ("what is (2 + 3) * 4?" -> "(2 + 3) * 4")."""
    candidates = [m.group().strip() for m in _EXPRESSION.finditer(text)]
    candidates = [c for c in candidates if re.search(r"[\d)]\s*(\*\*|//|[+\-*/%^])\s*[\d(]", c)]
    if not candidates:
        raise ToolError(f"no arithmetic expression found in {text!r}")
    return max(candidates, key=len)


def calculator(input: str) -> str:
    """Evaluate the arithmetic expression in ``input`` (models sometimes wrap it in words)."""
    expression = input.strip()
    if not _ARITHMETIC_ONLY.match(expression):
        expression = extract_expression(input)
    value = evaluate(expression)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, float):
        value = round(value, 6)
    return f"{expression} = {value}"


# -- product prices in SQLite ------------------------------------------------------------

PRODUCTS: list[tuple[str, float, int]] = [  # name, price in USD, units in stock
    ("keyboard", 49.99, 120),
    ("mouse", 19.5, 300),
    ("monitor", 189.0, 35),
    ("laptop", 1249.0, 12),
    ("headphones", 89.9, 64),
    ("webcam", 59.0, 0),
    ("microphone", 129.0, 18),
    ("dock", 159.99, 27),
]


class ProductCatalog:
    """A small ``products`` table in an in-memory SQLite database (stdlib ``sqlite3``)."""

    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("CREATE TABLE IF NOT EXISTS products (name TEXT PRIMARY KEY, price_usd REAL NOT NULL, stock INTEGER NOT NULL)")
            self._db.executemany("INSERT OR REPLACE INTO products VALUES (?, ?, ?)", PRODUCTS)

    def lookup(self, product: str) -> tuple[str, float, int] | None:
        name = re.sub(r"[^a-z0-9 ]+", "", product.lower()).strip()
        candidates = [name, name[:-1] if name.endswith("s") else name + "s"]
        with self._lock:
            for candidate in candidates:
                row = self._db.execute("SELECT name, price_usd, stock FROM products WHERE name = ?", (candidate,)).fetchone()
                if row:
                    return row
        return None

    def names(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT name FROM products ORDER BY name")]

    def lookup_price(self, product: str) -> str:
        row = self.lookup(product)
        if row is None:
            raise ToolError(f"no product named {product!r}; known: {', '.join(self.names())}")
        name, price, stock = row
        return f"{name} costs {price:.2f} USD ({stock} in stock)" if stock else f"{name} costs {price:.2f} USD (out of stock)"

    def close(self) -> None:
        self._db.close()


# -- tool table for the agent ------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    function: Callable[..., str]  # its parameters are the tool's input schema


def make_tools(catalog: ProductCatalog) -> dict[str, Tool]:
    tools = [
        Tool(
            "calculator",
            "Evaluate an arithmetic expression such as (17 + 25) * 3; supports + - * / // % ** and parentheses.",
            calculator,
        ),
        Tool(
            "lookup_price",
            "Look up the price in USD and the stock of a product in the shop's catalog.",
            catalog.lookup_price,
        ),
    ]
    return {t.name: t for t in tools}
