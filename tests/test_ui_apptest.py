"""The Streamlit application, page by page, with Streamlit's AppTest on the bundled bank.

The bank is indexed once per session (fixture ``bundled_settings``); the application finds it
through KB_ROOT and KB_INDEX_DIR, as ``kb serve`` passes them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from streamlit.testing.v1 import AppTest

from kb.filters import Filters
from kb.compose import FicheForm, check
from kb.fiche import parse_bytes
from kb.webapp import components

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "kb" / "webapp" / "app.py"
TIMEOUT = 60
VALID_FICHE = (ROOT / "tests" / "fixtures" / "valid.md").read_text(encoding="utf-8")


@pytest.fixture
def app(bundled_settings, monkeypatch):
    monkeypatch.setenv("KB_ROOT", str(ROOT))
    monkeypatch.setenv("KB_INDEX_DIR", str(bundled_settings.index_path))
    monkeypatch.delenv("KB_EDIT_URL", raising=False)
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def open_page(at: AppTest, page: str, **params) -> AppTest:
    """Run the app once (st.navigation registers the pages), then open ``page`` with ``params``."""
    at.run()
    at.switch_page(f"views/{page}.py")
    at.query_params.clear()
    at.query_params.update(params)
    return at.run()


def fiche_links(at: AppTest) -> list[str]:
    """Slugs of the page links to fiche pages, in page order."""
    slugs = []
    for link in at.page_link:
        query = parse_qs(link.proto.query_string)
        if link.proto.page == "fiche" and "slug" in query:
            slugs.append(query["slug"][0])
    return slugs


def card_slugs(at: AppTest) -> list[str]:
    return [key[len("card-"):] for key in _container_keys(at) if key.startswith("card-")]


def _container_keys(at: AppTest) -> list[str]:
    keys = []

    def walk(block):
        for child in getattr(block, "children", {}).values():
            key = getattr(child, "key", None) if hasattr(child, "children") else None
            if key:
                keys.append(key)
            walk(child)

    walk(at._tree)
    return keys


def texts(at: AppTest) -> list[str]:
    return [e.value for e in at.markdown] + [e.value for e in at.html] + [e.value for e in at.caption]


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# ----------------------------------------------------------------------------- start


def test_the_app_builds_a_missing_index(tmp_path, monkeypatch):
    (tmp_path / "practices").mkdir()
    (tmp_path / "practices" / "bus-numerique.md").write_text(VALID_FICHE, encoding="utf-8")
    monkeypatch.setenv("KB_ROOT", str(tmp_path))
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "index"))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    no_exception(at)
    assert (tmp_path / "index" / "catalog.db").exists()
    assert at.subheader[0].value.startswith("1 fiche dans la banque")
    assert fiche_links(at) == ["bus-numerique"]


def test_an_index_from_another_version_can_be_rebuilt_from_the_app(tmp_path, monkeypatch):
    import sqlite3

    from kb.build import build
    from kb.settings import load_settings

    (tmp_path / "practices").mkdir()
    (tmp_path / "practices" / "bus-numerique.md").write_text(VALID_FICHE, encoding="utf-8")
    settings = load_settings(tmp_path, index_dir=tmp_path / "index")
    build(settings)
    with sqlite3.connect(settings.catalog_path) as db:
        db.execute("UPDATE meta SET value = 'ancienne' WHERE key = 'schema_version'")
    monkeypatch.setenv("KB_ROOT", str(tmp_path))
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "index"))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert any("autre version de kb" in e.value for e in at.error)
    at.button(key="kb_rebuild").click()
    at.run()
    no_exception(at)
    assert not at.error
    assert fiche_links(at) == ["bus-numerique"]


# ----------------------------------------------------------------------------- Rechercher


def test_search_page_by_default_lists_the_bank(app, bundled_engine):
    at = app.run()
    no_exception(at)
    assert at.title[0].value == "Rechercher une expérience"
    assert at.text_input(key="q").label == "Décrivez votre besoin…"
    total = bundled_engine.count()
    assert at.subheader[0].value.startswith(f"{total} fiches dans la banque")
    expected = [h.slug for h in bundled_engine.search("", limit=10).hits]
    assert fiche_links(at) == expected
    assert any(b.label.startswith("Afficher plus de résultats") for b in at.button)
    assert at.get("download_button") and "CSV" in at.get("download_button")[0].proto.label


def test_search_with_filters_returns_only_matching_fiches_and_updates_the_url(app, bundled_engine):
    at = app.run()
    at.text_input(key="q").input("ateliers numériques")
    at.multiselect(key="f_public").select("seniors")
    at.multiselect(key="f_densite").select("rural")
    at.run()
    no_exception(at)
    filters = Filters(publics=["seniors"], densites=["rural"])
    expected = bundled_engine.search("ateliers numériques", filters, limit=10)
    assert expected.total > 1
    assert at.subheader[0].value == f"{expected.total} fiches répondent à votre besoin"
    slugs = fiche_links(at)
    assert slugs == [h.slug for h in expected.hits + expected.others]
    for slug in slugs:
        fiche = bundled_engine.get(slug)
        assert "seniors" in fiche.publics and fiche.densite_niveau == "rural"
    assert at.query_params == {"q": "ateliers numériques", "public": "seniors", "densite": "rural"}
    # the matched passage is shown with its highlights
    assert any("<mark>" in h.value for h in at.html)
    # the counts next to the values: publics counted without the publics filter
    options = at.multiselect(key="f_public").options
    wider = bundled_engine.search("ateliers numériques", Filters(densites=["rural"]), limit=0)
    seniors = wider.facets["public"]["seniors"]
    assert f"Seniors et personnes âgées ({seniors})" in options, options[:3]


def test_url_restores_the_search(app, bundled_engine):
    app.query_params.update({"q": "fracture numérique", "thematique": ["mediation-numerique", "aide-demarches"],
                             "type": "communaute-de-communes", "tri": "date"})
    at = app.run()
    no_exception(at)
    assert at.text_input(key="q").value == "fracture numérique"
    assert at.multiselect(key="f_thematique_inclusion").value == ["mediation-numerique", "aide-demarches"]
    assert at.multiselect(key="f_type").value == ["communaute-de-communes"]
    assert at.radio(key="tri").value == "date"
    filters = Filters(thematiques=["mediation-numerique", "aide-demarches"], types=["communaute-de-communes"])
    expected = bundled_engine.search("fracture numérique", filters, limit=10, sort="date")
    assert fiche_links(at) == [h.slug for h in expected.hits + expected.others]
    dates = [bundled_engine.get(s).mise_a_jour for s in fiche_links(at)[:len(expected.hits)]]
    assert dates == sorted(dates, reverse=True)


def test_a_place_named_in_the_query_leads_to_its_comparable_territories(app, bundled_engine):
    at = app.run()
    at.text_input(key="q").input("cybersécurité à Saint-Flour")
    at.run()
    no_exception(at)
    assert any("Territoire reconnu dans votre recherche : « Saint-Flour »" in i.value for i in at.info)
    links = [(e.proto.label, e.proto.page) for e in at.get("page_link")]
    assert any(label.startswith("Saint-Flour") and "Cantal" in label and page == "territoire" for label, page in links)
    expected = bundled_engine.search("cybersécurité", limit=10)
    assert fiche_links(at) == [h.slug for h in expected.hits + expected.others]


def test_a_range_typed_in_the_query_moves_into_the_population_filter(app, bundled_engine):
    at = app.run()
    at.text_input(key="q").input("cybersécurité moins de 3 500 habitants")
    at.run()
    no_exception(at)
    small = ["moins-de-1000", "1000-a-3500"]
    assert at.text_input(key="q").value == "cybersécurité"
    assert at.multiselect(key="f_population_tranche").value == small
    assert any("Filtre « Population : moins de 3 500 habitants » tiré de votre recherche" in i.value
               for i in at.info)
    assert any("Filtres actifs" in m.value and "Moins de 1 000 habitants" in m.value for m in at.markdown)
    assert at.query_params == {"q": "cybersécurité", "population": small}
    expected = bundled_engine.search("cybersécurité", Filters(populations=small), limit=10)
    assert fiche_links(at) == [h.slug for h in expected.hits + expected.others]
    # removable in the sidebar; the info line is shown once
    at.multiselect(key="f_population_tranche").set_value([])
    at.run()
    no_exception(at)
    assert at.query_params == {"q": "cybersécurité"}
    assert not any("tiré de votre recherche" in i.value for i in at.info)


def follow_fiche_link(at: AppTest, slug: str) -> None:
    """What following a result's link does: the fiche page, with only the fiche's slug."""
    at.switch_page("views/fiche.py")
    at.query_params.clear()
    at.query_params["slug"] = slug
    at.run()


def test_back_from_a_fiche_restores_the_search(app):
    app.query_params.update({"q": "ateliers numériques", "public": "seniors"})
    at = app.run()
    slug = fiche_links(at)[0]
    follow_fiche_link(at, slug)
    no_exception(at)
    # Back lands first on the entry Streamlit pushed while following the link: the search
    # page's path with the fiche's slug only
    at.switch_page("views/rechercher.py")
    at.query_params.clear()
    at.query_params["slug"] = slug
    at.run()
    no_exception(at)
    assert at.text_input(key="q").value == "ateliers numériques"
    assert at.multiselect(key="f_public").value == ["seniors"]
    assert at.query_params == {"q": "ateliers numériques", "public": "seniors"}
    # the sidebar's « Rechercher » (no parameters at all) still opens an empty search
    at.switch_page("views/rechercher.py")
    at.query_params.clear()
    at.switch_page("views/fiche.py")
    at.query_params["slug"] = slug
    at.run()
    at.switch_page("views/rechercher.py")
    at.query_params.clear()
    at.run()
    assert at.text_input(key="q").value == ""


def back_links(at: AppTest) -> list:
    return [link for link in at.page_link if link.proto.label == "Retour aux résultats"]


def test_a_fiche_opened_from_results_links_back_to_them(app):
    app.query_params.update({"q": "ateliers numériques", "public": "seniors", "tri": "date"})
    at = app.run()
    slug = fiche_links(at)[0]
    follow_fiche_link(at, slug)
    no_exception(at)
    [back] = back_links(at)
    assert back.proto.page == ""  # Rechercher, the default page, is at the root
    assert parse_qs(back.proto.query_string) == {"q": ["ateliers numériques"], "public": ["seniors"],
                                                 "tri": ["date"]}
    # a fiche opened first (a shared link) has no result list to go back to
    at.switch_page("views/contribuer.py")
    at.query_params.clear()
    at.run()
    at.switch_page("views/fiche.py")
    at.query_params["slug"] = slug
    at.run()
    assert not back_links(at)


def test_back_after_returning_to_the_results_shows_the_fiche_again(app):
    app.query_params.update({"q": "ateliers numériques", "public": "seniors"})
    at = app.run()
    slug = fiche_links(at)[0]
    follow_fiche_link(at, slug)
    at.switch_page("views/rechercher.py")
    at.query_params.clear()
    at.query_params.update({"q": "ateliers numériques", "public": "seniors"})
    at.run()
    # Back lands on the entry Streamlit pushed: the fiche page's path with the search's parameters
    at.switch_page("views/fiche.py")
    at.query_params.clear()
    at.query_params.update({"q": "ateliers numériques", "public": "seniors"})
    at.run()
    no_exception(at)
    assert at.query_params == {"slug": slug}
    assert not at.warning
    assert at.title[0].value != "Fiche introuvable"


def test_a_fiche_opened_from_browsing_links_back_to_the_selection(app):
    at = open_page(app, "parcourir", type="communaute-de-communes")
    slug = fiche_links(at)[0]
    follow_fiche_link(at, slug)
    [back] = back_links(at)
    assert back.proto.page == "parcourir"
    assert parse_qs(back.proto.query_string) == {"type": ["communaute-de-communes"]}


def test_unknown_url_values_are_ignored_with_a_warning(app):
    app.query_params.update({"public": ["seniors", "extraterrestres"], "tri": "hasard"})
    at = app.run()
    no_exception(at)
    assert at.multiselect(key="f_public").value == ["seniors"]
    assert any("extraterrestres" in w.value for w in at.warning)


def test_more_results_on_demand(app, bundled_engine):
    at = app.run()
    more = next(b for b in at.button if b.label.startswith("Afficher plus de résultats"))
    more.click()
    at.run()
    assert fiche_links(at) == [h.slug for h in bundled_engine.search("", limit=20).hits]


def empty_combination(engine) -> Filters:
    facets = engine.facets()
    for t, s, d in itertools.product(facets["type"], facets["statut"], ["rural", "urbain-dense"]):
        filters = Filters(types=[t], statuts=[s], densites=[d])
        if engine.search("", filters, limit=0).total == 0:
            return filters
    pytest.skip("no empty combination of filters in this bank")


def test_no_result_suggests_the_filter_to_remove(app, bundled_engine):
    filters = empty_combination(bundled_engine)
    app.query_params.update({"type": filters.types, "statut": filters.statuts, "densite": filters.densites})
    at = app.run()
    no_exception(at)
    assert at.subheader[0].value == "Aucune fiche pour cette sélection"
    assert any("Aucune fiche ne correspond" in i.value for i in at.info)
    relax = {b.key: b for b in at.button if b.key and b.key.startswith("relax_")}
    assert relax
    without_type = bundled_engine.search("", Filters(statuts=filters.statuts, densites=filters.densites), limit=0).total
    if without_type:
        assert f": {without_type} fiche" in relax["relax_types"].label
        relax["relax_types"].click()
        at.run()
        assert at.multiselect(key="f_type").value == []
        assert len(fiche_links(at)) == min(10, without_type)


# ----------------------------------------------------------------------------- Fiche


def fiche_texts_without_the_lang_script(at: AppTest) -> list[str]:
    """The page's texts but our own scripts (the page's language, the fiche's tools)."""
    return [t for t in texts(at) if t != components.LANG_SCRIPT and not t.startswith('<div id="kb-fiche-tools"')]


