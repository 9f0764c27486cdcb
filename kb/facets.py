"""The facet registry: every facet a fiche is filtered or counted by, declared once (in the
manner of datasette's ``facets.py``).

A :class:`Facet` says where its values come from in a fiche, which vocabulary labels them,
which ``Filters`` field holds a selection, its URL and CLI parameter, its label and widget.
Everything else is derived from :data:`REGISTRY`: the catalog's ``facets`` rows, the
``Filters`` class with its SQL and its unknown-value checks (:mod:`kb.filters`), refinement
counts, CLI options, URL state, the application's sidebar, ``kb stats`` and the test oracles.
Adding a facet is one entry here plus its vocabulary.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Mapping

from kb.vocab import Vocab, vocab

if TYPE_CHECKING:
    from kb.model import Fiche


@dataclass(frozen=True)
class Facet:
    """One facet.

    - ``name``: its name in the catalog's ``facets`` table, and its URL parameter and CLI option
      (``--name``) unless ``url_param`` names them otherwise;
    - ``field``: the ``Filters`` field holding selected values; None for a facet that is
      counted (``kb stats``, charts) but not filtered on by itself;
    - ``values``: its vocabulary, value → French label, in display order;
    - ``of_fiche``: the values a fiche has;
    - ``parent``: (parent facet, value → parent value): a hierarchy shown by ``kb stats`` and
      the widgets; with ``accepts_parent`` a filter on this facet also takes the parent's
      values (« rural » selects its three detailed levels);
    - ``widget``: ``multiselect``; ``grouped`` (one list per parent value, then the parent
      facet's own list, whose widget is ``in-group``); ``none`` (not a sidebar filter).
    """

    name: str
    field: str | None
    label: str
    values: Callable[[Vocab], Mapping[str, str]]
    of_fiche: Callable[["Fiche"], list]
    parent: tuple[str, Callable[[Vocab], Mapping[str, str]]] | None = None
    accepts_parent: bool = False
    short: str | None = None  # one-letter CLI option
    help: str = ""
    placeholder: str = ""
    hint: str = ""  # the application's help text of its widget
    widget: str = "multiselect"
    stats_title: str | None = None  # shown by ``kb stats`` under this title
    stats_present_only: bool = False  # ``kb stats`` lists only the values some fiche has
    url_param: str | None = None  # URL parameter and CLI option, when not ``name``

    @property
    def param(self) -> str:
        return self.url_param or self.name


@dataclass(frozen=True)
class Range:
    """A numeric range filter over a catalog column (``debut_min``/``debut_max``)."""

    name: str
    column: str
    label: str
    help_min: str
    help_max: str

    @property
    def fields(self) -> tuple[str, str]:
        return (f"{self.name}_min", f"{self.name}_max")


def _one(value) -> list:
    return [value] if value not in (None, "") else []


def departement_order(code: str) -> tuple[int, str]:
    """01…19, 2A, 2B, 21…95, then overseas (971…)."""
    return (len(code) > 2, code.replace("2A", "20A").replace("2B", "20B"))


FACETS: tuple[Facet, ...] = (
    Facet("thematique", "thematiques", "Thématiques", lambda v: v.thematiques, lambda f: f.thematiques,
          parent=("axe", lambda v: v.axe_of), short="t", help="Thématique (répétable).",
          placeholder="Choisir une thématique", widget="grouped", stats_title="Thématiques (par axe)"),
    Facet("axe", "axes", "Axes entiers", lambda v: v.axes, lambda f: f.axes, help="Axe entier de thématiques.",
          placeholder="Choisir un axe", hint="Toutes les thématiques d'un axe.", widget="in-group"),
    Facet("public", "publics", "Publics", lambda v: v.publics, lambda f: f.publics, short="p",
          help="Public (répétable).", placeholder="Choisir un public", stats_title="Publics"),
    Facet("type", "types", "Type de territoire", lambda v: v.types_territoire,
          lambda f: _one(f.territoire.get("type")), help="Type de territoire.",
          placeholder="Choisir un type", stats_title="Types de territoire"),
    Facet("densite_niveau", None, "Densité (grands niveaux)", lambda v: v.regroupements,
          lambda f: _one(f.densite_niveau), widget="none"),
    Facet("densite", "densites", "Densité (grille INSEE)", lambda v: v.densite, lambda f: _one(f.densite),
          parent=("densite_niveau", lambda v: v.densite_regroupement), accepts_parent=True,
          help="Densité: un des 7 niveaux ou urbain-dense, urbain-intermediaire, rural.",
          placeholder="Choisir une densité", hint="Les 3 grands niveaux regroupent les 7 niveaux détaillés.",
          stats_title="Densité"),
    Facet("departement", "departements", "Départements",
          lambda v: {c: v.departements[c] for c in sorted(v.departements, key=departement_order)},
          lambda f: f.departements, short="d", help="Code INSEE de département.",
          placeholder="Choisir un département", stats_title="Départements", stats_present_only=True),
    Facet("region", "regions", "Régions", lambda v: v.regions, lambda f: f.regions,
          help="Code INSEE de région.", placeholder="Choisir une région"),
    Facet("population_tranche", "populations", "Population",
          lambda v: {t["slug"]: t["label"] for t in v.population_tranches},
          lambda f: _one(f.population_tranche), url_param="population",
          help="Population du territoire: moins-de-1000, 1000-a-3500, 3500-a-10000, 10000-a-50000, "
               "50000-a-200000, plus-de-200000.",
          placeholder="Choisir une taille de territoire", hint="Nombre d'habitants du territoire qui porte "
          "l'initiative (les fiches qui ne le donnent pas sont écartées).", stats_title="Population du territoire"),
    Facet("statut", "statuts", "Statut", lambda v: v.statuts, lambda f: _one(f.statut), help="Statut.",
          placeholder="Choisir un statut", stats_title="Statut"),
    Facet("dispositif", "dispositifs", "Dispositifs nationaux", lambda v: v.dispositifs,
          lambda f: f.dispositifs, help="Dispositif national.", placeholder="Choisir un dispositif"),
    Facet("cout", "couts", "Coût la première année",
          lambda v: {t["slug"]: t["label"] for t in v.cout_tranches},
          lambda f: _one(f.cout_tranche),
          help="Coût de la première année, investissement + fonctionnement annuel: moins-de-10000, "
               "10000-a-50000, 50000-a-200000, plus-de-200000 (euros).",
          placeholder="Choisir une tranche de coût", hint="Investissement et coût de fonctionnement d'une année "
          "réunis (les fiches qui ne donnent pas leurs coûts sont écartées).",
          stats_title="Coût la première année (investissement + fonctionnement)"),
    Facet("debut_annee", None, "Année de début", lambda v: {}, lambda f: _one(str(f.debut_annee)),
          widget="none"),
)
RANGES: tuple[Range, ...] = (
    Range("debut", "debut_annee", "Année de début", "Année de début minimale.", "Année de début maximale."),
)


class Registry:
    """A set of facets and ranges, and everything derived from them."""

    def __init__(self, facets: tuple[Facet, ...] = FACETS, ranges: tuple[Range, ...] = RANGES,
                 vocabulary: Callable[[], Vocab] = vocab):
        self.facets = tuple(facets)
        self.ranges = tuple(ranges)
        self.vocab = vocabulary
        self.by_name = {f.name: f for f in self.facets}

    def __getitem__(self, name: str) -> Facet:
        return self.by_name[name]

    # -- declarations ---------------------------------------------------------------------------

    @property
    def filtering(self) -> tuple[Facet, ...]:
        """The facets a ``Filters`` field selects on, in display order."""
        return tuple(f for f in self.facets if f.field)

    def by_field(self, name: str) -> Facet | None:
        return next((f for f in self.filtering if f.field == name), None)

    def range_fields(self) -> list[str]:
        return [name for r in self.ranges for name in r.fields]

    @cached_property
    def filters(self) -> type:
        """The ``Filters`` dataclass of this registry (:func:`filters_class`)."""
        return filters_class(self)

    # -- values and labels ------------------------------------------------------------------------

    def values(self, facet: Facet) -> dict[str, str]:
        return dict(facet.values(self.vocab()))

    def accepted(self, facet: Facet) -> dict[str, str]:
        """The values a filter on ``facet`` accepts: its own, and its parent's when it rolls up."""
        own = self.values(facet)
        if facet.accepts_parent and facet.parent:
            return {**self.values(self.by_name[facet.parent[0]]), **own}
        return own

    def options(self, facet: Facet) -> list[tuple[str, int]]:
        """(value, indent) in widget order: a rolled-up facet lists each parent value, then its
        children indented."""
        if not (facet.accepts_parent and facet.parent):
            return [(value, 0) for value in self.values(facet)]
        parent_name, parent_of = facet.parent
        children = parent_of(self.vocab())
        out = []
        for parent in self.values(self.by_name[parent_name]):
            out.append((parent, 0))
            out += [(child, 1) for child in self.values(facet) if children.get(child) == parent]
        return out

    def groups(self, facet: Facet) -> dict[str, list[str]]:
        """Parent value → this facet's values under it (for ``grouped`` widgets and stats)."""
        parent_name, parent_of = facet.parent
        children = parent_of(self.vocab())
        return {parent: [c for c in self.values(facet) if children.get(c) == parent]
                for parent in self.values(self.by_name[parent_name])}

    def label(self, name: str, value) -> str:
        """The French label of a facet value; the value itself when unknown."""
        facet = self.by_name.get(name)
        if facet is None or value is None:
            return "" if value is None else str(value)
        return self.values(facet).get(value, str(value))

    def counts_of(self, facet: Facet, counts: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
        """The count of each value a filter on ``facet`` accepts, from catalog facet counts."""
        out = dict(counts.get(facet.name, {}))
        if facet.accepts_parent and facet.parent:
            out.update(counts.get(facet.parent[0], {}))
        return out

    def matches(self, facet: Facet) -> tuple[str, ...]:
        """The catalog facets whose values a filter on ``facet`` is looked up in."""
        if facet.accepts_parent and facet.parent:
            return (facet.name, facet.parent[0])
        return (facet.name,)

    # -- catalog rows --------------------------------------------------------------------------------

    def rows(self, fiche_id: int, fiche: "Fiche") -> list[dict]:
        """The ``facets`` table rows of a fiche."""
        return [{"fiche_id": fiche_id, "facet": facet.name, "value": value}
                for facet in self.facets for value in facet.of_fiche(fiche) if value]

    # -- URL state -----------------------------------------------------------------------------------

    def from_params(self, params: Mapping[str, list[str]]):
        """The filters described by URL parameters, and a French message for each dropped value
        (a typo in a shared link must not make the page fail)."""
        values, dropped = {}, []
        for facet in self.filtering:
            accepted = self.accepted(facet)
            kept = []
            for value in params.get(facet.param, []) or []:
                value = str(value).strip()
                if not value:
                    continue
                if value in accepted:
                    if value not in kept:
                        kept.append(value)
                else:
                    dropped.append(f"« {value} » n'est pas une valeur du filtre « {facet.param} »: ignorée.")
            values[facet.field] = kept
        return self.filters(**values), dropped

    def to_params(self, filters) -> dict[str, list[str]]:
        """URL parameters of filters; empty ones are left out, so the URL stays short."""
        return {facet.param: list(getattr(filters, facet.field)) for facet in self.filtering
                if getattr(filters, facet.field)}

    # -- CLI -------------------------------------------------------------------------------------------

    def click_options(self, function):
        """Decorate a click command with one option per filter."""
        import click

        options = []
        for facet in self.filtering:
            names = [f"--{facet.param.replace('_', '-')}"] + ([f"-{facet.short}"] if facet.short else [])
            options.append(click.option(*names, facet.field, multiple=True, help=facet.help))
        for r in self.ranges:
            options.append(click.option(f"--{r.name}-min", r.fields[0], type=int, help=r.help_min))
            options.append(click.option(f"--{r.name}-max", r.fields[1], type=int, help=r.help_max))
        for option in reversed(options):
            function = option(function)
        return function

    def filters_from_cli(self, kwargs: dict):
        """Pop the filter options from a command's arguments."""
        values = {f.field: list(kwargs.pop(f.field, ()) or ()) for f in self.filtering}
        values.update({name: kwargs.pop(name, None) for name in self.range_fields()})
        return self.filters(**values)

    # -- text ---------------------------------------------------------------------------------------

    def describe(self, filters) -> str:
        """« Publics : Seniors, Jeunes · Statut : En cours »."""
        parts = []
        for facet in self.filtering:
            selected = getattr(filters, facet.field)
            if selected:
                labels = self.accepted(facet)
                parts.append(f"{facet.label} : {', '.join(labels.get(x, x) for x in selected)}")
        for r in self.ranges:
            low, high = (getattr(filters, name) for name in r.fields)
            if low is not None or high is not None:
                span = f"{low if low is not None else '…'}–{high if high is not None else '…'}"
                parts.append(f"{r.label} : {span}")
        return " · ".join(parts)


# ----------------------------------------------------------------------------- Filters

FILTERS_DOC = """Facet filters: values of one facet are OR-ed, facets are AND-ed; one list field per
facet of the registry that filters, and a ``_min``/``_max`` pair per range."""


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
    cls.__module__ = "kb.filters"
    cls.__doc__ = FILTERS_DOC
    return cls


REGISTRY = Registry()


def facet_label(name: str, value) -> str:
    """The French label of a value of a facet of :data:`REGISTRY`."""
    return REGISTRY.label(name, value)
