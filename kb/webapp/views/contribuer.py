"""Contribuer: a form that writes a fiche, checked at each change by the validator of
``kb validate``, downloadable as ``<slug>.md`` to propose through a pull request, or stored as a
proposal for the bank's editors (kb.proposals: « Proposer cette fiche », no git needed)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import streamlit as st

from kb import forge, proposals
from kb.compose import FicheForm, check, parse_fundings, parse_links, split_lines
from kb.facets import REGISTRY
from kb.problems import ERROR
from kb.render import markdown_to_html
from kb.template import SECTION_HINTS
from kb.textnorm import slugify
from kb.vocab import vocab
from kb.webapp import components, state

v = vocab()
engine = state.engine()
entering = state.entering_page("contribuer")
TODAY = dt.date.today()
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]
DEPARTEMENT_OPTIONS = list(REGISTRY.values(REGISTRY["departement"]))
THEME_OPTIONS = [t for axe in v.axes for t in v.thematiques_of_axe(axe)]
# front-matter key named by a validator message → the form field that sets it
FORM_FIELDS = {
    "titre": "Titre", "resume": "Résumé", "thematiques": "Thématiques", "publics": "Publics", "statut": "Statut",
    "debut": "Année de début", "porteur": "Porteur", "territoire": "Nom du territoire » « Type de territoire » « Départements",
    "territoire.nom": "Nom du territoire", "territoire.type": "Type de territoire",
    "territoire.departements": "Départements", "territoire.densite": "Densité", "contact.email": "Courriel",
    "contact.site": "Site", "liens": "Liens", "liens.url": "Liens", "liens.type": "Liens",
    "couts.investissement_eur": "Investissement", "couts.fonctionnement_eur_an": "Fonctionnement annuel",
    "couts.etp": "Équivalents temps plein", "couts.mise_en_place_mois": "Mise en place",
    "couts.beneficiaires_an": "Bénéficiaires par an", "couts.beneficiaires_unite": "Unité des bénéficiaires",
    "couts.annee": "Année des chiffres", "financements": "Financements",
    "financements.montant_eur": "Financements", "financements.source": "Financements",
}
KEY_IN_MESSAGE = re.compile(r"« ([a-z_.0-9]+) »")
LINK_TYPES = ", ".join(f"{label} ({slug})" for slug, label in v.types_liens.items())
PR_STEPS = """
1. **Téléchargez** la fiche ci-dessus (fichier `{slug}.md`).
2. Sur la forge du projet, **créez une copie (fork)** du dépôt de la banque, ou une branche si vous avez les droits.
3. **Ajoutez le fichier** dans le dossier `practices/` (sans changer son nom : c'est l'identifiant de la fiche).
4. Vérifiez-le avec **`kb validate practices/{slug}.md`** : la commande indique chaque problème, sa ligne
   et la correction.
