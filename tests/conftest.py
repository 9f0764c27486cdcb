"""Shared fixtures: fiche factories, a fake embedder for fast build tests, and the bundled bank
built once per test session with the real packaged model."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TODAY = dt.date(2026, 12, 2)
VALID = (FIXTURES / "valid.md").read_text(encoding="utf-8")


def valid_text() -> str:
    return VALID


class FakeEmbedder:
    """Deterministic bag-of-words vectors: fast, no model, same interface as kb.embed.Embedder."""

    model_name = "fake-hash-64"
    dimension = 64

    def __init__(self, name: str = "fake-hash-64"):
        self.model_name = name
        self.encoded: list[str] = []

    @property
    def key(self) -> str:
        return f'{{"model": "{self.model_name}", "normalize": true, "passage_prompt": "", "query_prompt": ""}}'

    def describe(self) -> dict:
        return {"model": self.model_name, "dimension": self.dimension}

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype="float32")
        for word in re.findall(r"\w+", text.lower()):
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def encode_passages(self, texts, progress=False):
        self.encoded.extend(texts)
        return np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), "float32")

    def encode_queries(self, texts):
        return np.vstack([self._vector(t) for t in texts])


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


def variant(text: str = VALID, **replacements: str) -> str:
    """The valid fiche with some lines replaced: variant(titre="titre: X") swaps the line that
    starts with "titre:"; a value of None deletes it."""
    lines = text.split("\n")
    for key, new in replacements.items():
        prefix = key.replace("__", " ") + ":"
        for index, line in enumerate(lines):
            if line.startswith(prefix):
                if new is None:
                    del lines[index]
                else:
                    lines[index] = new
                break
        else:
            raise KeyError(prefix)
    return "\n".join(lines)


@pytest.fixture
def write_fiche(tmp_path):
    folder = tmp_path / "practices"
    folder.mkdir(exist_ok=True)

    def write(name: str, text: str | bytes = VALID) -> Path:
        path = folder / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session", autouse=True)
def shared_onnx_dir(tmp_path_factory):
    """One ONNX export of the real model for the whole session (KB_ONNX_DIR, inherited by the
    ``kb`` subprocesses): every bank built here with the model shares it instead of exporting
    it again (a quarter of a minute each)."""
    if os.environ.get("KB_ONNX_DIR"):
        yield Path(os.environ["KB_ONNX_DIR"])
        return
    folder = tmp_path_factory.mktemp("onnx")
    os.environ["KB_ONNX_DIR"] = str(folder)
    yield folder
    os.environ.pop("KB_ONNX_DIR", None)


@pytest.fixture(scope="session")
def bundled_settings(tmp_path_factory):
    """The bundled bank (practices/), indexed once with the real packaged model."""
    from kb.build import build
    from kb.settings import load_settings

    index_dir = tmp_path_factory.mktemp("bundled-index")
    settings = load_settings(ROOT, index_dir=index_dir)
    report = build(settings)
    assert report.fiches >= 80 and not report.invalid
    return settings


@pytest.fixture(scope="session")
def bundled_engine(bundled_settings):
    from kb.search import Engine

    return Engine.open(bundled_settings)


@pytest.fixture(scope="module")
def app_server(bundled_settings, tmp_path_factory):
    """``streamlit run kb/webapp/app.py`` on a free local port, on the session's bundled index; one
    server per test module. Yields a ``kb.localapp.App`` (url, process, log)."""
    from kb.localapp import AppStartError, running_app

    log_path = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    try:
        with running_app(bundled_settings.index_path, log_path,
                         extra_env={"KB_EDIT_URL": "https://forge.example/banque/-/edit/main/{path}"}) as app:
            yield app
    except AppStartError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def server(app_server) -> str:
    """The base URL of :func:`app_server` (http://127.0.0.1:<port>), for the tests that drive it
    with Chromium (skipped without it)."""
    from kb.localapp import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip(f"Chromium absent ({CHROMIUM}): installez le paquet Debian « chromium » pour ce test")
    pytest.importorskip("playwright.sync_api", reason="Playwright n'est pas installé")
    return app_server.url
