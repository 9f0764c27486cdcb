"""Streamlit application of the bank: ``kb serve`` (or ``streamlit run kb/webapp/app.py``).

The bank is KB_ROOT (default: the current folder) with its settings (kb.toml, KB_* variables,
e.g. KB_INDEX_DIR). The index is built on first start when missing; the engine (model and
index) loads once per server and a rebuilt index is picked up at the next run.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from kb.settings import SettingsError
from kb.webapp import components, state

APP_TITLE = state.APP_TITLE
# not "pages/": Streamlit treats a folder of that name as a legacy multipage app, run without app.py
PAGES_DIR = Path(__file__).resolve().parent / "views"

# no menu_items: with client.toolbarMode = "minimal" (.streamlit/config.toml) Streamlit then shows
# no main menu, whose entries and dialogs are in English
st.set_page_config(page_title=APP_TITLE, page_icon="🗂️", layout="wide", initial_sidebar_state="auto")
st.html(components.style_tag())
# the page's language, Streamlit's own labels in French, the « Aller à la recherche » link
st.html(components.LANG_SCRIPT, unsafe_allow_javascript=True)

pages = [
    st.Page(PAGES_DIR / "rechercher.py", title="Rechercher", icon=":material/search:", url_path="rechercher",
            default=True),
    st.Page(PAGES_DIR / "parcourir.py", title="Parcourir", icon=":material/map:", url_path="parcourir"),
    st.Page(PAGES_DIR / "territoire.py", title="Mon territoire", icon=":material/location_city:", url_path="territoire"),
    st.Page(PAGES_DIR / "contribuer.py", title="Contribuer", icon=":material/edit_note:", url_path="contribuer"),
    st.Page(PAGES_DIR / "fiche.py", title="Fiche", icon=":material/description:", url_path="fiche",
            visibility="hidden"),
]
try:
    relecture = bool(state.app_settings().relecture_secret)
except SettingsError:  # state.engine() below says what is wrong with the settings
    relecture = False
if relecture:  # the editors' page exists only with its secret (relecture_secret, KB_RELECTURE_SECRET)
    pages.append(st.Page(PAGES_DIR / "relecture.py", title="Relecture", icon=":material/rate_review:",
                         url_path="relecture"))
current = st.navigation(pages, position="sidebar")

engine = state.engine()
engine.refresh()  # a `kb build` since the last run has published a new catalog: read it

with st.sidebar:
    st.caption(f"{APP_TITLE} · {engine.count()} fiches")

current.run()
