"""CSV export of result lists (kb.export): no contact e-mail or telephone, ever."""

from __future__ import annotations

import csv
import dataclasses
import io
import re

import pytest

from kb.export import COLUMNS, export_row, export_rows, fiche_address, redact, to_csv
from kb.model import Fiche

FICHE = Fiche(
    slug="bus-numerique", path="practices/bus-numerique.md", titre="Un bus numérique",
    territoire={"nom": "CC du Val", "type": "communaute-de-communes", "densite": "rural-disperse",
                "departements": ["26", "2A"], "population": 18500},
    porteur="Service social", partenaires=["CAF", "France Services"], thematiques=["aide-demarches"],
    publics=["seniors"], dispositifs=["france-services"], statut="en-cours", debut="2022-03",
    mise_a_jour="2026-09-15", budget_eur=140000.0, financements=["DSIL"], mots_cles=["bus"], licence="etalab-2.0",
    resume="Écrivez à jean.dupont@mairie.example ou appelez le 04 75 00 00 00 (ou +33 4 75 11 22 33).",
    contact={"nom": "Jean Dupont", "fonction": "Chef de projet", "email": "jean.dupont@mairie.example",
             "telephone": "04 75 00 00 00", "site": "https://val.example"},
    liens=[{"titre": "Bilan", "url": "https://val.example/bilan.pdf"}], body="", sections=[],
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE = re.compile(r"(?:\+33|\b0)\s?[1-9](?:[\s.-]?\d{2}){4}")


def test_row_uses_labels_and_drops_contact_email_phone_and_name():
    row = export_row(FICHE, "https://banque.example/fiche?slug=bus-numerique")
    assert list(row) == [name for name, _ in COLUMNS]
    assert row["type"] == "Communauté de communes"
    assert row["densite"] == "Rural à habitat dispersé"
    assert row["departements"] == "Drôme (26) | Corse-du-Sud (2A)"
    assert row["thematiques"] == "Aide aux démarches administratives"
    assert row["statut"] == "En cours"
    assert row["budget_eur"] == "140000"
    assert row["contact_fonction"] == "Chef de projet" and row["contact_site"] == "https://val.example"
    assert row["url"].endswith("slug=bus-numerique")
    for cell in row.values():
        assert not EMAIL.search(cell) and not PHONE.search(cell), cell
    assert "Jean Dupont" not in " ".join(row.values())
    assert "[adresse électronique retirée]" in row["resume"] and "[numéro retiré]" in row["resume"]


def test_redact_keeps_ordinary_numbers():
    assert redact("Budget 140000 euros, 2022-03, 1 200 accompagnements") == \
        "Budget 140000 euros, 2022-03, 1 200 accompagnements"
    assert redact("tel. 01.99.00.12.40") == "tel. [numéro retiré]"


def test_cells_that_a_spreadsheet_would_evaluate_are_neutralised():
    row = export_row(dataclasses.replace(FICHE, titre="=HYPERLINK(\"http://x\")", porteur="@SUM(A1)"))
    assert row["titre"].startswith("'=") and row["porteur"].startswith("'@")


def test_csv_is_utf8_with_bom_semicolons_and_french_headers():
    data = to_csv(export_rows([FICHE, dataclasses.replace(FICHE, slug="autre", titre="Autre; avec \"guillemets\"")]))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [title for _, title in COLUMNS]
    assert len(rows) == 3 and rows[2][1] == 'Autre; avec "guillemets"'


@pytest.mark.model
def test_exporting_the_whole_bundled_bank_leaks_no_email_or_phone(bundled_engine):
    everything = bundled_engine.search("", limit=10_000)
    assert everything.total == len(everything.hits) >= 80
    data = to_csv(export_rows([h.fiche for h in everything.hits], lambda slug: f"fiche?slug={slug}"))
    cells = [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";") for cell in row]
    assert not [c for c in cells if EMAIL.search(c) or PHONE.search(c)]
    emails = [h.fiche.contact.get("email") for h in everything.hits if h.fiche.contact]
    assert any(emails)  # the bank has contact e-mails: the export really dropped them


def csv_addresses(data: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    column = rows[0].index("adresse de la fiche")
    return [row[column] for row in rows[1:]]


def test_fiche_addresses_are_absolute_under_the_base_url():
    assert fiche_address("bus-numerique", "https://banque.exemple.fr") == \
        "https://banque.exemple.fr/fiche?slug=bus-numerique"
    assert fiche_address("a b") == "http://localhost:8501/fiche?slug=a%20b"  # no base_url: kb serve's address
    data = to_csv(export_rows([FICHE], base_url="https://banque.exemple.fr/"))
    assert csv_addresses(data) == ["https://banque.exemple.fr/fiche?slug=bus-numerique"]
    assert csv_addresses(to_csv(export_rows([FICHE]))) == ["http://localhost:8501/fiche?slug=bus-numerique"]


def test_the_app_export_uses_the_base_url_setting(tmp_path, monkeypatch):
    from kb.webapp import state

    monkeypatch.setenv("KB_ROOT", str(tmp_path))
    monkeypatch.setenv("KB_BASE_URL", "https://banque.exemple.fr/kb")
    data = to_csv(export_rows([FICHE], state.fiche_url))
    assert csv_addresses(data) == ["https://banque.exemple.fr/kb/fiche?slug=bus-numerique"]


def test_a_base_url_must_be_an_http_address(tmp_path, monkeypatch):
    from kb.settings import SettingsError, load_settings

    monkeypatch.setenv("KB_BASE_URL", "banque.exemple.fr")
    with pytest.raises(SettingsError, match="base_url"):
        load_settings(tmp_path)
