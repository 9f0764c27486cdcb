"""The rules of the body of a fiche: its sections (level-2 headings), their order, their content.

Headings that only look like sections (a level-1 ``# Contexte``, a ``Contexte :`` line) are
named with the fix, raw HTML and the ``À COMPLÉTER`` markers left by ``kb new`` are flagged.
"""

from __future__ import annotations

import functools
import re

from kb.messages import text
from kb.model import Section
from kb.problems import Reporter
from kb.textnorm import fold
from kb.vocab import suggest, vocab

PLACEHOLDER = "À COMPLÉTER"
HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
RAW_HTML_RE = re.compile(r"<\s*/?\s*([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?/?\s*>")
PSEUDO_HEADING_RE = re.compile(r"^\s*(?:\*\*|__)?\s*([^*_:]{3,40}?)\s*(?:\*\*|__)?\s*:?\s*(?:\*\*|__)?\s*$")


def section_field(title: str) -> str:
    """The field path of a section, as in :attr:`kb.problems.Problem.field`."""
    return f"section:{title}"


def check_body(body: str, first_line: int, report: Reporter) -> list[Section]:
    """The sections of the body (``first_line`` is the file line of its first line)."""
    known = vocab().section_titles
    by_folded = {_heading_key(t): t for t in known}
    sections: list[Section] = []
    current: Section | None = None
    preamble: list[tuple[int, str]] = []
    misplaced: dict[str, tuple[int, str, dict]] = {}
    in_fence = False
    for offset, line in enumerate(body.split("\n")):
        number = first_line + offset
        stripped = line.lstrip()
        # cheap first-character tests keep the regular expressions off ordinary lines
        if stripped[:1] in ("`", "~") and FENCE_RE.match(line):
            in_fence = not in_fence
        heading = HEADING_RE.match(line) if not in_fence and line[:1] == "#" else None
        if heading and len(heading.group(1)) == 2:
            title = heading.group(2).strip()
            canonical = by_folded.get(_heading_key(title))
            if canonical and canonical != title:
                report.warning(number, "section_spelling", section_field(canonical), title=title,
                               canonical=canonical)
            current = Section(canonical or title, "", number)
            sections.append(current)
            if not canonical:
                close = suggest(title, known)
                hint = text("section_unknown.close", close=close) if close else ""
                report.warning(number, "section_unknown", section_field(title), title=title, hint=hint,
                               known=", ".join(known))
            continue
        if not in_fence:
            check_raw_html(line, number, report)
            candidate = None
            if heading:
                candidate = by_folded.get(_heading_key(heading.group(2)))
                if candidate:
                    misplaced.setdefault(candidate, (number, "section_level", {
                        "line": line.strip(), "level": len(heading.group(1)), "title": candidate}))
            elif len(stripped) <= 50:
                pseudo = PSEUDO_HEADING_RE.match(line)
                candidate = by_folded.get(_heading_key(pseudo.group(1))) if pseudo else None
                if candidate:
                    misplaced.setdefault(candidate, (number, "section_as_label", {
                        "line": line.strip(), "title": candidate}))
        if current is None:
            if line.strip():
                preamble.append((number, line))
        else:
            current.text += line + "\n"
    for section in sections:
        section.text = section.text.strip()
    flagged = {line for line, _, _ in misplaced.values()}
    if preamble and not any(number in flagged for number, _ in preamble):
        report.warning(preamble[0][0], "text_before_sections", section_field(known[0]))
    check_sections(sections, misplaced, first_line, report)
    return sections


def check_sections(sections: list[Section], misplaced: dict, first_line: int, report: Reporter) -> None:
    """Each known section once, in the contract's order; the required ones present and filled."""
    v = vocab()
    known = v.section_titles
    seen: dict[str, Section] = {}
    last_rank = -1
    last_title = None
    for section in sections:
        if section.title not in known:
            continue
        where = section_field(section.title)
        if section.title in seen:
            report.error(section.line, "section_duplicate", where, title=section.title,
                         first=seen[section.title].line)
            continue
        seen[section.title] = section
        rank = known.index(section.title)
        if rank < last_rank:
            report.error(section.line, "section_order", where, title=section.title, previous=last_title,
                         order=", ".join(known))
        else:
            last_rank, last_title = rank, section.title
    for title in known:
        section = seen.get(title)
        required = title in v.required_sections
        where = section_field(title)
        if section is None:
            if title in misplaced:
                line, code, values = misplaced[title]
                (report.error if required else report.warning)(line, code, where, **values)
            elif required:
                report.error(first_line, "section_missing", where, title=title)
            elif title in v.recommended_sections:
                report.warning(first_line, "section_recommended", where, title=title)
        elif required and not _has_content(section.text):
            report.error(section.line, "section_empty", where, title=title)


def check_raw_html(line: str, number: int, report: Reporter) -> None:
    if "<" not in line:
        return
    code_free = re.sub(r"`[^`]*`", "", line)
    for match in RAW_HTML_RE.finditer(code_free):
        if re.match(r"<\s*(https?:|mailto:)", match.group(0), re.IGNORECASE):
            continue
        report.warning(number, "raw_html", html=match.group(0)[:40])
        return


def check_placeholders(front_text: str, front_first_line: int, body: str, body_first_line: int,
                       sections: list[Section], report: Reporter, field_at=lambda line: "") -> None:
    """The ``À COMPLÉTER`` markers left by ``kb new`` (the exact capitalised marker: "à
    compléter" is ordinary French in a fiche). ``field_at(line)`` names the field of a front
    matter line."""
    for offset, line in enumerate(front_text.split("\n")):
        if PLACEHOLDER in line:
            number = front_first_line + offset
            report.error(number, "placeholder_front", field_at(number), marker=PLACEHOLDER)
    for offset, line in enumerate(body.split("\n")):
        if PLACEHOLDER in line:
            number = body_first_line + offset
            section = next((s for s in reversed(sections) if s.line <= number), None)
            report.error(number, "placeholder_body", section_field(section.title) if section else "",
                         marker=PLACEHOLDER)


@functools.lru_cache(maxsize=4096)
def _heading_key(title: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(title)))


def _has_content(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.split("\n"))
