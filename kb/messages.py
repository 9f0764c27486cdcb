"""Every French message of the validator, and the French label of every field of a fiche.

A message is a template with named placeholders. ``{champ}`` stands for the field the
message is about: :func:`render` fills it with the key path for ``kb validate`` (« territoire.
departements », where an editor looks in the YAML) and with the field's label for the
contribution form (« Départements », what the form shows next to the widget), so that the
form never shows a YAML key nor a line number.
"""

from __future__ import annotations

DOC = "docs/format.md"
# the line kb validate adds after its summary when it found problems
DOC_HINT = f"Le format des fiches (clés, règles, sections, vocabulaires): {DOC}."

# front-matter key path (list indices left out) → label as shown in a form
LABELS = {
    "titre": "Titre",
    "resume": "Résumé",
    "thematiques": "Thématiques",
    "publics": "Publics",
    "territoire": "Territoire",
    "territoire.nom": "Nom du territoire",
    "territoire.type": "Type de territoire",
    "territoire.densite": "Densité",
    "territoire.departements": "Départements",
    "territoire.population": "Population",
    "porteur": "Porteur",
    "debut": "Début",
    "statut": "Statut",
    "mise_a_jour": "Date de mise à jour",
    "partenaires": "Partenaires",
    "dispositifs": "Dispositifs nationaux",
    "couts": "Coûts et moyens",
    "couts.investissement_eur": "Investissement (€)",
    "couts.fonctionnement_eur_an": "Coût de fonctionnement annuel (€)",
    "couts.etp": "Équivalents temps plein (ETP)",
    "couts.mise_en_place_mois": "Délai de mise en place (mois)",
    "couts.beneficiaires_an": "Bénéficiaires par an",
    "couts.beneficiaires_unite": "Unité des bénéficiaires",
    "couts.annee": "Année des chiffres",
    "budget_eur": "Budget (€, ancien champ)",
    "financements": "Financements",
    "financements.source": "Source du financement",
    "financements.montant_eur": "Montant du financement (€)",
    "contact": "Contact",
    "contact.nom": "Nom du contact",
    "contact.fonction": "Fonction",
    "contact.email": "Courriel",
    "contact.telephone": "Téléphone",
    "contact.site": "Site",
    "liens": "Liens",
    "liens.titre": "Titre du lien",
    "liens.url": "Adresse du lien",
    "liens.type": "Type de lien",
    "mots_cles": "Mots-clés",
    "licence": "Licence",
}

# vocabulary (kb/data/vocab.yaml) → its French name in messages
VOCABULARY_NAMES = {
    "thematiques": "Thématiques",
    "publics": "Publics",
    "types_territoire": "Types de territoire",
    "densite": "Densité (grille communale de l'INSEE)",
    "statuts": "Statuts",
    "dispositifs": "Dispositifs nationaux",
    "beneficiaires_unites": "Unités de bénéficiaires",
    "types_liens": "Types de liens",
}

