#!/usr/bin/env python3
"""Regenerate ``kb/data/territoires.json.gz`` from ``@etalab/decoupage-administratif``.

    cd /tmp && npm pack @etalab/decoupage-administratif@6.0.0
    tar xzf etalab-decoupage-administratif-6.0.0.tgz
    python scripts/territoires.py /tmp/package/data

Source: the npm package ``@etalab/decoupage-administratif`` (millésime 2026, version 6.0.0),
built by Etalab / data.gouv.fr from the INSEE Code officiel géographique, the DGCL list of
EPCI à fiscalité propre and the INSEE populations légales. Data licence: Licence Ouverte
(Etalab); package code: MIT. The application never downloads anything: it reads the
compact derived file written here.

Output (gzip'd JSON, keys kept short to stay small)::

    {"source": ..., "version": ..., "licence": ...,
     "departements": {code: [nom, region]}, "regions": {code: nom},
     "communes": [[code, nom, departement, region, population, epci_siren], ...],
     "epci": [[siren, nom, type_slug, population, n_membres, [departements...]], ...]}

Only current communes (``commune-actuelle``) are kept: no municipal arrondissements, no
communes déléguées or associées.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from pathlib import Path

VERSION = "6.0.0"
SOURCE = "npm @etalab/decoupage-administratif"
LICENCE = "Licence Ouverte / Etalab (données) ; MIT (code du paquet)"
OUT = Path(__file__).resolve().parent.parent / "kb" / "data" / "territoires.json.gz"

EPCI_TYPES = {
    "CC": "communaute-de-communes",
    "CA": "communaute-d-agglomeration",
    "CU": "communaute-urbaine",
    "METRO": "metropole",
    "MET69": "metropole",  # Métropole de Lyon (collectivité à statut particulier)
    "ME": "metropole",
}


def build(data_dir: Path) -> dict:
    load = lambda name: json.loads((data_dir / name).read_text(encoding="utf-8"))  # noqa: E731
    communes, epcis = load("communes.json"), load("epci.json")
    departements, regions = load("departements.json"), load("regions.json")

    epci_of: dict[str, str] = {}
    epci_rows = []
    commune_dep = {c["code"]: c.get("departement") for c in communes}
    for e in epcis:
        members = e.get("membres", [])
        for m in members:
            epci_of[m["code"]] = e["code"]
        population = e.get("populationMunicipale")
        if population is None:
            population = sum(m.get("populationMunicipale", 0) for m in members)
        deps = Counter(commune_dep.get(m["code"]) for m in members if commune_dep.get(m["code"]))
        epci_rows.append([e["code"], e["nom"], EPCI_TYPES.get(e["type"], "autre"), population,
                          len(members), [d for d, _ in deps.most_common()]])

    commune_rows = []
    for c in communes:
        if c.get("type") != "commune-actuelle":
            continue
        commune_rows.append([c["code"], c["nom"], c.get("departement"), c.get("region"),
                             c.get("population"), epci_of.get(c["code"])])
    return {
        "source": SOURCE, "version": VERSION, "licence": LICENCE,
        "departements": {d["code"]: [d["nom"], d.get("region")] for d in departements},
        "regions": {r["code"]: r["nom"] for r in regions},
        "communes": commune_rows,
        "epci": epci_rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="the package's data/ folder (communes.json, epci.json…)")
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args(argv)
    data = build(args.data_dir)
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # mtime=0: the same input gives the same bytes (reviewable diffs, reproducible builds)
    with open(args.output, "wb") as raw:
        with gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=9, mtime=0) as out:
            out.write(payload)
    print(f"{len(data['communes'])} communes, {len(data['epci'])} EPCI → {args.output} "
          f"({args.output.stat().st_size // 1024} Ko)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
