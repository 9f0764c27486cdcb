"""Turn the fields of the application's contribution form into the Markdown text of a fiche.

The text is then checked by the validator (:func:`kb.fiche.parse_bytes`), exactly as
``kb validate`` checks a file: the form never has rules of its own.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml

from kb.bank import BankEntry, duplicate_problems
from kb.fiche import Fiche, parse_bytes
from kb.problems import Problem
from kb.rules_costs import COUTS_KEYS
from kb.textnorm import fold, slugify
from kb.vocab import vocab


@dataclass
class FicheForm:
    """What a contributor typed. Empty values are left out of the fiche, so the validator
    reports a missing required field as missing."""

    titre: str = ""
    resume: str = ""
    thematiques: list[str] = field(default_factory=list)
    publics: list[str] = field(default_factory=list)
    territoire_nom: str = ""
    territoire_type: str = ""
    densite: str = ""
    departements: list[str] = field(default_factory=list)
    population: int | None = None
    porteur: str = ""
    partenaires: list[str] = field(default_factory=list)
    dispositifs: list[str] = field(default_factory=list)
    debut: str = ""  # AAAA or AAAA-MM
    statut: str = ""
    couts: dict = field(default_factory=dict)  # the keys of the contract's couts mapping; None: not given
    budget_eur: float | None = None  # deprecated (a warning): the form writes couts
    financements: list[str | dict] = field(default_factory=list)  # "DSIL" or {source, montant_eur}
    contact: dict[str, str] = field(default_factory=dict)
    liens: list[dict[str, str]] = field(default_factory=list)  # {titre, url} and optionally type
    mots_cles: list[str] = field(default_factory=list)
    licence: str = ""
    mise_a_jour: dt.date | None = None
    sections: dict[str, str] = field(default_factory=dict)  # section title → text
    slug: str = ""  # empty: derived from the title


def split_lines(text: str) -> list[str]:
    """One value per non-empty line (partners, fundings, keywords typed in a text area)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def parse_links(text: str) -> list[dict[str, str]]:
    """Links typed one per line as ``titre | https://…``, optionally followed by ``| type`` (a
    slug or a label of the ``types_liens`` vocabulary); a bare address is its own title."""
    links = []
    for line in split_lines(text):
        kind = ""
        head, sep, last = line.rpartition("|")
        if sep and head.count("|") and not last.strip().lower().startswith(("http://", "https://")):
            line, kind = head, last.strip()
        titre, sep, url = line.rpartition("|")
        if not sep:
            titre, url = line, line
        link = {"titre": titre.strip() or url.strip(), "url": url.strip()}
        if kind:
            link["type"] = lien_type(kind)
        links.append(link)
    return links


def lien_type(written: str) -> str:
    """The slug of a link type typed as its slug or its label; else the text as typed (the
    validator then says which values are accepted)."""
    by_label = {fold(label): slug for slug, label in vocab().types_liens.items()}
    folded = fold(written.strip())
    return written.strip() if written.strip() in vocab().types_liens else by_label.get(folded, written.strip())


AMOUNT_NOISE = re.compile(r"[\s\u00a0\u202f€]|euros?|eur", re.IGNORECASE)


def parse_fundings(text: str) -> list[str | dict]:
    """Fundings typed one per line: ``source | montant`` (« DSIL | 60 000 € ») gives
    ``{source, montant_eur}``, a bare name stays a text. An amount that is not a number is kept
    as typed, for the validator to report."""
    fundings: list[str | dict] = []
    for line in split_lines(text):
        source, sep, amount = line.rpartition("|")
        if not sep or not source.strip():
            fundings.append(line)
            continue
        cleaned = AMOUNT_NOISE.sub("", amount).replace(",", ".")
        try:
            value: float | int | str = float(cleaned)
            value = int(value) if value.is_integer() else value
        except ValueError:
            value = amount.strip()
        fundings.append({"source": source.strip(), "montant_eur": value})
    return fundings


def _whole(value):
    """A number from a form widget: a whole float becomes an integer."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def fiche_slug(form: FicheForm) -> str:
    return (form.slug or "").strip() or slugify(form.titre or "")


def front_matter(form: FicheForm, today: dt.date | None = None) -> dict:
    """The front matter mapping, keys in the contract's order, empty values left out."""
    territoire = {
        "nom": form.territoire_nom.strip(),
        "type": form.territoire_type,
        "densite": form.densite,
        "departements": list(form.departements),
        "population": int(form.population) if form.population else None,
    }
    contact = {k: str(v).strip() for k, v in (form.contact or {}).items() if v and str(v).strip()}
    couts = {k: _whole(form.couts[k]) for k in COUTS_KEYS if (form.couts or {}).get(k) not in (None, "")}
    if "beneficiaires_an" not in couts:
        couts.pop("beneficiaires_unite", None)  # a unit says nothing without a number
    data = {
        "titre": " ".join(form.titre.split()),
        "resume": " ".join(form.resume.split()),
        "thematiques": list(form.thematiques),
        "publics": list(form.publics),
        "territoire": {k: v for k, v in territoire.items() if v not in (None, "", [])},
        "porteur": form.porteur.strip(),
        "partenaires": list(form.partenaires),
        "dispositifs": list(form.dispositifs),
        "debut": form.debut.strip(),
        "statut": form.statut,
        "couts": couts,
        "budget_eur": _whole(form.budget_eur),
        "financements": list(form.financements),
        "contact": contact,
        "liens": list(form.liens),
        "mots_cles": list(form.mots_cles),
        "licence": form.licence.strip(),
        "mise_a_jour": form.mise_a_jour or today or dt.date.today(),
    }
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}


def body(form: FicheForm) -> str:
    """The sections in the contract's order; a required section is written even when empty
    (the validator then says it must be filled), an empty optional one is left out."""
    parts = []
    for section in vocab().sections:
        title = section["titre"]
        text = (form.sections.get(title) or "").strip()
        if text or section.get("requise"):
            parts.append(f"## {title}\n\n{text}\n" if text else f"## {title}\n")
    return "\n".join(parts)


def compose(form: FicheForm, today: dt.date | None = None) -> str:
    """The complete Markdown text of the fiche."""
    yaml_text = yaml.safe_dump(front_matter(form, today), allow_unicode=True, sort_keys=False,
                               default_flow_style=False, width=100)
    return f"---\n{yaml_text}---\n\n{body(form)}"


def check(form: FicheForm, today: dt.date | None = None,
          bank: Iterable[BankEntry] = ()) -> tuple[str, str, Fiche | None, list[Problem]]:
    """(slug, text, fiche or None, problems): the text validated as ``practices/<slug>.md``,
    with the bank-wide rules (no slug or title already taken) against ``bank``."""
    slug = fiche_slug(form) or "fiche"
    text = compose(form, today)
    path = Path("practices") / f"{slug}.md"
    fiche, problems = parse_bytes(text.encode("utf-8"), path, today)
    if fiche is not None:
        others = [e for e in bank if e.path != str(path)]
        problems += [p for p in duplicate_problems([*others, BankEntry(str(path), fiche.slug, fiche.titre,
                                                                       fiche.titre_line)])
                     if p.path == str(path)]
    return slug, text, fiche, problems