def test_fiche_page_has_print_and_copy_buttons_and_a_printed_address(app, bundled_engine, monkeypatch):
    monkeypatch.setenv("KB_BASE_URL", "https://banque.exemple.fr/")
    slug = bundled_engine.search("", limit=1).hits[0].slug
    at = open_page(app, "fiche", slug=slug)
    no_exception(at)
    html = "\n".join(h.value for h in at.html)
    assert "Imprimer" in html and "Copier le lien" in html and "window.print()" in html
    assert f'data-url="https://banque.exemple.fr/fiche?slug={slug}"' in html
    assert f"https://banque.exemple.fr/fiche?slug={slug}</span>" in html  # printed under the title


def test_fiche_page_renders_body_metadata_and_similar_fiches(app, bundled_engine):
    slug = bundled_engine.search("bus itinérant démarches", limit=1).hits[0].slug
    fiche = bundled_engine.get(slug)
    at = open_page(app, "fiche", slug=slug)
    no_exception(at)
    assert at.title[0].value == components.md_escape(fiche.titre)
    html = "\n".join(h.value for h in at.html)
    assert "<h2>Contexte</h2>" in html and "<h2>Résultats</h2>" in html
    assert components.esc(fiche.porteur) in html and "Type de territoire" in html
    similar = [h.slug for h in bundled_engine.similar(slug, limit=5)]
    assert len(similar) == 5 and slug not in similar
    assert fiche_links(at) == similar
    costs = ["Coûts et moyens"] if components.costs_block(fiche) else []
    assert [h.value for h in at.header] == ["En bref", *costs, "Fiches similaires"]
    assert not at.get("link_button")  # no edit_url setting: no edit link
    for text in fiche_texts_without_the_lang_script(at):
        assert "<script" not in text.lower() and "javascript:" not in text.lower()


