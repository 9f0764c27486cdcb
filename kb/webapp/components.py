"""HTML pieces of the pages: result cards, badges, metadata, contact. Every text that comes
from a fiche is escaped with ``html.escape`` here; fiche bodies go through
``kb.render.markdown_to_html`` (the page modules never build HTML themselves)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

from kb import costs
from kb.freshness import french_date, review_due
from kb.highlight import to_html
from kb.render import markdown_to_html
from kb.facets import facet_label
from kb.model import Fiche
from kb.vocab import vocab
from kb.webapp import french

STYLE_PATH = Path(__file__).with_name("style.css")
# the page's language (Streamlit's page says "en"), Streamlit's own labels in French and the
# « Aller à la recherche » link (kb.webapp.french): a constant, never built from data
LANG_SCRIPT = french.script()
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


def review_line(fiche: Fiche, months: int, today=None) -> str:
    """« Fiche relue le 15 septembre 2026 », with a discreet « à relire » badge past ``months``
    months (the ``relecture_mois`` setting, kb.freshness)."""
    due = review_due(fiche.mise_a_jour, months, today)
    badge = (f' <span class="kb-badge kb-badge-relire" title="relue il y a plus de {int(months)} mois">à relire</span>'
             if due else "")
    return f'<p class="kb-reviewed" lang="fr">Fiche relue le {esc(french_date(fiche.mise_a_jour))}{badge}</p>'


def departements_text(codes) -> str:
    v = vocab()
    return ", ".join(f"{v.departements.get(c, c)} ({c})" for c in codes or [])


def population_text(population) -> str:
    """« 18 500 habitants », or nothing when the fiche does not give it."""
    if not population:
        return ""
    return f"{costs.number_fr(population)} habitant{'s' if population > 1 else ''}"


def place_line(fiche: Fiche) -> str:
    """« Territoire · Type · Départements · 18 500 habitants », escaped."""
    territoire = fiche.territoire
    parts = [territoire.get("nom"), facet_label("type", territoire.get("type") or ""),
             departements_text(territoire.get("departements")), population_text(territoire.get("population"))]
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
    """« 62 000 € » (below 100 €, with cents)."""
    return costs.euros_fr(amount)


def funding_text(item) -> str:
    """« DSIL (60 000 €) » or « fonds propres »."""
    if isinstance(item, dict) and item.get("montant_eur") is not None:
        return f"{costs.source(item)} ({_money(item['montant_eur'])})"
    return costs.source(item)


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
        ("Population", population_text(population)),
        ("Porteur", fiche.porteur),
        ("Partenaires", ", ".join(fiche.partenaires or [])),
        ("Dispositifs", ", ".join(facet_label("dispositif", d) for d in fiche.dispositifs or [])),
        ("Budget (ancien champ)", _money(fiche.budget_eur) if fiche.budget_eur is not None else ""),
        ("Financements", ", ".join(funding_text(item) for item in fiche.financements or [])),
        ("Début", fiche.debut),
        ("Statut", facet_label("statut", fiche.statut or "")),
        ("Mise à jour", fiche.mise_a_jour),
        ("Licence", fiche.licence),
        ("Mots-clés", ", ".join(fiche.mots_cles or [])),
    ]
    items = "".join(f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>" for label, value in rows if value)
    return f'<dl class="kb-meta-list" lang="fr">{items}</dl>'


def _plural(count, singular: str, plural: str) -> str:
    return singular if count == 1 else plural


def costs_rows(fiche: Fiche) -> list[tuple[str, str]]:
    """(label, text) of what the fiche says it costs and of the figures derived from it
    (:mod:`kb.costs`); a missing figure gives no row."""
    figures = costs.costs_of(fiche.couts, fiche.financements)
    plural, singular = vocab().beneficiaires_unites_texte.get(figures.beneficiaires_unite,
                                                              (figures.beneficiaires_unite,) * 2)
    rows = []
    if figures.investissement_eur is not None:
        rows.append(("Investissement", _money(figures.investissement_eur)))
    if figures.fonctionnement_eur_an is not None:
        rows.append(("Fonctionnement annuel", f"{_money(figures.fonctionnement_eur_an)} par an"))
    if figures.etp is not None:
        rows.append(("Équipe", f"{costs.number_fr(figures.etp, decimals=2)} ETP (équivalent temps plein)"))
    if figures.mise_en_place_mois is not None:
        rows.append(("Mise en place", f"{costs.number_fr(figures.mise_en_place_mois)} mois"))
    if figures.beneficiaires_an is not None:
        rows.append(("Bénéficiaires", f"{costs.number_fr(figures.beneficiaires_an)} "
                                      f"{_plural(figures.beneficiaires_an, singular, plural)} par an"))
    if figures.par_beneficiaire is not None:
        rows.append(("Coût par bénéficiaire", f"{_money(figures.par_beneficiaire)} par {singular} et par an"))
    if figures.investissement_eur is not None and figures.fonctionnement_eur_an is not None:
        rows.append(("Coût la première année", f"{_money(figures.total)} (investissement et fonctionnement)"))
    if figures.part_financee is not None:
        rows.append(("Part financée", f"{costs.number_fr(figures.part_financee * 100)} % "
                                      f"({_money(figures.finance)})"))
    if figures.reste_a_charge is not None:
        rows.append(("Reste à charge", _money(figures.reste_a_charge)))
    return rows


def costs_block(fiche: Fiche) -> str:
    """The « Coûts et moyens » list of the fiche page; empty when the fiche gives no figure."""
    rows = costs_rows(fiche)
    if not rows:
        return ""
    items = "".join(f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>" for label, value in rows)
    annee = costs.costs_of(fiche.couts).annee
    note = f"Chiffres de {annee}, en euros TTC." if annee else "Montants en euros TTC."
    return (f'<div lang="fr"><dl class="kb-meta-list kb-costs">{items}</dl>'
            f'<p class="kb-caption">{esc(note)}</p></div>')


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
    kinds = vocab().types_liens
    links = [f"<li>{link(item.get('url'), item.get('titre') or item.get('url'))}"
             + (f' <span class="kb-link-type">({esc(kinds[item["type"]])})</span>' if item.get("type") in kinds else "")
             + "</li>" for item in fiche.liens or [] if safe_url(item.get("url"))]
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


FICHE_TOOLS_SCRIPT = """<script>
(() => {
  const tools = document.getElementById("kb-fiche-tools");
  if (!tools) return;
  const status = document.getElementById("kb-tools-status");
  const address = new URL(tools.dataset.url || window.location.href, window.location.href).href;
  document.querySelectorAll(".kb-print-url-text").forEach((el) => { el.textContent = address; });
  document.getElementById("kb-print").onclick = () => window.print();
  const say = (text) => { status.textContent = text; };
  const fallback = () => {
    const area = document.createElement("textarea");
    area.value = address; area.setAttribute("readonly", ""); area.style.position = "absolute";
    area.style.left = "-9999px"; document.body.appendChild(area); area.select();
    let done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    area.remove();
    say(done ? "Lien copié dans le presse-papiers." : "Copie impossible : copiez l'adresse " + address);
  };
  document.getElementById("kb-copy").onclick = () => {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(address).then(() => say("Lien copié dans le presse-papiers."), fallback);
    } else {
      fallback();
    }
  };
})();
</script>"""


def fiche_tools(url: str) -> str:
    """« Imprimer » and « Copier le lien » (its French confirmation in a live region) for a
    fiche whose address is ``url`` (relative: completed from the browser's address)."""
    return (f'<div id="kb-fiche-tools" class="kb-tools" lang="fr" data-url="{esc(url)}">'
            '<button type="button" id="kb-print" class="kb-tool">Imprimer</button>'
            '<button type="button" id="kb-copy" class="kb-tool">Copier le lien</button>'
            '<span id="kb-tools-status" class="kb-tools-status" role="status" aria-live="polite"></span>'
            f'</div>{FICHE_TOOLS_SCRIPT}')


def print_url(url: str) -> str:
    """The fiche's address, shown in print only, under the title."""
    return (f'<p class="kb-print-only kb-print-url" lang="fr">Adresse de la fiche : '
            f'<span class="kb-print-url-text">{esc(url)}</span></p>')
