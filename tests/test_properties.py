"""Property-based tests (hypothesis): the parser never raises and always says where and what in
French; search never raises and every hit satisfies the filters, whatever the query."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from conftest import ROOT, TODAY, VALID, FakeEmbedder
from kb.catalog import Catalog, fiche_from_row
from kb.facets import REGISTRY
from kb.filters import Filters
from kb.fiche import parse_bytes
from kb.model import Fiche
from kb.problems import ERROR, WARNING
from kb.search import MODES, Engine
from kb.vocab import vocab

PATH = "practices/fiche-au-hasard.md"
# every message of the validator is French: it holds a French word, a French quotation mark or
# the usual French punctuation of this project
FRENCH = re.compile(r"«|\b(?:le|la|les|des|du|de|un|une|est|pas|doit|fichier|clé|texte|section|lien|"
                    r"écrivez|ligne|valeur|vérifiez)\b", re.IGNORECASE)


def check_problems(data: bytes, problems) -> None:
    lines = max(1, len(data.split(b"\n")), len(data.replace(b"\r\n", b"\n").split(b"\r")))
    for problem in problems:
        assert problem.path == PATH
        assert problem.severity in (ERROR, WARNING)
        assert isinstance(problem.line, int) and 1 <= problem.line <= lines + 1, (problem, lines)
        assert problem.message.strip() and FRENCH.search(problem.message), problem.message
        assert "Traceback" not in problem.message and "object at 0x" not in problem.message


def parse(data: bytes):
    fiche, problems = parse_bytes(data, PATH, TODAY)
    check_problems(data, problems)
    assert (fiche is None) == any(p.severity == ERROR for p in problems)
    return fiche, problems


# ----------------------------------------------------------------------------- the parser


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
@example(b"---\n")
@example(b"---\n---\n")
@example(b"\xef\xbb\xbf---\n\x00")
@example(b"---\n\xff\n---\n")
def test_arbitrary_bytes_never_raise(data):
    parse(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=2000))
@example("---\ntitre: \u2028\u2029\x85\n---\n")
@example("---\n: \n---\n")
@example("---\n? [a]\n: b\n---\n")
@example("---\ntitre: !!str\n---\n")
def test_arbitrary_text_never_raises(text):
    parse(text.encode("utf-8", errors="surrogatepass"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400).map(lambda t: "---\n" + t + "\n---\n## Contexte\n\nTexte.\n"))
def test_arbitrary_front_matter_never_raises(text):
    parse(text.encode("utf-8", errors="surrogatepass"))


VALID_LINES = VALID.split("\n")
FRAGMENTS = ["---", "...", ":", ": ", "- ", "-", "[", "]", "{", "}", "&a ", "*a", "!!python/object/apply:os.system",
             "!!str ", "!x ", "\t", "\ufeff", "  ", "    ", "#", "## Contexte", "## Résultats", "### Objectifs",
             "```", "<script>", "À COMPLÉTER", "'", '"', "\\ud800", '"\\ud800"', "|", ">-", "%TAG ! x", "\r",
             "\u2028", "\x85", "\x07", "2026-02-30", "9" * 40, ".inf", "~", "yes", "x_a", "<<", "? ", "é", "😀",
             "titre:", "territoire:", "  departements: [26]", "  population: -1", "liens: [{url: ftp://x}]"]


@st.composite
def edited_fiche(draw) -> str:
    """The valid fiche, with lines deleted, duplicated, swapped, cut or salted with fragments."""
    lines = list(VALID_LINES)
    for _ in range(draw(st.integers(1, 8))):
        index = draw(st.integers(0, len(lines) - 1))
        operation = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "cut", "salt", "indent"]))
        if operation == "delete" and len(lines) > 1:
            del lines[index]
        elif operation == "duplicate":
            lines.insert(index, lines[index])
        elif operation == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif operation == "insert":
            lines.insert(index, draw(st.sampled_from(FRAGMENTS) | st.text(max_size=30)))
        elif operation == "cut":
            lines[index] = lines[index][: draw(st.integers(0, len(lines[index])))]
        elif operation == "salt":
            line = lines[index]
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.sampled_from(FRAGMENTS)) + line[at:]
        else:
            lines[index] = " " * draw(st.integers(1, 4)) + lines[index]
    return "\n".join(lines)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited_fiche(), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_edited_valid_fiche_never_raises(text, newline, bom):
    data = text.replace("\n", newline).encode("utf-8", errors="surrogatepass")
    parse((b"\xef\xbb\xbf" if bom else b"") + data)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_unicode_line_separators_in_the_front_matter_are_named_at_their_real_line(separator):
    """YAML breaks lines at U+2028, U+2029 and U+0085 where editors show none: the fields after
    one were misread and every later line number was off by one."""
    text = VALID.replace("titre: Un bus", f"titre: Un{separator}bus", 1)
    fiche, problems = parse(text.encode())
    assert fiche is None and [p.format() for p in problems] == [
        f"{PATH}:2: error: séparateur de ligne Unicode (U+{ord(separator):04X}) à la colonne 10 de l'en-tête: "
        "remplacez-le par une espace ou un vrai retour à la ligne."]
    body, _ = parse(VALID.replace("Quinze villages", f"Quinze{separator}villages").encode())
    assert body is not None  # in the body it is only text


# ----------------------------------------------------------------------------- search


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """The bundled fiches, indexed once with the fake embedder."""
    from kb.build import build
    from kb.settings import load_settings

    settings_ = load_settings(ROOT, index_dir=tmp_path_factory.mktemp("properties-index"))
    report = build(settings_, embedder=FakeEmbedder(), today=TODAY)
    assert report.fiches >= 50 and not report.invalid
    engine = Engine(settings_, Catalog(settings_.catalog_path), embedder=FakeEmbedder())
    yield engine
    engine.catalog.close()


@pytest.fixture(scope="module")
def all_fiches(engine) -> dict[str, Fiche]:
    catalog = engine.catalog
    return {row["slug"]: fiche_from_row(row) for row in catalog.fiches(catalog.ids()).values()}


V = vocab()


def some(values) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(sorted(values)), max_size=3, unique=True)


filters_strategy = st.builds(
    Filters,
    thematiques=some(V.thematiques), axes=some(V.axes), publics=some(V.publics), types=some(V.types_territoire),
    densites=some({**V.densite, **V.regroupements}), departements=some(V.departements), regions=some(V.regions),
    statuts=some(V.statuts), dispositifs=some(V.dispositifs),
    debut_min=st.none() | st.integers(1975, 2030), debut_max=st.none() | st.integers(1975, 2030),
)
# a few filters at a time: mostly they still match something
sparse_filters = st.one_of(
    st.just(Filters()),
    st.builds(lambda f, keep: Filters(**{name: getattr(f, name) for name in keep}), filters_strategy,
              st.sets(st.sampled_from(list(Filters.__dataclass_fields__)), max_size=2)),
    filters_strategy,
)
FTS_SYNTAX = ['"', "'", "AND", "OR", "NOT", "NEAR", "NEAR(a b, 2)", "*", "^", "-", "+", "(", ")", ":", "titre_terms:",
              "{titre_terms body_terms}:", "\x00", "\x1b[31m", "😀", "l'", "qu'", "\u200b", "œ", "ß", "  ", "\n", "%",
              "_"]
queries = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(FTS_SYNTAX) | st.sampled_from(["bus", "numérique", "seniors", "écoles", "EPN", "aidants"])
             | st.text(max_size=8), max_size=12).map(" ".join),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=2000, max_size=6000),
)


def satisfies(fiche: Fiche, filters: Filters) -> bool:
    """Whether a fiche passes the filters, computed from its fields through the registry's
    readers (not through Filters.sql)."""
    for facet in REGISTRY.filtering:
        selected = getattr(filters, facet.field)
        has = {v for name in REGISTRY.matches(facet) for v in REGISTRY[name].of_fiche(fiche)}
        if selected and not set(selected) & has:
            return False
    for r in REGISTRY.ranges:
        low, high = (getattr(filters, name) for name in r.fields)
        value = getattr(fiche, r.column)
        if (low is not None and value < low) or (high is not None and value > high):
            return False
    return True


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(query=queries, filters=sparse_filters, mode=st.sampled_from(MODES), limit=st.integers(0, 30),
       offset=st.integers(0, 5), sort=st.sampled_from(["relevance", "date"]))
@example(query='"', filters=Filters(), mode="lexical", limit=10, offset=0, sort="relevance")
@example(query="NEAR(bus numérique) AND -seniors*", filters=Filters(), mode="hybrid", limit=10, offset=0,
         sort="relevance")
@example(query="bus", filters=Filters(densites=["rural"], debut_min=2030), mode="dense", limit=10, offset=0,
         sort="date")
@example(query="x" * 10_000, filters=Filters(), mode="hybrid", limit=10, offset=0, sort="relevance")
@example(query="\x00\x01\x02", filters=Filters(), mode="hybrid", limit=10, offset=0, sort="relevance")
def test_search_never_raises_and_every_hit_satisfies_the_filters(engine, all_fiches, query, filters, mode, limit,
                                                                 offset, sort):
    allowed = {slug for slug, fiche in all_fiches.items() if satisfies(fiche, filters)}
    results = engine.search(query, filters, limit=limit, offset=offset, mode=mode, sort=sort)
    slugs = [hit.slug for hit in results.hits]
    assert len(slugs) == len(set(slugs)) and len(slugs) <= limit
    for hit in results.hits:
        assert satisfies(hit.fiche, filters), (hit.slug, filters)
        assert hit.fiche == all_fiches[hit.slug]
        for start, end in hit.highlights:
            assert 0 <= start < end <= len(hit.snippet)
    assert set(slugs) <= allowed
    assert results.total <= len(allowed)
    if not results.query:  # no words: the filtered fiches themselves, all of them
        assert results.total == len(allowed)
        assert len(slugs) == max(0, min(limit, len(allowed) - offset))
    counted = results.facets.get("statut", {})
    assert sum(counted.values()) == results.total


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(filters=sparse_filters, limit=st.integers(1, 10))
def test_similar_never_raises_and_respects_the_filters(engine, all_fiches, filters, limit):
    slug = sorted(all_fiches)[len(str(filters)) % len(all_fiches)]
    hits = engine.similar(slug, filters, limit=limit)
    assert slug not in {h.slug for h in hits} and len(hits) <= limit
    assert all(satisfies(h.fiche, filters) for h in hits)


@given(st.text())
@example("Mise en Œuvre À l'ÉCOLE ǅ İstanbul ﬁ ½ e\u0301")
def test_folding_fast_path_equals_its_definition(text):
    from kb.textnorm import fold, fold_reference

    assert fold(text) == fold_reference(text)