def test_fiche_page_shows_costs_and_cards_show_the_population(app, bundled_engine):
    row = bundled_engine.catalog.db.execute("SELECT slug FROM fiches WHERE reste_a_charge IS NOT NULL "
                                            "AND cout_par_beneficiaire IS NOT NULL ORDER BY slug").fetchone()
    if row is None:
        pytest.skip("no bundled fiche gives its costs, its beneficiaries and its fundings yet")
    fiche = bundled_engine.get(row[0])
    at = open_page(app, "fiche", slug=row[0])
    no_exception(at)
    assert "Coûts et moyens" in [h.value for h in at.header]
    html = "\n".join(h.value for h in at.html)
    for label, value in components.costs_rows(fiche):
        assert f"<dt>{label}</dt><dd>{components.esc(value)}</dd>" in html
    assert "<dt>Reste à charge</dt>" in html and "<dt>Coût par bénéficiaire</dt>" in html
    # the population and cost filters come from the URL, and the cards say the population
    at = open_page(app, "rechercher", population="10000-a-50000", cout=["moins-de-10000", "10000-a-50000"])
    no_exception(at)
    assert at.multiselect(key="f_population_tranche").value == ["10000-a-50000"]
    assert at.multiselect(key="f_cout").value == ["moins-de-10000", "10000-a-50000"]
    filters = Filters(populations=["10000-a-50000"], couts=["moins-de-10000", "10000-a-50000"])
    expected = bundled_engine.search("", filters, limit=10)
    assert expected.total and fiche_links(at) == [h.slug for h in expected.hits]
    cards = "\n".join(h.value for h in at.html)
    assert components.population_text(expected.hits[0].fiche.territoire["population"]) in cards


