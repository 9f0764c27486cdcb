"""« Mon territoire »: the reference data (kb/data/territoires.json.gz, kb.territoires), the
comparable fiches (kb.comparable), the command ``kb territoire`` and the page /territoire."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from click.testing import CliRunner

from kb import territoires
from kb.comparable import comparable, portes_pour, score, suggestions

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "kb" / "webapp" / "app.py"


# ----------------------------------------------------------------------------- reference data


def test_the_derived_file_is_small_and_records_its_source():
    assert territoires.DATA_PATH.stat().st_size < 1_000_000
    with gzip.open(territoires.DATA_PATH, "rt", encoding="utf-8") as handle:
        raw = json.load(handle)
    assert raw["source"] == "npm @etalab/decoupage-administratif" and raw["version"] == "6.0.0"
    assert "Licence Ouverte" in raw["licence"]
    assert len(raw["communes"]) > 34_000 and len(raw["epci"]) > 1_200


def test_only_current_communes_are_kept():
    # Paris's municipal arrondissements (75101…) and communes déléguées are left out
    assert territoires.get("75056").nom == "Paris"
    assert territoires.get("75101") is None


def test_a_commune():
    t = territoires.get("46042")
    assert (t.kind, t.nom, t.type, t.departement, t.region) == ("commune", "Cahors", "commune", "46", "76")
    assert t.departement_nom == "Lot" and t.region_nom == "Occitanie"
    assert t.population > 15_000 and t.tranche == "10000-a-50000"
    assert t.epci_nom == "CA du Grand Cahors" and territoires.get(t.epci_code).kind == "epci"
    assert t.densite is None  # not in the reference data


def test_an_epci():
    t = territoires.get("200000172")
    assert (t.kind, t.nom, t.type, t.departement) == ("epci", "CC Faucigny - Glières", "communaute-de-communes", "74")
    assert t.region_nom == "Auvergne-Rhône-Alpes" and t.membres == 7 and t.tranche == "10000-a-50000"
    assert territoires.complete("faucigny glieres")[0].code == "200000172"
    assert territoires.complete("200000172")[0].code == "200000172"


def test_an_epci_over_several_departements():
    t = territoires.get("200006682")  # CA Beaune, Côte et Sud: Côte-d'Or and Saône-et-Loire
    assert t.departements[:1] == ("21",) and "71" in t.departements


def test_an_overseas_commune():
    t = territoires.get("97411")
    assert (t.nom, t.departement, t.departement_nom) == ("Saint-Denis", "974", "La Réunion")
    assert t.region_nom == "La Réunion"
    assert t.tranche == "50000-a-200000"
    labels = [c.label for c in territoires.complete("saint-denis")]
    assert "Saint-Denis (La Réunion, 974)" in labels and "Saint-Denis (Seine-Saint-Denis, 93)" in labels


@pytest.mark.parametrize("code, nom, dep, dep_nom", [("2A004", "Ajaccio", "2A", "Corse-du-Sud"),
                                                     ("2B033", "Bastia", "2B", "Haute-Corse")])
def test_corsica(code, nom, dep, dep_nom):
    t = territoires.get(code)
    assert (t.nom, t.departement, t.departement_nom, t.region_nom) == (nom, dep, dep_nom, "Corse")
    assert territoires.get(code.lower()) == t
    assert territoires.complete(nom)[0].code == code
    assert territoires.resolve(nom) == t
    assert code in [c.code for c in territoires.complete(code[:4], limit=100)]


def test_completion_ignores_accents_case_hyphens_and_word_order():
    assert territoires.complete("SAINT ETIENNE")[0].label == "Saint-Étienne (Loire, 42)"
    assert territoires.complete("chambery")[0].nom == "Chambéry"
    assert any(c.nom == "Saint-Martin" for c in territoires.complete("martin saint", limit=50))
    assert len(territoires.complete("saint", limit=7)) == 7


def test_an_unknown_name_has_no_completion():
    assert territoires.complete("Xyzzyville") == []
    assert territoires.complete("") == [] and territoires.complete("  -- ") == []
    assert territoires.resolve("Xyzzyville") == []
    assert territoires.get("99999") is None


def test_homonyms_are_labelled_with_their_departement():
    found = [c for c in territoires.complete("Saint-Martin", limit=20) if c.nom == "Saint-Martin"]
    assert len(found) >= 4
    labels = [c.label for c in found]
    assert len(set(labels)) == len(labels)
    assert "Saint-Martin (Gers, 32)" in labels and "Saint-Martin (Bas-Rhin, 67)" in labels
    # the exact homonyms come before the longer names
    assert all(c.nom == "Saint-Martin" for c in territoires.complete("Saint-Martin", limit=len(found)))
    result = territoires.resolve("Saint-Martin")
    assert isinstance(result, list) and len(result) > 1  # a choice, never a guess


# ----------------------------------------------------------------------------- comparable fiches


def test_the_score_explains_itself(bundled_engine):
    cahors = territoires.get("46042")
    fiche = bundled_engine.get("open-data-ville-moyenne-scdl-reutilisations")
    value, raisons = score(fiche, cahors)
    assert raisons[:2] == ["même type de territoire", "même strate de population"] and value >= 8.5


def test_comparable_ranking_on_the_bundled_bank(bundled_engine):
    cahors = territoires.get("46042")
    matches = comparable(bundled_engine, cahors, limit=50)
    assert matches
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    best = matches[0]
    assert {"même type de territoire", "même strate de population"} <= set(best.raisons)
    for m in matches:
        assert m.raisons and m.score > 0
        if "même type de territoire" in m.raisons:
            assert m.fiche.territoire["type"] == "commune"
        if "même strate de population" in m.raisons:
            assert m.fiche.population_tranche == "10000-a-50000"
        if "même département" in m.raisons:
            assert "46" in m.fiche.departements
    # same type and bracket first, then the type alone or the bracket alone
    pair = {"même type de territoire", "même strate de population"}
    both = [i for i, m in enumerate(matches) if pair <= set(m.raisons)]
    assert both == list(range(len(both)))


def test_projects_carried_for_a_commune(bundled_engine):
    cahors = territoires.get("46042")
    portes = portes_pour(bundled_engine, cahors)
    assert portes
    for m in portes:
        assert "46" in m.fiche.departements
        assert m.fiche.territoire["type"] in {"syndicat-mixte", "departement", "pays-petr", "communaute-de-communes",
                                              "communaute-d-agglomeration", "communaute-urbaine", "metropole"}
        assert m.raisons[0].startswith("porté par")
    assert "porté par le département" in {r for m in portes for r in m.raisons}
    found = suggestions(bundled_engine, cahors)
    assert not {m.slug for m in found.comparables} & {m.slug for m in found.portes}


def test_an_epci_is_compared_with_intercommunalities(bundled_engine):
    cc = territoires.get("200000172")
    matches = comparable(bundled_engine, cc, limit=5)
    assert matches and matches[0].fiche.territoire["type"] == "communaute-de-communes"
    for m in portes_pour(bundled_engine, cc):
        assert m.fiche.territoire["type"] in {"syndicat-mixte", "departement", "pays-petr"}


@pytest.mark.parametrize("code", ["97411", "2A004", "2B033"])
def test_overseas_and_corsica_get_proposals(bundled_engine, code):
    found = suggestions(bundled_engine, territoires.get(code))
    assert found.comparables


# ----------------------------------------------------------------------------- command line


def _kb(bundled_settings, *args):
    from kb.cli import main

    return CliRunner().invoke(main, ["--root", str(ROOT), "--index-dir", str(bundled_settings.index_path),
                                     "territoire", *args])


def test_cli_territory_card_and_comparables(bundled_settings):
    result = _kb(bundled_settings, "Cahors", "-n", "3")
    assert result.exit_code == 0, result.output
    assert "Cahors — Commune (code INSEE 46042)" in result.output
    assert "Département : Lot (46)" in result.output and "Intercommunalité : CA du Grand Cahors" in result.output
    assert "même type de territoire" in result.output and "porté par" in result.output


def test_cli_homonyms_ask_for_a_choice(bundled_settings):
    result = _kb(bundled_settings, "Saint-Martin")
    assert result.exit_code == 0
    assert "Plusieurs territoires correspondent" in result.output
    assert "32389" in result.output and "Saint-Martin (Gers, 32)" in result.output


def test_cli_unknown_name_says_so_in_french(bundled_settings):
    result = _kb(bundled_settings, "Xyzzyville")
    assert result.exit_code == 1
    assert "Aucune commune ni intercommunalité ne correspond à « Xyzzyville »" in result.output


def test_cli_json(bundled_settings):
    result = _kb(bundled_settings, "2B033", "--json")
    data = json.loads(result.output)
    assert data["territoire"]["departement"] == "2B" and data["comparables"][0]["raisons"]


# ----------------------------------------------------------------------------- page


@pytest.fixture
def app(bundled_settings, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("KB_ROOT", str(ROOT))
    monkeypatch.setenv("KB_INDEX_DIR", str(bundled_settings.index_path))
    return AppTest.from_file(str(APP), default_timeout=60)


def _open(at, **params):
    at.run()
    at.switch_page("views/territoire.py")
    at.query_params.clear()
    at.query_params.update(params)
    return at.run()


def _fiche_links(at) -> list[str]:
    return [parse_qs(link.proto.query_string)["slug"][0] for link in at.page_link
            if link.proto.page == "fiche" and "slug" in parse_qs(link.proto.query_string)]


@pytest.mark.model
def test_page_from_the_url_code(app):
    at = _open(app, code="2A004")
    assert not at.exception
    html = " ".join(str(h.proto.body) for h in at.html)
    assert "Corse-du-Sud" in html and "CA du Pays Ajaccien" in html and "même type de territoire" in html
    assert _fiche_links(at)
    assert at.query_params["code"] in ("2A004", ["2A004"])


@pytest.mark.model
def test_page_homonyms_then_choice(app):
    at = _open(app)
    at.text_input[0].input("Saint-Martin").run()
    assert not at.exception
    box = at.selectbox[0]
    assert box.value is None and "Saint-Martin (Gers, 32)" in box.options
    box.select("32389").run()
    assert not at.exception
    assert "Gers" in " ".join(str(h.proto.body) for h in at.html)
    assert _fiche_links(at)


@pytest.mark.model
def test_page_unknown_name(app):
    at = _open(app)
    at.text_input[0].input("Xyzzyville").run()
    assert not at.exception
    assert any("Aucune commune ni intercommunalité" in w.value for w in at.warning)
