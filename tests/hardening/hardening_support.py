"""Shared checks of the hardening suite: every span must survive the real OTLP encoder."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans


def assert_encodable(spans: Sequence[Any]) -> None:
    """Each span alone and the whole batch serialize as OTLP protobuf (one bad span would drop the batch)."""
    assert spans, "no span was produced"
    for span in spans:
        encode_spans([span]).SerializeToString()
    encode_spans(list(spans)).SerializeToString()
