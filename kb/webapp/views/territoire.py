"""« Mon territoire » (/territoire?code=…): a commune or an intercommunalité chosen by name or
code (with completion), its card, the fiches of comparable territories and the projects
carried for such territories, each with the reasons of its place (kb.comparable)."""

from __future__ import annotations

import streamlit as st

from kb import territoires
from kb.comparable import suggestions
from kb.webapp import components, state, territoire_html

PAGE = "territoire"
FICHE_PAGE = "views/fiche.py"
LIMIT = 10
TEXT_KEY = "kb_territoire_texte"
CHOICE_KEY = "kb_territoire_choix"

engine = state.engine()
state.page_title("Mon territoire")
entering = state.entering_page(PAGE)
url_code = (st.query_params.get("code") or "").strip()
from_url = territoires.get(url_code) if url_code else None
if entering and from_url is not None:
    st.session_state[TEXT_KEY] = from_url.nom

st.title("Mon territoire", anchor=False)
if entering:
    for message in state.unknown_params(state.read_url(), {"code"}):
        st.warning(f"Lien partagé : {components.md_escape(message)}")
st.caption("Votre commune ou votre intercommunalité : ses repères, puis les fiches de territoires "
           "comparables et les projets portés pour des territoires comme le vôtre.")
text = st.text_input("Commune ou intercommunalité (nom, code INSEE ou SIREN)", key=TEXT_KEY,
                     placeholder="ex. Ajaccio, 2B033, CC Faucigny - Glières")

territory = None
if text.strip():
    resolved = territoires.resolve(text)
    choices = territoires.complete(text, limit=LIMIT)
    if from_url is not None and from_url.code not in {c.code for c in choices}:
        choices = [c for c in territoires.complete(from_url.code, limit=1)] + choices
    if not choices:
        st.warning(f"Aucune commune ni intercommunalité ne correspond à « {components.md_escape(text[:100])} ». "
                   "Essayez un autre nom ou le code INSEE de la commune.")
    else:
        codes = [c.code for c in choices]
        labels = {c.code: c.label for c in choices}
        if from_url is not None and from_url.code in codes and entering:
            index = codes.index(from_url.code)
        elif not isinstance(resolved, list) and resolved.code in codes:
            index = codes.index(resolved.code)
        else:
            index = None
        if len(choices) > 1 and index is None:
            st.info(f"{len(choices)} territoires correspondent : choisissez le vôtre (le département est "
                    "indiqué entre parenthèses).")
        chosen = st.selectbox("Territoire", codes, index=index, format_func=lambda c: labels.get(c, c),
                              placeholder="Choisissez votre territoire", key=f"{CHOICE_KEY}_{text}")
        territory = territoires.get(chosen) if chosen else None

if territory is None:
    state.write_url(PAGE, {})
    source = territoires.source()
    st.caption(f"Données de référence : {source['source']} {source['version']} ({source['licence']}).")
    st.stop()

state.write_url(PAGE, {"code": [territory.code]})
st.header(components.md_escape(territory.nom), anchor="territoire")
st.html(territoire_html.card(territory))

found = suggestions(engine, territory, limit=LIMIT)
left, right = st.columns(2, gap="large")
with left:
    st.subheader("Fiches de territoires comparables", anchor="comparables")
    if not found.comparables:
        st.caption("Aucune fiche de territoire comparable pour l'instant.")
    for match in found.comparables:
        st.page_link(FICHE_PAGE, label=components.md_escape(match.fiche.titre), query_params={"slug": match.slug},
                     icon=":material/article:")
        st.html(territoire_html.match_card(match))
with right:
    st.subheader("Projets portés pour des territoires comme le vôtre", anchor="portes")
    if not found.portes:
        st.caption("Aucun projet d'une intercommunalité, d'un syndicat, d'un pays ou du département "
                   "dans la banque pour ce département.")
    for match in found.portes:
        st.page_link(FICHE_PAGE, label=components.md_escape(match.fiche.titre), query_params={"slug": match.slug},
                     icon=":material/article:")
        st.html(territoire_html.match_card(match))
