"""The public API (kb/__init__.py, kb/api.py): the README's example runs on the bundled bank,
``import kb`` stays light, and a Bank gives what the engine gives, typed."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

import kb
from conftest import ROOT, variant
from kb.filters import Filters

EXAMPLE = re.compile(r"<!-- api-example -->\s*```python\n(.*?)```\s*<!-- /api-example -->", re.S)


def readme_example() -> str:
    found = EXAMPLE.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(found) == 1, "README.md: one python block between <!-- api-example --> and <!-- /api-example -->"
    return found[0]


@pytest.mark.model
def test_readme_example_runs_on_the_bundled_bank(bundled_settings, bundled_engine, monkeypatch, capsys):
    code = readme_example()
    assert len(code.strip().splitlines()) <= 10
    monkeypatch.chdir(ROOT)  # the example opens the bank of the current folder…
    monkeypatch.setenv("KB_INDEX_DIR", str(bundled_settings.index_path))  # …with the session's index
    exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})
    lines = capsys.readouterr().out.splitlines()

    expected = bundled_engine.search("ateliers numériques", Filters(densites=["rural"]), limit=3)
    assert '"ateliers numériques", kb.Filters(densites=["rural"]), limit=3' in code
    assert len(expected.hits) == 3 and expected.total > 3
    fiche = bundled_engine.get(expected.hits[0].slug)
    similar = [h.slug for h in bundled_engine.similar(fiche.slug, limit=2)]
    assert lines == [f"{expected.total} fiches comptées",
                     *(f"True {hit.titre}" for hit in expected.hits),
                     f"{fiche.territoire['nom']} {fiche.regions} {[s.title for s in fiche.sections][:2]}",
                     str(similar)]


def test_import_kb_loads_no_heavy_library():
    code = ("import sys, kb; kb.open_bank, kb.Bank, kb.Filters, kb.Fiche, kb.Hit, kb.Results, kb.Problem; "
            "print(sorted(m for m in ('numpy', 'faiss', 'torch', 'sentence_transformers', 'sqlite_utils', "
            "'streamlit') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_public_names_are_documented():
    assert set(kb.__all__) == {"Bank", "BankCheck", "Fiche", "Filters", "Hit", "Problem", "Results", "Section",
                               "open_bank"}
    for name in kb.__all__:
        assert getattr(kb, name).__doc__, name
    for method in ("search", "similar", "facets", "get", "count", "validate", "close"):
        assert getattr(kb.Bank, method).__doc__, method
    assert "Bank" in dir(kb)
    with pytest.raises(AttributeError):
        kb.no_such_name
    assert (ROOT / "kb" / "py.typed").exists()


def test_validate_needs_no_index(tmp_path, write_fiche):
    write_fiche("bon.md")
    write_fiche("sans-titre.md", variant(titre=None))
    bank = kb.open_bank(tmp_path)
    check = bank.validate()
    assert isinstance(check, kb.BankCheck) and check.files == 2
    assert [f.slug for f in check.valid] == ["bon"] and all(isinstance(f, kb.Fiche) for f in check.valid)
    assert check.problems and all(isinstance(p, kb.Problem) for p in check.problems)
    assert {p.path for p in check.problems if p.severity == "error"} == {str(tmp_path / "practices" / "sans-titre.md")}
    assert bank.validate(tmp_path / "practices" / "bon.md").problems == []
    assert not (tmp_path / "index").exists()


@pytest.mark.model
def test_a_bank_gives_what_the_engine_gives_typed(bundled_settings, bundled_engine):
    query = "médiation numérique"
    with kb.Bank(bundled_settings) as bank:
        results = bank.search(query, {"publics": "seniors"}, limit=5)
        same = bundled_engine.search(query, Filters(publics=["seniors"]), limit=5)
        assert results.to_dict() == same.to_dict() and json.dumps(results.to_dict(), ensure_ascii=False)
        hit = results.hits[0]
        assert isinstance(results, kb.Results) and isinstance(hit, kb.Hit) and isinstance(hit.fiche, kb.Fiche)
        assert hit.fiche == bank.get(hit.slug) and "seniors" in hit.fiche.publics
        assert all(isinstance(s, kb.Section) for s in hit.fiche.sections)
        assert bank.get("aucune-fiche-de-ce-nom") is None
        assert [h.slug for h in bank.similar(hit.slug, limit=3)] == \
            [h.slug for h in bundled_engine.similar(hit.slug, limit=3)]
        assert bank.facets(query=query) == bundled_engine.facets(query=query)
        assert bank.facets(kb.Filters(densites=["rural"]))["densite_niveau"] == {"rural": bank.search(
            "", {"densites": ["rural"]}).total}
        assert bank.count() == bundled_engine.count()
        with pytest.raises(ValueError, match="senior"):
            bank.search(query, {"publics": ["senior"]})
        with pytest.raises(ValueError, match="filtre inconnu"):
            bank.search(query, {"public": ["seniors"]})
        with pytest.raises(KeyError):
            bank.similar("aucune-fiche-de-ce-nom")
    assert bank.search(query, limit=1).total == bundled_engine.search(query, limit=1).total  # reopened
    bank.close()
