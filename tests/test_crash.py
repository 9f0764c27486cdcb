"""Crash safety of the real ``kb`` command: builds killed with SIGKILL at several points, two
builds at once, a truncated or corrupted catalog. Each time the previous index must keep
answering, and the next build must repair or complete.

The builds run in subprocesses with the real packaged model (a few seconds to load each time).
A kill point is a progress line that the build prints on stderr; no hook or sleep was added to
the build for these tests.
"""

from __future__ import annotations

import os
import queue
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT
from kb.catalog import Catalog
from kb.search import Engine
from kb.settings import load_settings

pytestmark = pytest.mark.model

BUNDLED = sorted((ROOT / "practices").glob("*.md"))
SEED, SPARE = BUNDLED[:5], BUNDLED[5]
QUERIES = ["numérique", "ateliers", "commerçants", "archivage", "familles", "ville", "zorglubesque"]
MARKER = "zorglubesque"  # a word in no fiche until a test writes it
TIMEOUT = 240  # seconds, for one build on a busy machine


def kb_command(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "kb", "--root", str(root), *args]


def kb_env() -> dict[str, str]:
    # the same KB_* settings as this process, which builds the seed and reads the indexes
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}


def run_kb(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(kb_command(root, *args), capture_output=True, text=True, encoding="utf-8",
                          errors="replace", cwd=ROOT, env=kb_env(), timeout=TIMEOUT)


class Running:
    """A ``kb`` subprocess whose stderr lines are read by a thread, so a test can wait for a line
    with a deadline instead of blocking on the pipe."""

    def __init__(self, root: Path, *args: str):
        self.proc = subprocess.Popen(kb_command(root, *args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, encoding="utf-8", errors="replace", cwd=ROOT, env=kb_env())
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"the build ended (code {self.proc.wait()}) before « {text} »:\n"
                                     + "".join(self.seen))
            self.seen.append(line)
            if text in line:
                return
        raise AssertionError(f"no « {text} » within {timeout} s:\n" + "".join(self.seen))

    def kill(self) -> None:
        assert self.proc.poll() is None, "the build had already ended: the kill proves nothing"
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=60) == -signal.SIGKILL

    def finish(self) -> int:
        code = self.proc.wait(timeout=TIMEOUT)
        while (line := self.lines.get(timeout=10)) is not None:
            self.seen.append(line)
        return code


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def snapshot(root: Path) -> dict:
    """What a reader sees: the fiches and the lexical answers (which never load the model)."""
    engine = Engine.open(load_settings(root))
    try:
        rows = engine.catalog.db.execute("SELECT slug, hash FROM fiches ORDER BY slug").fetchall()
        return {
            "fiches": dict(rows),
            "count": engine.count(),
            "search": {q: [h.slug for h in engine.search(q, mode="lexical", limit=50).hits] for q in QUERIES},
        }
    finally:
        engine.catalog.close()


def assert_no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr, result.stderr


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> Path:
    """Five bundled fiches, built once with the real model (in this process: the model may already
    be loaded by another test; the subprocess builds below must then agree with this index)."""
    from kb.build import build

    root = tmp_path_factory.mktemp("seed")
    (root / "practices").mkdir()
    for path in SEED:
        shutil.copy(path, root / "practices" / path.name)
    report = build(load_settings(root))
    assert (report.fiches, report.invalid) == (5, 0)
    return root


@pytest.fixture
def bank(seed, tmp_path) -> Path:
    root = tmp_path / "bank"
    shutil.copytree(seed, root)
    return root


def delete_a_fiche(root: Path) -> None:
    (root / "practices" / SEED[1].name).unlink()


def change_and_add_fiches(root: Path) -> None:
    practices = root / "practices"
    changed = practices / SEED[0].name
    changed.write_text(changed.read_text(encoding="utf-8").replace(
        "\n## Résultats\n", f"\n## Résultats\n\nUn résultat {MARKER} ajouté pour le test.\n", 1), encoding="utf-8")
    shutil.copy(SPARE, practices / SPARE.name)


EXPECTED = {"changed": SEED[0].stem, "added": SPARE.stem, "deleted": SEED[1].stem}


def assert_published(after: dict, before: dict) -> None:
    assert set(after["fiches"]) == set(before["fiches"]) - {EXPECTED["deleted"]} | {EXPECTED["added"]}
    assert after["fiches"][EXPECTED["changed"]] != before["fiches"][EXPECTED["changed"]]
    assert after["search"][MARKER] == [EXPECTED["changed"]]


