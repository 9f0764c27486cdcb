"""Fiches proposed from the application without git, and their review.

The Contribuer page stores a valid draft as a *proposal*; editors review it with
``kb propositions`` (kb.cli_propositions) or on the Relecture page, both through the functions
here. Proposals live in a writable SQLite file of their own (the ``proposals_db`` setting,
default ``proposals.db`` at the bank's root), never in the catalog, which only ``kb build`` writes.

Limits: a proposal is at most :data:`MAX_BYTES`; a client sends at most :data:`HOURLY_LIMIT` per
hour; at most :data:`MAX_PENDING` wait for review. A client is the address of the connection
(:func:`client_address`), kept only as a salted hash for one day. A contributor's e-mail is
erased :data:`EMAIL_DAYS_AFTER_DECISION` days after the decision, :data:`EMAIL_MAX_DAYS` days after
sending at the latest. The Relecture page's secret allows :data:`SECRET_TRIES` wrong tries per
:data:`SECRET_WINDOW` seconds and client; wrong tries are logged, never the value tried.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from kb.fiche import SLUG_RE, parse_bytes
from kb.problems import ERROR, Problem

log = logging.getLogger(__name__)

STATUSES = {"nouvelle": "nouvelle", "acceptee": "acceptée", "refusee": "refusée"}
MAX_BYTES = 100_000
HOURLY_LIMIT = 5
MAX_PENDING = 500
SECRET_TRIES = 5
SECRET_WINDOW = 15 * 60
EMAIL_DAYS_AFTER_DECISION = 30
EMAIL_MAX_DAYS = 180
CLIENT_KEEP = 24 * 3600  # seconds a client's hash stays on its proposals (the rate limit needs one hour)
MAX_NOTE = 2_000
EMAIL_RE = re.compile(r"^[^@\s<>\"'`]{1,64}@[^@\s<>\"'`]+\.[^@\s<>\"'`]+$")
DAY = 24 * 3600

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS proposals (
    id INTEGER PRIMARY KEY AUTOINCREMENT, slug TEXT NOT NULL, text TEXT NOT NULL, created REAL NOT NULL,
    email TEXT, client TEXT, status TEXT NOT NULL DEFAULT 'nouvelle', note TEXT NOT NULL DEFAULT '',
    decided REAL);
CREATE INDEX IF NOT EXISTS proposals_client ON proposals (client, created);
CREATE TABLE IF NOT EXISTS secret_failures (client TEXT NOT NULL, at REAL NOT NULL);
"""


class ProposalError(Exception):
    """A proposal refused or an action impossible, with a French message saying why."""


class InvalidProposal(ProposalError):
    """A proposal the validator refuses; ``problems`` says where (file and line)."""

    def __init__(self, message: str, problems: list[Problem]):
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class Proposal:
    id: int
    slug: str
    text: str
    created: float
    email: str
    status: str
    note: str
    decided: float | None

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def date(self) -> str:
        """« 2026-12-02 18:05 », local time."""
        return stamp(self.created)


def stamp(seconds: float | None) -> str:
    return dt.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M") if seconds else ""


