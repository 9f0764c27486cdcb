"""Rechercher: a need in plain words, facet filters with counts, result cards, CSV export.

The search lives in the URL (?q=…&thematique=…&public=…&tri=date): opening such a URL
restores it, and every change rewrites it, so a search can be shared.
"""

from __future__ import annotations

from urllib.parse import quote

import streamlit as st

from kb.catalog import Filters
from kb.export import export_rows, to_csv
from kb.refine import relaxations, filter_counts
from kb.vocab import vocab
from ui import components, state

PAGE_SIZE = 10
FICHE_PAGE = "views/fiche.py"
BROWSE_PAGE = "views/parcourir.py"
v = vocab()
engine = state.engine()

# Filters field → (label, widget keys)
THEME_KEYS = [f"f_theme_{axe}" for axe in v.axes]
WIDGETS = {
    "thematiques": ("Thématiques", THEME_KEYS),
    "axes": ("Axes", ["f_axe"]),
    "publics": ("Publics", ["f_public"]),
    "types": ("Type de territoire", ["f_type"]),
    "densites": ("Densité", ["f_densite"]),
    "departements": ("Départements", ["f_departement"]),
    "regions": ("Régions", ["f_region"]),
    "statuts": ("Statut", ["f_statut"]),
    "dispositifs": ("Dispositifs", ["f_dispositif"]),
}
FACETS_OF = {"thematiques": "thematique", "axes": "axe", "publics": "public", "types": "type",
             "departements": "departement", "regions": "region", "statuts": "statut", "dispositifs": "dispositif"}
DENSITY_OPTIONS = [slug for level in v.regroupements for slug in (level, *v.densites_of(level))]
DEPARTEMENT_OPTIONS = state.departement_options()


def restore(search: state.SearchState) -> None:
    """Put a search (from the URL) into the widgets' state, before they are drawn."""
    ss = st.session_state
    ss["q"] = search.query
    ss["tri"] = search.sort
    f = search.filters
    for axe in v.axes:
        ss[f"f_theme_{axe}"] = [t for t in f.thematiques if v.axe_of.get(t) == axe]
    for name, (_, keys) in WIDGETS.items():
        if name != "thematiques":
            ss[keys[0]] = list(getattr(f, name))


def current_search() -> state.SearchState:
    ss = st.session_state
    values = {name: list(ss.get(keys[0], [])) for name, (_, keys) in WIDGETS.items() if name != "thematiques"}
    values["thematiques"] = [t for key in THEME_KEYS for t in ss.get(key, [])]
    sort = ss.get("tri", "relevance")
    return state.SearchState(" ".join(str(ss.get("q", "")).split()), Filters(**values),
                             sort if sort in state.SORTS else "relevance")


def clear_field(name: str) -> None:
    for key in WIDGETS[name][1]:
        st.session_state[key] = []


def clear_all() -> None:
    for name in WIDGETS:
        clear_field(name)


def use_suggestion(text: str) -> None:
    st.session_state["q"] = text


def show_more() -> None:
    st.session_state["_kb_limit"] = st.session_state.get("_kb_limit", PAGE_SIZE) + PAGE_SIZE


def active_filters_text(filters: Filters) -> str:
    """« Publics : Seniors, Jeunes · Statut : En cours », for the main column (the sidebar is
    folded away on a phone)."""
    parts = []
    for name, (label, _) in WIDGETS.items():
        values = getattr(filters, name)
        if values:
            if name == "densites":
                names = [v.regroupements.get(x) or v.densite.get(x, x) for x in values]
            else:
                names = [v.label(FACETS_OF[name], x) for x in values]
            parts.append(f"{label} : {', '.join(names)}")
    return " · ".join(parts)


def counted(labels: dict, counts: dict):
    return lambda slug: f"{labels.get(slug, slug)} ({counts.get(slug, 0)})"


def fiche_url(slug: str) -> str:
    """Absolute address of a fiche page for the CSV (relative when the browser URL is unknown)."""
    base = st.context.url or ""
    base = base[: base.rfind("/") + 1] if "/" in base else ""
    return f"{base}fiche?slug={quote(slug)}"


# ----------------------------------------------------------------------------- state

