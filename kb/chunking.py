"""Cut a fiche into the passages that are embedded.

The first chunk is the title with the résumé and keywords; then each section, with the
fiche's title and the section's title in front, in windows of at most ``max_words`` words so
that long sections are not truncated by the model (all-MiniLM-L6-v2 reads 256 word pieces).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(^|\s)[#>*+-]+\s|[*_`]+|^\s*\d+\.\s", re.MULTILINE)
OVERLAP_WORDS = 20


@dataclass(frozen=True)
class Chunk:
    ord: int
    section: str
    text: str

    def hash(self, model_key: str) -> str:
        return hashlib.sha256(f"{model_key}\x00{self.text}".encode()).hexdigest()[:32]


def plain(markdown_text: str) -> str:
    """Markdown without its marks, on one line: what a reader sees, for embedding and snippets."""
    text = _MD_LINK.sub(r"\1", markdown_text)
    text = _MD_MARKS.sub(r"\1", text)
    return " ".join(text.split())


def windows(words: list[str], max_words: int) -> list[list[str]]:
    if len(words) <= max_words:
        return [words]
    step = max(1, max_words - OVERLAP_WORDS)
    out = []
    for start in range(0, len(words), step):
        out.append(words[start:start + max_words])
        if start + max_words >= len(words):
            break
    return out


def chunk_texts(titre: str, resume: str, mots_cles: list[str], sections: list[tuple[str, str]],
                max_words: int = 120) -> list[Chunk]:
    head = ". ".join(t for t in (titre, resume) if t)
    if mots_cles:
        head += " " + ", ".join(mots_cles) + "."
    chunks = [Chunk(0, "", plain(head))] if head.strip() else []
    for title, text in sections:
        prefix = f"{titre} — {title}: " if titre and title else ""
        for part in windows(plain(text).split(), max_words):
            if part:
                chunks.append(Chunk(len(chunks), title, prefix + " ".join(part)))
    return chunks


def chunk_fiche(fiche, max_words: int = 120) -> list[Chunk]:
    return chunk_texts(fiche.titre, fiche.resume, fiche.mots_cles,
                       [(s.title, s.text) for s in fiche.sections], max_words)
