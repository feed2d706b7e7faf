"""The demo's embedded vector store: a Qdrant collection in process (``qdrant-client`` local mode).

``QdrantClient(":memory:")`` (or ``path=...`` for a directory on disk) runs Qdrant's search in the
Python process: no server, no network. The store keeps each document's title and text in the
point's payload; Qdrant point ids are unsigned integers or UUIDs, so a document's point id is the
UUID5 of its id (:func:`point_id`). Searches use cosine similarity.

The store does no telemetry itself: ``llm_otel.configure()`` turns on the Qdrant instrumentor, so
every ``query_points`` is a ``retrieval demo-docs`` span and every ``upsert`` a database client span.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from typing import Any

CORPUS_RESOURCE = "corpus.jsonl"
COLLECTION = "demo-docs"
_POINT_NAMESPACE = uuid.UUID("6f1c7c1e-3a52-5d0e-9b1a-6c6c6d2f6f74")


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    title: str
    text: str
    score: float  # cosine similarity


def load_corpus() -> list[Document]:
    """The bundled documents about OpenTelemetry and observability (``demo/corpus.jsonl``)."""
    text = resources.files(__package__).joinpath(CORPUS_RESOURCE).read_text(encoding="utf-8")
    return [Document(**json.loads(line)) for line in text.splitlines() if line.strip()]


def point_id(document_id: str) -> str:
    """The Qdrant point id of a document (the id its retrieval spans list)."""
    return str(uuid.uuid5(_POINT_NAMESPACE, document_id))


class VectorStore:
    """Documents in a Qdrant collection with a cosine index, in memory (or on disk at ``path``)."""

    def __init__(self, dimensions: int, path: str | None = None, collection: str = COLLECTION) -> None:
        self.dimensions = int(dimensions)
        self.collection = collection
        self._path = path
        self._opened: Any = None

    @property
    def _client(self) -> Any:
        """Opened on first use: importing qdrant-client takes seconds, the service starts without it."""
        if self._opened is None:
            from qdrant_client import QdrantClient, models

            client = QdrantClient(":memory:") if self._path is None else QdrantClient(path=self._path)
            if not client.collection_exists(self.collection):
                client.create_collection(
                    self.collection,
                    vectors_config=models.VectorParams(size=self.dimensions, distance=models.Distance.COSINE),
                )
            self._opened = client
        return self._opened

    @property
    def version(self) -> str:
        return metadata.version("qdrant-client")

    def __len__(self) -> int:
        return int(self._client.count(self.collection).count)

    def add(self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]) -> None:
        if len(documents) != len(vectors):
            raise ValueError(f"{len(documents)} documents but {len(vectors)} vectors")
        for doc, vec in zip(documents, vectors, strict=True):
            if len(vec) != self.dimensions:
                raise ValueError(f"vector for {doc.id!r} has {len(vec)} dimensions, expected {self.dimensions}")
        from qdrant_client.models import PointStruct

        points = [
            PointStruct(id=point_id(doc.id), vector=list(vec),
                        payload={"doc_id": doc.id, "title": doc.title, "text": doc.text})
            for doc, vec in zip(documents, vectors, strict=True)
        ]
        self._client.upsert(self.collection, points=points)

    def search(self, vector: Sequence[float], k: int) -> list[Hit]:
        """The ``k`` nearest documents, most similar first."""
        if len(vector) != self.dimensions:
            raise ValueError(f"query vector has {len(vector)} dimensions, expected {self.dimensions}")
        response = self._client.query_points(self.collection, query=list(vector), limit=max(1, int(k)),
                                             with_payload=True)
        return [
            Hit(p.payload["doc_id"], p.payload["title"], p.payload["text"], round(float(p.score), 6))
            for p in response.points
        ]

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()
