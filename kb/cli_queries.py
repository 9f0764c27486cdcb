"""The ``kb`` commands that query an index: search, similar and eval."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kb.cli_common import filter_options, make_filters, open_engine, reading_index, settings_of


@click.command()
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
    settings = settings_of(ctx)
    with reading_index(settings):
        results = open_engine(settings).search(query, filters, limit=limit, mode=mode, sort=sort)
    if as_json:
        click.echo(json.dumps(results.to_dict(), ensure_ascii=False, indent=2))
        return
    color = sys.stdout.isatty()
    if results.note:
        click.echo(f"Note : {results.note}", err=True)
    if results.recognised:
        click.echo(f"Filtre reconnu dans la recherche : population {results.recognised['text']}")
    if results.place:
        labels = ", ".join(f"{t['label']} (kb territoire {t['code']})" for t in results.place["territoires"][:5])
        click.echo(f"Territoire reconnu dans la recherche, cherché sans son nom : {labels}")
    if results.corrected_from:
        click.echo(f"Résultats pour « {results.query} » (« {results.corrected_from} » contient des mots inconnus "
                   "de la banque).")
    elif results.suggestion:
        click.echo(f"Vouliez-vous dire : {results.suggestion} ?")
    if results.expansions:
        click.echo(f"(recherche élargie à: {', '.join(results.expansions)})")
    counted = "répondent à votre besoin" if results.query else "pour cette sélection"
    click.echo(f"{results.total} fiche(s) {counted}; {len(results.hits)} affichée(s).\n")
    _print_hits(results.hits, color)
    if results.others:
        click.echo("Autres fiches proches (correspondances plus faibles, non comptées):\n")
        _print_hits(results.others, color)
    if results.total:
        from kb.facets import facet_label

        click.echo("Facettes de l'ensemble des résultats:")
        for facet in ("thematique", "public", "type", "densite_niveau", "population_tranche", "cout", "statut"):
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


@click.command()
@click.argument("slug")
@filter_options
@click.option("--limit", "-n", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def similar(ctx: click.Context, slug: str, limit: int, as_json: bool, **kwargs) -> None:
    """Fiches les plus proches de SLUG par leur contenu (jamais la fiche elle-même)."""
    filters = make_filters(kwargs)
    settings = settings_of(ctx)
    with reading_index(settings):
        engine = open_engine(settings)
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


@click.command("eval")
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

    settings = settings_of(ctx)
    try:
        engine, queries, label, offtopic = ev.prepare(settings, corpus, queries_path,
                                                      log=lambda m: click.echo(m, err=True))
    except ev.EvalError as exc:
        raise click.ClickException(str(exc)) from exc
    if engine.dense_note:
        click.echo(f"Note : {engine.dense_note}", err=True)
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
