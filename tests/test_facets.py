"""The facet registry (kb.facets): one entry makes a facet, everywhere it is used."""

from __future__ import annotations

import sqlite3

import click
from click.testing import CliRunner

from conftest import ROOT, TODAY
from kb.facets import FACETS, REGISTRY, Facet, Registry
from kb.fiche import parse_file
from kb.filters import Filters

AGES = {"ancienne": "Lancée avant 2021", "recente": "Lancée depuis 2021"}


def toy_registry() -> Registry:
    """The shipped registry plus one facet declared in one entry: how old the initiative is (a
    field that the migration of the bundled fiches to contract v2 leaves alone)."""
    toy = Facet("age", "ages", "Ancienneté", lambda v: AGES,
                lambda f: ["ancienne" if f.debut_annee < 2021 else "recente"],
                help="Ancienneté de l'initiative.", placeholder="Choisir une ancienneté")
    return Registry(FACETS + (toy,))


def bundled_fiches():
    fiches = [parse_file(path, TODAY)[0] for path in sorted((ROOT / "practices").glob("*.md"))]
    return [f for f in fiches if f is not None]


def catalog_of(registry: Registry, fiches) -> sqlite3.Connection:
    """The catalog's two tables that filters read, filled from the registry's rows."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE fiches (id INTEGER PRIMARY KEY, slug TEXT, debut_annee INTEGER)")
    db.execute("CREATE TABLE facets (fiche_id INTEGER, facet TEXT, value TEXT)")
    for i, fiche in enumerate(fiches, 1):
        db.execute("INSERT INTO fiches VALUES (?, ?, ?)", [i, fiche.slug, fiche.debut_annee])
        db.executemany("INSERT INTO facets VALUES (:fiche_id, :facet, :value)", registry.rows(i, fiche))
    return db


def matching(db: sqlite3.Connection, filters) -> set[str]:
    where, params = filters.sql()
    return {r[0] for r in db.execute(f"SELECT f.slug FROM fiches f WHERE {where}", params)}


def test_a_new_facet_is_one_entry_filtered_in_sql():
    registry = toy_registry()
    fiches = bundled_fiches()
    db = catalog_of(registry, fiches)
    old = {f.slug for f in fiches if f.debut_annee < 2021}
    assert old and old != {f.slug for f in fiches}
    assert matching(db, registry.filters(ages=["ancienne"])) == old
    rural_and_old = {f.slug for f in fiches if f.slug in old and f.densite_niveau == "rural"}
    assert matching(db, registry.filters(ages=["ancienne"], densites=["rural"])) == rural_and_old
    assert registry.filters(ages=["moyenne"]).unknown_values() == ["valeur inconnue « moyenne » pour le filtre age"]


def test_a_new_facet_gets_its_cli_option():
    registry = toy_registry()

    @click.command()
    @registry.click_options
    def command(**kwargs):
        click.echo(repr(registry.filters_from_cli(kwargs)))

    result = CliRunner().invoke(command, ["--age", "recente", "--type", "commune", "--debut-min", "2020"])
    assert result.exit_code == 0, result.output
    assert "ages=['recente']" in result.output and "types=['commune']" in result.output
    assert "debut_min=2020" in result.output
    assert "Ancienneté de l'initiative." in CliRunner().invoke(command, ["--help"]).output


def test_a_new_facet_lives_in_the_url():
    registry = toy_registry()
    filters, dropped = registry.from_params({"age": ["recente", "antique", "recente"], "public": ["seniors"]})
    assert filters.ages == ["recente"] and filters.publics == ["seniors"]
    assert dropped == ["« antique » n'est pas une valeur du filtre « age »: ignorée."]
    assert registry.to_params(filters) == {"public": ["seniors"], "age": ["recente"]}
    assert registry.describe(filters) == "Publics : Seniors et personnes âgées · Ancienneté : Lancée depuis 2021"


def test_the_shipped_filters_are_the_registry_s():
    assert Filters is REGISTRY.filters
    fields = [f.name for f in Filters.__dataclass_fields__.values()]
    assert fields == [f.field for f in REGISTRY.filtering] + ["debut_min", "debut_max"]
    assert "ages" not in fields  # a toy registry leaves the shipped one alone


def test_a_rolled_up_value_selects_its_detailed_levels():
    fiches = bundled_fiches()
    db = catalog_of(REGISTRY, fiches)
    rural = {f.slug for f in fiches if f.densite_niveau == "rural"}
    detailed = {f.densite for f in fiches if f.densite_niveau == "rural"}
    assert len(detailed) > 1
    assert matching(db, Filters(densites=["rural"])) == rural
    assert matching(db, Filters(densites=sorted(detailed))) == rural
    options = REGISTRY.options(REGISTRY["densite"])
    assert options[0] == ("urbain-dense", 0) and ("rural", 0) in options
    assert all(indent == 1 for value, indent in options if value in detailed)


def test_labels_and_ranges_read_well():
    filters = Filters(thematiques=["mediation-numerique"], densites=["rural"], debut_min=2021)
    text = REGISTRY.describe(filters)
    assert text.startswith("Thématiques : Médiation numérique")
    assert "Année de début : 2021–…" in text
    assert REGISTRY.label("departement", "2A") == "Corse-du-Sud"
    assert REGISTRY.label("departement", "zz") == "zz"
    departements = list(REGISTRY.values(REGISTRY["departement"]))
    assert departements.index("19") < departements.index("2A") < departements.index("2B") < departements.index("21")
    assert departements[-1].startswith("97")


def test_rows_come_from_every_declared_facet():
    fiche = bundled_fiches()[0]
    rows = REGISTRY.rows(7, fiche)
    assert {r["facet"] for r in rows} >= {"thematique", "axe", "public", "type", "departement", "region", "statut"}
    assert all(r["fiche_id"] == 7 and r["value"] for r in rows)
    assert {"facet": "debut_annee", "value": str(fiche.debut_annee), "fiche_id": 7} in rows

