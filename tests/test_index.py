"""The vector index: kind chosen by size and recorded; filtered search complete for both kinds."""

from __future__ import annotations

import json

import numpy as np

from conftest import TODAY, FakeEmbedder, variant
from kb.build import build
from kb.catalog import Catalog
from kb.filters import Filters
from kb.index import FLAT, IVF, VectorIndex, choose_kind
from kb.search import Engine
from kb.settings import load_settings


def test_kind_follows_the_size():
    assert choose_kind(10, exact_max=100) == FLAT
    assert choose_kind(101, exact_max=100) == IVF


def random_unit(n, d, seed):
    x = np.random.default_rng(seed).normal(size=(n, d)).astype("float32")
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def ivf_index(vectors, nlist):
    import faiss

    quantizer = faiss.IndexFlatIP(vectors.shape[1])
    index = faiss.IndexIVFScalarQuantizer(quantizer, vectors.shape[1], nlist, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    index.train(vectors)
    index.add_with_ids(vectors, np.arange(len(vectors), dtype="int64"))
    return index


def test_an_approximate_index_still_returns_every_fiche_of_a_narrow_filter():
    vectors = random_unit(6000, 32, seed=1)
    fiche_ids = np.arange(6000) // 3  # 2000 fiches of 3 chunks
    index = VectorIndex(ivf_index(vectors, nlist=64), np.arange(6000), fiche_ids, IVF, nprobe=1)
    allowed = [5, 123, 999, 1500, 1999, 42, 777]
    ranked = index.rank_fiches(random_unit(1, 32, seed=2)[0], limit=50, allowed_fiches=allowed)
    assert sorted(f for f, _, _ in ranked) == sorted(allowed)
    unfiltered = index.rank_fiches(random_unit(1, 32, seed=3)[0], limit=20)
    assert len(unfiltered) == 20


def test_approximate_recall_against_exact_search():
    # clustered data, like embeddings of texts on a few hundred topics
    centres = random_unit(300, 32, seed=4)
    noise = np.random.default_rng(6).normal(scale=0.15, size=(20000, 32)).astype("float32")
    vectors = centres[np.random.default_rng(7).integers(0, 300, 20000)] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    fiche_ids = np.arange(20000)
    exact = VectorIndex.flat(np.arange(20000), fiche_ids, vectors)
    approx = VectorIndex(ivf_index(vectors, nlist=128), np.arange(20000), fiche_ids, IVF, nprobe=32)
    queries = vectors[np.random.default_rng(5).integers(0, 20000, 50)] + 0.1 * random_unit(50, 32, seed=8)
    recall = np.mean([len({f for f, _, _ in exact.rank_fiches(q, 10)} & {f for f, _, _ in approx.rank_fiches(q, 10)})
                      / 10 for q in queries])
    assert recall >= 0.95


def test_a_large_bank_records_an_approximate_index_and_filters_stay_exact(tmp_path, write_fiche):
    for i, (dep, densite) in enumerate([("26", "rural-disperse"), ("29", "petites-villes"), ("974", "bourgs-ruraux")] * 20):
        write_fiche(f"fiche-{i:02d}.md", variant(titre=f"titre: Une fiche de test numéro {i:02d} pour l'index",
                                                 **{"  departements": f"  departements: [\"{dep}\"]",
                                                    "  densite": f"  densite: {densite}"}))
    settings = load_settings(tmp_path, exact_max_chunks=100, nprobe=1)
    build(settings, embedder=FakeEmbedder(), today=TODAY)
    catalog = Catalog(settings.catalog_path)
    info = json.loads(catalog.meta["vector_index"])
    assert info["kind"] == IVF and info["chunks"] == 360 and info["nlist"] == 9
    engine = Engine(settings, catalog, embedder=FakeEmbedder())
    filters = Filters(departements=["974"])
    allowed = engine.catalog.ids(filters)
    ranked = engine.dense_ranking(engine.parse_query("villages démarches"), allowed, 100)
    assert len(ranked) == 20 and set(d for d, _, _ in ranked) == set(allowed)
    assert len(engine.similar("fiche-00", limit=5)) == 5


def write_bank(write_fiche, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        dep, densite = [("26", "rural-disperse"), ("29", "petites-villes"), ("974", "bourgs-ruraux")][i % 3]
        write_fiche(f"fiche-{i:02d}.md", variant(titre=f"titre: Une fiche de test numéro {i:02d} pour l'index",
                                                 **{"  departements": f"  departements: [\"{dep}\"]",
                                                    "  densite": f"  densite: {densite}"}))


def test_an_incremental_build_updates_the_approximate_index_without_training_it_again(tmp_path, write_fiche):
    """An editor's one-fiche change must not retrain the approximate index of a large bank (tens
    of seconds at 10,000 fiches): the changed chunks are removed and added, by chunk id."""
    write_bank(write_fiche, 60)
    settings = load_settings(tmp_path, exact_max_chunks=100, nprobe=1)
    build(settings, embedder=FakeEmbedder(), today=TODAY)
    before = json.loads(Catalog(settings.catalog_path).meta["vector_index"])
    assert before["kind"] == IVF and before["trained_on"] == 360

    write_fiche("fiche-01.md", variant(titre="titre: Une ludothèque itinérante de jeux vidéo coopératifs")
                .replace("Quinze villages", "Ludothèque ludothèque jeux vidéo coopératifs"))
    (tmp_path / "practices" / "fiche-02.md").unlink()
    report = build(settings, embedder=FakeEmbedder(), today=TODAY)
    assert (report.updated, report.removed) == (1, 1)

    catalog = Catalog(settings.catalog_path)
    after = json.loads(catalog.meta["vector_index"])
    assert after["kind"] == IVF and after["trained_on"] == 360 and after["nlist"] == before["nlist"]
    vectors = VectorIndex.from_catalog(catalog.db, catalog.meta)
    assert len(vectors) == after["chunks"] == catalog.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
    engine = Engine(settings, catalog, embedder=FakeEmbedder())
    ranked = engine.dense_ranking(engine.parse_query("ludothèque jeux vidéo coopératifs"), None, 100)
    slugs = {d: f["slug"] for d, f in catalog.fiches([d for d, _, _ in ranked]).items()}
    assert slugs[ranked[0][0]] == "fiche-01"
    assert "fiche-02" not in slugs.values() and len(ranked) == 59
    assert engine.search("ludothèque jeux vidéo coopératifs").hits[0].slug == "fiche-01"
    assert [h.slug for h in engine.similar("fiche-01", limit=3)]  # vectors read back by chunk id


def test_the_approximate_index_is_trained_again_when_the_bank_has_grown_much(tmp_path, write_fiche):
    write_bank(write_fiche, 60)
    settings = load_settings(tmp_path, exact_max_chunks=100, nprobe=1)
    build(settings, embedder=FakeEmbedder(), today=TODAY)
    write_bank(write_fiche, 20, start=60)  # a third more chunks than it was trained on
    build(settings, embedder=FakeEmbedder(), today=TODAY)
    info = json.loads(Catalog(settings.catalog_path).meta["vector_index"])
    assert info["trained_on"] == info["chunks"] == 480
