"""Counts of the bank by facet, and the fiches that lack recommended fields or sections."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from kb.catalog import Catalog
from kb.facets import REGISTRY
from kb.freshness import months_before
from kb.vocab import vocab


@dataclass
class FacetGroup:
    title: str
    rows: list[tuple[str, int, int]]  # (label, count, indent level)


def bank_stats(catalog: Catalog, review_months: int = 24, today: dt.date | None = None) -> dict:
    v = vocab()
    counts = catalog.facet_counts()
    groups = [FacetGroup(facet.stats_title, _rows(facet, counts)) for facet in REGISTRY.facets if facet.stats_title]
    missing = []
    recommended = v.recommended_sections
    for row in catalog.db.query("SELECT slug, densite, sections FROM fiches ORDER BY slug"):
        titles = {title for title, _ in json.loads(row["sections"])}
        lacks = [f"section « {t} »" for t in recommended if t not in titles]
        if not row["densite"]:
            lacks.insert(0, "territoire.densite")
        if lacks:
            missing.append((row["slug"], lacks))
    costs = cost_counts(catalog)
    groups.append(FacetGroup(COSTS_TITLE, [(COSTS_GIVEN, costs["couts"], 0), (COSTS_OLD, costs["budget_eur"], 0)]))
    return {"total": catalog.count(), "groups": groups, "missing": missing, "couts": costs,
            "departements": len(counts.get("departement", {})), "invalid": len({p["path"] for p in catalog.problems()}),
            "a_relire": to_review(catalog, review_months, today), "relecture_mois": review_months}


def to_review(catalog: Catalog, months: int, today: dt.date | None = None) -> list[tuple[str, str]]:
    """(slug, mise_a_jour) of the fiches last reviewed more than ``months`` months ago, oldest first."""
    limit = months_before(today or dt.date.today(), months).isoformat()
    return [(row["slug"], row["mise_a_jour"]) for row in catalog.db.query(
        "SELECT slug, mise_a_jour FROM fiches WHERE mise_a_jour < ? ORDER BY mise_a_jour, slug", [limit])]


COSTS_TITLE = "Coûts (contrat v2)"
REVIEW_TITLE = "Fiches à relire (plus de {months} mois)"
COSTS_GIVEN = "fiches qui donnent leurs coûts (couts: investissement_eur ou fonctionnement_eur_an)"
COSTS_OLD = "fiches qui utilisent encore budget_eur (ancien champ, à remplacer par couts)"


def cost_counts(catalog: Catalog) -> dict[str, int]:
    """How many fiches give their costs (``couts`` with an investment or a running cost, so
    that :func:`kb.costs.total` is known), and how many still use ``budget_eur``."""
    row = catalog.db.execute("SELECT count(cout_total), count(budget_eur) FROM fiches").fetchone()
    return {"couts": row[0], "budget_eur": row[1]}


def _rows(facet, counts: dict) -> list[tuple[str, int, int]]:
    """(« label (value) », count, indent) of a facet's values; under a parent, each parent value
    comes first with its children indented. Facets with ``stats_present_only`` list only the
    values some fiche has."""
    def row(name: str, value: str, indent: int) -> tuple[str, int, int]:
        return (f"{REGISTRY.label(name, value)} ({value})", counts.get(name, {}).get(value, 0), indent)

    if facet.parent:
        parent = facet.parent[0]
        return [r for value, children in REGISTRY.groups(facet).items()
                for r in [row(parent, value, 0)] + [row(facet.name, c, 1) for c in children]]
    present = counts.get(facet.name, {})
    return [row(facet.name, value, 0) for value in REGISTRY.values(facet)
            if present.get(value) or not facet.stats_present_only]
