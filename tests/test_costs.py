"""Contract v2: what a fiche costs. Each rule of ``couts``, ``financements``, typed ``liens`` and the
deprecated ``budget_eur`` with its message and line; the derived figures (kb.costs) with missing
figures; the population and cost facets against the truth of the fixtures; stats, export, template."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from conftest import FIXTURES, TODAY, FakeEmbedder, variant
from kb import costs
from kb.build import build
from kb.catalog import Catalog
from kb.catalog_writer import SCHEMA_VERSION
from kb.export import COLUMNS, export_row
from kb.facets import REGISTRY
from kb.fiche import parse_bytes
from kb.filters import Filters
from kb.model import Fiche
from kb.rules_costs import COUTS_KEYS
from kb.search import Engine
from kb.settings import load_settings
from kb.stats import COSTS_GIVEN, COSTS_OLD, COSTS_TITLE, bank_stats
from kb.template import new_fiche_text

# the contract's complete example (couts, financements with amounts, a typed link); its lines:
CONTRACT = (FIXTURES / "contract_v2.md").read_text(encoding="utf-8")
COUTS, INVESTISSEMENT, FONCTIONNEMENT, ETP, MISE_EN_PLACE, BENEFICIAIRES, ANNEE = 19, 20, 21, 22, 23, 24, 25
FINANCEMENTS, DSIL, LIEN = 26, 27, 31
COUTS_BLOCK = "\n".join(CONTRACT.split("\n")[COUTS - 1:ANNEE])
FINANCEMENTS_BLOCK = "\n".join(CONTRACT.split("\n")[FINANCEMENTS - 1:FINANCEMENTS + 3])


def problems_of(text: str):
    return parse_bytes(text.encode("utf-8"), "practices/bus-numerique.md", today=TODAY)


def swap(old: str, new: str, text: str = CONTRACT) -> str:
    """The contract example with one exact piece replaced."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_the_contract_example_is_valid_and_keeps_every_figure():
    fiche, problems = problems_of(CONTRACT)
    assert problems == []
    assert fiche.couts == {"investissement_eur": 95000, "fonctionnement_eur_an": 62000, "etp": 1.5,
                           "mise_en_place_mois": 8, "beneficiaires_an": 1400, "annee": 2024}
    assert fiche.financements == [{"source": "DSIL", "montant_eur": 60000},
                                  {"source": "Conseil départemental", "montant_eur": 20000}, "fonds propres"]
    assert fiche.liens == [{"titre": "Délibération du conseil communautaire",
                            "url": "https://val-aubre.example/bus.pdf", "type": "deliberation"}]
    assert fiche.budget_eur is None and fiche.population_tranche == "10000-a-50000"
    assert (fiche.cout_total, fiche.montant_finance, fiche.reste_a_charge) == (157000, 80000, 77000)
    assert fiche.cout_tranche == "50000-a-200000" and round(fiche.cout_par_beneficiaire, 2) == 44.29
    again = Fiche.from_dict(json.loads(json.dumps(fiche.to_dict())))
    assert again == fiche and again.to_dict()["part_financee"] == pytest.approx(80000 / 157000)


