"""FAISS index over the chunk vectors stored in the catalog (derived data, rebuilt at load).

Searches can be restricted to a set of chunks with an ID selector, so facet filters apply
before ranking: a filtered search finds every allowed chunk, never a post-filtered top-k.
"""

from __future__ import annotations

import numpy as np


class VectorIndex:
    """Exact inner-product search; positions in the index map to chunk and fiche ids."""

    def __init__(self, chunk_ids: np.ndarray, fiche_ids: np.ndarray, vectors: np.ndarray):
        import faiss

        self.chunk_ids = np.asarray(chunk_ids, dtype="int64")
        self.fiche_ids = np.asarray(fiche_ids, dtype="int64")
        self.dimension = int(vectors.shape[1]) if len(vectors) else 0
        self.index = faiss.IndexFlatIP(max(self.dimension, 1))
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype="float32"))
        self._positions_of_fiche: dict[int, np.ndarray] | None = None

    @classmethod
    def from_catalog(cls, db, dimension: int | None = None) -> "VectorIndex":
        rows = db.execute("SELECT id, fiche_id, vector FROM chunks ORDER BY id").fetchall()
        if not rows:
            return cls(np.zeros(0), np.zeros(0), np.zeros((0, dimension or 1), dtype="float32"))
        vectors = np.vstack([np.frombuffer(r[2], dtype="float32") for r in rows])
        return cls(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), vectors)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def positions_of(self, fiche_ids) -> np.ndarray:
        if self._positions_of_fiche is None:
            order = np.argsort(self.fiche_ids, kind="stable")
            ids, starts = np.unique(self.fiche_ids[order], return_index=True)
            bounds = list(starts[1:]) + [len(order)]
            self._positions_of_fiche = {int(i): order[s:e] for i, s, e in zip(ids, starts, bounds)}
        parts = [self._positions_of_fiche.get(int(f)) for f in fiche_ids]
        parts = [p for p in parts if p is not None]
        return np.concatenate(parts) if parts else np.zeros(0, dtype="int64")

    def vectors_of(self, fiche_id: int) -> np.ndarray:
        positions = self.positions_of([fiche_id])
        return np.vstack([self.index.reconstruct(int(p)) for p in positions]) if len(positions) else np.zeros(
            (0, self.dimension), dtype="float32")

    def search(self, query: np.ndarray, k: int, allowed_positions: np.ndarray | None = None):
        """(positions, scores) of the k nearest chunks, within ``allowed_positions`` if given."""
        import faiss

        total = len(self) if allowed_positions is None else len(allowed_positions)
        k = min(k, total)
        if k <= 0:
            return np.zeros(0, dtype="int64"), np.zeros(0, dtype="float32")
        query = np.ascontiguousarray(query.reshape(1, -1), dtype="float32")
        params = None
        if allowed_positions is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed_positions, dtype="int64")))
        scores, positions = self.index.search(query, k, params=params)
        keep = positions[0] >= 0
        return positions[0][keep], scores[0][keep]

    def rank_fiches(self, query: np.ndarray, limit: int, allowed_fiches: list[int] | None = None):
        """Best fiches by their best chunk: [(fiche id, score, best chunk id)], up to ``limit``.

        Widens the chunk search until ``limit`` distinct fiches are found or every allowed chunk
        has been seen, so a fiche with many chunks cannot crowd the others out.
        """
        allowed = None if allowed_fiches is None else self.positions_of(allowed_fiches)
        total = len(self) if allowed is None else len(allowed)
        k = max(limit * 4, 32)
        while True:
            positions, scores = self.search(query, k, allowed)
            best: dict[int, tuple[float, int]] = {}
            for position, score in zip(positions, scores):
                fiche = int(self.fiche_ids[position])
                if fiche not in best:
                    best[fiche] = (float(score), int(self.chunk_ids[position]))
            if len(best) >= limit or k >= total:
                break
            k = min(k * 4, total)
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:limit]
        return [(fiche, score, chunk) for fiche, (score, chunk) in ranked]
