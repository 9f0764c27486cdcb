"""Streamlit's own words in French, and the « Aller à la recherche » link.

Streamlit draws its interface (sidebar toggle, lists, tables, charts, dialogs) with English
labels that no setting changes. :func:`script` renders the page's only script: it sets the
page's language, puts the skip link first in the tab order, and watches the page
(MutationObserver) to rewrite, in French, the text, ``aria-label``, ``title`` and
``placeholder`` that Streamlit writes. Only whole texts listed here change, and never inside
the application's own HTML (fiches, cards: ``stHtml``) nor its Markdown (titles, labels), so
a fiche's words are never touched.

The script is a constant of this module, never built from data.
"""

from __future__ import annotations

import json

# Streamlit's labels (1.67), whole texts: the English as Streamlit writes it → the French shown
PHRASES: dict[str, str] = {
    # the page's frame: sidebar, menu, running indicator, dialogs, connection
    "Skip to main content": "Aller au contenu principal",
    "Collapse sidebar": "Masquer le menu latéral",
    "Expand sidebar": "Afficher le menu latéral",
    "Sidebar": "Menu latéral",
    "App pages": "Pages de l'application",
    "Main menu": "Menu principal",
    "Navigate to home page": "Aller à la page d'accueil",
    "Running...": "Calcul en cours…",
    "Stop": "Arrêter",
    "Stopping...": "Arrêt en cours…",
    "Rerun": "Relancer",
    "Always rerun": "Toujours relancer",
    "Deploy": "Déployer",
    "Close": "Fermer",
    "Dismiss": "Fermer",
    "Cancel": "Annuler",
    "Copy": "Copier",
    "Try again": "Réessayer",
    "Page not found": "Page introuvable",
    "The page that you have requested does not seem to exist. Running the app's main page.":
        "Cette page n'existe pas : voici la page d'accueil de l'application.",
    "Connecting": "Connexion…",
    "Connection error": "Erreur de connexion",
    "Connection timed out.": "Le serveur ne répond pas.",
    "Please wait...": "Veuillez patienter…",
    "Streamlit server is not responding. Are you connected to the internet?":
        "Le serveur de l'application ne répond pas. Êtes-vous connecté à Internet ?",
    "Is Streamlit still running? If you accidentally stopped Streamlit, just restart it in your terminal:":
        "L'application est-elle arrêtée ? Relancez-la (kb serve) :",
    "Script execution error": "Erreur d'exécution de la page",
    "This app has encountered an error. The original error message is redacted to prevent data leaks. Full "
    "error details have been recorded in the logs (if you're on Streamlit Cloud, click on 'Manage app' in the "
    "lower right of your app).":
        "Une erreur est survenue sur cette page. Son détail est enregistré dans le journal du serveur.",
    "Print": "Imprimer",
    "About": "À propos",
    "Settings": "Réglages",
    "Theme": "Thème",
    "Light": "Clair",
    "Dark": "Sombre",
    "System": "Système",
    "Notifications": "Notifications",
    "Link to heading": "Lien vers ce titre",
    # lists (multiselect, selectbox) and text fields
    "Select all": "Tout sélectionner",
    "Clear all": "Tout effacer",
    "Clear value": "Effacer le choix",
    "Clear entry": "Effacer",
    "Open": "Ouvrir la liste",
    "No results": "Aucun résultat",
    "No options": "Aucun choix",
    "Choose an option": "Choisir une option",
    "Choose options": "Choisir des options",
    "Select...": "Choisir…",
    "Press Enter to apply": "Entrée pour valider",
    "Press Ctrl+Enter to apply": "Ctrl+Entrée pour valider",
    "Press ⌘+Enter to apply": "⌘+Entrée pour valider",
    "Press Enter to submit form": "Entrée pour envoyer le formulaire",
    "Press Ctrl+Enter to submit form": "Ctrl+Entrée pour envoyer le formulaire",
    "Press ⌘+Enter to submit form": "⌘+Entrée pour envoyer le formulaire",
    "Selected values": "Choix retenus",
    "Multiselect options": "Liste des choix",
    "Selectbox options": "Liste des choix",
    "No options to select.": "Aucun choix.",
    "Increment": "Augmenter",
    "Decrement": "Diminuer",
    "Number is above the allowed range.": "Nombre au-dessus du maximum.",
    "Number is below the allowed range.": "Nombre au-dessous du minimum.",
    "Copy to clipboard": "Copier dans le presse-papiers",
    "Copied!": "Copié !",
    "Copied": "Copié",
    "Show password": "Afficher le mot de passe",
    "Hide password": "Masquer le mot de passe",
    # tables (st.dataframe) and charts (st.altair_chart)
    "Download as CSV": "Télécharger en CSV",
    "Download as PNG": "Télécharger en PNG",
    "Search": "Rechercher",
    "Type to search": "Tapez pour rechercher",
    "Close Search": "Fermer la recherche",
    "Next Result": "Résultat suivant",
    "Previous Result": "Résultat précédent",
    "Fullscreen": "Plein écran",
    "Close fullscreen": "Quitter le plein écran",
    "Show/hide columns": "Afficher ou masquer des colonnes",
    "Show data": "Afficher les données",
    "Show chart": "Afficher le graphique",
    "Sort ascending": "Tri croissant",
    "Sort descending": "Tri décroissant",
    "Pin column": "Épingler la colonne",
    "Unpin column": "Détacher la colonne",
    "Hide column": "Masquer la colonne",
    "Autosize": "Largeur automatique",
    "Copy column name": "Copier le nom de la colonne",
    "Loading...": "Chargement…",
    "No data": "Aucune donnée",
    "Empty": "Vide",
    "Copy Vega-Lite spec": "Copier la description du graphique (Vega-Lite)",
    "Vega visualization": "Graphique",
}

