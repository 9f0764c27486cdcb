"""Relecture: the editors review the fiches proposed from Contribuer — list, Markdown source,
validation problems, accept or reject — through kb.proposals and kb.proposals_review, the
functions of ``kb propositions``.

Protected by the ``relecture_secret`` setting (KB_RELECTURE_SECRET): without it the application
does not register this page, and the page itself shows nothing. Wrong secrets are limited per
client and logged by kb.proposals. Nothing of a proposal is ever rendered as HTML: its text is
shown as code, its other values escaped for Markdown.
"""

from __future__ import annotations

import hmac

import streamlit as st

from kb import proposals
from kb.proposals_review import accept, exists_message, reject, review
from kb.webapp import components, state

FILTERS = {"nouvelle": "À relire", "acceptee": "Acceptées", "refusee": "Refusées", "": "Toutes"}
esc = components.md_escape

settings = state.app_settings()
state.page_title("Relecture")
st.title("Relecture des propositions")
secret = settings.relecture_secret
if not secret:
    st.error("La relecture n'est pas activée : réglez un secret (variable KB_RELECTURE_SECRET ou réglage "
             "« relecture_secret »), ou relisez les propositions avec « kb propositions ».")
    st.stop()

store = proposals.Store(settings.proposals_path)
token = proposals.session_token(secret)


def signed_in() -> bool:
    kept = st.session_state.get("kb_relecture")
    return isinstance(kept, str) and hmac.compare_digest(kept, token)


def minutes(seconds: int) -> str:
    count = max(1, -(-seconds // 60))
    return f"{count} minute{'s' if count > 1 else ''}"


def sign_in() -> None:
    st.markdown("Cette page est réservée à l'équipe qui relit les propositions : entrez le secret de relecture.")
    with st.form("kb_relecture_login"):
        tried = st.text_input("Secret de relecture", type="password", key="r_secret")
        sent = st.form_submit_button("Entrer", key="r_enter")
    if not sent:
        return
    client = proposals.client_address(st.context.ip_address, st.context.headers)
    try:
        result = store.check_secret(secret, tried or "", client)
    except proposals.ProposalError as exc:
        st.error(esc(str(exc)))
        return
    if result.ok:
        st.session_state["kb_relecture"] = token
        st.rerun()
    elif result.wait:
        st.error(f"Trop d'essais incorrects : réessayez dans {minutes(result.wait)}.")
    else:
        st.error(f"Secret incorrect. Encore {result.left} essai{'s' if result.left > 1 else ''} avant une attente de "
                 f"{proposals.SECRET_WINDOW // 60} minutes.")


def problem_lines(problems) -> str:
    return "\n".join(f"- ligne {p.line} : {esc(p.message)}" for p in problems)


def show(p: proposals.Proposal) -> None:
    st.subheader(f"Proposition n° {p.id} : {esc(p.slug)}")
    lines = [f"**Statut** : {esc(p.status_label)}", f"**Reçue le** : {esc(p.date)}",
             f"**Courriel** : {esc(p.email)} (effacé le {proposals.email_erased_on(p)} au plus tard)"
             if p.email else "**Courriel** : aucun"]
    if p.decided:
        lines.append(f"**Décision** : {esc(proposals.stamp(p.decided))}{f' — {esc(p.note)}' if p.note else ''}")
    st.markdown("  \n".join(lines))
    checked = review(p, settings)
    if checked.exists and p.status == "nouvelle":
        st.error(esc(exists_message(checked.target)))
    errors = checked.errors
    warnings = [x for x in checked.problems if x not in errors]
    if errors:
        st.error(f"**{len(errors)} erreur(s)** de validation :\n\n{problem_lines(errors)}")
    if warnings:
        st.warning(f"**{len(warnings)} avertissement(s)** :\n\n{problem_lines(warnings)}")
    if not checked.problems:
        st.success(f"La fiche est valide : elle sera écrite dans {esc(checked.target)}.")
    st.code(p.text, language="markdown", line_numbers=True)
    if p.status == "nouvelle":
        decide(p)
    if p.email and st.button("Effacer le courriel maintenant", key=f"r_forget_{p.id}"):
        store.forget_email(p.id)
        st.session_state["kb_relecture_done"] = f"Courriel de la proposition n° {p.id} effacé."
        st.rerun()


def decide(p: proposals.Proposal) -> None:
    note = st.text_area("Note de relecture (obligatoire pour refuser : elle sert à répondre à la personne)",
                        key=f"r_note_{p.id}", max_chars=proposals.MAX_NOTE)
    with st.container(horizontal=True):
        accepting = st.button("Accepter (écrire la fiche)", key=f"r_accept_{p.id}", type="primary",
                              icon=":material/check:")
        refusing = st.button("Refuser", key=f"r_reject_{p.id}", icon=":material/close:")
    try:
        if accepting:
            done = accept(store, p.id, settings, note)
            st.session_state["kb_relecture_done"] = (
                f"Proposition n° {p.id} acceptée : {done.target} écrit. Ajoutez-le au dépôt (git add, git commit) ; "
                "la fiche entre dans la recherche au prochain « kb build ».")
            st.rerun()
        if refusing:
            reject(store, p.id, note)
            st.session_state["kb_relecture_done"] = f"Proposition n° {p.id} refusée."
            st.rerun()
    except proposals.InvalidProposal as exc:
        st.error(f"{esc(str(exc))}\n\n{problem_lines(exc.problems)}")
    except proposals.ProposalError as exc:
        st.error(esc(str(exc)))


if not signed_in():
    sign_in()
    st.stop()

if st.button("Se déconnecter", key="r_sign_out", icon=":material/logout:"):
    st.session_state.pop("kb_relecture", None)
    st.rerun()
done_message = st.session_state.pop("kb_relecture_done", None)
if done_message:
    st.success(esc(done_message))
status = st.radio("Propositions", list(FILTERS), format_func=FILTERS.get, horizontal=True, key="r_filter")
try:
    items = store.list(status or None)
except proposals.ProposalError as exc:
    st.error(esc(str(exc)))
    st.stop()
if not items:
    st.info("Aucune proposition à afficher.")
    st.stop()
by_id = {p.id: p for p in items}
chosen = st.selectbox("Proposition", list(by_id), key="r_chosen",
                      format_func=lambda i: f"n° {i} — {by_id[i].slug} — {by_id[i].date} — {by_id[i].status_label}")
show(by_id[chosen] if chosen in by_id else items[0])
