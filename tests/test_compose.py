"""Contribution form → fiche text (kb.compose), checked by the validator of `kb validate`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from kb.compose import FicheForm, body, check, compose, fiche_slug, parse_links, split_lines
from kb.fiche import parse_bytes

TODAY = dt.date(2026, 11, 30)


def complete_form(**changes) -> FicheForm:
    values = dict(
        titre="Un bus numérique: itinérant, pour les démarches #1",
        resume="Un bus équipé de postes passe chaque semaine dans quinze villages pour aider les habitants "
               "dans leurs démarches administratives.",
        thematiques=["aide-demarches", "mediation-numerique"], publics=["seniors"],
        territoire_nom="Communauté de communes du Val d'Aubre", territoire_type="communaute-de-communes",
        densite="rural-disperse", departements=["26", "2A"], population=18500,
        porteur="Service cohésion sociale", partenaires=["CAF", "France Services"],
        dispositifs=["france-services"], debut="2022-03", statut="en-cours", budget_eur=140000.0,
        financements=["DSIL"], contact={"nom": "", "email": "bus@val.example", "site": "https://val.example"},
        liens=[{"titre": "Bilan", "url": "https://val.example/bilan"}], mots_cles=["bus"],
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
    assert fiche.budget_eur == 140000 and fiche.territoire["population"] == 18500
    assert fiche.contact == {"email": "bus@val.example", "site": "https://val.example"}
    assert [s.title for s in fiche.sections] == ["Contexte", "Objectifs", "Mise en œuvre", "Résultats",
                                                 "Conseils pour reproduire"]
    front = yaml.safe_load(text.split("---\n")[1])
    assert list(front)[:3] == ["titre", "resume", "thematiques"]
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


def test_text_that_looks_like_yaml_syntax_stays_text():
    form = complete_form(porteur="Service: « numérique » - pôle #2", partenaires=["- CAF", "yes", "2024"])
    slug, text, fiche, problems = check(form, TODAY)
    assert fiche is not None, [p.format() for p in problems]
    assert fiche.porteur == "Service: « numérique » - pôle #2"
    assert fiche.partenaires == ["- CAF", "yes", "2024"]
    assert compose(form, TODAY) == text
