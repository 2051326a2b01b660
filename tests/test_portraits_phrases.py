"""Exact French sentences of the written diagnosis for fixed inputs (observatoire.portraits.phrases)."""

from __future__ import annotations

from observatoire.catalogue import Indicateur
from observatoire.portraits.facts import Fact
from observatoire.portraits.phrases import elide, nom_court_epci, phrase

NBSP, NNBSP, MINUS = "\u00a0", "\u202f", "\u2212"


def _ind(**kw) -> Indicateur:
    base = dict(id="x", libelle="X", theme="insertion", unite="%", type="ratio", source="insee_rp")
    base.update(kw)
    extra = base.pop("extra", {})
    return Indicateur(**base, extra=extra)


def _fact(**kw) -> Fact:
    base = dict(indicateur="x", regle="ecart", score=2.0, valeur=44.1, millesime=2019, reference=36.4,
                reference_libelle="Valenciennes Métropole")
    base.update(kw)
    return Fact(**base)


def test_issue_example_with_catalogue_pattern():
    ind = _ind(id="part_neet_16_25", libelle="Part des 16-25 ans ni en emploi ni en formation", polarite=1,
               extra={"phrase": "{valeur} des 16-25 ans ne sont ni en formation ni en emploi"})
    f = _fact(indicateur="part_neet_16_25", valeur_precedente=41.8, millesime_precedent=2014, evolution=2.3,
              evolution_unite="points", rang=5, n_pairs=15)
    # 44.1 → « 44,1 % », +2.3 points (≥ 2: plural), rank 5 of 15 is neither first nor last: no rank clause
    assert phrase(f, ind) == (f"44,1{NBSP}% des 16-25 ans ne sont ni en formation ni en emploi en 2019, "
                              f"contre 36,4{NBSP}% pour la moyenne des quartiers prioritaires de Valenciennes "
                              f"Métropole (+2,3{NBSP}points depuis 2014).")


def test_generic_template_negative_polarity_elision_and_singular_point():
    ind = _ind(libelle="Taux d'emploi des 15-64 ans", polarite=-1)
    f = _fact(valeur=41.2, millesime=2022, reference=48.0, reference_libelle="Amiens Métropole",
              valeur_precedente=42.7, millesime_precedent=2017, evolution=-1.5)
    # higher is better and 41,2 < 48,0 → « n'atteint que »; −1,5 < 2 → « point » singular; « d'Amiens »
    assert phrase(f, ind) == (f"Le taux d'emploi des 15-64 ans n'atteint que 41,2{NBSP}% en 2022, contre "
                              f"48,0{NBSP}% pour la moyenne des quartiers prioritaires d'Amiens Métropole "
                              f"({MINUS}1,5{NBSP}point depuis 2017).")


def test_money_unit_relative_change():
    ind = _ind(libelle="Revenu disponible médian par unité de consommation", unite="€/mois", polarite=-1,
               type="valeur_producteur", theme="revenus")
    # (1120 − 1085) / 1085 = +3,23 % → « +3,2 % »; 1120 > 1050 so « est de » (not « n'atteint que »)
    f = _fact(valeur=1120.0, millesime=2021, reference=1050.0, valeur_precedente=1085.0, millesime_precedent=2017,
              evolution=100 * (1120 - 1085) / 1085, evolution_unite="%")
    assert phrase(f, ind) == (f"Le revenu disponible médian par unité de consommation est de 1{NNBSP}120{NBSP}€ "
                              f"par mois en 2021, contre 1{NNBSP}050{NBSP}€ par mois pour la moyenne des quartiers "
                              f"prioritaires de Valenciennes Métropole (+3,2{NBSP}% depuis 2017).")


def test_fragile_level_stable_change_and_rank_first():
    ind = _ind(libelle="Part des familles monoparentales", polarite=1, theme="familles")
    f = _fact(valeur=30.0, millesime=2022, reference=25.0, valeur_precedente=30.02, millesime_precedent=2017,
              evolution=-0.02, rang=1, n_pairs=15)
    # −0,02 rounds to 0,0 → « stable »; rank 1 of 15 → highest level
    assert phrase(f, ind) == (f"La part des familles monoparentales atteint 30,0{NBSP}% en 2022, contre "
                              f"25,0{NBSP}% pour la moyenne des quartiers prioritaires de Valenciennes Métropole "
                              f"(stable depuis 2017){NNBSP}; c'est le niveau le plus élevé des 15 quartiers "
                              f"prioritaires.")


