"""Rechercher: a need in plain words, facet filters with counts, result cards, CSV export.

The search lives in the URL (?q=…&thematique=…&public=…&tri=date): opening such a URL
restores it, and every change rewrites it, so a search can be shared.
"""

from __future__ import annotations

import streamlit as st

from kb.export import export_rows, to_csv
from kb.facets import REGISTRY
from kb.filters import Filters
from kb.query_ranges import and_populations, find_population_range
from kb.refine import relaxations, filter_counts
from kb.webapp import components, state

PAGE_SIZE = 10
FICHE_PAGE = "views/fiche.py"
BROWSE_PAGE = "views/parcourir.py"
engine = state.engine()

FILTERING = REGISTRY.filtering
POPULATION = REGISTRY.by_field("populations")


def widget_keys(facet) -> list[str]:
    """The session-state keys of a facet's widgets: one per parent value for a grouped facet."""
    if facet.widget == "grouped":
        return [f"f_{facet.name}_{parent}" for parent in REGISTRY.groups(facet)]
    return [f"f_{facet.name}"]


def restore(search: state.SearchState) -> None:
    """Put a search (from the URL) into the widgets' state, before they are drawn."""
    ss = st.session_state
    ss["q"] = search.query
    ss["tri"] = search.sort
    for facet in FILTERING:
        selected = list(getattr(search.filters, facet.field))
        if facet.widget == "grouped":
            for key, values in zip(widget_keys(facet), REGISTRY.groups(facet).values()):
                ss[key] = [x for x in selected if x in values]
        else:
            ss[widget_keys(facet)[0]] = selected


def current_search() -> state.SearchState:
    ss = st.session_state
    values = {facet.field: [x for key in widget_keys(facet) for x in ss.get(key, [])] for facet in FILTERING}
    sort = ss.get("tri", "relevance")
    return state.SearchState(" ".join(str(ss.get("q", "")).split()), Filters(**values),
                             sort if sort in state.SORTS else "relevance")


def clear_field(name: str) -> None:
    """Empty the widgets of a Filters field."""
    for key in widget_keys(REGISTRY.by_field(name)):
        st.session_state[key] = []


def clear_all() -> None:
    for facet in FILTERING:
        clear_field(facet.field)


def use_suggestion(text: str) -> None:
    st.session_state["q"] = text


def show_more() -> None:
    st.session_state["_kb_limit"] = st.session_state.get("_kb_limit", PAGE_SIZE) + PAGE_SIZE


def option_label(facet, counts: dict):
    """« Label (n) »; a département shows its code first; a rolled-up value says it covers all
    its detailed levels, which are indented below it."""
    labels = REGISTRY.accepted(facet)
    indent = dict(REGISTRY.options(facet))
    counts = REGISTRY.counts_of(facet, counts)

    def label(value: str) -> str:
        text = f"{value} – {labels[value]}" if facet.name == "departement" else labels.get(value, value)
        if facet.accepts_parent:
            text = f"· {text}" if indent.get(value) else f"{text} : tous niveaux"
        return f"{text} ({counts.get(value, 0)})"

    return label


def multiselect(facet, label: str | None = None) -> None:
    # no « Tout sélectionner » where values overlap (Densité lists its groups and their levels)
    st.multiselect(label or facet.label, [value for value, _ in REGISTRY.options(facet)], key=f"f_{facet.name}",
                   format_func=option_label(facet, counts), placeholder=facet.placeholder, help=facet.hint or None,
                   select_all=not facet.accepts_parent)


def facet_widgets(facet) -> None:
    """A grouped facet: one list per parent value in an expander, then the parent facet's own
    list when it filters too (« Axes entiers »)."""
    parent = REGISTRY[facet.parent[0]]
    active = any(getattr(search.filters, f.field) for f in (facet, parent) if f.field)
    parent_labels = REGISTRY.values(parent)
    with st.expander(facet.label, expanded=active):
        for key, (value, children) in zip(widget_keys(facet), REGISTRY.groups(facet).items()):
            st.multiselect(parent_labels[value], children, key=key, format_func=option_label(facet, counts),
                           placeholder=facet.placeholder)
        if parent.field:
            multiselect(parent)


