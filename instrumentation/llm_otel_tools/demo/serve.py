"""Run the demo service: ``python -m llm_otel_tools.demo.serve --host 127.0.0.1 --port 8000``.

OpenTelemetry comes only from the standard ``OTEL_*`` variables (``llm_otel.configure``,
service name ``llm-otel-demo`` unless ``OTEL_SERVICE_NAME`` says otherwise); the model from
``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` / ``LLM_OTEL_DEMO_MODEL``.
"""

from __future__ import annotations

import argparse

SERVICE_NAME = "llm-otel-demo"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm_otel_tools.demo.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    args = parser.parse_args(argv)

    import llm_otel
    import uvicorn

    configuration = llm_otel.configure(service_name=SERVICE_NAME)  # providers + the OpenAI SDK instrumentor

    from llm_otel_tools.demo.app import create_app

    app = create_app(on_shutdown=[lambda: flush_telemetry(configuration)])
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def flush_telemetry(configuration: object) -> None:
    """Export what is buffered and shut down the providers ``configure()`` installed.

    Runs at the app's lifespan shutdown: uvicorn re-raises SIGTERM/SIGINT once it has
    stopped, which ends the process before ``atexit`` hooks (the SDK's own flush) run.
    """
    installed = getattr(configuration, "installed", ())
    for signal_name, attr in (("traces", "tracer_provider"), ("metrics", "meter_provider"), ("logs", "logger_provider")):
        provider = getattr(configuration, attr, None)
        if signal_name in installed and provider is not None:
            try:
                provider.shutdown()
            except Exception:
                pass


if __name__ == "__main__":
    raise SystemExit(main())
