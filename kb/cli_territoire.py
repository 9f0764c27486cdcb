"""``kb territoire TEXTE``: « Mon territoire » on the command line.

A commune (name or code INSEE) or an intercommunalité (name or SIREN): its card, then the
fiches of comparable territories and the projects carried for such territories, each with
the reasons of its place. When the text designates several territories, the choices, with
their codes.
"""

from __future__ import annotations

import json

import click

from kb.cli_common import open_engine, reading_index, settings_of


def _population(value) -> str:
    return "inconnue" if value is None else f"{value:,}".replace(",", "\u202f") + " habitants"


def card_lines(territory) -> list[str]:
    """The territory card, as lines of text (shared with the tests)."""
    lines = [f"{territory.nom} — {territory.type_label} ({'code INSEE' if territory.kind == 'commune' else 'SIREN'} "
             f"{territory.code})"]
    if territory.kind == "epci" and len(territory.departements) > 1:
        from kb.territoires import departement_nom

        deps = ", ".join(f"{departement_nom(d)} ({d})" for d in territory.departements)
        lines.append(f"  Départements : {deps}")
    elif territory.departement:
        lines.append(f"  Département : {territory.departement_nom} ({territory.departement})")
    if territory.region:
        lines.append(f"  Région : {territory.region_nom}")
    tranche = f" — {territory.tranche_label}" if territory.tranche_label else ""
    lines.append(f"  Population : {_population(territory.population)}{tranche}")
    if territory.kind == "commune":
        lines.append(f"  Intercommunalité : {territory.epci_nom or 'aucune (commune isolée)'}")
    else:
        lines.append(f"  Communes membres : {territory.membres}")
    lines.append("  Densité : non connue (absente des données de référence)")
    return lines


@click.command("territoire")
@click.argument("texte", nargs=-1, required=True)
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, 200),
              help="Nombre de fiches par liste (et de propositions).")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
@click.pass_context
def territoire(ctx: click.Context, texte: tuple[str, ...], limit: int, as_json: bool) -> None:
    """« Mon territoire » : une commune ou une intercommunalité (nom, code INSEE ou SIREN),
    puis les fiches de territoires comparables et les projets portés pour eux."""
    from kb import territoires

    text = " ".join(texte).strip()
    found = territoires.resolve(text, limit=limit)
    if isinstance(found, list):
        if as_json:
            click.echo(json.dumps({"query": text, "territoire": None,
                                   "propositions": [{"code": c.code, "label": c.label, "kind": c.kind}
                                                    for c in found]}, ensure_ascii=False, indent=2))
            if not found:
                ctx.exit(1)
            return
        if not found:
            raise click.ClickException(f"Aucune commune ni intercommunalité ne correspond à « {text} ». "
                                       "Essayez un autre nom, ou le code INSEE de la commune.")
        click.echo(f"Plusieurs territoires correspondent à « {text} » ; précisez avec le code :")
        for c in found:
            click.echo(f"  {c.code:<10} {c.label}")
        click.echo(f"\nPar exemple : kb territoire {found[0].code}")
        return

    from kb.comparable import suggestions

    settings = settings_of(ctx)
    with reading_index(settings):
        result = suggestions(open_engine(settings), found, limit=limit)
    if as_json:
        from dataclasses import asdict

        def rows(matches):
            return [{"slug": m.slug, "titre": m.fiche.titre, "territoire": m.fiche.territoire.get("nom"),
                     "score": m.score, "raisons": m.raisons} for m in matches]

        click.echo(json.dumps({"query": text, "territoire": asdict(found), "comparables": rows(result.comparables),
                               "portes": rows(result.portes)}, ensure_ascii=False, indent=2))
        return
    for line in card_lines(found):
        click.echo(line)
    click.echo(f"\nFiches de territoires comparables ({len(result.comparables)}) :")
    if not result.comparables:
        click.echo("  aucune")
    for m in result.comparables:
        click.echo(f"  {m.slug} — {m.fiche.titre}\n      {m.fiche.territoire.get('nom')} : {m.explication}")
    click.echo(f"\nProjets portés pour des territoires comme le vôtre ({len(result.portes)}) :")
    if not result.portes:
        click.echo("  aucun dans la banque pour ce département")
    for m in result.portes:
        click.echo(f"  {m.slug} — {m.fiche.titre}\n      {m.fiche.territoire.get('nom')} : {m.explication}")
