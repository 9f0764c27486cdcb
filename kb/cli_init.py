"""``kb init``: a new bank in an empty folder, ready for editors and for their CI.

It writes ``kb.toml``, ``practices/`` with one example fiche (valid, contract v2), a
``.pre-commit-config.yaml`` that uses the kb hook, CI files that validate the fiches on every
pull request (GitHub Actions and GitLab CI) with the core install only (no torch, faiss nor
Streamlit: README « Installer ce dont on a besoin »), and a short README for editors.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from kb import __version__
from kb.messages import DOC

DEFAULT_REPO = "https://forge.example/banque/kb.git"
EXAMPLE_SLUG = "bus-numerique-itinerant"

KB_TOML = """\
# Réglages de la banque (voir le README de kb, section « Réglages »).
[kb]
practices = "practices"
index_dir = "index"
# Une fiche relue (mise_a_jour) il y a plus de relecture_mois mois est « à relire » :
# avertissement de « kb validate » (jamais une erreur), liste de « kb stats ».
relecture_mois = 24
"""

EXAMPLE = """\
---
titre: Un bus numérique itinérant pour les démarches en ligne
resume: >-
  Un bus équipé de postes et d'une connexion satellite passe chaque semaine dans
  quinze villages pour aider les habitants dans leurs démarches administratives.
thematiques: [aide-demarches, mediation-numerique]
publics: [seniors, eloignes-numerique]
territoire:
  nom: Communauté de communes du Val d'Aubre
  type: communaute-de-communes
  densite: rural-disperse
  departements: ["26"]
  population: 18500
porteur: Service cohésion sociale de la communauté de communes
partenaires: [Conseil départemental, CAF, France Services]
dispositifs: [conseillers-numeriques, france-services]
debut: {debut}
statut: en-cours
couts:
  investissement_eur: 95000
  fonctionnement_eur_an: 62000
  etp: 1.5
  mise_en_place_mois: 8
  beneficiaires_an: 1400
  annee: {annee}
financements:
  - {{source: DSIL, montant_eur: 60000}}
  - {{source: Conseil départemental, montant_eur: 20000}}
  - fonds propres
mise_a_jour: {today}
---

## Contexte

Quinze villages sans service public, une population âgée et des démarches désormais en ligne.
Cette fiche est un exemple : remplacez-la par celles de votre territoire.

## Objectifs

Aider chaque habitant à faire ses démarches administratives près de chez lui.

## Mise en œuvre

Un bus aménagé avec quatre postes passe une demi-journée par semaine dans chaque village.

## Résultats

1 200 accompagnements la première année, dont 70 % de personnes de plus de 65 ans.

## Conseils pour reproduire

Commencer par les villages qui ont une salle communale chauffée.
"""

PRE_COMMIT = """\
# Vérifie les fiches modifiées avant chaque commit (https://pre-commit.com) :
#   pip install pre-commit && pre-commit install
# Le hook « kb-validate » installe kb sans extra (le cœur suffit à « kb validate »).
repos:
  - repo: {repo}
    rev: v{version}
    hooks:
      - id: kb-validate
"""

GITHUB = """\
# Vérifie les fiches à chaque pull request (et à chaque push), avec le cœur de kb seul :
# ni torch, ni faiss, ni Streamlit ; l'installation prend quelques secondes.
name: fiches
on: [push, pull_request]
jobs:
  valider:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install "kb-experiences @ git+{repo}"
      - run: kb validate                  # code 1 à la moindre erreur
      - run: kb build --strict --quiet    # le catalogue se construit (sans vecteurs)
"""

GITLAB = """\
# Vérifie les fiches à chaque demande de fusion (et sur la branche par défaut), avec le cœur
# de kb seul : ni torch, ni faiss, ni Streamlit.
fiches:
  image: python:3.11-slim
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  before_script:
    - apt-get update -qq && apt-get install -y -qq git > /dev/null
    - pip install --quiet "kb-experiences @ git+{repo}"
  script:
    - kb validate
    - kb build --strict --quiet
