"""The lexical scorer: BM25 (Lucene's variant, as bm25s computes it: k1 = 1.5, b = 0.75) over the
analysed French terms of each fiche (kb.textnorm: the same terms as the FTS5 index) and over its words
as written (folded, not stemmed), the title, résumé and keywords weighted by repetition. A
query scores its stems plus, at :data:`EXACT_WEIGHT`, its exact words: « participatif » ranks
a fiche that says « participatif » above one that only says « participants » (same stem).

Why not FTS5's own ``bm25()``: it fixes k1 at 1.2, gives terms found in more than half of the
documents an idf of about zero, and scores every fiche that contains a query word row by row.
Here each (term, fiche) score is computed at build time into a sparse matrix, as bm25s does,
so a query sums a few columns. Measured with ``kb eval`` and
``python -m bench.lexical_reference`` (README, « Classement lexical »). FTS5 stays the index of
phrases (multi-word thesaurus expansions), snippets and matching.

``kb build`` stores the token counts in the catalog (kb.term_counts); a catalog built by the
core install (no numpy) has none, and :meth:`LexicalIndex.from_catalog` then counts on open.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from kb.term_counts import EXACT, SELECT_FIELDS, TermCounts

K1, B = 1.5, 0.75
CHUNK = 1 << 22  # counts scored at a time: temporaries of 16 MB, not of the whole matrix
# weight of the exact words typed beside their stems: measured with kb eval over 0 to 1 (README,
# « Classement lexical »), 0.5 best on the bank and CNIL, and better than 0 on crpa too
EXACT_WEIGHT = 0.5


def exact_tokens(words: Iterable[str]) -> list[str]:
    return [EXACT + w for w in words]


class LexicalIndex:
    """BM25 scores of every (token, fiche) as a sparse matrix by token (CSC: ``indptr``,
    ``indices`` of fiche positions, ``data`` scores), fiche ids in ascending order."""

    def __init__(self, ids: np.ndarray, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                 vocab: dict[str, int]):
        self.ids = ids
        self.vocab = vocab
        self._scores = {"data": data, "indices": indices, "indptr": indptr}

    @classmethod
    def from_counts(cls, counts: TermCounts) -> "LexicalIndex":
        """Lucene's BM25 as bm25s computes it (tests/test_lexical.py compares the two), from the
        token counts numpy holds: bm25s indexes Python lists of tokens (34 s and 1.8 GB for
        10,000 fiches here) and cannot update a few fiches."""
        fiches = len(counts.ids)
        frequency = np.diff(counts.indptr)
        idf = np.log(1 + (fiches - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)
        norm = (K1 * (1 - B + B * counts.lengths / (counts.lengths.mean() if fiches else 1.0))).astype(np.float32)
        data = np.repeat(idf, frequency)  # float32, then idf · tf / (tf + norm), a slice at a time
        for start in range(0, len(data), CHUNK):
            tf = counts.counts[start:start + CHUNK]
            data[start:start + CHUNK] *= tf / (tf + norm[counts.indices[start:start + CHUNK]])
        return cls(counts.ids, data, counts.indices, counts.indptr, counts.vocab)

    @classmethod
    def build(cls, rows: Iterable[tuple]) -> "LexicalIndex":
        """From :data:`kb.term_counts.SELECT_FIELDS` rows."""
        return cls.from_counts(TermCounts.count(rows))

    @classmethod
    def from_catalog(cls, db) -> "LexicalIndex":
        """The stored counts of a catalog, or counts computed from its fiches when it has none."""
        counts = TermCounts.from_catalog(db)
        return cls.from_counts(counts if counts is not None else TermCounts.count(db.execute(SELECT_FIELDS)))

    # -- reading ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, terms: Iterable[str]) -> np.ndarray:
        """BM25 of every fiche (ids order) for a bag of terms; a term repeated counts again."""
        token_ids = [self.vocab[t] for t in terms if t in self.vocab]
        total = np.zeros(len(self.ids), np.float32)
        data, indices, indptr = self._scores["data"], self._scores["indices"], self._scores["indptr"]
        for token in token_ids:
            start, end = indptr[token], indptr[token + 1]
            total[indices[start:end]] += data[start:end]  # a column holds each fiche once
        return total

    def holders(self, term: str) -> np.ndarray:
        """Ids of the fiches that contain ``term``."""
        token = self.vocab.get(term)
        if token is None:
            return np.zeros(0, np.int64)
        indptr = self._scores["indptr"]
        return self.ids[self._scores["indices"][indptr[token]:indptr[token + 1]]]

    def containing(self, term: str, fiche_ids) -> set[int]:
        """The fiches among ``fiche_ids`` that contain ``term`` (FTS5 would scan its whole
        posting list for each query term: 9 ms a term at 10,000 fiches)."""
        token = self.vocab.get(term)
        if token is None:
            return set()
        indptr = self._scores["indptr"]
        has = np.zeros(len(self.ids), bool)
        has[self._scores["indices"][indptr[token]:indptr[token + 1]]] = True
        at = self.positions(fiche_ids)  # of the known ids only
        return set(self.ids[at[has[at]]].tolist())

    def document_frequency(self, term: str) -> int:
        token = self.vocab.get(term)
        if token is None:
            return 0
        return int(self._scores["indptr"][token + 1] - self._scores["indptr"][token])

    def positions(self, fiche_ids: Iterable[int]) -> np.ndarray:
        """Positions of known fiche ids (unknown ids are left out)."""
        wanted = np.fromiter(fiche_ids, np.int64)
        at = np.searchsorted(self.ids, wanted)
        at = np.clip(at, 0, max(len(self.ids) - 1, 0))
        return at[(len(self.ids) > 0) & (self.ids[at] == wanted)] if len(self.ids) else at[:0]

    def top(self, scores: np.ndarray, ids: list[int] | None, limit: int) -> list[tuple[int, float]]:
        """The best (fiche id, score) pairs with a positive score, within ``ids`` (None: all)."""
        if ids is not None:
            mask = np.zeros(len(scores), bool)
            mask[self.positions(ids)] = True
            scores = np.where(mask, scores, 0)
        positive = np.flatnonzero(scores > 0)
        if len(positive) > limit:
            positive = positive[np.argpartition(-scores[positive], limit - 1)[:limit]]
        order = positive[np.lexsort((self.ids[positive], -scores[positive]))]
        return [(int(self.ids[p]), float(scores[p])) for p in order]
