"""A torture corpus: each hostile file gets its exact message and line from the validator, and a
build of a folder that holds it next to valid fiches still publishes the valid ones and lists it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from conftest import TODAY, VALID, FakeEmbedder, variant
from kb.bank import check_paths
from kb.build import build
from kb.catalog import Catalog
from kb.fiche import MAX_YAML_DEPTH, parse_bytes
from kb.settings import load_settings

# the torture file is a variant of the contract example with its own title, so that a valid one
# does not clash with the neighbour that holds the example itself
TORTURE = variant(titre="titre: Une fiche de torture pour le validateur")
NEIGHBOURS = {
    "bus-numerique.md": VALID,
    "ateliers-seniors.md": variant(titre="titre: Des ateliers tablettes pour les aînés du village",
                                   **{"  type": "  type: commune"}),
}
NEIGHBOUR_SLUGS = {"bus-numerique", "ateliers-seniors"}
# lines of TORTURE (same layout as tests/fixtures/valid.md)
TITRE, THEMATIQUES, PUBLICS, TERRITOIRE, DEPARTEMENTS, POPULATION = 2, 6, 7, 8, 12, 13
PORTEUR, PARTENAIRES, DEBUT, BUDGET, MISE_A_JOUR = 14, 15, 17, 19, 20
TAG_MESSAGE = ("étiquette YAML non autorisée ({tag}): seules les valeurs simples (texte, nombre, liste, "
               "dictionnaire) sont acceptées; retirez l'étiquette qui commence par « ! ».")
NESTED_MESSAGE = (f"valeurs YAML imbriquées sur plus de {MAX_YAML_DEPTH} niveaux: une fiche ne contient que des "
                  "textes, des listes et des structures simples.")


@dataclass
class Case:
    id: str
    content: str | bytes | Callable[[Path], str | bytes]
    line: int
    message: str  # the exact message, or with exact=False a distinctive part of it
    exact: bool = True
    name: str = "fiche-torture.md"


TERRITOIRE_AS_LIST = (TORTURE[:TORTURE.index("territoire:")] + "territoire: [Val d'Aubre, \"26\"]\n"
                      + TORTURE[TORTURE.index("porteur:"):])


def billion_laughs() -> str:
    lines = ['x_a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        previous, current = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"x_{current}: &{current} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "---\n" + "\n".join(lines) + "\n" + TORTURE.split("---\n", 1)[1]


CASES = [
    Case("yaml-unclosed-bracket", variant(TORTURE, porteur="porteur: [Service de la communauté"), PARTENAIRES,
         "YAML invalide (expected ',' or ']', but got ':', while parsing a flow sequence): vérifiez "
         "l'indentation et mettez entre guillemets les textes qui contiennent « : » ou commencent par un "
         "caractère spécial."),
    Case("yaml-colon-in-value", variant(TORTURE, porteur="porteur: Service: cohésion sociale"), PORTEUR,
         "YAML invalide (mapping values are not allowed here): vérifiez l'indentation et mettez entre "
         "guillemets les textes qui contiennent « : » ou commencent par un caractère spécial."),
    Case("yaml-unclosed-quote", variant(TORTURE, porteur='porteur: "Service cohésion sociale'), PORTEUR,
         "guillemet ouvert mais jamais fermé: fermez-le à la fin du texte."),
    Case("yaml-tab-indent", variant(TORTURE, porteur="porteur:\n\tService cohésion sociale"), PORTEUR + 1,
         "tabulation dans l'en-tête YAML: indentez avec des espaces."),
    Case("yaml-control-char", variant(TORTURE, porteur="porteur: Service\x07 cohésion"), PORTEUR,
         "caractère invisible interdit dans l'en-tête (U+0007, colonne 17): supprimez-le (il vient souvent "
         "d'un copier-coller)."),
    Case("yaml-surrogate-escape", variant(TORTURE, porteur='porteur: "Service \\ud800"'), PORTEUR,
         "caractère invalide (moitié de paire UTF-16, « \\ud800 » à « \\udfff »): écrivez le caractère lui-même."),
    Case("no-front-matter", "# Un bus numérique\n\n## Contexte\n\nQuinze villages.\n", 1,
         "pas d'en-tête YAML: la première ligne doit être « --- », suivie des champs (titre, resume…) puis "
         "d'une ligne « --- »."),
    Case("front-matter-unclosed", TORTURE.replace("\n---\n\n## Contexte", "\n\n## Contexte"), 1,
         "en-tête YAML non fermé: ajoutez une ligne « --- » après le dernier champ."),
    Case("empty-front-matter", "---\n---\n" + TORTURE.split("---\n", 2)[2], 1,
         "en-tête YAML vide: ajoutez les champs obligatoires (titre, resume, thematiques, publics, territoire, "
         "porteur, debut, statut, mise_a_jour)."),
    Case("latin-1", TORTURE.encode("latin-1", errors="replace"), 4,  # "  Un bus équipé"
         "texte non UTF-8 à la colonne 10 (il semble enregistré en Latin-1/Windows-1252): enregistrez le "
         "fichier en UTF-8."),
    Case("utf-8-with-one-broken-byte", TORTURE.encode().replace(b"Quinze", b"Qu\xe9inze"), 25,
         "texte non UTF-8 à la colonne 3: enregistrez le fichier en UTF-8."),
    Case("five-megabytes", TORTURE + "\n" + ("Une ligne de remplissage assez longue. " * 2 + "\n") * 65_000, 1,
         "fichier trop volumineux (5.1 Mo, maximum 1 Mo): une fiche est un texte de quelques pages; mettez "
         "les documents annexes en lien."),
    Case("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, 3,  # after two b"\n"
         "fichier binaire (octet nul): une fiche est un texte Markdown en UTF-8."),
    Case("empty-file", b"", 1, "fichier vide: une fiche commence par un en-tête YAML entre deux lignes « --- » "
                               "(créez-en une avec « kb new \"Titre\" »)."),
    Case("yaml-python-tag", lambda tmp: variant(TORTURE, porteur=f"porteur: !!python/object/apply:os.system "
                                                                  f"[\"touch {tmp / 'pwned'}\"]"),
         PORTEUR, TAG_MESSAGE.format(tag="!!python/object/apply:os.system")),
    Case("yaml-python-tag-in-free-key", lambda tmp: variant(
        TORTURE, porteur=f"porteur: Service\nx_note:\n  - !!python/object/new:os.system [\"touch {tmp / 'pwned'}\"]"),
         PORTEUR + 2, TAG_MESSAGE.format(tag="!!python/object/new:os.system")),
    Case("yaml-custom-tag", variant(TORTURE, porteur="porteur: !chiffre Service"), PORTEUR,
         TAG_MESSAGE.format(tag="!chiffre")),
    Case("yaml-binary-tag", variant(TORTURE, porteur="porteur: !!binary U2VydmljZQ=="), PORTEUR,
         TAG_MESSAGE.format(tag="!!binary")),
    Case("billion-laughs", billion_laughs(), 2,
         "ancres et alias YAML (& et *) non autorisés dans une fiche: écrivez chaque valeur en entier."),
    Case("nested-lists-10000", variant(TORTURE, porteur="porteur: " + "[" * 10_000 + "]" * 10_000), PORTEUR,
         NESTED_MESSAGE),
    Case("nested-mappings-10000", variant(TORTURE, porteur="x_a: " + "{a: " * 10_000 + "b" + "}" * 10_000),
         PORTEUR, NESTED_MESSAGE),
    Case("nested-block-lists", variant(TORTURE, porteur="porteur:\n" + "".join(
        " " * level + "-\n" for level in range(200))), PORTEUR + 1 + MAX_YAML_DEPTH, NESTED_MESSAGE),
    Case("list-for-text", variant(TORTURE, porteur="porteur: [Service, CAF]"), PORTEUR,
         "« porteur » doit être un texte, pas une liste."),
    Case("mapping-for-text", variant(TORTURE, porteur="porteur: {nom: Service}"), PORTEUR,
         "« porteur » doit être un texte, pas une structure."),
    Case("yes-for-text", variant(TORTURE, porteur="porteur: yes"), PORTEUR,
         "« porteur » doit être un texte: mettez-le entre guillemets (yes, no, on, off, true, false seuls sont "
         "lus comme oui/non)."),
    Case("text-for-list", variant(TORTURE, publics="publics: seniors"), PUBLICS,
         "« publics » doit être une liste: écrivez « publics: [seniors] »."),
    Case("text-for-list-of-texts", variant(TORTURE, partenaires="partenaires: CAF"), PARTENAIRES,
         "« partenaires » doit être une liste: écrivez « partenaires: [CAF] »."),
    Case("mapping-for-list", variant(TORTURE, partenaires="partenaires: {nom: CAF}"), PARTENAIRES,
         "« partenaires » doit être une liste de textes."),
    Case("lists-inside-a-slug-list", variant(TORTURE, thematiques="thematiques: [[aide-demarches]]"), THEMATIQUES,
         "« thematiques.0 » doit être une valeur du vocabulaire, pas une liste."),
    Case("list-for-mapping", TERRITOIRE_AS_LIST, TERRITOIRE, "« territoire » doit être une structure "
         "avec les clés nom, type, densite, departements, population."),
    Case("mapping-for-departements", variant(TORTURE, **{"  departements": "  departements: {code: \"26\"}"}),
         DEPARTEMENTS, "« territoire.departements » doit être une liste de codes entre guillemets, par exemple "
                       "[\"26\"]."),
    Case("list-as-key", variant(TORTURE, porteur="porteur: Service\n[a, b]: c"), PORTEUR + 1,
         "une clé s'écrit comme un simple mot suivi de « : » (par exemple « titre: … »), pas comme une liste ni "
         "une structure."),
    Case("yes-as-key", variant(TORTURE, porteur="porteur: Service\nyes: c"), PORTEUR + 1,
         "clé inconnue « yes »", exact=False),
    Case("date-not-in-calendar", variant(TORTURE, mise_a_jour="mise_a_jour: 2026-02-30"), MISE_A_JOUR,
         "« mise_a_jour » (2026-02-30) n'est pas une date du calendrier: vérifiez le jour et le mois."),
    Case("population-beyond-sqlite", variant(TORTURE, **{"  population": "  population: " + "9" * 30}),
         POPULATION, f"« territoire.population » ({'9' * 30}) dépasse 100 000 000 habitants: vérifiez le nombre."),
    Case("population-5000-digits", variant(TORTURE, **{"  population": "  population: " + "7" * 5000}),
         POPULATION, "« territoire.population » doit être un nombre entier d'habitants, sans espace (par exemple "
                     "18500)."),
    Case("budget-infinite", variant(TORTURE, couts="budget_eur: .inf"), BUDGET,
         "« budget_eur » dépasse mille milliards d'euros: vérifiez le montant (en euros, sans espace ni symbole, "
         "par exemple 140000)."),
    Case("budget-beyond-sqlite", variant(TORTURE, couts="budget_eur: " + "9" * 30), BUDGET,
         "« budget_eur » dépasse mille milliards d'euros: vérifiez le montant (en euros, sans espace ni symbole, "
         "par exemple 140000)."),
    Case("file-name-with-spaces", TORTURE, 1, "nom de fichier « fiche de torture.md » invalide: le slug s'écrit en "
         "minuscules ASCII, chiffres et tirets, de 3 à 80 caractères (renommez-le « fiche-de-torture.md »).",
         name="fiche de torture.md"),
    Case("file-name-with-accents", TORTURE, 1, "nom de fichier « fiche-été.md » invalide: le slug s'écrit en "
         "minuscules ASCII, chiffres et tirets, de 3 à 80 caractères (renommez-le « fiche-ete.md »).",
         name="fiche-été.md"),
]


def materialize(case: Case, tmp_path: Path) -> bytes:
    content = case.content(tmp_path) if callable(case.content) else case.content
    return content if isinstance(content, bytes) else content.encode("utf-8")


@pytest.fixture
def bank(tmp_path):
    folder = tmp_path / "practices"
    folder.mkdir()
    for name, text in NEIGHBOURS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def run_build(tmp_path: Path, **kwargs):
    settings = load_settings(tmp_path)
    report = build(settings, embedder=FakeEmbedder(), today=TODAY, **kwargs)
    catalog = Catalog(settings.catalog_path)
    slugs = {row["slug"] for row in catalog.db.query("SELECT slug FROM fiches")}
    listed = {p["path"] for p in catalog.problems()}
    catalog.close()
    return report, slugs, listed


def matching(problems, message: str, exact: bool):
    return [p for p in problems if p.severity == "error" and (p.message == message if exact else message in p.message)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_torture_file_message_line_and_build(case, bank, tmp_path):
    path = bank / case.name
    path.write_bytes(materialize(case, tmp_path))

    result = check_paths([bank], today=TODAY)
    found = matching(result.problems, case.message, case.exact)
    assert found, f"« {case.message} » not among {[p.format() for p in result.problems]}"
    assert (found[0].path, found[0].line) == (str(path), case.line), found[0].format()
    assert {f.slug for f in result.valid} == NEIGHBOUR_SLUGS

    report, slugs, listed = run_build(tmp_path)
    assert slugs == NEIGHBOUR_SLUGS
    rel = f"practices/{case.name}"
    assert [p.line for p in matching(report.problems, case.message, case.exact) if p.path == rel] == [case.line]
    assert report.invalid == 1 and listed == {rel}
    assert not (tmp_path / "pwned").exists()


def test_yaml_tags_never_run_code(tmp_path):
    """The payloads that would create a file if PyYAML's unsafe loader ran them create nothing."""
    target = tmp_path / "pwned"
    payloads = [
        f"porteur: !!python/object/apply:os.system [\"touch {target}\"]",
        f"porteur: !!python/object/apply:subprocess.check_call [[\"touch\", \"{target}\"]]",
        f"porteur: !!python/object/new:os.system [\"touch {target}\"]",
        f"porteur: !!python/object/apply:builtins.open [\"{target}\", \"w\"]",
        f"porteur: !<tag:yaml.org,2002:python/object/apply:os.system> [\"touch {target}\"]",
        f"porteur: Service\nx_a: {{cle: !!python/object/apply:os.system [\"touch {target}\"]}}",
    ]
    for payload in payloads:
        fiche, problems = parse_bytes(variant(TORTURE, porteur=payload).encode(), "practices/fiche-torture.md", TODAY)
        assert fiche is None
        assert any(p.message.startswith("étiquette YAML non autorisée (") for p in problems), payload
    assert not target.exists()


