"""Settings: kb.toml, then KB_* variables, then command-line options; bad values refused with
the setting, where it came from and what is allowed."""

from __future__ import annotations

import pytest

from kb.settings import SettingsError, load_settings


def test_later_sources_override_earlier_ones(tmp_path, monkeypatch):
    (tmp_path / "kb.toml").write_text("[kb]\ndense_weight = 0.3\nnprobe = 8\n", encoding="utf-8")
    monkeypatch.setenv("KB_NPROBE", "16")
    settings = load_settings(tmp_path, dense_candidates=20)
    assert (settings.dense_weight, settings.nprobe, settings.dense_candidates) == (0.3, 16, 20)


@pytest.mark.parametrize("text, message", [
    ("[kb]\ndense_weight = 1.5\n", "kb.toml: réglage « dense_weight » = 1.5 hors limites (entre 0.0 et 1.0)."),
    ("[kb]\nnprobe = 0\n", "kb.toml: réglage « nprobe » = 0 hors limites (au moins 1)."),
    ("[kb]\nbackend = \"cuda\"\n", "kb.toml: réglage « backend » = « cuda » inconnu (valeurs: torch, onnx, openvino)."),
    ("[kb]\nbatch_size = \"beaucoup\"\n", "réglage « batch_size »: valeur « beaucoup » invalide"),
    ("[kb]\nmodele = \"x\"\n", "kb.toml: réglage inconnu « modele »"),
])
def test_bad_values_in_kb_toml_are_refused_with_the_fix(tmp_path, text, message):
    (tmp_path / "kb.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        load_settings(tmp_path)
    assert message in str(error.value)


def test_a_bad_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_RRF_K", "-3")
    with pytest.raises(SettingsError, match=r"variable KB_RRF_K: réglage « rrf_k » = -3 hors limites \(au moins 1\)"):
        load_settings(tmp_path)


def test_the_cli_reports_a_bad_setting_without_traceback(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from kb.cli import main

    monkeypatch.setenv("KB_ROOT", str(tmp_path))
    monkeypatch.setenv("KB_DENSE_WEIGHT", "2")
    result = CliRunner().invoke(main, ["stats"])
    assert isinstance(result.exception, SystemExit) and result.exit_code != 0  # a message, not a crash
    assert "variable KB_DENSE_WEIGHT: réglage « dense_weight » = 2.0 hors limites" in result.output