def test_following_a_similar_fiche_opens_its_page(app, bundled_engine):
    slug = bundled_engine.search("", limit=1).hits[0].slug
    at = open_page(app, "fiche", slug=slug)
    target = fiche_links(at)[0]
    at.query_params.clear()
    at.query_params["slug"] = target
    at.run()
    assert at.title[0].value == components.md_escape(bundled_engine.get(target).titre)


def test_edit_link_comes_from_the_setting(app, bundled_engine, monkeypatch):
    monkeypatch.setenv("KB_EDIT_URL", "https://forge.example/banque/-/edit/main/{path}")
    slug = bundled_engine.search("", limit=1).hits[0].slug
    at = open_page(app, "fiche", slug=slug)
    no_exception(at)
    buttons = at.get("link_button")
    assert len(buttons) == 1
    assert buttons[0].proto.url == f"https://forge.example/banque/-/edit/main/practices/{slug}.md"


def test_unknown_fiche_says_so(app):
    at = open_page(app, "fiche", slug="fiche-qui-n-existe-pas")
    no_exception(at)
    assert at.title[0].value == "Fiche introuvable"
    assert any("fiche-qui-n-existe-pas" in w.value for w in at.warning)


def test_url_values_are_never_markdown(app):
    app.query_params.update({"public": "[piège](https://evil.example)"})
    at = app.run()
    no_exception(at)
    warning = next(w.value for w in at.warning if "piège" in w.value)
    assert r"\[piège\]\(https\://evil.example\)" in warning


