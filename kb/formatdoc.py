"""The generated parts of ``docs/format.md``, the editors' guide to the fiche format.

The guide is written by hand, except the blocks between ``<!-- [[[nom]]] -->`` and
``<!-- [[[fin]]] -->``, which are generated from ``kb/data/vocab.yaml`` (the way cog keeps
sqlite-utils' documentation in step with its code). ``tests/test_formatdoc.py`` fails when the
file is out of date; ``python -m kb.formatdoc --update`` rewrites the blocks.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from kb.messages import DOC
from kb.vocab import vocab

DOC_PATH = Path(__file__).resolve().parent.parent / DOC
UPDATE_COMMAND = "python -m kb.formatdoc --update"
BLOCK = re.compile(r"(<!-- \[\[\[(?P<name>[a-z_]+)\]\]\] -->\n)(?P<body>.*?)(<!-- \[\[\[fin\]\]\] -->)", re.S)


def _slugs(items: dict[str, str]) -> str:
    return "\n".join(f"- `{slug}` — {label}" for slug, label in items.items())


def render_sections() -> str:
    v = vocab()
    rows = ["| section | obligatoire |", "|---|---|"]
    for section in v.sections:
        need = "oui" if section.get("requise") else "non (recommandée)" if section.get("recommandee") else "non"
        rows.append(f"| `## {section['titre']}` | {need} |")
    return "\n".join(rows)


def render_vocabularies() -> str:
    v = vocab()
    parts = ["### `thematiques` (le besoin auquel répond la fiche), par axe", ""]
    for axe, label in v.axes.items():
        parts.append(f"- Axe `{axe}` — {label}")
        parts += [f"  - `{t}` — {v.thematiques[t]}" for t in v.thematiques_of_axe(axe)]
    parts += ["", "### `publics` (qui en bénéficie)", "", _slugs(v.publics),
              "", "### `territoire.type` (le type de territoire qui porte l'initiative)", "", _slugs(v.types_territoire),
              "", "### `territoire.densite` (grille communale de densité de l'INSEE, 7 niveaux regroupés en 3)", "",
              "| valeur | libellé | regroupée dans |", "|---|---|---|"]
    parts += [f"| `{d}` | {label} | `{v.densite_regroupement[d]}` — {v.regroupements[v.densite_regroupement[d]]} |"
              for d, label in v.densite.items()]
    parts += ["", "### `statut`", "", _slugs(v.statuts),
              "", "### `dispositifs` (programmes nationaux)", "", _slugs(v.dispositifs),
              "", "### `couts.beneficiaires_unite` (la première est la valeur par défaut)", "",
              _slugs(v.beneficiaires_unites),
              "", "### `liens.type` (le type de document)", "", _slugs(v.types_liens),
              "", "### Tranches de population (calculées, jamais écrites dans une fiche)", "",
              _slugs({t["slug"]: t["label"] for t in v.population_tranches}),
              "", "### Tranches de coût de la première année (calculées)", "",
              _slugs({t["slug"]: t["label"] for t in v.cout_tranches})]
    return "\n".join(parts)


RENDERERS = {"sections": render_sections, "vocabulaires": render_vocabularies}


def updated(text: str) -> str:
    """``text`` with every generated block rewritten."""
    def block(match: re.Match) -> str:
        render = RENDERERS[match["name"]]
        return f"{match.group(1)}{render()}\n{match.group(4)}"

    return BLOCK.sub(block, text)


def main(argv: list[str]) -> int:
    text = DOC_PATH.read_text(encoding="utf-8")
    fresh = updated(text)
    if "--update" in argv:
        if fresh != text:
            DOC_PATH.write_text(fresh, encoding="utf-8")
        print(f"{DOC_PATH}: {'mis à jour' if fresh != text else 'déjà à jour'}.")
        return 0
    if fresh != text:
        print(f"{DOC_PATH} n'est plus à jour: lancez « {UPDATE_COMMAND} ».", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
