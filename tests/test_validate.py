"""One test per rule of the fiche contract: the fiche that breaks it, its message and line."""

from __future__ import annotations

import pytest

from conftest import TODAY, VALID, variant
from kb.bank import check_paths
from kb.fiche import parse_bytes


def problems_of(text: str | bytes, name: str = "bus-numerique.md"):
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    fiche, problems = parse_bytes(data, f"practices/{name}", today=TODAY)
    return fiche, problems


def errors_of(text, name="bus-numerique.md"):
    return [p for p in problems_of(text, name)[1] if p.severity == "error"]


def test_the_contract_example_is_valid():
    fiche, problems = problems_of(VALID)
    assert problems == []
    assert fiche.slug == "bus-numerique"
    assert fiche.thematiques == ["aide-demarches", "mediation-numerique"]
    assert fiche.territoire["departements"] == ["26"]
    assert fiche.debut == "2022-03"
    assert fiche.mise_a_jour == "2026-09-15"
    assert [s.title for s in fiche.sections] == ["Contexte", "Objectifs", "Mise en œuvre", "Résultats",
                                                 "Conseils pour reproduire"]


# (id, text, expected line, a piece of the expected message)
BROKEN = [
    ("titre-missing", variant(titre=None), 20, "« titre » manque"),
    ("titre-short", variant(titre="titre: Bus"), 2, "« titre » fait 3 caractères; il en faut de 10 à 120"),
    ("titre-long", variant(titre="titre: " + "x" * 121), 2, "fait 121 caractères"),
    ("titre-list", variant(titre="titre: [un, deux]"), 2, "doit être un texte, pas une liste"),
    ("resume-short", VALID.replace(VALID[VALID.index("resume:"):VALID.index("thematiques:")], "resume: Trop court.\n"),
     3, "« resume » fait 11 caractères; il en faut de 50 à 400"),
    ("thematique-unknown", variant(thematiques="thematiques: [aide-demarche]"), 6,
     "« aide-demarche » n'est pas une valeur de « thematiques »: vouliez-vous dire « aide-demarches » ?"),
    ("thematiques-string", variant(thematiques="thematiques: aide-demarches"), 6,
     "« thematiques » doit être une liste: écrivez « thematiques: [aide-demarches] »"),
    ("thematiques-too-many", variant(thematiques="thematiques: [aide-demarches, mediation-numerique, open-data, dataviz, mobilites, tiers-lieux]"), 6, "a 6 valeurs; il en faut de 1 à 5"),
    ("thematique-duplicate", variant(thematiques="thematiques: [aide-demarches, aide-demarches]"), 6, "en double"),
    ("public-near-miss", variant(publics="publics: [senior, eloignes-numerique]"), 7,
     "vouliez-vous dire « seniors » ?"),
    ("publics-too-many", variant(publics="publics: [seniors, jeunes, enfants, familles, etudiants, femmes, elus]"), 7,
     "il en faut de 1 à 6"),
    ("type-acronym", variant(**{"  type": "  type: CC"}), 10, "vouliez-vous dire « communaute-de-communes » ?"),
    ("densite-unknown", variant(**{"  densite": "  densite: rural"}), 11, "« rural » n'est pas une valeur de « territoire.densite »"),
    ("departement-number", variant(**{"  departements": "  departements: [26]"}), 12, "écrivez-le entre guillemets, « \"26\" »"),
    ("departement-unknown", variant(**{"  departements": "  departements: [\"20\"]"}), 12, "Corse: « 2A » ou « 2B »"),
    ("departement-one-digit", variant(**{"  departements": "  departements: [\"1\"]"}), 12, "écrivez « 01 »"),
    ("territoire-unknown-key", variant(**{"  population": "  habitants: 18500"}), 13, "clé inconnue « territoire.habitants »"),
    ("population-negative", variant(**{"  population": "  population: -3"}), 13, "doit être un nombre entier"),
    ("territoire-nom-missing", variant(**{"  nom": None}), 8, "« territoire.nom » est obligatoire"),
    ("debut-future", variant(debut="debut: 2027-01"), 17, "est dans le futur"),
    ("debut-format", variant(debut="debut: mars 2022"), 17, "écrivez l'année et le mois, AAAA-MM"),
    ("debut-month", variant(debut="debut: 2022-13"), 17, "AAAA-MM"),
    ("statut-unknown", variant(statut="statut: fini"), 18, "« fini » n'est pas une valeur de « statut »"),
    ("mise-a-jour-future", variant(mise_a_jour="mise_a_jour: 2026-12-03"), 20, "est dans le futur"),
    ("mise-a-jour-format", variant(mise_a_jour="mise_a_jour: 15/09/2026"), 20, "écrivez une date AAAA-MM-JJ"),
    ("budget-text", variant(couts="budget_eur: 140 000 €"), 19, "doit être un nombre d'euros"),
    ("budget-negative", variant(couts="budget_eur: -5"), 19, "positif ou nul"),
    ("dispositif-unknown", variant(dispositifs="dispositifs: [france-service]"), 16, "vouliez-vous dire « france-services » ?"),
    ("partenaires-string", variant(partenaires="partenaires: CAF"), 15, "« partenaires » doit être une liste"),
    ("unknown-key", variant(porteur="porteur: Service\nresumé: x"), 15, "clé inconnue « resumé »: vouliez-vous dire « resume » ?"),
    ("duplicate-key", variant(porteur="porteur: Service\nporteur: Autre"), 15, "clé « porteur » en double"),
    ("lien-scheme", variant(porteur="porteur: Service\nliens:\n  - {titre: Site, url: javascript:alert(1)}"), 16,
     "doit commencer par https:// ou http://"),
    ("lien-no-url", variant(porteur="porteur: Service\nliens:\n  - {titre: Site}"), 16, "chaque lien a un « titre » et une « url »"),
    ("contact-email", variant(porteur="porteur: Service\ncontact: {email: pas-une-adresse}"), 15, "n'est pas une adresse électronique"),
    ("contact-site", variant(porteur="porteur: Service\ncontact: {site: ftp://x.fr}"), 15, "« contact.site » doit commencer par https://"),
    ("contact-unknown-key", variant(porteur="porteur: Service\ncontact: {mail: a@b.fr}"), 15, "clé inconnue « contact.mail »"),
    ("yaml-malformed", variant(porteur="porteur: [Service"), 15, "YAML invalide"),
    ("yaml-tag", variant(porteur="porteur: !!python/object/apply:os.system [echo]"), 14, "étiquette YAML non autorisée"),
    ("yaml-alias", variant(porteur="porteur: &p Service\nx_copie: *p"), 14, "ancres et alias YAML"),
    ("section-missing", VALID.replace("## Résultats\n\n1 200 accompagnements la première année, dont 70 % de personnes de plus de 65 ans.\n\n", ""), 22,
     "section obligatoire « ## Résultats » absente"),
    ("section-empty", VALID.replace("1 200 accompagnements la première année, dont 70 % de personnes de plus de 65 ans.", ""), 35,
     "section obligatoire « ## Résultats » vide"),
    ("section-wrong-level", VALID.replace("## Contexte", "# Contexte"), 23, "« # Contexte » est un titre de niveau 1: les sections s'écrivent « ## Contexte »"),
    ("section-as-label", VALID.replace("## Contexte", "Contexte:"), 23, "« Contexte: » ressemble à une section"),
    ("section-order", VALID.replace("## Objectifs", "## TEMP").replace("## Contexte", "## Objectifs").replace("## TEMP", "## Contexte"), 27,
     "section « ## Contexte » mal placée"),
    ("section-duplicate", VALID + "\n## Résultats\n\nEncore.\n", 43, "section « ## Résultats » en double"),
    ("placeholder", VALID.replace("Quinze villages", "À COMPLÉTER: quinze villages"), 25, "texte à compléter"),
    ("no-front-matter", "## Contexte\n\nTexte.\n", 1, "pas d'en-tête YAML"),
    ("front-matter-unclosed", "---\ntitre: Un titre assez long\n", 1, "en-tête YAML non fermé"),
    ("empty-file", "", 1, "fichier vide"),
    ("not-a-mapping", "---\n- a\n- b\n---\n## Contexte\n", 2, "suite de champs « clé: valeur »"),
]


