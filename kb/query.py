"""A query as the engine reads it: its French terms, its thesaurus expansions, and the FTS5
expressions built from them (every term quoted: a query is data, never FTS5 syntax)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kb.textnorm import analyze, exact_words

MAX_QUERY_TERMS = 64
MAX_QUERY_CHARS = 2000


@dataclass
class ParsedQuery:
    text: str
    terms: list[str]
    expansions: list[tuple[str, ...]]
    expansion_labels: list[str]
    # document frequencies of the terms and one-word expansions, read once (kb.ranking.Ranker.frequencies)
    frequencies: dict[str, int] | None = None
    # the words typed, folded, not stemmed: their exact occurrences rank above stemmed variants
    exact: list[str] = field(default_factory=list)

    def fts(self, skip: set[str] = frozenset(), terms: bool = True, expansions: bool = True) -> str | None:
        """An FTS5 expression: every term and expansion quoted (a query is data, never syntax),
        without the terms in ``skip``."""
        # a phrase is rarer than each of its words: only one-word expansions can be skipped
        return fts_any([t for t in dict.fromkeys(self.terms) if t not in skip] if terms else [],
                       [e for e in self.expansions if not (len(e) == 1 and e[0] in skip)] if expansions else [])

    @property
    def all_terms(self) -> set[str]:
        return set(self.terms) | {t for e in self.expansions for t in e}

    @property
    def single_terms(self) -> set[str]:
        """The terms and one-word expansions: the words whose frequencies the engine reads."""
        return set(self.terms) | {e[0] for e in self.expansions if len(e) == 1}

    def dense_text(self) -> str:
        if not self.expansion_labels:
            return self.text
        return f"{self.text} ({', '.join(self.expansion_labels)})"


def parse_query(text: str, thesaurus) -> ParsedQuery:
    """The query typed, whitespace collapsed and cut to MAX_QUERY_CHARS, with its terms and the
    expansions of ``thesaurus`` (:class:`kb.thesaurus.Thesaurus`), MAX_QUERY_TERMS of each."""
    text = " ".join(str(text or "").split())[:MAX_QUERY_CHARS]
    terms = analyze(text)
    unique = list(dict.fromkeys(terms))[:MAX_QUERY_TERMS]
    expansions, labels = thesaurus.expand(terms)
    exact = list(dict.fromkeys(exact_words(text)))[:MAX_QUERY_TERMS]
    return ParsedQuery(text, unique, expansions[:MAX_QUERY_TERMS], labels[:MAX_QUERY_TERMS], exact=exact)


def fts_any(terms=(), phrases=()) -> str | None:
    """An FTS5 expression matching any of ``terms`` or ``phrases`` (tuples of terms), each
    quoted; None when there is nothing to match."""
    parts = [f'"{t}"' for t in terms] + ['"' + " ".join(p) + '"' for p in phrases]
    return " OR ".join(parts) or None