def test_the_string_tag_is_allowed():
    fiche, problems = parse_bytes(variant(TORTURE, porteur="porteur: !!str 2024").encode(),
                                  "practices/fiche-torture.md", TODAY)
    assert problems == [] and fiche.porteur == "2024"


def test_byte_order_mark_is_a_warning_and_the_fiche_is_built(bank, tmp_path):
    (bank / "fiche-torture.md").write_bytes(b"\xef\xbb\xbf" + TORTURE.encode())
    result = check_paths([bank], today=TODAY)
    assert [(p.line, p.severity, p.message) for p in result.problems] == [
        (1, "warning", "marque d'ordre des octets (BOM) en tête du fichier: enregistrez-le en UTF-8 sans BOM.")]
    bom = next(f for f in result.valid if f.slug == "fiche-torture")
    plain, _ = parse_bytes(TORTURE.encode(), str(bank / "fiche-torture.md"), TODAY)
    assert bom == plain

    report, slugs, listed = run_build(tmp_path)
    assert slugs == NEIGHBOUR_SLUGS | {"fiche-torture"} and report.invalid == 0 and listed == set()


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_windows_and_old_mac_line_endings_give_the_same_fiche(newline, bank, tmp_path):
    path = bank / "fiche-torture.md"
    path.write_bytes(TORTURE.replace("\n", newline).encode())
    fiche, problems = parse_bytes(path.read_bytes(), str(path), TODAY)
    plain, _ = parse_bytes(TORTURE.encode(), str(path), TODAY)
    assert problems == [] and fiche == plain
    assert "\r" not in fiche.body and fiche.resume == plain.resume

    report, slugs, _ = run_build(tmp_path)
    assert slugs == NEIGHBOUR_SLUGS | {"fiche-torture"} and report.invalid == 0


