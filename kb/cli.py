"""The ``kb`` command: new, validate, build, model export, stats, search, similar, eval, serve.

Heavy libraries (torch, sentence-transformers, faiss) are imported inside the commands that
need them, so ``kb validate``, ``kb new`` and ``kb stats`` start in a fraction of a second, and
work with the core install alone (kb.extras): a command whose extra is missing says which to
install, in French, instead of a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kb.cli_common import build_failed, reading_index, settings_of
from kb.cli_init import init
from kb.cli_propositions import propositions
from kb.cli_queries import evaluate, search, similar
from kb.cli_territoire import territoire
from kb.extras import MissingExtra, require


class _Group(click.Group):
    """The command group: an optional dependency group that is missing is a message naming it."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MissingExtra as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), envvar="KB_ROOT",
              help="Dossier de la banque (contient practices/, kb.toml). Défaut: dossier courant.")
@click.option("--model", help="Modèle d'embeddings (nom ou dossier local). Défaut: réglage « model ».")
@click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path), help="Dossier de l'index.")
@click.pass_context
def main(ctx: click.Context, root: Path | None, model: str | None, index_dir: Path | None) -> None:
    """Banque d'expériences du numérique territorial: fiches, index et recherche."""
    ctx.ensure_object(dict)
    ctx.obj["root"] = root
    ctx.obj["overrides"] = {"model": model, "index_dir": index_dir}


# ----------------------------------------------------------------------------- validate


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="N'afficher que les erreurs.")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], fmt: str, quiet: bool) -> None:
    """Vérifie des fiches (fichiers ou dossiers; défaut: practices/).

    Affiche chaque problème sous la forme « chemin:ligne: error|warning: message ».
    Code de sortie 0 sans erreur, 1 avec au moins une erreur (les avertissements ne
    le changent pas). Le format des fiches: docs/format.md.
    """
    from kb.bank import check_paths
    from kb.messages import DOC_HINT

    settings = settings_of(ctx)
    targets = list(paths) or [settings.practices_path]
    result = check_paths(targets, review_months=settings.relecture_mois)
    problems = [p for p in result.problems if not (quiet and p.severity == "warning")]
    errors = sum(1 for p in result.problems if p.severity == "error")
    warnings = len(result.problems) - errors
    if fmt == "json":
        click.echo(json.dumps({"files": result.files, "errors": errors, "warnings": warnings,
                               "problems": [p.to_dict() for p in problems]}, ensure_ascii=False, indent=2))
    else:
        for problem in problems:
            click.echo(problem.format())
        invalid = len(result.invalid_paths)
        summary = (f"{result.files} fichier(s) vérifié(s): {errors} erreur(s), {warnings} avertissement(s)"
                   f"{f', {invalid} fiche(s) invalide(s)' if invalid else ''}.")
        click.echo(summary, err=True)
        if result.problems:
            click.echo(DOC_HINT, err=True)
    sys.exit(1 if errors else 0)


# ----------------------------------------------------------------------------- new


@main.command()
@click.argument("titre")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Dossier où écrire la fiche. Défaut: practices/.")
@click.pass_context
def new(ctx: click.Context, titre: str, folder: Path | None) -> None:
    """Crée une fiche « TITRE » à compléter, avec toutes les sections."""
    from kb.template import new_fiche_text
    from kb.textnorm import slugify

    slug = slugify(titre)
    if len(slug) < 3:
        raise click.ClickException("le titre doit contenir au moins quelques lettres ou chiffres.")
    folder = folder or settings_of(ctx).practices_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{slug}.md"
    if path.exists():
        raise click.ClickException(f"{path} existe déjà: choisissez un autre titre ou modifiez cette fiche.")
    path.write_text(new_fiche_text(titre), encoding="utf-8")
    click.echo(f"Fiche créée: {path}")
    click.echo("Complétez chaque « À COMPLÉTER », puis vérifiez avec: kb validate " + str(path))


# ----------------------------------------------------------------------------- build