MESSAGES = {
    # -- the file ------------------------------------------------------------------------------
    "file_unreadable": "fichier illisible ({reason}).",
    "file_empty": "fichier vide: une fiche commence par un en-tête YAML entre deux lignes « --- » "
                  "(créez-en une avec « kb new \"Titre\" »).",
    "file_too_big": "fichier trop volumineux ({size:.1f} Mo, maximum {maximum:.0f} Mo): une fiche est un texte "
                    "de quelques pages; mettez les documents annexes en lien.",
    "file_binary": "fichier binaire (octet nul): une fiche est un texte Markdown en UTF-8.",
    "file_bom": "marque d'ordre des octets (BOM) en tête du fichier: enregistrez-le en UTF-8 sans BOM.",
    "file_not_utf8": "texte non UTF-8 à la colonne {column}{hint}: enregistrez le fichier en UTF-8.",
    "file_not_utf8.latin1": " (il semble enregistré en Latin-1/Windows-1252)",
    "file_extension": "le fichier doit avoir l'extension .md (renommez-le « {slug}.md »).",
    "file_name": "nom de fichier « {name} » invalide: le slug s'écrit en minuscules ASCII, chiffres et tirets, "
                 "de 3 à 80 caractères (renommez-le « {proposal}.md »).",
    "front_missing": "pas d'en-tête YAML: la première ligne doit être « --- », suivie des champs (titre, "
                     "resume…) puis d'une ligne « --- ».",
    "front_unclosed": "en-tête YAML non fermé: ajoutez une ligne « --- » après le dernier champ.",
    # -- the bank ------------------------------------------------------------------------------
    "path_missing": "fichier ou dossier introuvable.",
    "link_broken": "lien symbolique cassé (sa cible n'existe pas ou forme une boucle): supprimez-le ou "
                   "remplacez-le par la fiche.",
    "link_outside": "lien symbolique vers un fichier hors du dossier {folder}: copiez la fiche dans le dépôt au "
                    "lieu de la lier.",
    "case_clash": "nom de fichier qui ne diffère de {other} que par les majuscules: sous Windows et macOS ce "
                  "serait le même fichier; renommez ou fusionnez les deux fiches.",
    "slug_taken": "slug « {slug} » déjà utilisé par {other}: renommez l'un des fichiers.",
    "title_taken": "même titre que {other}: précisez ce qui distingue cette fiche.",
    # -- YAML ----------------------------------------------------------------------------------
    "yaml_line_separator": "séparateur de ligne Unicode (U+{code:04X}) à la colonne {column} de l'en-tête: "
                           "remplacez-le par une espace ou un vrai retour à la ligne.",
    "yaml_empty": "en-tête YAML vide: ajoutez les champs obligatoires (titre, resume, thematiques, publics, "
                  "territoire, porteur, debut, statut, mise_a_jour).",
    "yaml_not_mapping": "l'en-tête YAML doit être une suite de champs « clé: valeur ».",
    "yaml_key_not_scalar": "une clé s'écrit comme un simple mot suivi de « : » (par exemple « titre: … »), pas "
                           "comme une liste ni une structure.",
    "yaml_surrogate": "caractère invalide (moitié de paire UTF-16, « \\ud800 » à « \\udfff »): écrivez le "
                      "caractère lui-même.",
    "yaml_tag_unknown": "étiquette YAML non autorisée ({tag}): seules les valeurs simples (texte, nombre, liste, "
                        "dictionnaire) sont acceptées.",
    "yaml_tag": "étiquette YAML non autorisée ({tag}): seules les valeurs simples (texte, nombre, liste, "
                "dictionnaire) sont acceptées; retirez l'étiquette qui commence par « ! ».",
    "yaml_unclosed_quote": "guillemet ouvert mais jamais fermé: fermez-le à la fin du texte.",
    "yaml_tab": "tabulation dans l'en-tête YAML: indentez avec des espaces.",
    "yaml_invalid": "YAML invalide ({problem}{context}): vérifiez l'indentation et mettez entre guillemets les "
                    "textes qui contiennent « : » ou commencent par un caractère spécial.",
    "yaml_control_char": "caractère invisible interdit dans l'en-tête (U+{code:04X}, colonne {column}): "
                         "supprimez-le (il vient souvent d'un copier-coller).",
    "yaml_unreadable": "en-tête YAML illisible ({error}): vérifiez sa syntaxe.",
    "yaml_anchor": "ancres et alias YAML (& et *) non autorisés dans une fiche: écrivez chaque valeur en entier.",
    "yaml_too_deep": "valeurs YAML imbriquées sur plus de {depth} niveaux: une fiche ne contient que des textes, "
                     "des listes et des structures simples.",
    "key_duplicate": "clé « {name} » en double: gardez-en une seule.",
    # -- fields --------------------------------------------------------------------------------
    "hint_close": "vouliez-vous dire « {close} » ? ",
    "key_unknown": "clé inconnue « {champ} »: {hint}(les clés libres commencent par « x_ »; clés reconnues: "
                   "{keys}).",
    "subkey_unknown": "clé inconnue « {champ} »: {hint}(clés reconnues: {keys}).",
    "required_missing": "le champ obligatoire « {champ} » manque.",
    "required_empty": "le champ obligatoire « {champ} » est vide.",
    "text_is_list": "« {champ} » doit être un texte, pas une liste.",
    "text_is_mapping": "« {champ} » doit être un texte, pas une structure.",
    "text_is_boolean": "« {champ} » doit être un texte: mettez-le entre guillemets (yes, no, on, off, true, false "
                       "seuls sont lus comme oui/non).",
    "text_type": "« {champ} » doit être un texte.",
    "text_length": "« {champ} » fait {length} caractères; il en faut de {low} à {high}.",
    "list_is_scalar": "« {champ} » doit être une liste: écrivez « {key}: [{value}] ».",
    "texts_type": "« {champ} » doit être une liste de textes.",
    "slugs_type": "« {champ} » doit être une liste de valeurs du vocabulaire.",
    "slug_type": "« {champ} » doit être une valeur du vocabulaire, pas {kind}.",
    "slug_type.list": "une liste",
    "slug_type.mapping": "une structure",
    "slug_type.empty": "vide",
    "slug_type.value": "« {value} »",
    "slug_unknown": "« {value} » n'est pas une valeur de « {champ} »: {hint}(valeurs: {listing}).",
    "slug_unknown.long": "voir docs/format.md",
    "slug_duplicate": "« {value} » est en double dans « {champ} ».",
    "list_length": "« {champ} » a {count} valeurs; il en faut de {low} à {high}.",
    "month_format": "« {champ} » vaut « {value} »: écrivez l'année et le mois, AAAA-MM (par exemple 2022-03) ou "
                    "l'année seule, AAAA.",
    "month_future": "« {champ} » ({value}) est dans le futur: une fiche décrit une initiative déjà lancée ou "
                    "décidée; indiquez son début réel.",
    "year_too_old": "« {champ} » ({value}) est trop ancien: vérifiez l'année.",
    "date_not_in_calendar": "« {champ} » ({value}) n'est pas une date du calendrier: vérifiez le jour et le mois.",
    "date_format": "« {champ} » vaut « {value} »: écrivez une date AAAA-MM-JJ (par exemple {example}).",
    "review_due": "fiche relue le {value}, il y a plus de {months} mois (réglage « relecture_mois »): relisez-la, "
                  "mettez-la à jour puis changez « {champ} » (un avertissement, jamais une erreur).",
    "date_future": "« {champ} » ({value}) est dans le futur: indiquez la date de la dernière relecture.",
    "amount_type": "« {champ} » doit être un nombre d'euros sans espace ni symbole (par exemple 140000), pas "
                   "« {value} ».",
    "amount_negative": "« {champ} » doit être positif ou nul.",
    "amount_too_big": "« {champ} » dépasse mille milliards d'euros: vérifiez le montant (en euros, sans espace "
                      "ni symbole, par exemple 140000).",
    "mapping_type": "« {champ} » doit être une structure avec les clés {keys}.",
    # -- territoire ----------------------------------------------------------------------------
    "territoire_required": "« {champ} » est obligatoire.",
    "densite_recommended": "« {champ} » est recommandé (grille communale de densité de l'INSEE: {densites}).",
    "departements_mapping": "« {champ} » doit être une liste de codes entre guillemets, par exemple [\"26\"].",
    "departements_scalar": "« {champ} » doit être une liste: écrivez « departements: [\"{value}\"] ».",
    "departement_number": "code de département {code} écrit comme un nombre: écrivez-le entre guillemets, "
                          "« \"{fixed}\" ».",
    "departement_unknown": "« {code} » n'est pas un code INSEE de département{hint}: \"01\" à \"95\", \"2A\", "
                           "\"2B\", \"971\" à \"976\".",
    "departement_unknown.corse": " (Corse: « 2A » ou « 2B »)",
    "departement_unknown.digit": " (écrivez « 0{code} »)",
    "departement_duplicate": "département « {code} » en double.",
    "population_type": "« {champ} » doit être un nombre entier d'habitants, sans espace (par exemple 18500).",
    "population_too_big": "« {champ} » ({value}) dépasse {maximum} habitants: vérifiez le nombre.",
    # -- contact and links ---------------------------------------------------------------------
    "email_invalid": "« {champ} » « {value} » n'est pas une adresse électronique (nom@domaine.fr).",
    "site_scheme": "« {champ} » doit commencer par https:// ou http://.",
    "liens_type": "« {champ} » doit être une liste de « {{titre: …, url: https://…}} » (et, au choix, "
                  "« type: … »).",
    "lien_incomplete": "chaque lien a un « titre » et une « url ».",
    "url_scheme": "l'adresse « {value} » doit commencer par https:// ou http://.",
    # -- costs (couts, financements, budget_eur) ------------------------------------------------
    "count_type": "« {champ} » doit être un nombre sans espace ni symbole, avec un point pour les décimales "
                  "(par exemple {example}), pas « {value} »{hint}.",
    "count_integer": "« {champ} » doit être un nombre entier sans espace ni symbole (par exemple {example}), "
                     "pas « {value} »{hint}.",
    "count_type.comma": " (écrivez « {fixed} »)",
    "count_too_big": "« {champ} » ({value}) dépasse {maximum}: vérifiez le nombre.",
    "annee_format": "« {champ} » vaut « {value} »: écrivez l'année des chiffres, AAAA (par exemple {example}).",
    "annee_future": "« {champ} » ({value}) est dans le futur: indiquez l'année à laquelle les chiffres se "
                    "rapportent.",
    "budget_deprecated": "« {champ} » est un ancien champ, dont le sens variait d'une fiche à l'autre: décrivez "
                         "les coûts dans « couts », qui sépare l'investissement du fonctionnement, par exemple "
                         "« couts: {{investissement_eur: {value}, annee: {year}}} » pour un coût ponctuel ou "
                         "« couts: {{fonctionnement_eur_an: {value}, annee: {year}}} » pour un coût annuel, puis "
                         "retirez « {champ} ».",
    "budget_deprecated_couts": "« {champ} » est un ancien champ, que « couts » remplace: vérifiez que « couts » "
                               "reprend son montant, puis retirez « {champ} ».",
    "financements_type": "« {champ} » doit être une liste: chaque financement est un texte (« DSIL ») ou "
                         "« {{source: DSIL, montant_eur: 60000}} ».",
    "financement_source": "« {champ} »: un financement écrit comme une structure a une « source », par "
                          "exemple « {{source: DSIL, montant_eur: 60000}} ».",
    "financements_exceed": "les montants de « {champ} » ({funded}) dépassent le coût indiqué dans « couts » "
                           "(investissement_eur + fonctionnement_eur_an = {total}): vérifiez les montants ou "
                           "complétez « couts ».",
    "financements_without_costs": "« {champ} » donne des montants ({funded}) mais « couts » n'indique ni "
                                  "investissement_eur ni fonctionnement_eur_an: ajoutez-les, pour que la part "
                                  "financée et le reste à charge soient calculés.",
    # -- body ----------------------------------------------------------------------------------
    "section_spelling": "titre de section « ## {title} »: écrivez « ## {canonical} ».",
    "section_unknown": "section inconnue « ## {title} »: elle sera affichée mais n'est pas une section du "
                       "format.{hint} (Sections: {known}; utilisez ### pour une sous-partie.)",
    "section_unknown.close": " Vouliez-vous dire « ## {close} » ?",
    "section_level": "« {line} » est un titre de niveau {level}: les sections s'écrivent « ## {title} ».",
    "section_as_label": "« {line} » ressemble à une section: écrivez le titre « ## {title} » sur sa propre ligne.",
    "text_before_sections": "texte avant la première section: placez-le sous « ## Contexte ».",
    "section_duplicate": "section « ## {title} » en double (déjà ligne {first}): fusionnez-les.",
    "section_order": "section « ## {title} » mal placée: elle vient avant « ## {previous} » (ordre: {order}).",
    "section_missing": "section obligatoire « ## {title} » absente.",
    "section_recommended": "section recommandée « ## {title} » absente: elle aide un autre territoire à "
                           "reproduire l'initiative.",
    "section_empty": "section obligatoire « ## {title} » vide: décrivez-la en quelques phrases.",
    "raw_html": "HTML brut « {html} »: il ne sera pas interprété; écrivez en Markdown.",
    "placeholder_front": "texte à compléter (« {marker} ») dans l'en-tête.",
    "placeholder_body": "texte à compléter (« {marker} ») dans le corps.",
}

