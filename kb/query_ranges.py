"""A population range typed in a query (« moins de 2 000 habitants », « communes de 5 000 à
20 000 habitants »), recognised as a ``populations`` filter.

:func:`find_population_range` returns the query without the range, the population brackets
(kb/data/vocab.yaml ``population_tranches``) it selects and a French description of it.

Grammar (case-insensitive; the unit « habitant(s) », « hab. » or « hab » is required: that is
what keeps « 3D », « 2024 », « plan 2024-2026 » or a phone number from being taken):

* below: « moins de N », « de moins de N », « jusqu'à N », « au plus N »;
* above: « plus de N », « de plus de N », « au-delà de N », « au moins N », « à partir de N »;
* between: « de N à M », « entre N et M », « N à M », « N-M » (also « – », « — »);
* one number: « N habitants », « communes de N habitants »: the bracket that holds N;
* numbers: « 2000 », « 2 000 » (space, no-break or narrow no-break space), « 2.000 », « 2k »,
  « 1,5 k ».

A noun just before the range (« communes de », « pour les villes de ») goes with it.

Bracket rule: a bracket (``min`` inclusive, ``max`` exclusive) is selected when it overlaps the
range. « moins de N » and « de N à M » leave their upper bound out, as the brackets' own labels
do (« 1 000 à 3 500 habitants » is the bracket 1000-a-3500); « plus de N » leaves N out,
« jusqu'à N », « au moins N » and « à partir de N » keep it. So « moins de 2 000 » selects
moins-de-1000 and 1000-a-3500, « de 5 000 à 20 000 » selects 3500-a-10000 and 10000-a-50000.
"""

from __future__ import annotations

import re
from typing import NamedTuple

SPACES = " \u00a0\u202f"
# at most 9 digits (a longer number is no population)
_NUMBER = (rf"\d{{1,6}}(?:[,.]\d{{1,3}})?\s?k\b|\d{{1,3}}(?:[{SPACES}.]\d{{3}}){{1,2}}(?![\d,.]\d)"
           rf"|\d{{1,9}}(?![\d,.]?\d)")
_N = rf"(?<![\d,.])(?<!\d[{SPACES}])(?:{_NUMBER})"
_UNIT = r"hab(?:itants?\b|\.|\b)"
_LEAD = (r"(?:(?:(?:pour|dans|chez)\s+)?(?:les|des|une?|la)\s+)?"
         r"(?:communes?|villes?|villages?|collectivités?|territoires?|intercommunalités?|epci)\s+")
_DE = r"(?:de\s+|d['’]\s*)"

# (kind, pattern with groups a (and b)); tried in this order, the first match wins
_FORMS = [
    ("between", rf"(?:de\s+|entre\s+)?(?P<a>{_N})\s*(?:habitants?\s+)?(?:à|a|et|-|–|—)\s*(?P<b>{_N})"),
    ("above_below", rf"(?:de\s+)?plus\s+{_DE}(?P<a>{_N})\s*(?:habitants?\s+)?et\s+(?:de\s+)?moins\s+{_DE}"
                    rf"(?P<b>{_N})"),
    ("below", rf"(?:de\s+)?moins\s+{_DE}(?P<a>{_N})"),
    ("upto", rf"(?:jusqu['’]\s*à|au\s+plus)\s+(?P<a>{_N})"),
    ("above", rf"(?:de\s+)?(?:plus\s+{_DE}|au[-\s]delà\s+{_DE})(?P<a>{_N})"),
    ("from", rf"(?:au\s+moins|à\s+partir\s+{_DE}|dès)\s*(?P<a>{_N})"),
    ("one", rf"(?:{_DE})?(?P<a>{_N})"),
]
_PATTERNS = [(kind, re.compile(rf"(?:\b{_LEAD}(?:{_DE})?)?(?<!\w){body}\s*{_UNIT}", re.I))
             for kind, body in _FORMS]


class RecognisedRange(NamedTuple):
    """``text``: the query without the range; ``populations``: the bracket slugs selected;
    ``description``: the range in French (« moins de 2 000 habitants »)."""

    text: str
    populations: list[str]
    description: str

    def to_dict(self) -> dict:
        return {"populations": list(self.populations), "text": self.description}


def parse_number(text: str) -> int:
    """« 2 000 », « 2.000 », « 2k », « 1,5 k » → an int."""
    text = re.sub(rf"[{SPACES}]", "", text).lower()
    if text.endswith("k"):
        return round(float(text[:-1].replace(",", ".")) * 1000)
    return int(text.replace(".", ""))


def french_number(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def brackets(low: int, high: int | None, tranches: list[dict] | None = None) -> list[str]:
    """The slugs of the brackets that overlap [low, high) (high None: no upper bound)."""
    if tranches is None:
        from kb.vocab import vocab

        tranches = vocab().population_tranches
    return [t["slug"] for t in tranches
            if (high is None or t.get("min", 0) < high) and (t.get("max") is None or t["max"] > low)]


def _bounds(kind: str, a: int, b: int | None) -> tuple[int, int | None, str]:
    """[low, high) and the description of a range."""
    if kind == "between":
        a, b = min(a, b), max(a, b)
        if a == b:
            return a, a + 1, f"{french_number(a)} habitants"
        return a, b, f"de {french_number(a)} à {french_number(b)} habitants"
    if kind == "above_below":
        return a + 1, b, f"plus de {french_number(a)} et moins de {french_number(b)} habitants"
    if kind == "below":
        return 0, a, f"moins de {french_number(a)} habitants"
    if kind == "upto":
        return 0, a + 1, f"jusqu'à {french_number(a)} habitants"
    if kind == "above":
        return a + 1, None, f"plus de {french_number(a)} habitants"
    if kind == "from":
        return a, None, f"au moins {french_number(a)} habitants"
    return a, a + 1, f"{french_number(a)} habitant{'s' if a > 1 else ''}"


def find_population_range(query: str, tranches: list[dict] | None = None) -> RecognisedRange | None:
    """The first population range of ``query``, or None when there is none (or it selects no
    bracket, as « moins de 0 habitant »)."""
    query = str(query or "")
    for kind, pattern in _PATTERNS:
        match = pattern.search(query)
        if not match:
            continue
        a = parse_number(match["a"])
        b = parse_number(match["b"]) if "b" in pattern.groupindex else None
        low, high, description = _bounds(kind, a, b)
        selected = brackets(low, high, tranches)
        if not selected:
            return None
        rest = f"{query[:match.start()]} {query[match.end():]}"
        rest = " ".join(rest.split()).strip(" ,;:-–—")
        return RecognisedRange(" ".join(rest.split()), selected, description)
    return None


# a populations value that no fiche has: a range AND-ed with a selection it does not meet
NO_BRACKET = "aucune-tranche"


def and_populations(selected: list[str], found: RecognisedRange) -> list[str]:
    """The brackets of ``found`` AND-ed with the brackets already ``selected`` (none selected:
    the range's own); empty when they have none in common."""
    return [p for p in selected if p in found.populations] if selected else list(found.populations)


def apply_range(query: str, filters) -> tuple[str, object, RecognisedRange | None]:
    """The query without its population range, the filters AND-ed with the range's brackets
    (a :class:`kb.filters.Filters`; :data:`NO_BRACKET` when they meet no bracket, so nothing
    matches), and the range recognised (None: query and filters unchanged)."""
    found = find_population_range(query)
    if found is None:
        return query, filters, None
    import dataclasses

    populations = and_populations(list(filters.populations), found) or [NO_BRACKET]
    return found.text, dataclasses.replace(filters, populations=populations), found
