"""The vocabulary file: complete, well-formed, and the same contract as FICHE_FORMAT.md."""

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
    assert v.population_tranche(4999) == "moins-de-5000" and v.population_tranche(5000) == "5000-a-20000"
    assert v.population_tranche(250_000) == "plus-de-200000"


def test_near_miss_suggestions():
    v = vocab()
    assert suggest("senior", v.publics) == "seniors"
    assert suggest("CC", v.types_territoire, v.type_aliases) == "communaute-de-communes"
    assert suggest("Communauté de communes", v.types_territoire, v.type_aliases) == "communaute-de-communes"
    assert suggest("zzzz", v.publics) is None