"""

GITIGNORE = "index/\n"

README = """\
# Banque d'expériences du numérique territorial

Chaque fiche raconte une initiative numérique d'un territoire : ce qui a été fait, avec quels
moyens, pour quels résultats, ce qui a coincé. Les fiches sont des fichiers Markdown du
dossier `practices/` ; `practices/{slug}.md` est un exemple à remplacer.

## Rédiger une fiche

1. Installez kb (le cœur suffit) : `pip install "kb-experiences @ git+{repo}"`.
2. Créez la fiche : `kb new "Titre de votre initiative"` écrit `practices/<slug>.md` avec
   toutes les sections et des `À COMPLÉTER` à remplacer.
3. Vérifiez-la : `kb validate` indique chaque problème avec sa ligne et la correction.
4. Proposez-la par une pull request (demande de fusion) : la CI relance `kb validate`, une
   personne de l'équipe relit la fiche.

Le format (chaque champ, règle, section et vocabulaire) est décrit dans le fichier
`{doc}` du dépôt de kb. Pour vérifier à chaque commit :
`pip install pre-commit && pre-commit install`.

Une fiche relue il y a plus de 24 mois (réglage `relecture_mois` de `kb.toml`) est signalée
« à relire » : relisez-la et changez sa date `mise_a_jour`.
"""


def bank_files(repo: str = DEFAULT_REPO, today: dt.date | None = None) -> dict[str, str]:
    """Relative path → text of each file of a new bank."""
    today = today or dt.date.today()
    example = EXAMPLE.format(today=today.isoformat(), debut=f"{today.year - 2}-03", annee=today.year - 1)
    values = {"repo": repo, "version": __version__, "slug": EXAMPLE_SLUG, "doc": DOC}
    return {
        "kb.toml": KB_TOML,
        f"practices/{EXAMPLE_SLUG}.md": example,
        ".pre-commit-config.yaml": PRE_COMMIT.format(**values),
        ".github/workflows/fiches.yml": GITHUB.format(**values),
        ".gitlab-ci.yml": GITLAB.format(**values),
        ".gitignore": GITIGNORE,
        "README.md": README.format(**values),
    }


@click.command()
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--depot", "repo", default=DEFAULT_REPO, show_default=True,
              help="Adresse git du dépôt de kb, pour la CI et le hook pre-commit.")
@click.option("--force", is_flag=True, help="Accepte un dossier non vide (n'écrase aucun fichier existant).")
@click.pass_context
def init(ctx: click.Context, folder: Path | None, repo: str, force: bool) -> None:
    """Crée une nouvelle banque dans un dossier vide (défaut: --root ou le dossier courant).

    Écrit kb.toml, practices/ avec une fiche d'exemple, .pre-commit-config.yaml, la CI
    (GitHub Actions et GitLab CI) qui vérifie les fiches à chaque pull request, et un README
    pour les rédacteurs."""
    folder = folder or (ctx.obj or {}).get("root") or Path.cwd()
    if folder.exists() and not folder.is_dir():
        raise click.ClickException(f"{folder} n'est pas un dossier.")
    if folder.exists() and any(folder.iterdir()) and not force:
        raise click.ClickException(f"le dossier {folder} n'est pas vide: « kb init » crée une banque dans un "
                                   "dossier vide (ou ajoutez --force pour compléter ce dossier sans rien écraser).")
    written, kept = [], []
    for relative, text in bank_files(repo).items():
        path = folder / relative
        if path.exists():
            kept.append(relative)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(relative)
    click.echo(f"Banque créée dans {folder}: {', '.join(written)}.")
    if kept:
        click.echo(f"Déjà présents, laissés tels quels: {', '.join(kept)}.")
    click.echo("Ensuite: kb validate, puis kb new \"Titre\" pour une première fiche.")
    if repo == DEFAULT_REPO:
        click.echo(f"Remplacez {DEFAULT_REPO} par l'adresse du dépôt de kb dans la CI, le hook et le README "
                   "(ou relancez avec --depot).")
