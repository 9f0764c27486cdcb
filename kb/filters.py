"""Facet filters, the dataclass derived from the facet registry (:mod:`kb.facets`).

    Filters(publics=["seniors"], densites=["rural"], debut_min=2021)

Values of one facet are OR-ed, facets are AND-ed. ``Filters`` has one list field per facet
of the registry that filters, and a ``_min``/``_max`` pair per range.
"""

from __future__ import annotations

from kb.facets import REGISTRY, FiltersBase

Filters = REGISTRY.filters

__all__ = ["Filters", "FiltersBase"]