# texts that hold a value, as JavaScript regular expressions (whole text) → replacement
PATTERNS: list[tuple[str, str]] = [
    (r"^Help for (.+)$", "Aide : $1"),
    (r"^Remove (.+)$", "Retirer « $1 »"),
    (r"^Select (\d+) matches$", "Sélectionner les $1 résultats"),
    (r"^(\d+) options? available\.$", "$1 choix disponibles."),
    (r"^You can only select up to (\d+) options?\. Remove an option first\.$",
     "$1 choix au plus : retirez-en un d'abord."),
    (r"^Add: (.+)$", "Ajouter : $1"),
    # the time shown by a spinner: « (12.3 seconds) », « (2 minutes, 3.5 seconds) »
    (r"^\((\d+)\.(\d+) seconds\)$", "($1,$2 s)"),
    (r"^\((\d+) minutes?\)$", "($1 min)"),
    (r"^\((\d+) minutes?, (\d+)\.(\d+) seconds\)$", "($1 min $2,$3 s)"),
    # the descriptions that Vega gives its charts' axes, legends and titles (screen readers)
    (r"^([XY])-axis titled '(.*)' for an? \S+ scale with ", "Axe $1 « $2 » : "),
    (r"^([XY])-axis for an? \S+ scale with ", "Axe $1 : "),
    (r"^(?:\S+ )?[Ll]egend titled '(.*)' for .+? with ", "Légende « $1 » : "),
    (r"^(?:\S+ )?[Ll]egend for .+? with ", "Légende : "),
    (r"^Title text '(.*)'$", "Titre « $1 »"),
    (r"^Subtitle text '(.*)'$", "Sous-titre « $1 »"),
]
# the end of a Vega description, once its beginning is translated (never alone)
TAILS: list[tuple[str, str]] = [
    (r" : values from (.*) to (.*)$", " : valeurs de $1 à $2"),
    (r" : (\d+) values?: ", " : $1 valeurs : "),
    (r" : (\d+) boundar(?:y|ies): ", " : $1 seuils : "),
    (r", ending with (.*)$", ", …, $1"),
]
# Vega's aria-roledescription of a chart's parts
ROLES: dict[str, str] = {
    "axis": "axe", "legend": "légende", "title": "titre", "subtitle": "sous-titre",
    "rect mark": "barre", "rect mark container": "barres", "symbol mark": "symbole",
    "symbol mark container": "symboles", "text mark": "texte", "text mark container": "textes",
    "rule mark": "trait", "rule mark container": "traits", "line mark": "ligne", "area mark": "aire",
    "arc mark": "secteur", "arc mark container": "secteurs", "group mark container": "groupe",
}

