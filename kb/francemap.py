"""A choropleth map of France by département, as a self-contained SVG (no tile server).

The boundaries come from the SVG shipped by the ``pygal-maps-fr`` package: one ``<g>`` per
département with the class ``z<code>`` (``z01``…``z95``, ``z2A``, ``z2B``, ``z971``…``z976``),
plus an enlarged inset of Paris and its inner suburbs and insets of the overseas départements.
Each département is filled by its number of fiches, carries a ``<title>`` tooltip
("Drôme (26) : 3 fiches") and, when a link builder is given, is wrapped in a link.
"""

from __future__ import annotations

import functools
import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

SVG_NS = "http://www.w3.org/2000/svg"
CLASS_RE = re.compile(r"\bz(\d{2,3}|2[AB])\b")
NUMBER_RE = re.compile(r"-?\d+\.\d+")
EMPTY_COLOR = "#f0f0f0"
# sequential blues (ColorBrewer "Blues", 5 classes), light to dark; dark enough to read a
# selected outline on each, and the text of the legend is black on the two lightest only
PALETTE = ("#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
STROKE_COLOR = "#8c8c8c"
SELECTED_STROKE = "#d7301f"
INSET_LABEL = "Paris et petite couronne"


class MapUnavailable(Exception):
    """The boundaries file of pygal-maps-fr cannot be found or read."""


@dataclass(frozen=True)
class LegendEntry:
    color: str
    low: int
    high: int

    @property
    def label(self) -> str:
        if self.high == 0:
            return "aucune fiche"
        if self.low == self.high:
            return f"{self.low} fiche{'s' if self.low > 1 else ''}"
        return f"{self.low} à {self.high} fiches"


def source_path() -> Path:
    try:
        import pygal_maps_fr
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise MapUnavailable("le paquet pygal-maps-fr n'est pas installé.") from exc
    path = Path(pygal_maps_fr.__file__).parent / "fr.departments.svg"
    if not path.exists():  # pragma: no cover
        raise MapUnavailable(f"fichier de carte introuvable: {path}")
    return path


@functools.lru_cache(maxsize=1)
def _source_svg() -> str:
    text = source_path().read_text(encoding="utf-8")
    # two decimals are far below a pixel at any display size, and halve the file
    return NUMBER_RE.sub(lambda m: f"{float(m.group(0)):.2f}".rstrip("0").rstrip("."), text)


def department_codes() -> list[str]:
    """The département codes present in the map, in file order, without duplicates."""
    return list(dict.fromkeys(CLASS_RE.search(c).group(1) for c in re.findall(r'class="([^"]*)"', _source_svg())
                              if CLASS_RE.search(c)))


def legend(counts: Mapping[str, int]) -> list[LegendEntry]:
    """Colour classes for the counts: zero, then up to five classes of equal width."""
    top = max((n for n in counts.values() if n > 0), default=0)
    entries = [LegendEntry(EMPTY_COLOR, 0, 0)]
    if top == 0:
        return entries
    classes = min(len(PALETTE), top)
    low = 1
    for index in range(classes):
        high = round(top * (index + 1) / classes)
        if high < low:
            continue
        color = PALETTE[_palette_index(index, classes)]
        entries.append(LegendEntry(color, low, high))
        low = high + 1
    return entries


def _palette_index(index: int, classes: int) -> int:
    """Few classes take the darker part of the palette, so that they stand out from zero."""
    if classes == 1:
        return 3
    start = 0 if classes >= 4 else 1
    return start + round(index * (len(PALETTE) - 1 - start) / (classes - 1))


def color_for(count: int, entries: list[LegendEntry]) -> str:
    for entry in entries:
        if entry.low <= count <= entry.high:
            return entry.color
    return entries[-1].color if count > 0 else EMPTY_COLOR


def choropleth_svg(counts: Mapping[str, int], names: Mapping[str, str],
                   link: Callable[[str], str] | None = None, selected: str | None = None,
                   title: str = "Nombre de fiches par département") -> str:
    """The map as an SVG string.

    ``counts``: département code → number of fiches (missing codes count 0);
    ``names``: code → name, for the tooltips; ``link``: code → URL, to make each département
    a link; ``selected``: a code drawn with a thick outline.
    """
    ET.register_namespace("", SVG_NS)
    root = ET.fromstring(_source_svg())
    entries = legend(counts)
    total = sum(counts.values())
    root.set("role", "img")
    root.set("aria-label", f"{title}: {total} fiche(s) au total")
    root.set("width", "100%")
    root.set("preserveAspectRatio", "xMidYMid meet")
    root.set("class", "kb-francemap")
    root.insert(0, _element("title", text=title))
    parents = {child: parent for parent in root.iter() for child in parent}
    for group in list(root.iter(f"{{{SVG_NS}}}g")):
        match = CLASS_RE.search(group.get("class", ""))
        if not match:
            continue
        code = match.group(1)
        count = int(counts.get(code, 0))
        name = names.get(code, code)
        tooltip = f"{name} ({code}) : {count} fiche{'s' if count > 1 else ''}"
        group.set("fill", color_for(count, entries))
        is_selected = code == selected
        group.set("stroke", SELECTED_STROKE if is_selected else STROKE_COLOR)
        group.set("stroke-width", "6" if is_selected else "1")
        group.set("data-code", code)
        group.insert(0, _element("title", text=tooltip))
        if link is not None:
            parent = parents[group]
            anchor = _element("a", href=link(code))
            anchor.set("aria-label", tooltip)
            position = list(parent).index(group)
            parent.remove(group)
            anchor.append(group)
            parent.insert(position, anchor)
    label = _element("text", text=INSET_LABEL, x="1785", y="428")
    label.set("font-size", "40")
    label.set("text-anchor", "middle")
    label.set("fill", "#333333")
    label.set("font-family", "sans-serif")
    root.append(label)
    return ET.tostring(root, encoding="unicode")


def legend_html(counts: Mapping[str, int]) -> str:
    """The legend as an HTML list (escaped): a swatch and a label per colour class."""
    items = "".join(
        f'<li><span class="kb-swatch" style="background:{entry.color}"></span>{html.escape(entry.label)}</li>'
        for entry in legend(counts))
    return f'<ul class="kb-legend" aria-label="Légende de la carte">{items}</ul>'


def _element(tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.Element(f"{{{SVG_NS}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element
