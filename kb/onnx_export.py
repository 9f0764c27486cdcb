"""Export of the configured sentence-transformers model to ONNX (needs torch: build time only).

The export lands in ``<index>/onnx/<digest>/``, the digest being that of the model's files, so
one export serves every build of the same model and a changed model gets a new one. Only the
pipelines Transformer + Pooling(mean) [+ Normalize] over text are exported; every export is
checked against sentence-transformers on a few texts before it is published. Whatever else
happens, the caller gets a reason, never an exception: queries then keep sentence-transformers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.onnx_encoder import CONFIG_FILE, EXPORT_FORMAT, MODEL_FILE, TOKENIZER_FILE, OnnxEncoder, load_tokenizer

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
SKIPPED_FOLDERS = {"onnx", "openvino", ".git", ".cache"}  # other exports shipped in hub repositories
TOLERANCE = 1e-4  # max abs difference allowed between the export and sentence-transformers
PROBES = ["Aider les personnes âgées à utiliser leur smartphone.", "médiation numérique", "",
          "Un bus itinérant équipé d'ordinateurs sillonne les communes rurales du département. " * 40]


class ExportRefused(Exception):
    """This model cannot be encoded by kb.onnx_encoder (the message says why, in French)."""


@dataclass
class ExportResult:
    folder: Path | None  # the export, or None: queries use sentence-transformers
    digest: str = ""
    reason: str = ""  # why there is none
    made: bool = False  # exported now (not found already made)


def model_folder(name: str) -> Path | None:
    """The local folder of a model: the packaged default, a folder, or a hub model already in
    the local cache (never downloaded here)."""
    from kb.embed import resolve_model_path

    path = Path(resolve_model_path(name))
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception:  # not a hub name, or not in the cache
        return None


def model_digest(folder: Path) -> str:
    """A digest of every file of the model (names and contents) and of the export format."""
    digest = hashlib.sha256(f"kb-onnx-{EXPORT_FORMAT}".encode())
    files = sorted(p for p in folder.rglob("*")
                   if p.is_file() and not SKIPPED_FOLDERS & set(p.relative_to(folder).parts[:-1]))
    for path in files:
        digest.update(b"\0" + str(path.relative_to(folder)).encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def ensure_export(embedder, root: Path, force: bool = False, log=lambda message: None) -> ExportResult:
    """The ONNX export of ``embedder``'s model under ``root``, made if missing (or ``force``).
    Raises kb.embed.ModelError only when the model itself cannot be loaded."""
    if embedder.backend != "torch":
        return ExportResult(None, reason=f"réglage backend = « {embedder.backend} »")
    source = model_folder(embedder.model_name)
    if source is None:
        return ExportResult(None, reason="dossier du modèle introuvable localement")
    digest = model_digest(source)
    target = Path(root) / digest
    if not force and (target / MODEL_FILE).is_file() and (target / CONFIG_FILE).is_file():
        return ExportResult(target, digest)
    log(f"Export ONNX du modèle {embedder.model_name} (une fois par modèle)…")
    model = embedder.model  # may raise ModelError: the caller decides
    tmp = Path(root) / f".tmp-{digest}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        tmp.mkdir(parents=True)
        write_export(model, tmp, embedder.model_name)
        check_export(model, tmp, [embedder.query_prompt, embedder.passage_prompt], embedder.normalize)
        if target.exists():  # made meanwhile by a build of another index sharing the folder
            if not force:
                return ExportResult(target, digest)
            shutil.rmtree(target)
        os.replace(tmp, target)
    except ExportRefused as exc:
        return ExportResult(None, digest, str(exc))
    except Exception as exc:  # torch's exporter and onnxruntime raise all kinds of errors
        return ExportResult(None, digest, f"échec de l'export ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ExportResult(target, digest, made=True)


def pipeline(model) -> dict:
    """What kb.onnx_encoder must reproduce of a sentence-transformers model, or ExportRefused."""
    names = [type(module).__name__ for module in model]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ExportRefused(f"chaîne de modules non prise en charge ({' + '.join(names)})")
    transformer, pooling = model[0], model[1]
    if getattr(pooling, "pooling_mode", None) != "mean" or not getattr(pooling, "include_prompt", True):
        raise ExportRefused(f"regroupement non pris en charge ({pooling.get_config_dict()})")
    if set(getattr(transformer, "modality_config", {"text": None})) != {"text"} \
            or getattr(transformer, "transformer_task", "feature-extraction") != "feature-extraction":
        raise ExportRefused("modèle autre qu'un encodeur de texte")
    if any(getattr(transformer, name, None) is not None for name in ("query_expansion", "query_length",
                                                                      "document_length")):
        raise ExportRefused("longueurs ou expansion de requête propres au modèle")
    tokenizer = transformer.tokenizer
    if not getattr(tokenizer, "is_fast", False) or tokenizer.padding_side != "right" \
            or tokenizer.truncation_side != "right" or tokenizer.pad_token_id is None:
        raise ExportRefused("tokeniseur non pris en charge (ni « fast », ni complété à droite)")
    inputs = [name for name in INPUTS if name in tokenizer.model_input_names]
    if set(tokenizer.model_input_names) - set(INPUTS) or "input_ids" not in inputs:
        raise ExportRefused(f"entrées du modèle non prises en charge ({tokenizer.model_input_names})")
    max_length = transformer.max_seq_length
    if not max_length or max_length > 100_000:
        raise ExportRefused("longueur maximale des textes inconnue")
    return {"format": EXPORT_FORMAT, "pooling": "mean", "inputs": inputs, "max_length": int(max_length),
            "pad_id": int(tokenizer.pad_token_id), "pad_token": tokenizer.pad_token,
            "pad_type_id": int(getattr(tokenizer, "pad_token_type_id", 0) or 0),
            "normalize": names[-1] == "Normalize", "dimension": int(model.get_embedding_dimension())}


def write_export(model, folder: Path, name: str) -> None:
    """model.onnx, tokenizer.json and encoder.json of ``model`` into ``folder``."""
    import torch

    config = {**pipeline(model), "model": name}
    transformer = model[0]
    transformer.tokenizer.backend_tokenizer.save(str(folder / TOKENIZER_FILE))
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    encodings = load_tokenizer(folder / TOKENIZER_FILE, config).encode_batch(["un exemple", "un exemple un peu plus long"])
    example = {"input_ids": [e.ids for e in encodings], "attention_mask": [e.attention_mask for e in encodings],
               "token_type_ids": [e.type_ids for e in encodings]}
    kwargs = {name: torch.tensor(example[name], dtype=torch.long) for name in config["inputs"]}
    axes = {name: {0: "batch", 1: "sequence"} for name in [*config["inputs"], "token_embeddings"]}
    wrapper = _token_embeddings_class()(transformer.auto_model).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings are about shapes the check below covers
        torch.onnx.export(wrapper, (), str(folder / MODEL_FILE), kwargs=kwargs, input_names=config["inputs"],
                          output_names=["token_embeddings"], dynamic_axes=axes, opset_version=17, dynamo=False)


def check_export(model, folder: Path, prompts: list[str], normalize: bool) -> None:
    """ExportRefused unless the export gives sentence-transformers' vectors (within TOLERANCE)
    on a few texts, a long one among them (truncation), with each configured prompt."""
    encoder = OnnxEncoder(folder)
    for prompt in dict.fromkeys(prompts):
        expected = model.encode(PROBES, prompt=prompt or None, normalize_embeddings=normalize,
                                convert_to_numpy=True, batch_size=2)
        got = encoder.encode(PROBES, prompt, normalize=normalize, batch_size=2)
        gap = float(np.max(np.abs(expected - got)))
        if not gap <= TOLERANCE:
            raise ExportRefused(f"l'export ONNX s'écarte de sentence-transformers ({gap:.1e})")


def _token_embeddings_class():
    """A torch module class, made on demand (torch is imported only when exporting)."""
    import torch

    class TokenEmbeddings(torch.nn.Module):
        """The transformer alone, called with keyword arguments, token embeddings out."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask=None, token_type_ids=None):
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            return self.model(**kwargs).last_hidden_state

    return TokenEmbeddings


