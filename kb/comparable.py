"""« Mon territoire » : the fiches of territories comparable to a commune or an EPCI, and the
projects carried for such territories by their intercommunalité, syndicat, pays or département.

    found = suggestions(engine, territoire.get("2A004"))
    found.comparables   # [Match(fiche, score, raisons=["même type de territoire", …]), …]
    found.portes        # [Match(fiche, score, raisons=["porté par une intercommunalité du département"]), …]

Ranking of comparables: same type of territory and same population bracket first (4.5 and
4: the type wins a tie), then same density (2; skipped: the reference data has no density, ``Territory.densite`` is
None), then same département (1.5) or else same région (1). The fiches are read through the
engine with facet filters (:mod:`kb.filters`), never with SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kb.filters import Filters
from kb.model import Fiche
from kb.territoires import Territory
from kb.textnorm import fold

W_TYPE, W_TRANCHE, W_DENSITE, W_DEPARTEMENT, W_REGION = 4.5, 4.0, 2.0, 1.5, 1.0

EPCI_TYPES = ("communaute-de-communes", "communaute-d-agglomeration", "communaute-urbaine", "metropole")
# the carriers of projects for a commune / for an EPCI, and how to say it
CARRIER_TYPES = {
    "commune": EPCI_TYPES + ("syndicat-mixte", "pays-petr", "departement"),
    "epci": ("syndicat-mixte", "pays-petr", "departement"),
}
CARRIER_REASON = {
    "communaute-de-communes": "porté par une intercommunalité du département",
    "communaute-d-agglomeration": "porté par une intercommunalité du département",
    "communaute-urbaine": "porté par une intercommunalité du département",
    "metropole": "porté par une intercommunalité du département",
    "syndicat-mixte": "porté par un syndicat du département",
    "pays-petr": "porté par un pays ou PETR du département",
    "departement": "porté par le département",
}


@dataclass
class Match:
    """A fiche proposed for a territory, its ``score`` and the reasons, in French."""

    fiche: Fiche
    score: float
    raisons: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.fiche.slug

    @property
    def explication(self) -> str:
        return ", ".join(self.raisons)


@dataclass
class Suggestions:
    territory: Territory
    comparables: list[Match]
    portes: list[Match]


def _fiches(engine, filters: Filters) -> list[Fiche]:
    """Every fiche within ``filters`` (browsing: no query)."""
    first = engine.search("", filters, limit=200)
    hits = list(first.hits)
    while len(hits) < first.total:
        more = engine.search("", filters, limit=200, offset=len(hits)).hits
        if not more:
            break
        hits.extend(more)
    return [h.fiche for h in hits]


def _collect(engine, *filters: Filters) -> dict[str, Fiche]:
    found: dict[str, Fiche] = {}
    for f in filters:
        for fiche in _fiches(engine, f):
            found.setdefault(fiche.slug, fiche)
    return found


def score(fiche: Fiche, territory: Territory) -> tuple[float, list[str]]:
    """How comparable the territory of ``fiche`` is to ``territory``, and why."""
    total, raisons = 0.0, []
    if fiche.territoire.get("type") == territory.type:
        total += W_TYPE
        raisons.append("même type de territoire")
    if territory.tranche and fiche.population_tranche == territory.tranche:
        total += W_TRANCHE
        raisons.append("même strate de population")
    if territory.densite and fiche.densite == territory.densite:
        total += W_DENSITE
        raisons.append("même densité")
    deps = set(fiche.departements)
    if deps & set(territory.departements or ((territory.departement,) if territory.departement else ())):
        total += W_DEPARTEMENT
        raisons.append("même département")
    elif territory.region and territory.region in fiche.regions:
        total += W_REGION
        raisons.append("même région")
    return total, raisons


def comparable(engine, territory: Territory, limit: int = 20, exclude: set[str] | None = None) -> list[Match]:
    """The fiches of territories like ``territory``, best first (see the module's docstring).

    A fiche counts only if it shares the type or the population bracket of the territory, or
    its département; a shared région alone is not enough."""
    exclude = exclude or set()
    candidates = []
    candidates.append(Filters(types=[territory.type]))
    if territory.tranche:
        candidates.append(Filters(populations=[territory.tranche]))
    deps = list(territory.departements) or ([territory.departement] if territory.departement else [])
    if deps:
        candidates.append(Filters(departements=deps))
    matches = []
    for slug, fiche in _collect(engine, *candidates).items():
        if slug in exclude:
            continue
        value, raisons = score(fiche, territory)
        if value > 0:
            matches.append(Match(fiche, value, raisons))
    matches.sort(key=lambda m: (-m.score, fold(m.fiche.titre), m.slug))
    return matches[:limit]


def portes_pour(engine, territory: Territory, limit: int = 20) -> list[Match]:
    """Projects carried for such a territory by a body that covers it: for a commune, an
    intercommunalité, a syndicat, a pays/PETR or the département of its département; for an
    EPCI, a syndicat, a pays/PETR or a département of its départements. Its own
    intercommunalité first (« porté par votre intercommunalité »)."""
    deps = list(territory.departements) or ([territory.departement] if territory.departement else [])
    carriers = CARRIER_TYPES.get(territory.kind, ())
    if not deps or not carriers:
        return []
    own_epci = fold(territory.epci_nom) if territory.epci_nom else None
    matches = []
    for fiche in _fiches(engine, Filters(types=list(carriers), departements=deps)):
        type_slug = fiche.territoire.get("type")
        raisons, value = [], 1.0
        if own_epci and fold(str(fiche.territoire.get("nom", ""))) == own_epci:
            raisons.append("porté par votre intercommunalité")
            value += 2
        else:
            raisons.append(CARRIER_REASON.get(type_slug, "porté par un territoire du département"))
        if territory.tranche and fiche.population_tranche == territory.tranche:
            # a carrier of the size of the territory (an EPCI compared with an EPCI, rarely)
            raisons.append("même strate de population")
            value += 0.5
        if type_slug in EPCI_TYPES:
            value += 0.5  # the closest carrier of a commune
        matches.append(Match(fiche, value, raisons))
    matches.sort(key=lambda m: (-m.score, fold(m.fiche.titre), m.slug))
    return matches[:limit]


def suggestions(engine, territory: Territory, limit: int = 20) -> Suggestions:
    """Both lists; a fiche carried for the territory is not repeated among the comparables."""
    portes = portes_pour(engine, territory, limit)
    carried = {m.slug for m in portes_pour(engine, territory, limit=10_000)}
    return Suggestions(territory, comparable(engine, territory, limit, exclude=carried), portes)
