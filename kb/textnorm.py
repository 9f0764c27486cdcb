"""French text analysis shared by indexing and querying.

One analyzer turns text into search terms: lowercase, elisions removed (l', d', qu'…),
accents folded, French stop words dropped, Snowball French stemming (PyStemmer). The catalog
stores the analyzed form of each fiche in FTS5 and queries are analyzed the same way, so
"Médiatrices numériques" finds "médiation numérique" and "l'école" finds "écoles".
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

DATA = Path(__file__).parent / "data"

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "‘": "'"})
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})
_ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu)'", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def fold(text: str) -> str:
    """Lowercase, without accents or ligatures: "Mise en Œuvre" → "mise en oeuvre"."""
    text = unicodedata.normalize("NFKD", str(text).translate(_LIGATURES).lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def slugify(text: str, max_length: int = 80) -> str:
    """A fiche slug from a title: ASCII lowercase words joined by hyphens."""
    text = _ELISION.sub(" ", text.translate(_APOSTROPHES))
    words = re.findall(r"[a-z0-9]+", fold(text))
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_length:
            break
        slug = candidate
    return slug


@functools.lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    lines = (DATA / "stopwords_fr.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(fold(w.strip()) for w in lines if w.strip() and not w.startswith("#"))


@functools.lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: the Snowball stemmers compiled in C

    return Stemmer.Stemmer("french")


def words(text: str) -> list[str]:
    """Lowercased words of ``text`` with elisions removed, accents kept (for stemming)."""
    text = _ELISION.sub(" ", str(text).translate(_APOSTROPHES).lower())
    return _WORD.findall(text)


@functools.lru_cache(maxsize=200_000)
def term(word: str) -> str | None:
    """The search term of one lowercased word, or None for a stop word."""
    if fold(word) in stop_words():
        return None
    return fold(_stemmer().stemWord(word))


def analyze(text: str) -> list[str]:
    """Search terms of a text, in order (stop words removed)."""
    return [t for t in map(term, words(text)) if t]
