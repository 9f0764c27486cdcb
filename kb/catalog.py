"""The SQLite catalog (through sqlite-utils): the one source of truth that search and the
application read. This module reads it; its schema and every write belong to
:mod:`kb.catalog_writer`, through which the builder and the vector index write.

Tables:
- ``fiches``: one row per valid fiche, every field (lists and mappings as JSON), plus the
  analyzed text (French terms) that feeds the FTS5 index ``fiches_fts``;
- ``facets``: (fiche_id, facet, value) rows, so multi-valued facets are plain SQL;
- ``chunks``: the parts of each fiche that are embedded, with their vectors (float32 blobs);
- ``vector_blob``: the serialised approximate (IVF) vector index, one row, when the bank is
  too large for exact search (see :mod:`kb.index`);
- ``lexical_blob``: the BM25 matrix of the fiches' terms (kb.lexical), none when built by the
  core install;
- ``problems``: the invalid files of the last build and their problems;
- ``meta``: schema version, vocabulary digest, model, build id and date, vector index kind,
  and ``vectors`` (``absent`` when built without the vectors extra: chunks have no vector).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import sqlite_utils

from kb.catalog_writer import FTS_COLUMNS, JSON_FIELDS, SCHEMA_VERSION
from kb.fiche import Fiche
from kb.filters import Filters

class CatalogError(Exception):
    """The catalog is missing, unreadable or built with other settings."""


class SchemaMismatch(CatalogError):
    """The catalog was written by another version of kb: a build rewrites it."""


def corrupt_error(path: Path | str, exc: Exception) -> CatalogError:
    """The message for a catalog that SQLite or the JSON decoder cannot read."""
    detail = " ".join(str(exc).split())
    detail = detail if len(detail) <= 80 else detail[:80] + "…"
    return CatalogError(f"l'index {path} est illisible ou corrompu ({type(exc).__name__}: {detail}): "
                        "reconstruisez-le avec « kb build --force ».")


# what reading a damaged catalog raises, beyond what check_readable catches when it opens
CORRUPTION_ERRORS = (sqlite3.DatabaseError, json.JSONDecodeError)


def _roll_back_interrupted_write(path: Path) -> None:
    """A build killed while writing leaves a hot journal that a read-only connection cannot
    roll back ("attempt to write a readonly database"); a brief read-write connection does it.
    A journal that belongs to a build still running is left alone by SQLite."""
    if not path.with_name(path.name + "-journal").exists():
        return
    try:
        conn = sqlite3.connect(str(path), timeout=10)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        pass  # no write access: the read-only connection reports the problem


def connect(path: Path | str, readonly: bool = False) -> sqlite_utils.Database:
    path = Path(path)
    if readonly:
        if not path.exists():
            raise CatalogError(f"aucun index dans {path.parent}: lancez « kb build ».")
        _roll_back_interrupted_write(path)
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(str(path), check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    return sqlite_utils.Database(conn)


def check_readable(db: sqlite_utils.Database, path: Path) -> dict:
    """The meta table of a sound catalog, or a clear error saying how to repair it."""
    try:
        meta = {row["key"]: row["value"] for row in db["meta"].rows}
        db.execute("SELECT count(*) FROM fiches").fetchone()
        _quick_check(db, path)
    except sqlite3.DatabaseError as exc:
        raise corrupt_error(path, exc) from exc
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise SchemaMismatch(f"l'index {path} a été construit par une autre version de kb: reconstruisez-le "
                             "avec « kb build ».")
    return meta


_CHECKED: dict[str, tuple] = {}  # path → identity of the file version that passed quick_check


def file_identity(path: Path) -> list | None:
    """(inode, size, mtime) of a catalog file: any build or damage changes it."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _verified_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".verified")


def mark_verified(path: Path) -> None:
    """Record that the catalog, as it is now, was just written whole by a build: the next
    process that opens this same file version skips quick_check (a second at 10,000 fiches).
    Any later change of the file (damage, copy, truncation) changes its identity."""
    identity = file_identity(path)
    if identity is None:
        return
    marker = _verified_path(path)
    tmp = marker.with_name(marker.name + ".tmp")
    try:
        tmp.write_text(json.dumps(identity), encoding="utf-8")
        os.replace(tmp, marker)
    except OSError:
        pass  # a read-only index folder: every open keeps checking


def _verified_by_build(path: Path, identity: list | None) -> bool:
    try:
        return identity is not None and json.loads(_verified_path(path).read_text(encoding="utf-8")) == identity
    except (OSError, ValueError):
        return False


