"""Benchmarks of build, search and memory on synthetic banks (not part of the test suite).

    .venv/bin/python -m bench.run --sizes 1000 10000 100000     # from the repository root

For each size: full build, incremental builds (1 fiche, 1 % of fiches), warm query latency
p50/p95 for lexical, dense and hybrid search with and without filters (query encoding
included), ``similar``, peak resident memory of a search process, size on disk, and the
recall@10 of the approximate index against exact search when the bank is large enough to
get one. ``kb validate`` is timed on the 1,000-fiche bank.

Vectors: encoding a 100,000-fiche bank (about a million passages) with all-MiniLM-L6-v2 on
two cores would take most of a day, so the builds reuse the real embeddings of the bundled
fiches' passages (each synthetic passage is a recombined bundled passage) with a small
deterministic perturbation so that no two vectors are identical. The encoding throughput is
measured separately on real passages, and the full-build time with real encoding is
reported as measured build time + passages / throughput. Passages that are not recombined
(the edited ones of the incremental builds) are encoded by the real model.
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
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.synth import generate  # noqa: E402
from kb.build import build  # noqa: E402
from kb.catalog import Catalog  # noqa: E402
from kb.filters import Filters  # noqa: E402
from kb.embed import Embedder  # noqa: E402
from kb.evaluate import load_queries  # noqa: E402
from kb.settings import load_settings  # noqa: E402
from kb.vocab import vocab  # noqa: E402

BANKS = ROOT / "bench" / "banks"
RESULTS = ROOT / "bench" / "results"
FILTERS = {"rural+seniors": Filters(densites=["rural"], publics=["seniors"])}


class ReuseEmbedder:
    """The real model's interface, answering recombined passages from real stored vectors."""

    def __init__(self, real: Embedder, catalog_path: Path, noise: float = 0.02):
        self.real = real
        self.noise = noise
        self.key = real.key
        self.model_name = real.model_name
        self.by_body: dict[str, np.ndarray] = {}
        self.by_resume: dict[str, np.ndarray] = {}
        self.misses = 0
        catalog = Catalog(catalog_path)
        resumes = {row["id"]: row["resume"] for row in catalog.db.query("SELECT id, resume FROM fiches")}
        for fiche_id, section, text, blob in catalog.db.execute(
                "SELECT fiche_id, section, text, vector FROM chunks"):
            vector = np.frombuffer(blob, dtype="float32")
            if section:
                self.by_body[text.split(f" — {section}: ", 1)[-1]] = vector
            else:
                self.by_resume[resumes[fiche_id]] = vector
        self.markers = [f" — {title}: " for title in vocab().section_titles]

    @property
    def dimension(self) -> int:
        return self.real.dimension

    def describe(self) -> dict:
        return self.real.describe()

    def encode_queries(self, texts):
        return self.real.encode_queries(texts)

    def _lookup(self, text: str):
        for marker in self.markers:
            if marker in text:
                return self.by_body.get(text.split(marker, 1)[1])
        for resume, vector in self.by_resume.items():
            if resume in text:
                return vector
        return None

    def encode_passages(self, texts, progress=False):
        out = np.zeros((len(texts), self.dimension), dtype="float32")
        missing = []
        for i, text in enumerate(texts):
            vector = self._lookup(text)
            if vector is None:
                missing.append(i)
                continue
            seed = int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)
            noisy = vector + np.random.default_rng(seed).normal(scale=self.noise, size=vector.shape)
            out[i] = noisy / np.linalg.norm(noisy)
        if missing:
            self.misses += len(missing)
            out[missing] = self.real.encode_passages([texts[i] for i in missing])
        return out


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def encode_throughput(embedder: Embedder, catalog_path: Path, n: int = 256) -> dict:
    catalog = Catalog(catalog_path)
    texts = [r[0] for r in catalog.db.execute("SELECT text FROM chunks ORDER BY id LIMIT ?", [n])]
    embedder.encode_passages(texts[:8])
    _, seconds = timed(embedder.encode_passages, texts)
    query_times = []
    for text in ("aider les personnes âgées à faire leurs démarches", "fablab jeunes", "EPN rural") * 10:
        _, t = timed(embedder.encode_queries, [text])
        query_times.append(t)
    return {"passages": len(texts), "passages_per_s": len(texts) / seconds,
            "query_encode_p50_ms": 1000 * float(np.percentile(query_times, 50)),
            "query_encode_p95_ms": 1000 * float(np.percentile(query_times, 95))}


def touch(paths: list[Path], stamp: str) -> None:
    for path in paths:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("## Résultats\n\n", f"## Résultats\n\nMesure du {stamp}. ", 1),
                        encoding="utf-8")