def test_a_line_ending_change_alone_rebuilds_the_fiche_identically(bank, tmp_path):
    path = bank / "fiche-torture.md"
    path.write_text(TORTURE, encoding="utf-8")
    run_build(tmp_path)
    before = Catalog(load_settings(tmp_path).catalog_path).get("fiche-torture")
    path.write_bytes(TORTURE.replace("\n", "\r\n").encode())
    report, slugs, _ = run_build(tmp_path)
    after = Catalog(load_settings(tmp_path).catalog_path).get("fiche-torture")
    assert report.updated == 1 and report.chunks_encoded == 0  # same text, same vectors
    assert {k: v for k, v in after.items() if k != "id"} == {k: v for k, v in before.items() if k != "id"}


def assert_link_refused(bank, tmp_path, link, message):
    """The link gets exactly ``message`` (line 1), is listed as a problem of the build under its
    path relative to the bank, and every neighbour is still built."""
    result = check_paths([bank], today=TODAY)
    assert [p.format() for p in result.problems] == [f"{link}:1: error: {message}"]
    report, slugs, listed = run_build(tmp_path)
    assert slugs == NEIGHBOUR_SLUGS and listed == {"practices/fiche-torture.md"}
    assert [p.path for p in report.problems] == ["practices/fiche-torture.md"]  # relative, like every other


