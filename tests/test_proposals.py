"""Fiches proposed without git (kb.proposals, kb.proposals_review): the store and its limits,
``kb propositions`` on a temporary bank, the Relecture page and « Proposer cette fiche » of
Contribuer, driven with Streamlit's AppTest."""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb import proposals
from kb.cli import main
from kb.proposals import HOURLY_LIMIT, MAX_BYTES, SECRET_TRIES, SECRET_WINDOW, ProposalError, Store
from kb.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "kb" / "webapp" / "app.py"
PAGE = ROOT / "kb" / "webapp" / "views" / "relecture.py"
VALID = (ROOT / "tests" / "fixtures" / "valid.md").read_text(encoding="utf-8")
SECRET = "-".join(["un", "mot", "de", "relecture", "assez", "long"])  # built: no literal looks like a leak
HOUR = 3600


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def draft(title: str = "Un car numérique itinérant pour les démarches en ligne", extra: str = "") -> str:
    """A valid fiche other than the bank's one (another title), with ``extra`` in its context."""
    text = VALID.replace("Un bus numérique itinérant pour les démarches en ligne", title)
    return text.replace("Quinze villages sans service public", f"Quinze villages sans service public{extra}")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    return Store(tmp_path / "propositions" / "proposals.db", clock=clock)


# ----------------------------------------------------------------------------- the store


def test_a_proposal_is_stored_and_read_back(store, clock):
    assert store.list() == [] and not store.path.exists()  # reading creates nothing
    text = draft()
    stored = store.submit("car-numerique", text, email=" marie@exemple.fr ", client="203.0.113.7")
    again = store.get(stored.id)
    assert again == stored and store.list() == [stored] and store.list("nouvelle") == [stored]
    assert (again.slug, again.text, again.email, again.status, again.note) == (
        "car-numerique", text, "marie@exemple.fr", "nouvelle", "")
    assert again.created == clock.now and again.decided is None and again.status_label == "nouvelle"
    refused = proposals.Store(store.path, clock=clock).decide(stored.id, "refusee", "Déjà publiée ailleurs.")
    assert (refused.status_label, refused.note, refused.decided) == ("refusée", "Déjà publiée ailleurs.", clock.now)
    assert store.list("nouvelle") == [] and store.list("refusee") == [refused]
    with pytest.raises(ProposalError, match="déjà refusée"):
        store.decide(stored.id, "acceptee")
    with pytest.raises(ProposalError, match="Aucune proposition n° 99"):
        store.get(99)


def test_the_store_keeps_no_address_and_erases_emails_in_time(store, clock):
    first = store.submit("car-numerique", draft(), email="marie@exemple.fr", client="203.0.113.7")
    second = store.submit("car-numerique-bis", draft("Un car numérique bis pour les démarches en ligne"),
                          email="paul@exemple.fr", client="203.0.113.7")
    raw = store.path.read_bytes()
    assert b"203.0.113.7" not in raw  # a salted hash only
    store.decide(first.id, "acceptee")
    clock.now += (proposals.EMAIL_DAYS_AFTER_DECISION + 1) * 24 * HOUR
    assert store.get(first.id).email == "" and store.get(second.id).email == "paul@exemple.fr"
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM proposals WHERE client IS NOT NULL").fetchone()[0] == 0
    clock.now = first.created + (proposals.EMAIL_MAX_DAYS + 1) * 24 * HOUR
    assert store.get(second.id).email == ""  # never decided: erased at the latest after six months
    third = store.submit("car-numerique-ter", draft("Un car numérique ter pour les démarches en ligne"),
                         email="lea@exemple.fr")
    assert store.forget_email(third.id).email == ""


