"""« Mon territoire » : the communes and intercommunalités (EPCI à fiscalité propre) of France.

The reference data is the compact file ``kb/data/territoires.json.gz``, derived from the npm
package ``@etalab/decoupage-administratif`` 6.0.0 (INSEE Code officiel géographique, DGCL
list of EPCI, INSEE populations légales; Licence Ouverte) by ``scripts/territoires.py``.
Nothing is downloaded at run time.

    complete("saint martin")   # → [Completion(code="32389", label="Saint-Martin (Gers, 32)"), …]
    get("2A004")               # → Territory(kind="commune", nom="Ajaccio", …)
    resolve("Ajaccio")         # → the Territory when the text names one territory, else completions

The density (grille communale INSEE) is not in the source data: ``Territory.densite`` is
always None, and comparisons on density are skipped.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from kb.textnorm import fold
from kb.vocab import vocab

DATA_PATH = Path(__file__).parent / "data" / "territoires.json.gz"

_NON_WORD = re.compile(r"[^a-z0-9]+")
_CODE = re.compile(r"^(?:\d{2}|2[ab]|\d{3})\d{0,7}$", re.IGNORECASE)


@dataclass(frozen=True)
class Territory:
    """A commune or an EPCI, as the reference data describes it.

    ``type``: the slug of the vocabulary ``types_territoire`` (commune,
    communaute-de-communes…); ``departement``/``region``: INSEE codes (for an EPCI, its main
    département, the one with most member communes, and ``departements`` all of them);
    ``population``: the population municipale (None for the uninhabited TAAF districts);
    ``tranche``: its bracket of ``population_tranches``; ``epci_code``/``epci_nom``: the
    intercommunalité of a commune (None for the few not in one); ``membres``: the number of
    member communes of an EPCI; ``densite``: always None, not in the source data."""

    kind: str  # "commune" | "epci"
    code: str
    nom: str
    type: str
    departement: str | None
    region: str | None
    population: int | None
    tranche: str | None
    departements: tuple[str, ...] = ()
    epci_code: str | None = None
    epci_nom: str | None = None
    membres: int | None = None
    densite: str | None = None

    @property
    def departement_nom(self) -> str | None:
        return departement_nom(self.departement)

    @property
    def region_nom(self) -> str | None:
        return region_nom(self.region)

    @property
    def type_label(self) -> str:
        return vocab().types_territoire.get(self.type, self.type)

    @property
    def tranche_label(self) -> str | None:
        for t in vocab().population_tranches:
            if t["slug"] == self.tranche:
                return t["label"]
        return None

    @property
    def label(self) -> str:
        return _label(self.kind, self.nom, self.type, self.departement)


@dataclass(frozen=True)
class Completion:
    """One proposal of :func:`complete`: ``label`` tells homonyms apart
    (« Saint-Martin (Gers, 32) »)."""

    code: str
    label: str
    kind: str
    nom: str
    population: int | None = None


@dataclass(frozen=True)
class _Entry:
    kind: str
    code: str
    nom: str
    key: str  # the folded name, words separated by one space
    words: tuple[str, ...]
    population: int


@dataclass
class _Data:
    source: str
    version: str
    licence: str
    departements: dict[str, list]
    regions: dict[str, str]
    communes: dict[str, list]
    epci: dict[str, list]
    entries: list[_Entry] = field(default_factory=list)


def _key(text: str) -> str:
    return _NON_WORD.sub(" ", fold(text)).strip()


@functools.lru_cache(maxsize=None)
def _data(path: Path = DATA_PATH) -> _Data:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        raw = json.load(handle)
    data = _Data(source=raw["source"], version=raw["version"], licence=raw["licence"],
                 departements=raw["departements"], regions=raw["regions"],
                 communes={c[0]: c for c in raw["communes"]}, epci={e[0]: e for e in raw["epci"]})
    for code, nom, *_rest in raw["communes"]:
        key = _key(nom)
        data.entries.append(_Entry("commune", code, nom, key, tuple(key.split()), _rest[2] or 0))
    for code, nom, _type, population, *_rest in raw["epci"]:
        key = _key(nom)
        data.entries.append(_Entry("epci", code, nom, key, tuple(key.split()), population or 0))
    return data


def source() -> dict[str, str]:
    """Where the reference data comes from: ``source``, ``version``, ``licence``."""
    data = _data()
    return {"source": data.source, "version": data.version, "licence": data.licence}


def departement_nom(code: str | None) -> str | None:
    if not code:
        return None
    found = _data().departements.get(code)
    return found[0] if found else vocab().departements.get(code)


def region_nom(code: str | None) -> str | None:
    if not code:
        return None
    return _data().regions.get(code) or vocab().regions.get(code)


def _label(kind: str, nom: str, type_slug: str, departement: str | None) -> str:
    dep = departement_nom(departement)
    if kind == "commune":
        return f"{nom} ({dep}, {departement})" if dep else nom
    type_label = vocab().types_territoire.get(type_slug, type_slug).lower()
    return f"{nom} ({type_label}, {dep})" if dep else f"{nom} ({type_label})"


def get(code: str) -> Territory | None:
    """The commune (code INSEE, « 2A004 ») or EPCI (SIREN, 9 digits) of ``code``, or None."""
    code = (code or "").strip().upper()
    data = _data()
    row = data.communes.get(code)
    if row is not None:
        code, nom, dep, reg, population, epci = row
        epci_row = data.epci.get(epci) if epci else None
        return Territory(kind="commune", code=code, nom=nom, type="commune", departement=dep,
                         region=reg, population=population,
                         tranche=vocab().population_tranche(population),
                         departements=(dep,) if dep else (), epci_code=epci,
                         epci_nom=epci_row[1] if epci_row else None)
    row = data.epci.get(code)
    if row is not None:
        siren, nom, type_slug, population, membres, deps = row
        dep = deps[0] if deps else None
        reg = data.departements.get(dep, [None, None])[1] if dep else None
        return Territory(kind="epci", code=siren, nom=nom, type=type_slug, departement=dep,
                         region=reg, population=population,
                         tranche=vocab().population_tranche(population),
                         departements=tuple(deps), membres=membres)
    return None


def _completion(entry: _Entry) -> Completion:
    data = _data()
    if entry.kind == "commune":
        row = data.communes[entry.code]
        label = _label("commune", entry.nom, "commune", row[2])
    else:
        row = data.epci[entry.code]
        label = _label("epci", entry.nom, row[2], row[5][0] if row[5] else None)
    return Completion(code=entry.code, label=label, kind=entry.kind, nom=entry.nom,
                      population=entry.population or None)


def complete(text: str, limit: int = 10) -> list[Completion]:
    """The communes and EPCI whose name or code matches ``text``, best first.

    Accents, case, hyphens and apostrophes are ignored (« saint etienne » finds
    « Saint-Étienne »). A code (INSEE « 2B033 », SIREN) matches by prefix. A name matches,
    in this order: the exact name, a name that begins with the text, a name in which every
    word of the text begins a word (« martin saint » finds « Saint-Martin »). Within a rank,
    the most populated first. Homonyms are told apart by their label (département)."""
    text = (text or "").strip()
    if not text:
        return []
    data = _data()
    compact = text.replace(" ", "")
    if _CODE.match(compact) and any(ch.isdigit() for ch in compact):
        code = compact.upper()
        exact = [e for e in data.entries if e.code == code]
        prefix = [e for e in data.entries if e.code.startswith(code) and e.code != code]
        prefix.sort(key=lambda e: (len(e.code), e.code))
        return [_completion(e) for e in (exact + prefix)[:limit]]
    key = _key(text)
    if not key:
        return []
    words = key.split()
    ranked: list[tuple[int, int, str, _Entry]] = []
    for entry in data.entries:
        if entry.key == key:
            rank = 0
        elif entry.key.startswith(key):
            rank = 1
        elif all(any(w.startswith(q) for w in entry.words) for q in words):
            rank = 2
        else:
            continue
        ranked.append((rank, -entry.population, entry.code, entry))
    ranked.sort(key=lambda r: r[:3])
    return [_completion(r[3]) for r in ranked[:limit]]


@functools.lru_cache(maxsize=1)
def _by_name() -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for entry in _data().entries:
        names.setdefault(entry.key, []).append(entry.code)
    return names


def named(text: str) -> list[Territory]:
    """The communes and EPCI whose whole name is ``text`` (accents, case, hyphens ignored)."""
    return [t for code in _by_name().get(_key(text), []) if (t := get(code)) is not None]


def resolve(text: str, limit: int = 10) -> Territory | list[Completion]:
    """The territory ``text`` designates without doubt (a known code, a single match, or the
    only territory with exactly that name), else the completions to choose from (maybe none)."""
    territory = get(text)
    if territory is not None:
        return territory
    found = complete(text, limit=limit)
    if len(found) == 1:
        return get(found[0].code)  # type: ignore[return-value]
    key = _key(text)
    exact = [e for e in _data().entries if key and e.key == key]
    if len(exact) == 1:
        return get(exact[0].code)  # type: ignore[return-value]
    return found
