"""Metrics on hand-computed examples, query files, and the corpus evaluation path."""

from __future__ import annotations

import math

import pytest

import kb.embed
from conftest import FakeEmbedder
from kb.evaluate import EvalError, load_queries, mrr_at_k, ndcg_at_k, prepare, recall_at_k, run, tune
from kb.settings import load_settings


def test_metrics_on_a_hand_computed_example():
    ranked = ["a", "b", "c"]
    relevant = {"b": 2, "c": 1, "d": 2}
    # DCG = 2/log2(3) + 1/log2(4); ideal = 2/log2(2) + 2/log2(3) + 1/log2(4)
    dcg = 2 / math.log2(3) + 0.5
    assert ndcg_at_k(ranked, relevant) == pytest.approx(dcg / (2 + dcg))
    assert ndcg_at_k(ranked, relevant) == pytest.approx(0.46835, abs=1e-5)
    assert recall_at_k(ranked, relevant) == pytest.approx(2 / 3)
    assert mrr_at_k(ranked, relevant) == pytest.approx(1 / 2)
    assert ndcg_at_k(["b", "d", "c"], relevant) == pytest.approx(1.0)
    assert (ndcg_at_k(["x"], relevant), recall_at_k(["x"], relevant), mrr_at_k(["x"], relevant)) == (0, 0, 0)
    assert mrr_at_k(["x"] * 10 + ["b"], relevant) == 0  # beyond the cut-off


def test_query_files_accept_graded_and_plain_lists(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"query": "a", "relevant": {"x": 2, "y": 1}}\n\n'
                    '{"query": "b", "relevant_doc_ids": ["z"]}\n', encoding="utf-8")
    queries = load_queries(path)
    assert [(q.text, q.relevant) for q in queries] == [("a", {"x": 2, "y": 1}), ("b", {"z": 1})]
    path.write_text('{"query": "a", "relevant": {"x": 2}}\n{"query": "b"}\n', encoding="utf-8")
    with pytest.raises(EvalError, match=r"q.jsonl:2: requête invalide"):
        load_queries(path)


def test_a_plain_corpus_goes_through_the_same_pipeline(tmp_path, monkeypatch):
    monkeypatch.setattr(kb.embed.Embedder, "from_settings", classmethod(lambda cls, s: FakeEmbedder()))
    corpus = tmp_path / "corpus"
    (corpus / "docs").mkdir(parents=True)
    texts = {"d1": "Les cookies sont des traceurs déposés par les sites.",
             "d2": "Le droit d'accès permet d'obtenir ses données personnelles.",
             "d3": "La vidéoprotection sur la voie publique est encadrée."}
    for doc, text in texts.items():
        (corpus / "docs" / f"{doc}.txt").write_text(text, encoding="utf-8")
    (corpus / "queries.jsonl").write_text('{"query": "qu\'est-ce qu\'un cookie", "relevant_doc_ids": ["d1"]}\n'
                                          '{"query": "caméras dans la rue", "relevant_doc_ids": ["d3"]}\n',
                                          encoding="utf-8")
    settings = load_settings(tmp_path)
    engine, queries, label, offtopic = prepare(settings, corpus, None)
    assert offtopic == []  # off-topic questions are the bank's
    assert label == "corpus corpus" and engine.count() == 3
    lexical = run(engine, queries, "lexical")
    assert lexical.metrics.mrr == pytest.approx(0.5)  # the paraphrase misses lexically
    assert [m["query"] for m in lexical.misses] == ["caméras dans la rue"]
    grid = dict(tune(engine, queries, grid=(0.0, 1.0)))
    assert grid[0.0].ndcg == pytest.approx(lexical.metrics.ndcg)
    # a second evaluation reuses the corpus index instead of encoding again
    engine2, _, _, _ = prepare(settings, corpus, None)
    assert engine2.catalog.build_id() == engine.catalog.build_id()
