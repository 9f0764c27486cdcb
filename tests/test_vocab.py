"""The vocabulary file: complete, well-formed, and the same contract as docs/format.md."""

from kb.vocab import suggest, vocab


def test_vocabulary_sizes_follow_the_contract():
    v = vocab()
    assert len(v.axes) == 7 and len(v.thematiques) == 31
    assert len(v.publics) == 19 and len(v.types_territoire) == 10
    assert len(v.densite) == 7 and set(v.regroupements) == {"urbain-dense", "urbain-intermediaire", "rural"}
    assert list(v.statuts) == ["en-projet", "en-cours", "termine", "abandonne"]
    assert len(v.dispositifs) == 13
    assert len(v.departements) == 102  # 101 départements and Saint-Pierre-et-Miquelon (975)
    assert v.section_titles[:3] == ["Contexte", "Objectifs", "Mise en œuvre"]


def test_labels_with_commas_are_whole():
    v = vocab()
    assert v.thematiques["code-fabrication"] == "Code, programmation et fabrication numérique"
    assert v.types_territoire["autre"] == "Autre (association, GIP, groupement)"
    assert v.publics["precarite"] == "Personnes en précarité (minima sociaux, urgence sociale)"
    assert all(isinstance(label, str) and label for table in (v.thematiques, v.publics, v.types_territoire,
                                                               v.densite, v.statuts, v.dispositifs)
               for label in table.values())


def test_roll_ups_and_regions():
    v = vocab()
    assert v.densites_of("rural") == ["bourgs-ruraux", "rural-disperse", "rural-tres-disperse"]
    assert v.region_of["2A"] == "94" and v.region_of["974"] == "04"
    # contract v2 brackets: 1 000 and 3 500 change a commune's obligations
    expected = {1: "moins-de-1000", 999: "moins-de-1000", 1000: "1000-a-3500", 3499: "1000-a-3500",
                3500: "3500-a-10000", 9999: "3500-a-10000", 10_000: "10000-a-50000", 18_500: "10000-a-50000",
                50_000: "50000-a-200000", 199_999: "50000-a-200000", 200_000: "plus-de-200000",
                250_000: "plus-de-200000"}
    assert {n: v.population_tranche(n) for n in expected} == expected
    assert v.population_tranche(None) is None
    assert [t["slug"] for t in v.population_tranches] == ["moins-de-1000", "1000-a-3500", "3500-a-10000",
                                                          "10000-a-50000", "50000-a-200000", "plus-de-200000"]
    assert v.population_tranches[0]["label"] == "Moins de 1 000 habitants"


def test_cost_brackets_and_v2_vocabularies():
    v = vocab()
    expected = {0: "moins-de-10000", 9_999.5: "moins-de-10000", 10_000: "10000-a-50000", 50_000: "50000-a-200000",
                157_000: "50000-a-200000", 200_000: "plus-de-200000", 5e6: "plus-de-200000"}
    assert {n: v.cout_tranche(n) for n in expected} == expected
    assert v.cout_tranche(None) is None
    assert list(v.beneficiaires_unites) == ["personnes", "agents", "communes", "structures", "eleves"]
    assert v.beneficiaires_unites_texte["eleves"] == ("élèves", "élève")
    assert list(v.types_liens) == ["deliberation", "convention", "cahier-des-charges", "questionnaire",
                                   "fiche-de-poste", "support-de-formation", "bilan", "autre"]
    assert v.types_liens["cahier-des-charges"] == "Cahier des charges"


def test_near_miss_suggestions():
    v = vocab()
    assert suggest("senior", v.publics) == "seniors"
    assert suggest("CC", v.types_territoire, v.type_aliases) == "communaute-de-communes"
    assert suggest("Communauté de communes", v.types_territoire, v.type_aliases) == "communaute-de-communes"
    assert suggest("zzzz", v.publics) is None
