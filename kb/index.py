"""FAISS index over the chunk vectors stored in the catalog.

The kind of index follows the size of the bank, chosen at build time and recorded in the
catalog (``meta.vector_index``):

- ``flat``: exact inner-product search, rebuilt from the stored vectors when a search process
  opens the catalog (cheap up to a few hundred thousand chunks);
- ``ivf-sq8``: an inverted file over 8-bit scalar-quantised vectors, trained and serialised
  into the catalog by the build, for banks too large for exact search within the latency and
  memory targets (see README, "Performance"). Its labels are chunk ids, so an incremental
  build removes and adds only the changed chunks, without training again, until the number
  of chunks has drifted by more than ``RETRAIN_DRIFT`` from the number it was trained on.

Searches can be restricted to a set of chunks with an ID selector, so facet filters apply
before ranking. When an approximate search within a filter finds fewer chunks than asked,
it is repeated over every inverted list, so a filtered search never returns fewer results
than exist.
"""

from __future__ import annotations

import json
import math

import numpy as np

FLAT = "flat"
IVF = "ivf-sq8"
READ_BATCH = 20_000
RETRAIN_DRIFT = 0.25  # train the approximate index again when the chunk count moved this much


def choose_kind(chunks: int, exact_max: int) -> str:
    """Exact search up to ``exact_max`` chunks (the ``exact_max_chunks`` setting), approximate above."""
    return FLAT if chunks <= exact_max else IVF


def _iter_vectors(db, batch: int = READ_BATCH):
    """(chunk ids, fiche ids, vectors) in chunk-id order, a batch at a time (bounded memory)."""
    last = -1
    while True:
        rows = db.execute("SELECT id, fiche_id, vector FROM chunks WHERE id > ? ORDER BY id LIMIT ?",
                          [last, batch]).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield (np.array([r[0] for r in rows], dtype="int64"), np.array([r[1] for r in rows], dtype="int64"),
               np.vstack([np.frombuffer(r[2], dtype="float32") for r in rows]))


