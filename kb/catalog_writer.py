"""The write side of the catalog: its schema and every write to its tables (listed in
:mod:`kb.catalog`). The builder and the vector index write only through :class:`CatalogWriter`,
so one module knows what each table holds; :mod:`kb.catalog` reads.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Iterable

import sqlite_utils
from filelock import FileLock, Timeout
from sqlite_utils.db import jsonify_if_needed

from kb.facets import REGISTRY
from kb.textnorm import analyze

if TYPE_CHECKING:
    from kb.chunking import Chunk
    from kb.model import Fiche
    from kb.problems import Problem
    from kb.settings import Settings

SCHEMA_VERSION = "8"  # 8: lexical_blob holds token counts (kb.term_counts); 7: lexical_blob; 6: couts (contract v2) and its derived figures
FTS_COLUMNS = ["titre_terms", "resume_terms", "mots_cles_terms", "body_terms"]
JSON_FIELDS = ("thematiques", "publics", "departements", "partenaires", "dispositifs", "couts", "financements",
               "mots_cles", "contact", "liens", "extras", "sections", "axes", "regions")
# figures derived from couts and financements (kb.costs), stored to filter and sort on
COST_COLUMNS = {"cout_total": float, "cout_par_beneficiaire": float, "cout_tranche": str, "montant_finance": float,
                "part_financee": float, "reste_a_charge": float}
BATCH = 500  # ids per statement: well under SQLite's limit of bound parameters


class BuildError(Exception):
    """A build that cannot run or is refused; the message says why, in French."""


def build_lock(settings: "Settings"):
    """The index folder's lock, held by the one process that writes it (a build, an export)."""
    index_dir = settings.index_path
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / ".build.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BuildError(f"une autre construction de l'index est en cours (verrou {lock.lock_file}): "
                         "attendez qu'elle se termine puis relancez « kb build ».") from None
    return lock


def fiche_record(fiche: Fiche, file_hash: str) -> dict:
    """The ``fiches`` row of a fiche."""
    sections = [[s.title, s.text] for s in fiche.sections]
    body_text = "\n".join(f"{title}\n{text}" for title, text in sections)
    record = {
        "slug": fiche.slug, "path": fiche.path, "hash": file_hash, "titre": fiche.titre,
        "titre_line": fiche.titre_line, "resume": fiche.resume, "porteur": fiche.porteur,
        "debut": fiche.debut, "debut_annee": fiche.debut_annee, "statut": fiche.statut,
        "mise_a_jour": fiche.mise_a_jour, "territoire_nom": fiche.territoire.get("nom"),
        "type": fiche.territoire.get("type"), "densite": fiche.densite, "densite_niveau": fiche.densite_niveau,
        "population": fiche.territoire.get("population"), "population_tranche": fiche.population_tranche,
        "budget_eur": fiche.budget_eur, **{name: getattr(fiche, name) for name in COST_COLUMNS},
        "licence": fiche.licence, "word_count": len(body_text.split()),
        "body": fiche.body,
        "titre_terms": " ".join(analyze(fiche.titre)),
        "resume_terms": " ".join(analyze(fiche.resume)),
        "mots_cles_terms": " ".join(analyze(" ; ".join(fiche.mots_cles + fiche.dispositifs))),
        "body_terms": " ".join(analyze(body_text)),
    }
    values = {"sections": sections, "axes": fiche.axes, "regions": fiche.regions}
    for name in JSON_FIELDS:
        value = values[name] if name in values else getattr(fiche, name)
        record[name] = json.dumps(value, ensure_ascii=False, default=str)
    return record