def test_killed_builds_leave_the_previous_index_answering(bank):
    """One story, to load the model as few times as possible: builds killed at each stage, then a
    build that completes while a second one is refused, then a full build killed while writing."""
    before = snapshot(bank)
    assert before["count"] == 5 and before["search"][MARKER] == []
    catalog = load_settings(bank).catalog_path
    journal = catalog.with_name(catalog.name + "-journal")

    # a deletion alone needs no vector, hence no model: the kills before and inside the write are quick
    delete_a_fiche(bank)
    # 1. while the files are read and parsed
    build = Running(bank, "build")
    build.wait_for("fichier(s) à examiner")
    build.kill()
    assert snapshot(bank) == before
    # 2. inside the write transaction: a reader holds a read transaction, so the build cannot
    # commit; it is killed once its journal shows that it has started writing
    reader = sqlite3.connect(catalog, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM fiches").fetchone()
        build = Running(bank, "build")
        build.wait_for("Écriture de l'index")
        wait_until(journal.exists, 8, "the build to start writing")  # its busy timeout is 10 s
        build.kill()
    finally:
        reader.execute("ROLLBACK")
        reader.close()
    assert snapshot(bank) == before

    # 3. before the model loads and encodes the changed and added fiches
    change_and_add_fiches(bank)
    build = Running(bank, "build")
    build.wait_for("Calcul de ")
    build.kill()
    assert snapshot(bank) == before

    # 4. a normal build completes and publishes every change; while it holds the lock (stopped
    # with SIGSTOP so that it cannot finish first), a second build is refused
    first = Running(bank, "build")
    first.wait_for("Calcul de ")
    first.proc.send_signal(signal.SIGSTOP)
    try:
        second = run_kb(bank, "build")
    finally:
        first.proc.send_signal(signal.SIGCONT)
    assert second.returncode == 1
    assert "une autre construction de l'index est en cours" in second.stderr
    assert "attendez qu'elle se termine puis relancez « kb build »" in second.stderr
    assert_no_traceback(second)
    assert first.finish() == 0, "".join(first.seen)
    after = snapshot(bank)
    assert_published(after, before)

    # 5. a full build writes a new file and moves it into place: killed while writing, the
    # published catalog is the previous one or the new one, whole either way (same content here)
    build = Running(bank, "build", "--force")
    build.wait_for("Écriture de l'index")
    build.kill()
    assert snapshot(bank) == after
    result = run_kb(bank, "build")  # nothing changed: no model, no vector; the leftover is removed
    assert result.returncode == 0, result.stderr
    assert "0 passage(s) encodé(s)" in result.stdout
    assert snapshot(bank) == after
    assert not list(catalog.parent.glob("catalog.db.tmp-*"))


def test_a_killed_writer_that_spilled_into_the_file_leaves_a_readable_index(bank):
    """A big incremental build spills pages into the catalog before its commit; killed then, it
    leaves a hot journal, which a read-only connection cannot roll back by itself."""
    before = snapshot(bank)
    catalog = load_settings(bank).catalog_path
    writer = (
        "import os, signal, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('PRAGMA cache_size = 5')\n"  # pages must be written to the file before the commit
        "db.execute('BEGIN')\n"
        "db.execute(\"UPDATE fiches SET body = body || ' ' || hex(randomblob(2000))\")\n"
        "db.execute('DELETE FROM chunks')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", writer, str(catalog)], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert catalog.with_name(catalog.name + "-journal").exists()
    assert snapshot(bank) == before
    assert Catalog(catalog).db.execute("SELECT count(*) FROM chunks").fetchone()[0] > 0


def truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def overwrite_middle(path: Path) -> None:
    """The middle third of the file replaced by (seeded) random bytes: b-tree pages destroyed."""
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(size // 3)
        handle.write(random.Random(7).randbytes(size // 3))


def damage_one_value(path: Path) -> None:
    """One JSON value made invalid UTF-8, the pages themselves intact: only reading that value fails."""
    data = bytearray(path.read_bytes())
    start = data.find('[["Contexte", "'.encode())
    assert start > 0
    data[start:start + 20] = b"\xff" * 20
    path.write_bytes(bytes(data))


def assert_clear_damage_messages(root: Path, damage) -> None:
    commands = [["search", "numérique", "--mode", "lexical"], ["stats"]]
    if damage is not damage_one_value:  # an incremental build with nothing to do reads no value
        commands.append(["build"])
    for args in commands:
        result = run_kb(root, *args)
        assert_no_traceback(result)
        assert result.returncode == 1, (damage.__name__, args, result.stdout)
        assert "« kb build --force »" in result.stderr, (damage.__name__, args, result.stderr)
        if args[0] != "build":
            assert "est illisible ou corrompu" in result.stderr, (damage.__name__, args, result.stderr)


def test_a_damaged_catalog_gets_a_clear_message_and_force_repairs_it(bank):
    """Each damage on a copy of the sound catalog; then one repair (``--force`` never reads the
    damaged file, so what the damage was does not matter to it)."""
    before = snapshot(bank)
    catalog = load_settings(bank).catalog_path
    sound = catalog.read_bytes()
    for damage in (truncate, overwrite_middle, damage_one_value):
        catalog.write_bytes(sound)
        damage(catalog)
        assert_clear_damage_messages(bank, damage)

    result = run_kb(bank, "build", "--force")
    assert result.returncode == 0, result.stderr
    assert "5 fiche(s) (5 ajoutée(s)" in result.stdout
    assert snapshot(bank) == before
    result = run_kb(bank, "stats")
    assert result.returncode == 0 and "5 fiche(s) dans l'index" in result.stdout