def train_ivf(db, dimension: int, chunks: int, seed: int = 0):
    """An IVF-SQ8 index over every stored vector, labelled by chunk id."""
    import faiss

    # about 4·√n lists, and at least 39 training points per list (FAISS's k-means minimum)
    nlist = max(1, min(int(4 * math.sqrt(chunks)), chunks // 39))
    quantizer = faiss.IndexFlatIP(dimension)
    index = faiss.IndexIVFScalarQuantizer(quantizer, dimension, nlist, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    sample_size = min(chunks, max(40 * nlist, 50_000))
    rng = np.random.default_rng(seed)
    wanted = np.sort(rng.choice(chunks, size=sample_size, replace=False))
    sample, position = [], 0
    for _, _, vectors in _iter_vectors(db):
        picked = wanted[(wanted >= position) & (wanted < position + len(vectors))] - position
        sample.append(vectors[picked])
        position += len(vectors)
    index.train(np.vstack(sample))
    for chunk_ids, _, vectors in _iter_vectors(db):
        index.add_with_ids(vectors, chunk_ids)
    return index, nlist


def update_ivf(db, index, removed_chunks: list[int], added_chunks: list[int]) -> None:
    """Remove and add the changed chunks in a trained index (labels: chunk ids). Removal comes
    first: SQLite may give a new chunk the id of a removed one."""
    import faiss

    if removed_chunks:
        index.remove_ids(faiss.IDSelectorBatch(np.asarray(removed_chunks, dtype="int64")))
    from kb.catalog import id_list

    rows = db.execute("SELECT id, vector FROM chunks WHERE id IN (SELECT value FROM json_each(?))",
                      [id_list(added_chunks)]).fetchall()
    if rows:
        index.add_with_ids(np.vstack([np.frombuffer(r[1], dtype="float32") for r in rows]),
                           np.array([r[0] for r in rows], dtype="int64"))


def write_index(writer, dimension: int | None, exact_max: int, nprobe: int,
                changes: tuple[list[int], list[int]] | None = None) -> dict:
    """Choose the index kind for the catalog's chunks and store the approximate index when it
    is one, through ``writer`` (a :class:`kb.catalog_writer.CatalogWriter`). ``changes``
    (removed chunk ids, added chunk ids) of an incremental build update the stored index in
    place of training it again, while the chunk count stays within ``RETRAIN_DRIFT`` of the
    count it was trained on. Returns ``meta.vector_index``."""
    import faiss

    db = writer.db
    chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    kind = choose_kind(chunks, exact_max)
    info = {"kind": kind, "chunks": chunks}
    if kind != IVF:
        writer.replace_vector_blob(None)
        return info
    row = db.execute("SELECT value FROM meta WHERE key = 'vector_index'").fetchone()
    previous = json.loads(row[0]) if row else {}
    stored = db.execute("SELECT 1 FROM vector_blob WHERE id = 1").fetchone()
    trained_on = previous.get("trained_on", 0)
    index = None
    if (changes is not None and stored is not None and previous.get("kind") == IVF
            and abs(chunks - trained_on) <= RETRAIN_DRIFT * trained_on):
        index = read_stored_index(db)
        update_ivf(db, index, *changes)
        info.update({"nlist": previous["nlist"], "trained_on": trained_on})
        if index.ntotal != chunks:  # out of step with the table (never seen): train it again
            index = None
    if index is None:
        index, nlist = train_ivf(db, dimension, chunks)
        info.update({"nlist": nlist, "trained_on": chunks})
    writer.replace_vector_blob(faiss.serialize_index(index))
    info["nprobe"] = nprobe
    return info


def read_stored_index(db):
    """The approximate index stored by the build, streamed from its BLOB: never a second copy
    of it in memory (400 MB at 100,000 fiches)."""
    import faiss

    with db.conn.blobopen("vector_blob", "data", 1, readonly=True) as blob:
        return faiss.read_index(faiss.PyCallbackIOReader(blob.read, 1 << 20))


class VectorIndex:
    """Search over chunk vectors; positions in the index map to chunk and fiche ids."""

    def __init__(self, index, chunk_ids: np.ndarray, fiche_ids: np.ndarray, kind: str = FLAT, nprobe: int = 32):
        self.index = index
        self.kind = kind
        self.nprobe = nprobe
        self.chunk_ids = np.asarray(chunk_ids, dtype="int64")
        self.fiche_ids = np.asarray(fiche_ids, dtype="int64")
        self.dimension = int(index.d) if len(self.chunk_ids) else 0
        self._positions_of_fiche: dict[int, np.ndarray] | None = None

    @classmethod
    def flat(cls, chunk_ids, fiche_ids, vectors: np.ndarray) -> "VectorIndex":
        import faiss

        index = faiss.IndexFlatIP(int(vectors.shape[1]) if len(vectors) else 1)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype="float32"))
        return cls(index, chunk_ids, fiche_ids)

    @classmethod
    def from_catalog(cls, db, meta: dict | None = None) -> "VectorIndex":
        import faiss

        info = json.loads((meta or {}).get("vector_index") or '{"kind": "flat"}')
        chunk_parts, fiche_parts = [], []
        if info["kind"] == IVF and "trained_on" not in info:  # labelled by position: kb before 2026-11-30
            from kb.catalog import CatalogError

            raise CatalogError("l'index approché a été construit par une version antérieure de kb: reconstruisez-le "
                               "avec « kb build --force ».")
        if info["kind"] == IVF:
            for chunk_ids, fiche_ids in _iter_ids(db):
                chunk_parts.append(chunk_ids)
                fiche_parts.append(fiche_ids)
            return cls(read_stored_index(db), _cat(chunk_parts), _cat(fiche_parts), IVF, int(info.get("nprobe", 32)))
        index = None
        for chunk_ids, fiche_ids, vectors in _iter_vectors(db):
            if index is None:
                index = faiss.IndexFlatIP(vectors.shape[1])
            index.add(vectors)
            chunk_parts.append(chunk_ids)
            fiche_parts.append(fiche_ids)
        if index is None:
            return cls(faiss.IndexFlatIP(1), np.zeros(0), np.zeros(0))
        return cls(index, _cat(chunk_parts), _cat(fiche_parts))

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
        if not len(positions):
            return np.zeros((0, self.dimension), dtype="float32")
        if self.kind == IVF:
            import faiss

            if self.index.direct_map.type != faiss.DirectMap.Hashtable:
                self.index.set_direct_map_type(faiss.DirectMap.Hashtable)  # labels are not 0…n-1
            return np.vstack([self.index.reconstruct(int(self.chunk_ids[p])) for p in positions])
        return np.vstack([self.index.reconstruct(int(p)) for p in positions])

    def search(self, query: np.ndarray, k: int, allowed_positions: np.ndarray | None = None,
               exhaustive: bool = False):
        """(positions, scores) of the k nearest chunks, within ``allowed_positions`` if given."""
        import faiss

        total = len(self) if allowed_positions is None else len(allowed_positions)
        k = min(k, total)
        if k <= 0:
            return np.zeros(0, dtype="int64"), np.zeros(0, dtype="float32")
        query = np.ascontiguousarray(query.reshape(1, -1), dtype="float32")
        selector = None
        if allowed_positions is not None:
            allowed = np.asarray(allowed_positions, dtype="int64")
            # an approximate index is labelled by chunk id, the exact one by position
            selector = faiss.IDSelectorBatch(self.chunk_ids[allowed] if self.kind == IVF else allowed)
        if self.kind == IVF:
            nprobe = self.index.nlist if exhaustive else self.nprobe
            params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe) if selector else \
                faiss.SearchParametersIVF(nprobe=nprobe)
        else:
            params = faiss.SearchParameters(sel=selector) if selector else None
        scores, labels = self.index.search(query, k, params=params)
        keep = labels[0] >= 0
        labels, scores = labels[0][keep], scores[0][keep]
        if self.kind == IVF:  # chunk ids → positions (chunk_ids is sorted: read in id order)
            labels = np.searchsorted(self.chunk_ids, labels)
        return labels, scores

    def rank_fiches(self, query: np.ndarray, limit: int, allowed_fiches: list[int] | None = None):
        """Best fiches by their best chunk: [(fiche id, score, best chunk id)], up to ``limit``.

        Widens the chunk search until ``limit`` distinct fiches are found or every allowed chunk
        has been seen, so a fiche with many chunks cannot crowd the others out; an approximate
        index that finds too few within a filter searches again over all its lists.
        """
        allowed = None if allowed_fiches is None else self.positions_of(allowed_fiches)
        total = len(self) if allowed is None else len(allowed)
        k = max(limit * 4, 32)
        exhaustive = False
        while True:
            positions, scores = self.search(query, k, allowed, exhaustive)
            best: dict[int, tuple[float, int]] = {}
            for position, score in zip(positions, scores):
                fiche = int(self.fiche_ids[position])
                if fiche not in best:
                    best[fiche] = (float(score), int(self.chunk_ids[position]))
            if len(best) >= limit:
                break
            if self.kind == IVF and not exhaustive and len(positions) < min(k, total):
                exhaustive = True  # the probed lists held too few allowed chunks: search them all
                continue
            if k >= total:
                break
            k = min(k * 4, total)
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:limit]
        return [(fiche, score, chunk) for fiche, (score, chunk) in ranked]


def _iter_ids(db, batch: int = 200_000):
    last = -1
    while True:
        rows = db.execute("SELECT id, fiche_id FROM chunks WHERE id > ? ORDER BY id LIMIT ?", [last, batch]).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield np.array([r[0] for r in rows], dtype="int64"), np.array([r[1] for r in rows], dtype="int64")


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype="int64")
