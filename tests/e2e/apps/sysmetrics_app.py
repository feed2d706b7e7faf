"""An app for the system-metrics e2e test: llm_otel.configure() from OTEL_* (process metrics on by default),
the GPU reporter fed by a REPLAY of a recorded NVML reading (no GPU on this machine, see tests/nvml_replay.py),
and a self-hosted model whose CPU/GPU-seconds are counted. Runs until terminated; prints READY once set up.
"""

import signal
import sys
import time

import llm_otel
from llm_otel.gpu import GPUMetricsInstrumentor
from llm_otel.serving import model_compute

from tests.nvml_replay import NvmlReplay

configuration = llm_otel.configure()
GPUMetricsInstrumentor().instrument(nvml=NvmlReplay())  # the real one is disabled by the test's environment


def stop(*_):
    configuration.meter_provider.shutdown()
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
print("READY", flush=True)
while True:
    with model_compute("local-llama-e2e", gpus=1):
        end = time.thread_time() + 0.01
        while time.thread_time() < end:
            pass
    time.sleep(0.5)
