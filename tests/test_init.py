"""kb init: a new bank in an empty folder, valid and buildable with the core install."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

import kb.build
from kb.cli import main
from kb.cli_init import DEFAULT_REPO, EXAMPLE_SLUG


def test_init_then_validate_and_build(tmp_path, monkeypatch):
    bank = tmp_path / "banque"
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(bank), "--depot", "https://forge.test/kb.git"])
    assert result.exit_code == 0, result.output
    for name in ("kb.toml", f"practices/{EXAMPLE_SLUG}.md", ".pre-commit-config.yaml", ".github/workflows/fiches.yml",
                 ".gitlab-ci.yml", "README.md", ".gitignore"):
        assert (bank / name).is_file(), name
    # the CI installs the core only, from the given repository, and validates on pull requests
    github = yaml.safe_load((bank / ".github/workflows/fiches.yml").read_text(encoding="utf-8"))
    runs = [step.get("run", "") for step in github["jobs"]["valider"]["steps"]]
    assert 'pip install "kb-experiences @ git+https://forge.test/kb.git"' in runs and "kb validate" in runs
    assert "pull_request" in github[True]  # YAML 1.1 reads the key « on » as true
    gitlab = yaml.safe_load((bank / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    assert "merge_request_event" in gitlab["fiches"]["rules"][0]["if"] and "kb validate" in gitlab["fiches"]["script"]
    for text in (github, gitlab):
        assert "[" not in str(text).split("kb-experiences")[1].split('"')[0]  # no extra
    hooks = yaml.safe_load((bank / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert hooks["repos"][0]["repo"] == "https://forge.test/kb.git"
    assert hooks["repos"][0]["hooks"] == [{"id": "kb-validate"}]
    assert "docs/format.md" in (bank / "README.md").read_text(encoding="utf-8")

    result = runner.invoke(main, ["--root", str(bank), "validate"])
    assert result.exit_code == 0, result.output
    assert "1 fichier(s) vérifié(s): 0 erreur(s), 0 avertissement(s)." in result.output
    monkeypatch.setattr(kb.build, "available", lambda extra: False)  # the core install: no vectors
    result = runner.invoke(main, ["--root", str(bank), "build", "--strict", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "1 fiche(s) (1 ajoutée(s)" in result.output and "0 fichier(s) invalide(s)" in result.output


def test_init_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "notes.txt").write_text("à garder", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["--root", str(tmp_path), "init"])
    assert result.exit_code == 1 and "n'est pas vide" in result.output and "--force" in result.output
    assert not (tmp_path / "kb.toml").exists()
    (tmp_path / "README.md").write_text("le mien", encoding="utf-8")
    result = runner.invoke(main, ["--root", str(tmp_path), "init", "--force"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "le mien"  # never overwritten
    assert (tmp_path / "kb.toml").is_file() and "Déjà présents" in result.output and DEFAULT_REPO in result.output