# (id, text, line, the exact message)
BROKEN = [
    ("investissement-text", swap("  investissement_eur: 95000", "  investissement_eur: 95 000 €"), INVESTISSEMENT,
     "« couts.investissement_eur » doit être un nombre d'euros sans espace ni symbole (par exemple 140000), pas "
     "« 95 000 € »."),
    ("fonctionnement-negative", swap("  fonctionnement_eur_an: 62000", "  fonctionnement_eur_an: -62000"),
     FONCTIONNEMENT, "« couts.fonctionnement_eur_an » doit être positif ou nul."),
    ("fonctionnement-infinite", swap("  fonctionnement_eur_an: 62000", "  fonctionnement_eur_an: .inf"),
     FONCTIONNEMENT, "« couts.fonctionnement_eur_an » dépasse mille milliards d'euros: vérifiez le montant (en "
                     "euros, sans espace ni symbole, par exemple 140000)."),
    ("etp-decimal-comma", swap("  etp: 1.5", "  etp: 1,5"), ETP,
     "« couts.etp » doit être un nombre sans espace ni symbole, avec un point pour les décimales (par exemple "
     "1.5), pas « 1,5 » (écrivez « 1.5 »)."),
    ("etp-negative", swap("  etp: 1.5", "  etp: -1"), ETP, "« couts.etp » doit être positif ou nul."),
    ("mise-en-place-not-whole", swap("  mise_en_place_mois: 8", "  mise_en_place_mois: 8.5"), MISE_EN_PLACE,
     "« couts.mise_en_place_mois » doit être un nombre entier sans espace ni symbole (par exemple 8), pas « 8.5 »."),
    ("beneficiaires-with-space", swap("  beneficiaires_an: 1400", "  beneficiaires_an: 1 400"), BENEFICIAIRES,
     "« couts.beneficiaires_an » doit être un nombre entier sans espace ni symbole (par exemple 1400), pas "
     "« 1 400 »."),
    ("beneficiaires-too-many", swap("  beneficiaires_an: 1400", "  beneficiaires_an: 1000000000"), BENEFICIAIRES,
     "« couts.beneficiaires_an » (1000000000) dépasse 100 000 000: vérifiez le nombre."),
    ("unite-near-miss", swap("  beneficiaires_an: 1400", "  beneficiaires_an: 1400\n  beneficiaires_unite: personne"),
     BENEFICIAIRES + 1, "« personne » n'est pas une valeur de « couts.beneficiaires_unite »: vouliez-vous dire "
                        "« personnes » ? (valeurs: personnes, agents, communes, structures, eleves)."),
    ("annee-future", swap("  annee: 2024", "  annee: 2027"), ANNEE,
     "« couts.annee » (2027) est dans le futur: indiquez l'année à laquelle les chiffres se rapportent."),
    ("annee-month", swap("  annee: 2024", "  annee: 2024-06"), ANNEE,
     "« couts.annee » vaut « 2024-06 »: écrivez l'année des chiffres, AAAA (par exemple 2025)."),
    ("annee-too-old", swap("  annee: 2024", "  annee: 1975"), ANNEE, "« couts.annee » (1975) est trop ancien: "
                                                                    "vérifiez l'année."),
    ("couts-subkey-typo", swap("  fonctionnement_eur_an: 62000", "  fonctionement_eur_an: 62000"), FONCTIONNEMENT,
     "clé inconnue « couts.fonctionement_eur_an »: vouliez-vous dire « fonctionnement_eur_an » ? (clés reconnues: "
     "investissement_eur, fonctionnement_eur_an, etp, mise_en_place_mois, beneficiaires_an, beneficiaires_unite, "
     "annee)."),
    ("couts-a-number", swap(COUTS_BLOCK, "couts: 157000"), COUTS,
     "« couts » doit être une structure avec les clés investissement_eur, fonctionnement_eur_an, etp, "
     "mise_en_place_mois, beneficiaires_an, beneficiaires_unite, annee."),
    ("financements-a-text", swap(FINANCEMENTS_BLOCK, "financements: DSIL"), FINANCEMENTS,
     "« financements » doit être une liste: écrivez « financements: [DSIL] »."),
    ("financements-a-mapping", swap(FINANCEMENTS_BLOCK, "financements: {DSIL: 60000}"), FINANCEMENTS,
     "« financements » doit être une liste: chaque financement est un texte (« DSIL ») ou « {source: DSIL, "
     "montant_eur: 60000} »."),
    ("financement-without-source", swap("  - {source: DSIL, montant_eur: 60000}", "  - {montant_eur: 60000}"), DSIL,
     "« financements.0 »: un financement écrit comme une structure a une « source », par exemple « {source: DSIL, "
     "montant_eur: 60000} »."),
    ("financement-amount-text", swap("montant_eur: 60000}", "montant_eur: 60 000 €}"), DSIL,
     "« financements.0.montant_eur » doit être un nombre d'euros sans espace ni symbole (par exemple 140000), pas "
     "« 60 000 € »."),
    ("financement-key-typo", swap("montant_eur: 60000}", "montant: 60000}"), DSIL,
     "clé inconnue « financements.0.montant »: vouliez-vous dire « montant_eur » ? (clés reconnues: source, "
     "montant_eur)."),
    ("lien-type-near-miss", swap("type: deliberation}", "type: deliberations}"), LIEN,
     "« deliberations » n'est pas une valeur de « liens.type »: vouliez-vous dire « deliberation » ? (valeurs: "
     "deliberation, convention, cahier-des-charges, questionnaire, fiche-de-poste, support-de-formation, bilan, "
     "autre)."),
    ("lien-type-a-list", swap("type: deliberation}", "type: [bilan]}"), LIEN,
     "« liens.0.type » doit être une valeur du vocabulaire, pas une liste."),
]


