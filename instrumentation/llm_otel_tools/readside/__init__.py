"""The read side: what the stored telemetry says, straight from the Prometheus and Jaeger APIs.

    llm-otel report [--window 15m] [--json] [--prometheus URL] [--service S]   (llm_otel_tools.readside.report)
    llm-otel trace TRACE_ID [--json] [--jaeger URL]                            (llm_otel_tools.readside.traces)
    llm-otel traces --service S [--last 10] [--lookback 1h] [--json]           (llm_otel_tools.readside.traces)

Nothing is counted in-process: every figure comes from the backends the Collector feeds. Standard
library HTTP; ``rich`` (demo extras) only for the report table, with a plain-text fallback.
"""
