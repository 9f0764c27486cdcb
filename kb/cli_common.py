"""What the ``kb`` commands share: settings from the command line, index errors as messages,
the engine, and the filter options (from the facet registry)."""

from __future__ import annotations

import contextlib

import click

from kb.settings import Settings, SettingsError, load_settings


def settings_of(ctx: click.Context) -> Settings:
    try:
        return load_settings(ctx.obj.get("root"), **ctx.obj.get("overrides", {}))
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def build_failed(settings: Settings, exc: Exception) -> str:
    detail = " ".join(str(exc).split())[:120]
    if "locked" in detail:
        return (f"l'index {settings.catalog_path} est resté verrouillé par un autre programme ({detail}): "
                "relancez « kb build »; l'index publié n'a pas été modifié.")
    return (f"la construction a échoué en lisant ou en écrivant l'index {settings.catalog_path} "
            f"({type(exc).__name__}: {detail}); l'index publié n'a pas été modifié. Si le disque est plein, "
            "libérez de la place; sinon l'index est sans doute corrompu: reconstruisez-le avec "
            "« kb build --force ».")


def filter_options(function):
    """One option per filter of the facet registry (kb.facets)."""
    from kb.facets import REGISTRY

    return REGISTRY.click_options(function)


def make_filters(kwargs: dict):
    from kb.facets import REGISTRY

    filters = REGISTRY.filters_from_cli(kwargs)
    unknown = filters.unknown_values()
    if unknown:
        raise click.BadParameter("; ".join(unknown) + " (voir kb stats pour les valeurs).")
    return filters


@contextlib.contextmanager
def reading_index(settings: Settings):
    """A damaged catalog is a message that says how to repair it, never a traceback: some damage
    is only met by the query that reads the damaged page or value."""
    from kb.catalog import CORRUPTION_ERRORS, CatalogError, corrupt_error

    try:
        yield
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc
    except CORRUPTION_ERRORS as exc:
        raise click.ClickException(str(corrupt_error(settings.catalog_path, exc))) from exc


def open_engine(settings: Settings):
    from kb.catalog import CatalogError
    from kb.search import Engine

    try:
        return Engine.open(settings)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc
