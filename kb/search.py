"""Hybrid search over the catalog: the Python API shared by the CLI and the application.

    engine = Engine.open(settings)
    engine.search("aider les seniors", Filters(publics=["seniors"]), limit=10)
    engine.similar("bus-numerique-itinerant", limit=5)
    engine.facets(Filters(...)); engine.get("slug")

Ranking: the lexical ranking is FTS5 BM25 over French-analyzed text with thesaurus expansion;
the dense ranking is FAISS over chunk embeddings (a fiche scores as its best chunk); the two are
fused by weighted reciprocal rank fusion, ``(1 - w) / (k + rank_lexical) + w / (k + rank_dense)``.
Each candidate is then counted as answering the query or not (kb.relevance). This ranking and
decision are made once per query, without filters, and cached; facet filters become an SQL
query whose ids select among the counted fiches.
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field

import numpy as np

from kb.catalog import Catalog, CatalogError, Filters, file_identity
from kb.chunking import plain
from kb.embed import init_query_thread
from kb.relevance import Cutoff, Evidence, coverage, idf
from kb.settings import Settings
from kb.textnorm import analyze, term, words
from kb.thesaurus import load_thesaurus

MODES = ("hybrid", "lexical", "dense")
MAX_QUERY_TERMS = 64
MAX_QUERY_CHARS = 2000
SNIPPET_WORDS = 40
OTHERS_SHOWN = 5  # weaker matches listed apart from the counted ones
LEXICAL_CANDIDATES = 1000
RANKING_CACHE = 64  # queries whose ranking is kept (facet counts and pages reuse it)


class IndexMismatch(CatalogError):
    """The index was built with another embedding model than the one configured."""


@dataclass
class Hit:
    slug: str
    titre: str
    score: float
    fiche: dict
    snippet: str = ""
    snippet_section: str = ""
    highlights: list[tuple[int, int]] = field(default_factory=list)
    lexical_rank: int | None = None
    dense_rank: int | None = None
    counted: bool = True  # answers the query (kb.relevance); False: a weaker, uncounted match
    evidence: Evidence | None = None

    def to_dict(self) -> dict:
        f = self.fiche
        return {
            "slug": self.slug, "titre": self.titre, "score": round(self.score, 6),
            "territoire": f.get("territoire_nom"), "type": f.get("type"), "departements": f.get("departements"),
            "statut": f.get("statut"), "resume": f.get("resume"), "snippet": self.snippet,
            "snippet_section": self.snippet_section, "highlights": self.highlights,
            "lexical_rank": self.lexical_rank, "dense_rank": self.dense_rank, "counted": self.counted,
            "evidence": None if self.evidence is None else {
                k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self.evidence).items()},
        }


@dataclass
class Results:
    query: str
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]]
    expansions: list[str] = field(default_factory=list)
    mode: str = "hybrid"
    # weaker matches, never counted: shown apart (« Autres fiches proches »)
    others: list[Hit] = field(default_factory=list)
    # spelling: the corrected query proposed, and the query typed when the results are the
    # corrected query's (the typed one counted nothing)
    suggestion: str | None = None
    corrected_from: str | None = None

    def to_dict(self) -> dict:
        return {"query": self.query, "mode": self.mode, "total": self.total, "expansions": self.expansions,
                "suggestion": self.suggestion, "corrected_from": self.corrected_from,
                "hits": [h.to_dict() for h in self.hits], "others": [h.to_dict() for h in self.others],
                "facets": self.facets}


@dataclass
class Ranking:
    """One query's unfiltered ranking and relevance decision, shared by every filter, page and
    facet count of that query (cached by the engine)."""

    order: list[int]  # every candidate, best first
    scores: dict[int, float]
    counted: set[int]
    evidence: dict[int, Evidence]
    lexical_rank: dict[int, int]
    dense_rank: dict[int, int]
    best_chunk: dict[int, int]


@dataclass
class ParsedQuery:
    text: str
    terms: list[str]
    expansions: list[tuple[str, ...]]
    expansion_labels: list[str]
    # document frequencies of the terms and one-word expansions, read once (Engine._frequencies)
    frequencies: dict[str, int] | None = None

    def fts(self, skip: set[str] = frozenset(), terms: bool = True, expansions: bool = True) -> str | None:
        """An FTS5 expression: every term and expansion quoted (a query is data, never syntax),
        without the terms in ``skip``."""
        # a phrase is rarer than each of its words: only one-word expansions can be skipped
        return fts_any([t for t in dict.fromkeys(self.terms) if t not in skip] if terms else [],
                       [e for e in self.expansions if not (len(e) == 1 and e[0] in skip)] if expansions else [])

    @property
    def all_terms(self) -> set[str]:
        return set(self.terms) | {t for e in self.expansions for t in e}

    def dense_text(self) -> str:
        if not self.expansion_labels:
            return self.text
        return f"{self.text} ({', '.join(self.expansion_labels)})"


def fts_any(terms=(), phrases=()) -> str | None:
    """An FTS5 expression matching any of ``terms`` or ``phrases`` (tuples of terms), each
    quoted; None when there is nothing to match."""
    parts = [f'"{t}"' for t in terms] + ['"' + " ".join(p) + '"' for p in phrases]
    return " OR ".join(parts) or None


def agreeing_weight(lexical: list[int], dense: list[int], weight: float, depth: int) -> float:
    """The dense ranking's weight for one query: ``weight`` when its best fiche is among the
    ``depth`` best lexical ones (the two lists agree on what the query is about), 0 otherwise:
    a dense list that disagrees with every good lexical match mostly brings noise (measured on
    the bank, CNIL and crpa, see the README). ``depth`` 0, an empty list or a weight of 0 or 1
    leave ``weight`` as it is."""
    if depth <= 0 or not lexical or not dense or weight in (0.0, 1.0):
        return weight
    return weight if dense[0] in lexical[:depth] else 0.0


def rank_counted_first(scores: dict[int, float], counted: set[int], after=()) -> dict[int, float]:
    """The fused scores in page order: the counted fiches first (a weaker match never sits
    between two that answer the query), then the others, best first within each. The fiches
    the fusion left out score 0, in the order given: the counted ones, and ``after`` (the dense
    ranking a query's disagreement left out of the fusion)."""
    scores = {**scores, **{d: 0.0 for d in [*counted, *after] if d not in scores}}
    return dict(sorted(scores.items(), key=lambda item: (item[0] not in counted, -item[1])))


def weighted_rrf(lexical: list[int], dense: list[int], weight: float, k: int = 60) -> dict[int, float]:
    """Fuse two rankings (ids, best first): ``(1-w)/(k+r_lex) + w/(k+r_dense)``, ranks from 1."""
    scores: dict[int, float] = {}
    for ranking, share in ((lexical, 1.0 - weight), (dense, weight)):
        if share <= 0:
            continue  # a ranking with no weight brings no candidates either
        for rank, doc in enumerate(ranking, 1):
            scores[doc] = scores.get(doc, 0.0) + share / (k + rank)
    return scores


class Engine:
    """Search over one built catalog; the model and the vector index load on first need."""

    def __init__(self, settings: Settings, catalog: Catalog, embedder=None):
        from kb.embed import Embedder

        self.settings = settings
        self.catalog = catalog
        self.embedder = embedder or Embedder.from_settings(settings)
        self.thesaurus = load_thesaurus(settings.thesaurus_path)
        self.cutoff = Cutoff.from_settings(settings)
        self._vectors = None
        self._lock = threading.RLock()
        self._rankings: OrderedDict = OrderedDict()
        # query encoding runs here, beside the lexical ranking (onnxruntime, torch and SQLite
        # all release the GIL); two workers also bound the encodings a busy server runs at once
        self._encoder = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="kb-encode",
                                                              initializer=self._init_encoding_thread)
        self._build_id = catalog.build_id()
        self._file_seen = file_identity(catalog.path)
        self._check_model()
        self._use_recorded_export()

    @classmethod
    def open(cls, settings: Settings, embedder=None) -> "Engine":
        return cls(settings, Catalog(settings.catalog_path), embedder)

    def _check_model(self) -> None:
        built_with = self.catalog.meta.get("model_key")
        if built_with and built_with != self.embedder.key:
            built = json.loads(built_with)
            wanted = json.loads(self.embedder.key)
            raise IndexMismatch(
                f"l'index {self.catalog.path} a été construit avec le modèle « {built['model']} » "
                f"(prompts {built['query_prompt']!r}/{built['passage_prompt']!r}), mais les réglages demandent "
                f"« {wanted['model']} » (prompts {wanted['query_prompt']!r}/{wanted['passage_prompt']!r}): "
                "reconstruisez l'index avec « kb build »."
            )

    def _use_recorded_export(self) -> None:
        """Encode queries with the ONNX export the index records (one onnxruntime thread per
        encoding), else with sentence-transformers."""
        use_onnx = getattr(self.embedder, "use_onnx", None)
        if use_onnx is not None:
            from kb.onnx_encoder import recorded_export

            folder, reason = recorded_export(self.catalog.meta, self.catalog.path.parent, self.embedder.key)
            use_onnx(folder, threads=1, reason=reason)

    def _init_encoding_thread(self) -> None:
        if getattr(self.embedder, "uses_onnx", True) is False:
            init_query_thread()  # torch only when sentence-transformers encodes the queries

    def refresh(self) -> bool:
        """Reopen the catalog if a build has published a new one since; True when it did.

        Cheap when nothing changed (the application calls it on every page): a build replaces
        the file or commits into it, and either changes its identity (inode, size, mtime)."""
        identity = file_identity(self.catalog.path)
        if identity is not None and identity == self._file_seen:
            return False
        with self._lock:
            try:
                fresh = Catalog(self.catalog.path)
            except CatalogError:
                return False
            self._file_seen = identity
            if fresh.build_id() == self._build_id:
                fresh.close()
                return False
            self.catalog.close()
            self.catalog = fresh
            self._build_id = fresh.build_id()
            self._vectors = None
            self._check_model()
            self._use_recorded_export()
            return True

    # -- pieces ----------------------------------------------------------------------------------

    @property
    def vectors(self):
        with self._lock:
            if self._vectors is None:
                from kb.index import VectorIndex

                self._vectors = VectorIndex.from_catalog(self.catalog.db, self.catalog.meta)
            return self._vectors

    def parse_query(self, text: str) -> ParsedQuery:
        text = " ".join(str(text or "").split())[:MAX_QUERY_CHARS]
        terms = analyze(text)
        unique = list(dict.fromkeys(terms))[:MAX_QUERY_TERMS]
        expansions, labels = self.thesaurus.expand(terms)
        return ParsedQuery(text, unique, expansions[:MAX_QUERY_TERMS], labels[:MAX_QUERY_TERMS])

    def lexical_ranking(self, query: ParsedQuery, ids: list[int] | None, limit: int) -> list[tuple[int, float]]:
        """BM25 over the query's terms and thesaurus expansions; a fiche that matches only
        expansions, none of the words typed, scores ``expansion_weight`` of its BM25."""
        return self._lexical(query, ids, limit)[0]

    def _lexical(self, query: ParsedQuery, ids: list[int] | None, limit: int):
        """(the lexical ranking, relative scores): a fiche's BM25 over the words typed alone,
        divided by the best such score, or for a fiche matching only expansions
        ``expansion_weight`` times its BM25 over the whole query divided by the best one
        (expansions, often frequent words, would otherwise set the scale). A typed word that
        no fiche contains is replaced by its expansions, which then count in full."""
        skip = self._ubiquitous(query)
        expression = query.fts(skip)
        if not expression:
            return [], {}
        ranked = self.catalog.lexical(expression, ids, limit)
        if not query.expansions:
            best = ranked[0][1] if ranked else 0.0
            return ranked, {d: (score / best if best > 0 else 0.0) for d, score in ranked}
        # the words typed, an unknown word replaced by the expansions that stand in for it
        own_words = fts_any([t for t in dict.fromkeys(query.terms) if t not in skip], self._stand_ins(query))
        # every typed word too common to search: the expansions are all there is
        own = dict(self.catalog.lexical(own_words, ids, limit)) if own_words else dict(ranked)
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

    def _frequencies(self, query: ParsedQuery) -> dict[str, int]:
        """Number of fiches containing each term and one-word expansion of the query, read
        from the catalog once per query."""
        if query.frequencies is None:
            terms = set(query.terms) | {e[0] for e in query.expansions if len(e) == 1}
            query.frequencies = self.catalog.document_frequencies(sorted(terms))
        return query.frequencies

    def _stand_ins(self, query: ParsedQuery) -> list[tuple[str, ...]]:
        """Expansions of the query words that no fiche contains: they count as those words."""
        frequencies = self._frequencies(query)
        unknown = {t for t in query.terms if not frequencies.get(t)}
        return self.thesaurus.stand_ins(query.terms, unknown) if unknown else []

    def _ubiquitous(self, query: ParsedQuery) -> set[str]:
        """Terms found in more than half of the fiches. FTS5's BM25 gives them a weight of about
        zero (its idf is clamped there), so leaving them out of the match keeps the ranking and
        spares scoring almost every fiche of a large bank. Kept when nothing else is asked."""
        terms = set(query.terms) | {e[0] for e in query.expansions if len(e) == 1}
        frequencies = self._frequencies(query)
        half = self._fiche_count() / 2
        common = {t for t, n in frequencies.items() if n > half}
        return common if common != terms else set()

    def _fiche_count(self) -> int:
        if getattr(self, "_count_for", None) != self._build_id:
            self._count, self._count_for = self.catalog.count(), self._build_id
        return self._count

    def query_vector(self, query: ParsedQuery):
        """The query's embedding, or None for an empty query. Thread-safe and outside the
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

    # -- API -------------------------------------------------------------------------------------

    def search(self, query: str = "", filters: Filters | None = None, limit: int = 10, offset: int = 0,
               mode: str = "hybrid", sort: str = "relevance", dense_weight: float | None = None,
               correct: bool = True) -> Results:
        """The fiches that answer ``query`` within ``filters`` (``total`` counts them all,
        whatever ``limit`` and ``offset``), then up to OTHERS_SHOWN weaker matches apart.

        ``correct``: when the query has words the bank does not know, propose a correction
        (``suggestion``); when the correction counts more fiches than the query typed, return
        the correction's results (``corrected_from`` holds the query as typed)."""
        if mode not in MODES:
            raise ValueError(f"mode inconnu « {mode} » ({', '.join(MODES)})")
        filters = filters or Filters()
        weight = self.fusion_weight(mode, dense_weight)
        limit, offset = max(0, int(limit)), max(0, int(offset))
        parsed = self.parse_query(query)
        if not parsed.text:
            with self._lock:
                ids = None if filters.is_empty() else self.catalog.ids(filters)
                return self._browse(parsed, filters, ids, limit, offset, mode)
        ranking = self.ranking(parsed, mode, weight)
        suggestion = self._suggest(parsed) if correct else None
        if suggestion:
            # the corrected query answers better than the typed one: show its results, and say so
            better = self.ranking(self.parse_query(suggestion), mode, weight)
            if len(better.counted) > len(ranking.counted):
                corrected = self.search(suggestion, filters, limit, offset, mode, sort, dense_weight, correct=False)
                corrected.suggestion, corrected.corrected_from = suggestion, parsed.text
                return corrected
        with self._lock:
            allowed = None if filters.is_empty() else set(self.catalog.ids(filters))
            inside = ranking.order if allowed is None else [d for d in ranking.order if d in allowed]
            counted = [d for d in inside if d in ranking.counted]
            # weaker matches share at least a word (or an expansion) with the query: a list of
            # fiches with nothing in common but a low similarity would be noise
            others = [d for d in inside if d not in ranking.counted and d in ranking.lexical_rank][:OTHERS_SHOWN]
            if sort == "date":
                dates = dict(self.catalog.db.execute(
                    "SELECT id, mise_a_jour FROM fiches WHERE id IN (SELECT value FROM json_each(?))",
                    [json.dumps(counted)]).fetchall())
                counted.sort(key=lambda d: dates[d], reverse=True)
            page = counted[offset:offset + limit]
            hits = self._hits(page, ranking, parsed)
            weaker = self._hits(others if offset + limit >= len(counted) else [], ranking, parsed)
            return Results(parsed.text, hits, len(counted), self.catalog.facet_counts(counted),
                           parsed.expansion_labels, mode, others=weaker, suggestion=suggestion)

    def _hits(self, page: list[int], ranking: Ranking, parsed: ParsedQuery) -> list[Hit]:
        fiches = self.catalog.fiches(page)
        hits = []
        for doc in page:
            fiche = fiches[doc]
            hit = Hit(fiche["slug"], fiche["titre"], ranking.scores[doc], fiche,
                      lexical_rank=ranking.lexical_rank.get(doc), dense_rank=ranking.dense_rank.get(doc),
                      counted=doc in ranking.counted, evidence=ranking.evidence.get(doc))
            self._snippet(hit, doc, parsed, ranking.best_chunk.get(doc))
            hits.append(hit)
        return hits

    def fusion_weight(self, mode: str, dense_weight: float | None = None) -> float:
        """The dense ranking's weight in the fusion: 0 lexical, 1 dense, else the one given or set."""
        weight = self.settings.dense_weight if dense_weight is None else dense_weight
        return {"lexical": 0.0, "dense": 1.0}.get(mode, weight)

    def ranking(self, parsed: ParsedQuery, mode: str = "hybrid", weight: float | None = None) -> Ranking:
        """The unfiltered ranking of a query and its relevance decision, cached per build."""
        weight = self.settings.dense_weight if weight is None else weight
        key = (parsed.text, mode, weight, self._build_id)
        with self._lock:
            if key in self._rankings:
                self._rankings.move_to_end(key)
                return self._rankings[key]
        encoding = self._encoder.submit(self.query_vector, parsed) if weight > 0 or mode != "lexical" else None
        with self._lock:
            ranking = self._rank(parsed, weight, encoding, mode)
            self._rankings[key] = ranking
            while len(self._rankings) > RANKING_CACHE:
                self._rankings.popitem(last=False)
            return ranking

    def _rank(self, parsed: ParsedQuery, weight: float, encoding, mode: str) -> Ranking:
        lexical, relative = self._lexical(parsed, None, LEXICAL_CANDIDATES)
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

    def suggest(self, text: str) -> str | None:
        """The query with the words the bank does not know corrected (kb.spelling), or None."""
        return self._suggest(self.parse_query(text))

    def _suggest(self, query: ParsedQuery) -> str | None:
        with self._lock:
            frequencies = self._frequencies(query)
            thesaurus = self.thesaurus.terms

            def known(stem: str) -> bool:
                return bool(frequencies.get(stem)) or stem in thesaurus

            if all(known(t) for t in query.terms):
                return None
            if getattr(self, "_speller_for", None) != self._build_id:
                from kb.spelling import Speller

                rows = self.catalog.db.execute("SELECT titre, resume, mots_cles FROM fiches")
                self._speller = Speller(" ".join(r) for r in rows)
                self._speller_for = self._build_id
            suggestion = self._speller.correct(query.text, known)
        return suggestion if suggestion and suggestion != query.text else None

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
        fiche_count = self._fiche_count()
        frequencies = self._frequencies(parsed)
        weights = {t: idf(frequencies.get(t, 0), fiche_count) for t in parsed.terms}
        candidates = sorted(set(wordy) | set(similarity))
        contains = {t: self.catalog.matching(f'"{t}"', candidates) for t in parsed.terms}
        stand_ins = self._stand_ins(parsed) if parsed.expansions else []
        if stand_ins:  # a fiche with the expansion of a word no fiche contains has that word
            standing = self.catalog.matching(fts_any(phrases=stand_ins), candidates)
            unknown = [t for t in parsed.terms if not frequencies.get(t)]
            for t in unknown:
                contains[t] = contains[t] | standing
        expansion = parsed.fts(terms=False)
        by_expansion = self.catalog.matching(expansion, candidates) if expansion else set()
        evidence = {}
        for d in candidates:
            matched = {t for t in parsed.terms if d in contains.get(t, ())}
            share, mass = coverage(weights, matched, d in by_expansion, cutoff.expansion_weight)
            evidence[d] = Evidence(share, mass, d in by_expansion, relative.get(d, 0.0),
                                   similarity.get(d) if vector is not None else None, lists_agree)
        return evidence

    def _browse(self, parsed, filters, ids, limit, offset, mode) -> Results:
        order = self.catalog.browse(filters)
        page = order[offset:offset + limit]
        fiches = self.catalog.fiches(page)
        hits = [Hit(fiches[d]["slug"], fiches[d]["titre"], 0.0, fiches[d], snippet=fiches[d]["resume"])
                for d in page]
        return Results("", hits, len(order), self.catalog.facet_counts(order if ids is not None else None), [], mode)

    def similar(self, slug: str, filters: Filters | None = None, limit: int = 5,
                dense_weight: float | None = None) -> list[Hit]:
        """Fiches closest in content to ``slug`` (never itself), optionally within filters: the
        fiche's mean passage vector and its title, summary and keywords as a query, fused with
        ``similar_dense_weight`` (measured by ``kb eval --similar``)."""
        weight = self.settings.similar_dense_weight if dense_weight is None else dense_weight
        with self._lock:
            fiche_id = self.catalog.id_of(slug)
            if fiche_id is None:
                raise KeyError(slug)
            fiche = self.catalog.fiches([fiche_id])[fiche_id]
            ids = None if filters is None or filters.is_empty() else self.catalog.ids(filters)
            if ids is not None:
                ids = [i for i in ids if i != fiche_id]
            wanted = limit + 1
            dense = []
            vectors = self.vectors.vectors_of(fiche_id)
            if len(vectors):
                centroid = vectors.mean(axis=0)
                centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
                dense = [d for d, _, _ in self.vectors.rank_fiches(centroid, wanted + 5, ids) if d != fiche_id]
            about = " ".join([fiche["titre"], fiche["resume"], " ".join(fiche["mots_cles"])])
            lexical = [d for d, _ in self.lexical_ranking(self.parse_query(about), ids, wanted + 50) if d != fiche_id]
            fused = weighted_rrf(lexical, dense, weight, self.settings.rrf_k)
            order = sorted(fused, key=lambda d: -fused[d])[:limit]
            fiches = self.catalog.fiches(order)
            return [Hit(fiches[d]["slug"], fiches[d]["titre"], fused[d], fiches[d], snippet=fiches[d]["resume"])
                    for d in order]

    def facets(self, filters: Filters | None = None) -> dict[str, dict[str, int]]:
        with self._lock:
            ids = None if filters is None or filters.is_empty() else self.catalog.ids(filters)
            return self.catalog.facet_counts(ids)

    def get(self, slug: str) -> dict | None:
        with self._lock:
            return self.catalog.get(slug)

    def count(self) -> int:
        with self._lock:
            return self.catalog.count()

    # -- snippets --------------------------------------------------------------------------------

    def _snippet(self, hit: Hit, fiche_id: int, query: ParsedQuery, dense_chunk: int | None) -> None:
        """The passage that explains the match: the chunk with most query terms (the best dense
        chunk on ties), cut around its densest run of matches, with the matched words marked."""
        wanted = query.all_terms
        best = None
        for chunk_id, _, section, text in self.catalog.chunks([fiche_id]):
            body = text.split(f" — {section}: ", 1)[-1] if section else text
            matched = len(chunk_terms(body) & wanted)
            key = (matched, chunk_id == dense_chunk, -chunk_id)
            if best is None or key > best[0]:
                best = (key, section, body)
        if best is None:
            hit.snippet = hit.fiche.get("resume", "")
            return
        _, section, body = best
        hit.snippet_section = section
        hit.snippet, hit.highlights = cut_snippet(body, wanted)


