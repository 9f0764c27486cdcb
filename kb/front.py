"""The fields of the front matter and the check of a whole front matter: each key's rule comes
from :data:`kb.rules.RULES`, which :mod:`kb.rules` (scalar kinds) and :mod:`kb.rules_mappings`
(territoire, contact, liens) and :mod:`kb.rules_costs` (couts, financements, budget_eur) fill."""

from __future__ import annotations

from dataclasses import dataclass

from kb import rules, rules_costs, rules_mappings
from kb.model import DEFAULT_LICENCE
from kb.rules import RULES, Context, close_hint

# the modules whose rules fill RULES when they are imported: scalar kinds, then mapping kinds
RULE_MODULES = (rules, rules_mappings, rules_costs)


@dataclass(frozen=True)
class Field:
    required: bool
    kind: str


FIELDS = {
    "titre": Field(True, "text"),
    "resume": Field(True, "text"),
    "thematiques": Field(True, "slugs"),
    "publics": Field(True, "slugs"),
    "territoire": Field(True, "territoire"),
    "porteur": Field(True, "text"),
    "debut": Field(True, "month"),
    "statut": Field(True, "slug"),
    "mise_a_jour": Field(True, "date"),
    "partenaires": Field(False, "texts"),
    "dispositifs": Field(False, "slugs"),
    "couts": Field(False, "couts"),
    "budget_eur": Field(False, "budget"),  # deprecated: always a warning (contract v2)
    "financements": Field(False, "financements"),
    "contact": Field(False, "contact"),
    "liens": Field(False, "liens"),
    "mots_cles": Field(False, "texts"),
    "licence": Field(False, "text"),
}


def check_front(front: dict, ctx: Context) -> dict:
    """The checked values of a front matter, keyed as the fields of :class:`kb.model.Fiche`."""
    values: dict = {"extras": {}}
    for key, value in front.items():
        key = str(key)
        if key.startswith("x_"):
            values["extras"][key] = value
            continue
        if key not in FIELDS:
            ctx.error((key,), "key_unknown", hint=close_hint(key, FIELDS), keys=", ".join(FIELDS))
    for key, spec in FIELDS.items():
        value = front.get(key)
        if value is None or value == "" or value == []:
            if spec.required:
                if key in front:
                    ctx.error((key,), "required_empty")
                else:
                    ctx.error((key,), "required_missing", line=ctx.front_last_line)
            continue
        checked = RULES[spec.kind](ctx, key, value)
        if checked is not None:
            values[key] = checked
    values.setdefault("licence", DEFAULT_LICENCE)
    rules_costs.check_fundings_total(ctx, values)
    return values
