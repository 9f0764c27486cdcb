"""Time of the engine's work for one Rechercher page with three filters: the search, the
filter panel's counts (kb.refine.filter_counts) and, when nothing is found, the relaxations.

    .venv/bin/python -m bench.refine_page --runs 20 [--mode lexical]   # from the repository root, index built

Each run starts with an empty ranking cache, as a new query does. Prints the median and p95
in milliseconds, per query and overall.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

QUERIES = ["accompagner les seniors vers le numérique", "ateliers informatiques en milieu rural",
           "démarches administratives en ligne", "cybersécurité des petites communes"]
FILTERS = dict(publics=["seniors"], densites=["rural"], statuts=["en-cours"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--mode", default="hybrid", choices=["hybrid", "lexical"],
                        help="lexical: no query encoding, only the engine's own work")
    args = parser.parse_args()

    from kb.refine import filter_counts, relaxations
    from kb.search import Engine
    from kb.settings import load_settings

    try:
        from kb.filters import Filters
    except ImportError:  # the code before the facet registry
        from kb.catalog import Filters

    engine = Engine.open(load_settings(args.root))
    filters = Filters(**FILTERS)
    engine.search(QUERIES[0], limit=1)  # loads the model and the vectors
    timings: dict[str, list[float]] = {q: [] for q in QUERIES}
    for _ in range(args.runs):
        for query in QUERIES:
            engine._rankings.clear()
            start = time.perf_counter()
            results = engine.search(query, filters, limit=10, mode=args.mode)
            filter_counts(engine, query, filters, results, mode=args.mode)
            if not results.total:
                relaxations(engine, query, filters, mode=args.mode)
            timings[query].append((time.perf_counter() - start) * 1000)
    every = [t for values in timings.values() for t in values]
    for query, values in timings.items():
        print(f"{query[:45]:<45}  p50 {statistics.median(values):7.1f} ms")
    print(f"{'all':<45}  p50 {statistics.median(every):7.1f} ms  "
          f"p95 {statistics.quantiles(every, n=20)[-1]:7.1f} ms  ({len(every)} pages)")


if __name__ == "__main__":
    main()
