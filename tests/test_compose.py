"""Contribution form → fiche text (kb.compose), checked by the validator of `kb validate`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from kb.compose import FicheForm, body, check, compose, fiche_slug, parse_fundings, parse_links, split_lines
from kb.fiche import parse_bytes

TODAY = dt.date(2026, 12, 2)


def complete_form(**changes) -> FicheForm:
    values = dict(
        titre="Un bus numérique: itinérant, pour les démarches #1",
        resume="Un bus équipé de postes passe chaque semaine dans quinze villages pour aider les habitants "
               "dans leurs démarches administratives.",
        thematiques=["aide-demarches", "mediation-numerique"], publics=["seniors"],
        territoire_nom="Communauté de communes du Val d'Aubre", territoire_type="communaute-de-communes",
        densite="rural-disperse", departements=["26", "2A"], population=18500,
        porteur="Service cohésion sociale", partenaires=["CAF", "France Services"],
        dispositifs=["france-services"], debut="2022-03", statut="en-cours",
        couts={"investissement_eur": 95000.0, "fonctionnement_eur_an": 62000.0, "etp": 1.5, "mise_en_place_mois": 8,
               "beneficiaires_an": 1400, "beneficiaires_unite": None, "annee": 2024},
        financements=[{"source": "DSIL", "montant_eur": 60000}, "fonds propres"],
        contact={"nom": "", "email": "bus@val.example", "site": "https://val.example"},
        liens=[{"titre": "Bilan", "url": "https://val.example/bilan", "type": "bilan"}], mots_cles=["bus"],
        mise_a_jour=TODAY,
        sections={"Contexte": "Quinze villages sans service public.", "Objectifs": "Aider chaque habitant.",
                  "Mise en œuvre": "Un bus aménagé avec quatre postes.", "Résultats": "1 200 accompagnements.",
                  "Conseils pour reproduire": "Commencer par les villages équipés.", "Moyens": ""},
    )
    values.update(changes)
    return FicheForm(**values)


def test_a_complete_form_gives_a_valid_fiche_with_the_same_values():
    slug, text, fiche, problems = check(complete_form(), TODAY)
    assert slug == "un-bus-numerique-itinerant-pour-les-demarches-1"
    assert fiche is not None, [p.format() for p in problems]
    assert not [p for p in problems if p.severity == "error"]
    assert fiche.titre == "Un bus numérique: itinérant, pour les démarches #1"
    assert fiche.departements == ["26", "2A"] and fiche.debut == "2022-03"
    assert fiche.budget_eur is None and fiche.territoire["population"] == 18500
    assert fiche.couts == {"investissement_eur": 95000, "fonctionnement_eur_an": 62000, "etp": 1.5,
                           "mise_en_place_mois": 8, "beneficiaires_an": 1400, "annee": 2024}
    assert fiche.financements == [{"source": "DSIL", "montant_eur": 60000}, "fonds propres"]
    assert fiche.liens == [{"titre": "Bilan", "url": "https://val.example/bilan", "type": "bilan"}]
    assert not problems  # no warning either: the form writes contract v2
    assert fiche.contact == {"email": "bus@val.example", "site": "https://val.example"}
    assert [s.title for s in fiche.sections] == ["Contexte", "Objectifs", "Mise en œuvre", "Résultats",
                                                 "Conseils pour reproduire"]
    front = yaml.safe_load(text.split("---\n")[1])
    assert list(front)[:3] == ["titre", "resume", "thematiques"]
    assert list(front["couts"]) == ["investissement_eur", "fonctionnement_eur_an", "etp", "mise_en_place_mois",
                                    "beneficiaires_an", "annee"]  # whole numbers written as integers
    assert "investissement_eur: 95000\n" in text and "budget_eur" not in text
    assert front["mise_a_jour"] == TODAY


def test_an_empty_form_reports_every_missing_field_in_french():
    slug, text, fiche, problems = check(FicheForm(), TODAY)
    assert fiche is None
    messages = " ".join(p.message for p in problems)
    for key in ("titre", "resume", "thematiques", "publics", "territoire", "porteur", "debut", "statut"):
        assert f"« {key} » manque" in messages
    assert "section obligatoire « ## Contexte » vide" in messages


def test_problems_are_exactly_those_of_the_validator():
    form = complete_form(titre="Court", departements=[], debut="2031")
    slug, text, fiche, problems = check(form, TODAY)
    _, expected = parse_bytes(text.encode(), Path("practices") / f"{slug}.md", TODAY)
    assert problems == expected
    messages = [p.message for p in problems]
    assert any("« titre » fait 5 caractères" in m for m in messages)
    assert any("territoire.departements" in m for m in messages)
    assert any("dans le futur" in m for m in messages)


def test_empty_optional_sections_are_left_out_and_required_ones_kept():
    text = body(FicheForm(sections={"Moyens": "  ", "Contexte": "Texte"}))
    assert "## Moyens" not in text
    assert "## Contexte\n\nTexte" in text and "## Résultats" in text


def test_slug_override_and_helpers():
    assert fiche_slug(FicheForm(titre="L'école numérique", slug="")) == "ecole-numerique"
    assert fiche_slug(FicheForm(titre="x", slug="  mon-slug ")) == "mon-slug"
    assert split_lines(" a \n\n b\n") == ["a", "b"]
    assert parse_links("Bilan | https://x.example\nhttps://y.example") == [
        {"titre": "Bilan", "url": "https://x.example"}, {"titre": "https://y.example", "url": "https://y.example"}]
    # an optional third part is the link's type, as its slug or its label
    assert parse_links("Délibération | https://x.example | Délibération\nA | B | https://y.example | bilan\n"
                       "Guide | https://z.example | mode d'emploi") == [
        {"titre": "Délibération", "url": "https://x.example", "type": "deliberation"},
        {"titre": "A | B", "url": "https://y.example", "type": "bilan"},
        {"titre": "Guide", "url": "https://z.example", "type": "mode d'emploi"}]
    assert parse_fundings("DSIL | 60 000 €\nfonds propres\nRégion | 12500,50\nCAF | beaucoup") == [
        {"source": "DSIL", "montant_eur": 60000}, "fonds propres", {"source": "Région", "montant_eur": 12500.5},
        {"source": "CAF", "montant_eur": "beaucoup"}]


def test_form_costs_and_link_types_go_through_the_validator():
    form = complete_form(couts={"etp": 2.0, "beneficiaires_unite": "communes"},
                         financements=parse_fundings("DSIL | 60000\nCAF | beaucoup"),
                         liens=parse_links("Guide | https://z.example | mode d'emploi"))
    slug, text, fiche, problems = check(form, TODAY)
    assert "beneficiaires_unite" not in text  # a unit says nothing without a number of beneficiaries
    errors = {p.field: p for p in problems if p.severity == "error"}
    assert set(errors) == {"financements.montant_eur", "liens.type"}
    assert errors["financements.montant_eur"].form_message == (
        "« Montant du financement (€) » doit être un nombre d'euros sans espace ni symbole (par exemple 140000), "
        "pas « beaucoup ».")
    assert errors["liens.type"].message.startswith("« mode d'emploi » n'est pas une valeur de « liens.type »")
    form = complete_form(couts={"investissement_eur": 10000.0}, financements=parse_fundings("DSIL | 60000"))
    warnings = [p for p in check(form, TODAY)[3] if p.severity == "warning"]
    assert [p.form_message for p in warnings] == [
        "les montants des financements (60 000 €) dépassent l'investissement et le coût de fonctionnement annuel "
        "réunis (10 000 €) : vérifiez-les."]


def test_text_that_looks_like_yaml_syntax_stays_text():
    form = complete_form(porteur="Service: « numérique » - pôle #2", partenaires=["- CAF", "yes", "2024"])
    slug, text, fiche, problems = check(form, TODAY)
    assert fiche is not None, [p.format() for p in problems]
    assert fiche.porteur == "Service: « numérique » - pôle #2"
    assert fiche.partenaires == ["- CAF", "yes", "2024"]
    assert compose(form, TODAY) == text
