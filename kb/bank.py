"""A bank of fiches: find the files, validate each one, then the rules that span files.

Slugs and titles must be unique across the bank; a symbolic link may not lead outside the
folder it was found in (a fiche must be reviewable in the repository).
"""

from __future__ import annotations

import os

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from kb.fiche import Fiche, parse_file
from kb.freshness import stale_problem
from kb.problems import ERROR, Problem, problem
from kb.textnorm import fold


@dataclass
class BankEntry:
    """What the bank-wide rules need to know of one fiche."""

    path: str
    slug: str
    titre: str
    titre_line: int


@dataclass
class BankCheck:
    fiches: list[Fiche] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0

    @property
    def invalid_paths(self) -> set[str]:
        return {p.path for p in self.problems if p.severity == ERROR}

    @property
    def valid(self) -> list[Fiche]:
        bad = self.invalid_paths
        return [f for f in self.fiches if f.path not in bad]


def find_fiche_files(paths: Iterable[Path | str]) -> tuple[list[Path], list[Problem]]:
    """The ``.md`` files under the given files or folders, sorted, and the links refused."""
    files: list[Path] = []
    problems: list[Problem] = []
    for given in map(Path, paths):
        if given.is_dir():
            root = given.resolve()
            for path, is_link in _markdown_entries(given):
                if is_link:
                    refused = _link_problem(path, root, given)
                    if refused:
                        problems.append(refused)
                        continue
                if path.is_file():
                    files.append(path)
        elif given.exists():
            files.append(given)
        else:
            problems.append(problem(str(given), 1, ERROR, "path_missing"))
    return files, problems + case_clash_problems(files)


def _markdown_entries(folder: Path) -> list[tuple[Path, bool]]:
    """(path, is a symbolic link) of the ``*.md`` entries under ``folder``, in path order,
    without hidden files or folders and without descending into linked folders (as
    ``Path.rglob`` does). One ``scandir`` per folder rather than several ``stat`` per file."""
    found: list[tuple[tuple[str, ...], Path, bool]] = []
    pending: list[tuple[str, tuple[str, ...]]] = [(str(folder), ())]
    while pending:
        current, relative = pending.pop()
        try:
            with os.scandir(current) as scan:
                entries = list(scan)
        except OSError:
            continue  # unreadable folder: as rglob, skipped
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append((entry.path, (*relative, entry.name)))
            elif entry.name.endswith(".md"):
                found.append(((*relative, entry.name), Path(entry.path), entry.is_symlink()))
    found.sort(key=lambda item: item[0])
    return [(path, is_link) for _, path, is_link in found]


def _link_problem(path: Path, root: Path, given: Path) -> Problem | None:
    """Why a symbolic link found in a folder cannot be read as a fiche, or None when it can."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing target, or a loop (RuntimeError before Python 3.13)
        return problem(str(path), 1, ERROR, "link_broken")
    if not _inside(target, root):
        return problem(str(path), 1, ERROR, "link_outside", folder=given)
    return None


def case_clash_problems(files: Iterable[Path]) -> list[Problem]:
    """Errors for files whose names differ only by case (``Bus.md`` and ``bus.md``): on Windows
    and macOS they are one file, so a checkout there silently loses one of them."""
    groups: dict[tuple[str, str], list[Path]] = {}
    for path in files:
        folder, name = os.path.split(path)
        groups.setdefault((folder, name.lower()), []).append(path)
    problems = []
    for group in groups.values():
        if len(group) < 2:
            continue
        keep = next((p for p in group if p.name == p.name.lower()), group[0])
        for path in group:
            if path is not keep:
                problems.append(problem(str(path), 1, ERROR, "case_clash", other=keep.name))
    return problems


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def duplicate_problems(entries: Iterable[BankEntry]) -> list[Problem]:
    """Errors for fiches that share a slug (case-insensitively) or a title (accents folded)."""
    problems = []
    by_slug: dict[str, BankEntry] = {}
    by_title: dict[str, BankEntry] = {}
    for entry in sorted(entries, key=lambda e: e.path):
        first = by_slug.setdefault(entry.slug.lower(), entry)
        if first is not entry:
            problems.append(problem(entry.path, 1, ERROR, "slug_taken", slug=entry.slug, other=first.path))
        key = " ".join(fold(entry.titre).split())
        first = by_title.setdefault(key, entry)
        if first is not entry:
            problems.append(problem(entry.path, entry.titre_line, ERROR, "title_taken", ("titre",),
                                    other=first.path))
    return problems


def check_paths(paths: Iterable[Path | str], today: dt.date | None = None,
                review_months: int | None = None) -> BankCheck:
    """Validate every fiche under ``paths``, with the bank-wide rules; with ``review_months``, a
    warning for each fiche reviewed longer ago (kb.freshness)."""
    files, problems = find_fiche_files(paths)
    result = BankCheck(problems=problems, files=len(files))
    for path in files:
        fiche, found = parse_file(path, today)
        result.problems.extend(found)
        if fiche:
            result.fiches.append(fiche)
            stale = stale_problem(fiche, review_months, today) if review_months else None
            if stale:
                result.problems.append(stale)
    result.problems.extend(duplicate_problems(
        BankEntry(f.path, f.slug, f.titre, f.titre_line) for f in result.fiches))
    result.problems.sort(key=lambda p: (p.path, p.line, p.severity, p.message))
    return result
