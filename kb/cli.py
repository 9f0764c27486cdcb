"""The ``kb`` command: new, validate, build, model export, stats, search, similar, eval, serve.

Heavy libraries (torch, sentence-transformers, faiss) are imported inside the commands that
need them, so ``kb validate``, ``kb new`` and ``kb stats`` start in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from kb.settings import Settings, SettingsError, load_settings


def _settings(ctx: click.Context) -> Settings:
    try:
        return load_settings(ctx.obj.get("root"), **ctx.obj.get("overrides", {}))
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    Code de sortie 0 sans erreur, 1 avec au moins une erreur.
    """
    from kb.bank import check_paths

    targets = list(paths) or [_settings(ctx).practices_path]
    result = check_paths(targets)
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
    folder = folder or _settings(ctx).practices_path
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

    settings = _settings(ctx)
    log = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    try:
        report = run_build(settings, source, force=force, strict=strict, log=log, progress=not quiet)
    except (BuildError, CatalogError, ModelError) as exc:
        raise click.ClickException(str(exc)) from exc
    except CORRUPTION_ERRORS as exc:
        raise click.ClickException(_build_failed(settings, exc)) from exc
    for problem in report.problems:
        if not quiet or problem.severity == "error":
            click.echo(problem.format(), err=True)
    click.echo(
        f"Index {settings.catalog_path}: {report.fiches} fiche(s) "
        f"({report.added} ajoutée(s), {report.updated} modifiée(s), {report.removed} supprimée(s), "
        f"{report.unchanged} inchangée(s)); {report.invalid} fichier(s) invalide(s) écarté(s); "
        f"{report.chunks_encoded} passage(s) encodé(s), {report.chunks_reused} réutilisé(s); "
        f"{report.seconds:.1f} s."
    )


def _build_failed(settings: Settings, exc: Exception) -> str:
    detail = " ".join(str(exc).split())[:120]
    if "locked" in detail:
        return (f"l'index {settings.catalog_path} est resté verrouillé par un autre programme ({detail}): "
                "relancez « kb build »; l'index publié n'a pas été modifié.")
    return (f"la construction a échoué en lisant ou en écrivant l'index {settings.catalog_path} "
            f"({type(exc).__name__}: {detail}); l'index publié n'a pas été modifié. Si le disque est plein, "
            "libérez de la place; sinon l'index est sans doute corrompu: reconstruisez-le avec "
            "« kb build --force ».")


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
    from kb.build import BuildError, export_onnx
    from kb.catalog import CORRUPTION_ERRORS, CatalogError
    from kb.embed import ModelError

    settings = _settings(ctx)
    try:
        result, recorded = export_onnx(settings, force=force, log=lambda m: click.echo(m, err=True))
    except (BuildError, CatalogError, ModelError) as exc:
        raise click.ClickException(str(exc)) from exc
    except CORRUPTION_ERRORS as exc:
        raise click.ClickException(_build_failed(settings, exc)) from exc
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
    from kb.stats import bank_stats

    settings = _settings(ctx)
    with _reading_index(settings):
        data = bank_stats(Catalog(settings.catalog_path))
    if as_json:
        click.echo(json.dumps({"total": data["total"], "groups": {g.title: [[l, n] for l, n, _ in g.rows]
                                                                  for g in data["groups"]},
                               "missing": dict(data["missing"])}, ensure_ascii=False, indent=2))
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


# ----------------------------------------------------------------------------- search


def filter_options(function):
    """One option per filter of the facet registry (kb.facets)."""
    from kb.facets import REGISTRY

    return REGISTRY.click_options(function)


def make_filters(kwargs: dict):
    from kb.facets import REGISTRY

    filters = REGISTRY.filters_from_cli(kwargs)
    unknown = filters.unknown_values()
    if unknown:
        raise click.BadParameter("; ".join(unknown) + " (voir kb stats pour les valeurs).")
    return filters


