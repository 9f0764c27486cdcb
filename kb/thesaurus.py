"""Domain thesaurus: groups of equivalent expressions (acronyms, synonyms) used to expand a query.

The packaged file ``kb/data/thesaurus.yaml`` is extended by an optional ``thesaurus.yaml``
at the bank's root. Expressions are compared after the French analysis, so plurals, accents
and elisions do not matter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from kb.textnorm import DATA, analyze

PACKAGED = DATA / "thesaurus.yaml"


class ThesaurusError(Exception):
    pass


@dataclass(frozen=True)
class Thesaurus:
    groups: tuple[tuple[tuple[str, ...], ...], ...]  # each expression as its analyzed terms
    labels: tuple[tuple[str, ...], ...]  # the expressions as written, for the dense query

    def expand(self, terms: list[str]) -> tuple[list[tuple[str, ...]], list[str]]:
        """Expressions to add for the terms of a query: (analyzed, as written)."""
        found_analyzed: list[tuple[str, ...]] = []
        found_text: list[str] = []
        for group, labels in zip(self.groups, self.labels):
            if any(_contains(terms, expression) for expression in group):
                for expression, label in zip(group, labels):
                    if not _contains(terms, expression) and expression not in found_analyzed:
                        found_analyzed.append(expression)
                        found_text.append(label)
        return found_analyzed, found_text


    @functools.cached_property
    def terms(self) -> frozenset[str]:
        """Every analyzed term of its expressions (a word the thesaurus knows is never a typo)."""
        return frozenset(t for group in self.groups for expression in group for t in expression)

    def stand_ins(self, terms: list[str], unknown: set[str]) -> list[tuple[str, ...]]:
        """Expressions of a group triggered by words of the query that the bank never uses
        (``unknown``, e.g. an acronym the fiches spell out): they stand in for those words."""
        found: list[tuple[str, ...]] = []
        for group in self.groups:
            triggers = [e for e in group if _contains(terms, e) and set(e) <= unknown]
            if triggers:
                found += [e for e in group if e not in triggers and e not in found]
        return found


def _contains(terms: list[str], expression: tuple[str, ...]) -> bool:
    n = len(expression)
    return n > 0 and any(tuple(terms[i:i + n]) == expression for i in range(len(terms) - n + 1))


def _read(path: Path) -> list[list[str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ThesaurusError(f"{path}: thésaurus illisible ({exc}).") from exc
    if not isinstance(data, list) or not all(isinstance(g, list) for g in data):
        raise ThesaurusError(f"{path}: le thésaurus est une liste de groupes, chacun une liste "
                             "d'expressions: « - [EPN, espace public numérique] ».")
    return [[str(e) for e in group] for group in data]


@functools.lru_cache(maxsize=8)
def load_thesaurus(extra: Path | None = None) -> Thesaurus:
    groups = _read(PACKAGED)
    if extra is not None and Path(extra).exists():
        groups += _read(Path(extra))
    analyzed, labels = [], []
    for group in groups:
        pairs = [(tuple(analyze(e)), e) for e in group]
        pairs = [(a, e) for a, e in pairs if a]
        if len(pairs) > 1:
            analyzed.append(tuple(a for a, _ in pairs))
            labels.append(tuple(e for _, e in pairs))
    return Thesaurus(tuple(analyzed), tuple(labels))
