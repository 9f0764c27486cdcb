"""Safe rendering: what a fiche writes in Markdown never runs in a reader's browser."""

from __future__ import annotations

import re

import pytest

from kb.highlight import to_html
from kb.render import markdown_to_html

HOSTILE = {
    "script": "<script>alert('x')</script>",
    "event handler": '<img src="x.png" onerror="alert(1)">',
    "inline event on allowed tag": '<a href="https://exemple.fr" onclick="alert(1)">lien</a>',
    "javascript link": "[clic](javascript:alert(1))",
    "javascript link, mixed case and spaces": "[clic]( JaVaScRiPt:alert(1) )",
    "data link": "[clic](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "iframe": '<iframe src="https://exemple.fr"></iframe>',
    "style": "<style>body{display:none}</style>",
    "svg": '<svg onload="alert(1)"><circle r="1"/></svg>',
    "object": '<object data="x.swf"></object>',
    "form": '<form action="https://exemple.fr"><input name="x"></form>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://exemple.fr">',
    "html comment hiding script": "<!-- <script>alert(1)</script> -->",
    "raw block html": "<div style=\"position:fixed\" onmouseover=\"alert(1)\">texte</div>",
}
FORBIDDEN = re.compile(r"<\s*(script|iframe|style|svg|object|form|input|meta|img|div)\b|\bon[a-z]+\s*=|javascript:|data:",
                       re.IGNORECASE)


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markdown_is_neutralised(source):
    html = markdown_to_html(f"## Contexte\n\nAvant {source} après.\n")
    assert not FORBIDDEN.search(html), html
    assert "Avant" in html and "après" in html  # the text around is kept


def test_markdown_still_renders_and_external_links_are_safe():
    html = markdown_to_html("## Résultats\n\n**1 200** accompagnements, voir [le bilan](https://exemple.fr/bilan.pdf).\n\n"
                            "| indicateur | valeur |\n|---|---|\n| ateliers | 48 |\n")
    assert "<h2>Résultats</h2>" in html and "<strong>1 200</strong>" in html and "<table>" in html
    assert '<a href="https://exemple.fr/bilan.pdf" rel="noopener noreferrer">le bilan</a>' in html


def test_highlighted_snippets_are_escaped():
    snippet = "<script>alert(1)</script> médiation"
    html = to_html(snippet, [(len(snippet) - len("médiation"), len(snippet))])
    assert html == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>médiation</mark>"
