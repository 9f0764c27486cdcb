"""How one query is ranked over one catalog build: the lexical ranking (BM25, kb.lexical, over
the query's terms and thesaurus expansions), the dense ranking (the vector index), their fusion
(kb.fusion) and the relevance decision of each candidate (kb.relevance).

:class:`kb.search.Engine` makes one :class:`Ranker` per catalog it opens, calls it under its
lock, and caches the :class:`~kb.results.Ranking` it gives.
"""

from __future__ import annotations

import threading

from kb.catalog import Catalog, CatalogError
from kb.fusion import agreeing_weight, rank_counted_first, weighted_rrf
from kb.query import ParsedQuery, fts_any
from kb.relevance import Cutoff, Evidence, coverage, idf
from kb.results import Ranking
from kb.settings import Settings

LEXICAL_CANDIDATES = 1000
PHRASES_KEPT = 4096


class IndexMismatch(CatalogError):
    """The index was built with another embedding model than the one configured."""


class Ranker:
    """The rankings of queries over one catalog; the vector index loads on first need."""

    def __init__(self, catalog: Catalog, settings: Settings, embedder, thesaurus, cutoff: Cutoff):
        self.catalog = catalog
        self.settings = settings
        self.embedder = embedder
        self.thesaurus = thesaurus
        self.cutoff = cutoff
        self._vectors = None
        self._load_lock = threading.Lock()
        self._lexical = None
        self._phrases: dict[tuple[str, ...], object] = {}  # thesaurus phrase → ids of the fiches with it
        self._count: int | None = None

    @property
    def vectors(self):
        with self._load_lock:
            if self._vectors is None:
                import numpy as np

                from kb.index import VectorIndex

                if self.catalog.has_vectors:
                    self._vectors = VectorIndex.from_catalog(self.catalog.db, self.catalog.meta)
                else:  # built without the vectors extra: an empty index, words alone rank
                    self._vectors = VectorIndex.flat(np.zeros(0), np.zeros(0), np.zeros((0, 1), dtype="float32"))
            return self._vectors

    @property
    def lexical_index(self):
        """The BM25 matrix of the catalog (kb.lexical), read on first need."""
        with self._load_lock:
            if self._lexical is None:
                from kb.lexical import LexicalIndex

                self._lexical = LexicalIndex.from_catalog(self.catalog.db)
            return self._lexical

    def lexical_ranking(self, query: ParsedQuery, ids: list[int] | None, limit: int) -> list[tuple[int, float]]:
        """BM25 over the query's terms and thesaurus expansions; a fiche that matches only
        expansions, none of the words typed, scores ``expansion_weight`` of its BM25."""
        return self.lexical(query, ids, limit)[0]

    def lexical(self, query: ParsedQuery, ids: list[int] | None, limit: int):
        """(the lexical ranking, relative scores): a fiche's BM25 over the words typed alone,
        divided by the best such score, or for a fiche matching only expansions
        ``expansion_weight`` times its BM25 over the whole query divided by the best one
        (expansions, often frequent words, would otherwise set the scale). A typed word that
        no fiche contains is replaced by its expansions, which then count in full."""
        if not query.terms and not query.expansions:
            return [], {}
        index = self.lexical_index
        ranked = index.top(self._bm25(query.terms, query.expansions, query.exact), ids, limit)
        if not query.expansions:
            best = ranked[0][1] if ranked else 0.0
            return ranked, {d: (score / best if best > 0 else 0.0) for d, score in ranked}
        # the words typed, an unknown word replaced by the expansions that stand in for it
        own = dict(index.top(self._bm25(query.terms, self._stand_ins(query), query.exact), ids, limit))
        best_own = max(own.values(), default=0.0)
        weight = self.cutoff.expansion_weight
        best_all = ranked[0][1] if ranked else 0.0
        relative = {}
        for d, score in ranked:
            if d in own:
                relative[d] = own[d] / best_own if best_own > 0 else 0.0
            else:
                relative[d] = weight * score / best_all if best_all > 0 else 0.0
        if weight < 1:
            ranked = sorted(((d, score if d in own else score * weight) for d, score in ranked),
                            key=lambda pair: -pair[1])
        return ranked, relative

    def _bm25(self, terms: list[str], phrases: list[tuple[str, ...]], exact: list[str] = ()):
        """BM25 of every fiche for ``terms``, ``phrases`` (expansions: a phrase of several words
        scores its words in the fiches that contain it as a phrase, FTS5 knows which) and, with
        the weight :data:`kb.lexical.EXACT_WEIGHT`, the ``exact`` words typed."""
        import numpy as np

        from kb.lexical import EXACT_WEIGHT, exact_tokens

        index = self.lexical_index
        words = list(dict.fromkeys([*terms, *(p[0] for p in phrases if len(p) == 1)]))
        scores = index.scores(words)
        if EXACT_WEIGHT and exact:
            scores += EXACT_WEIGHT * index.scores(exact_tokens(exact))
        for phrase in dict.fromkeys(p for p in phrases if len(p) > 1):
            holders = self._holders(phrase)
            if len(holders):
                inside = np.zeros(len(index), bool)
                inside[index.positions(holders)] = True
                scores += np.where(inside, index.scores(phrase), 0)
        return scores

    def _holders(self, expansion: tuple[str, ...]):
        """Ids of the fiches that contain an expansion: a word (the lexical index) or a phrase
        (FTS5, which knows word positions; kept, as thesaurus phrases recur across queries and
        FTS5 takes about 40 ms for one at 10,000 fiches)."""
        if len(expansion) == 1:
            return self.lexical_index.holders(expansion[0])
        with self._load_lock:
            found = self._phrases.get(expansion)
        if found is None:
            import numpy as np

            found = np.array(sorted(self.catalog.matching(fts_any(phrases=[expansion]), None)), np.int64)
            with self._load_lock:
                if len(self._phrases) >= PHRASES_KEPT:
                    self._phrases.clear()
                self._phrases[expansion] = found
        return found

    def _having(self, expansions: list[tuple[str, ...]], candidates: list[int]) -> set[int]:
        """The ``candidates`` that contain one of ``expansions``."""
        wanted = set(candidates)
        return {int(d) for e in dict.fromkeys(expansions) for d in self._holders(e) if int(d) in wanted}

    def frequencies(self, query: ParsedQuery) -> dict[str, int]:
        """Number of fiches containing each term and one-word expansion of the query (read
        once per query)."""
        if query.frequencies is None:
            index = self.lexical_index
            query.frequencies = {t: n for t in sorted(query.single_terms) if (n := index.document_frequency(t))}
        return query.frequencies

    def _stand_ins(self, query: ParsedQuery) -> list[tuple[str, ...]]:
        """Expansions of the query words that no fiche contains: they count as those words."""
        frequencies = self.frequencies(query)
        unknown = {t for t in query.terms if not frequencies.get(t)}
        return self.thesaurus.stand_ins(query.terms, unknown) if unknown else []

    def fiche_count(self) -> int:
        """The number of fiches of the catalog (read once)."""
        if self._count is None:
            self._count = self.catalog.count()
        return self._count

    def query_vector(self, query: ParsedQuery):
        """The query's embedding, or None for an empty query. Thread-safe and called outside the
        engine's lock, so that other searches use the catalog while the model encodes."""
        if not query.text.strip():
            return None
        return self.embedder.encode_queries([query.dense_text()])[0]

    def dense_ranking(self, query: ParsedQuery, ids: list[int] | None, limit: int, vector=None):
        if not query.text.strip() or not len(self.vectors):
            return []
        if vector is None:
            vector = self.query_vector(query)
        if len(vector) != self.vectors.dimension:
            raise IndexMismatch(f"les vecteurs de l'index ont {self.vectors.dimension} dimensions, ceux du modèle "
                                f"{len(vector)}: reconstruisez l'index avec « kb build ».")
        return self.vectors.rank_fiches(vector, limit, ids)

    def rank(self, parsed: ParsedQuery, weight: float, encoding) -> Ranking:
        """The ranking of a query with the dense ranking's ``weight`` in the fusion, and the
        relevance decision. ``encoding``: the future of the query's embedding (None: lexical
        only), awaited once the lexical ranking, which runs meanwhile, is done."""
        lexical, relative = self.lexical(parsed, None, LEXICAL_CANDIDATES)
        vector = encoding.result() if encoding is not None else None
        dense = self._dense_candidates(parsed, vector) if vector is not None else []
        lex_ids = [d for d, _ in lexical]
        dense_ids = [d for d, _, _ in dense]
        agreed = agreeing_weight(lex_ids, dense_ids, weight, self.settings.agreement_depth)
        # a dense list that disagrees with the words counts nothing on its own
        evidence = self._evidence(parsed, relative, dense, vector, lists_agree=agreed == weight)
        counted = {d for d, e in evidence.items() if e.counted(self.cutoff)}
        scores = rank_counted_first(weighted_rrf(lex_ids, dense_ids, agreed, self.settings.rrf_k), counted,
                                    after=dense_ids if agreed != weight else ())
        order = list(scores)
        return Ranking(order, scores, counted, evidence, {d: r for r, d in enumerate(lex_ids, 1)},
                       {d: r for r, d in enumerate(dense_ids, 1)}, {d: c for d, _, c in dense})

    def _dense_candidates(self, parsed: ParsedQuery, vector) -> list[tuple[int, float, int]]:
        """The dense ranking, widened until it holds every fiche above the similarity floor
        (those are counted even without a word in common)."""
        limit = self.settings.dense_candidates
        while True:
            dense = self.dense_ranking(parsed, None, limit, vector)
            if len(dense) < limit or dense[-1][1] < self.cutoff.dense_floor:
                return dense
            limit *= 4

    def _evidence(self, parsed: ParsedQuery, relative: dict[int, float], dense, vector,
                  lists_agree: bool = True) -> dict[int, Evidence]:
        """The relevance evidence of the candidates that could be counted: good lexical
        matches (see kb.relevance) and the dense list."""
        cutoff = self.cutoff
        wordy = [d for d, r in relative.items() if r >= cutoff.lexical_min]
        similarity = {d: score for d, score, _ in dense}
        if vector is not None and len(self.vectors):
            missing = [d for d in wordy if d not in similarity]
            if missing:
                similarity.update({d: score for d, score, _ in self.vectors.rank_fiches(vector, len(missing), missing)})
        fiche_count = self.fiche_count()
        frequencies = self.frequencies(parsed)
        weights = {t: idf(frequencies.get(t, 0), fiche_count) for t in parsed.terms}
        candidates = sorted(set(wordy) | set(similarity))
        contains = {t: self.lexical_index.containing(t, candidates) for t in parsed.terms}
        stand_ins = self._stand_ins(parsed) if parsed.expansions else []
        if stand_ins:  # a fiche with the expansion of a word no fiche contains has that word
            standing = self._having(stand_ins, candidates)
            unknown = [t for t in parsed.terms if not frequencies.get(t)]
            for t in unknown:
                contains[t] = contains[t] | standing
        by_expansion = self._having(parsed.expansions, candidates)
        evidence = {}
        for d in candidates:
            matched = {t for t in parsed.terms if d in contains.get(t, ())}
            share, mass = coverage(weights, matched, d in by_expansion, cutoff.expansion_weight)
            evidence[d] = Evidence(share, mass, d in by_expansion, relative.get(d, 0.0),
                                   similarity.get(d) if vector is not None else None, lists_agree)
        return evidence
