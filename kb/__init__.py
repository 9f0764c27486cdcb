"""Banque d'expériences du numérique territorial: fiches, catalogue, recherche."""

__version__ = "0.1.0"
