"""HTML pieces of the pages: result cards, badges, metadata, contact. Every text that comes
from a fiche is escaped with ``html.escape`` here; fiche bodies go through
``kb.render.markdown_to_html`` (the page modules never build HTML themselves)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

from kb.highlight import to_html
from kb.render import markdown_to_html
from kb.facets import facet_label
from kb.model import Fiche
from kb.vocab import vocab

STYLE_PATH = Path(__file__).with_name("style.css")
# the page's language, for screen readers and translation tools (Streamlit's page says "en");
# the only script of the application: a constant, never built from data
LANG_SCRIPT = "<script>document.documentElement.lang = 'fr';</script>"
SAFE_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+!<>|~$:])")


def md_escape(text) -> str:
    """Text shown by a Streamlit element that reads Markdown (st.title, page links): every
    Markdown or LaTeX sign backslash-escaped, so a title is only ever text."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", "" if text is None else str(text))


def style_tag() -> str:
    return f"<style>{STYLE_PATH.read_text(encoding='utf-8')}</style>"


def safe_url(url: str | None) -> str | None:
    """The URL when it is an http(s) address, else None (never a javascript: link)."""
    url = (url or "").strip()
    return url if SAFE_URL.match(url) else None


# ----------------------------------------------------------------------------- small pieces


def badges(fiche: Fiche, with_statut: bool = True) -> str:
    parts = [f'<span class="kb-badge kb-badge-theme">{esc(facet_label("thematique", t))}</span>'
             for t in fiche.thematiques or []]
    parts += [f'<span class="kb-badge kb-badge-public">{esc(facet_label("public", p))}</span>'
              for p in fiche.publics or []]
    if with_statut and fiche.statut:
        parts.append(f'<span class="kb-badge kb-badge-statut kb-statut-{esc(fiche.statut)}">'
                     f'{esc(facet_label("statut", fiche.statut))}</span>')
    return f'<div class="kb-badges" lang="fr">{"".join(parts)}</div>'


def departements_text(codes) -> str:
    v = vocab()
    return ", ".join(f"{v.departements.get(c, c)} ({c})" for c in codes or [])


def place_line(fiche: Fiche) -> str:
    """« Territoire · Type · Départements », escaped."""
    territoire = fiche.territoire
    parts = [territoire.get("nom"), facet_label("type", territoire.get("type") or ""),
             departements_text(territoire.get("departements"))]
    return " · ".join(esc(p) for p in parts if p)


def result_card(hit, show_snippet: bool = True) -> str:
    """The body of a result card (the title is a page link placed by the page above it)."""
    f = hit.fiche
    snippet = ""
    if show_snippet and hit.snippet and hit.snippet != f.resume:
        section = (f'<span class="kb-snippet-section">{esc(hit.snippet_section)} : </span>'
                   if hit.snippet_section else "")
        snippet = (f'<p class="kb-snippet"><span class="kb-visually-hidden">Passage correspondant : </span>'
                   f'{section}{to_html(hit.snippet, hit.highlights)}</p>')
    return (f'<div class="kb-card" lang="fr">'
            f'<p class="kb-place">{place_line(f)}</p>'
            f'<p class="kb-resume">{esc(f.resume)}</p>'
            f'{snippet}{badges(f)}</div>')


def compact_item(fiche: Fiche) -> str:
    """One line under a page link in a list: place and status."""
    statut = facet_label("statut", fiche.statut or "")
    return f'<p class="kb-place kb-compact" lang="fr">{place_line(fiche)} · {esc(statut)}</p>'


# ----------------------------------------------------------------------------- the fiche page


def fiche_body(fiche: Fiche) -> str:
    """The body rendered safely (raw HTML and scripts removed by the sanitizer)."""
    return f'<article class="kb-body" lang="fr">{markdown_to_html(fiche.body or "")}</article>'


def _money(amount) -> str:
    value = float(amount)
    text = f"{value:,.0f}".replace(",", "\u202f")
    return f"{text} €"