def _quick_check(db: sqlite_utils.Database, path: Path) -> None:
    """PRAGMA quick_check, once per version of the file (the application reopens the catalog on
    every page), and not at all for the version a build has just written (:func:`mark_verified`):
    finds a truncated file or damaged pages before a query trips on them."""
    identity = file_identity(path)
    if identity is not None and (_CHECKED.get(str(path)) == identity or _verified_by_build(path, identity)):
        return
    row = db.execute("PRAGMA quick_check").fetchone()
    if row is None or row[0] != "ok":
        raise sqlite3.DatabaseError(row[0] if row else "quick_check sans résultat")
    if identity is not None:
        _CHECKED[str(path)] = identity


TERRITOIRE_COLUMNS = {"nom": "territoire_nom", "type": "type", "departements": "departements",
                      "population": "population", "densite": "densite"}


def fiche_from_row(row: dict) -> Fiche:
    """The :class:`~kb.model.Fiche` of a decoded catalog row (:func:`row_to_dict`): the inverse
    of :func:`kb.catalog_writer.fiche_record`."""
    territoire = {key: row[column] for key, column in TERRITOIRE_COLUMNS.items() if row.get(column) is not None}
    return Fiche.from_dict({**row, "territoire": territoire})


def row_to_dict(row: dict) -> dict:
    """A ``fiches`` row with its JSON columns decoded and the index-only columns dropped."""
    out = {k: v for k, v in row.items() if k not in FTS_COLUMNS and k != "hash"}
    for name in JSON_FIELDS:
        if name in out and isinstance(out[name], str):
            out[name] = json.loads(out[name])
    return out


