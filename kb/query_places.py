"""A commune or intercommunalité named in a query (« cybersécurité à Saint-Flour »), recognised
with the reference data of « Mon territoire » (kb.territoires).

The place is taken out of the words searched (no fiche is about Saint-Flour: its name would
only add noise) and the search says what it recognised, with the way to the fiches of
comparable territories (« Mon territoire »). Recognised: the exact name of a commune or an
EPCI (accents, case and hyphens ignored), capitalised as a place name is, right after « à »:
« à Saint-Flour », « à Mende ? ». « aide à domicile » or « personnes à la rue » are left alone
(no capital), and so is a name that only begins a territory's name. Several territories with
that name (« à Saint-Martin ») are all offered, none chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb import territoires
from kb.query_ranges import RecognisedRange, apply_range

AFTER = {"à", "À"}
MAX_WORDS = 6  # « Saint-Germain-en-Laye » is one word; « Val de Reuil » three
TRAILING = ",;:.!?)»\"'"


@dataclass
class PlaceFound:
    rest: str  # the query without the place
    name: str  # as typed
    territories: list  # kb.territoires.Territory, one or several homonyms

    def to_dict(self) -> dict:
        return {"text": self.name, "territoires": [{"code": t.code, "label": t.label} for t in self.territories]}


def find_place(query: str) -> PlaceFound | None:
    """The place named in ``query`` (the longest name after « à »), or None."""
    tokens = query.split()
    for at, token in enumerate(tokens):
        if token not in AFTER or at + 1 >= len(tokens) or not tokens[at + 1][:1].isupper():
            continue
        for end in range(min(len(tokens), at + 1 + MAX_WORDS), at + 1, -1):
            words = tokens[at + 1:end]
            if any(w != w.rstrip(TRAILING) for w in words[:-1]):
                continue  # punctuation inside the span: the name ended before
            name = " ".join(words).rstrip(TRAILING + " ")
            found = sorted(territoires.named(name), key=lambda t: -(t.population or 0))
            if found:
                return PlaceFound(" ".join(tokens[:at] + tokens[end:]), name, found)
    return None


def understood(query: str, filters) -> tuple[str, object, RecognisedRange | None, PlaceFound | None]:
    """The query as the search reads it: (the words searched, the filters AND-ed with a
    population range typed in it (kb.query_ranges), the range, the place named in it)."""
    rest, filters, found = apply_range(query, filters)
    place = find_place(rest)
    return (place.rest if place else rest), filters, found, place
