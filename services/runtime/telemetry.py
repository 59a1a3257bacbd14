"""Tracing setup: one TracerProvider per service, exported over OTLP and/or to a JSON-lines file."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from .settings import ServiceSettings


class JsonLinesSpanExporter(SpanExporter):
    """Appends finished spans to a file, one JSON object a line, so several processes can share it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(span.to_json(indent=None) + "\n" for span in spans)
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


class TextAttributes(SpanProcessor):
    """FastStream's Kafka middleware records the message key as bytes, which OpenTelemetry does
    not allow (exporters fail on it): turn such attributes into text when the span starts."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for key, value in (span.attributes or {}).items():
            if isinstance(value, bytes):
                span.set_attribute(key, value.decode("utf-8", "replace"))

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def build_tracer_provider(settings: ServiceSettings) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({
        "service.name": f"motcua-{settings.service_name}",
        "service.namespace": "motcua",
        "deployment.environment.name": settings.environment,
    }))
    provider.add_span_processor(TextAttributes())
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if settings.trace_file:
        provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(settings.trace_file)))
    return provider


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, to resume its trace later (stored messages)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
