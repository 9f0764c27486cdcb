"""Fusion of the lexical and dense rankings (lists of fiche ids, best first): weighted
reciprocal rank fusion, the dense weight of a query, and the page order (counted fiches first)."""

from __future__ import annotations


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