def test_symbolic_link_outside_practices_is_refused(bank, tmp_path):
    outside = tmp_path / "ailleurs" / "secret.md"
    outside.parent.mkdir()
    outside.write_text(TORTURE, encoding="utf-8")
    link = bank / "fiche-torture.md"
    link.symlink_to(outside)
    assert_link_refused(bank, tmp_path, link, f"lien symbolique vers un fichier hors du dossier {bank}: copiez la "
                        "fiche dans le dépôt au lieu de la lier.")


def test_symbolic_link_inside_practices_is_a_fiche_under_its_own_name(bank, tmp_path):
    (bank / ".brouillons").mkdir()  # hidden folders are not read themselves
    (bank / ".brouillons" / "v2.md").write_text(TORTURE, encoding="utf-8")
    (bank / "fiche-torture.md").symlink_to(Path(".brouillons") / "v2.md")

    result = check_paths([bank], today=TODAY)
    assert result.problems == [] and {f.slug for f in result.valid} == NEIGHBOUR_SLUGS | {"fiche-torture"}
    report, slugs, _ = run_build(tmp_path)
    assert slugs == NEIGHBOUR_SLUGS | {"fiche-torture"}
    fiche = Catalog(load_settings(tmp_path).catalog_path).get("fiche-torture")
    assert fiche["path"] == "practices/fiche-torture.md"  # not the target's path


