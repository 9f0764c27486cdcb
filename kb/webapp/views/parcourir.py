"""Parcourir: choose a territory type, a theme and a département; see the map of France by
département, the themes of the selection and its fiches; and the bank in charts.

The selection lives in the URL (?type=…&thematique=… or &axe=…&departement=…); clicking a
département of the map chooses it, as the "Département" list does.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from kb.facets import REGISTRY
from kb.filters import Filters
from kb.francemap import MapUnavailable, choropleth_svg, legend_html
from kb.refine import filter_counts
from kb.vocab import vocab
from kb.webapp import components, state
from kb.webapp.mapview import clicked_departement, france_map

PAGE_SIZE = 20
FICHE_PAGE = "views/fiche.py"
SEARCH_PAGE = "views/rechercher.py"
v = vocab()
engine = state.engine()
DEPARTEMENT_OPTIONS = list(REGISTRY.values(REGISTRY["departement"]))
THEME_OPTIONS = [""] + [item for axe in v.axes
                        for item in (f"axe:{axe}", *(f"thematique:{t}" for t in v.thematiques_of_axe(axe)))]


# the URL parameters of this page: one value each (its lists choose a single value)
BROWSE_PARAMS = {"type": "types", "thematique": "thematiques", "axe": "axes", "departement": "departements"}


def dropped_values(search: state.SearchState, params) -> list[str]:
    """French messages for what the page's single-choice lists cannot show: a second value of a
    parameter, an axe beside a thématique, and the search parameters of Rechercher."""
    f = search.filters
    messages = []
    for param, name in BROWSE_PARAMS.items():
        values = getattr(f, name)
        for value in values[1:]:
            messages.append(f"un seul « {param} » à la fois sur cette page : « {values[0]} » gardé, "
                            f"« {value} » ignoré.")
    if f.thematiques and f.axes:
        messages.append(f"« axe={f.axes[0]} » ignoré : la thématique « {f.thematiques[0]} » est choisie.")
    messages += [f"Paramètre « {name} » inconnu sur cette page : ignoré (voir Rechercher)."
                 for name in params if name in state.SEARCH_PARAMS and name not in BROWSE_PARAMS]
    return messages


def restore(search: state.SearchState) -> None:
    f = search.filters
    ss = st.session_state
    ss["p_type"] = f.types[0] if f.types else ""
    ss["p_theme"] = (f"thematique:{f.thematiques[0]}" if f.thematiques else f"axe:{f.axes[0]}" if f.axes else "")
    ss["p_dep"] = f.departements[0] if f.departements else ""


def selection() -> Filters:
    ss = st.session_state
    theme = ss.get("p_theme") or ""
    kind, _, value = theme.partition(":")
    return Filters(types=[ss["p_type"]] if ss.get("p_type") else [],
                   thematiques=[value] if kind == "thematique" else [],
                   axes=[value] if kind == "axe" else [],
                   departements=[ss["p_dep"]] if ss.get("p_dep") else [])


def on_map_click() -> None:
    code = clicked_departement("p_map")
    if code in v.departements:
        st.session_state["p_dep"] = code


def show_more() -> None:
    st.session_state["_kb_browse_limit"] = st.session_state.get("_kb_browse_limit", PAGE_SIZE) + PAGE_SIZE


def bar_chart(data: pd.DataFrame, y: str, y_title: str, color: str | None = None, color_title: str = "",
              sort_by_count: bool = True, height: int | None = None) -> alt.Chart:
    encoding = {
        "x": alt.X("fiches:Q", title="Nombre de fiches", axis=alt.Axis(tickMinStep=1, format="d")),
        "y": alt.Y(f"{y}:N", title=None, sort="-x" if sort_by_count else None,
                   axis=alt.Axis(labelLimit=260)),
        "tooltip": [alt.Tooltip(f"{y}:N", title=y_title), alt.Tooltip("fiches:Q", title="Fiches")],
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", title=color_title,
                                      legend=alt.Legend(orient="bottom", columns=2, labelLimit=260))
        encoding["tooltip"].insert(1, alt.Tooltip(f"{color}:N", title=color_title))
    chart = alt.Chart(data, title=alt.Title(y_title, anchor="start", fontSize=13)).mark_bar().encode(**encoding)
    return readable(chart.properties(height=height) if height else chart)


def readable(chart: alt.Chart) -> alt.Chart:
    """Dark axis and legend texts (the default grey is too light to read comfortably)."""
    return (chart.configure_axis(labelColor="#333333", titleColor="#333333", labelFontSize=12)
            .configure_legend(labelColor="#333333", titleColor="#333333", labelFontSize=12)
            .configure_title(color="#333333"))


# ----------------------------------------------------------------------------- state

dropped: list[str] = []
if state.entering_page("parcourir"):
    params = state.url_on_entry("parcourir")
    from_url, dropped = state.state_from_params(params)
    dropped += dropped_values(from_url, params)
    restore(from_url)
filters = selection()
if st.session_state.get("_kb_browse_signature") != repr(filters):
    st.session_state["_kb_browse_signature"] = repr(filters)
    st.session_state["_kb_browse_limit"] = PAGE_SIZE

# each list counts what choosing one of its values would give (kb.refine); the theme list
# offers axes and thematiques as one choice, so its counts leave both out
counts = filter_counts(engine, "", filters)
type_counts = counts.get("type", {})
dep_counts = counts.get("departement", {})
theme_facets = engine.facets(filters.without("thematiques").without("axes"))
selected = engine.facets(filters)


def theme_label(option: str) -> str:
    if not option:
        return "Toutes les thématiques"
    kind, _, value = option.partition(":")
    if kind == "axe":
        return f"{v.axes[value]} : tout l'axe ({theme_facets.get('axe', {}).get(value, 0)})"
    return f"\u2003{v.thematiques[value]} ({theme_facets.get('thematique', {}).get(value, 0)})"


# ----------------------------------------------------------------------------- page

state.page_title("Parcourir")
st.title("Parcourir la banque")
for message in dropped:
    st.warning(f"Lien partagé : {components.md_escape(message)}")
st.markdown("Choisissez un type de territoire, une thématique ou un département : la carte, les thématiques "
            "et la liste des fiches suivent votre choix.")
col_type, col_theme, col_dep = st.columns(3)
with col_type:
    st.selectbox("Type de territoire", [""] + list(v.types_territoire), key="p_type",
                 format_func=lambda s: (f"{v.types_territoire[s]} ({type_counts.get(s, 0)})" if s
                                        else "Tous les types"))
with col_theme:
    st.selectbox("Thématique ou axe", THEME_OPTIONS, key="p_theme", format_func=theme_label)
with col_dep:
    st.selectbox("Département", [""] + DEPARTEMENT_OPTIONS, key="p_dep",
                 format_func=lambda c: f"{c} – {v.departements[c]} ({dep_counts.get(c, 0)})" if c
                 else "Tous les départements",
                 help="Vous pouvez aussi cliquer sur un département de la carte.")

total = engine.search("", filters, limit=0).total
st.subheader({0: "Aucune fiche pour cette sélection", 1: "1 fiche pour cette sélection"}.get(
    total, f"{total} fiches pour cette sélection"))

map_col, side_col = st.columns([3, 2], gap="large")
with map_col:
    st.header("Carte des fiches par département", anchor="carte")
    try:
        svg = choropleth_svg(dep_counts, v.departements,
                             selected=filters.departements[0] if filters.departements else None,
                             title="Nombre de fiches par département pour la sélection")
        france_map(svg, key="p_map", on_click=on_map_click)
        st.html(legend_html(dep_counts))
        st.caption("Survolez un département pour voir son nombre de fiches, cliquez pour le choisir (ou "
                   "utilisez la liste « Département »). En encart : Paris et la petite couronne, les "
                   "départements d'outre-mer et la Corse.")
    except MapUnavailable as exc:
        st.warning(f"Carte indisponible: {exc}")
with side_col:
    st.header("Départements", anchor="departements")
    rows = [{"Département": f"{v.departements.get(c, c)} ({c})", "Fiches": n}
            for c, n in sorted(dep_counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=420)
    else:
        st.caption("Aucune fiche.")

st.header("Thématiques de la sélection", anchor="thematiques")
theme_counts = selected.get("thematique", {})
if theme_counts:
    data = pd.DataFrame([{"thématique": v.thematiques[t], "axe": v.axes[v.axe_of[t]], "fiches": n}
                         for t, n in theme_counts.items()])
    st.altair_chart(bar_chart(data, "thématique", "Thématique", "axe", "Axe"), width="stretch")
else:
    st.caption("Aucune fiche.")

st.header("Les fiches", anchor="fiches")
limit = st.session_state.get("_kb_browse_limit", PAGE_SIZE)
listing = engine.search("", filters, limit=limit)
with st.container(key="fichelinks-browse"):
    for hit in listing.hits:
        st.page_link(FICHE_PAGE, label=components.md_escape(hit.titre), query_params={"slug": hit.slug},
                     icon=":material/article:")
        st.html(components.compact_item(hit.fiche))
if len(listing.hits) < listing.total:
    st.button(f"Afficher plus de fiches ({len(listing.hits)} sur {listing.total})", on_click=show_more,
              icon=":material/expand_more:")
if total:
    st.page_link(SEARCH_PAGE, label="Chercher dans cette sélection", icon=":material/search:",
                 query_params=state.params_from_state(state.SearchState("", filters)))

st.header("La banque en chiffres", anchor="chiffres")
everything = engine.facets()
by_type_theme = [{"thématique": v.thematiques[theme], "type de territoire": v.types_territoire[type_slug], "fiches": n}
                 for (type_slug, theme), n in sorted(engine.cross_facets("type", "thematique").items(),
                                                     key=lambda kv: list(v.types_territoire).index(kv[0][0]))]
tab_theme, tab_type, tab_statut, tab_year = st.tabs(["Par thématique et type", "Par type de territoire",
                                                     "Par statut", "Par année de début"])
with tab_theme:
    if by_type_theme:
        st.altair_chart(bar_chart(pd.DataFrame(by_type_theme), "thématique", "Thématique", "type de territoire",
                                  "Type de territoire"), width="stretch")
with tab_type:
    data = pd.DataFrame([{"type": v.types_territoire[t], "fiches": everything.get("type", {}).get(t, 0)}
                         for t in v.types_territoire])
    st.altair_chart(bar_chart(data, "type", "Type de territoire"), width="stretch")
with tab_statut:
    data = pd.DataFrame([{"statut": v.statuts[s], "fiches": everything.get("statut", {}).get(s, 0)} for s in v.statuts])
    st.altair_chart(bar_chart(data, "statut", "Statut", sort_by_count=False), width="stretch")
with tab_year:
    years = everything.get("debut_annee", {})
    if years:
        span = range(min(map(int, years)), max(map(int, years)) + 1)
        data = pd.DataFrame([{"année": str(y), "fiches": years.get(str(y), 0)} for y in span])
        chart = alt.Chart(data).mark_bar().encode(
            x=alt.X("année:O", title="Année de début", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("fiches:Q", title="Nombre de fiches", axis=alt.Axis(tickMinStep=1, format="d")),
            tooltip=[alt.Tooltip("année:O", title="Année"), alt.Tooltip("fiches:Q", title="Fiches")])
        st.altair_chart(readable(chart), width="stretch")

state.write_url("parcourir", state.params_from_state(state.SearchState("", filters)))
