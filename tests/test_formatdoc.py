"""docs/format.md, the editors' guide: its generated blocks are those of kb/data/vocab.yaml."""

from __future__ import annotations

from pathlib import Path

from kb import formatdoc
from kb.vocab import vocab

ROOT = Path(__file__).resolve().parent.parent


def test_format_doc_is_up_to_date():
    text = formatdoc.DOC_PATH.read_text(encoding="utf-8")
    assert text == formatdoc.updated(text), (
        f"docs/format.md n'est plus à jour avec kb/data/vocab.yaml: lancez « {formatdoc.UPDATE_COMMAND} ».")


def test_format_doc_has_every_block_and_value():
    text = formatdoc.DOC_PATH.read_text(encoding="utf-8")
    assert {m["name"] for m in formatdoc.BLOCK.finditer(text)} == set(formatdoc.RENDERERS)
    v = vocab()
    for values in (v.thematiques, v.publics, v.types_territoire, v.densite, v.statuts, v.dispositifs,
                   v.types_liens, v.beneficiaires_unites):
        for slug, label in values.items():
            assert f"`{slug}` — {label}" in text or f"| `{slug}` | {label} |" in text
    for title in v.section_titles:
        assert f"`## {title}`" in text


def test_a_stale_block_is_detected_and_updated(tmp_path, monkeypatch, capsys):
    doc = tmp_path / "format.md"
    doc.write_text("avant\n<!-- [[[sections]]] -->\nvieux\n<!-- [[[fin]]] -->\naprès\n", encoding="utf-8")
    monkeypatch.setattr(formatdoc, "DOC_PATH", doc)
    assert formatdoc.main([]) == 1
    assert formatdoc.UPDATE_COMMAND in capsys.readouterr().err
    assert formatdoc.main(["--update"]) == 0
    assert "vieux" not in doc.read_text(encoding="utf-8") and "`## Contexte` | oui" in doc.read_text(encoding="utf-8")
    assert formatdoc.main([]) == 0


def test_no_reference_to_a_missing_contract():
    for path in ("CONTRIBUTING.md", "kb/fiche.py", "kb/api.py", "kb/data/vocab.yaml"):
        assert "FICHE_FORMAT.md" not in (ROOT / path).read_text(encoding="utf-8"), path
    assert "docs/format.md" in (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert "docs/format.md" in (ROOT / "kb/webapp/views/contribuer.py").read_text(encoding="utf-8")
