"""``python -m llm_otel_tools.local_llm``: run the deterministic LLM server standalone."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .server import LocalLLMServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm_otel_tools.local_llm", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port (default)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay of non-streaming responses")
    parser.add_argument("--ttft-ms", type=float, default=0.0, help="delay before the first stream event")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0, help="delay between stream events")
    parser.add_argument("--slow-ms", type=float, default=3000.0, help="latency used for prompts containing 'slow'")
    parser.add_argument("--cache-min-words", type=int, default=32, help="system prompt length that reports cached tokens")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)

    server = LocalLLMServer(
        args.host,
        args.port,
        latency_ms=args.latency_ms,
        ttft_ms=args.ttft_ms,
        chunk_delay_ms=args.chunk_delay_ms,
        slow_ms=args.slow_ms,
        cache_min_words=args.cache_min_words,
        verbose=args.verbose,
    ).start()
    done = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(server.base_url, flush=True)
    print(
        f"local LLM listening: OpenAI base_url={server.openai_base_url} Anthropic base_url={server.anthropic_base_url}",
        file=sys.stderr,
        flush=True,
    )
    while not done.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
