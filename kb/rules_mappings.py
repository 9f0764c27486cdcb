"""The rules of the front-matter fields that are mappings or lists of mappings: territoire,
contact, liens (each link with an optional type). Each is registered in :data:`kb.rules.RULES`
under its kind."""

from __future__ import annotations

import re

from kb.messages import text
from kb.rules import PLACEHOLDER, Context, check_mapping, check_slug_value, check_text, rule, valid_url
from kb.vocab import vocab

DEPARTEMENT_RE = re.compile(r"^(?:0[1-9]|1[0-9]|2[1-9]|[3-8][0-9]|9[0-5]|2A|2B|97[1-6])$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_POPULATION = 100_000_000
TERRITOIRE_KEYS = ("nom", "type", "densite", "departements", "population")
CONTACT_KEYS = ("nom", "fonction", "email", "telephone", "site")
LIEN_KEYS = ("titre", "url", "type")


@rule("territoire")
def check_territoire(ctx: Context, key: str, value) -> dict | None:
    value = check_mapping(ctx, value, TERRITOIRE_KEYS, (key,))
    if value is None:
        return None
    v = vocab()
    out: dict = {}
    for sub in ("nom", "type", "departements"):
        if value.get(sub) in (None, "", []):
            ctx.error((key, sub), "territoire_required", line=ctx.line_of(key, sub) if sub in value
                      else ctx.line_of(key))
    if value.get("nom") not in (None, ""):
        out["nom"] = check_text(ctx, key, value["nom"], "nom")
    if value.get("type") not in (None, ""):
        out["type"] = check_slug_value(ctx, "territoire.type", value["type"], v.types_territoire, (key, "type"),
                                       v.type_aliases)
    if value.get("densite") in (None, ""):
        ctx.warning((key, "densite"), "densite_recommended", line=ctx.line_of(key), densites=", ".join(v.densite))
    else:
        out["densite"] = check_slug_value(ctx, "territoire.densite", value["densite"], v.densite,
                                          (key, "densite"))
    departements = value.get("departements")
    if departements not in (None, "", []):
        out["departements"] = _departements(ctx, key, departements)
    population = value.get("population")
    if population is not None:
        where = (key, "population")
        if isinstance(population, bool) or not isinstance(population, int) or population <= 0:
            ctx.error(where, "population_type")
        elif population > MAX_POPULATION:
            ctx.error(where, "population_too_big", value=population,
                      maximum=f"{MAX_POPULATION:,}".replace(",", " "))
        else:
            out["population"] = population
    return out


def _departements(ctx: Context, key: str, departements) -> list[str]:
    where = (key, "departements")
    if isinstance(departements, dict):
        departements = []
        ctx.error(where, "departements_mapping")
    elif not isinstance(departements, list):
        ctx.error(where, "departements_scalar", value=departements)
        departements = [departements]
    codes: list[str] = []
    for index, code in enumerate(departements):
        item = where + (index,)
        if isinstance(code, int) and not isinstance(code, bool):
            ctx.error(item, "departement_number", code=code, fixed=f"{code:02d}")
        elif isinstance(code, str) and PLACEHOLDER in code:
            continue
        elif not isinstance(code, str) or not DEPARTEMENT_RE.match(code):
            hint = ""
            if isinstance(code, str) and code.strip() in ("20", "2a", "2b"):
                hint = text("departement_unknown.corse")
            elif isinstance(code, str) and code.isdigit() and len(code) == 1:
                hint = text("departement_unknown.digit", code=code)
            ctx.error(item, "departement_unknown", code=code, hint=hint)
        elif code in codes:
            ctx.error(item, "departement_duplicate", code=code)
        else:
            codes.append(code)
    return codes


@rule("contact")
def check_contact(ctx: Context, key: str, value) -> dict | None:
    value = check_mapping(ctx, value, CONTACT_KEYS, (key,))
    if value is None:
        return None
    out = {}
    for sub in CONTACT_KEYS:
        if value.get(sub) in (None, ""):
            continue
        cleaned = check_text(ctx, key, value[sub], sub)
        if cleaned is None:
            continue
        if sub == "email" and not EMAIL_RE.match(cleaned):
            ctx.error((key, sub), "email_invalid", value=cleaned)
        elif sub == "site" and not valid_url(cleaned):
            ctx.error((key, sub), "site_scheme")
        else:
            out[sub] = cleaned
    return out


@rule("liens")
def check_liens(ctx: Context, key: str, value) -> list[dict] | None:
    if not isinstance(value, list):
        ctx.error((key,), "liens_type")
        return None
    out = []
    for index, item in enumerate(value):
        where = (key, index)
        item = check_mapping(ctx, item, LIEN_KEYS, where)
        if item is None:
            continue
        titre = item.get("titre")
        url = item.get("url")
        if titre in (None, "") or url in (None, ""):
            ctx.error(where, "lien_incomplete")
            continue
        titre = check_text(ctx, key, titre, index, "titre")
        url = check_text(ctx, key, url, index, "url")
        kind = None
        if item.get("type") not in (None, ""):
            kind = check_slug_value(ctx, f"{key}.type", item["type"], vocab().types_liens, where + ("type",))
            if kind is None:
                continue
        if url and not valid_url(url):
            ctx.error(where + ("url",), "url_scheme", value=url)
        elif titre and url:
            out.append({"titre": titre, "url": url, **({"type": kind} if kind else {})})
    return out
