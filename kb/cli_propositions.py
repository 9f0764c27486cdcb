"""``kb propositions``: review the fiches proposed from the application without git.

``list``, ``show ID``, ``accept ID [--branche]``, ``reject ID --motif``, ``effacer-courriel ID``;
the logic is kb.proposals (the store) and kb.proposals_review (validation, files, git), shared
with the Relecture page.
"""

from __future__ import annotations

import click

from kb.cli_common import settings_of


def _store(ctx: click.Context):
    from kb.proposals import Store

    settings = settings_of(ctx)
    return settings, Store(settings.proposals_path)


def _fail(exc: Exception) -> click.ClickException:
    """A refusal as a message; an invalid fiche lists its problems first (file:line: …)."""
    from kb.proposals import InvalidProposal

    if isinstance(exc, InvalidProposal):
        for problem in exc.problems:
            click.echo(problem.format(), err=True)
    return click.ClickException(str(exc))


@click.group("propositions")
def propositions() -> None:
    """Relire les fiches proposées depuis l'application (page Contribuer), sans git.

    Les propositions sont dans le fichier du réglage « proposals_db » (défaut : proposals.db
    à la racine de la banque).
    """


@propositions.command("list")
@click.option("--statut", type=click.Choice(["nouvelle", "acceptee", "refusee"]),
              help="N'afficher que les propositions de ce statut (défaut : toutes).")
@click.pass_context
def list_command(ctx: click.Context, statut: str | None) -> None:
    """Liste les propositions, les plus récentes d'abord."""
    from kb.proposals import ProposalError

    settings, store = _store(ctx)
    try:
        items = store.list(statut)
    except ProposalError as exc:
        raise _fail(exc) from exc
    if not items:
        click.echo(f"Aucune proposition{f' {statut}' if statut else ''} ({store.path}).")
        return
    click.echo(f"{'n°':>4}  {'reçue le':<16}  {'statut':<9}  identifiant")
    for p in items:
        email = "  (courriel)" if p.email else ""
        click.echo(f"{p.id:>4}  {p.date:<16}  {p.status_label:<9}  {p.slug}{email}")
    pending = sum(1 for p in items if p.status == "nouvelle")
    click.echo(f"{len(items)} proposition(s), dont {pending} à relire : « kb propositions show N° ».", err=True)


@propositions.command("show")
@click.argument("proposal_id", metavar="ID", type=int)
@click.option("--texte", is_flag=True, help="N'afficher que le texte Markdown de la fiche (pour l'enregistrer).")
@click.pass_context
def show(ctx: click.Context, proposal_id: int, texte: bool) -> None:
    """Affiche une proposition : statut, courriel, vérification, texte de la fiche."""
    from kb.proposals import ProposalError, email_erased_on, stamp
    from kb.proposals_review import review

    settings, store = _store(ctx)
    try:
        p = store.get(proposal_id)
    except ProposalError as exc:
        raise _fail(exc) from exc
    if texte:
        click.echo(p.text, nl=not p.text.endswith("\n"))
        return
    checked = review(p, settings)
    click.echo(f"Proposition n° {p.id} — {p.status_label}")
    click.echo(f"Fichier : {checked.target}")
    click.echo(f"Reçue le : {p.date}")
    if p.email:
        click.echo(f"Courriel : {p.email} (effacé le {email_erased_on(p)} au plus tard)")
    else:
        click.echo("Courriel : aucun")
    if p.decided:
        click.echo(f"Décision : {p.status_label} le {stamp(p.decided)}{f' — {p.note}' if p.note else ''}")
    errors = len(checked.errors)
    click.echo(f"Vérification : {errors} erreur(s), {len(checked.problems) - errors} avertissement(s).")
    if checked.exists and p.status == "nouvelle":
        click.echo(f"Attention : {checked.target} existe déjà.")
    for problem in checked.problems:
        click.echo(f"  {problem.format()}")
    click.echo("--- texte de la fiche ---")
    click.echo(p.text, nl=not p.text.endswith("\n"))


@propositions.command("accept")
@click.argument("proposal_id", metavar="ID", type=int)
@click.option("--motif", default="", help="Note de relecture (facultative).")
@click.option("--branche", is_flag=True,
              help="Créer une branche git « proposition-N-identifiant » et y commettre la fiche.")
@click.pass_context
def accept_command(ctx: click.Context, proposal_id: int, motif: str, branche: bool) -> None:
    """Accepte une proposition : écrit practices/<identifiant>.md et le vérifie comme kb validate.

    Un fichier existant n'est jamais remplacé. Avec --branche, la fiche est commise seule sur
    une nouvelle branche git, prête à pousser pour une demande de fusion (pull request).
    """
    from kb.proposals import ProposalError
    from kb.proposals_review import accept

    settings, store = _store(ctx)
    try:
        done = accept(store, proposal_id, settings, motif, branch=branche)
    except ProposalError as exc:
        raise _fail(exc) from exc
    for problem in done.warnings:
        click.echo(problem.format())
    click.echo(f"Proposition n° {done.proposal.id} acceptée : {done.target} écrit, valide"
               f"{f' ({len(done.warnings)} avertissement(s))' if done.warnings else ''}.")
    if done.branch:
        click.echo(f"Branche « {done.branch} » créée avec un commit. Poussez-la (git push -u origin {done.branch}) "
                   "puis ouvrez une demande de fusion (pull request).")
    else:
        click.echo("Ajoutez-le au dépôt (git add, git commit) ou relancez avec --branche la prochaine fois ; "
                   "« kb build » le met dans l'index.")


@propositions.command("reject")
@click.argument("proposal_id", metavar="ID", type=int)
@click.option("--motif", required=True, help="Motif du refus (obligatoire).")
@click.pass_context
def reject_command(ctx: click.Context, proposal_id: int, motif: str) -> None:
    """Refuse une proposition, avec son motif."""
    from kb.proposals import ProposalError
    from kb.proposals_review import reject

    _, store = _store(ctx)
    try:
        p = reject(store, proposal_id, motif)
    except ProposalError as exc:
        raise _fail(exc) from exc
    click.echo(f"Proposition n° {p.id} refusée : {p.note}")


@propositions.command("effacer-courriel")
@click.argument("proposal_id", metavar="ID", type=int)
@click.pass_context
def forget_command(ctx: click.Context, proposal_id: int) -> None:
    """Efface tout de suite le courriel d'une proposition (à la demande de la personne)."""
    from kb.proposals import ProposalError

    _, store = _store(ctx)
    try:
        p = store.forget_email(proposal_id)
    except ProposalError as exc:
        raise _fail(exc) from exc
    click.echo(f"Courriel de la proposition n° {p.id} effacé.")