def take_range_from_query() -> None:
    """A population range typed in the query (« moins de 2 000 habitants », kb.query_ranges)
    moves into the population filter, where it shows and can be removed; the search box keeps
    the rest of the query. The range is AND-ed with the brackets already selected (it replaces
    them when they have none in common)."""
    ss = st.session_state
    found = find_population_range(ss.get("q", ""))
    if found is None:
        return
    key = widget_keys(POPULATION)[0]
    ss[key] = and_populations(list(ss.get(key, [])), found) or list(found.populations)
    ss["q"] = found.text
    ss["_kb_recognised"] = f"{POPULATION.label} : {found.description}"


# ----------------------------------------------------------------------------- state

if state.entering_page("rechercher"):
    from_url, dropped = state.state_from_params(state.url_on_entry("rechercher"))
    restore(from_url)
    st.session_state["_kb_dropped"] = dropped
take_range_from_query()
search = current_search()
if st.session_state.get("_kb_signature") != search.signature():
    st.session_state["_kb_signature"] = search.signature()
    st.session_state["_kb_limit"] = PAGE_SIZE
limit = st.session_state.get("_kb_limit", PAGE_SIZE)

results = engine.search(search.query, search.filters, limit=limit, offset=0, sort=search.sort)
counts = filter_counts(engine, search.query, search.filters, results)

# ----------------------------------------------------------------------------- filters (sidebar)

with st.sidebar:
    st.header("Filtres")
    st.caption("Entre parenthèses : le nombre de fiches de la recherche qui ont cette valeur, compte tenu "
               "des autres filtres.")
    for facet in FILTERING:
        if facet.widget == "grouped":
            facet_widgets(facet)
        elif facet.widget == "multiselect":
            multiselect(facet)
    if not search.filters.is_empty():
        st.button("Effacer les filtres", on_click=clear_all, icon=":material/filter_alt_off:", key="clear_sidebar")

# ----------------------------------------------------------------------------- main column

state.page_title("Rechercher")
st.title("Rechercher une expérience")
with st.container(horizontal=True, vertical_alignment="bottom"):
    st.text_input("Décrivez votre besoin…", key="q", max_chars=300, width="stretch",
                  placeholder="Par exemple : aider les seniors à faire leurs démarches en ligne")
    st.button("Rechercher", type="primary", icon=":material/search:")
st.radio("Trier par", list(state.SORTS), key="tri", format_func=state.SORTS.get, horizontal=True)

if not search.filters.is_empty():
    with st.container(horizontal=True, vertical_alignment="center", key="active-filters"):
        st.markdown("**Filtres actifs :** " + components.md_escape(REGISTRY.describe(search.filters)))
        st.button("Effacer les filtres", on_click=clear_all, icon=":material/filter_alt_off:", key="clear_main")

# shown once, after the query moved; our own words and digits, no Markdown to escape
if recognised := st.session_state.pop("_kb_recognised", None):
    st.info(f"Filtre « {recognised} » tiré de votre recherche", icon=":material/filter_alt:")
for message in st.session_state.pop("_kb_dropped", []):  # shown once, after opening the link
    st.warning(f"Lien partagé : {components.md_escape(message)}")

if search.query:
    heading = {0: "Aucune fiche ne répond à votre besoin", 1: "1 fiche répond à votre besoin"}.get(
        results.total, f"{results.total} fiches répondent à votre besoin")
elif not search.filters.is_empty():
    heading = {0: "Aucune fiche pour cette sélection", 1: "1 fiche pour cette sélection"}.get(
        results.total, f"{results.total} fiches pour cette sélection")
else:
    heading = f"{results.total} fiche{'s' if results.total > 1 else ''} dans la banque, les plus récentes d'abord"
st.subheader(heading)
if search.query:
    st.caption("Une fiche « répond à votre besoin » quand elle contient l'essentiel des mots de votre recherche "
               "(les plus rares comptent le plus) ou qu'elle en est très proche par le sens.")
if results.corrected_from:
    st.info(f"Résultats pour « {components.md_escape(results.query)} » : « "
            f"{components.md_escape(results.corrected_from)} » contient des mots inconnus de la banque.",
            icon=":material/spellcheck:")
