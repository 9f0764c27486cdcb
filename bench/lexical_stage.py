"""The lexical stage alone, two designs on the same banks in one run (not part of the test suite).

    .venv/bin/python -m bench.lexical_stage bench/banks/10000 bench/banks/100000   # banks of bench.run

For each bank (built by ``python -m bench.run``) and each query of ``eval/queries.jsonl``:

- **FTS5**, the design before kb.lexical: SQLite's ``bm25()`` over the query's terms, ordered,
  the best 1,000 (what ``Catalog.lexical`` ran until commit 5af3e2f);
- **matrix**, kb's design now: the BM25 matrix of kb.lexical (column sums, top 1,000), through
  ``Engine.lexical_ranking``, expansions and exact words included.

Reports p50 / p95 in milliseconds, warm (each design runs every query once before timing), and
the time to open the matrix (reading the stored counts and computing BM25) once per bank.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kb.evaluate import load_queries  # noqa: E402
from kb.search import Engine  # noqa: E402
from kb.settings import load_settings  # noqa: E402

CANDIDATES = 1000
FTS5_SQL = ("SELECT rowid, -bm25(fiches_fts, 4.0, 2.0, 2.0, 1.0) AS score FROM fiches_fts "
            "WHERE fiches_fts MATCH ? ORDER BY score DESC LIMIT ?")


def percentiles(times: list[float]) -> str:
    return f"{1000 * np.percentile(times, 50):7.1f} / {1000 * np.percentile(times, 95):7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("banks", nargs="+", type=Path)
    args = parser.parse_args()
    texts = [q.text for q in load_queries(ROOT / "eval" / "queries.jsonl")]
    print(f"{'banque':>8} {'fiches':>7} {'conception':<8} {'p50 / p95 (ms)':>17}")
    for bank in args.banks:
        bank = bank.resolve()
        engine = Engine.open(load_settings(bank, index_dir=bank / "index"))
        started = time.perf_counter()
        engine.lexical_ranking(engine.parse_query("ouverture"), None, 1)  # reads the counts, computes BM25
        opened = time.perf_counter() - started
        parsed = [engine.parse_query(t) for t in texts]
        db = engine.catalog.db

        def fts5(query):
            expression = query.fts()
            return db.execute(FTS5_SQL, [expression, CANDIDATES]).fetchall() if expression else []

        def matrix(query):
            return engine.lexical_ranking(query, None, CANDIDATES)

        for name, design in (("FTS5", fts5), ("matrice", matrix)):
            for query in parsed:  # warm
                design(query)
            times = []
            for query in parsed:
                started = time.perf_counter()
                design(query)
                times.append(time.perf_counter() - started)
            print(f"{bank.name:>8} {engine.count():>7} {name:<8} {percentiles(times)}", flush=True)
        print(f"{bank.name:>8} {engine.count():>7} ouverture de la matrice : {opened:.2f} s", flush=True)


if __name__ == "__main__":
    main()
