"""Counts of the bank by facet, and the fiches that lack recommended fields or sections."""

from __future__ import annotations

import json
from dataclasses import dataclass

from kb.catalog import Catalog
from kb.vocab import vocab


@dataclass
class FacetGroup:
    title: str
    rows: list[tuple[str, int, int]]  # (label, count, indent level)


def bank_stats(catalog: Catalog) -> dict:
    v = vocab()
    counts = catalog.facet_counts()

    def rows(facet: str, labels: dict[str, str], keep_zero: bool = True) -> list[tuple[str, int, int]]:
        values = counts.get(facet, {})
        return [(f"{labels[s]} ({s})", values.get(s, 0), 0) for s in labels if keep_zero or values.get(s)]

    themes = []
    for axe, label in v.axes.items():
        themes.append((f"{label} ({axe})", counts.get("axe", {}).get(axe, 0), 0))
        for theme in v.thematiques_of_axe(axe):
            themes.append((f"{v.thematiques[theme]} ({theme})", counts.get("thematique", {}).get(theme, 0), 1))
    density = []
    for level, label in v.regroupements.items():
        density.append((f"{label} ({level})", counts.get("densite_niveau", {}).get(level, 0), 0))
        for detail in v.densites_of(level):
            density.append((f"{v.densite[detail]} ({detail})", counts.get("densite", {}).get(detail, 0), 1))
    departements = sorted(counts.get("departement", {}).items(), key=lambda kv: _dep_order(kv[0]))
    groups = [
        FacetGroup("Thématiques (par axe)", themes),
        FacetGroup("Publics", rows("public", v.publics)),
        FacetGroup("Types de territoire", rows("type", v.types_territoire)),
        FacetGroup("Densité", density),
        FacetGroup("Départements", [(f"{v.departements.get(d, d)} ({d})", n, 0) for d, n in departements]),
        FacetGroup("Statut", rows("statut", v.statuts)),
    ]
    missing = []
    recommended = v.recommended_sections
    for row in catalog.db.query("SELECT slug, densite, sections FROM fiches ORDER BY slug"):
        titles = {title for title, _ in json.loads(row["sections"])}
        lacks = [f"section « {t} »" for t in recommended if t not in titles]
        if not row["densite"]:
            lacks.insert(0, "territoire.densite")
        if lacks:
            missing.append((row["slug"], lacks))
    return {"total": catalog.count(), "groups": groups, "missing": missing,
            "departements": len(departements), "invalid": len({p["path"] for p in catalog.problems()})}


def _dep_order(code: str) -> tuple[int, str]:
    digits = code.replace("2A", "20.1").replace("2B", "20.2")
    return (0, f"{float(digits):08.2f}")
