"""Real GPU figures on a machine with an NVIDIA GPU: run as is, `python benchmarks/gpu_probe.py`.

Needs `pip install -e '.[gpu]'` (nvidia-ml-py) and an NVIDIA driver. It
1. reads every GPU through the real NVML (raw values, as nvidia-smi shows them);
2. runs llm_otel's GPU reporter (llm_otel.gpu) on an in-memory reader and prints the hw.gpu.* points
   it would export, so both can be compared;
3. times one reporter collection (median of --repeats);
4. with --record FILE, writes the raw readings in the format tests/nvml_replay.py replays
   (copy it over tests/data/nvml-reading.json to test against a real recording).
Without a GPU or driver it says so and exits 2 (the reporter itself stays silent in that case).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def raw_sample(nvml: Any) -> list[dict[str, Any]]:
    devices = []
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        rates = nvml.nvmlDeviceGetUtilizationRates(handle)
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        uuid, name = nvml.nvmlDeviceGetUUID(handle), nvml.nvmlDeviceGetName(handle)
        devices.append(
            {
                "index": index,
                "uuid": uuid.decode() if isinstance(uuid, bytes) else uuid,
                "name": name.decode() if isinstance(name, bytes) else name,
                "utilization": {"gpu": int(rates.gpu), "memory": int(rates.memory)},
                "memory": {"total": int(memory.total), "free": int(memory.free), "used": int(memory.used)},
            }
        )
    return devices


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=3, help="raw samples to take, 1 s apart")
    parser.add_argument("--repeats", type=int, default=20, help="timed reporter collections")
    parser.add_argument("--record", type=Path, help="write the raw samples as an NVML recording")
    args = parser.parse_args()

    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception as exc:  # any failure means: no usable NVML here
        print(f"no NVIDIA GPU/driver usable here ({type(exc).__name__}: {exc}); nothing to measure", file=sys.stderr)
        return 2

    driver = pynvml.nvmlSystemGetDriverVersion()
    driver = driver.decode() if isinstance(driver, bytes) else driver
    samples = []
    for i in range(args.samples):
        samples.append(raw_sample(pynvml))
        if i + 1 < args.samples:
            time.sleep(1)
    print(f"driver {driver}, {len(samples[-1])} GPU(s)")
    for d in samples[-1]:
        print(
            f"  gpu{d['index']} {d['name']} {d['uuid']}: util {d['utilization']['gpu']}% "
            f"mem {d['memory']['used'] / 2**20:.0f}/{d['memory']['total'] / 2**20:.0f} MiB"
        )
    if args.record:
        args.record.write_text(
            json.dumps(
                {
                    "format": "llm-otel NVML recording v1 (benchmarks/gpu_probe.py --record writes this shape)",
                    "provenance": f"recorded by benchmarks/gpu_probe.py on {time.strftime('%Y-%m-%d')}",
                    "driver_version": driver,
                    "samples": samples,
                },
                indent=1,
            )
        )
        print(f"recording written to {args.record}")

    from llm_otel.gpu import GPUMetricsInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instrumentor = GPUMetricsInstrumentor()
    instrumentor.instrument(meter_provider=provider, nvml=pynvml)
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    print(f"  {metric.name} [{metric.unit}] {point.attributes.get('hw.name')} = {point.value}")
    timings = []
    for _ in range(args.repeats):
        time.sleep(1.05)  # past the reporter's 1 s read cache, so every collection reads NVML
        start = time.perf_counter()
        reader.get_metrics_data()
        timings.append(time.perf_counter() - start)
    print(
        f"reporter collection: median {statistics.median(timings) * 1e3:.2f} ms, "
        f"min {min(timings) * 1e3:.2f}, max {max(timings) * 1e3:.2f} over {len(timings)}"
    )
    instrumentor.uninstrument()
    return 0


if __name__ == "__main__":
    sys.exit(main())
