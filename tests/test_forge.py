"""The forge links (kb.forge): a fiche proposed from the Contribuer page without local git (the
forge's « new file » page, pre-filled) and « Signaler une information périmée » on a fiche (a
pre-filled issue); their settings, and the two pages driven with Streamlit's AppTest."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from kb import forge
from kb.forge import MAX_URL_LENGTH, issue_url, new_file_url
from kb.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "kb" / "webapp" / "app.py"
VALID_FICHE = (ROOT / "tests" / "fixtures" / "valid.md").read_text(encoding="utf-8")
# what a fiche can hold that a query string must encode: accents, newlines, &, =, +, #, %, quotes
TRICKY = ("---\ntitre: « Un été à Saint-Étienne » & co #1\n---\n\n## Contexte\n\n"
          "L'équipe + 50 % = 100 € ; « guillemets » / a?b=c\r\nfin\n")
GITHUB_NEW = "https://github.com/org/banque/new/main/practices"
GITLAB_NEW = "https://gitlab.com/org/banque/-/new/main/practices"
GITEA_NEW = "https://forge.exemple.fr/org/banque/_new/main/practices"


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


# ----------------------------------------------------------------------------- new file


@pytest.mark.parametrize("base, name_param, content_param", [
    (GITHUB_NEW, "filename", "value"),
    (GITLAB_NEW, "file_name", "content"),
    (GITEA_NEW, "filename", "value"),
    (GITLAB_NEW + "/", "file_name", "content"),  # a trailing "/" is dropped
])
def test_new_file_url_fills_the_name_and_content_each_forge_reads(base, name_param, content_param):
    url = new_file_url(base, "un-ete.md", TRICKY)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == base.rstrip("/")
    assert query(url) == {name_param: ["un-ete.md"], content_param: [TRICKY]}  # accents, newlines round-trip
    assert " " not in url and "\n" not in url and "é" not in url and "#" not in parts.query


@pytest.mark.parametrize("url, expected", [
    (GITHUB_NEW, "github"), (GITLAB_NEW, "gitlab"), (GITEA_NEW, "gitea"),
    ("https://gitlab.com/new/banque/-/new/main/practices", "gitlab"),  # a group named "new"
    ("https://forge.exemple.fr/new/banque/_new/main/practices", "gitea"),
    ("https://github.com/org/banque/new/main", "github"),
    ("https://github.com/org/banque/tree/main/practices", None),
    ("https://github.com/org/banque", None),
])
def test_the_forge_is_told_by_the_shape_of_the_address(url, expected):
    assert forge.new_file_forge(url) == expected


def test_an_address_of_no_known_forge_is_refused_in_french():
    with pytest.raises(ValueError, match="adresse « nouveau fichier » non reconnue"):
        new_file_url("https://github.com/org/banque/tree/main/practices", "a.md", "x")
    with pytest.raises(ValueError, match="adresse « nouveau ticket » non reconnue"):
        issue_url("https://github.com/org/banque/issues", "t", "b")


def test_too_long_an_address_gives_none():
    prefix = len(new_file_url(GITHUB_NEW, "a.md", ""))
    fits = "a" * (MAX_URL_LENGTH - prefix)
    assert len(new_file_url(GITHUB_NEW, "a.md", fits)) == MAX_URL_LENGTH
    assert new_file_url(GITHUB_NEW, "a.md", fits + "a") is None
    # the limit is on the encoded address: an accent takes six characters, a newline three
    assert new_file_url(GITHUB_NEW, "a.md", "é" * (MAX_URL_LENGTH // 6)) is None
    assert new_file_url(GITLAB_NEW, "a.md", "\n" * (MAX_URL_LENGTH // 3)) is None
    assert issue_url("https://github.com/org/banque/issues/new", "t", "x" * MAX_URL_LENGTH) is None


def test_a_query_already_in_the_address_is_kept():
    url = new_file_url(GITHUB_NEW + "?ref=abc&filename=ancien.md#ancre", "un-ete.md", "texte")
    assert query(url) == {"ref": ["abc"], "filename": ["un-ete.md"], "value": ["texte"]}  # ours replaces
    assert "#" not in url and url.startswith(GITHUB_NEW + "?ref=abc&")
    url = issue_url("https://gitlab.com/org/banque/-/issues/new?issuable_template=perime", "Titre", "Texte")
    assert query(url) == {"issuable_template": ["perime"], "issue[title]": ["Titre"],
                          "issue[description]": ["Texte"]}


# ----------------------------------------------------------------------------- new issue


@pytest.mark.parametrize("base, title_param, body_param", [
    ("https://github.com/org/banque/issues/new", "title", "body"),
    ("https://forge.exemple.fr/org/banque/issues/new", "title", "body"),  # Gitea, Forgejo
    ("https://gitlab.com/org/banque/-/issues/new", "issue[title]", "issue[description]"),
    ("https://gitlab.com/org/banque/-/issues/new/", "issue[title]", "issue[description]"),
])
def test_issue_url_fills_the_title_and_body_each_forge_reads(base, title_param, body_param):
    title = "Information périmée : « Un été à Saint-Étienne »"
    url = issue_url(base, title, TRICKY)
    assert url.startswith(base.rstrip("/") + "?")
    assert query(url) == {title_param: [title], body_param: [TRICKY]}


# ----------------------------------------------------------------------------- settings


def test_forge_settings_are_empty_by_default_and_read_from_kb_toml(tmp_path):
    settings = load_settings(tmp_path)
    assert settings.forge_new_file_url == "" and settings.forge_issue_url == ""
    (tmp_path / "kb.toml").write_text(f'[kb]\nforge_new_file_url = "{GITLAB_NEW}"\n'
                                      'forge_issue_url = "https://gitlab.com/org/banque/-/issues/new"\n',
                                      encoding="utf-8")
    settings = load_settings(tmp_path)
    assert settings.forge_new_file_url == GITLAB_NEW
    assert settings.forge_issue_url == "https://gitlab.com/org/banque/-/issues/new"


@pytest.mark.parametrize("name, value", [
    ("forge_new_file_url", "github.com/org/banque/new/main/practices"),  # no http(s)://
    ("forge_new_file_url", "https://github.com/org/banque/tree/main/practices"),  # not a « new file » page
    ("forge_issue_url", "ftp://github.com/org/banque/issues/new"),
    ("forge_issue_url", "https://github.com/org/banque/issues"),
])
def test_a_forge_setting_must_be_an_http_address_of_the_right_page(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(f"KB_{name.upper()}", value)
    with pytest.raises(SettingsError) as error:
        load_settings(tmp_path)
    message = str(error.value)
    assert message.startswith(f"variable KB_{name.upper()}: réglage « {name} » = « {value} » invalide")
    assert "l'adresse http:// ou https://" in message and "ou vide" in message


# ----------------------------------------------------------------------------- the application


@pytest.fixture(scope="module")
def small_bank(tmp_path_factory):
    """A bank of one fiche, indexed once for this module (smaller than the bundled bank)."""
    from kb.build import build

    root = tmp_path_factory.mktemp("forge-bank")
    (root / "practices").mkdir()
    (root / "practices" / "bus-numerique.md").write_text(VALID_FICHE, encoding="utf-8")
    settings = load_settings(root, index_dir=root / "index")
    build(settings)
    return settings


@pytest.fixture
def app(small_bank, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("KB_ROOT", str(small_bank.root))
    monkeypatch.setenv("KB_INDEX_DIR", str(small_bank.index_path))
    for name in ("KB_EDIT_URL", "KB_BASE_URL", "KB_FORGE_NEW_FILE_URL", "KB_FORGE_ISSUE_URL"):
        monkeypatch.delenv(name, raising=False)
    return AppTest.from_file(str(APP), default_timeout=60)


def open_page(at, page: str, **params):
    at.run()
    at.switch_page(f"views/{page}.py")
    at.query_params.clear()
    at.query_params.update(params)
    return at.run()


def fill_valid_draft(at) -> str:
    """Fills the Contribuer form with a valid fiche; returns its slug."""
    at.text_input(key="c_titre").input("Un atelier de test pour vérifier le bouton de la forge")
    at.text_area(key="c_resume").input("Un atelier imaginaire sert à vérifier que le formulaire produit une fiche "
                                       "valide, prête à être proposée sur la forge sans git.")
    at.multiselect(key="c_thematiques").select("mediation-numerique")
    at.multiselect(key="c_publics").select("seniors")
    at.selectbox(key="c_statut").select("en-cours")
    at.selectbox(key="c_debut_annee").select(2023)
    at.text_input(key="c_porteur").input("Service numérique de la commune")
    at.text_input(key="c_territoire_nom").input("Commune de Test-sur-Forge")
    at.selectbox(key="c_type").select("commune")
    at.selectbox(key="c_densite").select("bourgs-ruraux")
    at.multiselect(key="c_departements").select("26")
    for key, text in (("contexte", "Une commune rurale sans lieu de médiation."),
                      ("objectifs", "Accompagner les habitants."),
                      ("mise-en-oeuvre", "Un atelier hebdomadaire en mairie."),
                      ("resultats", "Quarante personnes accompagnées.")):
        at.text_area(key=f"c_section_{key}").input(text)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return "un-atelier-de-test-pour-verifier-le-bouton-de-la-forge"


@pytest.mark.model
def test_contribuer_opens_the_forge_only_with_the_setting(app, monkeypatch):
    at = open_page(app, "contribuer")
    slug = fill_valid_draft(at)
    assert len(at.get("download_button")) == 1 and not at.get("link_button")  # no setting: as before
    assert not any("forge" in c.value for c in at.caption)

    monkeypatch.setenv("KB_FORGE_NEW_FILE_URL", GITHUB_NEW)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    buttons = at.get("link_button")
    assert [b.proto.label for b in buttons] == ["Ouvrir sur la forge (pull request sans git)"]
    assert len(at.get("download_button")) == 1  # the download stays
    fields = query(buttons[0].proto.url)
    assert fields["filename"] == [f"{slug}.md"] and list(fields) == ["filename", "value"]
    assert fields["value"][0] == at.code[0].value + "\n"  # the file downloaded (st.code drops the last "\n")
    assert any("demande de fusion" in c.value for c in at.caption)

    # too long for an address: said in French, the download stays
    at.text_area(key="c_section_contexte").input("Une commune rurale où l'été dure. " * 300)
    at.run()
    assert not at.exception and not at.error
    assert not at.get("link_button") and len(at.get("download_button")) == 1
    assert any("trop longue pour être transmise à la forge" in i.value for i in at.info)


@pytest.mark.model
def test_the_fiche_page_reports_outdated_information_only_with_the_setting(app, monkeypatch):
    at = open_page(app, "fiche", slug="bus-numerique")
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("link_button")

    monkeypatch.setenv("KB_FORGE_ISSUE_URL", "https://gitlab.com/org/banque/-/issues/new")
    monkeypatch.setenv("KB_BASE_URL", "https://banque.exemple.fr/")
    at = open_page(app, "fiche", slug="bus-numerique")
    assert not at.exception, [e.value for e in at.exception]
    buttons = at.get("link_button")
    assert [b.proto.label for b in buttons] == ["Signaler une information périmée"]
    fields = query(buttons[0].proto.url)
    titre = "Un bus numérique itinérant pour les démarches en ligne"
    assert fields["issue[title]"] == [f"Information périmée : {titre}"]
    body = fields["issue[description]"][0]
    for line in (f"Fiche : « {titre} »", "Identifiant : bus-numerique",
                 "Adresse : https://banque.exemple.fr/fiche?slug=bus-numerique",
                 "Qu'est-ce qui est périmé ?", "Source ou information à jour :"):
        assert line in body
