"""The rules of the front matter: one table of fields, one registry of the rules of each kind.

``FIELDS`` says, for each key of the contract, whether it is required and which kind of value
it holds; ``RULES`` maps each kind to the function that checks a value of that kind and gives
it back cleaned (or None after reporting the problems). Mapping fields (territoire, contact,
liens…) have their rules in :mod:`kb.rules_mappings`, registered in the same table; the table
of fields and the check of a whole front matter are in :mod:`kb.front`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Callable

from kb.messages import text
from kb.problems import Reporter
from kb.vocab import suggest, vocab

PLACEHOLDER = "À COMPLÉTER"
MONTH_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
# beyond this a value is a typo, and SQLite cannot store integers above 2**63
MAX_AMOUNT_EUR = 1e12
MIN_YEAR = 1980


class Context:
    """What the rules of one file share: where problems go, the file line of each key, today."""

    def __init__(self, report: Reporter, lines: dict[tuple, int], front_last_line: int, today: dt.date):
        self.report = report
        self.lines = lines
        self.front_last_line = front_last_line
        self.today = today

    def line_of(self, *key) -> int:
        """File line of a front-matter key path, falling back to its parent, then the block."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.front_last_line

    def error(self, where: tuple, code: str, /, line: int | None = None, **values) -> None:
        """The problem ``code`` about the key path ``where``, at its line unless ``line`` is given."""
        self.report.error(self.line_of(*where) if line is None else line, code, where, **values)

    def warning(self, where: tuple, code: str, /, line: int | None = None, **values) -> None:
        self.report.warning(self.line_of(*where) if line is None else line, code, where, **values)


Rule = Callable[[Context, str, object], object]
RULES: dict[str, Rule] = {}


def rule(kind: str) -> Callable[[Rule], Rule]:
    """Register the rule of a kind of value."""
    def register(function: Rule) -> Rule:
        RULES[kind] = function
        return function
    return register


TEXT_BOUNDS = {"titre": (10, 120), "resume": (50, 400)}
LIST_BOUNDS = {"thematiques": (1, 5), "publics": (1, 6)}
# slug fields → their vocabulary (attribute of kb.vocab.Vocab)
VOCABULARIES: dict[str, Callable] = {
    "thematiques": lambda v: v.thematiques,
    "publics": lambda v: v.publics,
    "dispositifs": lambda v: v.dispositifs,
    "statut": lambda v: v.statuts,
}


def close_hint(value: str, choices, aliases=None) -> str:
    """« vouliez-vous dire … ? » for a near miss, or nothing."""
    close = suggest(str(value), choices, aliases)
    return text("hint_close", close=close) if close else ""


@rule("text")
def check_text(ctx: Context, key: str, value, *path) -> str | None:
    where = (key,) + path
    if isinstance(value, list):
        ctx.error(where, "text_is_list")
        return None
    if isinstance(value, dict):
        ctx.error(where, "text_is_mapping")
        return None
    if isinstance(value, bool):
        ctx.error(where, "text_is_boolean")
        return None
    if not isinstance(value, (str, int, float)):
        ctx.error(where, "text_type")
        return None
    cleaned = str(value).strip()
    if not path and key in TEXT_BOUNDS:
        low, high = TEXT_BOUNDS[key]
        if not low <= len(cleaned) <= high:
            ctx.error(where, "text_length", length=len(cleaned), low=low, high=high)
    return " ".join(cleaned.split()) if key in TEXT_BOUNDS else cleaned


@rule("texts")
def check_texts(ctx: Context, key: str, value) -> list[str] | None:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        ctx.error((key,), "list_is_scalar", key=key, value=value)
        return None
    if not isinstance(value, list):
        ctx.error((key,), "texts_type")
        return None
    out = [check_text(ctx, key, item, index) for index, item in enumerate(value)]
    return [t for t in out if t]


