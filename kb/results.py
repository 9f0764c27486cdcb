"""What a search gives back: :class:`Hit` (one fiche found), :class:`Results` (a page of hits,
their total and facet counts), and :class:`Ranking` (one query's ranking, cached by the engine).

A hit carries the fiche itself as a :class:`kb.model.Fiche`, the one typed shape of a fiche;
:meth:`Hit.to_dict` and :meth:`Results.to_dict` give the JSON of ``kb search --json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from kb.model import Fiche
from kb.relevance import Evidence


@dataclass
class Hit:
    """One fiche found by a search or a « similar fiches » query.

    ``score``: its fused ranking score (0 when browsing without a query); ``snippet``: the
    passage that explains the match, with ``highlights`` the (start, end) of the matched words
    in it and ``snippet_section`` the section it comes from; ``lexical_rank`` and ``dense_rank``:
    its rank (from 1) in each ranking, None when absent; ``counted``: whether it answers the
    query (False: a weaker match, listed apart); ``evidence``: why it is counted or not."""

    slug: str
    titre: str
    score: float
    fiche: Fiche
    snippet: str = ""
    snippet_section: str = ""
    highlights: list[tuple[int, int]] = field(default_factory=list)
    lexical_rank: int | None = None
    dense_rank: int | None = None
    counted: bool = True  # answers the query (kb.relevance); False: a weaker, uncounted match
    evidence: Evidence | None = None

    def to_dict(self) -> dict:
        """The hit as JSON values: the fiche's place, status and summary, not the whole fiche."""
        f = self.fiche
        return {
            "slug": self.slug, "titre": self.titre, "score": round(self.score, 6),
            "territoire": f.territoire.get("nom"), "type": f.territoire.get("type"),
            "departements": f.territoire.get("departements"),
            "statut": f.statut, "resume": f.resume, "snippet": self.snippet,
            "snippet_section": self.snippet_section, "highlights": self.highlights,
            "lexical_rank": self.lexical_rank, "dense_rank": self.dense_rank, "counted": self.counted,
            "evidence": None if self.evidence is None else {
                k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self.evidence).items()},
        }


@dataclass
class Results:
    """A page of a search: ``hits`` (the fiches that answer the query, ``total`` of them in all,
    whatever the page), ``facets`` (facet → value → number of those fiches), the thesaurus
    ``expansions`` used, and up to a few weaker matches apart (``others``, never counted)."""

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
    # why the search ranked by words alone whatever the mode asked (no vectors in the index,
    # or no way to encode the query): French, shown to the reader; None otherwise
    note: str | None = None
    # a filter recognised in the query and applied (kb.query_ranges): {"populations": [slugs],
    # "text": "moins de 2 000 habitants"}; ``query`` is then the rest of the query. None otherwise
    recognised: dict | None = None
    # a commune or EPCI named in the query (kb.query_places), taken out of the words searched:
    # {"text": "Saint-Flour", "territoires": [{"code", "label"}, …]} (several: homonyms)
    place: dict | None = None

    def to_dict(self) -> dict:
        """The results as JSON values (the output of ``kb search --json``)."""
        return {"query": self.query, "mode": self.mode, "total": self.total, "expansions": self.expansions,
                "suggestion": self.suggestion, "corrected_from": self.corrected_from, "note": self.note,
                "recognised": self.recognised, "place": self.place,
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
