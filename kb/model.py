"""The typed shape of a fiche: what the validator gives, what the catalog stores and gives back.

:meth:`Fiche.to_dict` is JSON-safe (derived properties included under their names) and
:meth:`Fiche.from_dict` is its inverse, so a fiche survives a trip through JSON or a database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field

from kb import costs
from kb.vocab import vocab

DEFAULT_LICENCE = "etalab-2.0"


@dataclass
class Section:
    title: str
    text: str
    line: int

    def to_dict(self) -> dict:
        return {"title": self.title, "text": self.text, "line": self.line}

    @classmethod
    def from_dict(cls, data) -> Section:
        """From :meth:`to_dict`, or a ``[title, text]`` or ``[title, text, line]`` list."""
        if isinstance(data, Section):
            return data
        if isinstance(data, dict):
            return cls(title=data["title"], text=data["text"], line=data.get("line", 0))
        return cls(data[0], data[1], data[2] if len(data) > 2 else 0)


@dataclass
class Fiche:
    """A valid fiche: its front matter, its body and the sections of the body."""

    slug: str
    path: str
    titre: str
    resume: str
    thematiques: list[str]
    publics: list[str]
    territoire: dict
    porteur: str
    debut: str
    statut: str
    mise_a_jour: str
    body: str
    sections: list[Section]
    partenaires: list[str] = field(default_factory=list)
    dispositifs: list[str] = field(default_factory=list)
    # investissement_eur, fonctionnement_eur_an, etp, mise_en_place_mois, beneficiaires_an,
    # beneficiaires_unite, annee: each optional; the derived figures come from kb.costs
    couts: dict = field(default_factory=dict)
    budget_eur: float | None = None  # deprecated by couts (contract v2)
    financements: list[str | dict] = field(default_factory=list)  # "DSIL" or {source, montant_eur}
    contact: dict = field(default_factory=dict)
    liens: list[dict] = field(default_factory=list)  # {titre, url} and optionally type
    mots_cles: list[str] = field(default_factory=list)
    licence: str = DEFAULT_LICENCE
    extras: dict = field(default_factory=dict)
    titre_line: int = 2

    @property
    def axes(self) -> list[str]:
        axe_of = vocab().axe_of
        return sorted({axe_of[t] for t in self.thematiques})

    @property
    def densite(self) -> str | None:
        return self.territoire.get("densite")

    @property
    def densite_niveau(self) -> str | None:
        return vocab().densite_regroupement.get(self.densite) if self.densite else None

    @property
    def departements(self) -> list[str]:
        return list(self.territoire.get("departements", []))

    @property
    def regions(self) -> list[str]:
        region_of = vocab().region_of
        return sorted({region_of[d] for d in self.departements if d in region_of})

    @property
    def debut_annee(self) -> int:
        return int(self.debut[:4])

    @property
    def population_tranche(self) -> str | None:
        return vocab().population_tranche(self.territoire.get("population"))

    @property
    def cout_total(self) -> float | None:
        """Investment plus one year of running costs (:func:`kb.costs.total`)."""
        return costs.total(self.couts)

    @property
    def cout_par_beneficiaire(self) -> float | None:
        return costs.par_beneficiaire(self.couts)

    @property
    def cout_tranche(self) -> str | None:
        return costs.tranche(self.couts)

    @property
    def montant_finance(self) -> float | None:
        return costs.finance(self.financements)

    @property
    def part_financee(self) -> float | None:
        return costs.part_financee(self.couts, self.financements)

    @property
    def reste_a_charge(self) -> float | None:
        return costs.reste_a_charge(self.couts, self.financements)

    def section(self, title: str) -> str:
        return next((s.text for s in self.sections if s.title == title), "")

    # -- storage -------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Every field and every derived property, as JSON values (dates and other YAML values
        that JSON lacks, found only in ``extras``, become text)."""
        data = {f.name: _json_safe(getattr(self, f.name)) for f in dataclasses.fields(self)}
        data["sections"] = [s.to_dict() for s in self.sections]
        for name in DERIVED:
            data[name] = _json_safe(getattr(self, name))
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Fiche:
        """The fiche of :meth:`to_dict` (derived and unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["sections"] = [Section.from_dict(s) for s in data.get("sections", [])]
        return cls(**values)


# properties computed from the fields, stored by to_dict under their names
DERIVED = tuple(name for name, value in vars(Fiche).items() if isinstance(value, property))


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if dataclasses.is_dataclass(value):
        return _json_safe(dataclasses.asdict(value))
    return str(value)