# where the skip link leads: the page's search box (Rechercher: ?q=, Mon territoire), else the
# main content; and what it says in each case
SEARCH_BOXES = '.st-key-q input, .st-key-kb_territoire_texte input'
SKIP_TO_SEARCH = "Aller à la recherche"
SKIP_TO_CONTENT = "Aller au contenu principal"
# never translated: the application's own HTML (fiches, cards) and Markdown (titles, labels);
# Streamlit's dialogs and error boxes write their own texts as Markdown
CONTENT = ('[data-testid="stHtml"], [data-testid="stMarkdownContainer"]:not([role="dialog"] *)'
           ':not([data-testid="stException"] *)')
ATTRIBUTES = ["aria-label", "title", "placeholder", "aria-roledescription"]

_SCRIPT = """<script>
(() => {
  const doc = document;
  doc.documentElement.lang = "fr";
  if (window.__kbFrench) return;  // once per browser tab: the script comes back at every run
  window.__kbFrench = true;
  const C = __CONFIG__;
  const phrases = new Map(Object.entries(C.phrases));
  const roles = new Map(Object.entries(C.roles));
  const regexps = (list) => list.map(([source, to]) => [new RegExp(source), to]);
  const patterns = regexps(C.patterns), tails = regexps(C.tails);
  const french = (text, table = phrases) => {
    const key = text.trim();
    if (!key) return null;
    let out = table.get(key);
    if (out === undefined && table === phrases) {
      const found = patterns.find(([re]) => re.test(key));
      if (found) out = tails.reduce((t, [re, to]) => t.replace(re, to), key.replace(found[0], found[1]));
    }
    return out === undefined || out === key ? null : text.replace(key, out);
  };
  const inContent = (el) => el.closest(C.content) !== null;
  const textNode = (node) => {
    const parent = node.parentElement;
    if (!parent || parent.nodeName === "SCRIPT" || parent.nodeName === "STYLE" || inContent(parent)) return;
    const out = french(node.nodeValue);
    if (out !== null) node.nodeValue = out;
  };
  const attributes = (el) => {
    if (el.closest('[data-testid="stHtml"]')) return;
    for (const name of C.attributes) {
      const value = el.getAttribute(name);
      const out = value ? french(value, name === "aria-roledescription" ? roles : phrases) : null;
      if (out !== null) el.setAttribute(name, out);
    }
  };
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { textNode(node); return; }
    if (node.nodeType !== Node.ELEMENT_NODE || node.closest("script, style")) return;
    attributes(node);
    node.querySelectorAll(C.selector).forEach(attributes);
    const texts = doc.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    for (let t = texts.nextNode(); t; t = texts.nextNode()) textNode(t);
  };

  // « Aller à la recherche »: first in the tab order, to the search box or the main content
  const skip = doc.createElement("a");
  skip.className = "kb-skip";
  skip.href = "#stMain";
  skip.textContent = C.skipContent;
  skip.addEventListener("click", (event) => {
    event.preventDefault();
    const target = doc.querySelector(C.searchBoxes) || doc.getElementById("stMain");
    if (!target) return;
    if (!target.matches("input") && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus();
  });
  const updateSkip = () => {
    const text = doc.querySelector(C.searchBoxes) ? C.skipSearch : C.skipContent;
    if (skip.textContent !== text) skip.textContent = text;
    if (!skip.isConnected) doc.body.prepend(skip);  // never moved: moving it would lose its focus
  };

  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "childList") record.addedNodes.forEach(walk);
      else if (record.type === "characterData") textNode(record.target);
      else if (record.attributeName === "lang") {
        if (doc.documentElement.lang !== "fr") doc.documentElement.lang = "fr";
      } else attributes(record.target);
    }
    updateSkip();
  }).observe(doc.documentElement, {childList: true, subtree: true, characterData: true, attributes: true,
                                   attributeFilter: [...C.attributes, "lang"]});
  walk(doc.body);
  updateSkip();
})();
</script>"""


def script() -> str:
    """The ``<script>`` of the page (st.html with its JavaScript allowed): the tables above as
    JSON, no ``</`` inside."""
    config = {"phrases": PHRASES, "patterns": PATTERNS, "tails": TAILS, "roles": ROLES, "attributes": ATTRIBUTES,
              "selector": ", ".join(f"[{name}]" for name in ATTRIBUTES), "content": CONTENT,
              "searchBoxes": SEARCH_BOXES, "skipSearch": SKIP_TO_SEARCH, "skipContent": SKIP_TO_CONTENT}
    return _SCRIPT.replace("__CONFIG__", json.dumps(config, ensure_ascii=False).replace("</", "<\\/"))
