"""Help a reader refine a search: counts next to each filter value, and what to relax when
nothing matches. Both read :meth:`kb.search.Engine.counted_ids` through ``Engine.facets``:
the query is ranked once (the engine caches its ranking), whatever the number of filters.

- :func:`filter_counts`: for each facet, how many fiches each value would give. For a facet
  with selected values the counts come from the search without that facet's own filter
  (values of one facet are OR-ed, so the others stay reachable: "disjunctive" facets); for
  the other facets they are the counts of the current results.
- :func:`relaxations`: when a search returns nothing, the number of results with each active
  filter removed in turn, best first.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.facets import REGISTRY
from kb.filters import Filters


@dataclass(frozen=True)
class Relaxation:
    field: str  # a Filters field name
    removed: tuple  # the values the filter held
    total: int  # results without this filter


def filter_counts(engine, query: str, filters: Filters, results=None,
                  mode: str = "hybrid") -> dict[str, dict[str, int]]:
    """Facet → value → number of fiches, as a filter panel shows them (see the module doc).

    ``results``: the current :class:`kb.results.Results`, to reuse its facet counts (and its
    query, which is the corrected one when the engine corrected the spelling)."""
    if results is None:
        counts = engine.facets(filters, query, mode)
    else:
        query = results.query
        counts = results.facets
    counts = {facet: dict(values) for facet, values in counts.items()}
    for facet in REGISTRY.filtering:
        if not getattr(filters, facet.field):
            continue
        wider = engine.facets(filters.without(facet.field), query, mode)
        for name in REGISTRY.matches(facet):
            counts[name] = dict(wider.get(name, {}))
    return counts


def relaxations(engine, query: str, filters: Filters, mode: str = "hybrid") -> list[Relaxation]:
    """For each active filter, the number of results without it; the most useful first.
    Filters whose removal still gives nothing are left out."""
    out = []
    for name in filters.active_fields():
        total = len(engine.counted_ids(query, filters.without(name), mode))
        if total:
            value = getattr(filters, name)
            out.append(Relaxation(name, tuple(value) if isinstance(value, list) else (value,), total))
    return sorted(out, key=lambda r: -r.total)