def check_slug_value(ctx: Context, name: str, value, choices: dict, where: tuple, aliases=None) -> str | None:
    """One value of a vocabulary; ``name`` is the field as the message names it."""
    if not isinstance(value, str):
        kind = (text("slug_type.list") if isinstance(value, list)
                else text("slug_type.mapping") if isinstance(value, dict)
                else text("slug_type.empty") if value is None else text("slug_type.value", value=value))
        ctx.error(where, "slug_type", kind=kind)
        return None
    if value in choices:
        return value
    if PLACEHOLDER in value:
        return None  # reported once, as a placeholder
    listing = ", ".join(choices) if len(choices) <= 12 else text("slug_unknown.long")
    ctx.error(where, "slug_unknown", champ=name, value=value, hint=close_hint(value, choices, aliases),
              listing=listing)
    return None


@rule("slugs")
def check_slugs(ctx: Context, key: str, value) -> list[str] | None:
    choices = VOCABULARIES[key](vocab())
    if isinstance(value, str):
        ctx.error((key,), "list_is_scalar", key=key, value=value)
        return None
    if not isinstance(value, list):
        ctx.error((key,), "slugs_type")
        return None
    out = []
    for index, item in enumerate(value):
        slug = check_slug_value(ctx, key, item, choices, (key, index))
        if slug in out:
            ctx.error((key, index), "slug_duplicate", champ=key, value=slug)
        elif slug:
            out.append(slug)
    low, high = LIST_BOUNDS.get(key, (0, 1000))
    if not low <= len(value) <= high:
        ctx.error((key,), "list_length", count=len(value), low=low, high=high)
    return out


@rule("slug")
def check_slug(ctx: Context, key: str, value) -> str | None:
    return check_slug_value(ctx, key, value, VOCABULARIES[key](vocab()), (key,))


@rule("month")
def check_month(ctx: Context, key: str, value) -> str | None:
    written = value.isoformat()[:7] if isinstance(value, dt.date) else str(value).strip()
    match = MONTH_RE.match(written)
    if not match or (match.group(2) and not 1 <= int(match.group(2)) <= 12):
        ctx.error((key,), "month_format", value=value)
        return None
    year, month = int(match.group(1)), int(match.group(2) or 1)
    if (year, month) > (ctx.today.year, ctx.today.month):
        ctx.error((key,), "month_future", value=written)
        return None
    if year < MIN_YEAR:
        ctx.error((key,), "year_too_old", value=written)
        return None
    return written


@rule("date")
def check_date(ctx: Context, key: str, value) -> str | None:
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            if re.match(r"^\d{4}-\d{2}-\d{2}$", str(value).strip()):
                ctx.error((key,), "date_not_in_calendar", value=str(value).strip())
            else:
                ctx.error((key,), "date_format", value=value, example=ctx.today.isoformat())
            return None
    if value > ctx.today:
        ctx.error((key,), "date_future", value=value.isoformat())
        return None
    return value.isoformat()


@rule("amount")
def check_amount(ctx: Context, key: str, value, *path) -> float | None:
    """A number of euros ≥ 0 (``path``: the key path under ``key``)."""
    where = (key,) + path
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        ctx.error(where, "amount_type", value=value)
        return None
    if value < 0 or value != value:
        ctx.error(where, "amount_negative")
        return None
    if value > MAX_AMOUNT_EUR:
        ctx.error(where, "amount_too_big")
        return None
    return value


def check_mapping(ctx: Context, value, keys: tuple, where: tuple) -> dict | None:
    """A mapping whose keys are among ``keys`` (each unknown one is reported)."""
    if not isinstance(value, dict):
        ctx.error(where, "mapping_type", keys=", ".join(keys))
        return None
    for sub in value:
        if sub not in keys:
            ctx.error(where + (sub,), "subkey_unknown", hint=close_hint(sub, keys), keys=", ".join(keys))
    return value


def valid_url(url: str) -> bool:
    return bool(re.match(r"^https?://[^\s/$.?#][^\s]*$", url, re.IGNORECASE))
