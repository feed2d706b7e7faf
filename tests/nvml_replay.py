"""A replay of recorded NVML readings with the functions of ``pynvml`` that ``llm_otel.gpu`` calls.

This project's machines have no NVIDIA GPU or driver, so tests feed the GPU reporter this replay instead
of the real library. The recording format is what ``benchmarks/gpu_probe.py --record`` writes on a GPU
host; ``tests/data/nvml-reading.json`` is a hand-written file in that format (see its ``provenance``).
Each ``nvmlDeviceGetCount()`` (one read cycle) moves to the next sample; the last one repeats.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

RECORDING = Path(__file__).parent / "data" / "nvml-reading.json"


class NvmlReplay:
    def __init__(self, path: Path = RECORDING) -> None:
        self.recording = json.loads(path.read_text())
        self.cycle = -1
        self.initialised = False

    def _devices(self) -> list[dict[str, Any]]:
        samples = self.recording["samples"]
        return samples[min(max(self.cycle, 0), len(samples) - 1)]

    def nvmlInit(self) -> None:
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.initialised = False

    def nvmlSystemGetDriverVersion(self) -> str:
        return str(self.recording["driver_version"])

    def nvmlDeviceGetCount(self) -> int:
        assert self.initialised, "NVML used before nvmlInit"
        self.cycle += 1
        return len(self._devices())

    def nvmlDeviceGetHandleByIndex(self, index: int) -> dict[str, Any]:
        return self._devices()[index]

    def nvmlDeviceGetUUID(self, handle: dict[str, Any]) -> str:
        return str(handle["uuid"])

    def nvmlDeviceGetName(self, handle: dict[str, Any]) -> str:
        return str(handle["name"])

    def nvmlDeviceGetUtilizationRates(self, handle: dict[str, Any]) -> SimpleNamespace:
        return SimpleNamespace(**handle["utilization"])

    def nvmlDeviceGetMemoryInfo(self, handle: dict[str, Any]) -> SimpleNamespace:
        return SimpleNamespace(**handle["memory"])
