"""How often each token occurs in each fiche: what ``kb build`` stores for the lexical ranking
(table ``lexical_blob``), and updates for the fiches a build changes, without reading the others
again. :mod:`kb.lexical` turns it into BM25 scores when a search opens the catalog.

A fiche's tokens are its analysed terms (kb.textnorm.analyze, as in FTS5) and its words as
written, folded but not stemmed, prefixed by :data:`EXACT`; each field counts
``FIELD_REPEATS`` times (title 3, résumé and keywords 2, body 1).
"""

from __future__ import annotations

import io
import json
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from kb.textnorm import exact_words

FIELD_REPEATS = (3, 2, 2, 1)  # title, résumé, keywords, body (kb.catalog_writer.FTS_COLUMNS order)
EXACT = "="  # prefix of an exact word's token: stems are [a-z0-9] only, never confused with it
# the analysed terms of each field, then the same fields as written (for the exact words)
SELECT_FIELDS = ("SELECT id, titre_terms, resume_terms, mots_cles_terms, body_terms, "
                 "titre, resume, mots_cles || ' ' || dispositifs, body FROM fiches")
ARRAYS = ("ids", "lengths", "indptr", "indices", "counts")


def fiche_counts(columns: list[str | None]) -> Counter:
    """A fiche's token counts (``columns``: the four analysed fields, then the four as written)."""
    counts: Counter = Counter()
    for text, repeat in zip(columns[:4], FIELD_REPEATS):
        counts.update((text or "").split() * repeat)
    for text, repeat in zip(columns[4:], FIELD_REPEATS):
        counts.update([EXACT + w for w in exact_words(text or "")] * repeat)
    return counts


def _array(blob: bytes) -> np.ndarray:
    """A ``.npy`` blob as a read-only array over the blob's own bytes: no copy (np.load would
    make one: 0.9 GB more at 100,000 fiches)."""
    stream = io.BytesIO(blob)
    version = np.lib.format.read_magic(stream)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = read_header(stream)
    if fortran_order or dtype.hasobject:
        raise ValueError("compteurs lexicaux illisibles : reconstruisez l'index avec « kb build --force ».")
    count = int(np.prod(shape)) if shape else 1
    return np.frombuffer(blob, dtype, count=count, offset=stream.tell()).reshape(shape)


@dataclass
class TermCounts:
    """A sparse (token × fiche) count matrix by token (CSC: ``indptr`` over tokens, ``indices``
    the fiche positions in ``ids``) and each fiche's length."""

    ids: np.ndarray  # fiche ids, ascending
    lengths: np.ndarray  # tokens per fiche
    indptr: np.ndarray
    indices: np.ndarray
    counts: np.ndarray
    vocab: dict[str, int]

    @classmethod
    def count(cls, rows: Iterable[tuple], vocab: dict[str, int] | None = None) -> "TermCounts":
        """From :data:`SELECT_FIELDS` rows; new tokens are added to ``vocab`` (a copy)."""
        vocab = dict(vocab or {})
        ids, lengths = array("q"), array("f")
        fiches, tokens, numbers = array("q"), array("i"), array("f")
        for row in rows:
            counts = fiche_counts(list(row[1:]))
            ids.append(row[0])
            lengths.append(sum(counts.values()))
            fiches.extend([row[0]] * len(counts))
            tokens.extend([vocab.setdefault(token, len(vocab)) for token in counts])
            numbers.extend(counts.values())
        return cls._assemble(np.frombuffer(ids, np.int64), np.frombuffer(lengths, np.float32),
                             np.frombuffer(fiches, np.int64), np.frombuffer(tokens, np.int32),
                             np.frombuffer(numbers, np.float32), vocab)

    @classmethod
    def _assemble(cls, ids, lengths, fiches, tokens, numbers, vocab) -> "TermCounts":
        """From (fiche id, token, count) triplets and each fiche's length."""
        order = np.argsort(ids, kind="stable")
        ids, lengths = ids[order], lengths[order]
        return cls._by_token(ids, lengths, np.searchsorted(ids, fiches).astype(np.int32), tokens, numbers, vocab)

    @classmethod
    def _by_token(cls, ids, lengths, positions, tokens, numbers, vocab) -> "TermCounts":
        # stable: runs already in token order (kept counts, then a few fiches) merge in linear time
        by_token = np.argsort(tokens, kind="stable")
        indptr = np.zeros(len(vocab) + 1, np.int64)
        np.cumsum(np.bincount(tokens, minlength=len(vocab)), out=indptr[1:])
        return cls(ids.copy(), lengths.copy(), indptr, positions[by_token], numbers[by_token].copy(), vocab)

    def _tokens(self) -> np.ndarray:
        """The token of each stored count."""
        return np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int32), np.diff(self.indptr))

    def updated(self, removed: Iterable[int], rows: Iterable[tuple]) -> "TermCounts":
        """These counts without the fiches ``removed`` and with those of ``rows`` (the fiches a
        build added or changed): only they are read and analysed again."""
        fresh = TermCounts.count(rows, self.vocab)  # its vocabulary extends this one
        dropped = np.isin(self.ids, np.concatenate([np.fromiter(removed, np.int64), fresh.ids]))
        keep = ~dropped[self.indices]
        kept_ids = self.ids[~dropped]
        tokens = np.concatenate([self._tokens()[keep], fresh._tokens()])
        numbers = np.concatenate([self.counts[keep], fresh.counts])
        if len(kept_ids) and len(fresh.ids) and fresh.ids.min() < kept_ids.max():
            # a new fiche among the old ones (SQLite gives new rows the largest id, so rarely)
            return TermCounts._assemble(np.concatenate([kept_ids, fresh.ids]),
                                        np.concatenate([self.lengths[~dropped], fresh.lengths]),
                                        np.concatenate([self.ids[self.indices[keep]], fresh.ids[fresh.indices]]),
                                        tokens, numbers, fresh.vocab)
        new_position = (np.cumsum(~dropped) - 1).astype(np.int32)
        positions = np.concatenate([new_position[self.indices[keep]], fresh.indices + np.int32(len(kept_ids))])
        return TermCounts._by_token(np.concatenate([kept_ids, fresh.ids]),
                                    np.concatenate([self.lengths[~dropped], fresh.lengths]),
                                    positions, tokens, numbers, fresh.vocab)

    # -- storage (kb.catalog_writer writes, kb.lexical reads) ---------------------------------------

    def to_blobs(self) -> dict[str, bytes]:
        out = {}
        for name in ARRAYS:
            buffer = io.BytesIO()
            np.save(buffer, getattr(self, name), allow_pickle=False)
            out[name] = buffer.getvalue()
        out["vocab"] = json.dumps(self.vocab, ensure_ascii=False).encode()
        return out

    @classmethod
    def from_blobs(cls, blobs: dict[str, bytes]) -> "TermCounts":
        arrays = {name: _array(blobs[name]) for name in ARRAYS}
        return cls(**arrays, vocab=json.loads(blobs["vocab"]))

    @classmethod
    def from_catalog(cls, db) -> "TermCounts | None":
        """The stored counts, None when the catalog has none (built by the core install)."""
        blobs = dict(db.execute("SELECT name, data FROM lexical_blob").fetchall())
        return cls.from_blobs(blobs) if blobs else None
