"""Banque d'expériences du numérique territorial: fiches, catalogue, recherche.

The public API (see the README, « Utiliser kb depuis Python »)::

    import kb

    with kb.open_bank("chemin/de/la/banque") as bank:
        results = bank.search("aider les seniors", kb.Filters(densites=["rural"]), limit=5)
        for hit in results.hits:
            print(hit.titre, hit.fiche.territoire["nom"])
        fiche = bank.get(results.hits[0].slug)

- :func:`open_bank` → :class:`Bank`: ``search``, ``similar``, ``facets``, ``get``, ``count``,
  ``validate``, ``close``;
- :class:`Filters`: facet filters (``publics``, ``densites``, ``departements``…, ``debut_min``);
- :class:`Results` (``hits``, ``total``, ``facets``, ``to_dict()``) of :class:`Hit` (``slug``,
  ``titre``, ``score``, ``snippet``, ``counted``, ``fiche``, ``to_dict()``);
- :class:`Fiche` (with its :class:`Section` list), the one shape of a fiche;
- :class:`BankCheck` of :class:`Problem`: what ``Bank.validate`` finds.

``import kb`` is light: each name loads its module on first use, and the search engine (numpy,
the vector index, the embedding model) only when a bank is first searched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["Bank", "BankCheck", "Fiche", "Filters", "Hit", "Problem", "Results", "Section", "open_bank"]

# public name → the module that defines it, imported on first access
_EXPORTS = {
    "Bank": "kb.api", "open_bank": "kb.api", "BankCheck": "kb.bank", "Fiche": "kb.model", "Section": "kb.model",
    "Filters": "kb.filters", "Hit": "kb.results", "Results": "kb.results", "Problem": "kb.problems",
}

if TYPE_CHECKING:
    from kb.api import Bank, open_bank
    from kb.bank import BankCheck
    from kb.filters import Filters
    from kb.model import Fiche, Section
    from kb.problems import Problem
    from kb.results import Hit, Results


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
