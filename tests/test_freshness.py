"""Fiches to review: mise_a_jour older than the relecture_mois setting (kb.freshness)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

import kb.build
from conftest import variant
from kb.catalog import Catalog
from kb.cli import main
from kb.freshness import french_date, months_before, review_due
from kb.model import Fiche
from kb.settings import SettingsError, load_settings
from kb.stats import bank_stats

OLD = "mise_a_jour: 2022-01-10"
OLDER = "mise_a_jour: 2021-05-01"


def test_dates_and_ages():
    assert french_date("2026-09-15") == "15 septembre 2026" and french_date("2024-08-01") == "1er août 2024"
    assert months_before(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
    assert months_before(dt.date(2026, 12, 2), 24) == dt.date(2024, 12, 2)
    today = dt.date(2026, 12, 2)
    assert review_due("2024-12-01", 24, today) and not review_due("2024-12-02", 24, today)
    assert not review_due("pas une date", 24, today)


def test_setting_default_bounds_and_kb_toml(tmp_path):
    assert load_settings(tmp_path).relecture_mois == 24
    (tmp_path / "kb.toml").write_text("[kb]\nrelecture_mois = 12\n", encoding="utf-8")
    assert load_settings(tmp_path).relecture_mois == 12
    (tmp_path / "kb.toml").write_text("[kb]\nrelecture_mois = 0\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="relecture_mois"):
        load_settings(tmp_path)


def test_validate_warns_and_never_fails_on_an_old_fiche(tmp_path, write_fiche):
    write_fiche("bus-numerique.md")
    old = write_fiche("vieille-fiche.md", variant(mise_a_jour=OLD, titre="titre: Une vieille fiche qui attend sa relecture"))
    runner = CliRunner()
    result = runner.invoke(main, ["--root", str(tmp_path), "validate"])
    assert result.exit_code == 0, result.output
    assert f"{old}:20: warning: fiche relue le 2022-01-10, il y a plus de 24 mois" in result.output
    assert "0 erreur(s), 1 avertissement(s)." in result.output and "docs/format.md" in result.output
    (tmp_path / "kb.toml").write_text("[kb]\nrelecture_mois = 240\n", encoding="utf-8")
    result = runner.invoke(main, ["--root", str(tmp_path), "validate"])
    assert "0 erreur(s), 0 avertissement(s)." in result.output and "docs/format.md" not in result.output
    # kb build --strict refuses invalid fiches only: an old fiche is built
    (tmp_path / "kb.toml").unlink()
    import unittest.mock as mock
    with mock.patch.object(kb.build, "available", lambda extra: False):
        result = runner.invoke(main, ["--root", str(tmp_path), "build", "--strict", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "2 fiche(s)" in result.output


def test_stats_lists_fiches_to_review_oldest_first(tmp_path, write_fiche, monkeypatch):
    write_fiche("bus-numerique.md")
    write_fiche("vieille-fiche.md", variant(mise_a_jour=OLD, titre="titre: Une vieille fiche qui attend sa relecture"))
    write_fiche("tres-vieille.md", variant(mise_a_jour=OLDER, titre="titre: Une très vieille fiche oubliée là"))
    monkeypatch.setattr(kb.build, "available", lambda extra: False)
    settings = load_settings(tmp_path)
    kb.build.build(settings)
    data = bank_stats(Catalog(settings.catalog_path), 24, dt.date(2026, 12, 2))
    assert data["a_relire"] == [("tres-vieille", "2021-05-01"), ("vieille-fiche", "2022-01-10")]
    assert bank_stats(Catalog(settings.catalog_path), 240)["a_relire"] == []
    runner = CliRunner()
    output = runner.invoke(main, ["--root", str(tmp_path), "stats"]).output
    section = output.split("Fiches à relire (plus de 24 mois):\n")[1].splitlines()
    assert section[:2] == ["  tres-vieille: relue le 1er mai 2021", "  vieille-fiche: relue le 10 janvier 2022"]
    data = json.loads(runner.invoke(main, ["--root", str(tmp_path), "stats", "--json"]).output)
    assert list(data["a_relire"]) == ["tres-vieille", "vieille-fiche"]


def test_fiche_page_line_and_badge():
    pytest.importorskip("nh3")
    from kb.webapp import components

    fiche = Fiche(slug="x", path="x.md", body="", sections=[], titre="Titre de test", resume="r",
                  thematiques=[], publics=[], territoire={}, porteur="p", debut="2022", statut="en-cours",
                  mise_a_jour="2026-09-15")
    fresh = components.review_line(fiche, 24, dt.date(2026, 12, 2))
    assert "Fiche relue le 15 septembre 2026" in fresh and "à relire" not in fresh
    stale = components.review_line(fiche, 24, dt.date(2029, 1, 1))
    assert "Fiche relue le 15 septembre 2026" in stale and 'kb-badge-relire' in stale and "à relire</span>" in stale
