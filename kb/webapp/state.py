"""Application state: settings, the engine (loaded once per server), and the search state
that lives in the URL.

The URL <-> state helpers are plain functions over ``{name: [values]}`` mappings, so they are
tested without Streamlit; :func:`read_url` and :func:`write_url` connect them to
``st.query_params``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import quote

import streamlit as st

from kb.catalog import CatalogError
from kb.facets import REGISTRY
from kb.filters import Filters
from kb.settings import Settings, SettingsError, load_settings

APP_TITLE = "Banque d'expériences du numérique territorial"
WARM_QUERY = "médiation numérique"

SORTS = {"relevance": "Pertinence", "date": "Date de mise à jour"}
SORT_PARAM = {"relevance": None, "date": "date"}  # value of ?tri=, None when default


def page_title(title: str) -> None:
    """The browser tab's title: the page first, then the application (one title per page)."""
    st.set_page_config(page_title=f"{title} · {APP_TITLE}")


# ----------------------------------------------------------------------------- settings, engine


def app_settings() -> Settings:
    """Settings of the bank: KB_ROOT (default: the current folder), KB_INDEX_DIR…"""
    return load_settings(os.environ.get("KB_ROOT") or None)


def ensure_index(settings: Settings) -> None:
    """Build the index when there is none (first start of ``streamlit run kb/webapp/app.py``)."""
    if settings.catalog_path.exists():
        return
    from kb.build import build

    with st.spinner(f"Première ouverture: construction de l'index des fiches de {settings.practices_path} "
                    "(quelques minutes)…", show_time=True):
        report = build(settings)
    st.toast(f"Index construit: {report.fiches} fiche(s).")


@st.cache_resource(show_spinner="Chargement du moteur de recherche (modèle et index)…")
def _open_engine(settings_key: str, _settings: Settings):
    from kb.search import Engine

    engine = Engine.open(_settings)
    engine.search(WARM_QUERY, limit=1)  # loads the model and the vectors now, not at the first query
    return engine


def engine():
    """The engine for the current settings, opened once per server process.

    Stops the page with a French message when the settings or the index are unusable."""
    try:
        settings = app_settings()
        ensure_index(settings)
        return _open_engine(repr(settings), settings)
    except SettingsError as exc:
        st.error(f"Les réglages de la banque sont invalides: {exc}")
        st.stop()
    except CatalogError as exc:  # built by another version of kb or another model, or damaged
        st.error(f"L'index des fiches ne peut pas être ouvert: {exc}")
        if st.button("Reconstruire l'index maintenant", icon=":material/build:", key="kb_rebuild"):
            from kb.build import build

            with st.spinner("Reconstruction complète de l'index (quelques minutes)…", show_time=True):
                build(settings, force=True)
            st.rerun()
        st.stop()
    except Exception as exc:  # model or build failures: say it in French, keep the detail
        st.error(f"Le moteur de recherche n'a pas pu démarrer: {exc}")
        st.stop()


def base_url() -> str:
    """The application's public address, ending with "/": the base_url setting, else the
    browser's address (``st.context.url``) up to its last "/"; empty when neither is known."""
    configured = app_settings().base_url
    if configured:
        return configured if configured.endswith("/") else configured + "/"
    url = (st.context.url or "").split("?", 1)[0]
    return url[: url.rfind("/") + 1] if "://" in url else ""


def fiche_url(slug: str, base: str | None = None) -> str:
    """Absolute address of a fiche's page (relative when no address is known); ``base``: the
    :func:`base_url` already read, when addresses are made for many fiches."""
    from kb.export import fiche_address

    base = base_url() if base is None else base
    return fiche_address(slug, base) if base else f"fiche?slug={quote(slug)}"


# ----------------------------------------------------------------------------- search state


@dataclass
class SearchState:
    query: str = ""
    filters: Filters = field(default_factory=Filters)
    sort: str = "relevance"

    def signature(self) -> tuple:
        return (self.query, repr(self.filters), self.sort)


def state_from_params(params: Mapping[str, list[str]]) -> tuple[SearchState, list[str]]:
    """The search described by URL parameters, and messages for values that were dropped
    (a typo in a shared link must not make the page fail)."""
    filters, dropped = REGISTRY.from_params(params)
    dropped += unknown_params(params, SEARCH_PARAMS)
    query = " ".join(" ".join(params.get("q", []) or []).split())
    sort_values = params.get("tri", []) or []
    sort = "date" if sort_values and sort_values[-1] == "date" else "relevance"
    if sort_values and sort_values[-1] not in ("date", "pertinence"):
        dropped.append(f"tri « {sort_values[-1]} » inconnu: tri par pertinence.")
    return SearchState(query, filters, sort), dropped


def params_from_state(state: SearchState) -> dict[str, list[str]]:
    """URL parameters of a search; empty values are left out, so the URL stays short."""
    params: dict[str, list[str]] = {"q": [state.query]} if state.query else {}
    params.update(REGISTRY.to_params(state.filters))
    if SORT_PARAM.get(state.sort):
        params["tri"] = [SORT_PARAM[state.sort]]
    return params


def read_url() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params.keys()}


def write_url(page: str, params: Mapping[str, list[str]]) -> None:
    """Replace the URL's query parameters when they differ (a write costs a browser update),
    and remember them as ``page``'s last URL (see :func:`url_on_entry`)."""
    params = {k: list(v) for k, v in params.items()}
    st.session_state[f"_kb_url_{page}"] = params
    if read_url() != params:
        st.query_params.from_dict(params)


# parameters of the links to a fiche: never part of a search or browsing URL
LINK_PARAMS = {"slug"}
SEARCH_PARAMS = {facet.param for facet in REGISTRY.filtering} | {"q", "tri"}


def unknown_params(params: Mapping[str, list[str]], known) -> list[str]:
    """A French message for each URL parameter that the page does not know (a shared link
    with a typo, or made for another page): it is ignored."""
    return [f"Paramètre « {name[:60]} » inconnu : ignoré." for name in params
            if name not in known and name not in LINK_PARAMS]


def url_on_entry(page: str) -> dict[str, list[str]]:
    """The URL parameters a page restores when it is entered.

    Following a link to a fiche, Streamlit first pushes the link's parameters onto the current
    page's path (``/?slug=…``), then the fiche's own URL: the browser's Back lands on that
    first entry, which holds no search. There, the page's last URL of this session stands in."""
    params = read_url()
    if params and set(params) <= LINK_PARAMS:
        return st.session_state.get(f"_kb_url_{page}", {})
    return params


def entering_page(page: str) -> bool:
    """True on the first run of ``page`` in this session or when coming from another page:
    then the URL is the source of truth; on the following runs, the widgets are."""
    previous = st.session_state.get("_kb_page")
    st.session_state["_kb_page"] = page
    return previous != page
