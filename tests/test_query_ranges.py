"""A population range typed in a query (kb.query_ranges): what is and is not a range, the
brackets it selects, and the engine, CLI and application that apply it as a filter."""

from __future__ import annotations

import json

import pytest

from kb.filters import Filters
from kb.query_ranges import NO_BRACKET, apply_range, brackets, find_population_range

SMALL = ["moins-de-1000", "1000-a-3500"]


@pytest.mark.parametrize("query, rest, populations, description", [
    ("moins de 2000 habitants", "", SMALL, "moins de 2 000 habitants"),
    ("moins de 2 000 habitants", "", SMALL, "moins de 2 000 habitants"),
    ("moins de 2\u00a0000 habitants", "", SMALL, "moins de 2 000 habitants"),
    ("moins de 2\u202f000 habitants", "", SMALL, "moins de 2 000 habitants"),
    ("moins de 2k habitants", "", SMALL, "moins de 2 000 habitants"),
    ("moins de 2.000 hab.", "", SMALL, "moins de 2 000 habitants"),
    ("Moins de 1,5 k hab", "", SMALL, "moins de 1 500 habitants"),
    ("cybersécurité communes de moins de 3500 habitants", "cybersécurité", SMALL, "moins de 3 500 habitants"),
    ("communes rurales de moins de 2000 habitants", "communes rurales", SMALL, "moins de 2 000 habitants"),
    ("pour les communes de moins de 3 500 habitants, cybersécurité", "cybersécurité", SMALL,
     "moins de 3 500 habitants"),
    ("de moins de 1000 hab.", "", ["moins-de-1000"], "moins de 1 000 habitants"),
    ("communes de 5 000 à 20 000 habitants", "", ["3500-a-10000", "10000-a-50000"],
     "de 5 000 à 20 000 habitants"),
    ("tiers-lieu entre 3 500 et 10 000 habitants", "tiers-lieu", ["3500-a-10000"], "de 3 500 à 10 000 habitants"),
    ("de 1000 à 3500 habitants", "", ["1000-a-3500"], "de 1 000 à 3 500 habitants"),
    ("1000-3500 habitants", "", ["1000-a-3500"], "de 1 000 à 3 500 habitants"),
    ("5 000 – 20 000 hab.", "", ["3500-a-10000", "10000-a-50000"], "de 5 000 à 20 000 habitants"),
    ("20 000 à 5 000 habitants", "", ["3500-a-10000", "10000-a-50000"], "de 5 000 à 20 000 habitants"),
    ("plus de 50 000 habitants", "", ["50000-a-200000", "plus-de-200000"], "plus de 50 000 habitants"),
    ("villes de plus de 200 000 habitants", "", ["plus-de-200000"], "plus de 200 000 habitants"),
    ("au-delà de 10 000 habitants", "", ["10000-a-50000", "50000-a-200000", "plus-de-200000"],
     "plus de 10 000 habitants"),
    ("plus de 10 000 et moins de 50 000 habitants", "", ["10000-a-50000"],
     "plus de 10 000 et moins de 50 000 habitants"),
    ("jusqu'à 3500 habitants", "", [*SMALL, "3500-a-10000"], "jusqu'à 3 500 habitants"),
    ("à partir de 10 000 habitants", "", ["10000-a-50000", "50000-a-200000", "plus-de-200000"],
     "au moins 10 000 habitants"),
    ("communes de 2000 habitants", "", ["1000-a-3500"], "2 000 habitants"),
    ("un village de 800 habitants wifi", "wifi", ["moins-de-1000"], "800 habitants"),
    ("impression 3D communes de moins de 1000 habitants", "impression 3D", ["moins-de-1000"],
     "moins de 1 000 habitants"),
])
def test_ranges_in_queries(query, rest, populations, description):
    found = find_population_range(query)
    assert found == (rest, populations, description)
    assert found.to_dict() == {"populations": populations, "text": description}


