"""Search: French analysis, thesaurus, hostile queries, fusion, filters against SQL truth,
model mismatch, snippets, similar fiches."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT, TODAY, FakeEmbedder, variant
from kb.build import build
from kb.facets import REGISTRY
from kb.filters import Filters
from kb.fusion import weighted_rrf
from kb.search import Engine, IndexMismatch
from kb.snippets import cut_snippet
from kb.settings import load_settings
from kb.textnorm import analyze, fold, slugify
from kb.thesaurus import load_thesaurus


# ----------------------------------------------------------------------------- analysis


def test_accents_case_and_ligatures_fold():
    assert fold("Mise en Œuvre À l'ÉCOLE") == "mise en oeuvre a l'ecole"
    assert analyze("ÉCOLES") == analyze("ecole") == analyze("écoles")


def test_elisions_are_removed():
    assert analyze("l'école") == analyze("école")
    assert analyze("d’accès qu'il jusqu'au") == analyze("accès il au") == ["acces"]
    assert analyze("L’EPN") == ["epn"]


def test_french_stemming_merges_inflections():
    assert analyze("numériques")[0] == analyze("numérique")[0]
    assert analyze("accompagnements")[0] == analyze("accompagnement")[0]
    assert analyze("démarches")[0] == analyze("démarche")[0]


def test_stop_words_are_dropped():
    assert analyze("comment faire pour les personnes et des familles") == analyze("faire personnes familles")


def test_slug_of_a_title():
    assert slugify("Un bus numérique itinérant pour l'accès aux démarches") == \
        "un-bus-numerique-itinerant-pour-acces-aux-demarches"


# ----------------------------------------------------------------------------- thesaurus


def test_thesaurus_expands_acronyms_both_ways():
    thesaurus = load_thesaurus(None)
    expansions, labels = thesaurus.expand(analyze("un EPN en zone rurale"))
    assert tuple(analyze("espace public numérique")) in expansions
    assert "espace public numérique" in labels
    expansions, labels = thesaurus.expand(analyze("les espaces publics numériques"))
    assert ("epn",) in expansions
    expansions, _ = thesaurus.expand(analyze("ateliers pour personnes âgées"))
    assert ("senior",) in expansions


def test_a_bank_thesaurus_extends_the_packaged_one(tmp_path):
    extra = tmp_path / "thesaurus.yaml"
    extra.write_text("- [PIMMS, point information médiation multi services]\n", encoding="utf-8")
    expansions, _ = load_thesaurus(extra).expand(analyze("le PIMMS du quartier"))
    assert tuple(analyze("point information médiation multi services")) in expansions


@pytest.fixture
def small_bank(tmp_path, write_fiche):
    write_fiche("bus-numerique.md")
    write_fiche("lieu-epn.md", variant(
        titre="titre: Un espace public numérique dans l'ancienne poste",
        thematiques="thematiques: [mediation-numerique]", publics="publics: [tous-publics]",
        statut="statut: termine", **{"  type": "  type: commune", "  departements": "  departements: [\"29\"]"},
    ).replace("Quinze villages", "L'espace public numérique du bourg"))
    write_fiche("ent-ecoles.md", variant(
        titre="titre: Un espace numérique de travail pour les écoles primaires",
        thematiques="thematiques: [ecole-numerique]", publics="publics: [enfants, familles]",
        **{"  densite": "  densite: petites-villes"},
    ))
    settings = load_settings(tmp_path)
    build(settings, embedder=FakeEmbedder(), today=TODAY)
    return Engine.open(settings, embedder=FakeEmbedder())


def test_thesaurus_finds_a_fiche_that_never_uses_the_acronym(small_bank):
    assert [h.slug for h in small_bank.search("EPN", mode="lexical").hits] == ["lieu-epn"]
    assert [h.slug for h in small_bank.search("ENT primaire", mode="lexical").hits][0] == "ent-ecoles"


def test_a_running_engine_sees_each_published_build_and_only_then(small_bank, write_fiche, tmp_path):
    """The application keeps one engine and calls refresh() on every page: it must pick up an
    incremental build (written in place) and a forced one (a new file), and not reopen otherwise."""
    settings = load_settings(tmp_path)
    assert small_bank.refresh() is False
    assert small_bank.search("ludothèque", mode="lexical").hits == []

    write_fiche("ludotheque.md", variant(titre="titre: Une ludothèque numérique itinérante"))
    build(settings, embedder=FakeEmbedder(), today=TODAY)
    assert small_bank.refresh() is True
    assert [h.slug for h in small_bank.search("ludothèque", mode="lexical").hits] == ["ludotheque"]
    assert small_bank.refresh() is False

    (tmp_path / "practices" / "ludotheque.md").unlink()
    build(settings, embedder=FakeEmbedder(), today=TODAY, force=True)
    assert small_bank.refresh() is True
    assert small_bank.search("ludothèque", mode="lexical").hits == []


# ----------------------------------------------------------------------------- hostile queries

HOSTILE = ['"bus', 'bus*', 'NEAR(bus numérique)', '-bus', '(bus) OR', 'bus AND NOT', '🚌 bus 🚌', "bus'", 'bus:',
           "bus ^ numérique", "{bus}", "bus; DROP TABLE fiches;--", "x" * 10_000, "bus " * 3000, "\x00bus", "   "]


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_never_crash(small_bank, query):
    for mode in ("lexical", "hybrid", "dense"):
        small_bank.search(query, mode=mode)


def test_query_syntax_does_not_change_the_meaning(small_bank):
    plain = [h.slug for h in small_bank.search("bus numérique", mode="lexical").hits]
    assert plain
    for query in ('"bus numérique"', "bus* numérique", "(bus) numérique", "-bus numérique", "bus: numérique!",
                  "🚌 bus numérique", "BUS NUMÉRIQUE"):
        assert [h.slug for h in small_bank.search(query, mode="lexical").hits] == plain, query
    assert small_bank.count() == 3  # "DROP TABLE" stayed a pair of words


# ----------------------------------------------------------------------------- fusion


def test_weighted_rrf_arithmetic():
    scores = weighted_rrf([10, 20], [20, 30], weight=0.25, k=60)
    assert scores[10] == pytest.approx(0.75 / 61)
    assert scores[20] == pytest.approx(0.75 / 62 + 0.25 / 61)
    assert scores[30] == pytest.approx(0.25 / 62)
    assert weighted_rrf([1], [2], weight=0.0, k=60) == {1: pytest.approx(1 / 61)}
    assert weighted_rrf([1], [2], weight=1.0, k=60) == {2: pytest.approx(1 / 61)}


def test_snippet_window_and_highlights():
    text = " ".join(["mot"] * 50 + ["médiathèques", "ouvertes"] + ["fin"] * 50)
    snippet, highlights = cut_snippet(text, {analyze("médiathèque")[0]}, size=10)
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert [snippet[a:b] for a, b in highlights] == ["médiathèques"]


# ----------------------------------------------------------------------------- bundled bank


FILTER_CASES = [
    Filters(publics=["seniors"]),
    Filters(thematiques=["aide-demarches", "mediation-numerique"], densites=["rural"]),
    Filters(axes=["education"]),
    Filters(types=["commune"], statuts=["en-cours"]),
    Filters(densites=["rural-tres-disperse"]),
    Filters(regions=["84"], debut_min=2021),
    Filters(departements=["974", "971", "972", "973", "976"]),
    Filters(statuts=["abandonne", "termine"]),
    Filters(populations=["10000-a-50000", "moins-de-1000"], densites=["rural"]),
    Filters(couts=["moins-de-10000", "10000-a-50000"]),
]


def sql_truth(engine, filters):
    """The matching slugs, by a query written independently of Filters.sql()."""
    db = engine.catalog.db
    slugs = {r[0] for r in db.execute("SELECT slug FROM fiches")}
    for facet in REGISTRY.filtering:
        values = getattr(filters, facet.field)
        if values:
            rows = db.execute("SELECT f.slug, x.facet, x.value FROM fiches f JOIN facets x ON x.fiche_id = f.id")
            slugs &= {s for s, name, value in rows if name in REGISTRY.matches(facet) and value in values}
    for r in REGISTRY.ranges:
        low, high = (getattr(filters, name) for name in r.fields)
        years = dict(db.execute(f"SELECT slug, {r.column} FROM fiches"))
        slugs &= {s for s in slugs if (low is None or years[s] >= low) and (high is None or years[s] <= high)}
    return slugs


@pytest.mark.model
@pytest.mark.parametrize("filters", FILTER_CASES, ids=range(len(FILTER_CASES)))
def test_filtered_search_returns_every_matching_fiche(bundled_engine, filters):
    """A filter keeps exactly the counted fiches of the unfiltered search that it allows,
    whatever the page size; weaker matches shown apart respect the filter too."""
    truth = sql_truth(bundled_engine, filters)
    assert truth, "each case must match some fiches"
    for mode, query in (("hybrid", "accompagner les habitants"), ("dense", "accompagner les habitants"),
                        ("lexical", "numérique"), ("hybrid", "ateliers numériques")):
        everywhere = bundled_engine.search(query, limit=500, mode=mode)
        results = bundled_engine.search(query, filters, limit=500, mode=mode)
        assert {h.slug for h in results.hits} == {h.slug for h in everywhere.hits} & truth, (mode, query)
        assert results.total == len(results.hits)
        assert {h.slug for h in results.others} <= truth
        small = bundled_engine.search(query, filters, limit=3, mode=mode)
        assert small.total == results.total and [h.slug for h in small.hits] == [h.slug for h in results.hits[:3]]
    browse = bundled_engine.search("", filters, limit=500)
    assert {h.slug for h in browse.hits} == truth
    dates = [h.fiche.mise_a_jour for h in browse.hits]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.model
def test_facet_counts_cover_the_whole_result_set(bundled_engine):
    results = bundled_engine.search("", Filters(densites=["rural"]), limit=2)
    assert len(results.hits) == 2
    assert sum(results.facets["densite_niveau"].values()) == results.total
    assert set(results.facets["densite_niveau"]) == {"rural"}


@pytest.mark.model
def test_hybrid_search_finds_and_explains(bundled_engine):
    results = bundled_engine.search("aider les personnes âgées à faire leurs démarches en ligne", limit=10)
    assert results.hits and "seniors" in results.expansions
    top = results.hits[0]
    assert top.snippet and top.highlights
    assert any(p in ("seniors", "eloignes-numerique", "aidants") for h in results.hits[:3]
               for p in h.fiche.publics)


@pytest.mark.model
def test_similar_never_returns_the_fiche_itself_and_respects_filters(bundled_engine):
    slug = bundled_engine.search("fablab", mode="lexical").hits[0].slug
    hits = bundled_engine.similar(slug, limit=5)
    assert len(hits) == 5 and slug not in {h.slug for h in hits}
    rural = bundled_engine.similar(slug, Filters(densites=["rural"]), limit=5)
    assert rural and all(h.fiche.densite_niveau == "rural" for h in rural)
    with pytest.raises(KeyError):
        bundled_engine.similar("pas-de-fiche")


@pytest.mark.model
def test_opening_an_index_with_another_model_says_to_rebuild(bundled_settings):
    other = bundled_settings.with_overrides(model="intfloat/multilingual-e5-small", query_prompt="query: ",
                                            passage_prompt="passage: ")
    with pytest.raises(IndexMismatch, match="reconstruisez l'index avec « kb build »"):
        Engine.open(other)


@pytest.mark.model
@pytest.mark.parametrize("order", ["faiss-first", "torch-first"])
def test_faiss_and_torch_in_one_process(order):
    imports = "import faiss, torch" if order == "faiss-first" else "import torch, faiss"
    code = f"""{imports}
import numpy as np
from kb.embed import Embedder
vectors = Embedder().encode_passages(["un bus numérique", "une école", "un fablab", "une mairie"])
index = faiss.IndexFlatIP(vectors.shape[1]); index.add(vectors)
params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.array([1, 3], dtype="int64")))
_, ids = index.search(vectors[:1], 2, params=params)
print(sorted(ids[0].tolist()))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("[1, 3]")