@functools.lru_cache(maxsize=50_000)
def chunk_terms(text: str) -> frozenset[str]:
    """The search terms of a passage (cached: the same passages come back query after query)."""
    return frozenset(analyze(text))


@functools.lru_cache(maxsize=200_000)
def token_terms(token: str) -> tuple[str, ...]:
    """The search terms of one whitespace-separated token (« l'école, » → ("ecol",))."""
    return tuple(t for t in map(term, words(token)) if t)


def cut_snippet(text: str, wanted: set[str], size: int = SNIPPET_WORDS) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``size`` words around the most matches, and the (start, end) of matched words."""
    tokens = plain(text).split(" ")
    flags = [not wanted.isdisjoint(token_terms(token)) for token in tokens]
    start = 0
    if len(tokens) > size:
        counts = np.convolve(np.array(flags, dtype=int), np.ones(size, dtype=int), mode="valid")
        if counts.max() > 0:
            best = int(np.argmax(counts))
            first_match = best + flags[best:best + size].index(True)
            # the densest window, shifted so that its first match has some context before it
            start = max(0, min(first_match - size // 4, len(tokens) - size))
    window = tokens[start:start + size]
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + size < len(tokens) else ""
    snippet = prefix
    highlights = []
    for token, flag in zip(window, flags[start:start + size]):
        if snippet and not snippet.endswith(" "):
            snippet += " "
        if flag:
            highlights.append((len(snippet), len(snippet) + len(token)))
        snippet += token
    return snippet + suffix, highlights

