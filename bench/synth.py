"""Synthetic banks for benchmarks: N fiches recombined from the bundled ones.

Each synthetic fiche takes its title and thematiques from one bundled fiche, its résumé and
publics from a second, its territory from a third, its dates and status from a fourth, and
each section from a random bundled fiche that has it: text and facets stay realistic, every
fiche is valid and distinct.

    .venv/bin/python -m bench.synth 10000 bench/banks/10000     # from the repository root
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import yaml

from kb.bank import check_paths
from kb.vocab import vocab

ROOT = Path(__file__).resolve().parent.parent


def source_fiches(source: Path = ROOT / "practices"):
    fiches = check_paths([source]).valid
    if not fiches:
        raise SystemExit(f"aucune fiche valide dans {source}")
    return fiches


def fiche_text(index: int, rng: random.Random, fiches) -> str:
    a, b, c, d = rng.sample(fiches, 4)
    suffix = f" (n° {index})"
    front = {
        "titre": a.titre[: 120 - len(suffix)].rstrip() + suffix,
        "resume": b.resume,
        "thematiques": a.thematiques,
        "publics": b.publics,
        "territoire": {**c.territoire, "nom": f"{c.territoire['nom']} {index}"},
        "porteur": c.porteur,
        "partenaires": d.partenaires,
        "dispositifs": d.dispositifs,
        "debut": d.debut,
        "statut": d.statut,
        "budget_eur": c.budget_eur if c.budget_eur is not None else 0,
        "financements": d.financements,
        "mots_cles": a.mots_cles,
        "mise_a_jour": d.mise_a_jour,
    }
    body = []
    for section in vocab().section_titles:
        donors = [f for f in fiches if f.section(section)]
        if donors:
            body.append(f"## {section}\n\n{rng.choice(donors).section(section)}\n")
    head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{head}---\n\n" + "\n".join(body)


def generate(n: int, out: Path, seed: int = 0) -> Path:
    """Write ``n`` synthetic fiches into ``out/practices`` (kept when already complete)."""
    folder = out / "practices"
    if folder.exists() and len(list(folder.glob("*.md"))) == n:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.md"):
        old.unlink()
    fiches = source_fiches()
    rng = random.Random(seed)
    for index in range(n):
        (folder / f"synth-{index:06d}.md").write_text(fiche_text(index, rng, fiches), encoding="utf-8")
    return folder


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", type=int, help="number of synthetic fiches")
    parser.add_argument("target", type=Path, help="folder of the synthetic bank")
    args = parser.parse_args()
    print(generate(args.size, args.target))