elif results.suggestion:
    with st.container(horizontal=True, vertical_alignment="center", key="suggestion"):
        st.markdown("Vouliez-vous dire :")
        st.button(results.suggestion, on_click=use_suggestion, args=(results.suggestion,), type="tertiary",
                  key="use_suggestion")
if results.place:  # a commune or EPCI named in the query (kb.query_places), not searched as words
    places = results.place["territoires"]
    st.info(f"Territoire reconnu dans votre recherche : « {components.md_escape(results.place['text'])} »"
            + (" (plusieurs territoires portent ce nom)" if len(places) > 1 else "")
            + ". Les fiches de territoires comparables sont dans « Mon territoire » :", icon=":material/location_city:")
    for place in places[:5]:
        st.page_link("views/territoire.py", label=components.md_escape(place["label"]), query_params={"code": place["code"]},
                     icon=":material/location_city:")
if results.expansions:
    st.caption("Recherche élargie à : " + ", ".join(results.expansions))
if results.note:  # an index without vectors: words alone (kb.search.NO_VECTORS_NOTE)
    st.caption("Note : " + components.md_escape(results.note))

if not results.total:
    st.info("Aucune fiche ne correspond à cette recherche." if not search.query else
            "Aucune fiche ne correspond à cette recherche : aucune ne contient l'essentiel de ses mots ni n'en "
            "est assez proche par le sens.")
    options = relaxations(engine, search.query, search.filters)
    if options:
        st.markdown("**Élargissez la recherche** en retirant un filtre :")
        for option in options:
            label = REGISTRY.by_field(option.field).label
            st.button(f"Retirer le filtre « {label} » : {option.total} fiche{'s' if option.total > 1 else ''}",
                      key=f"relax_{option.field}", on_click=clear_field, args=(option.field,))
    elif search.query:
        st.markdown("Essayez d'autres mots, plus généraux, ou décrivez le besoin autrement. "
                    "Vous pouvez aussi parcourir les fiches par thématique :")
        themes = engine.facets().get("thematique", {})
        with st.container(horizontal=True, key="browse-themes"):
            for theme, n in sorted(themes.items(), key=lambda kv: -kv[1])[:8]:
                st.page_link(BROWSE_PAGE, label=f"{REGISTRY.label('thematique', theme)} ({n})",
                             query_params={"thematique": theme})

for hit in results.hits:
    with st.container(border=True, key=f"card-{hit.slug}"):
        st.page_link(FICHE_PAGE, label=components.md_escape(hit.titre), query_params={"slug": hit.slug})
        st.html(components.result_card(hit, show_snippet=bool(search.query)))

if results.others and search.query:
    with st.expander(f"Autres fiches proches ({len(results.others)}) : correspondances plus faibles, "
                     "non comptées", expanded=False, icon=":material/unfold_more:"):
        st.caption("Ces fiches partagent des mots de votre recherche sans y répondre aussi bien : elles ne "
                   "sont pas comptées dans le nombre de résultats.")
        for hit in results.others:
            with st.container(border=True, key=f"other-{hit.slug}"):
                st.page_link(FICHE_PAGE, label=components.md_escape(hit.titre), query_params={"slug": hit.slug})
                st.html(components.result_card(hit, show_snippet=True))

if len(results.hits) < results.total:
    st.button(f"Afficher plus de résultats ({len(results.hits)} sur {results.total})", on_click=show_more,
              icon=":material/expand_more:")

if results.total:
    def export_data() -> bytes:
        everything = engine.search(search.query, search.filters, limit=results.total, sort=search.sort)
        base = state.base_url()  # the settings are read once, not once per fiche
        return to_csv(export_rows([h.fiche for h in everything.hits], lambda slug: state.fiche_url(slug, base)))

    st.download_button(f"Exporter les {results.total} résultats (CSV)", data=export_data,
                       file_name="banque-experiences-resultats.csv", mime="text/csv", on_click="ignore",
                       icon=":material/download:",
                       help="Tableur des fiches trouvées, sans les courriels ni les téléphones des contacts.")

state.write_url("rechercher", state.params_from_state(search))
