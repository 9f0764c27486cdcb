"""Parse and validate one fiche file → a :class:`Fiche` and the problems found.

Every rule of the contract (FICHE_FORMAT.md) is checked here, and every problem of a file is
reported, each with its line and a fix, so an editor corrects a fiche in one pass. Bank-wide
rules (duplicate slugs and titles) live in :mod:`kb.bank`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.reader import ReaderError

from kb.problems import ERROR, WARNING, Problem
from kb.textnorm import fold, slugify
from kb.vocab import suggest, vocab

MAX_FILE_BYTES = 1_000_000
MAX_YAML_DEPTH = 20
PLACEHOLDER = "À COMPLÉTER"
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
DEPARTEMENT_RE = re.compile(r"^(?:0[1-9]|1[0-9]|2[1-9]|[3-8][0-9]|9[0-5]|2A|2B|97[1-6])$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MONTH_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
HEADING_RE = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
RAW_HTML_RE = re.compile(r"<\s*/?\s*([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?/?\s*>")
PSEUDO_HEADING_RE = re.compile(r"^\s*(?:\*\*|__)?\s*([^*_:]{3,40}?)\s*(?:\*\*|__)?\s*:?\s*(?:\*\*|__)?\s*$")
UNICODE_LINE_BREAK_RE = re.compile("[\x85\u2028\u2029]")
# YAML tags a fiche may use: !!str (forces text); any other tag is refused before construction
SAFE_TAGS = {("!!", "str"), (None, "tag:yaml.org,2002:str")}
NESTING_START = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
                 yaml.FlowSequenceStartToken)
NESTING_END = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)
# beyond these a value is a typo, and SQLite cannot store integers above 2**63
MAX_BUDGET_EUR = 1e12
MAX_POPULATION = 100_000_000


FIELDS = {
    # key: (required, kind)
    "titre": (True, "text"),
    "resume": (True, "text"),
    "thematiques": (True, "slugs"),
    "publics": (True, "slugs"),
    "territoire": (True, "territoire"),
    "porteur": (True, "text"),
    "debut": (True, "month"),
    "statut": (True, "slug"),
    "mise_a_jour": (True, "date"),
    "partenaires": (False, "texts"),
    "dispositifs": (False, "slugs"),
    "budget_eur": (False, "amount"),
    "financements": (False, "texts"),
    "contact": (False, "contact"),
    "liens": (False, "liens"),
    "mots_cles": (False, "texts"),
    "licence": (False, "text"),
}
TERRITOIRE_KEYS = ("nom", "type", "densite", "departements", "population")
CONTACT_KEYS = ("nom", "fonction", "email", "telephone", "site")
LIEN_KEYS = ("titre", "url")
DEFAULT_LICENCE = "etalab-2.0"


@dataclass
class Section:
    title: str
    text: str
    line: int


@dataclass
class Fiche:
    """A valid fiche: its front matter, its body and the sections of the body."""

    slug: str
    path: str
    titre: str
    resume: str
    thematiques: list[str]
    publics: list[str]
    territoire: dict
    porteur: str
    debut: str
    statut: str
    mise_a_jour: str
    body: str
    sections: list[Section]
    partenaires: list[str] = field(default_factory=list)
    dispositifs: list[str] = field(default_factory=list)
    budget_eur: float | None = None
    financements: list[str] = field(default_factory=list)
    contact: dict = field(default_factory=dict)
    liens: list[dict] = field(default_factory=list)
    mots_cles: list[str] = field(default_factory=list)
    licence: str = DEFAULT_LICENCE
    extras: dict = field(default_factory=dict)
    titre_line: int = 2

    @property
    def axes(self) -> list[str]:
        axe_of = vocab().axe_of
        return sorted({axe_of[t] for t in self.thematiques})

    @property
    def densite(self) -> str | None:
        return self.territoire.get("densite")

    @property
    def densite_niveau(self) -> str | None:
        return vocab().densite_regroupement.get(self.densite) if self.densite else None

    @property
    def departements(self) -> list[str]:
        return list(self.territoire.get("departements", []))

    @property
    def regions(self) -> list[str]:
        region_of = vocab().region_of
        return sorted({region_of[d] for d in self.departements if d in region_of})

    @property
    def debut_annee(self) -> int:
        return int(self.debut[:4])

    @property
    def population_tranche(self) -> str | None:
        return vocab().population_tranche(self.territoire.get("population"))

    def section(self, title: str) -> str:
        return next((s.text for s in self.sections if s.title == title), "")


# ----------------------------------------------------------------------------- reading


class _FrontMatterError(Exception):
    def __init__(self, mark, message: str):
        super().__init__(message)
        self.mark = mark
        self.message = message


class _FrontMatterConstructor(yaml.constructor.SafeConstructor):
    """Safe construction for a front matter: keys stay the text the editor wrote (``yes:`` is
    the key "yes", not True; ``<<:`` is not a merge), and a scalar that looks like a date or a
    number but is not one (2022-02-30, a 5000-digit number) stays text for the validator."""

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, yaml.MappingNode):
            raise _FrontMatterError(node.start_mark, "l'en-tête YAML doit être une suite de champs « clé: valeur ».")
        mapping = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _FrontMatterError(key_node.start_mark, "une clé s'écrit comme un simple mot suivi de « : » "
                                                             "(par exemple « titre: … »), pas comme une liste ni "
                                                             "une structure.")
            mapping[_no_surrogates(key_node, key_node.value)] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_str(self, node):
        return _no_surrogates(node, super().construct_yaml_str(node))

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            return node.value

    def construct_yaml_int(self, node):
        try:
            return super().construct_yaml_int(node)
        except (ValueError, OverflowError):
            return node.value


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _no_surrogates(node, text: str) -> str:
    """A "\\ud800" escape gives a string that no UTF-8 file or database can hold."""
    if _SURROGATE_RE.search(text):
        raise _FrontMatterError(node.start_mark, "caractère invalide (moitié de paire UTF-16, « \\ud800 » à "
                                                 "« \\udfff »): écrivez le caractère lui-même.")
    return text


_FrontMatterConstructor.add_constructor("tag:yaml.org,2002:str", _FrontMatterConstructor.construct_yaml_str)
_FrontMatterConstructor.add_constructor("tag:yaml.org,2002:timestamp",
                                        _FrontMatterConstructor.construct_yaml_timestamp)
_FrontMatterConstructor.add_constructor("tag:yaml.org,2002:int", _FrontMatterConstructor.construct_yaml_int)


class _FrontMatterLoader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer,
                         _FrontMatterConstructor, yaml.resolver.Resolver):
    """Pure-Python loader: slower, but its errors carry the precise messages reported to editors."""

    def __init__(self, stream):
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _FrontMatterConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)


_FAST = getattr(yaml, "__with_libyaml__", False)
if _FAST:
    class _CFrontMatterLoader(yaml.cyaml.CParser, _FrontMatterConstructor, yaml.resolver.Resolver):
        """libyaml loader: the same construction, ten times faster, for front matters that parse."""

        def __init__(self, stream):
            yaml.cyaml.CParser.__init__(self, stream)
            _FrontMatterConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)


def parse_file(path: Path | str, today: dt.date | None = None) -> tuple[Fiche | None, list[Problem]]:
    """Read and validate one file. The fiche is None when any error was found."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem(str(path), 1, ERROR, f"fichier illisible ({exc.strerror or exc}).")]
    return parse_bytes(data, path, today)


