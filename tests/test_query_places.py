"""A commune or intercommunalité named in a query (kb.query_places): recognised with the
reference data, taken out of the words searched, offered as « Mon territoire »."""

from __future__ import annotations

import pytest

from kb.query_places import find_place, understood
from kb.filters import Filters


@pytest.mark.parametrize("query, rest, labels", [
    ("cybersécurité à Saint-Flour", "cybersécurité", ["Saint-Flour (Cantal, 15)"]),
    ("médiation numérique à Mende ?", "médiation numérique", ["Mende (Lozère, 48)"]),
    ("formation à Tours, pour les agents", "formation pour les agents", ["Tours (Indre-et-Loire, 37)"]),
    ("tiers-lieu à Val de Reuil pour les jeunes", "tiers-lieu pour les jeunes", ["Val-de-Reuil (Eure, 27)"]),
])
def test_a_place_after_a_is_recognised_and_taken_out(query, rest, labels):
    found = find_place(query)
    assert found is not None and found.rest == rest
    assert [t.label for t in found.territories] == labels


def test_homonyms_are_all_offered_the_most_populated_first():
    found = find_place("médiation numérique à Saint-Martin")
    assert found.rest == "médiation numérique" and len(found.territories) > 3
    populations = [t.population or 0 for t in found.territories]
    assert populations == sorted(populations, reverse=True)


@pytest.mark.parametrize("query", [
    "aide à domicile", "personnes à la rue", "formation à tours",  # no capital: words, not a place
    "accès à Excel",  # only the beginning of a territory's name (CA CAP Excellence)
    "cybersécurité Saint-Flour",  # no « à »
    "accès à Internet pour tous",
])
def test_words_are_not_taken_for_places(query):
    assert find_place(query) is None


def test_a_range_and_a_place_in_one_query():
    rest, filters, found, place = understood("cybersécurité à Saint-Flour moins de 2000 habitants", Filters())
    assert rest == "cybersécurité" and found is not None and place.territories[0].code == "15187"
    assert filters.populations


@pytest.mark.model
def test_the_search_says_which_place_it_recognised_and_searches_the_rest(bundled_engine):
    named = bundled_engine.search("cybersécurité à Saint-Flour", limit=10)
    plain = bundled_engine.search("cybersécurité", limit=10)
    assert named.place == {"text": "Saint-Flour", "territoires": [{"code": "15187", "label": "Saint-Flour (Cantal, 15)"}]}
    assert [h.slug for h in named.hits] == [h.slug for h in plain.hits] and named.total == plain.total
    assert bundled_engine.counted_ids("cybersécurité à Saint-Flour") == bundled_engine.counted_ids("cybersécurité")
    assert named.to_dict()["place"] == named.place
