"""HTML pieces of the page « Mon territoire » (kb/webapp/views/territoire.py): the territory
card and the reasons of a proposed fiche. Every text is escaped (components.esc)."""

from __future__ import annotations

from kb.comparable import Match
from kb.costs import number_fr
from kb.results import Hit
from kb.territoires import Territory, departement_nom
from kb.webapp.components import esc, result_card


def _population(value) -> str:
    return "inconnue" if value is None else f"{number_fr(value)} habitants"


def card(territory: Territory) -> str:
    """Type, département(s), région, population (and bracket), intercommunalité."""
    if territory.kind == "epci" and len(territory.departements) > 1:
        deps = ("Départements", ", ".join(f"{departement_nom(d)} ({d})" for d in territory.departements))
    else:
        deps = ("Département", f"{territory.departement_nom} ({territory.departement})"
                if territory.departement else "inconnu")
    rows = [
        ("Type", territory.type_label),
        ("Code INSEE" if territory.kind == "commune" else "SIREN", territory.code),
        deps,
        ("Région", territory.region_nom or "inconnue"),
        ("Population", _population(territory.population)
         + (f" ({territory.tranche_label.lower()})" if territory.tranche_label else "")),
    ]
    if territory.kind == "commune":
        rows.append(("Intercommunalité", territory.epci_nom or "aucune (commune isolée)"))
    else:
        rows.append(("Communes membres", territory.membres))
    rows.append(("Densité", "non connue (absente des données de référence)"))
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
    return f'<div class="kb-card kb-territoire" lang="fr"><dl class="kb-meta-list">{items}</dl></div>'


def match_card(match: Match) -> str:
    """A result card of the fiche, then why it is proposed."""
    hit = Hit(slug=match.slug, titre=match.fiche.titre, score=match.score, fiche=match.fiche)
    reasons = "".join(f'<span class="kb-badge kb-badge-raison">{esc(r)}</span>' for r in match.raisons)
    return (f'{result_card(hit, show_snippet=False)}'
            f'<div class="kb-badges kb-raisons" lang="fr"><span class="kb-visually-hidden">Pourquoi : </span>'
            f'{reasons}</div>')