@contextlib.contextmanager
def _reading_index(settings: Settings):
    """A damaged catalog is a message that says how to repair it, never a traceback: some damage
    is only met by the query that reads the damaged page or value."""
    from kb.catalog import CORRUPTION_ERRORS, CatalogError, corrupt_error

    try:
        yield
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc
    except CORRUPTION_ERRORS as exc:
        raise click.ClickException(str(corrupt_error(settings.catalog_path, exc))) from exc


def _engine(settings: Settings):
    from kb.catalog import CatalogError
    from kb.search import Engine

    try:
        return Engine.open(settings)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.argument("query", required=False, default="")
@filter_options
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--mode", type=click.Choice(["hybrid", "lexical", "dense"]), default="hybrid", show_default=True)
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON (résultats et facettes).")
@click.pass_context
def search(ctx: click.Context, query: str, limit: int, mode: str, sort: str, as_json: bool, **kwargs) -> None:
    """Cherche les fiches qui répondent à un besoin; sans texte, parcourt les fiches filtrées."""
    filters = make_filters(kwargs)
    settings = _settings(ctx)
    with _reading_index(settings):
        results = _engine(settings).search(query, filters, limit=limit, mode=mode, sort=sort)
    if as_json:
        click.echo(json.dumps(results.to_dict(), ensure_ascii=False, indent=2))
        return
    color = sys.stdout.isatty()
    if results.corrected_from:
        click.echo(f"Résultats pour « {results.query} » (« {results.corrected_from} » contient des mots inconnus "
                   "de la banque).")
    elif results.suggestion:
        click.echo(f"Vouliez-vous dire : {results.suggestion} ?")
    if results.expansions:
        click.echo(f"(recherche élargie à: {', '.join(results.expansions)})")
    counted = "répondent à votre besoin" if query else "pour cette sélection"
    click.echo(f"{results.total} fiche(s) {counted}; {len(results.hits)} affichée(s).\n")
    _print_hits(results.hits, color)
    if results.others:
        click.echo("Autres fiches proches (correspondances plus faibles, non comptées):\n")
        _print_hits(results.others, color)
    if results.total:
        from kb.facets import facet_label

        click.echo("Facettes de l'ensemble des résultats:")
        for facet in ("thematique", "public", "type", "densite_niveau", "statut"):
            values = results.facets.get(facet, {})
            shown = ", ".join(f"{facet_label(facet, k)} ({n})" for k, n in list(values.items())[:6])
            click.echo(f"  {facet}: {shown}")


def _print_hits(hits, color: bool) -> None:
    from kb.facets import facet_label
    from kb.highlight import to_terminal

    for rank, hit in enumerate(hits, 1):
        f = hit.fiche
        where = f"{f.territoire['nom']} — {facet_label('type', f.territoire['type'])}, {', '.join(f.departements)}"
        click.echo(f"{rank:>2}. {click.style(hit.titre, bold=True) if color else hit.titre}  [{hit.slug}]")
        click.echo(f"    {where} · {facet_label('statut', f.statut)} · score {hit.score:.4f}")
        section = f"{hit.snippet_section}: " if hit.snippet_section else ""
        click.echo(f"    {section}{to_terminal(hit.snippet, hit.highlights, color)}\n")


