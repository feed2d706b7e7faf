"""The demo's embedded vector store: SQLite with the sqlite-vec ``vec0`` index, through apsw.

Python's own ``sqlite3`` module often cannot load extensions (it is built without
``enable_load_extension`` on many systems), so the store opens its database with
`apsw <https://pypi.org/project/apsw/>`_, which ships its own SQLite with extension loading,
and loads `sqlite-vec <https://pypi.org/project/sqlite-vec/>`_'s loadable module from its
wheel (``sqlite_vec.loadable_path()``). Both are wheels with no network access at run time.

Documents live in an ordinary table; their vectors in a ``vec0`` virtual table with cosine
distance, searched with sqlite-vec's KNN query (``embedding MATCH ? AND k = ?``).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

CORPUS_RESOURCE = "corpus.jsonl"


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
    score: float  # cosine similarity, 1 - sqlite-vec's cosine distance


def load_corpus() -> list[Document]:
    """The bundled documents about OpenTelemetry and observability (``demo/corpus.jsonl``)."""
    text = resources.files(__package__).joinpath(CORPUS_RESOURCE).read_text(encoding="utf-8")
    return [Document(**json.loads(line)) for line in text.splitlines() if line.strip()]


def _blob(vector: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


class VectorStore:
    """Documents plus a sqlite-vec cosine index, in memory (or in a file at ``path``)."""

    def __init__(self, dimensions: int, path: str = ":memory:") -> None:
        import apsw
        import sqlite_vec

        self.dimensions = int(dimensions)
        self._db: Any = apsw.Connection(path)
        self._db.enable_load_extension(True)
        self._db.load_extension(sqlite_vec.loadable_path())
        self._db.enable_load_extension(False)
        self._db.execute("CREATE TABLE IF NOT EXISTS documents (id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL)")
        self._db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS document_vectors USING "
            f"vec0(id TEXT PRIMARY KEY, embedding float[{self.dimensions}] distance_metric=cosine)"
        )

    @property
    def version(self) -> str:
        return str(self._db.execute("SELECT vec_version()").fetchall()[0][0])

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM documents").fetchall()[0][0])

    def add(self, documents: Sequence[Document], vectors: Sequence[Sequence[float]]) -> None:
        if len(documents) != len(vectors):
            raise ValueError(f"{len(documents)} documents but {len(vectors)} vectors")
        with self._db:  # one transaction
            for doc, vec in zip(documents, vectors):
                if len(vec) != self.dimensions:
                    raise ValueError(f"vector for {doc.id!r} has {len(vec)} dimensions, expected {self.dimensions}")
                self._db.execute("INSERT OR REPLACE INTO documents (id, title, text) VALUES (?, ?, ?)", (doc.id, doc.title, doc.text))
                self._db.execute("DELETE FROM document_vectors WHERE id = ?", (doc.id,))
                self._db.execute("INSERT INTO document_vectors (id, embedding) VALUES (?, ?)", (doc.id, _blob(vec)))

    def search(self, vector: Sequence[float], k: int) -> list[Hit]:
        """The ``k`` nearest documents, most similar first."""
        if len(vector) != self.dimensions:
            raise ValueError(f"query vector has {len(vector)} dimensions, expected {self.dimensions}")
        rows = self._db.execute(
            "SELECT v.id, d.title, d.text, v.distance FROM "
            "(SELECT id, distance FROM document_vectors WHERE embedding MATCH ? AND k = ?) AS v "
            "JOIN documents AS d ON d.id = v.id ORDER BY v.distance",
            (_blob(vector), max(1, int(k))),
        ).fetchall()
        return [Hit(id, title, text, round(1.0 - float(distance), 6)) for id, title, text, distance in rows]

    def close(self) -> None:
        self._db.close()
