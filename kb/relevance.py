"""The relevance decision: which fiches of a ranking answer the query (« répondent à votre besoin »).

A ranking orders every fiche that shares a word or some meaning with the query; most of them
do not answer it. Each candidate is *counted* or not, from signals the engine already has:

- **coverage**: the share of the query's meaning carried by the user's words that the fiche
  contains, each word weighted by its rarity in the bank (BM25's idf). A fiche that contains
  only a thesaurus expansion of a word gets ``expansion_weight`` of that word's share;
- **matched_idf**: the same weights, summed without dividing (reported, not used to decide:
  an absolute threshold removed short queries of common words such as « France Services »);
- **lexical_relative**: its BM25 score over the best BM25 score of the query;
- **similarity**: the cosine similarity of its best passage to the query's embedding.

A fiche is counted when it matches the words well enough::

    coverage >= cover_min and lexical_relative >= lexical_min
    and similarity >= dense_min

or when its meaning is very close: ``similarity >= dense_floor``; without any word in common,
only if the dense ranking agrees with the words on this query (kb.fusion.agreeing_weight).
The thresholds are settings (``kb.toml``, with bounds) fitted by ``kb eval --tune`` on judged
queries and off-topic questions with held-out folds (README, « Ce que veut dire “répond à
votre besoin” »). Without a query vector (lexical mode) the two similarity tests are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Cutoff:
    cover_min: float = 0.4
    lexical_min: float = 0.6
    dense_min: float = 0.2
    dense_floor: float = 0.65
    expansion_weight: float = 0.5

    @classmethod
    def from_settings(cls, settings) -> "Cutoff":
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})


@dataclass(frozen=True)
class Evidence:
    """Why a candidate is, or is not, counted."""

    coverage: float = 0.0
    matched_idf: float = 0.0
    expansion: bool = False  # matched a thesaurus expansion of a query word
    lexical_relative: float = 0.0
    similarity: float | None = None  # None: not computed (lexical mode)
    lists_agree: bool = True  # the dense ranking's best fiche is among the best lexical ones

    def counted(self, cutoff: Cutoff) -> bool:
        """A fiche that shares words with the query is judged by them (and a minimal similarity
        of meaning); one that shares none, by its meaning alone, above the floor and only when
        the dense ranking agrees with the words. Counting word-sharing fiches by meaning too
        put fiches with one common word ahead of the best lexical match on corpora whose texts
        are all alike to the model (crpa: hybrid nDCG@10 0.674 against 0.696; README)."""
        similar = self.similarity is None or self.similarity >= cutoff.dense_min
        by_words = self.coverage >= cutoff.cover_min and self.lexical_relative >= cutoff.lexical_min and similar
        alone = self.lexical_relative <= 0
        by_meaning = (alone and self.lists_agree and self.similarity is not None
                      and self.similarity >= cutoff.dense_floor)
        return by_words or by_meaning


def idf(document_frequency: int, fiche_count: int) -> float:
    """BM25's idf, as FTS5 computes it: rare words weigh most, a word in every fiche about 0."""
    n = min(document_frequency, fiche_count)
    return math.log((fiche_count - n + 0.5) / (n + 0.5) + 1.0)


def coverage(term_weights: dict[str, float], matched: set[str], expansion: bool,
             expansion_weight: float) -> tuple[float, float]:
    """(coverage, matched idf) of a fiche containing the ``matched`` user terms; an expansion
    match credits ``expansion_weight`` of what the user's words left uncovered."""
    total = sum(term_weights.values())
    mass = sum(w for t, w in term_weights.items() if t in matched)
    share = mass / total if total > 0 else 0.0
    if expansion:
        share += expansion_weight * (1.0 - share)
    return min(share, 1.0), mass
