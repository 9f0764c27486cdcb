"""The bundled bank: coverage of every vocabulary value (read from the vocabulary file, so the
test follows vocabulary changes), quality of the fiches, and the query set."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from conftest import ROOT
from kb.bank import check_paths
from kb.vocab import vocab

OVERSEAS = {"971", "972", "973", "974", "975", "976"}


@pytest.fixture(scope="module")
def bank():
    return check_paths([ROOT / "practices"])


def test_every_fiche_is_valid_without_warning(bank):
    assert [p.format() for p in bank.problems] == []
    assert len(bank.fiches) >= 80


def test_every_vocabulary_value_is_covered(bank):
    v = vocab()
    count = lambda values: Counter(x for f in bank.fiches for x in values(f))  # noqa: E731
    thematiques = count(lambda f: f.thematiques)
    publics = count(lambda f: f.publics)
    types = count(lambda f: [f.territoire["type"]])
    densites = count(lambda f: [f.densite])
    statuts = count(lambda f: [f.statut])
    assert {t: thematiques[t] for t in v.thematiques if thematiques[t] < 3} == {}
    assert {p: publics[p] for p in v.publics if publics[p] < 3} == {}
    assert {t: types[t] for t in v.types_territoire if types[t] < 2} == {}
    assert {d: densites[d] for d in v.densite if densites[d] < 3} == {}
    assert {s: statuts[s] for s in v.statuts if statuts[s] < 1} == {}
    assert statuts["termine"] + statuts["abandonne"] >= 4
    rural = sum(densites[d] for d in v.densites_of("rural"))
    assert rural >= len(bank.fiches) / 4


def test_territories_and_costs_are_diverse(bank):
    departements = {d for f in bank.fiches for d in f.departements}
    assert len(departements) >= 30 and departements & OVERSEAS
    populations = Counter(f.population_tranche for f in bank.fiches)
    assert {t["slug"]: 0 for t in vocab().population_tranches if not populations[t["slug"]]} == {}
    # the cost of the first year (contract v2), or the old budget_eur of a fiche not yet migrated
    costs = [f.cout_total if f.cout_total is not None else f.budget_eur for f in bank.fiches]
    costs = [c for c in costs if c is not None]
    assert min(costs) < 10_000 and max(costs) >= 200_000


def test_fiches_have_a_readable_length(bank):
    """About 300 to 1,200 words of sections: a short lesson or a long account, not a filled form."""
    lengths = {f.slug: len(" ".join(s.text for s in f.sections).split()) for f in bank.fiches}
    assert {s: n for s, n in lengths.items() if not 280 <= n <= 1200} == {}


def test_query_set_is_large_and_judged_on_existing_fiches(bank):
    slugs = {f.slug for f in bank.fiches}
    lines = (ROOT / "eval" / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    queries = [json.loads(line) for line in lines if line.strip()]
    assert len(queries) >= 60
    for q in queries:
        assert q["query"].strip()
        assert set(q["relevant"]) <= slugs, q["query"]
        assert set(q["relevant"].values()) <= {1, 2} and 2 in q["relevant"].values(), q["query"]
