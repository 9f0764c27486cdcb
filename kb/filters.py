"""Facet filters, as a dataclass derived from the facet registry (:mod:`kb.facets`).

    Filters(publics=["seniors"], densites=["rural"], debut_min=2021)

Values of one facet are OR-ed, facets are AND-ed. ``Filters`` has one list field per facet
of the registry that filters, and a ``_min``/``_max`` pair per range.
"""

from __future__ import annotations

import dataclasses


class FiltersBase:
    """The behaviour of every ``Filters`` class; the fields come from a registry."""

    registry = None  # set by filters_class

    def is_empty(self) -> bool:
        return not self.active_fields()

    def active_fields(self) -> list[str]:
        """The fields that hold a value, in registry order."""
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) not in (None, [])]

    def without(self, field_name: str):
        """A copy without one field."""
        return dataclasses.replace(self, **{field_name: None if field_name in self.registry.range_fields() else []})

    def unknown_values(self) -> list[str]:
        """Messages for values that are in no vocabulary (a typo in a URL or a command)."""
        out = []
        for facet in self.registry.filtering:
            accepted = self.registry.accepted(facet)
            out += [f"valeur inconnue « {value} » pour le filtre {facet.param}"
                    for value in getattr(self, facet.field) if value not in accepted]
        return out

    def sql(self) -> tuple[str, list]:
        """A WHERE clause over ``fiches`` (aliased ``f``) and its parameters."""
        clauses, params = [], []
        for facet in self.registry.filtering:
            values = list(getattr(self, facet.field))
            if not values:
                continue
            kinds = self.registry.matches(facet)
            clauses.append(f"f.id IN (SELECT fiche_id FROM facets WHERE facet IN ({','.join('?' * len(kinds))}) "
                           f"AND value IN ({','.join('?' * len(values))}))")
            params += [*kinds, *values]
        for r in self.registry.ranges:
            low, high = (getattr(self, name) for name in r.fields)
            if low is not None:
                clauses.append(f"f.{r.column} >= ?")
                params.append(int(low))
            if high is not None:
                clauses.append(f"f.{r.column} <= ?")
                params.append(int(high))
        return (" AND ".join(clauses) or "1"), params


def filters_class(registry) -> type:
    """The ``Filters`` dataclass of a registry."""
    fields = [(f.field, list[str], dataclasses.field(default_factory=list)) for f in registry.filtering]
    fields += [(name, "int | None", dataclasses.field(default=None)) for name in registry.range_fields()]
    cls = dataclasses.make_dataclass("Filters", fields, bases=(FiltersBase,), namespace={"registry": registry})
    cls.__module__ = __name__
    cls.__doc__ = __doc__.split("\n\n")[0]
    return cls


def _default():
    from kb.facets import REGISTRY

    return REGISTRY.filters


Filters = _default()
