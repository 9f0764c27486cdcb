"""The offline choropleth map of France (kb.francemap)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from kb.francemap import (EMPTY_COLOR, PALETTE, SELECTED_STROKE, choropleth_svg, department_codes, legend,
                          legend_html)
from kb.vocab import vocab

NS = {"svg": "http://www.w3.org/2000/svg"}


def groups_by_code(svg: str) -> dict[str, list[ET.Element]]:
    root = ET.fromstring(svg)
    out: dict[str, list[ET.Element]] = {}
    for group in root.iter("{http://www.w3.org/2000/svg}g"):
        if group.get("data-code"):
            out.setdefault(group.get("data-code"), []).append(group)
    return out


def test_every_departement_of_the_vocabulary_is_on_the_map_overseas_included():
    codes = department_codes()
    assert set(vocab().departements) <= set(codes)
    assert {"2A", "2B", "971", "972", "973", "974", "976"} <= set(codes)


def test_each_departement_is_coloured_by_its_count_with_a_tooltip():
    names = vocab().departements
    svg = choropleth_svg({"26": 3, "2A": 1, "974": 9}, names)
    groups = groups_by_code(svg)
    assert len(groups) == len(department_codes())
    entries = legend({"26": 3, "2A": 1, "974": 9})
    assert groups["01"][0].get("fill") == EMPTY_COLOR
    assert groups["974"][0].get("fill") == entries[-1].color
    assert groups["26"][0].get("fill") not in (EMPTY_COLOR, groups["974"][0].get("fill"))
    title = groups["26"][0].find("svg:title", NS).text
    assert title == "Drôme (26) : 3 fiches"
    assert groups["2A"][0].find("svg:title", NS).text == "Corse-du-Sud (2A) : 1 fiche"
    assert groups["01"][0].find("svg:title", NS).text == "Ain (01) : 0 fiche"


def test_paris_appears_twice_main_map_and_inset_both_coloured():
    groups = groups_by_code(choropleth_svg({"75": 2}, vocab().departements))
    assert len(groups["75"]) == 2
    assert {g.get("fill") for g in groups["75"]} == {legend({"75": 2})[-1].color}


def test_selected_departement_is_outlined_and_links_are_optional():
    svg = choropleth_svg({"26": 1}, vocab().departements, selected="26")
    assert groups_by_code(svg)["26"][0].get("stroke") == SELECTED_STROKE
    assert "<a " not in svg
    linked = choropleth_svg({"26": 1}, vocab().departements, link=lambda code: f"parcourir?departement={code}")
    root = ET.fromstring(linked)
    hrefs = {a.get("href") for a in root.iter("{http://www.w3.org/2000/svg}a")}
    assert "parcourir?departement=26" in hrefs and len(hrefs) == len(department_codes())


def test_names_are_escaped_and_the_svg_is_accessible():
    names = {**vocab().departements, "26": "<script>alert(1)</script>"}
    svg = choropleth_svg({"26": 1}, names, title="Carte")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and "Carte" in root.get("aria-label")
    assert root.find("svg:title", NS).text == "Carte"


def test_legend_classes_cover_every_count_without_gaps():
    for top in (1, 2, 3, 4, 5, 7, 12, 40):
        entries = legend({"01": top, "02": 1})
        assert entries[0].color == EMPTY_COLOR and entries[0].high == 0
        assert entries[1].low == 1 and entries[-1].high == top
        for before, after in zip(entries[1:], entries[2:]):
            assert after.low == before.high + 1
        assert all(e.color in PALETTE for e in entries[1:])
    assert [e.label for e in legend({})] == ["aucune fiche"]
    assert legend({"01": 1})[1].label == "1 fiche"


def test_legend_html_is_a_labelled_list():
    html = legend_html({"26": 4})
    assert html.startswith('<ul class="kb-legend" aria-label="Légende de la carte">')
    assert "aucune fiche" in html and "4 fiches" in html
