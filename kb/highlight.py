"""Render a snippet and its highlighted spans for a terminal or for HTML (escaped)."""

from __future__ import annotations

import html


def _segments(snippet: str, highlights: list[tuple[int, int]]):
    position = 0
    for start, end in sorted(highlights):
        if start < position:
            continue
        yield snippet[position:start], False
        yield snippet[start:end], True
        position = end
    yield snippet[position:], False


def to_terminal(snippet: str, highlights, color: bool = True) -> str:
    import click

    parts = []
    for text, marked in _segments(snippet, highlights):
        if marked:
            parts.append(click.style(text, bold=True, fg="yellow") if color else f"[{text}]")
        else:
            parts.append(text)
    return "".join(parts)


def to_html(snippet: str, highlights) -> str:
    """Escaped HTML with ``<mark>`` around matches: safe to insert in a page."""
    return "".join(f"<mark>{html.escape(text)}</mark>" if marked else html.escape(text)
                   for text, marked in _segments(snippet, highlights))
