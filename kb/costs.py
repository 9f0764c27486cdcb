"""The figures derived from what a fiche says it costs (``couts`` and ``financements``, contract
v2): computed here and nowhere else; the model (:class:`kb.model.Fiche` properties), the
catalog, the validator's check of the fundings, the CSV export and the fiche page read them.
The editor never writes them.

- ``total``: the cost of the first year, ``investissement_eur + fonctionnement_eur_an``; a
  missing figure counts as zero (as in the contract's check of the fundings); None when both
  are missing.
- ``par_beneficiaire``: the yearly cost per beneficiary, ``fonctionnement_eur_an /
  beneficiaires_an``, in the unit of ``beneficiaires_unite``; None when either figure is
  missing or zero.
- ``finance``: what others fund, the sum of the ``montant_eur`` of ``financements``; None when
  no item gives an amount.
- ``part_financee``: ``finance / total``, at most 1; ``reste_a_charge``: what is left to the
  territory, ``total - finance``, at least 0. None when ``total`` or ``finance`` is unknown
  (and ``part_financee`` when ``total`` is zero).
- ``tranche``: the cost bracket of ``total`` (vocabulary ``cout_tranches``: under 10 000 €,
  10 000 to 50 000 €, 50 000 to 200 000 €, 200 000 € and more). Brackets are on the total
  rather than on the cost per beneficiary because beneficiaries are counted in different units
  (people, communes, structures…) that cannot be compared from one fiche to another, while the
  first-year cost is what an elected official has to budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.vocab import vocab

DEFAULT_UNITE = "personnes"


def _figure(couts: dict | None, key: str) -> float | None:
    value = (couts or {}).get(key)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def total(couts: dict | None) -> float | None:
    """Investment plus one year of running costs; None when neither is given."""
    investissement, fonctionnement = _figure(couts, "investissement_eur"), _figure(couts, "fonctionnement_eur_an")
    if investissement is None and fonctionnement is None:
        return None
    return (investissement or 0) + (fonctionnement or 0)


def par_beneficiaire(couts: dict | None) -> float | None:
    """Yearly running cost per beneficiary; None when a figure is missing or zero."""
    fonctionnement, beneficiaires = _figure(couts, "fonctionnement_eur_an"), _figure(couts, "beneficiaires_an")
    if not fonctionnement or not beneficiaires:
        return None
    return fonctionnement / beneficiaires


def unite(couts: dict | None) -> str:
    """What ``beneficiaires_an`` counts (default « personnes »)."""
    return (couts or {}).get("beneficiaires_unite") or DEFAULT_UNITE


def montants(financements: list | None) -> list[float]:
    """The amounts of the fundings that give one."""
    return [item["montant_eur"] for item in financements or []
            if isinstance(item, dict) and isinstance(item.get("montant_eur"), (int, float))
            and not isinstance(item.get("montant_eur"), bool)]


def finance(financements: list | None) -> float | None:
    amounts = montants(financements)
    return sum(amounts) if amounts else None


def part_financee(couts: dict | None, financements: list | None) -> float | None:
    cost, funded = total(couts), finance(financements)
    if cost is None or funded is None or cost <= 0:
        return None
    return min(funded / cost, 1.0)


def reste_a_charge(couts: dict | None, financements: list | None) -> float | None:
    cost, funded = total(couts), finance(financements)
    if cost is None or funded is None:
        return None
    return max(cost - funded, 0)


def tranche(couts: dict | None) -> str | None:
    return vocab().cout_tranche(total(couts))


def source(item) -> str:
    """The name of a funding (a text, or the ``source`` of a mapping)."""
    return str(item.get("source", "")) if isinstance(item, dict) else str(item)


@dataclass(frozen=True)
class Costs:
    """What a fiche says it costs and what is derived from it, for display and export."""

    investissement_eur: float | None
    fonctionnement_eur_an: float | None
    etp: float | None
    mise_en_place_mois: int | None
    beneficiaires_an: int | None
    beneficiaires_unite: str
    annee: int | None
    total: float | None
    par_beneficiaire: float | None
    finance: float | None
    part_financee: float | None
    reste_a_charge: float | None
    tranche: str | None

    @property
    def empty(self) -> bool:
        return all(getattr(self, name) is None for name in ("investissement_eur", "fonctionnement_eur_an", "etp",
                                                             "mise_en_place_mois", "beneficiaires_an", "finance"))


def costs_of(couts: dict | None, financements: list | None = None) -> Costs:
    couts = couts or {}
    annee = couts.get("annee")
    return Costs(
        investissement_eur=_figure(couts, "investissement_eur"),
        fonctionnement_eur_an=_figure(couts, "fonctionnement_eur_an"),
        etp=_figure(couts, "etp"),
        mise_en_place_mois=_figure(couts, "mise_en_place_mois"),
        beneficiaires_an=_figure(couts, "beneficiaires_an"),
        beneficiaires_unite=unite(couts),
        annee=int(annee) if isinstance(annee, (int, str)) and str(annee).isdigit() else None,
        total=total(couts),
        par_beneficiaire=par_beneficiaire(couts),
        finance=finance(financements),
        part_financee=part_financee(couts, financements),
        reste_a_charge=reste_a_charge(couts, financements),
        tranche=tranche(couts),
    )


# ----------------------------------------------------------------------------- French numbers


def number_fr(value, separator: str = "\u202f", decimals: int = 0, strip: bool = True) -> str:
    """« 62 000 », « 1,5 »: thousands split by ``separator`` (a narrow no-break space by
    default), a decimal comma, at most ``decimals`` decimals (trailing zeros dropped with
    ``strip``); a whole number has none."""
    value = float(value)
    if value.is_integer() or not decimals:
        text = f"{round(value):,}"
    else:
        text = f"{value:,.{decimals}f}"
        if strip:
            text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", separator)


def euros_fr(value, separator: str = "\u202f") -> str:
    """« 62 000 € »; under 100 €, with cents (« 44,29 € »)."""
    return f"{number_fr(value, separator, 2 if abs(float(value)) < 100 else 0, strip=False)}{separator}€"
