"""One retrieval from each vector store, in memory; telemetry set up only from outside."""

import sys
import tempfile

import chromadb
import faiss
import lancedb
import numpy as np
from chromadb.config import Settings
from qdrant_client import QdrantClient, models

if len(sys.argv) > 1 and sys.argv[1] == "configure":
    import llm_otel

    llm_otel.configure()

vectors = np.eye(3, dtype=np.float32)

index = faiss.IndexFlatL2(3)
index.add(vectors)
index.search(vectors[:1], 2)

qdrant = QdrantClient(":memory:")
qdrant.create_collection("q_docs", vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE))
qdrant.upsert("q_docs", points=[models.PointStruct(id=i, vector=v.tolist()) for i, v in enumerate(vectors)])
qdrant.query_points("q_docs", query=vectors[0].tolist(), limit=2)

chroma = chromadb.EphemeralClient(settings=Settings(anonymized_telemetry=False)).create_collection("c_docs")
chroma.add(ids=["a", "b", "c"], embeddings=vectors.tolist())
chroma.query(query_embeddings=vectors[:1].tolist(), n_results=2)

table = lancedb.connect(tempfile.mkdtemp()).create_table(
    "l_docs", data=[{"id": str(i), "vector": v.tolist()} for i, v in enumerate(vectors)])
table.search(vectors[0].tolist()).limit(2).to_list()