@pytest.fixture(scope="module")
def hostile_bank(tmp_path_factory):
    """A bank whose only fiche carries raw HTML, a script and javascript: links."""
    from kb.build import build
    from kb.settings import load_settings

    root = tmp_path_factory.mktemp("hostile-bank")
    (root / "practices").mkdir()
    hostile = VALID_FICHE.replace(
        "## Objectifs\n",
        "## Objectifs\n\n<script>alert('body')</script>\n<img src=x onerror=\"alert('img')\">\n"
        "[cliquez](javascript:alert('link')) <a href=\"javascript:alert('a')\">ici</a>\n"
        "<iframe src=\"https://evil.example\"></iframe>\n\n")
    hostile = hostile.replace("titre: Un bus numérique itinérant pour les démarches en ligne",
                              "titre: \"Un bus [numérique](javascript:alert(1)) <script>x</script> $x$\"")
    hostile = hostile.replace("porteur: Service cohésion sociale de la communauté de communes",
                              "porteur: \"<b onmouseover=alert(1)>Service</b>\"")
    (root / "practices" / "bus-hostile.md").write_text(hostile, encoding="utf-8")
    (root / "practices" / "bus-sage.md").write_text(VALID_FICHE.replace(
        "Un bus numérique itinérant pour les démarches en ligne", "Un autre bus numérique pour les villages"),
        encoding="utf-8")
    settings = load_settings(root, index_dir=root / "index")
    report = build(settings)
    assert report.fiches == 2, report.problems
    return settings


