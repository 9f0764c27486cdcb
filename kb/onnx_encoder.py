"""Sentence embeddings from an ONNX export, with onnxruntime and tokenizers only.

This module never imports torch, transformers or sentence-transformers: a search process that
encodes its queries here starts in a fraction of the time and memory. The export itself
(kb.onnx_export) needs torch and is made at build time. An export is a folder holding
``model.onnx`` (the transformer, token embeddings out), ``tokenizer.json`` (the model's own
tokenizer, as sentence-transformers configured it) and ``encoder.json`` (what sentence-
transformers does around them: truncation length, pooling, normalisation).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

EXPORT_FORMAT = 1  # bump when the folder's layout or encoder.json change meaning
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "encoder.json"
REFUSED = "export ONNX impossible"  # how recorded_export's reason starts for a model refused at build


class OnnxEncoderError(Exception):
    """The export is missing, damaged or of another format: use sentence-transformers instead."""


class OnnxEncoder:
    """Encodes texts like the sentence-transformers pipeline Transformer + Pooling(mean)
    [+ Normalize] it was exported from (kb.onnx_export checks the two agree)."""

    def __init__(self, folder: Path | str, threads: int | None = None):
        folder = Path(folder)
        self.folder = folder
        try:
            self.config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise OnnxEncoderError(f"export ONNX {folder} illisible ({CONFIG_FILE}: {exc})") from exc
        if self.config.get("format") != EXPORT_FORMAT or self.config.get("pooling") != "mean":
            raise OnnxEncoderError(f"export ONNX {folder} d'un autre format: refaites-le avec « kb model export »")
        self.inputs = list(self.config["inputs"])
        self.normalize = bool(self.config["normalize"])
        self.dimension = int(self.config["dimension"])
        self.tokenizer = load_tokenizer(folder / TOKENIZER_FILE, self.config)
        self.session = _session(folder / MODEL_FILE, threads)

    def encode(self, texts: list[str], prompt: str = "", normalize: bool = False,
               batch_size: int = 32) -> np.ndarray:
        """One float32 row per text, in order; unit length when the pipeline ends with
        Normalize or ``normalize`` asks it. Texts are batched longest first (as
        sentence-transformers does), so a batch carries little padding."""
        texts = [prompt + str(t) for t in texts]
        out = np.zeros((len(texts), self.dimension), dtype="float32")
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            out[rows] = self._encode_batch([texts[i] for i in rows], normalize or self.normalize)
        return out

    def _encode_batch(self, texts: list[str], normalize: bool) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        arrays = {"input_ids": np.array([e.ids for e in encodings], dtype="int64"),
                  "attention_mask": np.array([e.attention_mask for e in encodings], dtype="int64"),
                  "token_type_ids": np.array([e.type_ids for e in encodings], dtype="int64")}
        try:
            (tokens,) = self.session.run(["token_embeddings"], {name: arrays[name] for name in self.inputs})
        except Exception as exc:  # onnxruntime raises its own exception types
            raise OnnxEncoderError(f"l'export ONNX {self.folder} n'a pas pu encoder ({exc})") from exc
        mask = arrays["attention_mask"][..., None].astype("float32")
        vectors = (tokens * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        if normalize:
            vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return vectors


def load_tokenizer(path: Path, config: dict):
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises plain Exception on a bad file
        raise OnnxEncoderError(f"tokeniseur {path} illisible ({exc})") from exc
    # sentence-transformers truncates at the model's max_seq_length and pads to the longest
    # text of the batch, whatever tokenizer.json itself says
    tokenizer.enable_truncation(max_length=int(config["max_length"]), strategy="longest_first", direction="right")
    tokenizer.enable_padding(direction="right", pad_id=int(config["pad_id"]), pad_token=config["pad_token"],
                             pad_type_id=int(config.get("pad_type_id", 0)))
    return tokenizer


def _session(path: Path, threads: int | None):
    import onnxruntime as ort

    if not path.is_file():
        raise OnnxEncoderError(f"fichier {path} absent")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: onnxruntime's warnings are not the user's business
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # InvalidProtobuf, Fail…: a damaged or foreign file
        raise OnnxEncoderError(f"fichier {path} illisible par onnxruntime ({type(exc).__name__}: "
                               f"{' '.join(str(exc).split())[:200]})") from exc


def recorded_export(meta: dict, index_dir: Path | str, model_key: str) -> tuple[Path | None, str]:
    """(the export folder that an index's meta records for ``model_key``, or None; why not).

    The record (meta key ``onnx``, written by kb.build) holds the model key and either the
    export's folder, relative to the index folder when inside it, or the reason there is none."""
    raw = meta.get("onnx")
    if not raw:
        return None, "l'index n'enregistre aucun export ONNX (« kb model export » le fait)"
    try:
        record = json.loads(raw)
    except ValueError:
        return None, "enregistrement de l'export ONNX illisible (« kb model export » le refait)"
    if not isinstance(record, dict) or record.get("model_key") != model_key:
        return None, "l'export ONNX enregistré est celui d'un autre modèle"
    if not record.get("path"):
        return None, f"{REFUSED}: {record.get('reason') or 'raison inconnue'}"
    return Path(os.path.normpath(Path(index_dir) / record["path"])), ""
