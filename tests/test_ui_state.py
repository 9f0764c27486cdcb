"""URL <-> search state of the application (kb/webapp/state.py) and its HTML pieces (kb/webapp/components.py)."""

from __future__ import annotations

import dataclasses

from kb.filters import Filters
from kb.model import Fiche
from kb.webapp import components, state

# a fiche with every required field empty: each test sets the fields it is about
BLANK = Fiche(slug="", path="", titre="", resume="", thematiques=[], publics=[], territoire={}, porteur="",
              debut="", statut="", mise_a_jour="", body="", sections=[])


def make_fiche(**fields) -> Fiche:
    return dataclasses.replace(BLANK, **fields)


def test_url_parameters_round_trip():
    search = state.SearchState(
        "aider les seniors",
        Filters(thematiques=["aide-demarches", "mediation-numerique"], publics=["seniors"],
                types=["commune"], densites=["rural", "petites-villes"], departements=["26", "2A"],
                regions=["84"], statuts=["en-cours"], axes=["inclusion"], dispositifs=["france-services"]),
        "date")
    params = state.params_from_state(search)
    assert params == {"q": ["aider les seniors"], "thematique": ["aide-demarches", "mediation-numerique"],
                      "axe": ["inclusion"], "public": ["seniors"], "type": ["commune"],
                      "densite": ["rural", "petites-villes"], "departement": ["26", "2A"], "region": ["84"],
                      "statut": ["en-cours"], "dispositif": ["france-services"], "tri": ["date"]}
    restored, dropped = state.state_from_params(params)
    assert restored == search and dropped == []


def test_empty_search_has_an_empty_url_and_relevance_is_the_default_sort():
    assert state.params_from_state(state.SearchState()) == {}
    restored, dropped = state.state_from_params({})
    assert restored == state.SearchState() and dropped == []


def test_unknown_values_in_a_shared_link_are_dropped_with_a_message():
    restored, dropped = state.state_from_params(
        {"public": ["seniors", "senior", "seniors"], "type": ["<script>"], "tri": ["n'importe"], "q": ["  a   b "]})
    assert restored.filters.publics == ["seniors"] and restored.filters.types == []
    assert restored.sort == "relevance" and restored.query == "a b"
    assert len(dropped) == 3 and any("senior" in m for m in dropped)


def test_result_card_escapes_every_fiche_text():
    class Hit:
        snippet = "un <b>passage</b> trouvé"
        highlights = [(3, 11)]
        snippet_section = "Contexte<script>"
        fiche = make_fiche(territoire={"nom": "<img src=x onerror=alert(1)>", "type": "commune",
                                       "departements": ["26"]},
                           resume="Résumé <script>alert(1)</script>", thematiques=["open-data"], publics=["seniors"],
                           statut="en-cours")

    html = components.result_card(Hit())
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "<mark>&lt;b&gt;passa</mark>" in html
    assert "Données ouvertes" in html and "Seniors et personnes âgées" in html and "Drôme (26)" in html


def test_fiche_pieces_are_safe():
    unsafe = make_fiche(
        body="## Contexte\n\n<script>alert(1)</script>[lien](javascript:alert(1)) <img src=x onerror=y>",
        contact={"email": "a\"b@x.fr", "telephone": "04 75 00 00 00", "site": "javascript:alert(1)"},
        liens=[{"titre": "<b>x</b>", "url": "javascript:alert(1)"}, {"titre": "ok", "url": "https://ok.example"}],
        titre="t", territoire={"nom": "<i>x</i>", "population": 18500}, budget_eur=140000.0)
    body = components.fiche_body(unsafe)
    assert "<script" not in body and "javascript:" not in body and "onerror" not in body
    assert "<h2>Contexte</h2>" in body
    contact = components.contact(unsafe)
    assert "javascript:" not in contact and "https://ok.example" in contact and 'a"b' not in contact
    meta = components.metadata(unsafe)
    assert "<i>" not in meta and "140\u202f000 €" in meta and "18\u202f500 habitants" in meta


def test_edit_link_formats_path_and_slug_and_hides_when_unset():
    named = make_fiche(path="practices/bus numerique.md", slug="bus-numerique")
    assert components.edit_link("", named) is None
    assert components.edit_link("https://forge.example/banque/-/edit/main/{path}?s={slug}", named) == \
        "https://forge.example/banque/-/edit/main/practices/bus%20numerique.md?s=bus-numerique"
    assert components.edit_link("javascript:alert('{slug}')", named) is None


def test_markdown_escape_keeps_titles_as_text():
    assert components.md_escape("Un [lien](javascript:x) *gras* 1 000 $") == \
        r"Un \[lien\]\(javascript\:x\) \*gras\* 1 000 \$"