def test_fiche_page_never_runs_html_from_a_fiche(hostile_bank, monkeypatch):
    monkeypatch.setenv("KB_ROOT", str(hostile_bank.root))
    monkeypatch.setenv("KB_INDEX_DIR", str(hostile_bank.index_path))
    at = open_page(AppTest.from_file(str(APP), default_timeout=TIMEOUT), "fiche", slug="bus-hostile")
    no_exception(at)
    joined = "\n".join(fiche_texts_without_the_lang_script(at)).lower()
    for bad in (r"<script", r"<iframe", r"<img", r"<[^>]*\son[a-z]+\s*=", r"href\s*=\s*[\"']?\s*javascript:"):
        assert not re.search(bad, joined), bad
    # Markdown-read texts (title, link labels): every sign escaped, so they stay text
    for text in [t.value for t in at.title] + [link.proto.label for link in at.page_link]:
        assert not re.search(r"(?<!\\)[<>\[\]()$]", text), text
        assert "javascript:" not in text
    assert "&lt;b onmouseover=alert(1)&gt;service&lt;/b&gt;" in joined  # shown as text, escaped
    assert "<h2>objectifs</h2>" in joined
    assert fiche_links(at) == ["bus-sage"]


# ----------------------------------------------------------------------------- Parcourir


def test_browse_page_by_type_and_departement(app, bundled_engine):
    at = open_page(app, "parcourir", type="communaute-de-communes")
    no_exception(at)
    assert at.title[0].value == "Parcourir la banque"
    assert at.selectbox(key="p_type").value == "communaute-de-communes"
    filters = Filters(types=["communaute-de-communes"])
    total = bundled_engine.search("", filters, limit=0).total
    assert at.subheader[0].value == f"{total} fiches pour cette sélection"
    listed = fiche_links(at)
    assert listed and all(bundled_engine.get(s).territoire["type"] == "communaute-de-communes" for s in listed)
    assert [h.value for h in at.header][:3] == ["Carte des fiches par département", "Départements",
                                                "Thématiques de la sélection"]
    departement = next(iter(bundled_engine.facets(filters)["departement"]))
    at.selectbox(key="p_dep").select(departement)
    at.run()
    no_exception(at)
    narrowed = bundled_engine.search("", Filters(types=["communaute-de-communes"], departements=[departement]),
                                     limit=100)
    assert set(fiche_links(at)) >= {h.slug for h in narrowed.hits}
    assert at.query_params == {"type": "communaute-de-communes", "departement": departement}


def test_browse_page_restores_a_theme_from_the_url(app, bundled_engine):
    at = open_page(app, "parcourir", axe="inclusion")
    no_exception(at)
    assert at.selectbox(key="p_theme").value == "axe:inclusion"
    total = bundled_engine.search("", Filters(axes=["inclusion"]), limit=0).total
    assert at.subheader[0].value.startswith(f"{total} fiche")


def test_browse_page_keeps_the_first_of_two_themes_and_says_which_was_ignored(app, bundled_engine):
    themes = list(bundled_engine.facets().get("thematique", {}))[:2]
    at = open_page(app, "parcourir", thematique=themes)
    no_exception(at)
    assert at.selectbox(key="p_theme").value == f"thematique:{themes[0]}"
    warnings = [w.value for w in at.warning]
    assert any(f"« {themes[1]} » ignoré" in w and "thematique" in w for w in warnings), warnings
    assert at.query_params == {"thematique": themes[0]}


@pytest.mark.parametrize("page,params", [("rechercher", {"q": "bus"}), ("parcourir", {}), ("territoire", {}),
                                         ("contribuer", {}), ("fiche", {"slug": None})])
def test_unknown_url_parameters_are_reported_in_french(app, bundled_engine, page, params):
    if "slug" in params:
        params = {"slug": bundled_engine.search("", limit=1).hits[0].slug}
    if page == "rechercher":  # the default page: entered by the first run
        app.query_params.update({"foo": "1", **params})
        at = app.run()
    else:
        at = open_page(app, page, foo="1", **params)
    no_exception(at)
    warnings = [w.value.replace("\\", "") for w in at.warning]  # Markdown escapes
    assert any("Paramètre « foo » inconnu : ignoré." in w for w in warnings), warnings


# ----------------------------------------------------------------------------- Contribuer


def test_contribute_form_shows_the_validator_messages(app):
    at = open_page(app, "contribuer")
    no_exception(at)
    assert any("Commencez à remplir" in i.value for i in at.info)
    at.text_input(key="c_titre").input("Court")
    at.run()
    no_exception(at)
    errors = "\n".join(e.value for e in at.error)
    _, _, _, problems = check(FicheForm(titre="Court", mise_a_jour=dt.date.today()))
    for problem in problems:
        if problem.severity == "error":
            assert components.md_escape(problem.message) in errors
    assert components.md_escape("« titre » fait 5 caractères; il en faut de 10 à 120.") in errors
    assert not at.get("download_button")


