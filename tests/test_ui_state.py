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
                regions=["84"], statuts=["en-cours"], axes=["inclusion"], dispositifs=["france-services"],
                populations=["moins-de-1000", "1000-a-3500"], couts=["moins-de-10000"]),
        "date")
    params = state.params_from_state(search)
    assert params == {"q": ["aider les seniors"], "thematique": ["aide-demarches", "mediation-numerique"],
                      "axe": ["inclusion"], "public": ["seniors"], "type": ["commune"],
                      "densite": ["rural", "petites-villes"], "departement": ["26", "2A"], "region": ["84"],
                      "statut": ["en-cours"], "dispositif": ["france-services"],
                      "population": ["moins-de-1000", "1000-a-3500"], "cout": ["moins-de-10000"], "tri": ["date"]}
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
    assert "habitant" not in html  # no population given, none shown
    html = components.result_card(type("Peopled", (Hit,), {"fiche": make_fiche(
        territoire={"nom": "Val", "departements": ["26"], "population": 18500})})())
    assert "Val · Drôme (26) · 18\u202f500 habitants" in html


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
    assert "<i>" not in meta and "140\u202f000\u202f€" in meta and "18\u202f500 habitants" in meta
    assert "Budget (ancien champ)" in meta
    assert components.costs_block(unsafe) == ""  # no figure, no block


def test_the_costs_block_shows_given_and_derived_figures_in_french():
    fiche = make_fiche(couts={"investissement_eur": 95000, "fonctionnement_eur_an": 62000, "etp": 1.5,
                              "mise_en_place_mois": 8, "beneficiaires_an": 1400, "annee": 2024},
                       financements=[{"source": "DSIL", "montant_eur": 60000},
                                     {"source": "<b>CD</b>", "montant_eur": 20000}, "fonds propres"],
                       liens=[{"titre": "Délibération", "url": "https://ok.example", "type": "deliberation"}])
    nb = "\u202f"
    assert components.costs_rows(fiche) == [
        ("Investissement", f"95{nb}000{nb}€"), ("Fonctionnement annuel", f"62{nb}000{nb}€ par an"),
        ("Équipe", "1,5 ETP (équivalent temps plein)"), ("Mise en place", "8 mois"),
        ("Bénéficiaires", f"1{nb}400 personnes par an"), ("Coût par bénéficiaire", f"44,29{nb}€ par personne et par an"),
        ("Coût la première année", f"157{nb}000{nb}€ (investissement et fonctionnement)"),
        ("Part financée", f"51 % (80{nb}000{nb}€)"), ("Reste à charge", f"77{nb}000{nb}€")]
    block = components.costs_block(fiche)
    assert "<dt>Reste à charge</dt>" in block and "Chiffres de 2024, en euros TTC." in block
    meta = components.metadata(fiche)
    assert f"DSIL (60{nb}000{nb}€), &lt;b&gt;CD&lt;/b&gt; (20{nb}000{nb}€), fonds propres" in meta
    assert '<span class="kb-link-type">(Délibération)</span>' in components.contact(fiche)
    # missing figures: only what can be said
    partial = make_fiche(couts={"fonctionnement_eur_an": 12000, "beneficiaires_an": 1, "beneficiaires_unite": "communes"},
                         financements=["DSIL"])
    assert components.costs_rows(partial) == [
        ("Fonctionnement annuel", f"12{nb}000{nb}€ par an"), ("Bénéficiaires", "1 commune par an"),
        ("Coût par bénéficiaire", f"12{nb}000{nb}€ par commune et par an")]
    assert "Montants en euros TTC." in components.costs_block(partial)


def test_edit_link_formats_path_and_slug_and_hides_when_unset():
    named = make_fiche(path="practices/bus numerique.md", slug="bus-numerique")
    assert components.edit_link("", named) is None
    assert components.edit_link("https://forge.example/banque/-/edit/main/{path}?s={slug}", named) == \
        "https://forge.example/banque/-/edit/main/practices/bus%20numerique.md?s=bus-numerique"
    assert components.edit_link("javascript:alert('{slug}')", named) is None


def test_markdown_escape_keeps_titles_as_text():
    assert components.md_escape("Un [lien](javascript:x) *gras* 1 000 $") == \
        r"Un \[lien\]\(javascript\:x\) \*gras\* 1 000 \$"


def test_unknown_parameters_are_reported_in_french():
    from kb.webapp.state import state_from_params, unknown_params

    search, dropped = state_from_params({"q": ["bus"], "foo": ["1"], "slug": ["x"]})
    assert search.query == "bus"
    assert dropped == ["Paramètre « foo » inconnu : ignoré."]
    assert unknown_params({"code": ["2A004"], "bar": [""]}, {"code"}) == ["Paramètre « bar » inconnu : ignoré."]