def bench_builds(size: int, reuse: ReuseEmbedder, throughput: float) -> dict:
    bank = BANKS / str(size)
    folder = generate(size, bank)
    settings = load_settings(bank, index_dir=bank / "index")
    shutil.rmtree(settings.index_path, ignore_errors=True)
    out: dict = {"fiches": size}
    report, seconds = timed(build, settings, embedder=reuse)
    chunks = report.chunks_encoded + report.chunks_reused
    out["full_build_s"] = seconds
    out["chunks"] = chunks
    out["full_build_fiches_per_s"] = size / seconds
    out["full_build_chunks_per_s"] = chunks / seconds
    out["full_build_with_encoding_s"] = seconds + chunks / throughput
    files = sorted(folder.glob("*.md"))
    touch(files[:1], "1")
    report, seconds = timed(build, settings, embedder=reuse)
    out["incremental_1_s"] = seconds
    out["incremental_1_encoded"] = report.chunks_encoded
    step = max(1, len(files) // max(1, size // 100))
    touch(files[::step][: max(1, size // 100)], "2")
    report, seconds = timed(build, settings, embedder=reuse)
    out["incremental_1pct_s"] = seconds
    out["incremental_1pct_fiches"] = report.updated
    out["incremental_1pct_encoded"] = report.chunks_encoded
    out["disk_mb"] = settings.catalog_path.stat().st_size / 1e6
    out["vector_index"] = json.loads(Catalog(settings.catalog_path).meta["vector_index"])
    if size == 1000:
        from kb.bank import check_paths

        _, out["validate_1000_in_process_s"] = timed(check_paths, [folder])
        _, out["validate_1000_cli_s"] = timed(subprocess.run, [str(ROOT / ".venv" / "bin" / "kb"), "validate", "-q",
                                                               str(folder)], capture_output=True)
    return out


def query_worker(bank: Path) -> dict:
    """Runs in its own process so that its peak memory is the search process's."""
    from kb.onnx_encoder import recorded_export
    from kb.search import Engine

    bank = bank.resolve()
    settings = load_settings(bank, index_dir=bank / "index")
    queries = [q.text for q in load_queries(ROOT / "eval" / "queries.jsonl")]
    engine, open_s = timed(Engine.open, settings)
    # the synthetic banks reuse vectors (no export of their own): queries are encoded, as in the
    # application, by the ONNX export recorded in the bundled bank's index (python -m bench.run builds it)
    bundled = Catalog(load_settings(ROOT).catalog_path)
    folder, reason = recorded_export(bundled.meta, bundled.path.parent, engine.embedder.key)
    engine.embedder.use_onnx(folder, threads=1, reason=reason)
    _, first_s = timed(engine.search, queries[0])  # loads the encoder, the vector and BM25 indexes
    out = {"open_s": open_s, "first_query_s": first_s, "query_encoder": "onnx" if engine.embedder.uses_onnx else
           f"torch ({engine.embedder.onnx_reason})", "torch_imported": "torch" in sys.modules}
    for mode in ("lexical", "dense", "hybrid"):
        for name, filters in [("none", None), *FILTERS.items()]:
            engine.search(queries[1], filters, mode=mode)
            times = [timed(engine.search, q, filters, limit=10, mode=mode)[1] for q in queries]
            out[f"{mode}/{name}"] = {"p50_ms": 1000 * float(np.percentile(times, 50)),
                                     "p95_ms": 1000 * float(np.percentile(times, 95))}
    slugs = [r[0] for r in engine.catalog.db.execute("SELECT slug FROM fiches ORDER BY id LIMIT 50")]
    times = [timed(engine.similar, s, None, 5)[1] for s in slugs]
    out["similar"] = {"p50_ms": 1000 * float(np.percentile(times, 50)),
                      "p95_ms": 1000 * float(np.percentile(times, 95))}
    out["peak_rss_mb"] = peak_rss_mb()
    if engine.vectors.kind != "flat":
        out["recall_at_10_vs_exact"] = approximate_recall(engine, queries)
    return out


def peak_rss_mb() -> float:
    """High-water mark of this process's resident memory. VmHWM, not ru_maxrss: Linux keeps
    ru_maxrss across exec, so a worker started by the (bigger) builder process would report the
    builder's peak."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def approximate_recall(engine, queries) -> float:
    from kb.index import VectorIndex

    exact = VectorIndex.from_catalog(engine.catalog.db, {"vector_index": '{"kind": "flat"}'})
    recalls = []
    for q in queries:
        vector = engine.embedder.encode_queries([q])[0]
        truth = {f for f, _, _ in exact.rank_fiches(vector, 10)}
        found = {f for f, _, _ in engine.vectors.rank_fiches(vector, 10)}
        recalls.append(len(truth & found) / len(truth))
    return float(np.mean(recalls))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--query-worker", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json", help="JSON results file")
    args = parser.parse_args()
    if args.query_worker:
        print(json.dumps(query_worker(args.query_worker)))
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    bundled = load_settings(ROOT)
    build(bundled)
    real = Embedder.from_settings(bundled)
    throughput = encode_throughput(real, bundled.catalog_path)
    print(json.dumps({"encoding": throughput}), flush=True)
    reuse = ReuseEmbedder(real, bundled.catalog_path)
    results = {"machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                           "python": platform.python_version()}, "encoding": throughput, "sizes": {}}
    for size in args.sizes:
        row = bench_builds(size, reuse, throughput["passages_per_s"])
        worker = subprocess.run([sys.executable, "-m", "bench.run", "--query-worker", str(BANKS / str(size))],
                                cwd=ROOT, capture_output=True, text=True, check=True)
        row.update(json.loads(worker.stdout.strip().splitlines()[-1]))
        row["reuse_misses"] = reuse.misses
        results["sizes"][size] = row
        print(json.dumps({size: row}), flush=True)
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