def _number(value) -> str:
    return f"{int(value):,}".replace(",", "\u202f")


def metadata(fiche: Fiche) -> str:
    """A definition list of the fiche's fields, empty fields left out."""
    territoire = fiche.territoire
    densite = ""
    if fiche.densite:
        densite = facet_label("densite", fiche.densite)
        if fiche.densite_niveau:
            densite += f" ({facet_label('densite_niveau', fiche.densite_niveau)})"
    regions = ", ".join(facet_label("region", r) for r in fiche.regions)
    population = territoire.get("population")
    rows = [
        ("Territoire", territoire.get("nom")),
        ("Type de territoire", facet_label("type", territoire.get("type") or "")),
        ("Densité", densite),
        ("Départements", departements_text(territoire.get("departements"))),
        ("Régions", regions),
        ("Population", f"{_number(population)} habitants" if population else ""),
        ("Porteur", fiche.porteur),
        ("Partenaires", ", ".join(fiche.partenaires or [])),
        ("Dispositifs", ", ".join(facet_label("dispositif", d) for d in fiche.dispositifs or [])),
        ("Budget", _money(fiche.budget_eur) if fiche.budget_eur is not None else ""),
        ("Financements", ", ".join(fiche.financements or [])),
        ("Début", fiche.debut),
        ("Statut", facet_label("statut", fiche.statut or "")),
        ("Mise à jour", fiche.mise_a_jour),
        ("Licence", fiche.licence),
        ("Mots-clés", ", ".join(fiche.mots_cles or [])),
    ]
    items = "".join(f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>" for label, value in rows if value)
    return f'<dl class="kb-meta-list" lang="fr">{items}</dl>'


def contact(fiche: Fiche) -> str:
    """Contact and links; e-mail as mailto:, URLs only when http(s)."""
    c = fiche.contact or {}
    lines = []
    who = ", ".join(esc(c[k]) for k in ("nom", "fonction") if c.get(k))
    if who:
        lines.append(f"<li>{who}</li>")
    if c.get("email"):
        lines.append(f'<li>Courriel : <a href="mailto:{quote(c["email"], safe="@.+-_")}">{esc(c["email"])}</a></li>')
    if c.get("telephone"):
        tel = re.sub(r"[^0-9+]", "", c["telephone"])
        lines.append(f'<li>Téléphone : <a href="tel:{esc(tel)}">{esc(c["telephone"])}</a></li>')
    if safe_url(c.get("site")):
        lines.append(f'<li>Site : {link(c["site"], c["site"])}</li>')
    links = [f"<li>{link(item.get('url'), item.get('titre') or item.get('url'))}</li>"
             for item in fiche.liens or [] if safe_url(item.get("url"))]
    out = []
    if lines:
        out.append(f'<h3 class="kb-h3">Contact</h3><ul class="kb-contact">{"".join(lines)}</ul>')
    if links:
        out.append(f'<h3 class="kb-h3">Liens</h3><ul class="kb-links">{"".join(links)}</ul>')
    return f'<div lang="fr">{"".join(out)}</div>' if out else ""


def link(url: str, text: str) -> str:
    url = safe_url(url)
    if not url:
        return esc(text)
    host = urlsplit(url).hostname or ""
    return (f'<a href="{esc(url)}" rel="noopener noreferrer" target="_blank">{esc(text)}'
            f'<span class="kb-visually-hidden"> (nouvel onglet, {esc(host)})</span></a>')


def edit_link(template: str, fiche: Fiche) -> str | None:
    """The "edit in git" address from the ``edit_url`` setting ({path}, {slug}); None when the
    setting is empty, malformed or not an http(s) address."""
    if not template:
        return None
    path = str(fiche.path or "").replace("\\", "/")
    url = template.replace("{path}", quote(path)).replace("{slug}", quote(str(fiche.slug or "")))
    return safe_url(url)