def test_a_proposal_larger_than_the_limit_is_refused_in_french(store):
    text = draft(extra=" Un long récit." * (MAX_BYTES // 10))
    assert len(text.encode("utf-8")) > MAX_BYTES
    with pytest.raises(ProposalError, match=r"trop longue pour être proposée : \d+ Ko, pour 100 Ko au plus"):
        store.submit("car-numerique", text)
    assert store.list() == []


def test_a_client_sends_at_most_five_proposals_an_hour(store, clock):
    for n in range(HOURLY_LIMIT):
        store.submit(f"car-numerique-{n}", draft(f"Un car numérique numéro {n} pour les démarches"), client="198.51.100.1")
        clock.now += 60
    with pytest.raises(ProposalError, match="déjà proposé 5 fiches dans l'heure"):
        store.submit("car-numerique-5", draft("Un car numérique numéro 5 pour les démarches"), client="198.51.100.1")
    # another client is not held back; the first one is an hour later
    store.submit("car-numerique-6", draft("Un car numérique numéro 6 pour les démarches"), client="198.51.100.2")
    clock.now += HOUR
    store.submit("car-numerique-7", draft("Un car numérique numéro 7 pour les démarches"), client="198.51.100.1")
    assert len(store.list()) == HOURLY_LIMIT + 2


def test_a_filled_honeypot_pretends_success_and_stores_nothing(store):
    assert store.submit("car-numerique", draft(), email="robot@exemple.fr", honeypot="https://spam.example") is None
    assert store.list() == [] and not store.path.exists()


def test_what_is_not_a_valid_draft_is_refused(store):
    with pytest.raises(proposals.InvalidProposal) as error:
        store.submit("car-numerique", draft().replace("statut: en-cours", "statut: peut-etre"))
    assert error.value.problems and all(p.line > 1 for p in error.value.problems)
    for slug in ("../../etc/passe", "Car Numerique", ""):
        with pytest.raises(ProposalError, match="identifiant .* invalide"):
            store.submit(slug, draft())
    with pytest.raises(ProposalError, match="n'est pas une adresse valide"):
        store.submit("car-numerique", draft(), email="<script>@x")
    store.submit("car-numerique", draft())
    with pytest.raises(ProposalError, match="déjà été proposée"):
        store.submit("car-numerique", draft(), client="another")
    assert len(store.list()) == 1


def test_too_many_proposals_waiting_are_refused(store, monkeypatch):
    monkeypatch.setattr(proposals, "MAX_PENDING", 1)
    store.submit("car-numerique", draft(), client="a")
    with pytest.raises(ProposalError, match="Trop de propositions attendent"):
        store.submit("car-numerique-bis", draft("Un car numérique bis pour les démarches"), client="b")


@pytest.mark.parametrize("ip, headers, expected", [
    ("203.0.113.7", {"X-Forwarded-For": "1.1.1.1"}, "203.0.113.7"),  # a remote peer: its own address
    (None, {"X-Forwarded-For": "10.9.9.9, 198.51.100.4"}, "198.51.100.4"),  # local proxy: the address it added
    (None, {}, "local"),
    (object(), None, "local"),  # what AppTest gives: no address
    ("2001:db8:1:2:3:4:5:6", None, "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.1", None, "192.0.2.1"),
])
def test_the_client_of_the_rate_limits(ip, headers, expected):
    assert proposals.client_address(ip, headers) == expected


def test_wrong_secrets_are_limited_and_logged_without_the_value(store, clock, caplog):
    caplog.set_level(logging.WARNING, logger="kb.proposals")
    assert store.check_secret(SECRET, SECRET).ok
    for n in range(SECRET_TRIES):
        result = store.check_secret(SECRET, f"essai-{n}", client="192.0.2.9")
        assert not result.ok and result.left == SECRET_TRIES - n - 1
        clock.now += 10
    locked = store.check_secret(SECRET, SECRET, client="192.0.2.9")  # the right one, too late
    assert not locked.ok and 0 < locked.wait <= SECRET_WINDOW
    assert store.check_secret(SECRET, SECRET, client="192.0.2.10").ok  # another client
    clock.now += locked.wait
    assert store.check_secret(SECRET, SECRET, client="192.0.2.9").ok
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "secret incorrect" in logged and "essai bloqué" in logged
    assert "essai-" not in logged and SECRET not in logged and "192.0.2.9" not in logged


# ----------------------------------------------------------------------------- settings


def test_the_settings_of_proposals(tmp_path, monkeypatch):
    monkeypatch.delenv("KB_RELECTURE_SECRET", raising=False)
    monkeypatch.delenv("KB_PROPOSALS_DB", raising=False)
    settings = load_settings(tmp_path)
    assert settings.relecture_secret == "" and settings.proposals_path == tmp_path.resolve() / "proposals.db"
    monkeypatch.setenv("KB_RELECTURE_SECRET", SECRET)
    monkeypatch.setenv("KB_PROPOSALS_DB", str(tmp_path / "ailleurs" / "p.db"))
    settings = load_settings(tmp_path)
    assert settings.relecture_secret == SECRET and settings.proposals_path == tmp_path / "ailleurs" / "p.db"
    assert SECRET not in repr(settings)
    monkeypatch.setenv("KB_RELECTURE_SECRET", "court")
    with pytest.raises(SettingsError) as error:
        load_settings(tmp_path)
    assert "KB_RELECTURE_SECRET: réglage « relecture_secret » trop court" in str(error.value)
    assert "court)" not in str(error.value).replace("trop court", "")  # never the value


# ----------------------------------------------------------------------------- kb propositions


@pytest.fixture
def bank(tmp_path, monkeypatch, clock):
    """A bank of one fiche, its proposals store, and ``kb`` run on it."""
    root = tmp_path / "banque"
    (root / "practices").mkdir(parents=True)
    (root / "practices" / "bus-numerique.md").write_text(VALID, encoding="utf-8")
    monkeypatch.setenv("KB_ROOT", str(root))
    for name in ("KB_PROPOSALS_DB", "KB_RELECTURE_SECRET", "KB_PRACTICES"):
        monkeypatch.delenv(name, raising=False)
    return root, Store(root / "proposals.db", clock=clock)


def kb(*args: str):
    return CliRunner().invoke(main, list(args))


def test_kb_propositions_list_show_accept_reject(bank):
    root, store = bank
    assert "Aucune proposition" in kb("propositions", "list").output
    first = store.submit("car-numerique", draft(), email="marie@exemple.fr")
    second = store.submit("tiers-lieu", draft("Un tiers-lieu numérique dans une ancienne gare"))
    listed = kb("propositions", "list")
    assert listed.exit_code == 0 and "car-numerique  (courriel)" in listed.output and "tiers-lieu" in listed.output
    shown = kb("propositions", "show", str(first.id))
    assert shown.exit_code == 0, shown.output
    assert "Proposition n° 1 — nouvelle" in shown.output and "Courriel : marie@exemple.fr" in shown.output
    assert "Vérification : 0 erreur(s)" in shown.output and first.text in shown.output
    assert kb("propositions", "show", "1", "--texte").output == first.text

    accepted = kb("propositions", "accept", str(first.id), "--motif", "Bienvenue")
    assert accepted.exit_code == 0, accepted.output
    target = root / "practices" / "car-numerique.md"
    assert target.read_text(encoding="utf-8") == first.text
    assert f"Proposition n° 1 acceptée : {target} écrit, valide" in accepted.output
    assert (store.get(first.id).status, store.get(first.id).note) == ("acceptee", "Bienvenue")
    assert kb("validate", str(root / "practices")).exit_code == 0
    again = kb("propositions", "accept", "1")
    assert again.exit_code == 1 and "déjà acceptée" in again.output

    no_reason = kb("propositions", "reject", str(second.id))
    assert no_reason.exit_code == 2 and "--motif" in no_reason.output
    rejected = kb("propositions", "reject", str(second.id), "--motif", "Hors sujet")
    assert rejected.exit_code == 0 and "Proposition n° 2 refusée : Hors sujet" in rejected.output
    assert store.get(second.id).status_label == "refusée"
    assert "tiers-lieu" in kb("propositions", "list", "--statut", "refusee").output
    assert kb("propositions", "effacer-courriel", "1").exit_code == 0 and store.get(1).email == ""
    missing = kb("propositions", "show", "42")
    assert missing.exit_code == 1 and "Aucune proposition n° 42" in missing.output


def test_accept_never_overwrites_a_fiche(bank):
    root, store = bank
    existing = root / "practices" / "bus-numerique.md"
    proposal = store.submit("bus-numerique", draft())
    result = kb("propositions", "accept", str(proposal.id))
    assert result.exit_code == 1
    assert f"le fichier {existing} existe déjà" in result.output
    assert existing.read_text(encoding="utf-8") == VALID and store.get(proposal.id).status == "nouvelle"
    assert "existe déjà" in kb("propositions", "show", str(proposal.id)).output


def test_accept_reports_the_problems_of_kb_validate_and_keeps_no_invalid_file(bank):
    root, store = bank
    proposal = store.submit("bus-bis", VALID)  # valid alone, but the bank already has this title
    result = kb("propositions", "accept", str(proposal.id))
    assert result.exit_code == 1
    # as kb validate says it: the title taken, on the line of the later of the two files
    assert (f"{root / 'practices' / 'bus-numerique.md'}:2: error: même titre que "
            f"{root / 'practices' / 'bus-bis.md'}") in result.output
    assert "n'a pas été gardé" in result.output
    assert not (root / "practices" / "bus-bis.md").exists() and store.get(proposal.id).status == "nouvelle"
    assert "1 erreur(s)" in kb("propositions", "show", str(proposal.id)).output


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git absent")
def test_accept_with_branche_commits_on_a_new_branch(bank):
    root, store = bank
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Équipe de test")
    git(root, "config", "user.email", "equipe@exemple.fr")
    git(root, "add", "practices")
    git(root, "commit", "-q", "-m", "Banque")
    (root / "notes.txt").write_text("brouillon", encoding="utf-8")  # not part of the commit
    proposal = store.submit("car-numerique", draft())
    result = kb("propositions", "accept", str(proposal.id), "--branche")
    assert result.exit_code == 0, result.output
    branch = "proposition-1-car-numerique"
    assert f"Branche « {branch} » créée" in result.output and f"git push -u origin {branch}" in result.output
    assert git(root, "branch", "--show-current") == branch
    assert git(root, "log", "-1", "--format=%s") == ("Ajoute la fiche « Un car numérique itinérant pour les "
                                                     "démarches en ligne » (proposition n° 1)")
    assert git(root, "show", "--name-only", "--format=", "HEAD") == "practices/car-numerique.md"
    assert git(root, "log", "--format=%s", "main") == "Banque"


@pytest.mark.skipif(shutil.which("git") is None, reason="git absent")
def test_accept_with_branche_outside_a_repository_or_without_git_says_so(bank, monkeypatch, tmp_path):
    root, store = bank
    proposal = store.submit("car-numerique", draft())
    result = kb("propositions", "accept", str(proposal.id), "--branche")
    assert result.exit_code == 1 and "n'est pas dans un dépôt git" in result.output
    monkeypatch.setenv("PATH", str(tmp_path / "vide"))
    result = kb("propositions", "accept", str(proposal.id), "--branche")
    assert result.exit_code == 1 and "git est introuvable" in result.output
    assert not (root / "practices" / "car-numerique.md").exists() and store.get(proposal.id).status == "nouvelle"


# ----------------------------------------------------------------------------- the Relecture page


HOSTILE = draft(extra=' <script>alert("fiche")</script> <img src="x" onerror="alert(1)"> [lien](javascript:alert(2))')


@pytest.fixture
def relecture(bank, monkeypatch):
    """The Relecture page alone (it needs no index), on the bank, with the secret set."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("KB_RELECTURE_SECRET", SECRET)
    return AppTest.from_file(str(PAGE), default_timeout=30)


def sign_in(at, secret: str = SECRET):
    at.text_input(key="r_secret").input(secret)
    at.button(key="r_enter").click()
    return at.run()


def test_the_relecture_page_shows_nothing_without_a_secret(bank):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PAGE), default_timeout=30).run()
    assert not at.exception and not at.text_input
    assert "n'est pas activée" in at.error[0].value


def test_a_wrong_secret_is_refused_then_rate_limited(relecture, bank):
    at = relecture.run()
    assert at.text_input(key="r_secret").proto.type == at.text_input(key="r_secret").proto.PASSWORD
    for n in range(SECRET_TRIES):
        sign_in(at, f"mauvais-{n}")
        assert not at.exception and "Secret incorrect" in at.error[0].value
    sign_in(at)  # the right secret, but too many wrong ones
    assert "Trop d'essais incorrects : réessayez dans 15 minutes." == at.error[0].value
    assert not at.selectbox


def test_html_of_a_proposal_is_never_rendered_on_the_relecture_page(relecture, bank):
    _, store = bank
    proposal = store.submit("car-numerique", HOSTILE, email="marie@exemple.fr")
    at = sign_in(relecture.run())
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="r_chosen").value == proposal.id
    assert at.code[0].value.strip() == HOSTILE.strip()  # the source, as code
    assert at.warning and "script" in at.warning[0].value  # the validator's warning, escaped
    shown = [e.value for e in (*at.markdown, *at.error, *at.warning, *at.success, *at.info)]
    for value in shown:  # Markdown: every "<" escaped, so shown as a sign, never a tag
        assert not re.search(r"(?<!\\)<", value), value
    assert all("<script" not in h.value and "onerror" not in h.value for h in at.get("html"))


def test_the_relecture_page_accepts_and_rejects(relecture, bank):
    root, store = bank
    first = store.submit("car-numerique", draft())
    second = store.submit("tiers-lieu", draft("Un tiers-lieu numérique dans une ancienne gare"))
    at = sign_in(relecture.run())
    at.selectbox(key="r_chosen").select(first.id).run()
    at.button(key=f"r_accept_{first.id}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert (root / "practices" / "car-numerique.md").exists() and store.get(first.id).status == "acceptee"
    assert "Proposition n° 1 acceptée" in at.success[0].value
    at.selectbox(key="r_chosen").select(second.id).run()
    at.button(key=f"r_reject_{second.id}").click().run()
    assert "Indiquez le motif du refus" in at.error[0].value and store.get(second.id).status == "nouvelle"
    at.text_area(key=f"r_note_{second.id}").input("Hors sujet <b>ici</b>")
    at.button(key=f"r_reject_{second.id}").click().run()
    assert store.get(second.id).status == "refusee"
    at.radio(key="r_filter").set_value("refusee").run()
    assert any("Hors sujet \\<b\\>ici\\</b\\>" in m.value for m in at.markdown)  # the note, escaped
    at.button(key="r_sign_out").click().run()
    assert at.text_input(key="r_secret")


# ----------------------------------------------------------------------------- in the application


@pytest.fixture(scope="module")
def small_bank(tmp_path_factory):
    from kb.build import build

    root = tmp_path_factory.mktemp("proposals-bank")
    (root / "practices").mkdir()
    (root / "practices" / "bus-numerique.md").write_text(VALID, encoding="utf-8")
    settings = load_settings(root, index_dir=root / "index")
    build(settings)
    return settings


@pytest.fixture
def app(small_bank, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("KB_ROOT", str(small_bank.root))
    monkeypatch.setenv("KB_INDEX_DIR", str(small_bank.index_path))
    monkeypatch.setenv("KB_PROPOSALS_DB", str(tmp_path / "proposals.db"))
    for name in ("KB_EDIT_URL", "KB_BASE_URL", "KB_FORGE_NEW_FILE_URL", "KB_FORGE_ISSUE_URL", "KB_RELECTURE_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return AppTest.from_file(str(APP), default_timeout=60), Store(tmp_path / "proposals.db")


@pytest.mark.model
def test_contribuer_proposes_a_valid_draft_once(app):
    from test_forge import fill_valid_draft, open_page

    at, store = app
    at = open_page(at, "contribuer")
    slug = fill_valid_draft(at)
    assert "Votre courriel ne sert qu'à vous répondre" in " ".join(c.value for c in at.caption).replace("**", "")
    at.text_input(key="p_email").input("marie@exemple.fr")
    at.button(key="p_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    assert f"votre fiche « {slug} » est proposée" in at.success[-1].value
    [stored] = store.list()
    assert (stored.slug, stored.email, stored.text) == (slug, "marie@exemple.fr", at.code[0].value + "\n")
    at.run()  # the same draft is not proposed twice
    assert not [b for b in at.button if b.key == "p_submit"] and "est proposée" in at.success[-1].value


@pytest.mark.model
def test_contribuer_with_the_honeypot_filled_stores_nothing(app):
    from test_forge import fill_valid_draft, open_page

    at, store = app
    at = open_page(at, "contribuer")
    fill_valid_draft(at)
    at.text_input(key="p_site").input("https://spam.example")
    at.button(key="p_submit").click().run()
    assert not at.exception and "est proposée" in at.success[-1].value  # told the same
    assert store.list() == [] and not store.path.exists()


@pytest.mark.model
def test_the_relecture_page_is_registered_only_with_a_secret(app, monkeypatch):
    if "relecture.py" not in APP.read_text(encoding="utf-8"):
        pytest.skip("kb/webapp/app.py n'enregistre pas encore la page Relecture")
    at, _ = app
    at.run()
    assert not at.exception
    with pytest.raises(ValueError):  # not a page of the application
        at.switch_page("views/relecture.py")
    monkeypatch.setenv("KB_RELECTURE_SECRET", SECRET)
    at.run()
    at.switch_page("views/relecture.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Relecture des propositions" and at.text_input(key="r_secret")
