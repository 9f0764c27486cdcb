"""The vocabularies of the fiche contract, loaded once from ``kb/data/vocab.yaml``.

Every part of the project (validator, catalog, CLI, application, tests) reads the
vocabularies through :func:`vocab`, so a reviewed change to the data file is the only place
where a value is added.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kb.textnorm import fold

VOCAB_PATH = Path(__file__).parent / "data" / "vocab.yaml"


@dataclass(frozen=True)
class Vocab:
    """Slug → label maps for each vocabulary, plus the derived relations."""

    axes: dict[str, str]
    thematiques: dict[str, str]
    axe_of: dict[str, str]
    publics: dict[str, str]
    types_territoire: dict[str, str]
    type_aliases: dict[str, str]
    densite: dict[str, str]
    densite_regroupement: dict[str, str]
    regroupements: dict[str, str]
    statuts: dict[str, str]
    dispositifs: dict[str, str]
    population_tranches: list[dict]
    cout_tranches: list[dict]
    beneficiaires_unites: dict[str, str]
    beneficiaires_unites_texte: dict[str, tuple[str, str]]  # slug → (plural, singular) in a sentence
    types_liens: dict[str, str]
    sections: list[dict]
    departements: dict[str, str]
    region_of: dict[str, str]
    regions: dict[str, str]
    digest: str = field(default="")

    # -- look-ups -------------------------------------------------------------------------

    def thematiques_of_axe(self, axe: str) -> list[str]:
        return [t for t, a in self.axe_of.items() if a == axe]

    def densites_of(self, regroupement: str) -> list[str]:
        return [d for d, r in self.densite_regroupement.items() if r == regroupement]

    def population_tranche(self, population: int | None) -> str | None:
        return _tranche(self.population_tranches, population)

    def cout_tranche(self, euros: float | None) -> str | None:
        """The cost bracket of a first-year cost in euros (:func:`kb.costs.total`)."""
        return _tranche(self.cout_tranches, euros)

    @property
    def section_titles(self) -> list[str]:
        return [s["titre"] for s in self.sections]

    @property
    def required_sections(self) -> list[str]:
        return [s["titre"] for s in self.sections if s.get("requise")]

    @property
    def recommended_sections(self) -> list[str]:
        return [s["titre"] for s in self.sections if s.get("recommandee")]


@functools.lru_cache(maxsize=None)
def vocab(path: Path = VOCAB_PATH) -> Vocab:
    raw_bytes = Path(path).read_bytes()
    data = yaml.safe_load(raw_bytes)
    thematiques, axe_of, axes = {}, {}, {}
    for axe in data["axes"]:
        axes[axe["slug"]] = axe["label"]
        for theme in axe["thematiques"]:
            thematiques[theme["slug"]] = theme["label"]
            axe_of[theme["slug"]] = axe["slug"]
    type_aliases = {}
    for t in data["types_territoire"]:
        for alias in t.get("aliases", []):
            type_aliases[fold(alias)] = t["slug"]
    departements, region_of, regions = {}, {}, {}
    for region in data["regions"]:
        regions[region["code"]] = region["label"]
        for code, name in region["departements"].items():
            departements[str(code)] = name
            region_of[str(code)] = region["code"]
    return Vocab(
        axes=axes,
        thematiques=thematiques,
        axe_of=axe_of,
        publics=_labels(data["publics"]),
        types_territoire=_labels(data["types_territoire"]),
        type_aliases=type_aliases,
        densite=_labels(data["densite"]),
        densite_regroupement={d["slug"]: d["regroupement"] for d in data["densite"]},
        regroupements=_labels(data["densite_regroupements"]),
        statuts=_labels(data["statuts"]),
        dispositifs=_labels(data["dispositifs"]),
        population_tranches=data["population_tranches"],
        cout_tranches=data["cout_tranches"],
        beneficiaires_unites=_labels(data["beneficiaires_unites"]),
        beneficiaires_unites_texte={u["slug"]: (u["pluriel"], u["singulier"]) for u in data["beneficiaires_unites"]},
        types_liens=_labels(data["types_liens"]),
        sections=data["sections"],
        departements=departements,
        region_of=region_of,
        regions=regions,
        digest=hashlib.sha256(raw_bytes).hexdigest()[:16],
    )


def _tranche(tranches: list[dict], value) -> str | None:
    """The slug of the bracket [min, max) that holds ``value``, or None."""
    if value is None:
        return None
    for tranche in tranches:
        if tranche.get("min", 0) <= value < tranche.get("max", float("inf")):
            return tranche["slug"]
    return None


def _labels(items: list[dict]) -> dict[str, str]:
    return {item["slug"]: item["label"] for item in items}


def suggest(value: str, choices, aliases: dict[str, str] | None = None) -> str | None:
    """The closest valid value for a near miss (``senior`` → ``seniors``), or None."""
    folded = fold(str(value)).strip()
    if aliases and folded in aliases:
        return aliases[folded]
    by_folded = {fold(c): c for c in choices}
    slugish = "-".join(folded.replace("'", " ").split())
    for candidate in (folded, slugish):
        if candidate in by_folded:
            return by_folded[candidate]
    close = difflib.get_close_matches(slugish, list(by_folded), n=1, cutoff=0.75)
    return by_folded[close[0]] if close else None
