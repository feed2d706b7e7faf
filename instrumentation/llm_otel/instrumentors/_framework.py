"""What the framework instrumentors share: instrument on the framework's first import.

``instrument()`` must not import a framework the app has not imported (LlamaIndex alone takes
seconds): when the framework is already loaded the handlers are attached at once, otherwise a
post-import hook attaches them the moment the app imports it. ``uninstrument()`` detaches them
(or cancels the pending hook). The handlers live in private modules that import the framework.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, ClassVar

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from llm_otel import _settings, _telemetry
from llm_otel._safety import report


class FrameworkInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    _module: ClassVar[str]
    """The framework's module whose import turns the instrumentation on."""
    _handlers: ClassVar[str]
    """The private module with ``attach() -> state`` and ``detach(state)``."""
    _requirement: ClassVar[str]
    _wanted: ClassVar[bool] = False
    _hooked: ClassVar[bool] = False
    _state: ClassVar[Any] = None

    def instrumentation_dependencies(self) -> tuple[str, ...]:
        return (self._requirement,)

    def _instrument(self, **kwargs: Any) -> None:
        providers = {k: kwargs.get(k) for k in ("tracer_provider", "meter_provider", "logger_provider")}
        if any(providers.values()):
            _telemetry.bind(**providers)  # one set of providers for all of llm_otel
        _settings.reload()
        cls = type(self)
        cls._wanted = True
        if self._module in sys.modules:
            self._attach()
        elif not cls._hooked:
            cls._hooked = True  # wrapt keeps hooks for good: one per class, it checks _wanted
            wrapt.register_post_import_hook(lambda _module: cls()._attach(), self._module)

    def _attach(self) -> None:
        cls = type(self)
        if not cls._wanted or cls._state is not None:
            return
        try:
            cls._state = importlib.import_module(self._handlers).attach()
        except Exception as exc:  # an incompatible framework version must not break the app
            report(f"instrument {self._module}", exc)

    def _uninstrument(self, **kwargs: Any) -> None:
        cls = type(self)
        cls._wanted = False
        state, cls._state = cls._state, None
        if state is not None:
            importlib.import_module(self._handlers).detach(state)

    @property
    def attached(self) -> bool:
        """True once the handlers are in the framework (it was imported while instrumented)."""
        return type(self)._state is not None
