"""Freshness of a fiche: its ``mise_a_jour`` (last review) against the ``relecture_mois`` setting.

A fiche reviewed longer ago than the setting (24 months by default) is « à relire »: ``kb
validate`` warns (a warning never fails a check, nor ``kb build --strict``), ``kb stats`` lists
them oldest first, and the fiche page shows a badge.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from kb.problems import WARNING, Problem, problem

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]
KEY_LINE = re.compile(r"^mise_a_jour\s*:", re.M)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` months earlier (the last day of a shorter month)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def review_due(mise_a_jour: str | None, months: int, today: dt.date | None = None) -> bool:
    """Whether a fiche last reviewed on ``mise_a_jour`` (AAAA-MM-JJ) is older than ``months``."""
    try:
        reviewed = dt.date.fromisoformat(str(mise_a_jour))
    except ValueError:
        return False
    return reviewed < months_before(today or dt.date.today(), months)


def french_date(iso: str | None) -> str:
    """« 15 septembre 2026 » (« 1er » on the first); the text itself when it is not a date."""
    try:
        day = dt.date.fromisoformat(str(iso))
    except ValueError:
        return str(iso or "")
    return f"{'1er' if day.day == 1 else day.day} {MONTHS[day.month - 1]} {day.year}"


def stale_problem(fiche, months: int, today: dt.date | None = None) -> Problem | None:
    """The warning of a fiche to review, on the line of its ``mise_a_jour``; None when it is fresh."""
    if not review_due(fiche.mise_a_jour, months, today):
        return None
    try:
        text = Path(fiche.path).read_text(encoding="utf-8")
        match = KEY_LINE.search(text)
        line = text.count("\n", 0, match.start()) + 1 if match else 1
    except (OSError, UnicodeDecodeError):
        line = 1
    return problem(fiche.path, line, WARNING, "review_due", ("mise_a_jour",), value=fiche.mise_a_jour,
                   months=months)