@pytest.mark.parametrize("text,line,message", [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_each_rule_reports_its_message_and_line(text, line, message):
    fiche, problems = problems_of(text)
    errors = [p for p in problems if p.severity == "error"]
    assert fiche is None
    matching = [p for p in errors if message in p.message]
    assert matching, f"expected « {message} » among {[p.format() for p in errors]}"
    assert matching[0].line == line, matching[0].format()
    assert matching[0].path == "practices/bus-numerique.md"


def test_every_problem_is_reported_not_only_the_first():
    text = variant(titre="titre: Bus", statut="statut: fini", publics="publics: [senior]")
    messages = [p.message for p in errors_of(text)]
    assert any("« titre »" in m for m in messages)
    assert any("« fini »" in m for m in messages)
    assert any("« senior »" in m for m in messages)


def test_invalid_utf8_names_the_line_and_the_encoding():
    data = VALID.replace("Quinze villages", "Quinze villages é").encode("latin-1", errors="replace")
    errors = errors_of(data)
    assert errors[0].message.startswith("texte non UTF-8")
    assert "Latin-1" in errors[0].message
    assert errors[0].line == 2  # "numérique", in the title


def test_slug_rule_on_file_names():
    assert "renommez-le « bus-numerique.md »" in errors_of(VALID, "Bus Numérique.md")[0].message
    assert errors_of(VALID, "ab.md")
    assert not errors_of(VALID, "abc.md")


def test_unknown_x_keys_are_kept_and_ignored():
    fiche, problems = problems_of(variant(porteur="porteur: Service\nx_interne: 42"))
    assert problems == [] and fiche.extras == {"x_interne": 42}


def test_recommended_fields_and_sections_are_warnings():
    text = variant(**{"  densite": None}).replace(
        "## Conseils pour reproduire\n\nCommencer par les villages qui ont une salle communale chauffée.\n", "")
    fiche, problems = problems_of(text)
    assert fiche is not None
    warnings = {p.message.split(":")[0] for p in problems}
    assert "« territoire.densite » est recommandé (grille communale de densité de l'INSEE" in warnings
    assert any("section recommandée « ## Conseils pour reproduire » absente" in p.message for p in problems)


def test_unknown_section_and_spelling_variants_are_warnings():
    text = VALID.replace("## Mise en œuvre", "## Mise en oeuvre") + "\n## Budget détaillé\n\nVoir plus haut.\n"
    fiche, problems = problems_of(text)
    assert fiche is not None
    assert any(p.message == "titre de section « ## Mise en oeuvre »: écrivez « ## Mise en œuvre »." for p in problems)
    assert any("section inconnue « ## Budget détaillé »" in p.message for p in problems)


def test_raw_html_is_a_warning():
    fiche, problems = problems_of(VALID.replace("Quinze villages", "<script>alert(1)</script> Quinze villages"))
    assert fiche is not None
    assert any(p.severity == "warning" and "HTML brut" in p.message and p.line == 25 for p in problems)


def test_duplicate_slugs_and_titles_across_the_bank(write_fiche, tmp_path):
    write_fiche("bus-numerique.md")
    write_fiche("autre-bus.md", VALID)  # same title
    (tmp_path / "practices" / "sub").mkdir()
    write_fiche("sub/bus-numerique.md", variant(titre="titre: Un tout autre titre de fiche"))
    result = check_paths([tmp_path / "practices"], today=TODAY)
    messages = [p.format() for p in result.problems]
    assert any("bus-numerique.md:2: error: même titre que" in m for m in messages), messages
    assert any("sub/bus-numerique.md:1: error: slug « bus-numerique » déjà utilisé par" in m for m in messages)
    assert len(result.valid) == 1
