"""Fiche: one fiche at /fiche?slug=…, rendered safely, with its metadata, its costs, contact, similar
fiches, a link to edit it in the repository and one to report outdated information on the forge (a
pre-filled issue, kb.forge); printable (the CSS hides the controls)."""

from __future__ import annotations

import streamlit as st

from kb import forge
from kb.webapp import components, state

FICHE_PAGE = "views/fiche.py"
SEARCH_PAGE = "views/rechercher.py"
SIMILAR = 5
# the result lists a fiche can be opened from; « Retour aux résultats » goes back to the last one
RESULT_PAGES = {"rechercher": "views/rechercher.py", "parcourir": "views/parcourir.py",
                "territoire": "views/territoire.py"}

OUTDATED_BODY = """Fiche : « {titre} »
Identifiant : {slug}
Adresse : {address}

Qu'est-ce qui est périmé ?


Source ou information à jour :

"""


def outdated_report(base: str, fiche, address: str) -> str | None:
    """The forge's new-issue page pre-filled for this fiche (``forge_issue_url``); None when unset."""
    if not base:
        return None
    body = OUTDATED_BODY.format(titre=fiche.titre, slug=fiche.slug, address=address)
    return forge.issue_url(base, f"Information périmée : {fiche.titre}", body)


engine = state.engine()
came_from = st.session_state.get("_kb_page")
if came_from in RESULT_PAGES:
    st.session_state["_kb_results_page"] = came_from
elif came_from != "fiche":  # another page (or a shared link opened first): no result list to go back to
    st.session_state.pop("_kb_results_page", None)
entering = state.entering_page("fiche")
slug = (st.query_params.get("slug") or "").strip()
# following « Retour aux résultats », Streamlit first pushes the link's parameters onto this page's
# path (/fiche?q=…, see state.url_on_entry): the browser's Back lands there, on the last fiche shown
url = state.read_url()
back_entry = not slug and bool(url) and set(url) <= state.SEARCH_PARAMS | {"code"}
if back_entry:
    slug = st.session_state.get("_kb_fiche_slug", "")
fiche = engine.get(slug) if slug else None

if fiche is None:
    state.page_title("Fiche introuvable")
    st.title("Fiche introuvable")
    if slug:
        st.warning(f"Aucune fiche « {components.md_escape(slug[:100])} » dans la banque : elle a peut-être été "
                   "renommée ou retirée.")
    else:
        st.info("Aucune fiche demandée: choisissez une fiche depuis la recherche.")
    st.page_link(SEARCH_PAGE, label="Rechercher une fiche", icon=":material/search:")
    st.stop()

# a link to this same page with another slug runs it without updating the browser's address:
# write it, so that the address shown is always the fiche's own (shareable) URL
if back_entry:
    st.query_params.from_dict({"slug": slug})
else:
    st.query_params["slug"] = slug
st.session_state["_kb_fiche_slug"] = slug
state.page_title(fiche.titre)
if entering and not back_entry:
    for message in state.unknown_params(state.read_url(), {"slug"}):
        st.warning(f"Lien partagé : {components.md_escape(message)}")
results_page = st.session_state.get("_kb_results_page")
if results_page:
    with st.container(key="noprint-back"):
        st.page_link(RESULT_PAGES[results_page], label="Retour aux résultats", icon=":material/arrow_back:",
                     query_params=st.session_state.get(f"_kb_url_{results_page}") or None)
st.title(components.md_escape(fiche.titre), anchor=False)
address = state.fiche_url(slug)
st.html(components.print_url(address))
with st.container(key="noprint-tools"):
    st.html(components.fiche_tools(address), unsafe_allow_javascript=True)
st.html(f'<p class="kb-lead" lang="fr">{components.esc(fiche.resume)}</p>{components.badges(fiche)}'
        f'{components.review_line(fiche, engine.settings.relecture_mois)}')

body, side = st.columns([2, 1], gap="large")
with body:
    st.html(components.fiche_body(fiche))
with side:
    st.header("En bref", anchor="en-bref")
    st.html(components.metadata(fiche))
    costs = components.costs_block(fiche)
    if costs:
        st.header("Coûts et moyens", anchor="couts-et-moyens")
        st.html(costs)
    contact = components.contact(fiche)
    if contact:
        st.html(contact)
    edit = components.edit_link(engine.settings.edit_url, fiche)
    if edit:
        with st.container(key="noprint-edit"):
            st.link_button("Modifier cette fiche dans le dépôt", edit, icon=":material/edit:",
                           help="Ouvre l'éditeur du dépôt git; la modification passe par une relecture.")
    report = outdated_report(engine.settings.forge_issue_url, fiche, address)
    if report:
        with st.container(key="noprint-report"):
            st.link_button("Signaler une information périmée", report, icon=":material/flag:",
                           help="Ouvre un ticket pré-rempli sur la forge de la banque : l'équipe relit la fiche.")

with st.container(key="noprint-fichelinks-similar"):
    st.header("Fiches similaires", anchor="fiches-similaires")
    try:
        similar = engine.similar(slug, limit=SIMILAR)
    except KeyError:
        similar = []
    if not similar:
        st.caption("Aucune fiche similaire pour l'instant.")
    for hit in similar:
        st.page_link(FICHE_PAGE, label=components.md_escape(hit.titre), query_params={"slug": hit.slug},
                     icon=":material/article:")
        st.html(components.compact_item(hit.fiche))
    st.page_link(SEARCH_PAGE, label="Nouvelle recherche", icon=":material/search:")
