"""kb's rankings beside a plain BM25 (bm25s, French Snowball stemming and stop words), in one
run on the plain corpora of ``../shared/eval`` (not part of the test suite).

    (bm25s comes with the ``search`` extra, PyStemmer with the core)
    .venv/bin/python -m bench.lexical_reference ../shared/eval/cnil ../shared/eval/crpa  # from the repository root

For each corpus: nDCG@10, Recall@10 and MRR@10 of kb's lexical, dense and hybrid rankings
(``kb.evaluate.run``, the page order: counted fiches first) and of bm25s over the same
documents. bm25s gets the same French stop-word list as kb and PyStemmer's French stemmer, its
default BM25 (Lucene variant, k1 = 1.5, b = 0.75), whole documents, the query as typed.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from kb import evaluate as ev  # noqa: E402
from kb.settings import load_settings  # noqa: E402
from kb.textnorm import stop_words  # noqa: E402


def bm25s_metrics(corpus: Path, queries: list[ev.Query]) -> ev.Metrics:
    import bm25s
    import Stemmer

    docs = sorted((corpus / "docs").glob("*.txt"))
    ids = [d.stem for d in docs]
    stemmer = Stemmer.Stemmer("french")
    stops = sorted(stop_words())
    corpus_tokens = bm25s.tokenize([d.read_text(encoding="utf-8") for d in docs], stopwords=stops,
                                   stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(corpus_tokens, show_progress=False)
    rankings = []
    for q in queries:
        tokens = bm25s.tokenize([q.text], stopwords=stops, stemmer=stemmer, show_progress=False)
        k = min(ev.K, len(ids))
        found, _ = retriever.retrieve(tokens, k=k, show_progress=False)
        rankings.append([ids[i] for i in found[0]])
    return ev.score(rankings, queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    args = parser.parse_args()
    settings = load_settings(ROOT)
    print(f"{'corpus':<8} {'ranking':<10} {'nDCG@10':>8} {'R@10':>6} {'MRR@10':>7}")
    for corpus in args.corpora:
        engine, queries, _, _ = ev.prepare(settings, corpus, None)
        rows = {mode: ev.run(engine, queries, mode).metrics for mode in ("lexical", "dense", "hybrid")}
        rows["bm25s"] = bm25s_metrics(corpus, queries)
        for name, m in rows.items():
            print(f"{corpus.name:<8} {name:<10} {m.ndcg:>8.3f} {m.recall:>6.3f} {m.mrr:>7.3f}")


if __name__ == "__main__":
    main()
