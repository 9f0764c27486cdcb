"""Parse and validate one fiche file → a :class:`Fiche` and the problems found.

Every rule of the contract (docs/format.md) is checked, and every problem of a file is
reported, each with its line and a fix, so an editor corrects a fiche in one pass. This module
runs the stages; the rules live in :mod:`kb.frontmatter` (YAML), :mod:`kb.rules` (fields),
:mod:`kb.body` (sections), their messages in :mod:`kb.messages`, and the shape of a fiche in
:mod:`kb.model`. Bank-wide rules (duplicate slugs and titles) live in :mod:`kb.bank`.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from kb import frontmatter
from kb.body import PLACEHOLDER, check_body, check_placeholders
from kb.front import FIELDS, check_front
from kb.frontmatter import MAX_YAML_DEPTH
from kb.messages import field_of, text
from kb.model import DEFAULT_LICENCE, Fiche, Section
from kb.problems import ERROR, Problem, Reporter, problem
from kb.rules import Context
from kb.textnorm import slugify

__all__ = ["DEFAULT_LICENCE", "FIELDS", "MAX_FILE_BYTES", "MAX_YAML_DEPTH", "PLACEHOLDER", "Fiche", "Section",
           "parse_bytes", "parse_file"]

MAX_FILE_BYTES = 1_000_000
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FRONT_FIRST_LINE = 2  # the line after the opening « --- »


def parse_file(path: Path | str, today: dt.date | None = None) -> tuple[Fiche | None, list[Problem]]:
    """Read and validate one file. The fiche is None when any error was found."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [problem(str(path), 1, ERROR, "file_unreadable", reason=exc.strerror or exc)]
    return parse_bytes(data, path, today)


def parse_bytes(data: bytes, path: Path | str, today: dt.date | None = None) -> tuple[Fiche | None, list[Problem]]:
    report = Reporter(str(path))
    fiche = _parse(data, Path(path), today or dt.date.today(), report)
    problems = sorted(set(report.problems), key=lambda p: (p.line, p.severity, p.message))
    if any(p.severity == ERROR for p in problems):
        return None, problems
    return fiche, problems


def _parse(data: bytes, path: Path, today: dt.date, report: Reporter) -> Fiche | None:
    decoded = decode(data, report)
    if decoded is None:
        return None
    check_file_name(path, report)
    split = split_front_matter(decoded, report)
    if split is None:
        return None
    front_text, body, body_first_line, front_last_line = split
    front, lines = frontmatter.load(front_text, FRONT_FIRST_LINE, report)
    sections = check_body(body, body_first_line, report)
    if front is None:
        return None
    ctx = Context(report, lines, front_last_line, today)
    values = check_front(front, ctx)
    check_placeholders(front_text, FRONT_FIRST_LINE, body, body_first_line, sections, report,
                       lambda line: _field_at(lines, line))
    if report.has_errors:
        return None
    return Fiche(slug=path.stem, path=str(path), body=body, sections=sections, titre_line=ctx.line_of("titre"),
                 **values)


def decode(data: bytes, report: Reporter) -> str | None:
    """The text of the file, line ends made ``\\n``; None when it is not a text in UTF-8."""
    if not data.strip():
        report.error(1, "file_empty")
        return None
    if len(data) > MAX_FILE_BYTES:
        report.error(1, "file_too_big", size=len(data) / 1e6, maximum=MAX_FILE_BYTES / 1e6)
        return None
    if b"\x00" in data:
        report.error(data[: data.index(b"\x00")].count(b"\n") + 1, "file_binary")
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        report.warning(1, "file_bom")
        data = data[3:]
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        hint = ""
        try:
            data.decode("cp1252")
            # only when no UTF-8 accent came before: a UTF-8 file with one broken byte is not Latin-1
            if data[: exc.start].isascii():
                hint = text("file_not_utf8.latin1")
        except UnicodeDecodeError:
            pass
        report.error(line, "file_not_utf8", column=column, hint=hint)
        return None
    return decoded.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(decoded: str, report: Reporter) -> tuple[str, str, int, int] | None:
    """(front matter text, body, file line of the body's first line, file line of the closing
    « --- »), or None when there is no closed front matter."""
    lines = decoded.split("\n")
    if lines[0].strip() != "---":
        report.error(1, "front_missing")
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1:]), index + 2, index + 1
    report.error(1, "front_unclosed")
    return None


def check_file_name(path: Path, report: Reporter) -> None:
    slug = path.stem
    if path.suffix != ".md":
        report.error(1, "file_extension", slug=slug)
    if not (3 <= len(slug) <= 80 and SLUG_RE.match(slug)):
        report.error(1, "file_name", name=path.name, proposal=slugify(slug) or "titre-de-la-fiche")


def _field_at(lines: dict[tuple, int], line: int) -> str:
    """The field of a front-matter line: the deepest key written on it or before it."""
    best: tuple = ()
    best_line = 0
    for key, key_line in lines.items():
        if best_line < key_line <= line or (key_line == best_line and len(key) > len(best)):
            best, best_line = key, key_line
    return field_of(best)