# the same problem as the contribution form shows it: no line numbers, no YAML syntax
FORM_MESSAGES = {
    "section_duplicate": "section « ## {title} » en double: fusionnez-les.",
    "list_is_scalar": "« {champ} » doit être une liste.",
    "departements_scalar": "« {champ} » doit être une liste de codes de départements.",
    "count_type": "« {champ} » doit être un nombre (par exemple {example}), pas « {value} ».",
    "count_integer": "« {champ} » doit être un nombre entier (par exemple {example}), pas « {value} ».",
    "annee_format": "« {champ} » doit être une année, par exemple {example}.",
    "budget_deprecated": "« {champ} » est un ancien champ : indiquez plutôt l'investissement et le coût de "
                         "fonctionnement annuel dans « Coûts et moyens ».",
    "budget_deprecated_couts": "« {champ} » est un ancien champ, remplacé par « Coûts et moyens » : retirez-le.",
    "financements_type": "« {champ} » doit être une liste de financements.",
    "financement_source": "chaque financement a une source (par exemple « DSIL | 60000 »).",
    "financements_exceed": "les montants des financements ({funded}) dépassent l'investissement et le coût de "
                           "fonctionnement annuel réunis ({total}) : vérifiez-les.",
    "financements_without_costs": "les financements ont des montants ({funded}) mais ni l'investissement ni le "
                                  "coût de fonctionnement annuel ne sont indiqués : ajoutez-les dans « Coûts et "
                                  "moyens ».",
    "review_due": "fiche relue il y a plus de {months} mois : relisez-la et mettez à jour sa date.",
    "slug_taken": "une fiche de la banque porte déjà l'identifiant « {slug} » ({other}) : changez le titre "
                  "ou l'identifiant.",
    "title_taken": "une fiche de la banque porte déjà ce titre ({other}) : précisez ce qui distingue celle-ci.",
}


