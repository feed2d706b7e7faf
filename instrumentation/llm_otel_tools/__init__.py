"""llm_otel_tools: the tools around the library, a separate house.

- ``cli``: the ``llm-otel`` command
- ``stack``: runs the Collector, Jaeger, Prometheus and Alertmanager as local processes (or Docker)
- ``readside``: reads back what the stack stored (report, traces, events)
- ``demo``: the instrumented FastAPI service and its traffic generator
- ``local_llm``: a deterministic LLM server that speaks the providers' HTTP APIs

Data flows one way: these tools use ``llm_otel`` (the library) like any app does; the library never
imports them (``tests/core/test_packaging.py`` proves it).
"""