def client_address(ip, headers: Mapping[str, str] | None = None) -> str:
    """What the rate limits count as one client: the peer address of the connection; when the
    peer is this machine (Streamlit then gives ``None``), the last address of X-Forwarded-For,
    the one a reverse proxy on this machine appended (the earlier ones are the client's word);
    else "local". An IPv6 address counts by its /64 network, what one subscriber is given."""
    address = ip if isinstance(ip, str) and ip else None
    if address is None and headers:
        try:
            forwarded = headers.get("X-Forwarded-For") or headers.get("x-forwarded-for") or ""
        except Exception:  # a headers object that cannot be read: no proxy information
            forwarded = ""
        address = forwarded.split(",")[-1].strip() or None if isinstance(forwarded, str) else None
    if address is None:
        return "local"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if parsed.version == 6:
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def session_token(secret: str) -> str:
    """What a signed-in session keeps instead of the secret (another secret signs it out)."""
    return hmac.new(secret.encode("utf-8"), b"kb-relecture-session", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SecretCheck:
    ok: bool
    wait: int = 0  # seconds before another try is allowed (0: now)
    left: int = 0  # tries left in the window after a wrong one


@dataclass
class Store:
    """The proposals file. Each call opens, works and closes (the application runs several
    sessions in threads); the file is only created by the first write."""

    path: Path
    clock: object = field(default=time.time, repr=False)

    # ------------------------------------------------------------------------- connection

    @contextlib.contextmanager
    def _db(self, write: bool = True) -> Iterator[sqlite3.Connection | None]:
        if not write and not self.path.exists():
            yield None
            return
        try:
            if write:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10)
        except (OSError, sqlite3.Error) as exc:
            raise ProposalError(self._unusable(exc)) from exc
        try:
            with db:
                db.executescript(SCHEMA)
                self._purge(db, self.clock())
                yield db
        except sqlite3.Error as exc:
            raise ProposalError(self._unusable(exc)) from exc
        finally:
            db.close()

    def _unusable(self, exc: Exception) -> str:
        return (f"le fichier des propositions {self.path} ne peut pas être lu ou écrit ({exc}) : vérifiez les droits "
                "du dossier, ou choisissez un autre fichier avec le réglage « proposals_db ».")

    def _salt(self, db: sqlite3.Connection) -> bytes:
        row = db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
        if row is None:
            row = (secrets.token_hex(16),)
            db.execute("INSERT INTO meta (key, value) VALUES ('salt', ?)", row)
        return bytes.fromhex(row[0])

    def _client(self, db: sqlite3.Connection, client: str) -> str:
        """The client as a salted hash: the store never holds an address."""
        return hmac.new(self._salt(db), client.encode("utf-8"), hashlib.sha256).hexdigest()[:24]

    @staticmethod
    def _purge(db: sqlite3.Connection, now: float) -> None:
        db.execute("UPDATE proposals SET email = NULL WHERE email IS NOT NULL AND (created < ? OR decided < ?)",
                   (now - EMAIL_MAX_DAYS * DAY, now - EMAIL_DAYS_AFTER_DECISION * DAY))
        db.execute("UPDATE proposals SET client = NULL WHERE client IS NOT NULL AND created < ?", (now - CLIENT_KEEP,))
        db.execute("DELETE FROM secret_failures WHERE at < ?", (now - SECRET_WINDOW,))

    # ------------------------------------------------------------------------- proposals

    def submit(self, slug: str, text: str, email: str = "", client: str = "local",
               honeypot: str = "") -> Proposal | None:
        """Store a draft as a new proposal; None, and nothing stored, when the honeypot field is
        filled (a robot: it is told the same success as a person)."""
        if honeypot.strip():
            log.info("proposition ignorée : champ piège rempli")
            return None
        size = len(text.encode("utf-8"))
        if size > MAX_BYTES:
            raise ProposalError(f"La fiche est trop longue pour être proposée : {size // 1000} Ko, pour "
                                f"{MAX_BYTES // 1000} Ko au plus. Raccourcissez les sections les plus longues.")
        email = (email or "").strip()
        if email and (len(email) > 254 or not EMAIL_RE.match(email)):
            raise ProposalError("Le courriel « votre courriel » n'est pas une adresse valide "
                                "(par exemple prenom.nom@exemple.fr) ; laissez-le vide si vous préférez.")
        fiche_problems = draft_errors(slug, text)
        if fiche_problems:
            raise InvalidProposal("La fiche contient des erreurs : corrigez-les avant de la proposer.", fiche_problems)
        now = self.clock()
        with self._db() as db:
            key = self._client(db, client)
            sent = db.execute("SELECT COUNT(*) FROM proposals WHERE client = ? AND created > ?",
                              (key, now - 3600)).fetchone()[0]
            if sent >= HOURLY_LIMIT:
                raise ProposalError(f"Vous avez déjà proposé {sent} fiches dans l'heure : c'est le maximum. "
                                    "Réessayez dans une heure.")
            if db.execute("SELECT 1 FROM proposals WHERE status = 'nouvelle' AND text = ?", (text,)).fetchone():
                raise ProposalError("Cette fiche a déjà été proposée et attend sa relecture.")
            pending = db.execute("SELECT COUNT(*) FROM proposals WHERE status = 'nouvelle'").fetchone()[0]
            if pending >= MAX_PENDING:
                log.warning("proposition refusée : %d propositions attendent déjà leur relecture", pending)
                raise ProposalError("Trop de propositions attendent leur relecture : réessayez dans quelques jours.")
            cursor = db.execute("INSERT INTO proposals (slug, text, created, email, client) VALUES (?, ?, ?, ?, ?)",
                                (slug, text, now, email or None, key))
            new_id = cursor.lastrowid
        log.info("proposition n° %d enregistrée (%s)", new_id, slug)
        return self.get(new_id)

    def get(self, proposal_id: int) -> Proposal:
        with self._db(write=False) as db:
            row = db and db.execute(f"SELECT {COLUMNS} FROM proposals WHERE id = ?", (int(proposal_id),)).fetchone()
        if not row:
            raise ProposalError(f"Aucune proposition n° {proposal_id} (voir « kb propositions list »).")
        return _proposal(row)

    def list(self, status: str | None = None) -> list[Proposal]:
        """The proposals, newest first; with ``status``, only those."""
        if status is not None and status not in STATUSES:
            raise ProposalError(f"statut « {status} » inconnu (valeurs : {', '.join(STATUSES)}).")
        with self._db(write=False) as db:
            if db is None:
                return []
            where, values = ("WHERE status = ?", (status,)) if status else ("", ())
            rows = db.execute(f"SELECT {COLUMNS} FROM proposals {where} ORDER BY id DESC", values).fetchall()
        return [_proposal(row) for row in rows]

    def decide(self, proposal_id: int, status: str, note: str = "") -> Proposal:
        """Mark a new proposal accepted or refused, with the reviewer's note."""
        proposal = self.get(proposal_id)
        if proposal.status != "nouvelle":
            raise ProposalError(f"La proposition n° {proposal.id} est déjà {proposal.status_label}"
                                f"{f' ({stamp(proposal.decided)})' if proposal.decided else ''}.")
        with self._db() as db:
            db.execute("UPDATE proposals SET status = ?, note = ?, decided = ? WHERE id = ?",
                       (status, (note or "").strip()[:MAX_NOTE], self.clock(), proposal.id))
        return self.get(proposal.id)

    def forget_email(self, proposal_id: int) -> Proposal:
        """Erase the contributor's e-mail now (on her request)."""
        proposal = self.get(proposal_id)
        with self._db() as db:
            db.execute("UPDATE proposals SET email = NULL WHERE id = ?", (proposal.id,))
        return self.get(proposal.id)

    # ------------------------------------------------------------------------- the Relecture secret

    def check_secret(self, expected: str, tried: str, client: str = "local") -> SecretCheck:
        """Compare ``tried`` with the secret (in constant time), after the client's wrong tries
        of the last :data:`SECRET_WINDOW` seconds: past :data:`SECRET_TRIES`, no comparison."""
        now = self.clock()
        with self._db() as db:
            key = self._client(db, client)
            times = [row[0] for row in db.execute(
                "SELECT at FROM secret_failures WHERE client = ? AND at > ? ORDER BY at",
                (key, now - SECRET_WINDOW))]
            if len(times) >= SECRET_TRIES:
                wait = int(times[-SECRET_TRIES] + SECRET_WINDOW - now) + 1
                log.warning("relecture : essai bloqué (client %s, %d essais refusés en %d min)", key[:8], len(times),
                            SECRET_WINDOW // 60)
                return SecretCheck(False, wait=wait)
            if expected and hmac.compare_digest(tried.encode("utf-8"), expected.encode("utf-8")):
                return SecretCheck(True)
            db.execute("INSERT INTO secret_failures (client, at) VALUES (?, ?)", (key, now))
        log.warning("relecture : secret incorrect (client %s, essai %d sur %d en %d min)", key[:8], len(times) + 1,
                    SECRET_TRIES, SECRET_WINDOW // 60)
        return SecretCheck(False, left=SECRET_TRIES - len(times) - 1)


COLUMNS = "id, slug, text, created, email, status, note, decided"


def _proposal(row) -> Proposal:
    return Proposal(row[0], row[1], row[2], row[3], row[4] or "", row[5], row[6] or "", row[7])


def draft_errors(slug: str, text: str) -> list[Problem]:
    """The errors of a draft on its own (the validator of ``kb validate``), and of its identifier:
    a file name that stays in practices/."""
    if not (isinstance(slug, str) and SLUG_RE.match(slug)):
        raise ProposalError(f"identifiant « {str(slug)[:80]} » invalide : des minuscules, chiffres et tirets.")
    _, problems = parse_bytes(text.encode("utf-8"), Path("practices") / f"{slug}.md")
    return [p for p in problems if p.severity == ERROR]


def email_erased_on(proposal: Proposal) -> str:
    """The date the contributor's e-mail will be erased at the latest (« 2027-06-01 »)."""
    limit = proposal.created + EMAIL_MAX_DAYS * DAY
    if proposal.decided:
        limit = min(limit, proposal.decided + EMAIL_DAYS_AFTER_DECISION * DAY)
    return dt.date.fromtimestamp(limit).isoformat()
