"""Export a list of fiches as CSV rows for a spreadsheet, without personal contact data.

A row holds what describes the initiative (labels, not slugs, for the vocabularies) and a
link to its page. Contact e-mails and telephone numbers are never exported, nor the name of
the contact person; any e-mail address or French telephone number that appears in an
exported text is replaced by a mention, and cells that a spreadsheet would run as a formula
are neutralised.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Iterable
from urllib.parse import quote

from kb import costs
from kb.facets import facet_label
from kb.model import Fiche
from kb.vocab import vocab

COLUMNS = (
    ("slug", "identifiant"),
    ("titre", "titre"),
    ("resume", "résumé"),
    ("territoire", "territoire"),
    ("type", "type de territoire"),
    ("densite", "densité"),
    ("departements", "départements"),
    ("regions", "régions"),
    ("population", "population"),
    ("porteur", "porteur"),
    ("partenaires", "partenaires"),
    ("thematiques", "thématiques"),
    ("publics", "publics"),
    ("dispositifs", "dispositifs"),
    ("statut", "statut"),
    ("debut", "début"),
    ("mise_a_jour", "mise à jour"),
    ("investissement_eur", "investissement (euros)"),
    ("fonctionnement_eur_an", "fonctionnement par an (euros)"),
    ("etp", "équivalents temps plein"),
    ("mise_en_place_mois", "mise en place (mois)"),
    ("beneficiaires_an", "bénéficiaires par an"),
    ("beneficiaires_unite", "unité des bénéficiaires"),
    ("annee", "année des chiffres"),
    ("cout_total", "coût la première année (euros)"),
    ("cout_par_beneficiaire", "coût annuel par bénéficiaire (euros)"),
    ("montant_finance", "montant financé (euros)"),
    ("reste_a_charge", "reste à charge (euros)"),
    ("budget_eur", "budget (ancien champ, euros)"),
    ("financements", "financements"),
    ("contact_fonction", "contact (fonction)"),
    ("contact_site", "site"),
    ("liens", "liens"),
    ("mots_cles", "mots-clés"),
    ("licence", "licence"),
    ("url", "adresse de la fiche"),
)
SEPARATOR = " | "
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# French numbers: 0X XX XX XX XX or +33 X XX XX XX XX, with spaces, dots or dashes
PHONE_RE = re.compile(r"(?:(?:\+|00)33[\s.-]?(?:\(0\)[\s.-]?)?|\b0)[1-9](?:[\s.-]?\d{2}){4}\b")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DEFAULT_BASE_URL = "http://localhost:8501/"  # ``kb serve``'s address, when no base_url is set


def fiche_address(slug: str, base_url: str = "") -> str:
    """Absolute address of a fiche's page: ``<base_url>fiche?slug=…`` (base_url: the ``base_url``
    setting, or the application's address; empty: :data:`DEFAULT_BASE_URL`)."""
    base = base_url or DEFAULT_BASE_URL
    if not base.endswith("/"):
        base += "/"
    return f"{base}fiche?slug={quote(slug)}"


def redact(text: str) -> str:
    """The text with e-mail addresses and telephone numbers replaced by a mention."""
    text = EMAIL_RE.sub("[adresse électronique retirée]", text)
    return PHONE_RE.sub("[numéro retiré]", text)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, float):
        value = str(value).replace(".", ",")  # the decimal comma of spreadsheets set up for French
    text = redact(str(value))
    if text.startswith(FORMULA_START):
        text = "'" + text  # a spreadsheet shows it as text instead of evaluating it
    return text


def export_row(fiche: Fiche, fiche_url: str = "") -> dict[str, str]:
    """One CSV row (column name → text) from a fiche (``Bank.get`` / ``Hit.fiche``)."""
    v = vocab()

    def labels(facet: str, values) -> str:
        return SEPARATOR.join(facet_label(facet, x) for x in values or [])

    contact = fiche.contact or {}
    territoire = fiche.territoire
    figures = costs.costs_of(fiche.couts, fiche.financements)
    row = {
        "slug": fiche.slug,
        "titre": fiche.titre,
        "resume": fiche.resume,
        "territoire": territoire.get("nom"),
        "type": facet_label("type", territoire.get("type") or ""),
        "densite": facet_label("densite", fiche.densite) if fiche.densite else "",
        "departements": SEPARATOR.join(f"{v.departements.get(d, d)} ({d})" for d in fiche.departements),
        "regions": labels("region", fiche.regions),
        "population": territoire.get("population"),
        "porteur": fiche.porteur,
        "partenaires": SEPARATOR.join(fiche.partenaires or []),
        "thematiques": labels("thematique", fiche.thematiques),
        "publics": labels("public", fiche.publics),
        "dispositifs": labels("dispositif", fiche.dispositifs),
        "statut": facet_label("statut", fiche.statut or ""),
        "debut": fiche.debut,
        "mise_a_jour": fiche.mise_a_jour,
        **{name: getattr(figures, name) for name in ("investissement_eur", "fonctionnement_eur_an", "etp",
                                                      "mise_en_place_mois", "beneficiaires_an", "annee",
                                                      "reste_a_charge")},
        "beneficiaires_unite": (v.beneficiaires_unites.get(figures.beneficiaires_unite, "")
                                if figures.beneficiaires_an is not None else ""),
        "cout_total": figures.total,
        "cout_par_beneficiaire": None if figures.par_beneficiaire is None else round(figures.par_beneficiaire, 2),
        "montant_finance": figures.finance,
        "budget_eur": fiche.budget_eur,
        "financements": SEPARATOR.join(_funding(item) for item in fiche.financements or []),
        "contact_fonction": contact.get("fonction"),
        "contact_site": contact.get("site"),
        "liens": SEPARATOR.join(_link(link) for link in fiche.liens or []),
        "mots_cles": SEPARATOR.join(fiche.mots_cles or []),
        "licence": fiche.licence,
        "url": fiche_url,
    }
    return {name: _cell(row[name]) for name, _ in COLUMNS}


def _funding(item) -> str:
    """« DSIL (60000 €) » or « fonds propres »."""
    if isinstance(item, dict) and item.get("montant_eur") is not None:
        return f"{costs.source(item)} ({_cell(item['montant_eur'])} €)"
    return costs.source(item)


def _link(link: dict) -> str:
    """« Délibération du conseil <https://…> (Délibération) »."""
    kind = vocab().types_liens.get(link.get("type") or "", "")
    return f"{link.get('titre')} <{link.get('url')}>" + (f" ({kind})" if kind else "")


def export_rows(fiches: Iterable[Fiche], fiche_url=None, base_url: str = "") -> list[dict[str, str]]:
    """Rows for many fiches; ``fiche_url(slug)`` gives the address of each fiche's page, by
    default :func:`fiche_address` under ``base_url`` (the setting; empty: ``kb serve``'s address)."""
    url_of = fiche_url or (lambda slug: fiche_address(slug, base_url))
    return [export_row(f, url_of(f.slug)) for f in fiches]


def to_csv(rows: list[dict[str, str]], delimiter: str = ";") -> bytes:
    """CSV bytes: UTF-8 with a byte order mark and ";" between cells, which spreadsheets set
    up for French open directly; the header holds readable French column titles."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([title for _, title in COLUMNS])
    for row in rows:
        writer.writerow([row.get(name, "") for name, _ in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")
