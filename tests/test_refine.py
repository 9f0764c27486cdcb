"""Filter counts and relaxations (kb.refine) on the bundled bank."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from kb.filters import Filters
from kb.refine import filter_counts, relaxations

pytestmark = pytest.mark.model


def test_without_and_active_fields():
    filters = Filters(publics=["seniors"], types=["commune"], debut_min=2020)
    assert filters.active_fields() == ["publics", "types", "debut_min"]
    assert filters.without("publics") == Filters(types=["commune"], debut_min=2020)
    assert filters.without("debut_min").debut_min is None


def test_counts_of_a_selected_facet_ignore_its_own_filter(bundled_engine):
    filters = Filters(publics=["seniors"], types=["commune"])
    results = bundled_engine.search("", filters, limit=0)
    counts = filter_counts(bundled_engine, "", filters, results)
    # publics: counted without the publics filter, so other publics stay reachable
    assert counts["public"] == bundled_engine.facets(Filters(types=["commune"]))["public"]
    assert counts["type"] == bundled_engine.facets(Filters(publics=["seniors"]))["type"]
    # a facet without a selection: the counts of the current results
    assert counts["statut"] == results.facets["statut"]
    # each count is the number of fiches with that value, the other facets' filters applied
    for public, n in list(counts["public"].items())[:4]:
        assert bundled_engine.search("", Filters(publics=[public], types=["commune"]), limit=0).total == n


def test_counts_follow_the_query(bundled_engine):
    filters = Filters(statuts=["en-cours"])
    results = bundled_engine.search("démarches en ligne", filters, limit=0)
    counts = filter_counts(bundled_engine, "démarches en ligne", filters, results)
    assert counts["statut"] == bundled_engine.search("démarches en ligne", Filters(), limit=0).facets["statut"]


def empty_combination(engine) -> Filters:
    facets = engine.facets()
    types = list(facets["type"])
    statuts = list(facets["statut"])
    for t, s, d in itertools.product(types, statuts, ["rural", "urbain-dense"]):
        filters = Filters(types=[t], statuts=[s], densites=[d])
        if engine.search("", filters, limit=0).total == 0:
            return filters
    pytest.skip("no empty combination of filters in this bank")


def test_relaxations_say_how_many_results_each_removed_filter_gives(bundled_engine):
    filters = empty_combination(bundled_engine)
    options = relaxations(bundled_engine, "", filters)
    assert options, "an empty search made of non-empty filters can always be relaxed"
    assert [o.total for o in options] == sorted((o.total for o in options), reverse=True)
    for option in options:
        assert option.total == bundled_engine.search("", filters.without(option.field), limit=0).total > 0
        assert option.removed == tuple(getattr(filters, option.field))


def test_no_relaxation_without_filters(bundled_engine):
    assert relaxations(bundled_engine, "nimportequoi", Filters()) == []
    assert dataclasses.asdict(Filters()) == dataclasses.asdict(Filters().without("types"))
