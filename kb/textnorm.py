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

_APOSTROPHES = {"’": "'", "ʼ": "'", "`": "'", "´": "'", "‘": "'"}
_LIGATURES = {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"}


def _replace(text: str, mapping: dict[str, str]) -> str:
    """str.translate for a few characters, but fast: translate with non-ASCII characters goes
    through a per-character Python lookup (15 µs for a title), each ``in`` here is a C scan."""
    for old, new in mapping.items():
        if old in text:
            text = text.replace(old, new)
    return text
_ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu)'", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _strip_marks(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _bmp_marks() -> re.Pattern:
    """A character class of the combining marks of the Basic Multilingual Plane."""
    codes = [code for code in range(0x10000) if unicodedata.combining(chr(code))]
    ranges, start = [], codes[0]
    for previous, code in zip(codes, codes[1:] + [None]):
        if code != previous + 1:
            ranges.append(re.escape(chr(start)) + ("-" + re.escape(chr(previous)) if previous > start else ""))
            start = code
    return re.compile("[" + "".join(ranges) + "]+")


_MARKS = _bmp_marks()


def fold(text: str) -> str:
    """Lowercase, without accents or ligatures: "Mise en Œuvre" → "mise en oeuvre"."""
    text = unicodedata.normalize("NFKD", _replace(str(text), _LIGATURES).lower())
    if text.isascii():
        return text
    if max(text) > "\uffff":  # marks beyond the BMP are rare: the general path
        return "".join(c for c in text if not unicodedata.combining(c))
    return _MARKS.sub("", text)


def fold_reference(text: str) -> str:
    """The definition of :func:`fold`, without its fast path (the tests compare both)."""
    return _strip_marks(str(text).translate(str.maketrans(_LIGATURES)).lower())


def slugify(text: str, max_length: int = 80) -> str:
    """A fiche slug from a title: ASCII lowercase words joined by hyphens."""
    text = _ELISION.sub(" ", _replace(text, _APOSTROPHES))
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
    text = _ELISION.sub(" ", _replace(str(text), _APOSTROPHES).lower())
    return _WORD.findall(text)


@functools.lru_cache(maxsize=200_000)
def term(word: str) -> str | None:
    """The search term of one lowercased word, or None for a stop word."""
    if fold(word) in stop_words():
        return None
    return fold(_stemmer().stemWord(word))


def exact_words(text: str) -> list[str]:
    """The words of a text as written, folded but not stemmed, stop words removed: a fiche that
    has the very word typed ranks above one with only a word of the same stem (kb.lexical).
    The text is folded whole (fold works character by character): once, not once per word."""
    stops = stop_words()
    return [w for w in words(fold(text)) if w not in stops]


def analyze(text: str) -> list[str]:
    """Search terms of a text, in order (stop words removed)."""
    return [t for t in map(term, words(text)) if t]