class Catalog:
    """Read access to a built catalog."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.db = connect(self.path, readonly=True)
        self.meta = check_readable(self.db, self.path)

    def close(self) -> None:
        self.db.conn.close()

    @property
    def has_vectors(self) -> bool:
        """Whether every chunk has its vector and the vector index is kept: False for a catalog
        built without the vectors extra (kb.build), searched by words alone."""
        kind = json.loads(self.meta.get("vector_index") or "{}").get("kind")
        return self.meta.get("vectors") != "absent" and kind != "none"

    def build_id(self) -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'build_id'").fetchone()
        return row[0] if row else ""

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM fiches").fetchone()[0]

    def ids(self, filters: Filters | None = None) -> list[int]:
        where, params = (filters or Filters()).sql()
        return [r[0] for r in self.db.execute(f"SELECT f.id FROM fiches f WHERE {where} ORDER BY f.id", params)]

    def browse(self, filters: Filters | None = None) -> list[int]:
        """Ids of the filtered fiches, most recently reviewed first."""
        where, params = (filters or Filters()).sql()
        return [r[0] for r in self.db.execute(
            f"SELECT f.id FROM fiches f WHERE {where} ORDER BY f.mise_a_jour DESC, f.titre", params)]

    def fiches(self, ids: list[int]) -> dict[int, dict]:
        out = {}
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.query(f"SELECT * FROM fiches WHERE id IN ({marks})", part):
                out[row["id"]] = row_to_dict(row)
        return out

    def get(self, slug: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM fiches WHERE slug = ?", [slug]))
        return row_to_dict(rows[0]) if rows else None

    def id_of(self, slug: str) -> int | None:
        row = self.db.execute("SELECT id FROM fiches WHERE slug = ?", [slug]).fetchone()
        return row[0] if row else None

    def facet_counts(self, ids: list[int] | None = None) -> dict[str, dict[str, int]]:
        """Number of fiches per value of each facet, over ``ids`` (all fiches when None)."""
        if ids is None:
            rows = self.db.execute("SELECT facet, value, count(*) FROM facets GROUP BY facet, value")
        else:
            rows = self.facet_table().count(ids)
        counts: dict[str, dict[str, int]] = {}
        for facet, value, n in rows:
            counts.setdefault(facet, {})[value] = n
        return {facet: dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))
                for facet, values in counts.items()}

    def facet_table(self) -> "FacetTable":
        if getattr(self, "_facet_table", None) is None:
            self._facet_table = FacetTable(self.db)
        return self._facet_table

    def matching(self, match: str, ids) -> set[int]:
        """The fiches among ``ids`` (a short list; None: all) whose text matches an FTS5
        expression."""
        if ids is None:
            return {r[0] for r in self.db.execute("SELECT rowid FROM fiches_fts WHERE fiches_fts MATCH ?", [match])}
        if not ids:
            return set()
        rows = self.db.execute("SELECT rowid FROM fiches_fts WHERE fiches_fts MATCH ? AND rowid IN "
                               "(SELECT value FROM json_each(?))", [match, json.dumps([int(i) for i in ids])])
        return {r[0] for r in rows}

    def chunks(self, fiche_ids: list[int] | None = None):
        """(chunk id, fiche id, section, text) rows."""
        if fiche_ids is None:
            return self.db.execute("SELECT id, fiche_id, section, text FROM chunks ORDER BY id").fetchall()
        return self.db.execute("SELECT id, fiche_id, section, text FROM chunks WHERE fiche_id IN "
                               "(SELECT value FROM json_each(?)) ORDER BY id", [id_list(fiche_ids)]).fetchall()

    def problems(self) -> list[dict]:
        return list(self.db.query("SELECT path, line, severity, message FROM problems ORDER BY path, line"))

    def entries(self) -> list[dict]:
        """Path, slug, title and title line of every fiche: what the bank-wide rules check."""
        return list(self.db.query("SELECT path, slug, titre, titre_line FROM fiches ORDER BY path"))

    def cross_counts(self, first: str, second: str) -> dict[tuple[str, str], int]:
        """Number of fiches per pair of values of two facets (a stacked chart), in one query."""
        rows = self.db.execute("SELECT a.value, b.value, count(DISTINCT a.fiche_id) FROM facets a "
                               "JOIN facets b ON b.fiche_id = a.fiche_id AND b.facet = ? WHERE a.facet = ? "
                               "GROUP BY a.value, b.value", [second, first])
        return {(a, b): n for a, b, n in rows}


# -- what a build reads of the published catalog (sqlite_utils.Database, read-write) ----------


def existing_fiches(db: sqlite_utils.Database) -> dict[str, dict]:
    """path → the row (id, path, hash, slug, titre, titre_line) of each catalogued fiche."""
    return {row["path"]: row for row in db.query("SELECT id, path, hash, slug, titre, titre_line FROM fiches")}


def stored_problems(db: sqlite_utils.Database) -> dict[str, tuple[str, list]]:
    """path → (file hash, problems) of the invalid files a build may skip re-parsing."""
    from kb.problems import Problem

    out: dict[str, tuple[str, list]] = {}
    for row in db.query("SELECT * FROM problems WHERE hash != ''"):
        out.setdefault(row["path"], (row["hash"], []))[1].append(
            Problem(row["path"], row["line"], row["severity"], row["message"]))
    return out


def stored_vectors(db: sqlite_utils.Database, hashes) -> dict[str, bytes]:
    """chunk hash → stored vector bytes, for the hashes that have one."""
    wanted = sorted(hashes)
    known: dict[str, bytes] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start:start + 500]
        marks = ",".join("?" * len(part))
        known.update(db.execute(f"SELECT hash, vector FROM chunks WHERE hash IN ({marks}) AND vector IS NOT NULL",
                                part).fetchall())
    return known


def chunks_without_vectors(db: sqlite_utils.Database) -> list[tuple[int, str, str]]:
    """(id, hash, text) of the chunks stored without a vector (a build without the vectors extra)."""
    return [tuple(row) for row in db.execute("SELECT id, hash, text FROM chunks WHERE vector IS NULL")]


def chunk_ids(db: sqlite_utils.Database, fiche_ids: list[int]) -> list[int]:
    return [r[0] for r in db.execute("SELECT id FROM chunks WHERE fiche_id IN (SELECT value FROM json_each(?))",
                                     [id_list(fiche_ids)])]


def id_list(ids) -> str:
    """Ids as one JSON parameter, for ``IN (SELECT value FROM json_each(?))``: one bound value
    whatever the number of ids, and no temporary table to fill."""
    return json.dumps([int(i) for i in ids])


class FacetTable:
    """The facets table in memory, as arrays sorted by fiche, to count the facet values of a
    result set in a few milliseconds whatever its size (SQL's GROUP BY over a large id list
    costs tens of milliseconds per search)."""

    def __init__(self, db: sqlite_utils.Database):
        import numpy as np

        self._np = np
        rows = db.execute("SELECT fiche_id, facet, value FROM facets ORDER BY fiche_id").fetchall()
        self.keys = sorted({(facet, value) for _, facet, value in rows})
        column = {key: i for i, key in enumerate(self.keys)}
        self.fiche = np.fromiter((r[0] for r in rows), dtype="int64", count=len(rows))
        self.column = np.fromiter((column[(r[1], r[2])] for r in rows), dtype="int32", count=len(rows))

    def count(self, ids) -> list[tuple[str, str, int]]:
        np = self._np
        ids = np.unique(np.asarray(list(ids), dtype="int64"))
        starts = np.searchsorted(self.fiche, ids, "left")
        lengths = np.searchsorted(self.fiche, ids, "right") - starts
        total = int(lengths.sum())
        if not total:
            return []
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        counts = np.bincount(self.column[offsets + np.arange(total)], minlength=len(self.keys))
        return [(*self.keys[i], int(counts[i])) for i in np.nonzero(counts)[0]]
