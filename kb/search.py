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

The pieces: :mod:`kb.query` (a query's terms and expansions), :mod:`kb.ranking` (one query's
ranking and decision), :mod:`kb.fusion`, :mod:`kb.relevance`, :mod:`kb.snippets` (the passage
under a hit) and :mod:`kb.results` (what a search gives back). The public API is :mod:`kb`.

Importing this module needs the ``search`` extra (kb.extras): without it, a French
:class:`kb.extras.MissingExtra`. A catalog built without vectors (no ``vectors`` extra), or one
whose queries cannot be encoded (no ONNX export and no torch), is searched by words alone:
``Results.note`` says so.
"""

from __future__ import annotations

import concurrent.futures
import json
import threading
from collections import OrderedDict

from kb.extras import available, install_hint, require

require("search", "la recherche")

import numpy as np  # noqa: E402  (after the check, which names the extra to install)

from kb.bank import BankEntry
from kb.catalog import Catalog, CatalogError, fiche_from_row, file_identity
from kb.embed import init_query_thread
from kb.filters import Filters
from kb.fusion import weighted_rrf
from kb.model import Fiche
from kb.query import ParsedQuery, parse_query
from kb.query_places import understood
from kb.ranking import IndexMismatch, Ranker
from kb.relevance import Cutoff
from kb.results import Hit, Ranking, Results
from kb.settings import Settings
from kb.snippets import fill_snippet
from kb.thesaurus import load_thesaurus

MODES = ("hybrid", "lexical", "dense")
OTHERS_SHOWN = 5  # weaker matches listed apart from the counted ones
RANKING_CACHE = 64  # queries whose ranking is kept (facet counts and pages reuse it)
__all__ = ["MODES", "Engine", "IndexMismatch"]
NO_VECTORS_NOTE = ("l'index n'a pas de vecteurs (construit sans l'extra « vectors ») : recherche lexicale seule. "
                   f"Pour la recherche sémantique : {install_hint('vectors')} puis « kb build ».")
NO_ENCODER_NOTE = ("l'index n'a pas d'export ONNX du modèle et l'extra « vectors » (torch) n'est pas installé : "
                   f"recherche lexicale seule. Pour la recherche sémantique : {install_hint('vectors')} "
                   "puis « kb build ».")


class Engine:
    """Search over one built catalog; the model and the vector index load on first need."""

    def __init__(self, settings: Settings, catalog: Catalog, embedder=None):
        from kb.embed import Embedder

        self.settings = settings
        self.catalog = catalog
        self.embedder = embedder or Embedder.from_settings(settings)
        self.thesaurus = load_thesaurus(settings.thesaurus_path)
        self.cutoff = Cutoff.from_settings(settings)
        self._ranker = Ranker(catalog, settings, self.embedder, self.thesaurus, self.cutoff)
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
        self.dense_note = self._dense_unavailable()

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

    def _dense_unavailable(self) -> str | None:
        """Why queries cannot be ranked by their vectors here (a French note), or None."""
        if not self.catalog.has_vectors:
            return NO_VECTORS_NOTE
        if getattr(self.embedder, "uses_onnx", True) is False and not available("vectors"):
            return NO_ENCODER_NOTE  # sentence-transformers would encode the queries, and it is absent
        return None

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
            self._ranker = Ranker(fresh, self.settings, self.embedder, self.thesaurus, self.cutoff)
            self._check_model()
            self._use_recorded_export()
            self.dense_note = self._dense_unavailable()
            return True

    # -- pieces (kb.ranking) ---------------------------------------------------------------------

    @property
    def vectors(self):
        """The vector index of the catalog (:class:`kb.index.VectorIndex`), loaded on first need."""
        return self._ranker.vectors

    def parse_query(self, text: str) -> ParsedQuery:
        return parse_query(text, self.thesaurus)

    def lexical_ranking(self, query: ParsedQuery, ids: list[int] | None, limit: int) -> list[tuple[int, float]]:
        """(id, score) pairs, best first: see :meth:`kb.ranking.Ranker.lexical_ranking`."""
        return self._ranker.lexical_ranking(query, ids, limit)

    def query_vector(self, query: ParsedQuery):
        """The query's embedding, or None for an empty query (thread-safe)."""
        return self._ranker.query_vector(query)

    def dense_ranking(self, query: ParsedQuery, ids: list[int] | None, limit: int, vector=None):
        """(id, similarity, best chunk id) triples, best first, within ``ids`` (all when None)."""
        return self._ranker.dense_ranking(query, ids, limit, vector)

    # -- API -------------------------------------------------------------------------------------

    def search(self, query: str = "", filters: Filters | None = None, limit: int = 10, offset: int = 0,
               mode: str = "hybrid", sort: str = "relevance", dense_weight: float | None = None,
               correct: bool = True, recognise: bool = True) -> Results:
        """The fiches that answer ``query`` within ``filters`` (``total`` counts them all,
        whatever ``limit`` and ``offset``), then up to OTHERS_SHOWN weaker matches apart.

        ``correct``: when the query has words the bank does not know, propose a correction
        (``suggestion``); when the correction counts more fiches than the query typed, return
        the correction's results (``corrected_from`` holds the query as typed).

        ``recognise``: a population range typed in the query (« moins de 2 000 habitants »,
        kb.query_ranges) becomes a ``populations`` filter AND-ed with ``filters``, a place named
        (« à Saint-Flour », kb.query_places) is taken out, the rest of the query is searched,
        and ``Results.recognised`` and ``Results.place`` say what was recognised."""
        if mode not in MODES:
            raise ValueError(f"mode inconnu « {mode} » ({', '.join(MODES)})")
        filters = filters or Filters()
        if recognise:
            rest, with_range, found, place = understood(query, filters)
            if found is not None or place is not None:
                results = self.search(rest, with_range, limit, offset, mode, sort, dense_weight, correct,
                                      recognise=False)
                results.recognised = found.to_dict() if found else None
                results.place = place.to_dict() if place else None
                return results
        weight = self.fusion_weight(mode, dense_weight)
        limit, offset = max(0, int(limit)), max(0, int(offset))
        parsed = self.parse_query(query)
        if not parsed.text:
            with self._lock:
                ids = None if filters.is_empty() else self.catalog.ids(filters)
                return self._browse(filters, ids, limit, offset, mode)
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
            inside = self._within(ranking, filters)
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
                           parsed.expansion_labels, "lexical" if self.dense_note else mode, others=weaker,
                           suggestion=suggestion, note=self.dense_note)

    def _within(self, ranking: Ranking, filters: Filters) -> list[int]:
        """The ranking's candidates that pass the filters, best first."""
        if filters.is_empty():
            return ranking.order
        allowed = set(self.catalog.ids(filters))
        return [d for d in ranking.order if d in allowed]

    def counted_ids(self, query: str = "", filters: Filters | None = None, mode: str = "hybrid") -> list[int]:
        """The ids of the fiches that ``search`` counts (the filtered bank without a query),
        from the query's cached ranking: no hit, snippet or spelling work. Facet counts and
        relaxations read it, so a page with k filters ranks its query once."""
        filters = filters or Filters()
        query, filters, _, _ = understood(query, filters)
        parsed = self.parse_query(query)
        if not parsed.text:
            with self._lock:
                return self.catalog.ids(filters)
        ranking = self.ranking(parsed, mode, self.fusion_weight(mode))
        with self._lock:
            return [d for d in self._within(ranking, filters) if d in ranking.counted]

    def _fiches(self, ids: list[int]) -> dict[int, Fiche]:
        """The fiches of catalog ids, typed."""
        return {d: fiche_from_row(row) for d, row in self.catalog.fiches(ids).items()}

    def _plain_hits(self, order: list[int], scores: dict[int, float] | None = None) -> list[Hit]:
        """Hits without a query's passage: the summary stands for it."""
        fiches = self._fiches(order)
        return [Hit(fiches[d].slug, fiches[d].titre, scores[d] if scores else 0.0, fiches[d],
                    snippet=fiches[d].resume) for d in order]

    def _hits(self, page: list[int], ranking: Ranking, parsed: ParsedQuery) -> list[Hit]:
        fiches = self._fiches(page)
        hits = []
        for doc in page:
            fiche = fiches[doc]
            hit = Hit(fiche.slug, fiche.titre, ranking.scores[doc], fiche,
                      lexical_rank=ranking.lexical_rank.get(doc), dense_rank=ranking.dense_rank.get(doc),
                      counted=doc in ranking.counted, evidence=ranking.evidence.get(doc))
            fill_snippet(hit, self.catalog.chunks([doc]), parsed.all_terms, ranking.best_chunk.get(doc))
            hits.append(hit)
        return hits

    def fusion_weight(self, mode: str, dense_weight: float | None = None) -> float:
        """The dense ranking's weight in the fusion: 0 lexical, 1 dense, else the one given or set."""
        weight = self.settings.dense_weight if dense_weight is None else dense_weight
        return {"lexical": 0.0, "dense": 1.0}.get(mode, weight)

    def ranking(self, parsed: ParsedQuery, mode: str = "hybrid", weight: float | None = None) -> Ranking:
        """The unfiltered ranking of a query and its relevance decision, cached per build."""
        weight = self.settings.dense_weight if weight is None else weight
        if self.dense_note:  # no vectors, or no way to encode the query: words alone
            mode, weight = "lexical", 0.0
        key = (parsed.text, mode, weight, self._build_id)
        with self._lock:
            if key in self._rankings:
                self._rankings.move_to_end(key)
                return self._rankings[key]
        encoding = self._encoder.submit(self.query_vector, parsed) if weight > 0 or mode != "lexical" else None
        with self._lock:
            ranking = self._ranker.rank(parsed, weight, encoding)
            self._rankings[key] = ranking
            while len(self._rankings) > RANKING_CACHE:
                self._rankings.popitem(last=False)
            return ranking

    def suggest(self, text: str) -> str | None:
        """The query with the words the bank does not know corrected (kb.spelling), or None."""
        return self._suggest(self.parse_query(text))

    def _suggest(self, query: ParsedQuery) -> str | None:
        with self._lock:
            frequencies = self._ranker.frequencies(query)
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

    def _browse(self, filters, ids, limit, offset, mode) -> Results:
        order = self.catalog.browse(filters)
        page = order[offset:offset + limit]
        hits = self._plain_hits(page)
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
            fiche = self._fiches([fiche_id])[fiche_id]
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
            about = " ".join([fiche.titre, fiche.resume, " ".join(fiche.mots_cles)])
            lexical = [d for d, _ in self.lexical_ranking(self.parse_query(about), ids, wanted + 50) if d != fiche_id]
            fused = weighted_rrf(lexical, dense, weight, self.settings.rrf_k)
            order = sorted(fused, key=lambda d: -fused[d])[:limit]
            return self._plain_hits(order, fused)

    def facets(self, filters: Filters | None = None, query: str = "",
               mode: str = "hybrid") -> dict[str, dict[str, int]]:
        """Facet → value → number of fiches, over the fiches counted for ``query`` (the whole
        bank when both are empty)."""
        if not query.strip() and (filters is None or filters.is_empty()):
            with self._lock:
                return self.catalog.facet_counts(None)
        ids = self.counted_ids(query, filters, mode)
        with self._lock:
            return self.catalog.facet_counts(ids)

    def entries(self) -> list[BankEntry]:
        """The bank's fiches as the bank-wide rules see them (kb.bank.duplicate_problems)."""
        with self._lock:
            return [BankEntry(**row) for row in self.catalog.entries()]

    def cross_facets(self, first: str, second: str) -> dict[tuple[str, str], int]:
        """Number of fiches of the whole bank per pair of values of two facets."""
        with self._lock:
            return self.catalog.cross_counts(first, second)

    def get(self, slug: str) -> Fiche | None:
        """The fiche of ``slug``, or None when the bank has none."""
        with self._lock:
            row = self.catalog.get(slug)
        return None if row is None else fiche_from_row(row)

    def count(self) -> int:
        with self._lock:
            return self.catalog.count()

    def close(self) -> None:
        """Close the catalog and stop the query encoding threads: the engine is done."""
        self._encoder.shutdown(wait=False)
        with self._lock:
            self.catalog.close()
