"""The BM25 matrix (kb.lexical): what it scores, that filters stay exact, that it survives its
storage in the catalog, and that a catalog built without it (the core install) searches alike."""

from __future__ import annotations

import sqlite3

import numpy as np

from kb.build import build
from kb.lexical import LexicalIndex
from kb.search import Engine
from kb.settings import load_settings
from kb.term_counts import TermCounts
from tests.conftest import variant

ROWS = [  # id, the title, résumé, keywords and body terms (analysed), then the same as written
    (3, "cybersecur commun", "", "", "sauvegard postes agent", "Cybersécurité des communes", "", "",
     "Sauvegarde des postes des agents"),
    (7, "mediation numer", "", "", "cybersecur formation agent elus", "Médiation numérique", "", "",
     "Cybersécurité : formation des agents et des élus"),
    (9, "ecol numer", "tablet", "", "enseign classe eleve", "École numérique", "Tablettes", "",
     "Enseignants, classes, élèves"),
    (12, "archiv", "", "", "archiv electron agent", "Archives", "", "", "Archivage électronique, agents"),
]


def test_the_matrix_holds_the_scores_bm25s_computes():
    """Lucene's BM25 of bm25s (k1 1.5, b 0.75) over the same tokens, fields repeated."""
    import bm25s

    from kb.term_counts import fiche_counts

    index = LexicalIndex.build(ROWS)
    corpus = [list(fiche_counts(list(row[1:])).elements()) for row in ROWS]
    reference = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    reference.index(corpus, show_progress=False)
    for tokens in (["cybersecur"], ["agent", "numer"], ["=agents", "archiv"], ["eleve", "inconnu"]):
        known = [t for t in tokens if t in reference.vocab_dict]
        assert np.allclose(index.scores(tokens), reference.get_scores(known), atol=1e-6), tokens


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


def test_the_stored_counts_read_back_identical():
    counts = TermCounts.count(ROWS)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE lexical_blob (name TEXT PRIMARY KEY, data BLOB)")
    db.executemany("INSERT INTO lexical_blob VALUES (?, ?)", list(counts.to_blobs().items()))
    again, index = LexicalIndex.from_catalog(db), LexicalIndex.from_counts(counts)
    terms = ["cybersecur", "agent", "archiv", "tablet", "=agents"]
    assert np.array_equal(again.scores(terms), index.scores(terms)) and again.vocab == index.vocab


def test_updating_the_counts_of_changed_fiches_equals_counting_them_all():
    """An incremental build analyses only the fiches it adds or changes."""
    changed = (7, "mediation numer social", "", "", "accueil agent", "Médiation numérique sociale", "", "",
               "Accueil des agents")
    added = (15, "archiv commun", "", "", "archiv agent", "Archives communales", "", "", "Archives des agents")
    # 12 removed, 7 changed (an id among the kept ones), 15 added; or only 15 added (appended)
    for removed, rows, after in (([12], [changed, added], [ROWS[0], changed, ROWS[2], added]),
                                 ([12], [added], [*ROWS[:3], added])):
        updated = TermCounts.count(ROWS).updated(removed, rows)
        whole = TermCounts.count(after)
        assert updated.ids.tolist() == [row[0] for row in after]
        for terms in (["agent"], ["archiv", "=archives"], ["cybersecur", "social"], ["electron"]):
            assert np.allclose(LexicalIndex.from_counts(updated).scores(terms),
                               LexicalIndex.from_counts(whole).scores(terms)), terms


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
