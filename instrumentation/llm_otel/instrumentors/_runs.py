"""Framework runs -> llm_otel invocations: what the LangChain, LlamaIndex and Agents SDK integrations share.

Frameworks report their work as start/end pairs keyed by a run id with a parent run id. ``Runs``
keeps the open invocations by run id, starts each one under its parent's context (so the tree
follows the framework's own nesting, whatever thread or task the callback runs in), makes it
current in the callback's context (so code inside the run, e.g. the provider SDK call of a model
run, nests under it and the duplicate guard merges into it), and finishes it exactly once.

Runs a framework reports that add no information (plumbing chains, graph edges) are *skipped*:
they get no span and their children attach to the nearest recorded ancestor.
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any

from opentelemetry.context import attach, detach

from llm_otel import _recorder
from llm_otel._invocation import Invocation
from llm_otel._safety import report

_SKIPPED = object()


def _detach_quietly(token: Any) -> None:
    """Undo an attach if this is still the context it was made in; a callback that ends a run
    in another thread or task (a framework's executor) has nothing to undo there."""
    if isinstance(token, contextvars.Token):
        try:
            token.var.reset(token)
        except (ValueError, RuntimeError):
            pass
    elif token is not None:
        detach(token)


class _Open:
    __slots__ = ("inv", "owned", "token")

    def __init__(self, inv: Invocation, token: Any, owned: bool) -> None:
        self.inv = inv
        self.token = token
        self.owned = owned


class Runs:
    """The open runs of one framework integration, by run id."""

    def __init__(self) -> None:
        self._open: dict[Any, _Open] = {}
        self._skipped: dict[Any, Any] = {}  # skipped run id -> its parent run id
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._open)

    def get(self, run_id: Any) -> Invocation | None:
        entry = self._open.get(run_id)
        return entry.inv if entry is not None else None

    def parent_of(self, parent_id: Any) -> Invocation | None:
        """The nearest recorded ancestor: skipped runs are looked through."""
        for _ in range(64):  # bounded: a malformed chain must not hang the app
            if parent_id is None:
                return None
            entry = self._open.get(parent_id)
            if entry is not None:
                return entry.inv
            parent_id = self._skipped.get(parent_id)
        return None

    def knows(self, run_id: Any) -> bool:
        return run_id in self._open or run_id in self._skipped

    def skip(self, run_id: Any, parent_id: Any) -> None:
        self._skipped[run_id] = parent_id

    def start(self, run_id: Any, parent_id: Any, inv: Invocation, current: bool = True) -> Invocation:
        """Start ``inv`` as a child of the run ``parent_id`` (or of the current context for a root)."""
        parent = self.parent_of(parent_id)
        parent_ctx = parent._context if parent is not None else None
        token = attach(parent_ctx) if parent_ctx is not None else None
        try:
            _recorder.start(inv, attach_context=False)
        finally:
            if token is not None:
                detach(token)
        own_token = _recorder.activate(inv) if current else None
        with self._lock:
            self._open[run_id] = _Open(inv, own_token, True)
        return inv

    def adopt(self, run_id: Any, inv: Invocation) -> None:
        """Track an invocation someone else opened and will end (we only add what we know)."""
        with self._lock:
            self._open[run_id] = _Open(inv, None, False)

    def finish(self, run_id: Any, exc: BaseException | None = None) -> Invocation | None:
        with self._lock:
            entry = self._open.pop(run_id, None)
            self._skipped.pop(run_id, None)
        if entry is None:
            return None
        try:
            _detach_quietly(entry.token)
        except Exception as internal:
            report("detach", internal)
        if entry.owned:
            _recorder.finish(entry.inv, exc)
        return entry.inv

    def finish_all(self) -> None:
        """Uninstrument: end what is still open so no span is left dangling."""
        for run_id in list(self._open):
            self.finish(run_id)
        self._skipped.clear()
