"""Incremental, atomic build of the catalog from a folder of fiches.

- Incremental: each file's content hash is stored; unchanged files are not parsed again,
  deleted files disappear, and only new or changed chunks are embedded (vectors are reused by
  the hash of their text and model).
- Atomic: an incremental build is one SQLite transaction on the published catalog; a full
  build (first build, ``--force``, model or vocabulary change) writes a new file and moves it
  into place with ``os.replace``. Either way a build that fails or is killed leaves the
  previous catalog whole, and readers keep answering meanwhile.
- One build at a time: a lock file in the index folder; a second build gets a clear message.
- ONNX: the model's ONNX export (kb.onnx_export) is made once per model and recorded in the
  meta (``onnx``); queries then never need torch, nor do builds with few passages to encode
  (kb.embed.ONNX_PASSAGES_MAX). A model that cannot be exported keeps sentence-transformers,
  and the build goes on.
- Without the ``vectors`` extra (torch, sentence-transformers; see kb.extras) the catalog is
  built all the same, fiches, facets, full-text index and problems, with chunks but no
  vectors; the meta records it (``vectors`` = ``absent``) and searches are lexical. The next
  build with the extra computes the missing vectors, even of unchanged fiches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from kb import catalog as cat
from kb.bank import BankEntry, duplicate_problems, find_fiche_files
from kb.catalog_writer import SCHEMA_VERSION, BuildError, CatalogWriter, build_lock
from kb.chunking import chunk_fiche
from kb.extras import available, install_hint
from kb.fiche import Fiche, parse_file
from kb.problems import ERROR, Problem
from kb.settings import Settings
from kb.vocab import vocab


PROGRESS_EVERY = 2000  # files between two progress lines (a bank of that size takes seconds)
VECTORS_ABSENT = "absent"  # meta ``vectors`` of a catalog built without the vectors extra
NO_VECTORS_LOG = ("Vecteurs non calculés : l'extra « vectors » (torch, sentence-transformers) n'est pas installé ; "
                  "la recherche sera lexicale seule. Pour les calculer : " + install_hint("vectors")
                  + " puis « kb build ».")


@dataclass
class BuildReport:
    files: int = 0
    parsed: int = 0
    unchanged: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    invalid: int = 0
    fiches: int = 0
    chunks_encoded: int = 0
    chunks_reused: int = 0
    full: bool = False
    vectors: bool = True  # False: built without the vectors extra, some chunks have no vector
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.full)


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_documents(settings: Settings, fiches: list[Fiche], source: str, embedder=None,
                    log: Callable[[str], None] | None = None, progress: bool = False,
                    onnx_root: Path | None = None) -> BuildReport:
    """Full build of an index from in-memory fiches, through the same chunking and embedding
    (``onnx_root``: where the ONNX exports are, default the settings' ``onnx_path``)."""
    lock = build_lock(settings)
    try:
        return _Builder(settings, Path(source), embedder, True, False, log or (lambda m: None), None,
                        progress, onnx_root).run_documents(fiches, source)
    finally:
        lock.release()


def build(settings: Settings, source: Path | None = None, embedder=None, force: bool = False,
          strict: bool = False, log: Callable[[str], None] | None = None, today: dt.date | None = None,
          progress: bool = False) -> BuildReport:
    """Build or update the catalog of ``source`` (default: the bank's practices folder)."""
    log = log or (lambda message: None)
    lock = build_lock(settings)
    try:
        return _Builder(settings, source or settings.practices_path, embedder, force, strict, log, today,
                        progress).run()
    finally:
        lock.release()


class _Builder:
    def __init__(self, settings, source, embedder, force, strict, log, today, progress, onnx_root=None):
        from kb.embed import Embedder

        self.settings = settings
        self.source = Path(source)
        # vectors need the model (the vectors extra), unless an embedder is given (tests, eval)
        self.with_vectors = embedder is not None or available("vectors")
        self.embedder = embedder or Embedder.from_settings(settings)
        self.force = force
        self.strict = strict
        self.log = log
        self.today = today
        self.progress = progress
        self.report = BuildReport()
        self.path = settings.catalog_path
        self.onnx_root = Path(onnx_root) if onnx_root is not None else settings.onnx_path
        self.previous_meta: dict = {}  # the published catalog's, when it is updated in place
        self.onnx_record: str | None = None  # meta ``onnx`` to write (None: none known yet)
        self.refill: list[tuple[int, bytes]] = []  # (chunk id, vector) of stored chunks without one

    def rel(self, path: Path) -> str:
        """The path from the bank's root, of the file itself: a symbolic link keeps its own name
        (resolving it would give two fiches the path of one file)."""
        path = Path(path)
        try:
            return str((self._resolved(path.parent) / path.name).relative_to(self._resolved(self.settings.root)))
        except (ValueError, OSError, RuntimeError):
            return str(path)

    def _resolved(self, folder: Path) -> Path:
        """folder.resolve(), once per folder and build (ten thousand fiches share a few folders)."""
        cache = self.__dict__.setdefault("_resolved_folders", {})
        if folder not in cache:
            cache[folder] = folder.resolve()
        return cache[folder]

    def run(self) -> BuildReport:
        started = time.perf_counter()
        db, full = self.open_current()
        existing = cat.existing_fiches(db) if not full else {}
        stored_problems = cat.stored_problems(db) if not full else {}
        files, problems = find_fiche_files([self.source])
        problems = [Problem(self.rel(Path(p.path)), p.line, p.severity, p.message) for p in problems]
        refused = {p.path for p in problems if p.severity == ERROR}  # links, names that clash by case
        self.report.files = len(files)
        self.report.full = full
        self.log(f"{len(files)} fichier(s) à examiner…")

        kept: dict[str, dict] = {}  # path → existing row, unchanged
        parsed: dict[str, tuple[Fiche, str]] = {}  # path → (fiche, hash)
        hashes: dict[str, str] = {}
        for number, path in enumerate(files, 1):
            if number % PROGRESS_EVERY == 0:
                self.log(f"… {number}/{len(files)} fichiers examinés ({self.report.parsed} relus)")
            rel = self.rel(path)
            try:
                data = path.read_bytes()
            except OSError as exc:
                problems.append(Problem(rel, 1, ERROR, f"fichier illisible ({exc.strerror or exc})."))
                continue
            digest = file_hash(data)
            hashes[rel] = digest
            old = existing.get(rel)
            if old and old["hash"] == digest:
                kept[rel] = old
                continue
            if rel in stored_problems and stored_problems[rel][0] == digest:
                problems.extend(stored_problems[rel][1])
                continue
            self.report.parsed += 1
            fiche, found = parse_file(path, self.today)
            found = [Problem(rel, p.line, p.severity, p.message) for p in found]
            if fiche is None:
                problems.extend(found)
                continue
            fiche.path = rel
            parsed[rel] = (fiche, digest)
            problems.extend(p for p in found if p.severity == ERROR)
        self.report.unchanged = len(kept)

        entries = [BankEntry(rel, row["slug"], row["titre"], row["titre_line"]) for rel, row in kept.items()]
        entries += [BankEntry(rel, f.slug, f.titre, f.titre_line) for rel, (f, _) in parsed.items()]
        duplicates = duplicate_problems(entries)
        problems.extend(duplicates)
        excluded = {p.path for p in duplicates} | refused
        for rel in excluded:
            kept.pop(rel, None)
            parsed.pop(rel, None)

        invalid_paths = {p.path for p in problems if p.severity == ERROR}
        self.report.invalid = len(invalid_paths)
        self.report.problems = sorted(problems, key=lambda p: (p.path, p.line, p.message))
        if self.strict and invalid_paths:
            if db is not None:
                db.conn.close()
            raise BuildError(f"{len(invalid_paths)} fiche(s) invalide(s): construction refusée (--strict).")

        removed_ids = [row["id"] for rel, row in existing.items() if rel not in kept]
        self.report.removed = sum(1 for rel in existing if rel not in kept and rel not in parsed)
        self.report.updated = sum(1 for rel in parsed if rel in existing)
        self.report.added = len(parsed) - self.report.updated
        inserts = sorted(parsed.values(), key=lambda item: item[0].slug)
        self.prepare_onnx()
        vectors = self.vectors_for(db, [f for f, _ in inserts], self.chunks_without_vectors(db))

        self.publish(db, full, removed_ids, inserts, vectors, problems, hashes, excluded)
        self.report.seconds = time.perf_counter() - started
        return self.report

    def run_documents(self, fiches: list[Fiche], source: str) -> BuildReport:
        """Full build from fiches made in memory (plain evaluation corpora)."""
        started = time.perf_counter()
        self.source = Path(source)
        self.report.full = True
        self.report.files = self.report.added = len(fiches)
        inserts = [(f, "") for f in fiches]
        self.prepare_onnx()
        vectors = self.vectors_for(None, fiches)
        self.publish(None, True, [], inserts, vectors, [], {}, set())
        self.report.seconds = time.perf_counter() - started
        return self.report

    def publish(self, db, full, removed_ids, inserts, vectors, problems, hashes, excluded) -> None:
        """Write everything in one transaction: in place (incremental) or into a new file that
        replaces the published one (full)."""
        target = db
        if full:
            tmp_path = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
            target = cat.connect(tmp_path)
        writer = CatalogWriter(target)  # the one writer of the catalog's tables
        if full:
            writer.create_schema()
        self.log("Écriture de l'index…")
        # vectors were missing from this catalog (built without the vectors extra) and are now
        # complete: its vector index is rebuilt whole, whatever this build changed
        completed = self.with_vectors and self.previous_meta.get("vectors") == VECTORS_ABSENT
        absent = not self.with_vectors and (full or self.report.changed)
        self.report.vectors = not absent and (self.with_vectors
                                              or self.previous_meta.get("vectors") != VECTORS_ABSENT)
        if absent:
            self.log(NO_VECTORS_LOG)
        try:
            with target.atomic():
                removed_chunks = writer.delete_fiches(removed_ids)
                added_fiches = self.insert(writer, inserts, vectors)
                if full or self.report.changed:
                    writer.replace_lexical_index(None if full else (removed_ids, added_fiches))
                writer.set_chunk_vectors(self.refill)
                writer.record_problems(problems, hashes, excluded)
                if full or self.report.changed or completed or not target.execute(
                        "SELECT 1 FROM meta WHERE key = 'vector_index'").fetchone():
                    changes = None if full or completed else (removed_chunks, cat.chunk_ids(target, added_fiches))
                    self.write_vector_index(writer, changes)
                self.write_meta(writer, absent)
            self.report.fiches = target.execute("SELECT count(*) FROM fiches").fetchone()[0]
            if full:
                target.conn.close()
                if db is not None:
                    db.conn.close()
                    db = None
                os.replace(tmp_path, self.path)
            else:
                target.conn.close()
                db = None
            cat.mark_verified(self.path)
        except BaseException:
            if full:
                target.conn.close()
                tmp_path.unlink(missing_ok=True)
            raise
        finally:
            if db is not None:
                db.conn.close()

    # -- reading the published catalog ---------------------------------------------------------

    def open_current(self):
        """The published catalog to update in place, or (None, True) for a full build."""
        for stale in self.path.parent.glob(f"{self.path.name}.tmp-*"):
            stale.unlink(missing_ok=True)  # left by a killed full build; we hold the lock
        if self.force or not self.path.exists():
            return None, True
        db = cat.connect(self.path)
        try:
            meta = cat.check_readable(db, self.path)
        except cat.SchemaMismatch:
            self.log("Index d'une autre version de kb: reconstruction complète.")
            db.conn.close()
            return None, True
        except cat.CatalogError:
            db.conn.close()
            raise
        if meta.get("vocab") != vocab().digest or meta.get("model_key") != self.embedder.key:
            self.log("Vocabulaire ou modèle modifié: reconstruction complète.")
            db.conn.close()
            return None, True
        self.previous_meta = meta
        return db, False

    # -- embedding -----------------------------------------------------------------------------

    def prepare_onnx(self) -> None:
        """Encode with the model's ONNX export, found or made (kb.onnx_export.export_for_build)."""
        if not hasattr(self.embedder, "use_onnx") or not self.with_vectors:
            return  # an embedder without a model behind it (tests), or no model at all
        from kb.onnx_export import export_for_build

        self.onnx_record = export_for_build(self.embedder, self.previous_meta, self.settings.index_path,
                                            self.onnx_root, self.log)

    def chunks_without_vectors(self, db) -> list[tuple[int, str, str]]:
        """(id, hash, text) of the published catalog's chunks without a vector, when it was
        built without the vectors extra and this build has it."""
        if db is None or not self.with_vectors or self.previous_meta.get("vectors") != VECTORS_ABSENT:
            return []
        return cat.chunks_without_vectors(db)

    def vectors_for(self, db, fiches: list[Fiche], refill: list[tuple[int, str, str]] = ()) -> dict[str, list[tuple]]:
        """slug → [(chunk, hash, vector bytes)], reusing stored vectors of identical chunks;
        ``refill``: stored chunks (id, hash, text) to encode too (their vectors go to
        ``self.refill``). Without the vectors extra, a chunk no stored one matches gets None."""
        key = self.embedder.key
        planned = {f.slug: [(c, c.hash(key)) for c in chunk_fiche(f, self.settings.chunk_words)] for f in fiches}
        wanted = {h for chunks in planned.values() for _, h in chunks}
        known = cat.stored_vectors(db, wanted) if db is not None else {}
        missing: dict[str, str] = {}
        for chunks in planned.values():
            for chunk, h in chunks:
                if h not in known:
                    missing.setdefault(h, chunk.text)
        for _, h, text in refill:
            if h not in known:
                missing.setdefault(h, text)
        self.report.chunks_reused = sum(1 for chunks in planned.values() for _, h in chunks if h in known)
        if missing and self.with_vectors:
            import numpy as np

            self.log(f"Calcul de {len(missing)} vecteurs avec le modèle {self.embedder.model_name}…")
            encoded = self.embedder.encode_passages(list(missing.values()),
                                                    progress=self.progress and len(missing) > 64)
            for h, vector in zip(missing, encoded):
                known[h] = np.asarray(vector, dtype="float32").tobytes()
            self.report.chunks_encoded = len(missing)
        self.refill = [(chunk_id, known[h]) for chunk_id, h, _ in refill]
        return {slug: [(c, h, known.get(h)) for c, h in chunks] for slug, chunks in planned.items()}

    # -- writing -------------------------------------------------------------------------------

    def insert(self, writer: CatalogWriter, inserts: list[tuple[Fiche, str]], vectors: dict) -> list[int]:
        """Insert fiches, their facets and chunks; returns the ids of the new fiches."""
        fiche_ids: list[int] = []
        for fiche, digest in inserts:
            fiche_id = writer.put_fiche(fiche, digest)
            fiche_ids.append(fiche_id)
            writer.put_chunks(fiche_id, vectors[fiche.slug])
        return fiche_ids

    def write_vector_index(self, writer: CatalogWriter, changes: tuple[list[int], list[int]] | None) -> None:
        chunks = writer.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        if not self.with_vectors:  # no vectors to index (nor numpy and faiss, maybe)
            writer.replace_vector_blob(None)
            writer.set_meta({"vector_index": json.dumps({"kind": "none", "chunks": chunks}),
                             "vectors": VECTORS_ABSENT})
            return
        from kb.index import FLAT, choose_kind, write_index

        exact_max = self.settings.exact_max_chunks
        approximate = choose_kind(chunks, exact_max) != FLAT
        if approximate:
            self.log(f"Index approché ({chunks} passages)…")
        info = write_index(writer, self.embedder.dimension if approximate else None, exact_max,
                           self.settings.nprobe, changes)
        writer.set_meta({"vector_index": json.dumps(info)})

    def write_meta(self, writer: CatalogWriter, vectors_absent: bool = False) -> None:
        """``vectors_absent``: this build stored chunks without vectors (no vectors extra)."""
        meta = {
            "schema_version": SCHEMA_VERSION,
            "vocab": vocab().digest,
            "model_key": self.embedder.key,
            "build_id": uuid.uuid4().hex,
            "built_at": dt.datetime.now().isoformat(timespec="seconds"),
            "source": str(self.source),
        }
        if self.onnx_record is not None:
            meta["onnx"] = self.onnx_record
        if vectors_absent:
            meta["vectors"] = VECTORS_ABSENT
        elif self.with_vectors:
            meta["vectors"] = "complete"
        if self.with_vectors and (self.report.chunks_encoded or self.report.full):
            # describing the model loads it: only when it was (or must be) used anyway
            meta["model"] = json.dumps(self.embedder.describe(), ensure_ascii=False)
        writer.set_meta(meta)
