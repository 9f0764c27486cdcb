"""The skeleton of a new fiche, written by ``kb new`` and by the application's form.

Placeholders carry the marker ``À COMPLÉTER`` so that ``kb validate`` flags every one of them
until the editor has filled it. Optional fields are left empty: the ``couts`` block lists its
keys with no value (an empty key is a missing figure), each with a comment saying what it holds.
"""

from __future__ import annotations

import datetime as dt

from kb import costs
from kb.fiche import PLACEHOLDER
from kb.vocab import vocab

SECTION_HINTS = {
    "Contexte": "le territoire (taille, densité, services existants) et le problème de départ.",
    "Objectifs": "ce que l'initiative voulait obtenir, si possible chiffré.",
    "Mise en œuvre": "les étapes, l'organisation, les outils, le calendrier.",
    "Moyens": "l'équipe (ETP, rôles), le budget détaillé, le matériel.",
    "Résultats": "les résultats mesurés: indicateurs, chiffres, retours des usagers.",
    "Difficultés et solutions": "ce qui n'a pas marché et comment l'équipe s'est adaptée.",
    "Conseils pour reproduire": "ce qu'un autre territoire doit savoir pour s'en inspirer.",
    "Pour aller plus loin": "documents, liens, contacts utiles.",
}


def new_fiche_text(titre: str, today: dt.date | None = None) -> str:
    v = vocab()
    today = today or dt.date.today()
    comment = lambda label, values: f"# {label}: {', '.join(values)}"  # noqa: E731
    themes = [f"#   {axe}: {', '.join(v.thematiques_of_axe(axe))}" for axe in v.axes]
    lines = [
        "---",
        f"titre: {_yaml_text(titre)}",
        f"resume: \"{PLACEHOLDER}: une ou deux phrases qui résument l'initiative (50 à 400 caractères).\"",
        "# thematiques: 1 à 5 valeurs parmi (par axe):",
        *themes,
        f"thematiques: [{PLACEHOLDER}]",
        comment("publics: 1 à 6 valeurs parmi", v.publics),
        f"publics: [{PLACEHOLDER}]",
        "territoire:",
        f"  nom: \"{PLACEHOLDER}: nom de la collectivité\"",
        "  " + comment("type", v.types_territoire),
        f"  type: {PLACEHOLDER}",
        "  " + comment("densite (grille INSEE)", v.densite),
        f"  densite: {PLACEHOLDER}",
        "  departements: [\"" + PLACEHOLDER + "\"]  # codes INSEE entre guillemets: \"26\", \"2A\", \"974\"",
        "  population: 1  # nombre d'habitants du territoire",
        f"porteur: \"{PLACEHOLDER}: service ou structure qui porte l'initiative\"",
        "partenaires: []",
        "# dispositifs (facultatif): " + ", ".join(v.dispositifs),
        "dispositifs: []",
        f"debut: {today.year}  # AAAA ou AAAA-MM",
        comment("statut", v.statuts),
        "statut: en-cours",
        "# couts (recommandé): chiffres en euros TTC de l'année « annee »; laissez vide ce que vous ignorez",
        "couts:",
        "  investissement_eur:  # coûts ponctuels: matériel, travaux, prestations de mise en place",
        "  fonctionnement_eur_an:  # coût de fonctionnement par an, personnel compris",
        "  etp:  # équivalents temps plein consacrés à l'initiative (par exemple 1.5)",
        "  mise_en_place_mois:  # mois entre la décision et le premier service rendu",
        "  beneficiaires_an:  # nombre de bénéficiaires touchés en un an",
        f"  beneficiaires_unite: {costs.DEFAULT_UNITE}  # {', '.join(v.beneficiaires_unites)}",
        "  annee:  # année des chiffres, AAAA",
        "# financements: un texte (DSIL, fonds propres) ou {source: DSIL, montant_eur: 60000}",
        "financements: []",
        "# liens: - {titre: …, url: https://…, type: …}; type (facultatif): " + ", ".join(v.types_liens),
        "liens: []",
        "mots_cles: []",
        f"mise_a_jour: {today.isoformat()}",
        "---",
        "",
    ]
    for section in v.sections:
        title = section["titre"]
        hint = SECTION_HINTS.get(title, "")
        optional = "" if section.get("requise") else " (section facultative: supprimez-la si besoin)"
        lines += [f"## {title}", "", f"{PLACEHOLDER}: {hint}{optional}", ""]
    return "\n".join(lines)


def _yaml_text(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
