"""Help a reader refine a search: counts next to each filter value, and what to relax when
nothing matches. Both only call :class:`kb.search.Engine`; they add no ranking of their own.

- :func:`filter_counts`: for each facet, how many fiches each value would give. For a facet
  with selected values the counts come from the search without that facet's own filter
  (values of one facet are OR-ed, so the others stay reachable: "disjunctive" facets); for
  the other facets they are the counts of the current results.
- :func:`relaxations`: when a search returns nothing, the number of results with each active
  filter removed in turn, best first.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kb.catalog import Filters

# Filters field → the catalog facets whose counts it reads
FIELD_FACETS = {
    "thematiques": ("thematique",),
    "axes": ("axe",),
    "publics": ("public",),
    "types": ("type",),
    "densites": ("densite", "densite_niveau"),
    "departements": ("departement",),
    "regions": ("region",),
    "statuts": ("statut",),
    "dispositifs": ("dispositif",),
}
RANGE_FIELDS = ("debut_min", "debut_max")


@dataclass(frozen=True)
class Relaxation:
    field: str  # a Filters field name
    removed: tuple  # the values the filter held
    total: int  # results without this filter


def active_fields(filters: Filters) -> list[str]:
    return [name for name in (*FIELD_FACETS, *RANGE_FIELDS) if getattr(filters, name) not in (None, [])]


def without(filters: Filters, field_name: str) -> Filters:
    """A copy of ``filters`` without one field."""
    empty = None if field_name in RANGE_FIELDS else []
    return dataclasses.replace(filters, **{field_name: empty})


def filter_counts(engine, query: str, filters: Filters, results=None,
                  mode: str = "hybrid") -> dict[str, dict[str, int]]:
    """Facet → value → number of fiches, as a filter panel shows them (see the module doc).

    ``results``: the current :class:`kb.search.Results`, to reuse its facet counts."""
    if results is None:
        results = engine.search(query, filters, limit=0, mode=mode)
    counts = {facet: dict(values) for facet, values in results.facets.items()}
    for name, facets in FIELD_FACETS.items():
        if not getattr(filters, name):
            continue
        wider = engine.search(query, without(filters, name), limit=0, mode=mode)
        for facet in facets:
            counts[facet] = dict(wider.facets.get(facet, {}))
    return counts


def relaxations(engine, query: str, filters: Filters, mode: str = "hybrid") -> list[Relaxation]:
    """For each active filter, the number of results without it; the most useful first.
    Filters whose removal still gives nothing are left out."""
    out = []
    for name in active_fields(filters):
        total = engine.search(query, without(filters, name), limit=0, mode=mode).total
        if total:
            value = getattr(filters, name)
            out.append(Relaxation(name, tuple(value) if isinstance(value, list) else (value,), total))
    return sorted(out, key=lambda r: -r.total)
