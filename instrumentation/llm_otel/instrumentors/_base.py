"""What every provider instrumentor shares: provider binding, patching on import, exact unwrapping."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from llm_otel import _settings, _telemetry
from llm_otel.instrumentors._on_import import OnImport

# (module, "Class.method", wrapper)
Patch = tuple[str, str, Callable[..., Any]]


def bind_providers(kwargs: dict[str, Any]) -> None:
    """``instrument(tracer_provider=..., meter_provider=..., logger_provider=...)``: one set for all of llm_otel."""
    providers = {k: kwargs.get(k) for k in ("tracer_provider", "meter_provider", "logger_provider")}
    if any(providers.values()):
        _telemetry.bind(**providers)
    _settings.reload()


class ProviderInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """A ``BaseInstrumentor`` that wraps SDK methods with llm_otel's shared wrappers.

    ``instrument()`` never imports the SDK: it patches now if the application has imported
    ``library``, otherwise when it first does (``_on_import.OnImport``). ``uninstrument()`` removes
    exactly what was applied, or cancels the pending patching.
    """

    library: ClassVar[str] = ""
    """The SDK's top-level module whose import applies the patches."""

    _trigger: OnImport | None = None  # BaseInstrumentor is a singleton per class: one trigger each

    def _patches(self) -> Sequence[Patch]:
        raise NotImplementedError

    def _instrument(self, **kwargs: Any) -> None:
        bind_providers(kwargs)
        if self._trigger is None:
            self._trigger = OnImport(self.library, self._wrap)
        self._trigger.arm()

    def _uninstrument(self, **kwargs: Any) -> None:
        if self._trigger is not None and self._trigger.disarm():
            self._unwrap()

    @property
    def applied(self) -> bool:
        """The SDK's methods are wrapped (it was imported while instrumented)."""
        return self._trigger is not None and self._trigger.applied

    def _wrap(self) -> None:
        for module, name, wrapper in self._patches():
            wrap_function_wrapper(module, name, wrapper)

    def _unwrap(self) -> None:
        for module, name, _ in self._patches():
            owner, method = name.split(".")
            unwrap(getattr(importlib.import_module(module), owner), method)
