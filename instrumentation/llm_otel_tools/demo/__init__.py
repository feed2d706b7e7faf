"""The demo: an instrumented LLM service and a traffic generator for it.

* :mod:`llm_otel_tools.demo.app` — ``create_app(settings)``: FastAPI service (``/generate``, ``/rag``,
  ``/agent``, ``/feedback``, ``/health``) using the real ``openai`` SDK, traced by
  ``opentelemetry-instrumentation-fastapi`` and llm_otel;
* :mod:`llm_otel_tools.demo.serve` — ``python -m llm_otel_tools.demo.serve --host --port`` (configures OTel
  from ``OTEL_*``, then runs uvicorn);
* :mod:`llm_otel_tools.demo.traffic` — ``run_traffic(base_url, requests=N)`` /
  ``python -m llm_otel_tools.demo.traffic --url --requests N``: a seeded traffic mix with an exact summary;
* :mod:`llm_otel_tools.demo.cli` — ``llm-otel demo``: stack, local LLM, service and traffic in one command.

Needs the ``demo`` extra (``pip install 'llm-otel[demo]'``).
"""