def parse_bytes(data: bytes, path: Path | str, today: dt.date | None = None) -> tuple[Fiche | None, list[Problem]]:
    checker = _Checker(str(path), today or dt.date.today())
    fiche = checker.run(data, Path(path))
    problems = sorted(set(checker.problems), key=lambda p: (p.line, p.severity, p.message))
    if any(p.severity == ERROR for p in problems):
        return None, problems
    return fiche, problems


class _Checker:
    def __init__(self, path: str, today: dt.date):
        self.path = path
        self.today = today
        self.problems: list[Problem] = []
        self.lines: dict[tuple, int] = {}
        self.fm_first_line = 2
        self.fm_last_line = 1

    # -- reporting ---------------------------------------------------------------------------

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, ERROR, message))

    def warning(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, WARNING, message))

    def line_of(self, *key) -> int:
        """File line of a front-matter key path, falling back to its parent, then the block."""
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.fm_last_line

    # -- stages ------------------------------------------------------------------------------

    def run(self, data: bytes, path: Path) -> Fiche | None:
        text = self.decode(data)
        if text is None:
            return None
        self.check_file_name(path)
        split = self.split_front_matter(text)
        if split is None:
            return None
        front_text, body, body_first_line = split
        front = self.load_yaml(front_text)
        sections = self.check_body(body, body_first_line)
        if front is None:
            return None
        values = self.check_front(front)
        self.check_placeholders(front_text, body, body_first_line)
        if any(p.severity == ERROR for p in self.problems):
            return None
        return Fiche(slug=path.stem, path=str(path), body=body, sections=sections,
                     titre_line=self.line_of("titre"), **values)

    def decode(self, data: bytes) -> str | None:
        if not data.strip():
            self.error(1, "fichier vide: une fiche commence par un en-tête YAML entre deux lignes « --- » "
                          "(créez-en une avec « kb new \"Titre\" »).")
            return None
        if len(data) > MAX_FILE_BYTES:
            self.error(1, f"fichier trop volumineux ({len(data) / 1e6:.1f} Mo, maximum "
                          f"{MAX_FILE_BYTES / 1e6:.0f} Mo): une fiche est un texte de quelques pages; "
                          "mettez les documents annexes en lien.")
            return None
        if b"\x00" in data:
            line = data[: data.index(b"\x00")].count(b"\n") + 1
            self.error(line, "fichier binaire (octet nul): une fiche est un texte Markdown en UTF-8.")
            return None
        if data.startswith(b"\xef\xbb\xbf"):
            self.warning(1, "marque d'ordre des octets (BOM) en tête du fichier: enregistrez-le en "
                            "UTF-8 sans BOM.")
            data = data[3:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            hint = ""
            try:
                data.decode("cp1252")
                # only when no UTF-8 accent came before: a UTF-8 file with one broken byte is not Latin-1
                if data[: exc.start].isascii():
                    hint = " (il semble enregistré en Latin-1/Windows-1252)"
            except UnicodeDecodeError:
                pass
            self.error(line, f"texte non UTF-8 à la colonne {column}{hint}: enregistrez le fichier en UTF-8.")
            return None
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def split_front_matter(self, text: str) -> tuple[str, str, int] | None:
        lines = text.split("\n")
        if lines[0].strip() != "---":
            self.error(1, "pas d'en-tête YAML: la première ligne doit être « --- », suivie des champs "
                          "(titre, resume…) puis d'une ligne « --- ».")
            return None
        for index in range(1, len(lines)):
            if lines[index].strip() in ("---", "..."):
                self.fm_last_line = index + 1
                front = "\n".join(lines[1:index])
                body = "\n".join(lines[index + 1:])
                return front, body, index + 2
        self.error(1, "en-tête YAML non fermé: ajoutez une ligne « --- » après le dernier champ.")
        return None

    def load_yaml(self, front_text: str) -> dict | None:
        offset = self.fm_first_line
        separator = UNICODE_LINE_BREAK_RE.search(front_text)
        if separator:
            # YAML breaks lines there (editors mostly do not): the fields after it would be misread
            before = front_text[:separator.start()]
            self.error(before.count("\n") + offset,
                       f"séparateur de ligne Unicode (U+{ord(separator.group()):04X}) à la colonne "
                       f"{separator.start() - (before.rfind(chr(10)) + 1) + 1} de l'en-tête: remplacez-le par "
                       "une espace ou un vrai retour à la ligne.")
            return None
        fast = self.load_yaml_fast(front_text) if _FAST else None
        if fast is not None:
            return fast or None
        try:
            if not self.scan_tokens(front_text):
                return None
            loader = _FrontMatterLoader(front_text)
            try:
                node = loader.get_single_node()
                if node is None:
                    self.error(offset - 1, "en-tête YAML vide: ajoutez les champs obligatoires "
                                           "(titre, resume, thematiques, publics, territoire, porteur, "
                                           "debut, statut, mise_a_jour).")
                    return None
                self.index_lines(node, ())
                data = loader.construct_document(node)
            finally:
                loader.dispose()
        except _FrontMatterError as exc:
            self.error(exc.mark.line + offset, exc.message)
            return None
        except yaml.MarkedYAMLError as exc:
            problem = (exc.problem or "").strip()
            context = exc.context or ""
            mark = exc.problem_mark or exc.context_mark
            if ("end of stream" in problem or "<stream end>" in problem) and exc.context_mark:
                mark = exc.context_mark  # the end of the block says nothing: point at what was left open
            line = mark.line + offset if mark else offset
            if "could not determine a constructor" in problem:
                tag = problem.split("tag", 1)[-1].strip(" '")
                message = (f"étiquette YAML non autorisée ({tag}): seules les valeurs simples (texte, "
                           "nombre, liste, dictionnaire) sont acceptées.")
            elif "quoted scalar" in context and "end of stream" in problem:
                message = "guillemet ouvert mais jamais fermé: fermez-le à la fin du texte."
            elif "'\\t'" in problem or "'\t'" in problem:
                message = "tabulation dans l'en-tête YAML: indentez avec des espaces."
            else:
                message = (f"YAML invalide ({problem}{', ' + exc.context if exc.context else ''}): "
                           "vérifiez l'indentation et mettez entre guillemets les textes qui contiennent "
                           "« : » ou commencent par un caractère spécial.")
            self.error(line, message)
            return None
        except ReaderError as exc:
            before = front_text[:exc.position]
            column = exc.position - (before.rfind("\n") + 1) + 1
            code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
            self.error(before.count("\n") + offset,
                       f"caractère invisible interdit dans l'en-tête (U+{code:04X}, colonne {column}): "
                       "supprimez-le (il vient souvent d'un copier-coller).")
            return None
        except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError, KeyError) as exc:
            # not expected after the token checks and the loader below; a fiche never crashes the tool
            self.error(offset, f"en-tête YAML illisible ({type(exc).__name__}): vérifiez sa syntaxe.")
            return None
        if not isinstance(data, dict):
            self.error(offset, "l'en-tête YAML doit être une suite de champs « clé: valeur ».")
            return None
        return data

    def load_yaml_fast(self, front_text: str) -> dict | bool | None:
        """The front matter through libyaml: the mapping, False when a problem was reported,
        or None when libyaml fails, so the pure-Python path reports the error precisely."""
        problems_before = len(self.problems)
        lines_before = dict(self.lines)
        try:
            if not self.scan_tokens(front_text, yaml.CSafeLoader):
                return False
            loader = _CFrontMatterLoader(front_text)
            try:
                node = loader.get_single_node()
                if node is None or not isinstance(node, yaml.MappingNode):
                    raise yaml.YAMLError("not a mapping")
                self.index_lines(node, ())
                data = loader.construct_document(node)
            finally:
                loader.dispose()
        except _FrontMatterError as exc:
            self.error(exc.mark.line + self.fm_first_line, exc.message)
            return False
        except Exception:  # noqa: BLE001 - any libyaml failure: start again in pure Python
            del self.problems[problems_before:]
            self.lines = lines_before
            return None
        return data if isinstance(data, dict) else None

    def scan_tokens(self, front_text: str, loader=yaml.SafeLoader) -> bool:
        """Refuse, before anything is built: anchors and aliases (the "billion laughs" bomb),
        tags other than ``!!str`` (object construction) and nesting deeper than MAX_YAML_DEPTH
        (PyYAML's scanner slows down quadratically and its composer recurses with depth)."""
        depth = 0
        for token in yaml.scan(front_text, Loader=loader):
            line = token.start_mark.line + self.fm_first_line
            if isinstance(token, (yaml.AliasToken, yaml.AnchorToken)):
                self.error(line, "ancres et alias YAML (& et *) non autorisés dans une fiche: "
                                 "écrivez chaque valeur en entier.")
                return False
            if isinstance(token, yaml.TagToken) and token.value not in SAFE_TAGS:
                handle, suffix = token.value
                self.error(line, f"étiquette YAML non autorisée ({handle or ''}{suffix}): seules les valeurs "
                                 "simples (texte, nombre, liste, dictionnaire) sont acceptées; retirez "
                                 "l'étiquette qui commence par « ! ».")
                return False
            if isinstance(token, NESTING_START):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    self.error(line, f"valeurs YAML imbriquées sur plus de {MAX_YAML_DEPTH} niveaux: une fiche "
                                     "ne contient que des textes, des listes et des structures simples.")
                    return False
            elif isinstance(token, NESTING_END):
                depth -= 1
        return True

    def index_lines(self, node, key: tuple) -> None:
        self.lines[key] = node.start_mark.line + self.fm_first_line
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
                line = key_node.start_mark.line + self.fm_first_line
                if name in seen:
                    self.error(line, f"clé « {name} » en double: gardez-en une seule.")
                seen.add(name)
                self.index_lines(value_node, key + (name,))
                self.lines[key + (name,)] = line
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.index_lines(item, key + (index,))

    # -- front matter --------------------------------------------------------------------------

    def check_front(self, front: dict) -> dict:
        values: dict = {"extras": {}}
        for key, value in front.items():
            key = str(key)
            if key.startswith("x_"):
                values["extras"][key] = value
                continue
            if key not in FIELDS:
                close = suggest(key, FIELDS)
                hint = f"vouliez-vous dire « {close} » ? " if close else ""
                self.error(self.line_of(key), f"clé inconnue « {key} »: {hint}(les clés libres commencent "
                                              f"par « x_ »; clés reconnues: {', '.join(FIELDS)}).")
        for key, (required, kind) in FIELDS.items():
            value = front.get(key)
            if value is None or value == "" or value == []:
                if required:
                    how = "est vide" if key in front else "manque"
                    self.error(self.line_of(key) if key in front else self.fm_last_line,
                               f"le champ obligatoire « {key} » {how}.")
                continue
            checked = getattr(self, f"check_{kind}")(key, value)
            if checked is not None:
                values[key] = checked
        values.setdefault("licence", DEFAULT_LICENCE)
        return values

    def check_text(self, key: str, value, *path) -> str | None:
        where = (key,) + path
        label = ".".join(map(str, where))
        if isinstance(value, (list, dict)):
            self.error(self.line_of(*where), f"« {label} » doit être un texte, pas une "
                                              f"{'liste' if isinstance(value, list) else 'structure'}.")
            return None
        if isinstance(value, bool):
            self.error(self.line_of(*where), f"« {label} » doit être un texte: mettez-le entre guillemets "
                                              "(yes, no, on, off, true, false seuls sont lus comme oui/non).")
            return None
        if not isinstance(value, (str, int, float)):
            self.error(self.line_of(*where), f"« {label} » doit être un texte.")
            return None
        text = str(value).strip()
        bounds = {"titre": (10, 120), "resume": (50, 400)}
        if not path and key in bounds:
            low, high = bounds[key]
            if not low <= len(text) <= high:
                self.error(self.line_of(key), f"« {key} » fait {len(text)} caractères; il en faut de "
                                              f"{low} à {high}.")
        return " ".join(text.split()) if key in ("titre", "resume") else text

    def check_texts(self, key: str, value) -> list[str] | None:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            self.error(self.line_of(key), f"« {key} » doit être une liste: écrivez « {key}: [{value}] ».")
            return None
        if not isinstance(value, list):
            self.error(self.line_of(key), f"« {key} » doit être une liste de textes.")
            return None
        out = [self.check_text(key, item, index) for index, item in enumerate(value)]
        return [t for t in out if t]

    def check_slug_value(self, key: str, value, choices: dict, where: tuple, aliases=None) -> str | None:
        if not isinstance(value, str):
            kind = ("une liste" if isinstance(value, list) else "une structure" if isinstance(value, dict)
                    else "vide" if value is None else f"« {value} »")
            self.error(self.line_of(*where), f"« {'.'.join(map(str, where))} » doit être une valeur du "
                                              f"vocabulaire, pas {kind}.")
            return None
        if value in choices:
            return value
        if PLACEHOLDER in value:
            return None  # reported once, as a placeholder
        close = suggest(value, choices, aliases)
        hint = f"vouliez-vous dire « {close} » ? " if close else ""
        listing = ", ".join(choices) if len(choices) <= 12 else "voir kb/data/vocab.yaml"
        self.error(self.line_of(*where), f"« {value} » n'est pas une valeur de « {key} »: {hint}"
                                          f"(valeurs: {listing}).")
        return None

    VOCABS = {"thematiques": "thematiques", "publics": "publics", "dispositifs": "dispositifs",
              "statut": "statuts"}
    LIST_BOUNDS = {"thematiques": (1, 5), "publics": (1, 6)}

    def check_slugs(self, key: str, value) -> list[str] | None:
        choices = getattr(vocab(), self.VOCABS[key])
        if isinstance(value, str):
            self.error(self.line_of(key), f"« {key} » doit être une liste: écrivez « {key}: [{value}] ».")
            return None
        if not isinstance(value, list):
            self.error(self.line_of(key), f"« {key} » doit être une liste de valeurs du vocabulaire.")
            return None
        out = []
        for index, item in enumerate(value):
            slug = self.check_slug_value(key, item, choices, (key, index))
            if slug in out:
                self.error(self.line_of(key, index), f"« {slug} » est en double dans « {key} ».")
            elif slug:
                out.append(slug)
        low, high = self.LIST_BOUNDS.get(key, (0, 1000))
        if not low <= len(value) <= high:
            self.error(self.line_of(key), f"« {key} » a {len(value)} valeurs; il en faut de {low} à {high}.")
        return out

    def check_slug(self, key: str, value) -> str | None:
        return self.check_slug_value(key, value, getattr(vocab(), self.VOCABS[key]), (key,))

    def check_file_name(self, path: Path) -> None:
        slug = path.stem
        if path.suffix != ".md":
            self.error(1, f"le fichier doit avoir l'extension .md (renommez-le « {slug}.md »).")
        if not (3 <= len(slug) <= 80 and SLUG_RE.match(slug)):
            proposal = slugify(slug) or "titre-de-la-fiche"
            self.error(1, f"nom de fichier « {path.name} » invalide: le slug s'écrit en minuscules ASCII, "
                          f"chiffres et tirets, de 3 à 80 caractères (renommez-le « {proposal}.md »).")

    def check_month(self, key: str, value) -> str | None:
        text = value.isoformat()[:7] if isinstance(value, dt.date) else str(value).strip()
        match = MONTH_RE.match(text)
        if not match or (match.group(2) and not 1 <= int(match.group(2)) <= 12):
            self.error(self.line_of(key), f"« {key} » vaut « {value} »: écrivez l'année et le mois, "
                                          "AAAA-MM (par exemple 2022-03) ou l'année seule, AAAA.")
            return None
        year, month = int(match.group(1)), int(match.group(2) or 1)
        if (year, month) > (self.today.year, self.today.month):
            self.error(self.line_of(key), f"« {key} » ({text}) est dans le futur: une fiche décrit une "
                                          "initiative déjà lancée ou décidée; indiquez son début réel.")
            return None
        if year < 1980:
            self.error(self.line_of(key), f"« {key} » ({text}) est trop ancien: vérifiez l'année.")
            return None
        return text

    def check_date(self, key: str, value) -> str | None:
        if isinstance(value, dt.datetime):
            value = value.date()
        if not isinstance(value, dt.date):
            try:
                value = dt.date.fromisoformat(str(value).strip())
            except ValueError:
                if re.match(r"^\d{4}-\d{2}-\d{2}$", str(value).strip()):
                    self.error(self.line_of(key), f"« {key} » ({str(value).strip()}) n'est pas une date du "
                                                  "calendrier: vérifiez le jour et le mois.")
                else:
                    self.error(self.line_of(key), f"« {key} » vaut « {value} »: écrivez une date AAAA-MM-JJ "
                                                  f"(par exemple {self.today.isoformat()}).")
                return None
        if value > self.today:
            self.error(self.line_of(key), f"« {key} » ({value.isoformat()}) est dans le futur: indiquez "
                                          "la date de la dernière relecture.")
            return None
        return value.isoformat()

    def check_amount(self, key: str, value) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(self.line_of(key), f"« {key} » doit être un nombre d'euros sans espace ni symbole "
                                          f"(par exemple 140000), pas « {value} ».")
            return None
        if value < 0 or value != value:
            self.error(self.line_of(key), f"« {key} » doit être positif ou nul.")
            return None
        if value > MAX_BUDGET_EUR:
            self.error(self.line_of(key), f"« {key} » dépasse mille milliards d'euros: vérifiez le montant "
                                          "(en euros, sans espace ni symbole, par exemple 140000).")
            return None
        return value

    def check_mapping(self, key: str, value, keys: tuple, where: tuple) -> dict | None:
        label = ".".join(map(str, where))
        if not isinstance(value, dict):
            self.error(self.line_of(*where), f"« {label} » doit être une structure avec les clés "
                                              f"{', '.join(keys)}.")
            return None
        for sub in value:
            if sub not in keys:
                close = suggest(str(sub), keys)
                hint = f"vouliez-vous dire « {close} » ? " if close else ""
                self.error(self.line_of(*where, sub), f"clé inconnue « {label}.{sub} »: {hint}"
                                                       f"(clés reconnues: {', '.join(keys)}).")
        return value

    def check_territoire(self, key: str, value) -> dict | None:
        value = self.check_mapping(key, value, TERRITOIRE_KEYS, (key,))
        if value is None:
            return None
        v = vocab()
        out: dict = {}
        for sub in ("nom", "type", "departements"):
            if value.get(sub) in (None, "", []):
                self.error(self.line_of(key, sub) if sub in value else self.line_of(key),
                           f"« territoire.{sub} » est obligatoire.")
        if value.get("nom") not in (None, ""):
            out["nom"] = self.check_text(key, value["nom"], "nom")
        if value.get("type") not in (None, ""):
            out["type"] = self.check_slug_value("territoire.type", value["type"], v.types_territoire,
                                                (key, "type"), v.type_aliases)
        if value.get("densite") in (None, ""):
            self.warning(self.line_of(key), "« territoire.densite » est recommandé (grille communale de "
                                            f"densité de l'INSEE: {', '.join(v.densite)}).")
        else:
            out["densite"] = self.check_slug_value("territoire.densite", value["densite"], v.densite,
                                                   (key, "densite"))
        departements = value.get("departements")
        if departements not in (None, "", []):
            if isinstance(departements, dict):
                departements = []
                self.error(self.line_of(key, "departements"), "« territoire.departements » doit être une liste "
                                                              "de codes entre guillemets, par exemple [\"26\"].")
            elif not isinstance(departements, list):
                departements = [departements]
                self.error(self.line_of(key, "departements"),
                           f"« territoire.departements » doit être une liste: écrivez "
                           f"« departements: [\"{value['departements']}\"] ».")
            codes = []
            for index, code in enumerate(departements):
                where = (key, "departements", index)
                if isinstance(code, int) and not isinstance(code, bool):
                    fixed = f"{code:02d}"
                    self.error(self.line_of(*where), f"code de département {code} écrit comme un nombre: "
                                                     f"écrivez-le entre guillemets, « \"{fixed}\" ».")
                elif isinstance(code, str) and PLACEHOLDER in code:
                    continue
                elif not isinstance(code, str) or not DEPARTEMENT_RE.match(code):
                    hint = ""
                    if isinstance(code, str) and code.strip() in ("20", "2a", "2b"):
                        hint = " (Corse: « 2A » ou « 2B »)"
                    elif isinstance(code, str) and code.isdigit() and len(code) == 1:
                        hint = f" (écrivez « 0{code} »)"
                    self.error(self.line_of(*where), f"« {code} » n'est pas un code INSEE de département"
                                                     f"{hint}: \"01\" à \"95\", \"2A\", \"2B\", \"971\" à \"976\".")
                elif code in codes:
                    self.error(self.line_of(*where), f"département « {code} » en double.")
                else:
                    codes.append(code)
            out["departements"] = codes
        population = value.get("population")
        if population is not None:
            if isinstance(population, bool) or not isinstance(population, int) or population <= 0:
                self.error(self.line_of(key, "population"), "« territoire.population » doit être un nombre "
                                                            "entier d'habitants, sans espace (par exemple 18500).")
            elif population > MAX_POPULATION:
                self.error(self.line_of(key, "population"), f"« territoire.population » ({population}) dépasse "
                                                            f"{MAX_POPULATION:,} habitants: vérifiez le nombre."
                                                            .replace(",", " "))
            else:
                out["population"] = population
        return out

    def check_contact(self, key: str, value) -> dict | None:
        value = self.check_mapping(key, value, CONTACT_KEYS, (key,))
        if value is None:
            return None
        out = {}
        for sub in CONTACT_KEYS:
            if value.get(sub) in (None, ""):
                continue
            text = self.check_text(key, value[sub], sub)
            if text is None:
                continue
            if sub == "email" and not EMAIL_RE.match(text):
                self.error(self.line_of(key, sub), f"« contact.email » « {text} » n'est pas une adresse "
                                                   "électronique (nom@domaine.fr).")
            elif sub == "site" and not self.valid_url(text):
                self.error(self.line_of(key, sub), "« contact.site » doit commencer par https:// ou http://.")
            else:
                out[sub] = text
        return out

    def check_liens(self, key: str, value) -> list[dict] | None:
        if not isinstance(value, list):
            self.error(self.line_of(key), "« liens » doit être une liste de « {titre: …, url: https://…} ».")
            return None
        out = []
        for index, item in enumerate(value):
            where = (key, index)
            item = self.check_mapping(key, item, LIEN_KEYS, where)
            if item is None:
                continue
            titre = item.get("titre")
            url = item.get("url")
            if titre in (None, "") or url in (None, ""):
                self.error(self.line_of(*where), "chaque lien a un « titre » et une « url ».")
                continue
            titre = self.check_text(key, titre, index, "titre")
            url = self.check_text(key, url, index, "url")
            if url and not self.valid_url(url):
                self.error(self.line_of(*where, "url"), f"l'adresse « {url} » doit commencer par https:// "
                                                        "ou http://.")
            elif titre and url:
                out.append({"titre": titre, "url": url})
        return out

    @staticmethod
    def valid_url(url: str) -> bool:
        return bool(re.match(r"^https?://[^\s/$.?#][^\s]*$", url, re.IGNORECASE))

    # -- body ----------------------------------------------------------------------------------

    def check_body(self, body: str, first_line: int) -> list[Section]:
        v = vocab()
        known = v.section_titles
        by_folded = {_heading_key(t): t for t in known}
        sections: list[Section] = []
        current: Section | None = None
        preamble: list[tuple[int, str]] = []
        misplaced: dict[str, tuple[int, str]] = {}
        in_fence = False
        for offset, line in enumerate(body.split("\n")):
            number = first_line + offset
            stripped = line.lstrip()
            # cheap first-character tests keep the regular expressions off ordinary lines
            if stripped[:1] in ("`", "~") and FENCE_RE.match(line):
                in_fence = not in_fence
            heading = HEADING_RE.match(line) if not in_fence and line[:1] == "#" else None
            if heading and len(heading.group(1)) == 2:
                title = heading.group(2).strip()
                canonical = by_folded.get(_heading_key(title))
                if canonical and canonical != title:
                    self.warning(number, f"titre de section « ## {title} »: écrivez « ## {canonical} ».")
                current = Section(canonical or title, "", number)
                sections.append(current)
                if not canonical:
                    close = suggest(title, known)
                    hint = f" Vouliez-vous dire « ## {close} » ?" if close else ""
                    self.warning(number, f"section inconnue « ## {title} »: elle sera affichée mais n'est pas "
                                         f"une section du format.{hint} (Sections: {', '.join(known)}; "
                                         "utilisez ### pour une sous-partie.)")
                continue
            if not in_fence:
                self.check_raw_html(line, number)
                candidate = None
                if heading:
                    candidate = by_folded.get(_heading_key(heading.group(2)))
                    if candidate:
                        misplaced.setdefault(candidate, (number, f"« {line.strip()} » est un titre de niveau "
                                                                 f"{len(heading.group(1))}: les sections "
                                                                 f"s'écrivent « ## {candidate} »."))
                elif len(stripped) <= 50:
                    pseudo = PSEUDO_HEADING_RE.match(line)
                    candidate = by_folded.get(_heading_key(pseudo.group(1))) if pseudo else None
                    if candidate:
                        misplaced.setdefault(candidate, (number, f"« {line.strip()} » ressemble à une section: "
                                                                 f"écrivez le titre « ## {candidate} » sur sa "
                                                                 "propre ligne."))
            if current is None:
                if line.strip():
                    preamble.append((number, line))
            else:
                current.text += line + "\n"
        for section in sections:
            section.text = section.text.strip()
        flagged = {line for line, _ in misplaced.values()}
        if preamble and not any(number in flagged for number, _ in preamble):
            self.warning(preamble[0][0], "texte avant la première section: placez-le sous « ## Contexte ».")
        self.check_sections(sections, misplaced, first_line)
        return sections

    def check_sections(self, sections: list[Section], misplaced: dict, first_line: int) -> None:
        v = vocab()
        known = v.section_titles
        seen: dict[str, Section] = {}
        last_rank = -1
        last_title = None
        for section in sections:
            if section.title not in known:
                continue
            if section.title in seen:
                self.error(section.line, f"section « ## {section.title} » en double (déjà ligne "
                                         f"{seen[section.title].line}): fusionnez-les.")
                continue
            seen[section.title] = section
            rank = known.index(section.title)
            if rank < last_rank:
                self.error(section.line, f"section « ## {section.title} » mal placée: elle vient avant "
                                         f"« ## {last_title} » (ordre: {', '.join(known)}).")
            else:
                last_rank, last_title = rank, section.title
        for title in known:
            section = seen.get(title)
            required = title in v.required_sections
            if section is None:
                if title in misplaced:
                    line, message = misplaced[title]
                    (self.error if required else self.warning)(line, message)
                elif required:
                    self.error(first_line, f"section obligatoire « ## {title} » absente.")
                elif title in v.recommended_sections:
                    self.warning(first_line, f"section recommandée « ## {title} » absente: elle aide un autre "
                                             "territoire à reproduire l'initiative.")
            elif required and not _has_content(section.text):
                self.error(section.line, f"section obligatoire « ## {title} » vide: décrivez-la en quelques "
                                         "phrases.")

    def check_raw_html(self, line: str, number: int) -> None:
        if "<" not in line:
            return
        code_free = re.sub(r"`[^`]*`", "", line)
        for match in RAW_HTML_RE.finditer(code_free):
            if re.match(r"<\s*(https?:|mailto:)", match.group(0), re.IGNORECASE):
                continue
            self.warning(number, f"HTML brut « {match.group(0)[:40]} »: il ne sera pas interprété; "
                                 "écrivez en Markdown.")
            return

    def check_placeholders(self, front_text: str, body: str, body_first_line: int) -> None:
        # the exact capitalised marker: "à compléter" is ordinary French in a fiche
        marker = PLACEHOLDER
        for offset, line in enumerate(front_text.split("\n")):
            if marker in line:
                self.error(self.fm_first_line + offset, f"texte à compléter (« {PLACEHOLDER} ») dans l'en-tête.")
        for offset, line in enumerate(body.split("\n")):
            if marker in line:
                self.error(body_first_line + offset, f"texte à compléter (« {PLACEHOLDER} ») dans le corps.")


@functools.lru_cache(maxsize=4096)
def _heading_key(title: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(title)))


def _has_content(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.split("\n"))