def test_symbolic_link_to_a_sibling_does_not_hide_the_sibling(bank, tmp_path):
    """Both names once resolved to one path: the build kept the link and silently dropped the file."""
    (bank / "lien-vers-le-bus.md").symlink_to("bus-numerique.md")
    report, slugs, listed = run_build(tmp_path)
    assert slugs == NEIGHBOUR_SLUGS
    assert [p.format() for p in report.problems] == [
        "practices/lien-vers-le-bus.md:2: error: même titre que practices/bus-numerique.md: précisez ce qui "
        "distingue cette fiche."]


@pytest.mark.parametrize("target", ["nulle-part.md", "fiche-torture.md"], ids=["dangling", "loop"])
def test_broken_symbolic_links_are_listed_not_fatal(target, bank, tmp_path):
    link = bank / "fiche-torture.md"
    link.symlink_to(target)
    assert_link_refused(bank, tmp_path, link, "lien symbolique cassé (sa cible n'existe pas ou forme une boucle): "
                        "supprimez-le ou remplacez-le par la fiche.")


def test_linked_folder_outside_practices_is_not_read(bank, tmp_path):
    outside = tmp_path / "ailleurs"
    outside.mkdir()
    (outside / "fiche-torture.md").write_text(TORTURE, encoding="utf-8")
    (bank / "dossier-lie").symlink_to(outside, target_is_directory=True)
    assert {f.slug for f in check_paths([bank], today=TODAY).valid} == NEIGHBOUR_SLUGS
    _, slugs, _ = run_build(tmp_path)
    assert slugs == NEIGHBOUR_SLUGS


