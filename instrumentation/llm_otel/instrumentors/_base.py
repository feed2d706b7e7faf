"""What every provider instrumentor shares: provider binding, wrapping and exact unwrapping."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from llm_otel import _settings, _telemetry

# (module, "Class.method", wrapper)
Patch = tuple[str, str, Callable[..., Any]]


class ProviderInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """A ``BaseInstrumentor`` that wraps SDK methods with llm_otel's shared wrappers."""

    def _patches(self) -> Sequence[Patch]:
        raise NotImplementedError

    def _instrument(self, **kwargs: Any) -> None:
        self._bind(kwargs)
        self._wrap()

    def _bind(self, kwargs: dict[str, Any]) -> None:
        providers = {k: kwargs.get(k) for k in ("tracer_provider", "meter_provider", "logger_provider")}
        if any(providers.values()):
            _telemetry.bind(**providers)  # one set of providers for all of llm_otel
        _settings.reload()

    def _wrap(self) -> None:
        for module, name, wrapper in self._patches():
            wrap_function_wrapper(module, name, wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        for module, name, _ in self._patches():
            owner, method = name.split(".")
            unwrap(getattr(importlib.import_module(module), owner), method)
