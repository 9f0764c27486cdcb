"""The clickable map of France: the SVG of :mod:`kb.francemap` shown by a small Streamlit
component (``st.components.v2``) that sends the code of a clicked département back to Python.

``st.html`` and ``st.markdown`` cannot carry it: the first removes SVG, the second opens
every link in a new tab. The SVG is built by our code from the package's boundaries and the
vocabulary (every text escaped by ElementTree); no fiche text goes into it.
"""

from __future__ import annotations

import hashlib
from typing import Callable

import streamlit as st

MAP_CSS = """
.kb-map-holder svg { display: block; width: 100%; height: auto; max-height: 78vh; }
.kb-map-holder [data-code] { cursor: pointer; }
.kb-map-holder [data-code]:hover { stroke: #000000; stroke-width: 4; }
"""

MAP_JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let holder = parentElement.querySelector('.kb-map-holder');
  if (!holder) {
    holder = document.createElement('div');
    holder.className = 'kb-map-holder';
    parentElement.appendChild(holder);
  }
  if (holder.dataset.version !== data.version) {
    holder.innerHTML = data.svg;
    holder.dataset.version = data.version;
  }
  holder.querySelectorAll('[data-code]').forEach((group) => {
    group.onclick = () => setTriggerValue('departement', group.getAttribute('data-code'));
  });
}
"""

_france_map = st.components.v2.component("kb_france_map", css=MAP_CSS, js=MAP_JS)


def france_map(svg: str, key: str, on_click: Callable[[], None]):
    """Show the map; ``on_click`` runs (before the rerun) when a département is clicked, and
    ``st.session_state[key]`` then holds ``{"departement": code}``."""
    version = hashlib.sha1(svg.encode("utf-8")).hexdigest()[:12]
    return _france_map(key=key, data={"svg": svg, "version": version}, on_departement_change=on_click,
                       width="stretch", height="content")


def clicked_departement(key: str) -> str | None:
    value = st.session_state.get(key)
    if value is None:
        return None
    try:
        return value.get("departement")
    except AttributeError:
        return getattr(value, "departement", None)
