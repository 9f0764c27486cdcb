"""Hybrid search over the catalog: the Python API shared by the CLI and the application.

    engine = Engine.open(settings)
    engine.search("aider les seniors", Filters(publics=["seniors"]), limit=10)
    engine.similar("bus-numerique-itinerant", limit=5)
    engine.facets(Filters(...)); engine.get("slug")

Ranking: facet filters become an SQL query whose ids restrict both rankings; the lexical
ranking is FTS5 BM25 over French-analyzed text with thesaurus expansion; the dense ranking is
FAISS over chunk embeddings (a fiche scores as its best chunk); the two are fused by weighted
reciprocal rank fusion, ``(1 - w) / (k + rank_lexical) + w / (k + rank_dense)``.
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import threading
from dataclasses import dataclass, field

import numpy as np

from kb.catalog import Catalog, CatalogError, Filters, file_identity
from kb.chunking import plain
from kb.embed import init_query_thread
from kb.settings import Settings
from kb.textnorm import analyze, term, words
from kb.thesaurus import load_thesaurus

MODES = ("hybrid", "lexical", "dense")
MAX_QUERY_TERMS = 64
MAX_QUERY_CHARS = 2000
SNIPPET_WORDS = 40


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

    def to_dict(self) -> dict:
        f = self.fiche
        return {
            "slug": self.slug, "titre": self.titre, "score": round(self.score, 6),
            "territoire": f.get("territoire_nom"), "type": f.get("type"), "departements": f.get("departements"),
            "statut": f.get("statut"), "resume": f.get("resume"), "snippet": self.snippet,
            "snippet_section": self.snippet_section, "highlights": self.highlights,
            "lexical_rank": self.lexical_rank, "dense_rank": self.dense_rank,
        }


@dataclass
class Results:
    query: str
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]]
    expansions: list[str] = field(default_factory=list)
    mode: str = "hybrid"

    def to_dict(self) -> dict:
        return {"query": self.query, "mode": self.mode, "total": self.total, "expansions": self.expansions,
                "hits": [h.to_dict() for h in self.hits], "facets": self.facets}


@dataclass
class ParsedQuery:
    text: str
    terms: list[str]
    expansions: list[tuple[str, ...]]
    expansion_labels: list[str]

    def fts(self, skip: set[str] = frozenset()) -> str | None:
        """An FTS5 expression: every term and expansion quoted (a query is data, never syntax),
        without the terms in ``skip``."""
        parts = [f'"{t}"' for t in dict.fromkeys(self.terms) if t not in skip]
        # a phrase is rarer than each of its words: only one-word expansions can be skipped
        parts += ['"' + " ".join(e) + '"' for e in self.expansions if not (len(e) == 1 and e[0] in skip)]
        return " OR ".join(parts) or None

    @property
    def all_terms(self) -> set[str]:
        return set(self.terms) | {t for e in self.expansions for t in e}

    def dense_text(self) -> str:
        if not self.expansion_labels:
            return self.text
        return f"{self.text} ({', '.join(self.expansion_labels)})"


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
        self._vectors = None
        self._lock = threading.RLock()
        # query encoding runs here, beside the lexical ranking (torch and SQLite both release
        # the GIL); two workers also bound the encodings a busy server runs at once
        self._encoder = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="kb-encode",
                                                              initializer=init_query_thread)
        self._build_id = catalog.build_id()
        self._file_seen = file_identity(catalog.path)
        self._check_model()

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
        expression = query.fts(self._ubiquitous(query))
        if not expression:
            return []
        return self.catalog.lexical(expression, ids, limit)

    def _ubiquitous(self, query: ParsedQuery) -> set[str]:
        """Terms found in more than half of the fiches. FTS5's BM25 gives them a weight of about
        zero (its idf is clamped there), so leaving them out of the match keeps the ranking and
        spares scoring almost every fiche of a large bank. Kept when nothing else is asked."""
        terms = set(query.terms) | {e[0] for e in query.expansions if len(e) == 1}
        frequencies = self.catalog.document_frequencies(sorted(terms))
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

    def rankings(self, query: ParsedQuery, ids: list[int] | None, wanted: int, weight: float, encoding=None):
        """The lexical and dense rankings that the fusion combines; a ranking whose weight is
        zero is not computed (lexical-only search never loads the model). ``encoding``: the
        query vector being computed (a future), if it was started before."""
        lexical = self.lexical_ranking(query, ids, max(wanted, 1000)) if weight < 1 else []
        vector = encoding.result() if encoding is not None else None
        dense = (self.dense_ranking(query, ids, max(wanted, self.settings.dense_candidates), vector)
                 if weight > 0 else [])
        return lexical, dense

    # -- API -------------------------------------------------------------------------------------

    def search(self, query: str = "", filters: Filters | None = None, limit: int = 10, offset: int = 0,
               mode: str = "hybrid", sort: str = "relevance", dense_weight: float | None = None) -> Results:
        if mode not in MODES:
            raise ValueError(f"mode inconnu « {mode} » ({', '.join(MODES)})")
        filters = filters or Filters()
        weight = self.settings.dense_weight if dense_weight is None else dense_weight
        limit = max(0, int(limit))
        parsed = self.parse_query(query)
        weight = {"lexical": 0.0, "dense": 1.0}.get(mode, weight)
        encoding = self._encoder.submit(self.query_vector, parsed) if weight > 0 and parsed.text else None
        with self._lock:
            ids = None if filters.is_empty() else self.catalog.ids(filters)
            if not parsed.text:
                return self._browse(parsed, filters, ids, limit, offset, mode)
            wanted = offset + limit
            lexical, dense = self.rankings(parsed, ids, wanted, weight, encoding)
            lex_ids = [doc for doc, _ in lexical]
            dense_ids = [doc for doc, _, _ in dense]
            fused = weighted_rrf(lex_ids, dense_ids, weight, self.settings.rrf_k)
            order = sorted(fused, key=lambda d: -fused[d])
            if sort == "date":
                dates = {d: f["mise_a_jour"] for d, f in self.catalog.fiches(order).items()}
                order.sort(key=lambda d: dates[d], reverse=True)
            page = order[offset:offset + limit]
            lex_rank = {d: r for r, d in enumerate(lex_ids, 1)}
            dense_rank = {d: r for r, d in enumerate(dense_ids, 1)}
            best_chunk = {d: c for d, _, c in dense}
            fiches = self.catalog.fiches(page)
            hits = []
            for doc in page:
                fiche = fiches[doc]
                hit = Hit(fiche["slug"], fiche["titre"], fused[doc], fiche,
                          lexical_rank=lex_rank.get(doc), dense_rank=dense_rank.get(doc))
                self._snippet(hit, doc, parsed, best_chunk.get(doc))
                hits.append(hit)
            return Results(parsed.text, hits, len(order), self.catalog.facet_counts(order), parsed.expansion_labels,
                           mode)

    def _browse(self, parsed, filters, ids, limit, offset, mode) -> Results:
        order = self.catalog.browse(filters)
        page = order[offset:offset + limit]
        fiches = self.catalog.fiches(page)
        hits = [Hit(fiches[d]["slug"], fiches[d]["titre"], 0.0, fiches[d], snippet=fiches[d]["resume"])
                for d in page]
        return Results("", hits, len(order), self.catalog.facet_counts(order if ids is not None else None), [], mode)

    def similar(self, slug: str, filters: Filters | None = None, limit: int = 5) -> list[Hit]:
        """Fiches closest in content to ``slug`` (never itself), optionally within filters."""
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
            fused = weighted_rrf(lexical, dense, 0.5, self.settings.rrf_k)
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