if state.entering_page("rechercher"):
    from_url, dropped = state.state_from_params(state.url_on_entry("rechercher"))
    restore(from_url)
    st.session_state["_kb_dropped"] = dropped
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
    theme_counts = counts.get("thematique", {})
    with st.expander("Thématiques", expanded=bool(search.filters.thematiques or search.filters.axes)):
        for axe, axe_label in v.axes.items():
            st.multiselect(axe_label, v.thematiques_of_axe(axe), key=f"f_theme_{axe}",
                           format_func=counted(v.thematiques, theme_counts), placeholder="Choisir une thématique")
        st.multiselect("Axes entiers", list(v.axes), key="f_axe", format_func=counted(v.axes, counts.get("axe", {})),
                       placeholder="Choisir un axe", help="Toutes les thématiques d'un axe.")
    st.multiselect("Publics", list(v.publics), key="f_public", format_func=counted(v.publics, counts.get("public", {})),
                   placeholder="Choisir un public")
    st.multiselect("Type de territoire", list(v.types_territoire), key="f_type",
                   format_func=counted(v.types_territoire, counts.get("type", {})), placeholder="Choisir un type")
    density_counts = {**counts.get("densite", {}), **counts.get("densite_niveau", {})}
    st.multiselect(
        "Densité (grille INSEE)", DENSITY_OPTIONS, key="f_densite",
        format_func=lambda s: (f"{v.regroupements[s]} : tous niveaux ({density_counts.get(s, 0)})"
                               if s in v.regroupements else f"· {v.densite[s]} ({density_counts.get(s, 0)})"),
        placeholder="Choisir une densité", help="Les 3 grands niveaux regroupent les 7 niveaux détaillés.")
    dep_counts = counts.get("departement", {})
    st.multiselect("Départements", DEPARTEMENT_OPTIONS, key="f_departement",
                   format_func=lambda c: f"{c} – {v.departements[c]} ({dep_counts.get(c, 0)})",
                   placeholder="Choisir un département")
    st.multiselect("Régions", list(v.regions), key="f_region",
                   format_func=counted(v.regions, counts.get("region", {})), placeholder="Choisir une région")
    st.multiselect("Statut", list(v.statuts), key="f_statut",
                   format_func=counted(v.statuts, counts.get("statut", {})), placeholder="Choisir un statut")
    st.multiselect("Dispositifs nationaux", list(v.dispositifs), key="f_dispositif",
                   format_func=counted(v.dispositifs, counts.get("dispositif", {})),
                   placeholder="Choisir un dispositif")
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
        st.markdown("**Filtres actifs :** " + components.md_escape(active_filters_text(search.filters)))
        st.button("Effacer les filtres", on_click=clear_all, icon=":material/filter_alt_off:", key="clear_main")

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
if results.expansions:
    st.caption("Recherche élargie à : " + ", ".join(results.expansions))

if not results.total:
    st.info("Aucune fiche ne correspond à cette recherche." if not search.query else
            "Aucune fiche ne correspond à cette recherche : aucune ne contient l'essentiel de ses mots ni n'en "
            "est assez proche par le sens.")
    options = relaxations(engine, search.query, search.filters)
    if options:
        st.markdown("**Élargissez la recherche** en retirant un filtre :")
        for option in options:
            label = WIDGETS[option.field][0]
            st.button(f"Retirer le filtre « {label} » : {option.total} fiche{'s' if option.total > 1 else ''}",
                      key=f"relax_{option.field}", on_click=clear_field, args=(option.field,))
    elif search.query:
        st.markdown("Essayez d'autres mots, plus généraux, ou décrivez le besoin autrement. "
                    "Vous pouvez aussi parcourir les fiches par thématique :")
        themes = engine.facets().get("thematique", {})
        with st.container(horizontal=True, key="browse-themes"):
            for theme, n in sorted(themes.items(), key=lambda kv: -kv[1])[:8]:
                st.page_link(BROWSE_PAGE, label=f"{v.thematiques.get(theme, theme)} ({n})",
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
        return to_csv(export_rows([h.fiche for h in everything.hits], fiche_url))

    st.download_button(f"Exporter les {results.total} résultats (CSV)", data=export_data,
                       file_name="banque-experiences-resultats.csv", mime="text/csv", on_click="ignore",
                       icon=":material/download:",
                       help="Tableur des fiches trouvées, sans les courriels ni les téléphones des contacts.")

state.write_url("rechercher", state.params_from_state(search))