@pytest.mark.parametrize("query", [
    "3D", "impression 3D", "2024", "plan 2024-2026", "05 55 12 34 56", "appeler le 05 55 12 34 56",
    "100 %", "15 villages", "35 heures", "2000", "moins de 2000", "plus de 50 000 euros", "habitat 2000",
    "2000 habitations", "les habitants du village", "1.5 habitants", "", "moins de 0 habitant",
    "05 55 12 34 56 habitants",
])
def test_what_is_not_a_range(query):
    assert find_population_range(query) is None


def test_a_bracket_is_selected_when_it_overlaps_the_range():
    tranches = [{"slug": "a", "max": 10}, {"slug": "b", "min": 10, "max": 20}, {"slug": "c", "min": 20}]
    assert brackets(0, 10, tranches) == ["a"]  # the upper bound is left out
    assert brackets(0, 11, tranches) == ["a", "b"]
    assert brackets(15, 16, tranches) == ["b"]
    assert brackets(19, None, tranches) == ["b", "c"]


def test_hostile_text_is_quick():
    for hostile in ("1 " * 5000 + "habitants", "de " * 5000 + "habitants", "9" * 5000 + " habitants",
                    "communes " * 3000 + "de moins de 2000 habitants"):
        find_population_range(hostile)


def test_the_range_is_anded_with_the_selected_populations():
    assert apply_range("wifi", Filters(densites=["rural"])) == ("wifi", Filters(densites=["rural"]), None)
    rest, filters, found = apply_range("wifi moins de 2000 habitants", Filters(densites=["rural"]))
    assert rest == "wifi" and filters == Filters(densites=["rural"], populations=SMALL)
    _, filters, _ = apply_range("moins de 2000 habitants", Filters(populations=["1000-a-3500", "plus-de-200000"]))
    assert filters.populations == ["1000-a-3500"]
    _, filters, _ = apply_range("moins de 2000 habitants", Filters(populations=["plus-de-200000"]))
    assert filters.populations == [NO_BRACKET]


@pytest.mark.model
def test_engine_applies_a_range_typed_in_the_query(bundled_engine):
    typed = bundled_engine.search("cybersécurité moins de 3500 habitants", limit=50)
    expected = bundled_engine.search("cybersécurité", Filters(populations=SMALL), limit=50)
    assert typed.total == expected.total > 0
    assert [h.slug for h in typed.hits] == [h.slug for h in expected.hits]
    assert typed.query == "cybersécurité" and typed.facets == expected.facets
    assert typed.recognised == {"populations": SMALL, "text": "moins de 3 500 habitants"}
    assert typed.to_dict()["recognised"] == typed.recognised
    assert expected.recognised is None and expected.to_dict()["recognised"] is None
    # nothing left: a browse with the filter
    browse = bundled_engine.search("communes de moins de 3 500 habitants", limit=500)
    assert {h.slug for h in browse.hits} == {h.slug for h in bundled_engine.search(
        "", Filters(populations=SMALL), limit=500).hits}
    # AND-ed with the populations already selected
    assert bundled_engine.search("moins de 3500 habitants", Filters(populations=["plus-de-200000"])).total == 0


@pytest.mark.model
def test_cli_says_what_it_recognised(bundled_settings):
    from click.testing import CliRunner

    from conftest import ROOT
    from kb.cli import main

    runner = CliRunner()
    base = ["--root", str(ROOT), "--index-dir", str(bundled_settings.index_path)]
    result = runner.invoke(main, [*base, "search", "cybersécurité moins de 2 000 habitants"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Filtre reconnu dans la recherche : population moins de 2 000 habitants" in result.output
    result = runner.invoke(main, [*base, "search", "cybersécurité moins de 2000 habitants",
                                  "--json"], catch_exceptions=False)
    data = json.loads(result.output)
    assert data["query"] == "cybersécurité" and data["recognised"]["populations"] == SMALL
    result = runner.invoke(main, [*base, "search", "cybersécurité"], catch_exceptions=False)
    assert "Filtre reconnu" not in result.output
