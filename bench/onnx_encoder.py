"""sentence-transformers (torch) against kb's own ONNX encoder, on the bundled bank.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.onnx_encoder        # from the repository root

Exports the configured model (kb.onnx_export, into a temporary folder), then prints the time to
encode every chunk of practices/ with each (default threads), the largest difference between
their vectors, and the query encoding latency of each with one thread (as kb.search runs it).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

QUERIES = ["aider les personnes âgées", "médiation numérique", "inclusion numérique en zone rurale",
           "formation des agents aux outils collaboratifs", "ouverture des données publiques",
           "cybersécurité des petites communes", "tiers-lieu et fablab", "démarches administratives en ligne"]


def bank_chunks() -> list[str]:
    from kb.bank import find_fiche_files
    from kb.chunking import chunk_fiche
    from kb.fiche import parse_file

    files, _ = find_fiche_files([ROOT / "practices"])
    fiches = [f for f in (parse_file(p)[0] for p in files) if f is not None]
    return [c.text for f in fiches for c in chunk_fiche(f)]


def latency(encode, runs: int = 200) -> tuple[float, float]:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        encode(QUERIES[i % len(QUERIES)])
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * len(times))]


def main() -> None:
    from kb.embed import Embedder
    from kb.onnx_encoder import OnnxEncoder
    from kb.onnx_export import ensure_export

    embedder = Embedder()
    texts = bank_chunks()
    with tempfile.TemporaryDirectory() as root:
        result = ensure_export(embedder, Path(root))
        if result.folder is None:
            sys.exit(f"pas d'export ONNX: {result.reason}")
        model = embedder.model
        model.encode(texts[:32])  # warm-up
        start = time.perf_counter()
        reference = embedder.encode_passages(texts)
        torch_seconds = time.perf_counter() - start
        onnx = OnnxEncoder(result.folder)
        onnx.encode(texts[:32])
        start = time.perf_counter()
        vectors = onnx.encode(texts, embedder.passage_prompt, embedder.normalize)
        onnx_seconds = time.perf_counter() - start
        print(f"{len(texts)} passages: torch {torch_seconds:.1f} s ({len(texts) / torch_seconds:.1f}/s), "
              f"ONNX {onnx_seconds:.1f} s ({len(texts) / onnx_seconds:.1f}/s); "
              f"écart max {float(np.max(np.abs(reference - vectors))):.1e}")

        import torch

        torch.set_num_threads(1)
        single = OnnxEncoder(result.folder, threads=1)
        for name, encode in (("torch", lambda q: embedder.encode_queries([q])),
                             ("ONNX", lambda q: single.encode([q], embedder.query_prompt, embedder.normalize))):
            p50, p95 = latency(encode)
            print(f"requête, {name} (1 fil): p50 {p50:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