def test_rank_last_and_no_change():
    ind = _ind(libelle="Indice de vieillissement", unite="indice", polarite=0, theme="demographie")
    f = _fact(valeur=45.0, millesime=2022, reference=60.0, rang=9, n_pairs=9)
    # « indice » → elided article « L'indice »; no earlier year → no parenthesis
    assert phrase(f, ind) == ("L'indice de vieillissement est de 45 en 2022, contre 60 pour la moyenne des "
                              f"quartiers prioritaires de Valenciennes Métropole{NNBSP}; c'est le niveau le plus "
                              "bas des 9 quartiers prioritaires.")


def test_unknown_gender_uses_colon_form_and_pattern_with_year():
    ind = _ind(libelle="Allocataires dont les prestations font au moins 50 % du revenu", polarite=1, theme="familles")
    f = _fact(valeur=40.0, millesime=2023, reference=35.5)
    assert phrase(f, ind) == (f"Allocataires dont les prestations font au moins 50 % du revenu : 40,0{NBSP}% en "
                              f"2023, contre 35,5{NBSP}% pour la moyenne des quartiers prioritaires de "
                              "Valenciennes Métropole.")
    ind2 = _ind(libelle="Ménages sans voiture", extra={"phrase": "en {annee}, {valeur} des ménages n'ont pas de voiture"})
    # the pattern places the year itself: nothing appended; first letter capitalised
    assert phrase(_fact(valeur=12.0, millesime=2019, reference=20.0), ind2) == (
        f"En 2019, 12,0{NBSP}% des ménages n'ont pas de voiture, contre 20,0{NBSP}% pour la moyenne des "
        "quartiers prioritaires de Valenciennes Métropole.")


def test_elision_and_epci_short_name():
    assert elide("de", "Anzin") == "d'Anzin"
    assert elide("de", "Valenciennes") == "de Valenciennes"
    assert elide("la", "part") == "la part"
    assert elide("le", "indice") == "l'indice"
    assert nom_court_epci("CA Valenciennes Métropole") == "Valenciennes Métropole"
    assert nom_court_epci("Communauté d'agglomération de la Porte du Hainaut") == "Porte du Hainaut"
    assert nom_court_epci("Métropole Européenne de Lille") == "Métropole Européenne de Lille"


def test_rank_among_usable_figures_says_so():
    ind = _ind(libelle="Taux de chômage des 15-64 ans", polarite=1)
    # ranked first of the 6 quartiers whose estimate is usable, out of 15 with a figure that year
    f = _fact(valeur=23.4, millesime=2022, reference=18.9, rang=1, n_pairs=6, n_quartiers=15)
    assert phrase(f, ind).endswith(f"{NNBSP}; c'est le niveau le plus élevé des 6 quartiers prioritaires "
                                   "dont le chiffre est fiable.")
    # all 15 usable: no qualifier
    f = _fact(valeur=23.4, millesime=2022, reference=18.9, rang=15, n_pairs=15, n_quartiers=15)
    assert phrase(f, ind).endswith(f"{NNBSP}; c'est le niveau le plus bas des 15 quartiers prioritaires.")


def test_watch_zone_is_compared_with_the_quartiers_not_ranked_among_them():
    ind = _ind(libelle="Taux d'emploi des 15-64 ans", polarite=-1)
    # peers = 15 quartiers + the zone itself (16); the zone is highest
    f = _fact(valeur=68.9, millesime=2022, reference=50.0, rang=1, n_pairs=16, n_quartiers=15, hors_pairs=True)
    assert phrase(f, ind).endswith(f"{NNBSP}; c'est plus que dans chacun des 15 quartiers prioritaires.")
    f = _fact(valeur=11.2, millesime=2022, reference=48.7, rang=16, n_pairs=16, n_quartiers=15, hors_pairs=True)
    assert phrase(f, ind).endswith(f"{NNBSP}; c'est moins que dans chacun des 15 quartiers prioritaires.")
