"""The kb command through click's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

import kb.embed
from conftest import ROOT, FakeEmbedder, variant
from kb.cli import main


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def fake_model(monkeypatch):
    monkeypatch.setattr(kb.embed.Embedder, "from_settings", classmethod(lambda cls, settings: FakeEmbedder()))


def invoke(runner, tmp_path, *args):
    return runner.invoke(main, ["--root", str(tmp_path), *args], catch_exceptions=False)


def test_validate_exit_codes_and_format(runner, tmp_path, write_fiche):
    write_fiche("bus-numerique.md")
    result = invoke(runner, tmp_path, "validate")
    assert result.exit_code == 0, result.output
    assert "1 fichier(s) vérifié(s): 0 erreur(s), 0 avertissement(s)." in result.output

    bad = write_fiche("bus-casse.md", variant(publics="publics: [senior]", statut="statut: fini"))
    result = invoke(runner, tmp_path, "validate", str(bad))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"{bad}:7: error: « senior » n'est pas une valeur de « publics »: vouliez-vous dire « seniors » ? " \
           "(voir kb/data/vocab.yaml pour les valeurs)." not in lines  # the listing is explicit when short
    assert any(line.startswith(f"{bad}:7: error: « senior »") and "« seniors »" in line for line in lines)
    assert any(line.startswith(f"{bad}:18: error: « fini »") for line in lines)


def test_validate_json(runner, tmp_path, write_fiche):
    write_fiche("bus-numerique.md", variant(statut="statut: fini"))
    result = invoke(runner, tmp_path, "validate", "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["errors"] == 1 and data["files"] == 1
    assert data["problems"][0] == {"path": str(tmp_path / "practices" / "bus-numerique.md"), "line": 18,
                                   "severity": "error",
                                   "message": "« fini » n'est pas une valeur de « statut »: "
                                              "(valeurs: en-projet, en-cours, termine, abandonne)."}


def test_new_writes_a_fiche_that_fails_until_completed(runner, tmp_path):
    result = invoke(runner, tmp_path, "new", "Un café numérique à l'EHPAD des Tilleuls")
    assert result.exit_code == 0, result.output
    path = tmp_path / "practices" / "un-cafe-numerique-a-ehpad-des-tilleuls.md"
    text = path.read_text(encoding="utf-8")
    assert 'titre: "Un café numérique à l\'EHPAD des Tilleuls"' in text
    for section in ("## Contexte", "## Objectifs", "## Mise en œuvre", "## Moyens", "## Résultats",
                    "## Difficultés et solutions", "## Conseils pour reproduire", "## Pour aller plus loin"):
        assert section in text
    import datetime as dt

    assert f"mise_a_jour: {dt.date.today().isoformat()}" in text
    result = invoke(runner, tmp_path, "validate", str(path))
    assert result.exit_code == 1
    assert "texte à compléter" in result.output
    assert invoke(runner, tmp_path, "new", "Un café numérique à l'EHPAD des Tilleuls").exit_code == 1


def test_build_stats_search_and_similar(runner, tmp_path, write_fiche, fake_model):
    write_fiche("bus-numerique.md")
    write_fiche("ateliers-seniors.md", variant(titre="titre: Des ateliers tablettes pour les aînés du village",
                                               **{"  type": "  type: commune"}))
    write_fiche("casse.md", variant(titre="titre: Une fiche cassée mais bien titrée", statut="statut: fini"))
    result = invoke(runner, tmp_path, "build")
    assert result.exit_code == 0, result.output
    assert "2 fiche(s) (2 ajoutée(s), 0 modifiée(s), 0 supprimée(s), 0 inchangée(s)); 1 fichier(s) invalide(s)" \
        in result.output
    assert "practices/casse.md:18: error: « fini »" in result.output

    result = invoke(runner, tmp_path, "stats")
    assert result.exit_code == 0, result.output
    assert "2 fiche(s) dans l'index, 1 département(s), 1 fichier(s) invalide(s) écarté(s)." in result.output
    assert "     2  Inclusion et médiation numérique (inclusion)" in result.output
    assert "       2  Aide aux démarches administratives (aide-demarches)" in result.output
    assert "     1  Commune (commune)" in result.output
    assert "     2  Rural (rural)" in result.output

    result = invoke(runner, tmp_path, "search", "tablettes aînés", "--type", "commune", "--json")
    data = json.loads(result.output)
    assert [h["slug"] for h in data["hits"]] == ["ateliers-seniors"]
    assert data["facets"]["type"] == {"commune": 1}

    result = invoke(runner, tmp_path, "search", "", "--densite", "rural")
    assert "2 fiche(s) pour cette sélection; 2 affichée(s)." in result.output

    result = invoke(runner, tmp_path, "search", "bus", "--public", "inconnu")
    assert result.exit_code == 2 and "valeur inconnue « inconnu »" in result.output

    result = invoke(runner, tmp_path, "similar", "bus-numerique", "--json")
    assert [h["slug"] for h in json.loads(result.output)] == ["ateliers-seniors"]
    assert invoke(runner, tmp_path, "similar", "nulle-part").exit_code == 1


def test_stats_without_index_says_what_to_do(runner, tmp_path):
    result = invoke(runner, tmp_path, "stats")
    assert result.exit_code == 1 and "lancez « kb build »" in result.output


def test_validate_and_stats_never_import_the_heavy_libraries(tmp_path, write_fiche):
    write_fiche("bus-numerique.md")
    code = ("import sys; from kb.cli import main\n"
            "try:\n    main(['--root', sys.argv[1], 'validate'])\nexcept SystemExit: pass\n"
            "try:\n    main(['--root', sys.argv[1], 'stats'])\nexcept SystemExit: pass\n"
            "heavy = [m for m in ('torch', 'faiss', 'sentence_transformers') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
