"""The lexical scorer: BM25 (bm25s, its Lucene variant, k1 = 1.5, b = 0.75) over the analysed
French terms of each fiche (kb.textnorm: the same terms as the FTS5 index) and over its words
as written (folded, not stemmed), the title, résumé and keywords weighted by repetition. A
query scores its stems plus, at :data:`EXACT_WEIGHT`, its exact words: « participatif » ranks
a fiche that says « participatif » above one that only says « participants » (same stem).

Why not FTS5's own ``bm25()``: it fixes k1 at 1.2, gives terms found in more than half of the
documents an idf of about zero, and scores every fiche that contains a query word row by row.
bm25s precomputes each (term, fiche) score in a sparse matrix, so a query sums a few columns:
a few milliseconds at 100,000 fiches. Measured with ``kb eval`` and
``python -m bench.lexical_reference`` (README, « Classement lexical »). FTS5 stays the index of
phrases (multi-word thesaurus expansions), snippets and matching.

``kb build`` stores the matrix in the catalog (table ``lexical_blob``); a catalog built without
the ``search`` extra has none, and :meth:`LexicalIndex.from_catalog` then computes it on open.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable

import numpy as np

from kb.textnorm import exact_words

# repetitions of each FTS column (kb.catalog_writer.FTS_COLUMNS order): title, résumé, keywords, body
FIELD_REPEATS = (3, 2, 2, 1)
K1, B = 1.5, 0.75
ARRAYS = ("ids", "data", "indices", "indptr")
# the analysed terms of each field, then the same fields as written (for the exact words)
SELECT_TERMS = ("SELECT id, titre_terms, resume_terms, mots_cles_terms, body_terms, "
                "titre, resume, mots_cles || ' ' || dispositifs, body FROM fiches ORDER BY id")
EXACT = "="  # prefix of an exact word's token: stems are [a-z0-9] only, never confused with it
# weight of the exact words typed beside their stems: measured with kb eval over 0 to 1 (README,
# « Classement lexical »), 0.5 best on the bank and CNIL, and better than 0 on crpa too
EXACT_WEIGHT = 0.5


def exact_tokens(words: Iterable[str]) -> list[str]:
    return [EXACT + w for w in words]


def fiche_tokens(columns: Iterable[str | None]) -> list[str]:
    """A fiche's tokens as BM25 sees them: each field's terms, then its exact words, each field
    repeated by its weight (``columns``: the four analysed fields, then the four as written)."""
    columns = list(columns)
    tokens: list[str] = []
    for text, repeat in zip(columns[:4], FIELD_REPEATS):
        tokens += (text or "").split() * repeat
    for text, repeat in zip(columns[4:], FIELD_REPEATS):
        tokens += exact_tokens(exact_words(text or "")) * repeat
    return tokens


def bm25s_module():
    """bm25s (the ``search`` extra); ImportError in the core install."""
    import bm25s

    return bm25s


class LexicalIndex:
    """BM25 scores of every (term, fiche), fiche ids in ascending order."""

    def __init__(self, ids: np.ndarray, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                 vocab: dict[str, int]):
        self.ids = ids
        self.vocab = vocab
        self._scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": len(ids)}

    # -- making and storing ---------------------------------------------------------------------

    @classmethod
    def build(cls, rows: Iterable[tuple]) -> "LexicalIndex":
        """From (id, title terms, résumé terms, keyword terms, body terms) rows, ids ascending."""
        bm25s = bm25s_module()
        ids, corpus = [], []
        for row in rows:
            ids.append(row[0])
            corpus.append(fiche_tokens(row[1:]))
        if not ids:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int32),
                       np.zeros(1, np.int32), {})
        retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
        retriever.index(corpus, show_progress=False)
        s = retriever.scores
        return cls(np.asarray(ids, np.int64), s["data"], s["indices"], s["indptr"], dict(retriever.vocab_dict))

    @classmethod
    def from_catalog(cls, db) -> "LexicalIndex":
        """The stored index of a catalog, or one computed from its fiches when it has none."""
        blobs = dict(db.execute("SELECT name, data FROM lexical_blob").fetchall())
        if not blobs:
            return cls.build(db.execute(SELECT_TERMS))
        arrays = {name: np.load(io.BytesIO(blobs[name]), allow_pickle=False) for name in ARRAYS}
        return cls(**arrays, vocab=json.loads(blobs["vocab"]))

    def to_blobs(self) -> dict[str, bytes]:
        out = {}
        for name, array in zip(ARRAYS, (self.ids, self._scores["data"], self._scores["indices"],
                                        self._scores["indptr"])):
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            out[name] = buffer.getvalue()
        out["vocab"] = json.dumps(self.vocab, ensure_ascii=False).encode()
        return out

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
