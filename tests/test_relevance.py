"""The relevance decision (kb.relevance): the count is the fiches that answer the query, the
same on every page; nonsense counts nothing; typed words beat thesaurus expansions; typos get
a correction from the bank's own words."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import TODAY, FakeEmbedder, variant
from kb.build import build
from kb.filters import Filters
from kb.cli import main
from kb.fusion import agreeing_weight
from kb.relevance import Cutoff, Evidence, coverage, idf
from kb.search import Engine
from kb.settings import load_settings
from kb.spelling import Speller

QUERIES = ["aider les personnes âgées à faire leurs démarches en ligne", "ateliers numériques", "cybersécurité",
           "France Services", "budget participatif", "open data", "EPN"]


# ----------------------------------------------------------------------------- the rule


def test_a_fiche_is_counted_by_its_words_or_by_a_very_close_meaning():
    cutoff = Cutoff(cover_min=0.5, lexical_min=0.6, dense_min=0.2, dense_floor=0.65)
    assert Evidence(coverage=0.8, lexical_relative=0.9, similarity=0.3).counted(cutoff)
    assert not Evidence(coverage=0.4, lexical_relative=0.9, similarity=0.3).counted(cutoff)  # too few words
    assert not Evidence(coverage=0.8, lexical_relative=0.5, similarity=0.3).counted(cutoff)  # weak BM25
    assert not Evidence(coverage=0.8, lexical_relative=0.9, similarity=0.1).counted(cutoff)  # unrelated meaning
    assert Evidence(similarity=0.7).counted(cutoff)  # no word in common, very close meaning
    assert not Evidence(similarity=0.6).counted(cutoff)
    assert Evidence(coverage=0.8, lexical_relative=0.9, similarity=None).counted(cutoff)  # lexical mode


def test_a_dense_list_that_disagrees_with_the_words_neither_ranks_nor_counts_alone():
    lexical, agreeing, disagreeing = [1, 2, 3, 4], [3, 9, 8], [9, 8, 7]
    assert agreeing_weight(lexical, agreeing, 0.1, depth=3) == 0.1
    assert agreeing_weight(lexical, disagreeing, 0.1, depth=3) == 0.0
    assert agreeing_weight(lexical, agreeing, 0.1, depth=2) == 0.0  # its best fiche is 3rd lexically
    assert agreeing_weight(lexical, disagreeing, 0.1, depth=0) == 0.1  # 0: always fuse
    assert agreeing_weight([], disagreeing, 0.1, depth=3) == 0.1  # no word in common anywhere
    assert agreeing_weight(lexical, disagreeing, 1.0, depth=3) == 1.0  # dense mode
    cutoff = Cutoff(dense_floor=0.65)
    assert not Evidence(similarity=0.8, lists_agree=False).counted(cutoff)  # no word in common
    assert Evidence(similarity=0.8, lists_agree=True).counted(cutoff)
    # a fiche sharing words is judged by them: one weak common word and a close meaning is not enough
    assert not Evidence(coverage=0.1, lexical_relative=0.1, similarity=0.8, lists_agree=True).counted(cutoff)
    assert Evidence(coverage=0.6, lexical_relative=0.7, similarity=0.3, lists_agree=False).counted(cutoff)


def test_coverage_weighs_rare_words_most_and_expansions_less():
    weights = {"rare": idf(1, 100), "frequent": idf(60, 100)}
    assert weights["rare"] > 4 * weights["frequent"]
    rare_only, _ = coverage(weights, {"rare"}, False, 0.5)
    frequent_only, _ = coverage(weights, {"frequent"}, False, 0.5)
    assert rare_only > 0.8 > 0.2 > frequent_only
    by_expansion, mass = coverage(weights, set(), True, 0.5)
    assert by_expansion == pytest.approx(0.5) and mass == 0


# ----------------------------------------------------------------------------- the bundled bank


@pytest.mark.model
@pytest.mark.parametrize("mode", ["lexical", "dense"])
def test_every_counted_fiche_is_listed_in_each_mode(bundled_engine, mode):
    for query in QUERIES:
        results = bundled_engine.search(query, limit=1000, mode=mode)
        ranking = bundled_engine.ranking(bundled_engine.parse_query(query), mode, bundled_engine.fusion_weight(mode))
        assert results.total == len(results.hits) == len(ranking.counted), (query, mode)


@pytest.mark.model
def test_the_count_does_not_depend_on_limit_or_offset(bundled_engine):
    for query in QUERIES:
        full = bundled_engine.search(query, limit=1000)
        order = [h.slug for h in full.hits]
        assert full.total == len(order) and all(h.counted for h in full.hits)
        for limit in (0, 1, 3, 10):
            for offset in (0, 1, 5):
                page = bundled_engine.search(query, limit=limit, offset=offset)
                assert page.total == full.total, (query, limit, offset)
                assert [h.slug for h in page.hits] == order[offset:offset + limit]
        assert not {h.slug for h in full.others} & set(order)
        assert all(not h.counted for h in full.others)


@pytest.mark.model
def test_facets_and_export_cover_the_counted_fiches_only(bundled_engine, tmp_path):
    query = "ateliers numériques"
    results = bundled_engine.search(query, limit=2)
    assert 2 < results.total < bundled_engine.count() / 2
    assert sum(results.facets["statut"].values()) == results.total
    filtered = bundled_engine.search(query, Filters(densites=["rural"]), limit=2)
    assert filtered.total == sum(1 for h in bundled_engine.search(query, limit=1000).hits
                                 if h.fiche.densite_niveau == "rural")


@pytest.mark.model
# not every off-topic question: two common words can still count a fiche (« prix du gazole à la
# pompe » finds « prix coûtant » and a cooling « pompe » in one); kb eval reports the share
@pytest.mark.parametrize("nonsense", ["zzzqqq", "horoscope du capricorne pour demain", "recette de la tarte tatin"])
def test_a_question_no_fiche_answers_counts_nothing(bundled_engine, nonsense):
    results = bundled_engine.search(nonsense, limit=10)
    assert results.total == 0 and results.hits == [] and results.facets == {}
    # weaker matches share a word with the query: nonsense has none to show
    assert all(h.lexical_rank is not None for h in results.others)
    if nonsense == "zzzqqq":
        assert results.others == []


@pytest.mark.model
def test_a_typo_gets_a_correction_and_the_corrected_search_runs(bundled_engine):
    results = bundled_engine.search("mediation numerque ruralle", limit=10)
    assert results.suggestion == "mediation numérique rurale"
    assert results.corrected_from == "mediation numerque ruralle"
    assert results.query == "mediation numérique rurale" and results.total > 0
    assert results.hits[0].slug == "reseau-departemental-mediation-numerique-rural"
    # known words, acronyms and thesaurus expressions are left alone
    for query in ("médiation numérique rurale", "EPN", "RGPD", "France Services"):
        assert bundled_engine.suggest(query) is None, query


@pytest.mark.model
def test_cli_json_says_which_hits_are_counted_and_total_ignores_limit(bundled_settings):
    runner = CliRunner()
    args = ["--root", str(bundled_settings.root), "--index-dir", str(bundled_settings.index_path)]
    outputs = [json.loads(runner.invoke(main, [*args, "search", "ateliers numériques", "--json", "-n", str(n)]).output)
               for n in (1, 50)]
    assert outputs[0]["total"] == outputs[1]["total"] == len(outputs[1]["hits"])
    assert all(h["counted"] for h in outputs[1]["hits"]) and all(not h["counted"] for h in outputs[1]["others"])


# ----------------------------------------------------------------------------- a constructed bank


@pytest.fixture
def synonym_bank(tmp_path, write_fiche):
    """Three fiches: one says « EPN », one says « espace public numérique » (the thesaurus's
    expansion of EPN) much more often, one says neither."""
    write_fiche("epn-mot-tape.md", variant(titre="titre: Un EPN dans l'ancienne poste du bourg")
                .replace("Quinze villages", "Un EPN ouvert"))
    write_fiche("espace-public.md", variant(titre="titre: Un espace public numérique pour le canton")
                .replace("Quinze villages", "Espace public numérique, espace public numérique: un espace public "
                                            "numérique"))
    write_fiche("sans-rapport.md", variant(titre="titre: Un ramassage scolaire en minibus électrique"))
    settings = load_settings(tmp_path)
    build(settings, embedder=FakeEmbedder(), today=TODAY)
    return Engine.open(settings, embedder=FakeEmbedder())


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_thesaurus_expansions_never_outrank_an_exact_match(synonym_bank, mode):
    results = synonym_bank.search("EPN", limit=10, mode=mode)
    slugs = [h.slug for h in results.hits + results.others]
    assert slugs.index("epn-mot-tape") < slugs.index("espace-public")
    assert "sans-rapport" not in [h.slug for h in results.hits]


def test_an_acronym_the_bank_only_spells_out_still_finds_its_fiches(tmp_path, write_fiche):
    write_fiche("espace-public.md", variant(titre="titre: Un espace public numérique pour le canton"))
    write_fiche("sans-rapport.md", variant(titre="titre: Un ramassage scolaire en minibus électrique"))
    settings = load_settings(tmp_path)
    build(settings, embedder=FakeEmbedder(), today=TODAY)
    engine = Engine.open(settings, embedder=FakeEmbedder())
    assert [h.slug for h in engine.search("EPN", mode="lexical").hits] == ["espace-public"]


def test_the_speller_corrects_from_the_bank_words_only():
    speller = Speller(["Médiation numérique en zone rurale", "La médiation numérique des aînés"])
    never = lambda stem: False  # noqa: E731
    assert speller.correct("mediation numerque ruralle", never) == "mediation numérique rurale"
    assert speller.correct("EPNN", lambda stem: stem == "epnn") is None  # known elsewhere (thesaurus, body)
    assert speller.correct("xyzzyplugh", never) is None  # nothing close
    assert speller.correct("numérique", never) is None  # already a word of the bank


def test_the_speller_does_not_turn_a_question_into_another():
    """Short words, and two edits on a word of 8 letters or fewer, make other questions the bank
    would then answer: « tailler un rosier » is not a typo of « tailler un dossier »."""
    speller = Speller(["Le dossier de la route", "Un élève, des chèques, le flocage des murs, la rue",
                       "Inscription en ligne pour les familles", "la famille"])
    never = lambda stem: False  # noqa: E731
    for question in ("tailler un rosier", "changer une roue", "élevage de chèvres pour le fromage"):
        assert speller.correct(question, never) is None, question
    assert speller.correct("inscripton famile", never) == "inscription famille"
