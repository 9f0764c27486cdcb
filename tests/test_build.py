"""The catalog build: facets in SQL, invalid fiches left out, incremental and atomic."""

from __future__ import annotations

import pytest

import kb.build as build_module
from conftest import TODAY, VALID, FakeEmbedder, variant
from kb.build import BuildError, build
from kb.catalog import Catalog, CatalogError, fiche_from_row
from kb.filters import Filters
from kb.search import Engine
from kb.settings import load_settings


def second_fiche(**changes) -> str:
    text = variant(titre="titre: Des ateliers numériques pour les seniors à la médiathèque",
                   publics="publics: [seniors, familles]",
                   thematiques="thematiques: [competences-numeriques]",
                   **{"  type": "  type: commune", "  densite": "  densite: petites-villes",
                      "  departements": "  departements: [\"2A\", \"974\"]"})
    for key, value in changes.items():
        text = variant(text, **{key: value})
    return text.replace("Quinze villages", "Une médiathèque de l'école")


@pytest.fixture
def bank(tmp_path, write_fiche, fake_embedder):
    write_fiche("bus-numerique.md")
    write_fiche("ateliers-seniors.md", second_fiche())
    settings = load_settings(tmp_path)

    def run(**kwargs):
        return build(settings, embedder=fake_embedder, today=TODAY, **kwargs)

    return settings, run, write_fiche


def test_build_writes_fiches_facets_and_chunks(bank):
    settings, run, _ = bank
    report = run()
    assert (report.fiches, report.added, report.invalid) == (2, 2, 0)
    catalog = Catalog(settings.catalog_path)
    fiche = catalog.get("bus-numerique")
    assert fiche["titre"] == "Un bus numérique itinérant pour les démarches en ligne"
    assert fiche["densite_niveau"] == "rural" and fiche["population_tranche"] == "10000-a-50000"
    # couts (contract v2) as JSON, and its derived figures as columns to filter and sort on
    assert fiche["couts"]["fonctionnement_eur_an"] == 62000 and fiche["couts"]["etp"] == 1.5
    assert fiche["cout_total"] == 157000 and fiche["cout_tranche"] == "50000-a-200000"
    assert round(fiche["cout_par_beneficiaire"], 2) == 44.29 and fiche["reste_a_charge"] is None
    assert catalog.facet_counts()["cout"] == {"50000-a-200000": 2}
    assert fiche_from_row(fiche).couts == fiche["couts"]
    assert fiche["departements"] == ["26"] and fiche["regions"] == ["84"]
    rows = catalog.db.execute("SELECT f.slug FROM fiches f JOIN facets x ON x.fiche_id = f.id "
                              "WHERE x.facet = 'public' AND x.value = 'seniors' ORDER BY f.slug").fetchall()
    assert [r[0] for r in rows] == ["ateliers-seniors", "bus-numerique"]
    assert catalog.facet_counts()["departement"] == {"26": 1, "2A": 1, "974": 1}
    assert catalog.db.execute("SELECT count(*) FROM chunks WHERE fiche_id = ?", [catalog.id_of("bus-numerique")]
                              ).fetchone()[0] == 6  # title+résumé, then 5 sections


def test_facet_filters_combine_or_within_and_across(bank):
    settings, run, _ = bank
    run()
    catalog = Catalog(settings.catalog_path)
    slugs = lambda f: sorted(catalog.fiches(catalog.ids(f))[i]["slug"] for i in catalog.ids(f))  # noqa: E731
    assert slugs(Filters(densites=["rural"])) == ["bus-numerique"]
    assert slugs(Filters(densites=["urbain-intermediaire"])) == ["ateliers-seniors"]
    assert slugs(Filters(axes=["inclusion"], types=["commune"])) == ["ateliers-seniors"]
    assert slugs(Filters(departements=["26", "974"])) == ["ateliers-seniors", "bus-numerique"]
    assert slugs(Filters(regions=["04"])) == ["ateliers-seniors"]  # La Réunion
    assert slugs(Filters(publics=["familles"], statuts=["termine"])) == []
    assert slugs(Filters(debut_min=2022, debut_max=2022)) == ["ateliers-seniors", "bus-numerique"]


def test_fts_folds_accents_and_stems(bank):
    settings, run, _ = bank
    run()
    catalog = Catalog(settings.catalog_path)
    engine = Engine(settings, catalog, embedder=FakeEmbedder())
    for query in ("ecole", "écoles", "MEDIATHEQUES"):
        hits = engine.search(query, mode="lexical").hits
        assert [h.slug for h in hits] == ["ateliers-seniors"], query


