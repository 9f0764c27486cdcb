"""The public Python API: :func:`open_bank` and :class:`Bank`, re-exported by :mod:`kb`.

    import kb

    with kb.open_bank("chemin/de/la/banque") as bank:
        results = bank.search("aider les seniors", kb.Filters(densites=["rural"]), limit=5)
        for hit in results.hits:
            print(hit.titre, hit.fiche.territoire["nom"])

A bank is a folder with ``practices/`` (the fiches), an optional ``kb.toml`` (settings) and the
index that ``kb build`` writes. Searching needs that index; :meth:`Bank.validate` does not.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from kb.settings import Settings, load_settings

if TYPE_CHECKING:
    from kb.bank import BankCheck
    from kb.model import Fiche
    from kb.results import Hit, Results
    from kb.search import Engine

__all__ = ["Bank", "open_bank"]


def open_bank(root: Path | str | None = None, **setting_overrides) -> Bank:
    """The bank at ``root`` (default: ``$KB_ROOT``, else the current folder).

    Its settings come from the defaults, then ``kb.toml`` in ``root``, then the ``KB_*``
    environment variables, then ``setting_overrides`` (``index_dir=...``, ``model=...``: any
    field of :class:`kb.settings.Settings`). Raises :class:`kb.settings.SettingsError` for an
    unknown or invalid setting. The index is opened at the first call that reads it.
    """
    return Bank(load_settings(root, **setting_overrides))


class Bank:
    """A bank of fiches: search it, read its fiches, check its files.

    The index is opened on first need (a missing or damaged index raises
    :class:`kb.catalog.CatalogError` then, with the command that repairs it) and the embedding
    model loads with the first query that needs it. Thread-safe; close it, or use it as a
    context manager, to release the index. Everything but :meth:`validate` reads the index
    through the search engine, which needs the ``search`` extra: without it,
    :class:`kb.extras.MissingExtra` (an ImportError) says in French which extra to install.
    """

    def __init__(self, settings: Settings, embedder=None):
        self.settings = settings
        self._embedder = embedder
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Bank({str(self.settings.root)!r})"

    def __enter__(self) -> Bank:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        """The search engine over the bank's index (:class:`kb.search.Engine`), opened on first use."""
        with self._lock:
            if self._engine is None:
                from kb.search import Engine

                self._engine = Engine.open(self.settings, self._embedder)
            return self._engine

    def search(self, query: str = "", filters=None, limit: int = 10, offset: int = 0, mode: str = "hybrid",
               sort: str = "relevance") -> Results:
        """The fiches that answer ``query`` within ``filters``, best first.

        ``filters``: a :class:`kb.Filters`, or a mapping of its fields (``{"publics": ["seniors"]}``);
        values of one field are alternatives, fields all apply. ``mode``: ``"hybrid"``,
        ``"lexical"`` or ``"dense"``; ``sort``: ``"relevance"`` or ``"date"`` (most recently
        reviewed first). Without a query, every filtered fiche, most recently reviewed first.
        ``Results.total`` counts every fiche that answers, whatever ``limit`` and ``offset``;
        weaker matches, never counted, come apart in ``Results.others``. Raises ValueError for
        an unknown mode or filter value."""
        return self.engine.search(query, _filters(filters), limit=limit, offset=offset, mode=mode, sort=sort)

    def similar(self, slug: str, limit: int = 5, filters=None) -> list[Hit]:
        """The fiches closest in content to the fiche ``slug`` (never itself), within ``filters``
        (as for :meth:`search`). Raises KeyError when the bank has no such fiche."""
        return self.engine.similar(slug, _filters(filters), limit=limit)

    def facets(self, filters=None, query: str = "") -> dict[str, dict[str, int]]:
        """Facet → value → number of fiches, over the fiches that answer ``query`` within
        ``filters`` (the whole bank without either), most frequent values first."""
        return self.engine.facets(_filters(filters), query)

    def get(self, slug: str) -> Fiche | None:
        """The fiche ``slug`` as indexed, or None when the bank has none."""
        return self.engine.get(slug)

    def count(self) -> int:
        """The number of fiches in the index."""
        return self.engine.count()

    def validate(self, paths: Iterable[Path | str] | Path | str | None = None) -> BankCheck:
        """Check fiche files against the format (docs/format.md) and the bank-wide rules, as
        ``kb validate`` does: ``paths`` are files or folders (default: the bank's ``practices/``).
        The result's ``problems`` list every :class:`kb.Problem` (``severity`` "error" or
        "warning", with path, line and message), ``valid`` the fiches without errors. Needs no
        index."""
        from kb.bank import check_paths

        if paths is None:
            paths = [self.settings.practices_path]
        elif isinstance(paths, (str, Path)):
            paths = [paths]
        return check_paths(list(paths))

    def close(self) -> None:
        """Release the index (a later call opens it again)."""
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.close()


def _filters(value):
    """A Filters from a Filters, a mapping of its fields or None; unknown values refused."""
    from kb.filters import Filters

    if value is None:
        return None
    if isinstance(value, Mapping):
        try:
            value = Filters(**{name: [v] if isinstance(v, str) else v for name, v in value.items()})
        except TypeError as exc:
            raise ValueError(f"filtre inconnu ({exc}); filtres: {', '.join(Filters.__dataclass_fields__)}") from exc
    elif not isinstance(value, Filters):
        raise TypeError(f"filters: un kb.Filters ou un dictionnaire attendu, pas {type(value).__name__}")
    unknown = value.unknown_values()
    if unknown:
        raise ValueError("; ".join(unknown))
    return value
