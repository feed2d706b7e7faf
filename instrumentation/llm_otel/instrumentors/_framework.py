"""What the framework instrumentors share: instrument on the framework's first import.

``instrument()`` must not import a framework the app has not imported (LlamaIndex alone takes
seconds): when the framework is already loaded the handlers are attached at once, otherwise a
post-import hook attaches them the moment the app imports it. ``uninstrument()`` detaches them
(or cancels the pending hook). The handlers live in private modules that import the framework.
"""

from __future__ import annotations

import importlib
from typing import Any, ClassVar

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from llm_otel.instrumentors._base import bind_providers
from llm_otel.instrumentors._on_import import OnImport


class FrameworkInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    _module: ClassVar[str]
    """The framework's module whose import turns the instrumentation on."""
    _handlers: ClassVar[str]
    """The private module with ``attach() -> state`` and ``detach(state)``."""
    _requirement: ClassVar[str]
    _trigger: OnImport | None = None  # BaseInstrumentor is a singleton per class: one trigger each
    _state: Any = None

    def instrumentation_dependencies(self) -> tuple[str, ...]:
        return (self._requirement,)

    def _instrument(self, **kwargs: Any) -> None:
        bind_providers(kwargs)
        if self._trigger is None:
            self._trigger = OnImport(self._module, self._attach)
        self._trigger.arm()

    def _attach(self) -> None:
        self._state = importlib.import_module(self._handlers).attach()

    def _uninstrument(self, **kwargs: Any) -> None:
        if self._trigger is not None and self._trigger.disarm():
            state, self._state = self._state, None
            if state is not None:
                importlib.import_module(self._handlers).detach(state)

    @property
    def applied(self) -> bool:
        """The handlers are in the framework (it was imported while instrumented)."""
        return self._state is not None
