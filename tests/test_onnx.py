"""Queries (and passages) encoded with the model's ONNX export: the same vectors as
sentence-transformers, no torch in a search process, and sentence-transformers again, with a
French message, when the export is refused, missing or damaged."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, TODAY, FakeEmbedder
from kb.build import build
from kb.onnx_encoder import REFUSED, OnnxEncoder, OnnxEncoderError, recorded_export
from kb.settings import load_settings

KEY = FakeEmbedder().key


class OnnxAwareFake(FakeEmbedder):
    """A fake embedder that, like kb.embed.Embedder, can be told to use an ONNX export."""

    backend = "torch"

    def __init__(self):
        super().__init__()
        self.told: list[tuple] = []

    def use_onnx(self, folder, threads=None, reason=""):
        self.told.append((folder, threads, reason))


@pytest.fixture
def exports(monkeypatch):
    """kb.onnx_export.ensure_export replaced: returns ``exports.result`` and counts its calls."""
    import kb.onnx_export as onnx_export

    class Exports:
        calls = 0
        result = onnx_export.ExportResult(None, "d1g3st", "chaîne de modules non prise en charge (Transformer + Dense)")

    def fake_ensure(embedder, root, force=False, log=None):
        Exports.calls += 1
        return Exports.result

    monkeypatch.setattr(onnx_export, "ensure_export", fake_ensure)
    return Exports


def meta_onnx(settings) -> dict:
    with sqlite3.connect(settings.catalog_path) as db:
        return json.loads(db.execute("SELECT value FROM meta WHERE key = 'onnx'").fetchone()[0])


def test_exports_live_in_the_index_folder_unless_set_elsewhere(tmp_path, monkeypatch):
    monkeypatch.delenv("KB_ONNX_DIR", raising=False)
    assert load_settings(tmp_path, index_dir="idx").onnx_path == tmp_path / "idx" / "onnx"
    monkeypatch.setenv("KB_ONNX_DIR", "cache/onnx")
    assert load_settings(tmp_path).onnx_path == tmp_path / "cache" / "onnx"


def test_what_an_index_records_decides_the_encoder(tmp_path):
    assert recorded_export({}, tmp_path, KEY)[0] is None
    assert "illisible" in recorded_export({"onnx": "{pas du json"}, tmp_path, KEY)[1]
    ok = json.dumps({"model_key": KEY, "digest": "d", "path": "onnx/d"})
    assert recorded_export({"onnx": ok}, tmp_path, KEY) == (tmp_path / "onnx" / "d", "")
    assert "autre modèle" in recorded_export({"onnx": ok}, tmp_path, "un autre")[1]
    refused = json.dumps({"model_key": KEY, "digest": "d", "reason": "regroupement non pris en charge"})
    assert recorded_export({"onnx": refused}, tmp_path, KEY) == (None, f"{REFUSED}: regroupement non pris en charge")


def test_a_missing_or_damaged_export_is_a_french_error(tmp_path):
    from tokenizers import Tokenizer, models

    with pytest.raises(OnnxEncoderError, match="illisible"):
        OnnxEncoder(tmp_path)  # no encoder.json
    (tmp_path / "encoder.json").write_text(json.dumps({
        "format": 1, "pooling": "mean", "inputs": ["input_ids", "attention_mask"], "max_length": 8,
        "pad_id": 0, "pad_token": "[PAD]", "normalize": True, "dimension": 4}), encoding="utf-8")
    (tmp_path / "tokenizer.json").write_text("{ abîmé", encoding="utf-8")
    with pytest.raises(OnnxEncoderError, match="tokeniseur .* illisible"):
        OnnxEncoder(tmp_path)
    Tokenizer(models.WordLevel({"[PAD]": 0, "[UNK]": 1}, unk_token="[UNK]")).save(str(tmp_path / "tokenizer.json"))
    with pytest.raises(OnnxEncoderError, match="model.onnx absent"):
        OnnxEncoder(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"\x08\x07pas un modele" * 50)
    with pytest.raises(OnnxEncoderError, match="illisible par onnxruntime"):
        OnnxEncoder(tmp_path)


@pytest.mark.parametrize("modules, message", [
    (["Transformer", "Dense", "Normalize"], "chaîne de modules non prise en charge"),
    (["Transformer", "Pooling"], "regroupement non pris en charge"),
])
def test_only_mean_pooled_transformers_are_exported(modules, message):
    from kb.onnx_export import ExportRefused, pipeline

    def module(name):
        return type(name, (), {"pooling_mode": "cls", "include_prompt": True, "get_config_dict": lambda self: {}})()

    with pytest.raises(ExportRefused, match=message):
        pipeline([module(name) for name in modules])


def test_a_refused_export_leaves_the_build_whole_and_is_not_tried_again(tmp_path, write_fiche, exports):
    write_fiche("bus-numerique.md")
    settings = load_settings(tmp_path)
    logs: list[str] = []
    report = build(settings, embedder=OnnxAwareFake(), today=TODAY, log=logs.append)
    assert report.fiches == 1 and exports.calls == 1
    assert any("Export ONNX impossible pour le modèle « fake-hash-64 » (chaîne de modules" in m
               and "sentence-transformers" in m for m in logs)
    assert meta_onnx(settings)["reason"].startswith("chaîne de modules")
    build(settings, embedder=OnnxAwareFake(), today=TODAY)
    assert exports.calls == 1  # refused once for this model: not tried at every build

    from kb.search import Engine

    fake = OnnxAwareFake()
    Engine.open(settings, embedder=fake)
    assert fake.told == [(None, 1, f"{REFUSED}: chaîne de modules non prise en charge (Transformer + Dense)")]


def test_an_export_is_made_once_and_recorded_relative_to_the_index(tmp_path, write_fiche, exports):
    import kb.onnx_export as onnx_export

    write_fiche("bus-numerique.md")
    settings = load_settings(tmp_path, index_dir=tmp_path / "index", onnx_dir="")
    folder = settings.onnx_path / "d1g3st"
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"")
    exports.result = onnx_export.ExportResult(folder, "d1g3st", made=True)
    first = OnnxAwareFake()
    build(settings, embedder=first, today=TODAY)
    assert meta_onnx(settings) == {"model_key": KEY, "digest": "d1g3st", "path": "onnx/d1g3st"}
    assert first.told == [(folder, None, "")]  # passages encoded with it too
    second = OnnxAwareFake()
    build(settings, embedder=second, today=TODAY, force=True)
    build(settings, embedder=second, today=TODAY)
    assert exports.calls == 2  # the full build looks again (by digest); the incremental one reads the meta

    moved = tmp_path / "moved"
    shutil.copytree(settings.index_path, moved)
    from kb.search import Engine

    reader = OnnxAwareFake()
    Engine.open(settings.with_overrides(index_dir=moved), embedder=reader)
    assert reader.told == [(moved / "onnx" / "d1g3st", 1, "")]


# ----------------------------------------------------------------------------- the real model


def bundled_export(settings) -> Path:
    from kb.catalog import Catalog
    from kb.embed import Embedder

    catalog = Catalog(settings.catalog_path)
    try:
        folder, reason = recorded_export(catalog.meta, settings.index_path, Embedder.from_settings(settings).key)
    finally:
        catalog.close()
    assert folder is not None and (folder / "model.onnx").is_file(), reason
    return folder


@pytest.mark.model
def test_onnx_vectors_are_sentence_transformers_vectors(bundled_settings):
    """On 200 of the bank's passages and on the evaluation queries, through kb.embed.Embedder."""
    from kb.embed import Embedder

    with sqlite3.connect(bundled_settings.catalog_path) as db:
        rows = [r[0] for r in db.execute("SELECT text FROM chunks ORDER BY id")]
    texts = rows[::max(1, len(rows) // 200)][:200]
    assert len(texts) == 200
    queries = [json.loads(line)["query"] for line in
               (ROOT / "eval" / "queries.jsonl").read_text(encoding="utf-8").splitlines()[:30] if line.strip()]
    reference = Embedder.from_settings(bundled_settings)  # told of no export: sentence-transformers
    onnx = Embedder.from_settings(bundled_settings)
    onnx.use_onnx(bundled_export(bundled_settings), threads=1)
    passages = onnx.encode_passages(texts)
    assert onnx._model is None  # sentence-transformers was never loaded by this embedder
    assert np.max(np.abs(passages - reference.encode_passages(texts))) < 1e-5
    got = onnx.encode_queries(queries)
    assert np.max(np.abs(got - reference.encode_queries(queries))) < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)


@pytest.mark.model
def test_a_search_process_never_imports_torch(bundled_settings):
    code = """import json, sys
from kb.cli import main
try:
    main(['--root', sys.argv[1], '--index-dir', sys.argv[2], 'search', 'médiation numérique', '--json'])
except SystemExit as exit:
    assert not exit.code, exit.code
from kb.search import Engine
from kb.settings import load_settings
engine = Engine.open(load_settings(sys.argv[1], index_dir=sys.argv[2]))
hits = engine.search('aider les personnes âgées', mode='dense').hits
assert hits and hits[0].dense_rank == 1
assert engine.similar(hits[0].slug)
print('HEAVY', [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules])
"""
    out = subprocess.run([sys.executable, "-c", code, str(ROOT), str(bundled_settings.index_path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads(out.stdout[:out.stdout.rindex("HEAVY")])
    assert results["hits"] and any(h["dense_rank"] for h in results["hits"])
    assert "HEAVY []" in out.stdout, out.stdout[-500:] + out.stderr[-2000:]


def copy_index(settings, tmp_path: Path):
    """The bundled index copied elsewhere (the session's own is shared by many tests)."""
    copy = settings.with_overrides(index_dir=tmp_path / "index")
    copy.index_path.mkdir()
    shutil.copy(settings.catalog_path, copy.catalog_path)
    return copy


@pytest.mark.model
def test_a_damaged_export_falls_back_to_sentence_transformers(bundled_settings, bundled_engine, tmp_path, caplog):
    from kb.search import Engine

    settings = copy_index(bundled_settings, tmp_path)
    damaged = settings.index_path / "onnx" / "abime"
    shutil.copytree(bundled_export(bundled_settings), damaged)
    (damaged / "model.onnx").write_bytes(b"\x00" * 1000)
    with sqlite3.connect(settings.catalog_path) as db:
        record = json.loads(db.execute("SELECT value FROM meta WHERE key = 'onnx'").fetchone()[0])
        db.execute("UPDATE meta SET value = ? WHERE key = 'onnx'", [json.dumps({**record, "path": "onnx/abime"})])
    engine = Engine.open(settings)
    with caplog.at_level("WARNING", logger="kb"):
        results = engine.search("aider les personnes âgées")
    assert "Export ONNX inutilisable" in caplog.text and "kb model export --force" in caplog.text
    assert not engine.embedder.uses_onnx
    assert [h.slug for h in results.hits] == [h.slug for h in bundled_engine.search("aider les personnes âgées").hits]


@pytest.mark.model
def test_kb_model_export_records_the_export_in_the_index(bundled_settings, tmp_path):
    from click.testing import CliRunner

    from kb.cli import main
    from kb.search import Engine

    settings = copy_index(bundled_settings, tmp_path)
    with sqlite3.connect(settings.catalog_path) as db:
        db.execute("DELETE FROM meta WHERE key = 'onnx'")
    assert not Engine.open(settings).embedder.uses_onnx
    result = CliRunner().invoke(main, ["--root", str(ROOT), "--index-dir", str(settings.index_path),
                                       "model", "export"])
    assert result.exit_code == 0, result.output
    assert "Export ONNX déjà présent" in result.output and "Enregistré dans l'index" in result.output
    assert Engine.open(settings).embedder.uses_onnx
    result = CliRunner().invoke(main, ["--root", str(ROOT), "--index-dir", str(tmp_path / "aucun"),
                                       "model", "export"])
    assert result.exit_code == 0 and "« kb build » l'enregistrera" in result.output
