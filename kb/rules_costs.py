"""The rules of what a fiche costs (contract v2): the ``couts`` mapping, ``financements`` (texts
or ``{source, montant_eur}``), the deprecated ``budget_eur``, and the check of the funding
amounts against the costs. Each is registered in :data:`kb.rules.RULES` under its kind; the
derived figures come from :mod:`kb.costs`."""

from __future__ import annotations

import datetime as dt
import re

from kb import costs
from kb.messages import text
from kb.rules import MIN_YEAR, PLACEHOLDER, Context, check_amount, check_mapping, check_slug_value, check_text, rule
from kb.vocab import vocab

AMOUNT_KEYS = ("investissement_eur", "fonctionnement_eur_an")
# key → (integer only, example, upper bound)
COUNT_KEYS = {
    "etp": (False, "1.5", 100_000),
    "mise_en_place_mois": (True, "8", 600),
    "beneficiaires_an": (True, "1400", 100_000_000),
}
COUTS_KEYS = (*AMOUNT_KEYS, "etp", "mise_en_place_mois", "beneficiaires_an", "beneficiaires_unite", "annee")
FINANCEMENT_KEYS = ("source", "montant_eur")
DECIMAL_COMMA_RE = re.compile(r"^\s*\d+,\d+\s*$")


@rule("couts")
def check_couts(ctx: Context, key: str, value) -> dict | None:
    if not isinstance(value, dict):
        ctx.error((key,), "mapping_type", keys=", ".join(COUTS_KEYS))
        return None
    # keys starting with x_ are kept in the file and ignored, as at the top level
    check_mapping(ctx, {k: v for k, v in value.items() if not str(k).startswith("x_")}, COUTS_KEYS, (key,))
    out: dict = {}
    for sub in AMOUNT_KEYS:
        if value.get(sub) is not None and not _placeholder(value[sub]):
            amount = check_amount(ctx, key, value[sub], sub)
            if amount is not None:
                out[sub] = amount
    for sub, (integer, example, maximum) in COUNT_KEYS.items():
        if value.get(sub) is not None and not _placeholder(value[sub]):
            number = _count(ctx, (key, sub), value[sub], integer, example, maximum)
            if number is not None:
                out[sub] = number
    unite = value.get("beneficiaires_unite")
    if unite not in (None, ""):
        checked = check_slug_value(ctx, f"{key}.beneficiaires_unite", unite, vocab().beneficiaires_unites,
                                   (key, "beneficiaires_unite"))
        if checked:
            out["beneficiaires_unite"] = checked
    if value.get("annee") not in (None, ""):
        annee = _annee(ctx, (key, "annee"), value["annee"])
        if annee is not None:
            out["annee"] = annee
    return {sub: out[sub] for sub in COUTS_KEYS if sub in out}


def _placeholder(value) -> bool:
    return isinstance(value, str) and PLACEHOLDER in value  # reported once, as a placeholder


def _count(ctx: Context, where: tuple, value, integer: bool, example: str, maximum: int) -> float | int | None:
    """A number ≥ 0 that is not an amount of euros (ETP, months, beneficiaries)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and isinstance(value, float)):
        hint = ""
        if isinstance(value, str) and DECIMAL_COMMA_RE.match(value):
            hint = text("count_type.comma", fixed=value.strip().replace(",", "."))
        ctx.error(where, "count_integer" if integer else "count_type", value=value, example=example, hint=hint)
        return None
    if value < 0 or value != value:
        ctx.error(where, "amount_negative")
        return None
    if value > maximum:
        ctx.error(where, "count_too_big", value=value, maximum=costs.number_fr(maximum, " "))
        return None
    return value


def _annee(ctx: Context, where: tuple, value) -> int | None:
    written = str(value).strip()
    if isinstance(value, bool) or isinstance(value, (dt.date, float)) or not re.fullmatch(r"\d{4}", written):
        ctx.error(where, "annee_format", value=value, example=ctx.today.year - 1)
        return None
    year = int(written)
    if year > ctx.today.year:
        ctx.error(where, "annee_future", value=year)
        return None
    if year < MIN_YEAR:
        ctx.error(where, "year_too_old", value=year)
        return None
    return year


@rule("budget")
def check_budget(ctx: Context, key: str, value) -> float | None:
    """The deprecated ``budget_eur``: still checked as an amount, always a warning that says
    how to write ``couts`` instead (never an error by itself)."""
    amount = check_amount(ctx, key, value)
    written = costs.number_fr(amount, "") if amount is not None else "95000"
    if ("couts",) in ctx.lines:
        ctx.warning((key,), "budget_deprecated_couts")
    else:
        ctx.warning((key,), "budget_deprecated", value=written, year=ctx.today.year)
    return amount


@rule("financements")
def check_financements(ctx: Context, key: str, value) -> list | None:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        ctx.error((key,), "list_is_scalar", key=key, value=value)
        return None
    if not isinstance(value, list):
        ctx.error((key,), "financements_type")
        return None
    out: list = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            cleaned = check_text(ctx, key, item, index)
            if cleaned:
                out.append(cleaned)
            continue
        where = (key, index)
        check_mapping(ctx, item, FINANCEMENT_KEYS, where)
        if item.get("source") in (None, ""):
            ctx.error(where, "financement_source")
            continue
        source = check_text(ctx, key, item["source"], index, "source")
        montant = item.get("montant_eur")
        if montant is None or _placeholder(montant):
            if source:
                out.append(source)  # no amount: the same as a text
            continue
        montant = check_amount(ctx, key, montant, index, "montant_eur")
        if source and montant is not None:
            out.append({"source": source, "montant_eur": montant})
    return out


def check_fundings_total(ctx: Context, values: dict) -> None:
    """A warning when the funding amounts add up to more than investissement_eur +
    fonctionnement_eur_an (either missing counts as zero)."""
    funded = costs.finance(values.get("financements"))
    if not funded:
        return
    total = costs.total(values.get("couts")) or 0
    if funded <= total:
        return
    if total == 0:
        ctx.warning(("financements",), "financements_without_costs", funded=costs.euros_fr(funded, " "))
    else:
        ctx.warning(("financements",), "financements_exceed", funded=costs.euros_fr(funded, " "),
                    total=costs.euros_fr(total, " "))

