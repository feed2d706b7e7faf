"""Patch a library when the application imports it, never because it is installed.

``configure()`` and ``opentelemetry-instrument`` call ``instrument()`` on every installed library we
support. Importing them all would cost the application seconds of start-up for SDKs it never uses
(``litellm`` alone ~7 s of CPU, every SDK together ~4 G instructions). So ``instrument()`` only arms an
``OnImport``: the patches are applied at once if the library is already imported, otherwise by a
post-import hook (wrapt's) when the application first imports it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from wrapt import register_post_import_hook

from llm_otel._safety import report


class OnImport:
    """Runs ``apply`` once ``module`` is imported, while armed; ``disarm()`` says whether it ran."""

    def __init__(self, module: str, apply: Callable[[], None]) -> None:
        self.module = module
        self._apply = apply
        self._lock = threading.Lock()
        self._armed = False
        self._applied = False

    @property
    def applied(self) -> bool:
        """The patches are in (the library was imported while armed)."""
        return self._applied

    def arm(self) -> None:
        with self._lock:
            self._armed = True
        # wrapt fires the hook at once when the module is already imported, else after its first import
        # (then drops it); a hook left from an earlier arm() finds the work done and returns.
        register_post_import_hook(self._fire, self.module)

    def disarm(self) -> bool:
        """Stop a pending application; True when the patches were applied (the caller removes them)."""
        with self._lock:
            applied, self._applied, self._armed = self._applied, False, False
        return applied

    def _fire(self, _module: Any = None) -> None:
        with self._lock:
            if not self._armed or self._applied:
                return  # disarmed before the import, or already applied
            self._applied = True
        try:
            self._apply()
        except Exception as exc:  # telemetry must never break the application's import
            report(f"instrument {self.module}", exc)