def test_invalid_fiches_are_left_out_and_listed(bank):
    settings, run, write = bank
    write("casse.md", variant(statut="statut: fini"))
    report = run()
    assert report.fiches == 2 and report.invalid == 1
    assert [p.format() for p in report.problems] == [
        "practices/casse.md:18: error: « fini » n'est pas une valeur de « statut »: "
        "(valeurs: en-projet, en-cours, termine, abandonne)."]
    assert Catalog(settings.catalog_path).problems()[0]["path"] == "practices/casse.md"


def test_strict_build_fails_and_keeps_the_previous_index(bank):
    settings, run, write = bank
    run()
    write("casse.md", variant(statut="statut: fini"))
    with pytest.raises(BuildError, match="1 fiche"):
        run(strict=True)
    assert Catalog(settings.catalog_path).count() == 2


def test_incremental_build_reparses_and_reencodes_only_what_changed(bank, monkeypatch, fake_embedder):
    settings, run, write = bank
    run()
    parsed = []
    original = build_module.parse_file
    monkeypatch.setattr(build_module, "parse_file", lambda path, today=None: parsed.append(path.name) or original(path, today))
    fake_embedder.encoded.clear()

    report = run()
    assert parsed == [] and report.unchanged == 2 and not report.changed
    assert fake_embedder.encoded == []

    write("ateliers-seniors.md", second_fiche().replace("1 200 accompagnements", "1 500 accompagnements"))
    report = run()
    assert parsed == ["ateliers-seniors.md"]
    assert (report.updated, report.unchanged) == (1, 1)
    assert report.chunks_encoded == 1 and report.chunks_reused == 5  # only the Résultats chunk changed
    assert "1 500 accompagnements" in fake_embedder.encoded[0]

    (settings.practices_path / "bus-numerique.md").unlink()
    report = run()
    assert report.removed == 1 and Catalog(settings.catalog_path).get("bus-numerique") is None


def test_invalid_unchanged_files_are_not_reparsed(bank, monkeypatch):
    settings, run, write = bank
    write("casse.md", variant(statut="statut: fini"))
    run()
    parsed = []
    original = build_module.parse_file
    monkeypatch.setattr(build_module, "parse_file", lambda path, today=None: parsed.append(path.name) or original(path, today))
    report = run()
    assert parsed == [] and report.invalid == 1
    assert "« fini »" in report.problems[0].message


def test_duplicate_title_leaves_one_fiche_out(bank):
    settings, run, write = bank
    run()
    write("copie-du-bus.md", VALID)
    report = run()
    assert report.fiches == 2
    assert any("même titre que practices/bus-numerique.md" in p.message for p in report.problems)


@pytest.mark.parametrize("force", [False, True], ids=["incremental", "full"])
def test_a_failed_build_leaves_the_previous_index_answering(bank, monkeypatch, force):
    settings, run, write = bank
    run()
    before = Catalog(settings.catalog_path)
    engine = Engine(settings, before, embedder=FakeEmbedder())
    expected = [h.slug for h in engine.search("médiathèque", mode="lexical").hits]

    write("nouvelle.md", second_fiche(titre="titre: Une nouvelle fiche qui ne sera jamais publiée"))
    (settings.practices_path / "bus-numerique.md").unlink()

    def crash(self, db, inserts, vectors):
        original_insert(self, db, inserts[:1], vectors)  # half-way through the writes
        raise RuntimeError("arrêt brutal simulé")

    original_insert = build_module._Builder.insert
    monkeypatch.setattr(build_module._Builder, "insert", crash)
    with pytest.raises(RuntimeError):
        run(force=force)

    after = Engine(settings, Catalog(settings.catalog_path), embedder=FakeEmbedder())
    assert after.count() == 2 and after.get("bus-numerique") is not None
    assert [h.slug for h in after.search("médiathèque", mode="lexical").hits] == expected
    assert [h.slug for h in engine.search("médiathèque", mode="lexical").hits] == expected
    assert not list(settings.index_path.glob("catalog.db.tmp-*"))


def test_a_second_build_at_once_gets_a_clear_message(bank):
    settings, run, _ = bank
    run()
    from filelock import FileLock

    with FileLock(str(settings.index_path / ".build.lock")):
        with pytest.raises(BuildError, match="une autre construction de l'index est en cours"):
            run()


def test_a_corrupted_index_is_reported_and_force_repairs_it(bank):
    settings, run, _ = bank
    run()
    settings.catalog_path.write_bytes(b"ceci n'est pas une base SQLite" * 100)
    with pytest.raises(CatalogError, match="kb build --force"):
        run()
    with pytest.raises(CatalogError, match="kb build --force"):
        Catalog(settings.catalog_path)
    assert run(force=True).fiches == 2
    assert Catalog(settings.catalog_path).count() == 2


def test_changing_the_model_rebuilds_every_vector(bank, tmp_path):
    settings, run, _ = bank
    run()
    other = FakeEmbedder("autre-modele")
    report = build(settings, embedder=other, today=TODAY)
    assert report.full and report.chunks_encoded == 12 and report.chunks_reused == 0