5. **Ouvrez une demande de fusion (pull request)** : un membre de l'équipe relit la fiche, puis la publie.
"""

FORGE_OPENS = ("« Ouvrir sur la forge » ouvre la page « nouveau fichier » de la forge avec le nom et le "
               "contenu de la fiche déjà remplis (s'il manque le contenu, collez-y le fichier téléchargé) : "
               "proposez alors la modification, ce qui crée une demande de fusion (pull request) relue par "
               "l'équipe, sans installer git.")
FORGE_TOO_LONG = ("La fiche est trop longue pour être transmise à la forge dans une adresse (plus de "
                  f"{forge.MAX_URL_LENGTH} caractères une fois encodée) : téléchargez-la, puis proposez-la en "
                  "suivant les étapes ci-dessous.")
PROPOSE_INTRO = ("« Proposer cette fiche » l'enregistre pour l'équipe de la banque, sans compte ni git : elle la "
                 "relit, puis la publie ou la refuse en notant pourquoi.")
PRIVACY = ("**Votre courriel** ne sert qu'à vous répondre à propos de cette proposition (décision, question). "
           "Seules les personnes qui relisent les propositions le voient ; il n'est jamais publié dans la fiche ni "
           f"dans l'application. Il est effacé {proposals.EMAIL_DAYS_AFTER_DECISION} jours après la décision, et au "
           f"plus tard {proposals.EMAIL_MAX_DAYS // 30} mois après l'envoi. Pour le faire effacer plus tôt, "
           "demandez-le à l'équipe de la banque en donnant le titre de la fiche. Votre adresse IP n'est pas "
           "enregistrée : seule une empreinte, effacée au bout d'un jour, sert à limiter le nombre d'envois "
           f"({proposals.HOURLY_LIMIT} par heure).")
PROPOSED = ("Merci : votre fiche « {slug} » est proposée. L'équipe de la banque la relira avant de la publier"
            "{reply}.")
# the honeypot field: hidden from people (and from screen readers, display:none) — a constant
HONEYPOT_STYLE = "<style>.st-key-kb-hp { display: none; }</style>"


def described(problem) -> str:
    """A validator message, with the form field it is about."""
    text = f"ligne {problem.line} : {components.md_escape(problem.message)}"
    match = KEY_IN_MESSAGE.search(problem.message)
    field = FORM_FIELDS.get(re.sub(r"\.\d+", "", match.group(1))) if match else None
    return f"{text} *(formulaire : « {field} »)*" if field else text


def propose(slug: str, text: str) -> None:
    """« Proposer cette fiche »: the valid draft stored as a proposal (kb.proposals), once."""
    st.subheader("Proposer cette fiche à l'équipe (sans git)")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if st.session_state.get("kb_proposed") == digest:
        st.success(st.session_state.get("kb_proposed_message", ""), icon=":material/check_circle:")
        return
    st.markdown(PROPOSE_INTRO)
    email = st.text_input("Votre courriel (facultatif, pour recevoir la réponse)", key="p_email", max_chars=254)
    st.caption(PRIVACY)
    st.html(HONEYPOT_STYLE)
    with st.container(key="kb-hp"):
        honeypot = st.text_input("Site web (laissez ce champ vide)", key="p_site")
    if not st.button("Proposer cette fiche", key="p_submit", icon=":material/send:"):
        return
    client = proposals.client_address(st.context.ip_address, st.context.headers)
    try:
        proposals.Store(engine.settings.proposals_path).submit(slug, text, email=email, client=client,
                                                               honeypot=honeypot)
    except proposals.ProposalError as exc:
        st.error(components.md_escape(str(exc)))
        return
    reply = " et vous écrira à l'adresse donnée" if email.strip() else ""
    st.session_state["kb_proposed"] = digest
    st.session_state["kb_proposed_message"] = PROPOSED.format(slug=slug, reply=reply)
    st.success(st.session_state["kb_proposed_message"], icon=":material/check_circle:")


state.page_title("Contribuer")
st.title("Contribuer : proposer une fiche")
if entering:
    for message in state.unknown_params(state.read_url(), set()):
        st.warning(f"Lien partagé : {components.md_escape(message)}")
st.markdown("Remplissez le formulaire : la fiche est vérifiée à chaque modification, avec les mêmes règles que "
            "`kb validate`. Quand elle ne contient plus d'erreur, téléchargez-la et proposez-la au dépôt.")
st.markdown("Le format complet (chaque champ, règle, section et vocabulaire, avec ses libellés) est décrit "
            "dans le fichier `docs/format.md` du dépôt de la banque.")

st.header("1. L'initiative")
titre = st.text_input("Titre (10 à 120 caractères)", key="c_titre", max_chars=200,
                      placeholder="Par exemple : Un bus numérique itinérant pour les démarches en ligne")
resume = st.text_area("Résumé (50 à 400 caractères, une ou deux phrases)", key="c_resume", height=100)
thematiques = st.multiselect("Thématiques (1 à 5)", THEME_OPTIONS, key="c_thematiques", max_selections=5,
                             format_func=lambda t: f"{v.thematiques[t]} — {v.axes[v.axe_of[t]]}",
                             placeholder="Choisir les thématiques")
publics = st.multiselect("Publics (1 à 6)", list(v.publics), key="c_publics", max_selections=6,
                         format_func=v.publics.get, placeholder="Choisir les publics")
col1, col2 = st.columns(2)
with col1:
    statut = st.selectbox("Statut", list(v.statuts), key="c_statut", index=None, format_func=v.statuts.get,
                          placeholder="Choisir un statut")
    debut_annee = st.selectbox("Année de début", list(range(TODAY.year, 1979, -1)), key="c_debut_annee",
                               index=None, placeholder="Choisir l'année")
with col2:
    porteur = st.text_input("Porteur (service ou structure qui mène l'initiative)", key="c_porteur")
    debut_mois = st.selectbox("Mois de début (facultatif)", list(range(1, 13)), key="c_debut_mois", index=None,
                              format_func=lambda m: MONTHS[m - 1], placeholder="Année seule")

st.header("2. Le territoire")
col1, col2 = st.columns(2)
with col1:
    territoire_nom = st.text_input("Nom du territoire", key="c_territoire_nom",
                                   placeholder="Par exemple : Communauté de communes du Val d'Aubre")
    territoire_type = st.selectbox("Type de territoire", list(v.types_territoire), key="c_type", index=None,
                                   format_func=v.types_territoire.get, placeholder="Choisir un type")
    population = st.number_input("Population (habitants, facultatif)", key="c_population", min_value=1,
                                 value=None, step=1, placeholder="Par exemple : 18500")
with col2:
    departements = st.multiselect("Départements", DEPARTEMENT_OPTIONS, key="c_departements",
                                  format_func=lambda c: f"{c} – {v.departements[c]}",
                                  placeholder="Choisir les départements")
    densite = st.selectbox("Densité (grille communale de l'INSEE, recommandée)", list(v.densite), key="c_densite",
                           index=None, format_func=v.densite.get, placeholder="Choisir une densité")

st.header("3. Coûts et moyens")
st.caption("Facultatif mais précieux : ces chiffres permettent à un autre territoire de comparer. Montants en euros "
           "TTC ; laissez vide ce que vous ne savez pas.")
col1, col2 = st.columns(2)
with col1:
    investissement = st.number_input("Investissement (€, coûts ponctuels : matériel, travaux, mise en place)",
                                     key="c_investissement", min_value=0.0, value=None, step=1000.0, format="%.0f",
                                     placeholder="Par exemple : 95000")
    fonctionnement = st.number_input("Fonctionnement annuel (€ par an, personnel compris)", key="c_fonctionnement",
                                     min_value=0.0, value=None, step=1000.0, format="%.0f",
                                     placeholder="Par exemple : 62000")
    etp = st.number_input("Équivalents temps plein (ETP)", key="c_etp", min_value=0.0, value=None, step=0.5,
                          format="%.2f", placeholder="Par exemple : 1.5")
    annee = st.selectbox("Année des chiffres", list(range(TODAY.year, 1979, -1)), key="c_annee", index=None,
                         placeholder="Choisir l'année")
with col2:
    mise_en_place = st.number_input("Mise en place (mois entre la décision et le premier service)",
                                    key="c_mise_en_place", min_value=0, value=None, step=1,
                                    placeholder="Par exemple : 8")
    beneficiaires = st.number_input("Bénéficiaires par an", key="c_beneficiaires", min_value=0, value=None, step=1,
                                    placeholder="Par exemple : 1400")
    unite = st.selectbox("Unité des bénéficiaires", list(v.beneficiaires_unites), key="c_unite", index=None,
                         format_func=v.beneficiaires_unites.get, placeholder="Personnes (par défaut)")
col1, col2 = st.columns(2)
with col1:
    partenaires = st.text_area("Partenaires (un par ligne, facultatif)", key="c_partenaires", height=100)
    financements = st.text_area("Financements (un par ligne, facultatif : « source | montant en euros » ou le nom "
                                "seul)", key="c_financements", height=100,
                                placeholder="DSIL | 60000\nConseil départemental | 20000\nfonds propres")
with col2:
    dispositifs = st.multiselect("Dispositifs nationaux (facultatif)", list(v.dispositifs), key="c_dispositifs",
                                 format_func=v.dispositifs.get, placeholder="Choisir les dispositifs")

st.header("4. Contact et liens")
st.caption("Préférez une adresse de service à une adresse personnelle.")
col1, col2 = st.columns(2)
with col1:
    contact_nom = st.text_input("Nom du contact (facultatif)", key="c_contact_nom")
    contact_email = st.text_input("Courriel (facultatif)", key="c_contact_email")
    contact_site = st.text_input("Site (facultatif, https://…)", key="c_contact_site")
with col2:
    contact_fonction = st.text_input("Fonction (facultatif)", key="c_contact_fonction")
    contact_telephone = st.text_input("Téléphone (facultatif)", key="c_contact_telephone")
    mots_cles = st.text_area("Mots-clés (un par ligne, facultatif)", key="c_mots_cles", height=100,
                             help="Sigles, noms locaux : ils aident la recherche.")
liens = st.text_area("Liens (un par ligne, « titre | https://… | type », le type étant facultatif)", key="c_liens",
                     height=80, help=f"Types de documents : {LINK_TYPES}.",
                     placeholder="Délibération du conseil communautaire | https://… | deliberation")

st.header("5. Le récit")
sections = {}
for section in v.sections:
    title = section["titre"]
    suffix = " (obligatoire)" if section.get("requise") else (" (recommandée)" if section.get("recommandee")
                                                              else " (facultative)")
    sections[title] = st.text_area(f"{title}{suffix}", key=f"c_section_{slugify(title)}", height=130,
                                   help=SECTION_HINTS.get(title, "").capitalize() or None)
slug_override = st.text_input("Identifiant de la fiche (facultatif : calculé à partir du titre)", key="c_slug",
                              help="Minuscules, chiffres et tirets ; c'est le nom du fichier et l'adresse de la fiche.")

form = FicheForm(
    titre=titre, resume=resume, thematiques=thematiques, publics=publics, territoire_nom=territoire_nom,
    territoire_type=territoire_type or "", densite=densite or "", departements=departements,
    population=int(population) if population else None, porteur=porteur, partenaires=split_lines(partenaires),
    dispositifs=dispositifs, statut=statut or "",
    debut=(f"{debut_annee}-{debut_mois:02d}" if debut_annee and debut_mois else str(debut_annee or "")),
    couts={"investissement_eur": investissement, "fonctionnement_eur_an": fonctionnement, "etp": etp,
           "mise_en_place_mois": mise_en_place, "beneficiaires_an": beneficiaires, "beneficiaires_unite": unite,
           "annee": annee},
    financements=parse_fundings(financements),
    contact={"nom": contact_nom, "fonction": contact_fonction, "email": contact_email,
             "telephone": contact_telephone, "site": contact_site},
    liens=parse_links(liens), mots_cles=split_lines(mots_cles), mise_a_jour=TODAY, sections=sections,
    slug=slug_override,
)

st.header("Vérification")
started = any(st.session_state.get(key) not in (None, "", []) for key in st.session_state.keys()
              if str(key).startswith("c_"))
if not started:
    st.info("Commencez à remplir le formulaire : la vérification s'affiche ici.")
    st.stop()

slug, text, fiche, problems = check(form, TODAY, engine.entries())
errors = [p for p in problems if p.severity == ERROR]
warnings = [p for p in problems if p.severity != ERROR]

if errors:
    st.error(f"**{len(errors)} erreur{'s' if len(errors) > 1 else ''} à corriger** avant de proposer la fiche :\n\n"
             + "\n".join(f"- {described(p)}" for p in errors))
if warnings:
    st.warning(f"**{len(warnings)} conseil{'s' if len(warnings) > 1 else ''}** (la fiche reste valide) :\n\n"
               + "\n".join(f"- {described(p)}" for p in warnings))
if not errors:
    st.success(f"La fiche est valide : elle sera enregistrée sous « practices/{slug}.md ».")
    forge_base = engine.settings.forge_new_file_url
    forge_link = forge.new_file_url(forge_base, f"{slug}.md", text) if forge_base else None
    with st.container(horizontal=True):
        st.download_button(f"Télécharger la fiche ({slug}.md)", data=text.encode("utf-8"), file_name=f"{slug}.md",
                           mime="text/markdown", icon=":material/download:", type="primary", on_click="ignore")
        if forge_link:
            st.link_button("Ouvrir sur la forge (pull request sans git)", forge_link, icon=":material/open_in_new:")
    if forge_link:
        st.caption(FORGE_OPENS)
    elif forge_base:
        st.info(FORGE_TOO_LONG)
    propose(slug, text)
    st.subheader("Proposer la fiche au dépôt")
    st.markdown(PR_STEPS.format(slug=slug))
    contributing = state.app_settings().root / "CONTRIBUTING.md"
    if contributing.exists():
        with st.expander("Guide de contribution du dépôt (CONTRIBUTING.md)"):
            guide = markdown_to_html(contributing.read_text(encoding="utf-8"))
            st.html(f'<div class="kb-body" lang="fr">{guide}</div>')

with st.expander("Aperçu du fichier (Markdown)", expanded=bool(errors)):
    st.code(text, language="markdown", line_numbers=True)
