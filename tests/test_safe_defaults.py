"""Safe defaults: the application listens on this machine only and sends no usage statistics; the
fiches hold no real e-mail address or telephone number; no key or token is committed."""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

import kb.build
from conftest import ROOT
from kb.build import BuildReport
from kb.cli import main, serve

# ----------------------------------------------------------------------------- network


def test_serve_listens_on_localhost_by_default():
    host = next(p for p in serve.params if p.name == "host")
    assert host.default == "127.0.0.1"


@pytest.fixture
def started(monkeypatch):
    """`kb serve` up to the Streamlit command it would run (no build, no server)."""
    commands = []
    monkeypatch.setattr(kb.build, "build", lambda settings, **kwargs: BuildReport(fiches=3))
    monkeypatch.setattr(os, "execve", lambda path, command, env: commands.append(command))
    return commands


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_serve_starts_streamlit_on_localhost_without_usage_statistics(started, tmp_path):
    result = CliRunner().invoke(main, ["--root", str(tmp_path), "serve"])
    assert result.exit_code == 0, result.output
    [command] = started
    assert option(command, "--server.address") == "127.0.0.1"
    assert option(command, "--browser.gatherUsageStats") == "false"
    assert option(command, "--server.headless") == "true"
    assert "Application: http://localhost:8501" in result.output


def test_serve_opens_to_the_network_only_when_asked(started, tmp_path):
    result = CliRunner().invoke(main, ["--root", str(tmp_path), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert option(started[0], "--server.address") == "0.0.0.0"


def test_streamlit_config_at_the_root_is_local_and_private():
    """For `streamlit run kb/webapp/app.py` started by hand from the repository's root."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    assert config["browser"]["gatherUsageStats"] is False


def test_the_application_config_sends_no_usage_statistics():
    config = tomllib.loads((ROOT / "kb" / "webapp" / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config.get("browser", {}).get("gatherUsageStats") is False
    assert config.get("server", {}).get("address", "127.0.0.1") == "127.0.0.1"


# ----------------------------------------------------------------------------- personal data

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# French numbers: 0X XX XX XX XX, with spaces, dots or hyphens, or +33 (0)X…
PHONE_RE = re.compile(r"(?<![\d+])(?:\+33\s?(?:\(0\)\s?)?|0)\s?[1-9](?:[\s.-]?\d{2}){4}(?!\d)")
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")  # RFC 2606, with the .example TLD
FICTIONAL_PREFIX = "019900"  # ARCEP: 01 99 00 xx xx is kept for fiction


def fiche_texts():
    paths = sorted((ROOT / "practices").rglob("*.md"))
    assert len(paths) >= 50
    return [(path.relative_to(ROOT), path.read_text(encoding="utf-8")) for path in paths]


def test_patterns_find_what_they_look_for():
    assert EMAIL_RE.search("écrire à jean.dupont@mairie-ville.fr.")[1] == "mairie-ville.fr"
    for number in ("06 12 34 56 78", "06.12.34.56.78", "0612345678", "+33 6 12 34 56 78", "+33 (0)1 99 00 12 34",
                   "0 800 12 34 56"):
        assert PHONE_RE.search(f"appelez le {number} !"), number
    for not_a_number in ("140000", "2022-03-15", "18500 habitants", "1 200 accompagnements", "97410"):
        assert not PHONE_RE.search(not_a_number), not_a_number


def test_fiches_hold_only_reserved_e_mail_domains():
    found = [(str(path), match[0]) for path, text in fiche_texts() for match in EMAIL_RE.finditer(text)
             if not (match[1].lower().endswith(".example") or match[1].lower() in RESERVED_DOMAINS)]
    assert found == [], "adresses réelles dans les fiches (utilisez un domaine en .example)"


def test_fiches_hold_only_fictional_telephone_numbers():
    found = []
    for path, text in fiche_texts():
        for match in PHONE_RE.finditer(text):
            digits = re.sub(r"\D", "", match[0])
            national = "0" + digits[2:].removeprefix("0") if digits.startswith("33") else digits
            if not national.startswith(FICTIONAL_PREFIX):
                found.append((str(path), match[0]))
    assert found == [], "numéros hors de la plage fictive 01 99 00 xx xx"


# ----------------------------------------------------------------------------- secrets

SECRET_PATTERNS = {
    "private key": re.compile("-----BEGIN " + r"(?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b"),
    "GitLab token": re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    "OpenAI-style key": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}\b"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    "password or secret": re.compile(r"(?i)\b(?:password|passwd|mot_de_passe|secret|api[_-]?key|access[_-]?token|"
                                     r"auth[_-]?token|client[_-]?secret)\b\s*[:=]\s*[\"'][^\"'\s]{8,}[\"']"),
    "URL with credentials": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@]+:[^\s/@]{3,}@[^\s/]+"),
}


def ignored_patterns() -> list[str]:
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith(("#", "!"))]


def is_ignored(relative: Path, patterns: list[str]) -> bool:
    parts = relative.parts
    for pattern in patterns:
        directory_only = pattern.endswith("/")
        anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
        body = pattern.strip("/")
        for depth in range(1, len(parts) + 1):
            if directory_only and depth == len(parts):
                continue  # a folder pattern does not match the file itself
            prefix = "/".join(parts[:depth])
            if (fnmatch.fnmatch(prefix, body) if anchored else fnmatch.fnmatch(parts[depth - 1], body)):
                return True
    return False


def repository_text_files() -> list[Path]:
    """What git would track: every file not ignored by .gitignore (a superset of ``git ls-files``:
    new files are checked before they are committed)."""
    patterns = ignored_patterns()
    files = []
    for folder, subfolders, names in os.walk(ROOT):
        here = Path(folder).relative_to(ROOT)
        # ignored folders (.venv, index…) are not walked at all; a file pattern never names a folder
        subfolders[:] = sorted(d for d in subfolders if d != ".git" and not is_ignored(here / d / "x", patterns))
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file() or is_ignored(here / name, patterns):
                continue
            if path.stat().st_size > 5_000_000:
                continue
            if b"\x00" in path.read_bytes()[:8192]:
                continue  # binary
            files.append(path)
    return files


def test_the_file_list_follows_gitignore():
    relative = {str(p.relative_to(ROOT)) for p in repository_text_files()}
    assert "kb/cli.py" in relative and "tests/test_safe_defaults.py" in relative and ".gitignore" in relative
    assert not any(r.startswith((".venv/", "index/", ".git/")) or "__pycache__" in r for r in relative)
    assert is_ignored(Path("bench/results/x.json"), ignored_patterns())
    assert not is_ignored(Path("bench/run.py"), ignored_patterns())


def test_secret_patterns_find_what_they_look_for():
    samples = {
        "private key": "-----BEGIN " + "OPENSSH PRIVATE KEY-----",
        "AWS access key": "AKIA" + "ABCDEFGHIJKLMNOP",
        "GitHub token": "ghp_" + "a1" * 18,
        "Hugging Face token": "hf_" + "Ab" * 16,
        "password or secret": 'api_key = "' + "s3cr3t-value" + '"',
        "URL with credentials": "https://" + "user:motdepasse@forge.example/depot.git",
    }
    for name, sample in samples.items():
        assert SECRET_PATTERNS[name].search(sample), name


def test_no_private_key_or_token_is_committed():
    found = []
    for path in repository_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for name, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {name}")
    assert found == []
