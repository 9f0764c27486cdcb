"""The bundled bank reads as fiches written by different territories, not one form filled 84
times: no sentence of 8 words or more is shared by more than 3 fiches."""

from __future__ import annotations

import re
from collections import defaultdict

from conftest import ROOT, TODAY
from kb.fiche import parse_file

MIN_WORDS = 8
MAX_FICHES = 3
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


def sentences(text: str) -> set[str]:
    """The sentences of a text, lowercased with spacing and list markers flattened."""
    out = set()
    for raw in SENTENCE_END.split(text):
        sentence = " ".join(raw.strip(" -*>#").lower().split())
        if len(sentence.split()) >= MIN_WORDS:
            out.add(sentence)
    return out


def test_sentence_splitting_finds_repeats():
    text = "Un bus passe chaque semaine dans quinze villages du plateau. Court.\n- Une liste de huit mots ou plus ici."
    assert sentences(text) == {"un bus passe chaque semaine dans quinze villages du plateau.",
                               "une liste de huit mots ou plus ici."}


def test_no_long_sentence_is_shared_by_more_than_three_fiches():
    where = defaultdict(set)
    for path in sorted((ROOT / "practices").glob("*.md")):
        fiche, _ = parse_file(path, TODAY)
        assert fiche is not None, path
        for sentence in sentences(fiche.resume + "\n" + fiche.body):
            where[sentence].add(fiche.slug)
    repeated = {s: sorted(slugs) for s, slugs in where.items() if len(slugs) > MAX_FICHES}
    assert not repeated, repeated
