"""The BM25 matrix (kb.lexical): what it scores, that filters stay exact, that it survives its
storage in the catalog, and that a catalog built without it (the core install) searches alike."""

from __future__ import annotations

import sqlite3

import numpy as np

from kb.build import build
from kb.lexical import LexicalIndex
from kb.search import Engine
from kb.settings import load_settings
from tests.conftest import variant

ROWS = [  # id, title, résumé, keywords, body terms (already analysed)
    (3, "cybersecur commun", "", "", "sauvegard postes agent"),
    (7, "mediation numer", "", "", "cybersecur formation agent elus"),
    (9, "ecol numer", "tablet", "", "enseign classe eleve"),
    (12, "archiv", "", "", "archiv electron agent"),
]


def test_a_word_in_the_title_weighs_more_than_in_the_body_and_absent_fiches_score_nothing():
    index = LexicalIndex.build(ROWS)
    ranked = index.top(index.scores(["cybersecur"]), None, 10)
    assert [d for d, _ in ranked] == [3, 7]  # title before body; 9 and 12 never listed
    assert index.document_frequency("agent") == 3 and index.document_frequency("inconnu") == 0
    assert index.top(index.scores(["inconnu"]), None, 10) == []


def test_filters_are_exact_and_the_limit_keeps_the_best():
    index = LexicalIndex.build(ROWS)
    scores = index.scores(["agent", "numer"])
    everything = index.top(scores, None, 10)
    assert {d for d, _ in everything} == {3, 7, 9, 12}
    assert [d for d, _ in index.top(scores, [9, 12, 404], 10)] == [d for d, _ in everything if d in {9, 12}]
    assert index.top(scores, None, 2) == everything[:2]
    assert index.top(scores, [], 10) == []


def test_the_stored_matrix_reads_back_identical():
    index = LexicalIndex.build(ROWS)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE lexical_blob (name TEXT PRIMARY KEY, data BLOB)")
    db.executemany("INSERT INTO lexical_blob VALUES (?, ?)", list(index.to_blobs().items()))
    again = LexicalIndex.from_catalog(db)
    terms = ["cybersecur", "agent", "archiv", "tablet"]
    assert np.array_equal(again.scores(terms), index.scores(terms)) and again.vocab == index.vocab


def test_a_catalog_without_the_matrix_searches_the_same(tmp_path, write_fiche, fake_embedder):
    """The core install builds without bm25s: the search side computes the matrix on open."""
    write_fiche("bus-numerique.md")
    write_fiche("cyber.md", variant(titre="titre: Cybersécurité des petites communes rurales"))
    settings = load_settings(tmp_path, index_dir=tmp_path / "index")
    build(settings, embedder=fake_embedder)
    queries = ["cybersécurité des communes", "bus numérique", "zzzqqq"]
    stored = Engine.open(settings, embedder=fake_embedder)
    before = [[h.slug for h in stored.search(q, mode="lexical").hits] for q in queries]
    stored.catalog.close()
    db = sqlite3.connect(settings.catalog_path)
    db.execute("DELETE FROM lexical_blob")
    db.commit()
    db.close()
    computed = Engine.open(settings, embedder=fake_embedder)
    assert [[h.slug for h in computed.search(q, mode="lexical").hits] for q in queries] == before
    assert before[0][0] == "cyber" and before[2] == []


def test_the_word_typed_ranks_above_a_word_of_the_same_stem(tmp_path, write_fiche, fake_embedder):
    """« participatif » and « participants » share the stem « particip »: both fiches match, the
    one with the very word typed first, whatever the file order."""
    write_fiche("a-variante.md", variant(titre="titre: Les participants des ateliers numériques du village"))
    write_fiche("b-exact.md", variant(titre="titre: Un budget participatif numérique pour le village"))
    settings = load_settings(tmp_path, index_dir=tmp_path / "index")
    build(settings, embedder=fake_embedder)
    engine = Engine.open(settings, embedder=fake_embedder)
    for query in ("participatif", "participatif village"):
        ranking = engine.lexical_ranking(engine.parse_query(query), None, 10)
        slugs = {d: f["slug"] for d, f in engine.catalog.fiches([d for d, _ in ranking]).items()}
        assert [slugs[d] for d, _ in ranking][:2] == ["b-exact", "a-variante"], query