class CatalogWriter:
    """Every write to a catalog, on an open read-write connection. Each method joins the
    caller's transaction (the builder wraps a whole build in one ``db.atomic()``, so a failed
    build leaves nothing half-written) or commits on its own. Plain SQL statements:
    sqlite-utils' generic inserts cost more than SQLite itself at ten thousand fiches."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self._fiche_sql: dict[tuple, str] = {}

    @contextlib.contextmanager
    def _transaction(self):
        """The open transaction, or one of our own: a raw statement outside any would open an
        implicit transaction that nothing commits."""
        if self.db.conn.in_transaction:
            yield self.db.conn
        else:
            with self.db.atomic():
                yield self.db.conn

    def create_schema(self) -> None:
        db = self.db
        db["meta"].create({"key": str, "value": str}, pk="key")
        db["fiches"].create({
            "id": int, "slug": str, "path": str, "hash": str, "titre": str, "titre_line": int, "resume": str,
            "porteur": str, "debut": str, "debut_annee": int, "statut": str, "mise_a_jour": str,
            "territoire_nom": str, "type": str, "densite": str, "densite_niveau": str, "population": int,
            "population_tranche": str, "budget_eur": float, **COST_COLUMNS, "licence": str, "word_count": int,
            "body": str,
            **{name: str for name in JSON_FIELDS},
            **{name: str for name in FTS_COLUMNS},
        }, pk="id", not_null={"slug", "titre", "path", "hash"})
        db["fiches"].create_index(["slug"], unique=True)
        db["fiches"].create_index(["path"])
        db["fiches"].enable_fts(FTS_COLUMNS, tokenize="unicode61 remove_diacritics 2", create_triggers=True)
        db["facets"].create({"fiche_id": int, "facet": str, "value": str},
                            foreign_keys=[("fiche_id", "fiches", "id")])
        db["facets"].create_index(["facet", "value"])
        db["facets"].create_index(["fiche_id", "facet", "value"])  # covers facet counts of a result set
        db["chunks"].create({"id": int, "fiche_id": int, "ord": int, "section": str, "text": str,
                             "hash": str, "vector": bytes}, pk="id", foreign_keys=[("fiche_id", "fiches", "id")])
        db["chunks"].create_index(["fiche_id"])
        db["chunks"].create_index(["hash"])
        db["vector_blob"].create({"id": int, "data": bytes}, pk="id")
        db["lexical_blob"].create({"name": str, "data": bytes}, pk="name")  # kb.lexical.LexicalIndex
        db["problems"].create({"path": str, "hash": str, "line": int, "severity": str, "message": str})
        self.set_meta({"schema_version": SCHEMA_VERSION})

    # -- fiches and what hangs on them ----------------------------------------------------------

    def put_fiche(self, fiche: Fiche, file_hash: str) -> int:
        """Insert a fiche (its row, which feeds the FTS index, and its facet rows); returns its id."""
        record = fiche_record(fiche, file_hash)
        columns = tuple(record)
        sql = self._fiche_sql.get(columns)
        if sql is None:
            sql = self._fiche_sql[columns] = (f"INSERT INTO fiches ({', '.join(columns)}) "
                                              f"VALUES ({', '.join('?' * len(columns))})")
        with self._transaction() as conn:
            # the same conversions as sqlite-utils' insert (lists, mappings, dates)
            fiche_id = conn.execute(sql, [jsonify_if_needed(v) for v in record.values()]).lastrowid
            conn.executemany("INSERT INTO facets (fiche_id, facet, value) VALUES (?, ?, ?)",
                             [(r["fiche_id"], r["facet"], r["value"]) for r in REGISTRY.rows(fiche_id, fiche)])
        return fiche_id

    def put_chunks(self, fiche_id: int, chunks: Iterable[tuple[Chunk, str, bytes]]) -> None:
        """Store the chunks of a fiche: (chunk, chunk hash, float32 vector bytes or None when
        the build has no vectors extra)."""
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO chunks (fiche_id, ord, section, text, hash, vector) VALUES (?, ?, ?, ?, ?, ?)",
                [(fiche_id, chunk.ord, chunk.section, chunk.text, h, blob) for chunk, h, blob in chunks])

    def set_chunk_vectors(self, vectors: Iterable[tuple[int, bytes]]) -> None:
        """Give stored chunks their vectors: (chunk id, float32 vector bytes); the chunks of a
        catalog built without the vectors extra have none (NULL)."""
        vectors = [(blob, chunk_id) for chunk_id, blob in vectors]
        if vectors:
            with self._transaction() as conn:
                conn.executemany("UPDATE chunks SET vector = ? WHERE id = ?", vectors)

    def delete_fiches(self, ids: list[int]) -> list[int]:
        """Delete fiches with their facets and chunks; returns the ids of the deleted chunks."""
        removed_chunks: list[int] = []
        with self._transaction() as conn:
            for start in range(0, len(ids), BATCH):
                part = ids[start:start + BATCH]
                marks = ",".join("?" * len(part))
                removed_chunks += [r[0] for r in conn.execute(f"SELECT id FROM chunks WHERE fiche_id IN ({marks})",
                                                              part)]
                for table in ("facets", "chunks"):
                    conn.execute(f"DELETE FROM {table} WHERE fiche_id IN ({marks})", part)
                conn.execute(f"DELETE FROM fiches WHERE id IN ({marks})", part)
        return removed_chunks

    # -- the rest of a build --------------------------------------------------------------------

    def replace_problems(self, problems: Iterable[tuple[Problem, str]]) -> None:
        """The problems of the last build, each with its file's hash ('' to parse it again)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM problems")
            conn.executemany("INSERT INTO problems (path, hash, line, severity, message) VALUES (?, ?, ?, ?, ?)",
                             [(p.path, h, p.line, p.severity, p.message) for p, h in problems])

    def record_problems(self, problems: list[Problem], hashes: dict[str, str], bank_wide: set[str]) -> None:
        """The problems of the invalid files; the file's hash lets the next build skip re-parsing
        it, except for files with bank-wide problems (duplicates), which depend on other files."""
        from kb.problems import ERROR

        invalid = {p.path for p in problems if p.severity == ERROR}
        self.replace_problems((p, "" if p.path in bank_wide else hashes.get(p.path, ""))
                              for p in problems if p.path in invalid)

    def set_meta(self, values: dict[str, str]) -> None:
        with self._transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(values.items()))

    def replace_lexical_index(self, changes: tuple[list[int], list[int]] | None = None) -> None:
        """Count the tokens of the fiches as written (kb.term_counts): all of them, or with
        ``changes`` (removed ids, added ids) only the added ones, the stored counts updated.
        The core install has no numpy: the stored counts are dropped, searching counts on open."""
        from kb.extras import importable

        if not importable("numpy"):
            return self.replace_lexical_blob(None)
        from kb.term_counts import SELECT_FIELDS, TermCounts

        stored = TermCounts.from_catalog(self.db) if changes is not None else None
        if stored is None:
            counts = TermCounts.count(self.db.execute(SELECT_FIELDS))
        else:
            removed, added = changes
            rows = self.db.execute(f"{SELECT_FIELDS} WHERE id IN (SELECT value FROM json_each(?))",
                                   [json.dumps([int(i) for i in added])])
            counts = stored.updated(removed, rows)
        self.replace_lexical_blob(counts.to_blobs())

    def replace_lexical_blob(self, blobs: dict[str, bytes] | None) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM lexical_blob")
            if blobs:
                conn.executemany("INSERT INTO lexical_blob (name, data) VALUES (?, ?)", list(blobs.items()))

    def replace_vector_blob(self, data) -> None:
        """Store the serialised approximate vector index (any buffer: FAISS gives a uint8
        array), or drop it (None: exact search needs none)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM vector_blob")
            if data is not None:
                conn.execute("INSERT INTO vector_blob (id, data) VALUES (1, ?)", [memoryview(data)])