def text(code: str, /, **values) -> str:
    """The message ``code`` with its placeholders filled."""
    return MESSAGES[code].format(**values)


def label(field: str) -> str:
    """The form label of a field path ("territoire.departements" → "Départements"); a section
    ("section:Objectifs") is named by its title; an unknown key by itself."""
    if field.startswith("section:"):
        return field[len("section:"):]
    return LABELS.get(field, field)


def field_of(where: tuple | str) -> str:
    """The field path of a key path: list indices left out (("liens", 2, "url") → "liens.url")."""
    if isinstance(where, str):
        return where
    return ".".join(str(part) for part in where if not isinstance(part, int))


def render(code: str, where: tuple | str = (), /, **values) -> tuple[str, str, str]:
    """(message for ``kb validate``, message for the form, field path) of a problem about
    ``where`` (a key path such as ("territoire", "departements", 0), or "section:Contexte");
    a ``champ`` value names the field in the message instead of the key path."""
    field = field_of(where)
    path = where if isinstance(where, str) else ".".join(map(str, where))
    path = values.pop("champ", path)  # a message may name the field otherwise than its path
    message = MESSAGES[code].format(champ=path, **values)
    form = FORM_MESSAGES.get(code, MESSAGES[code]).format(champ=label(field), **values)
    return message, form, field