def test_slugs_that_differ_only_by_case(bank, tmp_path):
    upper = bank / "Bus-numerique.md"
    upper.write_text(TORTURE, encoding="utf-8")
    result = check_paths([bank], today=TODAY)
    assert [p.format() for p in result.problems] == [
        f"{upper}:1: error: nom de fichier qui ne diffère de bus-numerique.md que par les majuscules: sous Windows "
        "et macOS ce serait le même fichier; renommez ou fusionnez les deux fiches.",
        f"{upper}:1: error: nom de fichier « Bus-numerique.md » invalide: le slug s'écrit en minuscules ASCII, "
        "chiffres et tirets, de 3 à 80 caractères (renommez-le « bus-numerique.md »).",
    ]
    assert {f.slug for f in result.valid} == NEIGHBOUR_SLUGS
    report, slugs, listed = run_build(tmp_path)
    assert slugs == NEIGHBOUR_SLUGS and listed == {"practices/Bus-numerique.md"}


def test_unreadable_file_is_listed_not_fatal(bank, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = bank / "fiche-torture.md"
    path.write_text(TORTURE, encoding="utf-8")
    path.chmod(0)
    try:
        result = check_paths([bank], today=TODAY)
        assert any(p.message.startswith("fichier illisible") for p in result.problems)
        _, slugs, listed = run_build(tmp_path)
        assert slugs == NEIGHBOUR_SLUGS and listed == {"practices/fiche-torture.md"}
    finally:
        path.chmod(0o644)


def test_the_whole_corpus_at_once_through_kb_validate_and_build(bank, tmp_path, monkeypatch):
    """Every torture file in one folder: `kb validate` names each one's problem at its line, and
    one build publishes the valid fiches and lists every torture file."""
    import json

    from click.testing import CliRunner

    import kb.embed
    from kb.cli import main

    names = {}
    for case in CASES:
        name = case.name if case.name != "fiche-torture.md" else f"t-{case.id}.md"
        (bank / name).write_bytes(materialize(case, tmp_path))
        names[name] = case

    result = CliRunner().invoke(main, ["--root", str(tmp_path), "validate", "--format", "json"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output  # no traceback
    data = json.loads(result.output)
    assert data["files"] == len(CASES) + len(NEIGHBOURS)
    for name, case in names.items():
        mine = [(p["line"], p["message"]) for p in data["problems"]
                if p["path"] == str(bank / name) and p["severity"] == "error"]
        assert any(line == case.line and (message == case.message if case.exact else case.message in message)
                   for line, message in mine), (name, mine)
    assert not any(p["path"].endswith(tuple(NEIGHBOURS)) for p in data["problems"])

    monkeypatch.setattr(kb.embed.Embedder, "from_settings", classmethod(lambda cls, settings: FakeEmbedder()))
    result = CliRunner().invoke(main, ["--root", str(tmp_path), "build", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (f"2 fiche(s) (2 ajoutée(s), 0 modifiée(s), 0 supprimée(s), 0 inchangée(s)); {len(CASES)} fichier(s) "
            "invalide(s) écarté(s)") in result.output
    _, slugs, listed = run_build(tmp_path)
    assert slugs == NEIGHBOUR_SLUGS and listed == {f"practices/{name}" for name in names}
    assert not (tmp_path / "pwned").exists()
