"""Spelling help: « Vouliez-vous dire : médiation numérique rurale ? ».

A query word is *unknown* when its search term is in no fiche and it is no thesaurus
expression. Its correction is the word of the bank's own vocabulary (titles, summaries and
keywords, as written, accents included) at the smallest edit distance (RapidFuzz's
Levenshtein, on accent-free forms; words of up to 5 letters are left alone, 1 edit up to 8
letters, 2 above), the most frequent one on ties. Looser limits turned questions the bank
cannot answer into others it can (« tailler un rosier » into « tailler un dossier »,
« élevage de chèvres » into « élève de chèques »), whose results the search then showed. Acronyms and thesaurus expressions are known words and are
never corrected.
"""

from __future__ import annotations

from collections import Counter

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from kb.textnorm import fold, term, words

MIN_LENGTH = 4  # shorter words (and numbers) are never taken as corrections
MIN_CORRECTED = 6  # nor corrected: « roue » is one edit from « rue » and « route »


class Speller:
    def __init__(self, texts):
        """``texts``: the bank's text to learn words from."""
        pairs: Counter = Counter()  # (folded, as written) → occurrences
        for text in texts:
            written = words(text)
            folded = words(fold(text))  # the whole text folded once: fold works letter by letter
            if len(folded) != len(written):  # a character that folds into two words (rare)
                folded = [fold(word) for word in written]
            pairs.update(zip(folded, written))
        spellings: dict[str, Counter] = {}
        for (plain, word), n in pairs.items():
            if len(word) >= MIN_LENGTH and word.isalpha():
                spellings.setdefault(plain, Counter())[word] += n
        self.frequency = {folded: sum(c.values()) for folded, c in spellings.items()}
        self.spelling = {folded: c.most_common(1)[0][0] for folded, c in spellings.items()}
        self.choices = list(self.spelling)

    def correction(self, word: str, is_known) -> str | None:
        """The bank's word closest to an unknown ``word``, or None (known, or nothing close).
        ``is_known(stem)``: whether a search term is known although absent from the texts
        learnt from (in a fiche's body, or in the thesaurus)."""
        folded = fold(word)
        stem = term(word)
        if stem is None or len(word) < MIN_CORRECTED or not word.isalpha() or folded in self.spelling \
                or is_known(stem):
            return None
        limit = 1 if len(folded) <= 8 else 2
        found = process.extract(folded, self.choices, scorer=Levenshtein.distance, score_cutoff=limit,
                                limit=20)
        if not found:
            return None
        best = min(found, key=lambda f: (f[1], -self.frequency[f[0]]))
        return self.spelling[best[0]]

    def correct(self, text: str, is_known) -> str | None:
        """``text`` with its unknown words corrected, or None when nothing changes."""
        changed = False
        out = []
        for token in text.split():
            fixed = token
            parts = words(token)
            if len(parts) == 1 and parts[0] == token.lower():
                replacement = self.correction(parts[0], is_known)
                if replacement:
                    fixed, changed = replacement, True
            out.append(fixed)
        return " ".join(out) if changed else None