@main.command()
@click.argument("source", required=False, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Reconstruit tout (répare un index corrompu).")
@click.option("--strict", is_flag=True, help="Échoue si une fiche est invalide (pour la CI des éditeurs).")
@click.option("--quiet", "-q", is_flag=True, help="N'affiche que le résumé.")
@click.pass_context
def build(ctx: click.Context, source: Path | None, force: bool, strict: bool, quiet: bool) -> None:
    """Construit ou met à jour l'index (catalogue SQLite et vecteurs) à partir des fiches."""
    from kb.build import BuildError, build as run_build
    from kb.catalog import CORRUPTION_ERRORS, CatalogError
    from kb.embed import ModelError

    settings = settings_of(ctx)
    log = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    try:
        report = run_build(settings, source, force=force, strict=strict, log=log, progress=not quiet)
    except (BuildError, CatalogError, ModelError) as exc:
        raise click.ClickException(str(exc)) from exc
    except CORRUPTION_ERRORS as exc:
        raise click.ClickException(build_failed(settings, exc)) from exc
    for problem in report.problems:
        if not quiet or problem.severity == "error":
            click.echo(problem.format(), err=True)
    vectors = (f"{report.chunks_encoded} passage(s) encodé(s), {report.chunks_reused} réutilisé(s)" if report.vectors
               else "vecteurs non calculés (extra « vectors » absent: recherche lexicale seule)")
    click.echo(
        f"Index {settings.catalog_path}: {report.fiches} fiche(s) "
        f"({report.added} ajoutée(s), {report.updated} modifiée(s), {report.removed} supprimée(s), "
        f"{report.unchanged} inchangée(s)); {report.invalid} fichier(s) invalide(s) écarté(s); "
        f"{vectors}; {report.seconds:.1f} s."
    )


# ----------------------------------------------------------------------------- model


@main.group("model")
def model_group() -> None:
    """Modèle d'embeddings: export ONNX qui encode les recherches sans torch."""


@model_group.command("export")
@click.option("--force", is_flag=True, help="Refait l'export même s'il existe (export endommagé).")
@click.pass_context
def model_export(ctx: click.Context, force: bool) -> None:
    """Exporte le modèle configuré en ONNX et l'enregistre dans l'index.

    « kb build » le fait déjà une fois par modèle; cette commande le refait à la demande. Les
    recherches encodent alors leur texte avec onnxruntime, sans charger torch. Un modèle que
    l'export ne prend pas en charge reste encodé par sentence-transformers."""
    require("vectors", "l'export ONNX du modèle")
    from kb.build import BuildError
    from kb.onnx_export import export_onnx
    from kb.catalog import CORRUPTION_ERRORS, CatalogError
    from kb.embed import ModelError

    settings = settings_of(ctx)
    try:
        result, recorded = export_onnx(settings, force=force, log=lambda m: click.echo(m, err=True))
    except (BuildError, CatalogError, ModelError) as exc:
        raise click.ClickException(str(exc)) from exc
    except CORRUPTION_ERRORS as exc:
        raise click.ClickException(build_failed(settings, exc)) from exc
    if result.folder is None:
        raise click.ClickException(f"export ONNX impossible pour le modèle « {settings.model} » ({result.reason}): "
                                   "les recherches restent encodées par sentence-transformers (torch).")
    click.echo(f"Export ONNX {'créé' if result.made else 'déjà présent'}: {result.folder}")
    if recorded:
        click.echo(f"Enregistré dans l'index {settings.catalog_path}: les recherches l'utilisent "
                   "(une application déjà lancée, à son redémarrage).")
    else:
        click.echo("Aucun index construit avec ce modèle: « kb build » l'enregistrera.")


# ----------------------------------------------------------------------------- stats


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Nombre de fiches par valeur de chaque facette, et fiches incomplètes."""
    from kb.catalog import Catalog
    from kb.freshness import french_date
    from kb.stats import REVIEW_TITLE, bank_stats

    settings = settings_of(ctx)
    with reading_index(settings):
        data = bank_stats(Catalog(settings.catalog_path), settings.relecture_mois)
    if as_json:
        click.echo(json.dumps({"total": data["total"], "groups": {g.title: [[l, n] for l, n, _ in g.rows]
                                                                  for g in data["groups"]},
                               "missing": dict(data["missing"]), "a_relire": dict(data["a_relire"])},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"{data['total']} fiche(s) dans l'index, {data['departements']} département(s)"
               f"{', ' + str(data['invalid']) + ' fichier(s) invalide(s) écarté(s)' if data['invalid'] else ''}.")
    for group in data["groups"]:
        click.echo(f"\n{group.title}")
        for label, count, indent in group.rows:
            click.echo(f"  {'  ' * indent}{count:>4}  {label}")
    click.echo("\nFiches sans champ ou section recommandés" + (":" if data["missing"] else ": aucune."))
    for slug, lacks in data["missing"]:
        click.echo(f"  {slug}: {', '.join(lacks)}")
    click.echo(f"\n{REVIEW_TITLE.format(months=data['relecture_mois'])}" + (":" if data["a_relire"] else ": aucune."))
    for slug, reviewed in data["a_relire"]:
        click.echo(f"  {slug}: relue le {french_date(reviewed)}")


# ----------------------------------------------------------------------------- serve


@main.command()
@click.option("--port", default=8501, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Adresse d'écoute; 0.0.0.0 pour ouvrir l'application au réseau.")
@click.pass_context
def serve(ctx: click.Context, port: int, host: str) -> None:
    """Lance l'application Streamlit (construit l'index s'il manque ou n'est plus à jour)."""
    import os

    require("app", "l'application")
    from kb.build import BuildError, build as run_build
    from kb.catalog import CORRUPTION_ERRORS, CatalogError
    from kb.embed import ModelError

    settings = settings_of(ctx)
    try:
        report = run_build(settings, log=lambda m: click.echo(m, err=True), progress=True)
    except (BuildError, CatalogError, ModelError) as exc:
        raise click.ClickException(str(exc)) from exc
    except CORRUPTION_ERRORS as exc:
        raise click.ClickException(build_failed(settings, exc)) from exc
    click.echo(f"Index à jour: {report.fiches} fiche(s).", err=True)
    app = Path(__file__).resolve().parent / "webapp" / "app.py"
    env = {**os.environ, "KB_ROOT": str(settings.root), "KB_INDEX_DIR": str(settings.index_path)}
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
               "--server.address", host, "--browser.gatherUsageStats", "false", "--server.headless", "true"]
    click.echo(f"Application: http://{'localhost' if host == '127.0.0.1' else host}:{port}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # Streamlit replaces this process: a SIGTERM (systemd, a container runtime) reaches it directly
    os.execve(sys.executable, command, env)


for command in (search, similar, evaluate):
    main.add_command(command)
main.add_command(init)
main.add_command(territoire)
main.add_command(propositions)


if __name__ == "__main__":  # pragma: no cover
    main()