@main.command()
@click.argument("slug")
@filter_options
@click.option("--limit", "-n", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def similar(ctx: click.Context, slug: str, limit: int, as_json: bool, **kwargs) -> None:
    """Fiches les plus proches de SLUG par leur contenu (jamais la fiche elle-même)."""
    filters = make_filters(kwargs)
    settings = _settings(ctx)
    with _reading_index(settings):
        engine = _engine(settings)
        try:
            hits = engine.similar(slug, filters, limit=limit)
        except KeyError:
            raise click.ClickException(f"aucune fiche « {slug} » dans l'index.") from None
    if as_json:
        click.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    for rank, hit in enumerate(hits, 1):
        click.echo(f"{rank:>2}. {hit.titre}  [{hit.slug}]  ({hit.fiche.territoire['nom']})")


# ----------------------------------------------------------------------------- eval


@main.command("eval")
@click.option("--queries", "queries_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Requêtes JSONL. Défaut: eval/queries.jsonl de la banque.")
@click.option("--corpus", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Corpus brut (docs/*.txt et queries.jsonl) au lieu de la banque.")
@click.option("--mode", type=click.Choice(["hybrid", "lexical", "dense", "all"]), default="all", show_default=True)
@click.option("--dense-weight", type=float, help="Poids du classement dense dans la fusion.")
@click.option("--tune", is_flag=True, help="Mesure une grille de poids et le seuil de pertinence, indique les meilleurs.")
@click.option("--similar", "similar_set", is_flag=True,
              help="Mesure les « fiches similaires » (P@5, nDCG@5) sur eval/similar.jsonl, pour une grille de poids.")
@click.option("--verbose", "-v", is_flag=True, help="Liste les requêtes manquées.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def evaluate(ctx: click.Context, queries_path: Path | None, corpus: Path | None, mode: str,
             dense_weight: float | None, tune: bool, similar_set: bool, verbose: bool, as_json: bool) -> None:
    """Mesure la qualité de la recherche: nDCG@10, Recall@10, MRR@10."""
    from kb import evaluate as ev

    settings = _settings(ctx)
    try:
        engine, queries, label, offtopic = ev.prepare(settings, corpus, queries_path,
                                                      log=lambda m: click.echo(m, err=True))
    except ev.EvalError as exc:
        raise click.ClickException(str(exc)) from exc
    if tune:
        _tune(settings, engine, queries, offtopic, label, as_json)
        return
    if similar_set:
        _similar(settings, engine, as_json)
        return
    modes = ["lexical", "dense", "hybrid"] if mode == "all" else [mode]
    results = {m: ev.run(engine, queries, m, dense_weight, offtopic) for m in modes}
    if as_json:
        click.echo(json.dumps({"corpus": label, "queries": len(queries), "offtopic": len(offtopic),
                               **{m: r.metrics.to_dict() for m, r in results.items()}}, indent=2))
        return
    weight = settings.dense_weight if dense_weight is None else dense_weight
    click.echo(f"{label}: {len(queries)} requêtes, {len(offtopic)} questions hors sujet, modèle {settings.model}, "
               f"poids dense {weight:.2f}")
    click.echo(f"{'mode':<8} {'nDCG@10':>8} {'R@10':>6} {'MRR@10':>7} │ {'P(ens.)':>7} {'R(ens.)':>7} "
               f"{'F1(ens.)':>8} {'médiane':>7} {'hors sujet à 0':>14}")
    for m, r in results.items():
        x = r.metrics
        off = "—" if x.offtopic_empty is None else f"{x.offtopic_empty:.0%}"
        click.echo(f"{m:<8} {x.ndcg:>8.3f} {x.recall:>6.3f} {x.mrr:>7.3f} │ {x.set_precision:>7.3f} "
                   f"{x.set_recall:>7.3f} {x.set_f1:>8.3f} {x.counted_median:>7.1f} {off:>14}")
    click.echo("Ensemble (ens.): les fiches comptées comme répondant à la requête; médiane: leur nombre.")
    if verbose:
        for m, r in results.items():
            click.echo(f"\nRequêtes manquées ({m}): aucun document pertinent dans les 10 premiers")
            for miss in r.misses:
                click.echo(f"  - {miss['query']}  → attendu {', '.join(miss['expected'])}; "
                           f"obtenu {', '.join(miss['got'][:3])}")


def _similar(settings, engine, as_json: bool) -> None:
    from kb import evaluate as ev

    try:
        items = ev.load_similar(settings.root / "eval" / "similar.jsonl")
    except ev.EvalError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = ev.similar_grid(engine, items)
    best = max(rows, key=lambda r: (round(r[1], 4), round(r[2], 4), -abs(r[0] - settings.similar_dense_weight)))
    if as_json:
        click.echo(json.dumps({"sources": len(items), "grid": [{"dense_weight": w, "p@5": round(p, 4),
                                                                "ndcg@5": round(n, 4)} for w, p, n in rows],
                               "best": best[0]}, indent=2))
        return
    click.echo(f"Fiches similaires: {len(items)} fiches sources jugées")
    click.echo(f"{'poids dense':>12} {'P@5':>7} {'nDCG@5':>7}")
    for weight, p, n in rows:
        click.echo(f"{weight:>12.2f} {p:>7.3f} {n:>7.3f}")
    click.echo(f"Meilleur poids dense (P@5, puis nDCG@5): {best[0]:.2f} (P@5 {best[1]:.3f}, nDCG@5 {best[2]:.3f}); "
               f"réglage actuel similar_dense_weight = {settings.similar_dense_weight}.")


def _tune(settings, engine, queries, offtopic, label, as_json: bool) -> None:
    """The fusion weight's grid (nDCG and set F1 side by side), then the cut-off's fit."""
    from kb import evaluate as ev

    rows = ev.tune(engine, queries)
    best = max(rows, key=lambda r: (r[1].ndcg, -abs(r[0] - settings.dense_weight)))
    cut = ev.tune_cutoff(engine, queries, offtopic)
    fields = list(ev.CUTOFF_GRID)
    if as_json:
        click.echo(json.dumps({"corpus": label, "grid": [{"dense_weight": w, **m.to_dict()} for w, m in rows],
                               "best": best[0], "cutoff": {f: getattr(cut.best, f) for f in fields},
                               "cutoff_held_out": cut.held_out.to_dict(),
                               "cutoff_folds": [{f: getattr(c, f) for f in fields} for c in cut.fold_choices]},
                              indent=2))
        return
    click.echo(f"{label}: {len(queries)} requêtes, {len(offtopic)} questions hors sujet")
    click.echo(f"{'poids dense':>12} {'nDCG@10':>8} {'R@10':>8} {'MRR@10':>8} {'F1(ens.)':>9} {'R(ens.)':>8}")
    for weight, m in rows:
        click.echo(f"{weight:>12.2f} {m.ndcg:>8.3f} {m.recall:>8.3f} {m.mrr:>8.3f} {m.set_f1:>9.3f} "
                   f"{m.set_recall:>8.3f}")
    click.echo(f"Meilleur poids dense: {best[0]:.2f} (nDCG@10 {best[1].ndcg:.3f}).")
    h = cut.held_out
    off = "—" if h.offtopic_empty is None else f"{h.offtopic_empty:.0%}"
    click.echo(f"Seuil de pertinence, validation croisée en {ev.FOLDS} plis: F1(ens.) {h.set_f1:.3f}, "
               f"P {h.set_precision:.3f}, R {h.set_recall:.3f}, médiane {h.counted_median:.0f} fiche(s), "
               f"hors sujet à 0: {off}.")
    click.echo("Réglages choisis sur toutes les requêtes (à reporter dans kb.toml): "
               + ", ".join(f"{f} = {getattr(cut.best, f)}" for f in fields))


# ----------------------------------------------------------------------------- serve


@main.command()
@click.option("--port", default=8501, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Adresse d'écoute; 0.0.0.0 pour ouvrir l'application au réseau.")
@click.pass_context
def serve(ctx: click.Context, port: int, host: str) -> None:
    """Lance l'application Streamlit (construit l'index s'il manque ou n'est plus à jour)."""
    import os

    from kb.build import BuildError, build as run_build
    from kb.catalog import CORRUPTION_ERRORS, CatalogError
    from kb.embed import ModelError

    settings = _settings(ctx)
    try:
        report = run_build(settings, log=lambda m: click.echo(m, err=True), progress=True)
    except (BuildError, CatalogError, ModelError) as exc:
        raise click.ClickException(str(exc)) from exc
    except CORRUPTION_ERRORS as exc:
        raise click.ClickException(_build_failed(settings, exc)) from exc
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


if __name__ == "__main__":  # pragma: no cover
    main()
