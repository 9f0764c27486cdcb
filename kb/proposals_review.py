"""The review of a proposal (kb.proposals): its problems, then accept or reject it.

What ``kb propositions`` and the Relecture page both call. Accepting writes
``practices/<slug>.md`` (never over an existing file), validates it with the validator of
``kb validate``, and optionally commits it on a new git branch, ready to push as a pull or merge
request: ``git`` is run with an argument list, never through a shell.
"""

from __future__ import annotations

import dataclasses
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from kb.bank import BankEntry, check_paths, duplicate_problems
from kb.fiche import parse_bytes
from kb.problems import ERROR, Problem
from kb.proposals import InvalidProposal, Proposal, ProposalError, Store
from kb.settings import Settings


@dataclass
class Review:
    """What a reviewer needs to decide: the target file, whether it already exists, and the
    problems of the text validated as that file against the bank."""

    target: Path
    exists: bool
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]


@dataclass
class Acceptance:
    proposal: Proposal
    target: Path
    warnings: list[Problem]
    branch: str = ""


def target_of(proposal: Proposal, settings: Settings) -> Path:
    return settings.practices_path / f"{proposal.slug}.md"


def review(proposal: Proposal, settings: Settings) -> Review:
    """The problems ``kb validate`` would report for the proposal written as its file, without
    writing it: the fiche's own rules, then slug and title against the bank's fiches."""
    target = target_of(proposal, settings)
    fiche, problems = parse_bytes(proposal.text.encode("utf-8"), target)
    if fiche is not None and settings.practices_path.is_dir():
        bank = check_paths([settings.practices_path]).fiches
        entries = [BankEntry(f.path, f.slug, f.titre, f.titre_line) for f in bank if Path(f.path) != target]
        # the bank-wide rules report a duplicate on the later path: the proposal's, sorted last
        last = "\uffff" + str(target)
        entries.append(BankEntry(last, fiche.slug, fiche.titre, fiche.titre_line))
        problems += [dataclasses.replace(p, path=str(target)) for p in duplicate_problems(entries) if p.path == last]
    return Review(target, target.exists(), sorted(problems, key=lambda p: (p.line, p.severity, p.message)))


def exists_message(target: Path) -> str:
    return (f"le fichier {target} existe déjà : la proposition ne le remplace pas. Refusez-la avec un motif, ou "
            "comparez-les (« kb propositions show ID --texte ») et modifiez le fichier existant à la main.")


def branch_name(proposal: Proposal) -> str:
    return f"proposition-{proposal.id}-{proposal.slug}"[:80].rstrip("-")


def accept(store: Store, proposal_id: int, settings: Settings, note: str = "", branch: bool = False) -> Acceptance:
    """Write the proposal as ``practices/<slug>.md``, validate it as ``kb validate`` does, mark
    it accepted; with ``branch``, commit it on a new git branch. An invalid fiche is not kept
    (:class:`InvalidProposal` lists its problems, file and line) and the proposal stays new."""
    proposal = store.get(proposal_id)
    if proposal.status != "nouvelle":
        raise ProposalError(f"La proposition n° {proposal.id} est déjà {proposal.status_label}.")
    target = target_of(proposal, settings)
    if target.exists():
        raise ProposalError(exists_message(target))
    name = branch_name(proposal) if branch else ""
    if branch:
        git_ready(settings.practices_path if settings.practices_path.is_dir() else settings.root, name)
    before = set(_bank_problems(settings))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with target.open("x", encoding="utf-8", newline="\n") as out:
            out.write(proposal.text)
    except FileExistsError as exc:
        raise ProposalError(exists_message(target)) from exc
    except OSError as exc:
        raise ProposalError(f"le fichier {target} ne peut pas être écrit ({exc.strerror or exc}).") from exc
    new = [p for p in _bank_problems(settings) if p not in before]
    errors = [p for p in new if p.severity == ERROR]
    if errors:
        target.unlink(missing_ok=True)
        raise InvalidProposal(f"La fiche n'est pas valide : {target} n'a pas été gardé et la proposition "
                              f"n° {proposal.id} reste à relire.", new)
    accepted = store.decide(proposal.id, "acceptee", note)
    result = Acceptance(accepted, target, new)
    if branch:
        titre = _title(proposal)
        commit_on_branch(target, name, f"Ajoute la fiche « {titre} » (proposition n° {proposal.id})")
        result.branch = name
    return result


def reject(store: Store, proposal_id: int, note: str) -> Proposal:
    """Mark a new proposal refused; the reason is required (the contributor may be told it)."""
    if not (note or "").strip():
        raise ProposalError("Indiquez le motif du refus (--motif « … ») : il sert à répondre à la personne.")
    return store.decide(proposal_id, "refusee", note)


def _bank_problems(settings: Settings) -> list[Problem]:
    """The problems of the whole bank, as ``kb validate`` reports them."""
    if not settings.practices_path.is_dir():
        return []
    return check_paths([settings.practices_path], review_months=settings.relecture_mois).problems


def _title(proposal: Proposal) -> str:
    fiche, _ = parse_bytes(proposal.text.encode("utf-8"), Path("practices") / f"{proposal.slug}.md")
    return fiche.titre if fiche is not None else proposal.slug


# ----------------------------------------------------------------------------- git


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60)
    except FileNotFoundError as exc:
        raise ProposalError("git est introuvable : installez-le (paquet « git ») ou acceptez sans --branche, "
                            "puis ajoutez le fichier au dépôt à la main.") from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProposalError(f"git n'a pas pu être lancé ({exc}).") from exc


def _detail(done: subprocess.CompletedProcess) -> str:
    return " ".join((done.stderr or done.stdout or "").split())[:300]


def git_ready(folder: Path, branch: str) -> None:
    """Everything a commit on a new branch needs, checked before any file is written: git, a
    repository, an identity for the commit, and a branch name still free."""
    if _git(["--version"], folder).returncode != 0:
        raise ProposalError("git ne répond pas : vérifiez son installation, ou acceptez sans --branche.")
    if _git(["rev-parse", "--is-inside-work-tree"], folder).returncode != 0:
        raise ProposalError(f"le dossier {folder} n'est pas dans un dépôt git : acceptez sans --branche, ou "
                            "créez le dépôt (git init) d'abord.")
    if _git(["var", "GIT_COMMITTER_IDENT"], folder).returncode != 0:
        raise ProposalError("git ne connaît pas l'auteur des commits : réglez git config user.name « Prénom Nom » "
                            "et git config user.email « adresse », puis recommencez.")
    if _git(["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], folder).returncode == 0:
        raise ProposalError(f"la branche git « {branch} » existe déjà : supprimez-la (git branch -D {branch}) "
                            "ou acceptez sans --branche.")


def commit_on_branch(path: Path, branch: str, message: str) -> None:
    """Create ``branch`` from the current commit and commit ``path`` alone on it. The fiche is
    written and accepted by then: a failure says what is left to do by hand."""
    folder = path.parent
    for args in (["checkout", "-b", branch], ["add", "--", str(path)], ["commit", "-m", message, "--", str(path)]):
        done = _git(args, folder)
        if done.returncode != 0:
            raise ProposalError(f"la fiche {path} est écrite et acceptée, mais « git {' '.join(args[:2])} » a "
                                f"échoué ({_detail(done)}) : terminez à la main (git add, git commit).")