def test_a_valid_contribution_can_be_downloaded(app):
    at = open_page(app, "contribuer")
    at.text_input(key="c_titre").input("Un atelier de test pour vérifier le formulaire de contribution")
    at.text_area(key="c_resume").input("Un atelier imaginaire sert à vérifier que le formulaire produit une fiche "
                                       "valide, téléchargeable et prête pour une demande de fusion.")
    at.multiselect(key="c_thematiques").select("mediation-numerique")
    at.multiselect(key="c_publics").select("seniors")
    at.selectbox(key="c_statut").select("en-cours")
    at.selectbox(key="c_debut_annee").select(2023)
    at.selectbox(key="c_debut_mois").select(4)
    at.text_input(key="c_porteur").input("Service numérique de la commune")
    at.text_input(key="c_territoire_nom").input("Commune de Test-sur-Formulaire")
    at.selectbox(key="c_type").select("commune")
    at.selectbox(key="c_densite").select("bourgs-ruraux")
    at.multiselect(key="c_departements").select("26")
    at.text_input(key="c_contact_email").input("numerique@test.example")
    for key, text in (("contexte", "Une commune rurale sans lieu de médiation."),
                      ("objectifs", "Accompagner les habitants."),
                      ("mise-en-oeuvre", "Un atelier hebdomadaire en mairie."),
                      ("resultats", "Quarante personnes accompagnées.")):
        at.text_area(key=f"c_section_{key}").input(text)
    at.run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    slug = "un-atelier-de-test-pour-verifier-le-formulaire-de-contribution"
    assert any(f"practices/{slug}.md" in s.value for s in at.success)
    download = at.get("download_button")
    assert len(download) == 1 and f"{slug}.md" in download[0].proto.label
    text = at.code[0].value
    fiche, problems = parse_bytes(text.encode(), Path("practices") / f"{slug}.md")
    assert fiche is not None and fiche.debut == "2023-04" and fiche.contact == {"email": "numerique@test.example"}
    steps = "\n".join(m.value for m in at.markdown)
    assert "pull request" in steps and f"kb validate practices/{slug}.md" in steps


def test_a_question_no_fiche_answers_gets_the_no_result_state(app):
    app.query_params.update({"q": "zzzqqq"})
    at = app.run()
    no_exception(at)
    assert at.subheader[0].value == "Aucune fiche ne répond à votre besoin"
    assert any("aucune ne contient l'essentiel de ses mots" in i.value for i in at.info)
    themes = [link for link in at.page_link if link.proto.page == "parcourir"]
    assert themes and all("thematique=" in link.proto.query_string for link in themes)
    assert not [b for b in at.button if b.label.startswith("Exporter")]
    assert not [e for e in at.expander if e.label.startswith("Autres fiches proches")]


def test_a_typo_shows_the_corrected_search_and_says_so(app, bundled_engine):
    app.query_params.update({"q": "mediation numerque ruralle"})
    at = app.run()
    no_exception(at)
    expected = bundled_engine.search("mediation numérique rurale", limit=10)
    assert at.subheader[0].value == f"{expected.total} fiches répondent à votre besoin"
    assert any("Résultats pour « mediation numérique rurale »" in i.value for i in at.info)
    assert fiche_links(at)[:len(expected.hits)] == [h.slug for h in expected.hits]


def test_weaker_matches_are_listed_apart_and_not_counted(app, bundled_engine):
    app.query_params.update({"q": "cybersécurité"})
    at = app.run()
    no_exception(at)
    expected = bundled_engine.search("cybersécurité", limit=10)
    assert expected.others, "the bank has weaker matches for this query"
    assert at.subheader[0].value == f"{expected.total} fiches répondent à votre besoin"
    others = [e for e in at.expander if e.label.startswith("Autres fiches proches")]
    assert len(others) == 1 and "non comptées" in others[0].label
    assert fiche_links(at) == [h.slug for h in expected.hits + expected.others]
