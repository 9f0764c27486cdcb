"""The passage shown under a hit: the chunk of the fiche with most query terms, cut around its
densest run of matches, with the matched words marked (their character offsets)."""

from __future__ import annotations

import functools

import numpy as np

from kb.chunking import plain
from kb.textnorm import analyze, term, words

SNIPPET_WORDS = 40


def best_passage(chunks, wanted: set[str], dense_chunk: int | None) -> tuple[str, str] | None:
    """(section, text) of the chunk with most of the ``wanted`` terms, the best dense chunk on
    ties, then the first; ``chunks``: (chunk id, fiche id, section, text) rows of one fiche
    (:meth:`kb.catalog.Catalog.chunks`). None without chunks."""
    best = None
    for chunk_id, _, section, text in chunks:
        body = text.split(f" — {section}: ", 1)[-1] if section else text
        matched = len(chunk_terms(body) & wanted)
        key = (matched, chunk_id == dense_chunk, -chunk_id)
        if best is None or key > best[0]:
            best = (key, section, body)
    return None if best is None else (best[1], best[2])


@functools.lru_cache(maxsize=50_000)
def chunk_terms(text: str) -> frozenset[str]:
    """The search terms of a passage (cached: the same passages come back query after query)."""
    return frozenset(analyze(text))


@functools.lru_cache(maxsize=200_000)
def token_terms(token: str) -> tuple[str, ...]:
    """The search terms of one whitespace-separated token (« l'école, » → ("ecol",))."""
    return tuple(t for t in map(term, words(token)) if t)


def cut_snippet(text: str, wanted: set[str], size: int = SNIPPET_WORDS) -> tuple[str, list[tuple[int, int]]]:
    """A window of ``size`` words around the most matches, and the (start, end) of matched words."""
    tokens = plain(text).split(" ")
    flags = [not wanted.isdisjoint(token_terms(token)) for token in tokens]
    start = 0
    if len(tokens) > size:
        counts = np.convolve(np.array(flags, dtype=int), np.ones(size, dtype=int), mode="valid")
        if counts.max() > 0:
            best = int(np.argmax(counts))
            first_match = best + flags[best:best + size].index(True)
            # the densest window, shifted so that its first match has some context before it
            start = max(0, min(first_match - size // 4, len(tokens) - size))
    window = tokens[start:start + size]
    prefix = "… " if start > 0 else ""
    suffix = " …" if start + size < len(tokens) else ""
    snippet = prefix
    highlights = []
    for token, flag in zip(window, flags[start:start + size]):
        if snippet and not snippet.endswith(" "):
            snippet += " "
        if flag:
            highlights.append((len(snippet), len(snippet) + len(token)))
        snippet += token
    return snippet + suffix, highlights


def fill_snippet(hit, chunks, wanted: set[str], dense_chunk: int | None) -> None:
    """Give ``hit`` the passage that explains its match, from its fiche's chunks: the chunk with
    most query terms (the best dense chunk on ties), cut around its densest run of matches,
    with the matched words marked; its summary when no chunk has a query term."""
    passage = best_passage(chunks, wanted, dense_chunk)
    if passage is None:
        hit.snippet = hit.fiche.resume
        return
    hit.snippet_section, body = passage
    hit.snippet, hit.highlights = cut_snippet(body, wanted)