@pytest.mark.parametrize("text,line,message", [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_each_v2_rule_reports_its_message_and_line(text, line, message):
    fiche, problems = problems_of(text)
    errors = [p for p in problems if p.severity == "error"]
    assert fiche is None
    matching = [p for p in errors if p.message == message]
    assert matching, f"expected « {message} » among {[p.format() for p in errors]}"
    assert matching[0].line == line, matching[0].format()


def warnings_of(text: str):
    fiche, problems = problems_of(text)
    assert fiche is not None, [p.format() for p in problems]
    return fiche, [p for p in problems if p.severity == "warning"]


def test_budget_eur_is_a_warning_that_says_how_to_write_couts():
    fiche, warnings = warnings_of(variant(couts="budget_eur: 140000"))
    assert fiche.budget_eur == 140000 and fiche.couts == {}
    assert [(p.line, p.message) for p in warnings] == [(
        19, "« budget_eur » est un ancien champ, dont le sens variait d'une fiche à l'autre: décrivez les coûts dans "
            "« couts », qui sépare l'investissement du fonctionnement, par exemple « couts: {investissement_eur: "
            "140000, annee: 2026} » pour un coût ponctuel ou « couts: {fonctionnement_eur_an: 140000, annee: 2026} » "
            "pour un coût annuel, puis retirez « budget_eur ».")]
    assert warnings[0].form_message == ("« Budget (€, ancien champ) » est un ancien champ : indiquez plutôt "
                                        "l'investissement et le coût de fonctionnement annuel dans « Coûts et moyens ».")
    fiche, warnings = warnings_of(swap("  annee: 2024", "  annee: 2024\nbudget_eur: 140000"))
    assert [(p.line, p.message) for p in warnings] == [(
        ANNEE + 1, "« budget_eur » est un ancien champ, que « couts » remplace: vérifiez que « couts » reprend son "
                   "montant, puis retirez « budget_eur ».")]
    # a wrong value is still an error, with the deprecation next to it
    fiche, problems = problems_of(variant(couts="budget_eur: -5"))
    assert fiche is None and {p.severity for p in problems if p.line == 19} == {"error", "warning"}


def test_the_deprecation_never_fails_a_strict_build(tmp_path, write_fiche):
    write_fiche("bus-numerique.md", variant(couts="budget_eur: 140000"))
    report = build(load_settings(tmp_path), embedder=FakeEmbedder(), today=TODAY, strict=True)
    assert report.fiches == 1 and not report.invalid and not report.problems


def test_funding_amounts_beyond_the_costs_are_a_warning():
    fiche, warnings = warnings_of(swap("montant_eur: 60000}", "montant_eur: 160000}"))
    assert fiche.montant_finance == 180000 and fiche.part_financee == 1.0 and fiche.reste_a_charge == 0
    assert [(p.line, p.message) for p in warnings] == [(
        FINANCEMENTS, "les montants de « financements » (180 000 €) dépassent le coût indiqué dans « couts » "
                      "(investissement_eur + fonctionnement_eur_an = 157 000 €): vérifiez les montants ou complétez "
                      "« couts ».")]
    assert warnings[0].form_message == ("les montants des financements (180 000 €) dépassent l'investissement et le "
                                        "coût de fonctionnement annuel réunis (157 000 €) : vérifiez-les.")
    fiche, warnings = warnings_of(swap(COUTS_BLOCK + "\n", ""))
    assert [(p.line, p.message) for p in warnings] == [(
        COUTS, "« financements » donne des montants (80 000 €) mais « couts » n'indique ni investissement_eur ni "
               "fonctionnement_eur_an: ajoutez-les, pour que la part financée et le reste à charge soient calculés.")]
    # amounts that the costs cover, and texts alone, say nothing
    assert warnings_of(CONTRACT)[1] == []
    assert warnings_of(swap(FINANCEMENTS_BLOCK, "financements: [DSIL, fonds propres]"))[1] == []


def test_couts_keys_are_optional_and_x_keys_ignored():
    texts = swap(FINANCEMENTS_BLOCK, "financements: [DSIL, fonds propres]")
    fiche, problems = problems_of(swap(COUTS_BLOCK, "couts:\n  etp: 2\n  x_source: rapport annuel", texts))
    assert problems == [] and fiche.couts == {"etp": 2}
    assert fiche.cout_total is None and fiche.cout_tranche is None and fiche.reste_a_charge is None
    # the empty block of « kb new »: every figure left empty is a missing figure
    template = new_fiche_text("Un titre de fiche assez long", TODAY)
    block = template[template.index("couts:"):template.index("# financements")].rstrip("\n")
    assert yaml.safe_load(block)["couts"] == {**dict.fromkeys(COUTS_KEYS), "beneficiaires_unite": "personnes"}
    fiche, problems = problems_of(swap(COUTS_BLOCK, block, texts))
    assert problems == [] and fiche.couts == {"beneficiaires_unite": "personnes"}
    assert "budget_eur" not in template and "liens: []" in template


def test_links_without_type_stay_valid():
    fiche, problems = problems_of(swap(", type: deliberation}", "}"))
    assert problems == [] and fiche.liens[0] == {"titre": "Délibération du conseil communautaire",
                                                 "url": "https://val-aubre.example/bus.pdf"}


# ----------------------------------------------------------------------------- derived figures


FULL = {"investissement_eur": 95000, "fonctionnement_eur_an": 62000, "beneficiaires_an": 1400, "annee": 2024}
FUNDED = [{"source": "DSIL", "montant_eur": 60000}, {"source": "CD", "montant_eur": 20000}, "fonds propres"]


@pytest.mark.parametrize("couts,financements,expected", [
    (FULL, FUNDED, dict(total=157000, par_beneficiaire=62000 / 1400, finance=80000,
                        part_financee=80000 / 157000, reste_a_charge=77000, tranche="50000-a-200000")),
    ({}, [], dict(total=None, par_beneficiaire=None, finance=None, part_financee=None, reste_a_charge=None,
                  tranche=None)),
    (None, None, dict(total=None, par_beneficiaire=None, finance=None, part_financee=None, reste_a_charge=None,
                      tranche=None)),
    ({"investissement_eur": 8000}, FUNDED, dict(total=8000, par_beneficiaire=None, finance=80000, part_financee=1.0,
                                                reste_a_charge=0, tranche="moins-de-10000")),
    ({"fonctionnement_eur_an": 30000, "beneficiaires_an": 0}, ["DSIL"],
     dict(total=30000, par_beneficiaire=None, finance=None, part_financee=None, reste_a_charge=None,
          tranche="10000-a-50000")),
    ({"fonctionnement_eur_an": 0, "beneficiaires_an": 50}, [], dict(total=0, par_beneficiaire=None, finance=None,
                                                                   tranche="moins-de-10000")),
    ({"investissement_eur": 0}, [{"source": "DSIL", "montant_eur": 100}],
     dict(total=0, part_financee=None, reste_a_charge=0)),
    ({"beneficiaires_an": 1400, "etp": 2}, FUNDED, dict(total=None, par_beneficiaire=None, finance=80000,
                                                         part_financee=None, reste_a_charge=None, tranche=None)),
    ({"investissement_eur": 300000, "fonctionnement_eur_an": 50000}, [{"source": "FEDER", "montant_eur": 50000}],
     dict(total=350000, part_financee=50000 / 350000, reste_a_charge=300000, tranche="plus-de-200000")),
])
def test_derived_figures_with_missing_figures(couts, financements, expected):
    figures = costs.costs_of(couts, financements)
    for name, value in expected.items():
        assert getattr(figures, name) == (pytest.approx(value) if isinstance(value, float) else value), name


def test_units_and_french_numbers():
    assert costs.unite({}) == "personnes" and costs.unite({"beneficiaires_unite": "communes"}) == "communes"
    assert costs.costs_of({"etp": 1}).empty is False and costs.costs_of({}).empty is True
    assert costs.euros_fr(62000) == "62\u202f000\u202f€" and costs.euros_fr(62000, " ") == "62 000 €"
    assert costs.euros_fr(44.2857, " ") == "44,29 €" and costs.euros_fr(1234567.8, " ") == "1 234 568 €"
    assert costs.number_fr(1.5, decimals=2) == "1,5" and costs.number_fr(18500, " ") == "18 500"


# ----------------------------------------------------------------------------- facets against the truth


# slug → (population, couts): brackets hand-computed from the contract, not from the vocabulary
BANK = {
    "hameau": (800, {"investissement_eur": 5000}),
    "village": (2000, {"fonctionnement_eur_an": 30000}),
    "bourg": (3500, {"etp": 1}),
    "interco": (18500, {"investissement_eur": 95000, "fonctionnement_eur_an": 62000}),
    "metropole": (250000, {"investissement_eur": 300000, "fonctionnement_eur_an": 50000}),
    "sans-chiffres": (None, None),
}
POPULATION_TRUTH = {"moins-de-1000": {"hameau"}, "1000-a-3500": {"village"}, "3500-a-10000": {"bourg"},
                    "10000-a-50000": {"interco"}, "50000-a-200000": set(), "plus-de-200000": {"metropole"}}
COST_TRUTH = {"moins-de-10000": {"hameau"}, "10000-a-50000": {"village"}, "50000-a-200000": {"interco"},
              "plus-de-200000": {"metropole"}}


@pytest.fixture
def cost_bank(tmp_path, write_fiche):
    for slug, (population, couts) in BANK.items():
        text = variant(titre=f"titre: Une initiative numérique du territoire {slug}",
                       **{"  population": f"  population: {population}" if population else None},
                       couts=f"couts: {json.dumps(couts)}" if couts else "budget_eur: 1000")
        write_fiche(f"{slug}.md", text)
    settings = load_settings(tmp_path)
    report = build(settings, embedder=FakeEmbedder(), today=TODAY)
    assert report.fiches == len(BANK) and not report.invalid
    return settings, Engine.open(settings, embedder=FakeEmbedder())


def test_population_and_cost_facets_against_the_truth(cost_bank):
    _, engine = cost_bank
    db = engine.catalog.db
    for field, truth in (("populations", POPULATION_TRUTH), ("couts", COST_TRUTH)):
        for value, slugs in truth.items():
            filters = Filters(**{field: [value]})
            where, params = filters.sql()
            assert {r[0] for r in db.execute(f"SELECT slug FROM fiches f WHERE {where}", params)} == slugs, value
            assert {h.slug for h in engine.search("", filters, limit=50).hits} == slugs, value
    both = Filters(populations=["moins-de-1000", "10000-a-50000", "plus-de-200000"], couts=["50000-a-200000"])
    assert {h.slug for h in engine.search("", both, limit=50).hits} == {"interco"}
    counts = engine.catalog.facet_counts()
    assert counts["population_tranche"] == {k: len(v) for k, v in POPULATION_TRUTH.items() if v}
    assert counts["cout"] == {k: len(v) for k, v in COST_TRUTH.items()}
    totals = dict(db.execute("SELECT slug, cout_total FROM fiches"))
    assert totals == {"hameau": 5000, "village": 30000, "bourg": None, "interco": 157000, "metropole": 350000,
                      "sans-chiffres": None}


def test_population_and_cost_facets_in_the_url_the_cli_and_the_sidebar(cost_bank, monkeypatch):
    population, cout = REGISTRY["population_tranche"], REGISTRY["cout"]
    assert population in REGISTRY.filtering and cout in REGISTRY.filtering
    assert (population.field, population.param, population.label) == ("populations", "population", "Population")
    assert (cout.field, cout.param) == ("couts", "cout")
    assert population.widget == cout.widget == "multiselect" and population.placeholder and cout.placeholder
    filters, dropped = REGISTRY.from_params({"population": ["moins-de-1000", "moins-de-5000"],
                                             "cout": ["plus-de-200000"]})
    assert filters.populations == ["moins-de-1000"] and filters.couts == ["plus-de-200000"]
    assert dropped == ["« moins-de-5000 » n'est pas une valeur du filtre « population »: ignorée."]
    assert REGISTRY.to_params(filters) == {"population": ["moins-de-1000"], "cout": ["plus-de-200000"]}
    assert REGISTRY.describe(filters) == ("Population : Moins de 1 000 habitants · "
                                          "Coût la première année : Plus de 200 000 €")

    import kb.cli_queries
    from kb.cli import main

    settings, engine = cost_bank
    monkeypatch.setattr(kb.cli_queries, "open_engine", lambda _settings: engine)
    runner = CliRunner()
    result = runner.invoke(main, ["--root", str(settings.root), "search", "--population", "moins-de-1000",
                                  "--population", "1000-a-3500", "--cout", "10000-a-50000", "--json"])
    assert result.exit_code == 0, result.output
    assert [h["slug"] for h in json.loads(result.output)["hits"]] == ["village"]
    result = runner.invoke(main, ["--root", str(settings.root), "search", "--population", "petite"])
    assert result.exit_code == 2 and "valeur inconnue « petite » pour le filtre population" in result.output


def test_stats_count_brackets_and_fiches_that_give_their_costs(cost_bank):
    settings, _ = cost_bank
    data = bank_stats(Catalog(settings.catalog_path))
    groups = {g.title: g.rows for g in data["groups"]}
    assert groups["Population du territoire"][0] == ("Moins de 1 000 habitants (moins-de-1000)", 1, 0)
    assert ("Plus de 200 000 € (plus-de-200000)", 1, 0) in groups[REGISTRY["cout"].stats_title]
    # couts with an investment or a running cost: not « bourg » (ETP only) nor « sans-chiffres »
    assert data["couts"] == {"couts": 4, "budget_eur": 1}
    assert groups[COSTS_TITLE] == [(COSTS_GIVEN, 4, 0), (COSTS_OLD, 1, 0)]
    from kb.cli import main

    output = CliRunner().invoke(main, ["--root", str(settings.root), "stats"]).output
    assert f"     4  {COSTS_GIVEN}" in output and f"     1  {COSTS_OLD}" in output


def test_an_index_of_the_previous_schema_is_rebuilt(cost_bank):
    settings, _ = cost_bank
    catalog = Catalog(settings.catalog_path)
    catalog.close()
    import sqlite3

    db = sqlite3.connect(settings.catalog_path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(int(SCHEMA_VERSION) - 1)])
    db.commit()
    db.close()
    logged = []
    build(settings, embedder=FakeEmbedder(), today=TODAY, log=logged.append)
    assert "Index d'une autre version de kb: reconstruction complète." in logged
    assert Catalog(settings.catalog_path).meta["schema_version"] == SCHEMA_VERSION


# ----------------------------------------------------------------------------- export


def test_export_has_the_cost_columns_and_the_old_budget():
    fiche, _ = problems_of(CONTRACT)
    row = export_row(fiche)
    titles = dict(COLUMNS)
    assert titles["budget_eur"] == "budget (ancien champ, euros)"
    assert titles["cout_par_beneficiaire"] == "coût annuel par bénéficiaire (euros)"
    assert (row["investissement_eur"], row["fonctionnement_eur_an"], row["etp"]) == ("95000", "62000", "1,5")
    assert (row["beneficiaires_an"], row["beneficiaires_unite"], row["annee"]) == ("1400", "Personnes", "2024")
    assert (row["cout_total"], row["cout_par_beneficiaire"]) == ("157000", "44,29")
    assert (row["montant_finance"], row["reste_a_charge"], row["budget_eur"]) == ("80000", "77000", "")
    assert row["financements"] == "DSIL (60000 €) | Conseil départemental (20000 €) | fonds propres"
    assert row["liens"] == "Délibération du conseil communautaire <https://val-aubre.example/bus.pdf> (Délibération)"
    empty = export_row(problems_of(variant(couts="budget_eur: 140000"))[0])
    assert empty["budget_eur"] == "140000"
    assert all(empty[name] == "" for name in ("investissement_eur", "cout_total", "cout_par_beneficiaire",
                                              "beneficiaires_unite", "reste_a_charge"))