def export_record(model_key: str, result: ExportResult, index_dir: Path) -> str:
    """The index's meta ``onnx`` (read by kb.onnx_encoder.recorded_export): the folder relative
    to the index folder when inside it (the index can move), else absolute."""
    if result.folder is None:
        return json.dumps({"model_key": model_key, "digest": result.digest, "reason": result.reason},
                          ensure_ascii=False)
    folder = Path(os.path.abspath(result.folder))
    index_dir = Path(os.path.abspath(index_dir))
    path = os.path.relpath(folder, index_dir) if folder.is_relative_to(index_dir) else str(folder)
    return json.dumps({"model_key": model_key, "digest": result.digest, "path": path}, ensure_ascii=False)


def export_for_build(embedder, previous_meta: dict, index_dir: Path, root: Path, log) -> str | None:
    """Find or make the ONNX export of a build's model, and make ``embedder`` encode with it;
    returns the meta ``onnx`` to record (None: nothing known yet, try again next build).

    The export the published catalog records is taken as it is (no model, no digest); a model
    that cannot be exported is not tried again until « kb model export » or a full build."""
    from kb.embed import ModelError
    from kb.onnx_encoder import MODEL_FILE, REFUSED, recorded_export

    previous = previous_meta.get("onnx")
    folder, reason = recorded_export(previous_meta, index_dir, embedder.key)
    if folder is not None and (folder / MODEL_FILE).is_file():
        embedder.use_onnx(folder)
        return previous
    if reason.startswith(REFUSED):  # this model was refused already
        embedder.use_onnx(None, reason=reason)
        return previous
    try:
        result = ensure_export(embedder, root, force=False, log=log)
    except ModelError as exc:
        log(f"Export ONNX remis à la prochaine construction ({exc}).")
        return None
    if result.folder is None:
        log(f"Export ONNX impossible pour le modèle « {embedder.model_name} » ({result.reason}): "
            "les requêtes seront encodées par sentence-transformers (torch), plus lentement.")
    elif result.made:
        log(f"Export ONNX du modèle enregistré dans {result.folder}.")
    embedder.use_onnx(result.folder, reason=result.reason)
    return export_record(embedder.key, result, index_dir)


def export_onnx(settings, force: bool = False, log=None):
    """``kb model export``: make the ONNX export of the configured model (again with ``force``)
    and record it in the index when there is one built with that model. Returns
    (kb.onnx_export.ExportResult, whether the index records it now)."""
    from kb import catalog as cat
    from kb.catalog_writer import CatalogWriter, build_lock
    from kb.embed import Embedder

    log = log or (lambda message: None)
    embedder = Embedder.from_settings(settings)
    lock = build_lock(settings)
    try:
        result = ensure_export(embedder, settings.onnx_path, force=force, log=log)
        if not settings.catalog_path.exists():
            return result, False
        db = cat.connect(settings.catalog_path)
        try:
            meta = cat.check_readable(db, settings.catalog_path)
            if meta.get("model_key") != embedder.key:
                return result, False
            CatalogWriter(db).set_meta({"onnx": export_record(embedder.key, result, settings.index_path)})
        finally:
            db.conn.close()
        cat.mark_verified(settings.catalog_path)
        return result, True
    finally:
        lock.release()
