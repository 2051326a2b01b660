"""Exact French sentences of the written diagnosis for fixed inputs (observatoire.portraits.phrases)."""

from __future__ import annotations

from observatoire.catalogue import Indicateur
from observatoire.portraits.facts import Fact
from observatoire.portraits.phrases import elide, nom_court_epci, phrase

NBSP, NNBSP, MINUS = "\u00a0", "\u202f", "\u2212"
ENS = "l'ensemble des quartiers prioritaires de Valenciennes Métropole"


def _ind(**kw) -> Indicateur:
    base = dict(id="x", libelle="X", theme="insertion", unite="%", type="ratio", source="insee_rp")
    base.update(kw)
    extra = base.pop("extra", {})
    return Indicateur(**base, extra=extra)


def _fact(**kw) -> Fact:
    base = dict(indicateur="x", regle="ecart", score=2.0, valeur=44.1, millesime=2022, reference=22.0,
                reference_libelle="Valenciennes Métropole", ecart_marque=True)
    base.update(kw)
    return Fact(**base)


def test_gap_with_magnitude_rank_and_change_catalogue_pattern():
    ind = _ind(id="part_neet_16_25", libelle="Part des 16-25 ans ni en emploi ni en formation", polarite=1,
               extra={"phrase": "{valeur} des 16-25 ans ne sont ni en formation ni en emploi"})
    # 44,1 − 22,0 = 22,1 points; 44,1 / 22,0 = 2,00 → « deux fois plus »; rank 1 of 15; +6,3 points since
    # 2017 while the set gained 1,0 point (below 2: « évolue peu »)
    f = _fact(ecart=22.1, ampleur="deux fois plus", rang=1, n_pairs=15, n_quartiers=15, evolution_marquee=True,
              evolution=6.3, evolution_reference=1.0, millesime_precedent=2017, valeur_precedente=37.8)
    assert phrase(f, ind) == (
        f"44,1{NBSP}% des 16-25 ans ne sont ni en formation ni en emploi en 2022, contre 22,0{NBSP}% pour {ENS}, "
        f"soit 22,1{NBSP}points de plus (deux fois plus){NNBSP}; c'est le niveau le plus élevé des 15 quartiers "
        f"prioritaires{NNBSP}; une hausse de 6,3{NBSP}points depuis 2017, quand l'ensemble de ces quartiers "
        "évolue peu.")


def test_negative_polarity_elision_singular_point_no_magnitude():
    ind = _ind(libelle="Taux d'emploi des 15-64 ans", polarite=-1)
    # 46,2 < 48,0 on a higher-is-better rate → « n'atteint que »; 1,8 < 2 → « point »; « d'Amiens »
    f = _fact(valeur=46.2, reference=48.0, ecart=-1.8, reference_libelle="Amiens Métropole")
    assert phrase(f, ind) == (f"Le taux d'emploi des 15-64 ans n'atteint que 46,2{NBSP}% en 2022, contre "
                              f"48,0{NBSP}% pour l'ensemble des quartiers prioritaires d'Amiens Métropole, "
                              f"soit 1,8{NBSP}point de moins.")


def test_money_gap_in_percent_and_a_third_less():
    ind = _ind(libelle="Revenu disponible médian par unité de consommation", unite="€/mois", polarite=-1,
               type="valeur_producteur", theme="revenus")
    # (1 000 − 1 500) / 1 500 = −33,3 % → « 33 % de moins »; 1 000 / 1 500 = 0,667 → « un tiers de moins »
    f = _fact(valeur=1000.0, millesime=2021, reference=1500.0, ecart=-100 / 3, ampleur="un tiers de moins")
    assert phrase(f, ind) == (f"Le revenu disponible médian par unité de consommation n'atteint que "
                              f"1{NNBSP}000{NBSP}€ par mois en 2021, contre 1{NNBSP}500{NBSP}€ par mois pour {ENS}, "
                              f"soit 33{NBSP}% de moins (un tiers de moins).")


def test_change_only_fact_does_not_quote_a_close_reference():
    ind = _ind(libelle="Part des familles monoparentales", polarite=1, theme="familles")
    # levels close (no marked gap): no « contre … »; −4,0 points while the set rose by 2,5 → « à l'inverse »
    f = _fact(regle="evolution", valeur=30.0, reference=30.4, ecart=-0.4, ecart_marque=False,
              evolution_marquee=True, evolution=-4.0, evolution_reference=2.5, millesime_precedent=2017)
    assert phrase(f, ind) == (f"La part des familles monoparentales est de 30,0{NBSP}% en 2022{NNBSP}; une baisse "
                              f"de 4,0{NBSP}points depuis 2017, à l'inverse de {ENS}.")
    # same direction, stronger / weaker than the set
    f2 = _fact(regle="evolution", valeur=30.0, reference=30.4, ecart_marque=False, evolution_marquee=True,
               evolution=-6.0, evolution_reference=-2.5, millesime_precedent=2017)
    assert phrase(f2, ind).endswith(f"une baisse de 6,0{NBSP}points depuis 2017, plus forte que dans {ENS}.")
    f3 = _fact(regle="evolution", valeur=30.0, reference=30.4, ecart_marque=False, evolution_marquee=True,
               evolution=3.0, evolution_reference=9.0, millesime_precedent=2017)
    assert phrase(f3, ind).endswith(f"une hausse de 3,0{NBSP}points depuis 2017, moins forte que dans {ENS}.")


def test_unmarked_change_is_never_quoted():
    ind = _ind(libelle="Part des familles monoparentales", polarite=1, theme="familles")
    f = _fact(valeur=30.0, reference=25.0, ecart=5.0, evolution=0.4, millesime_precedent=2017,
              evolution_marquee=False)
    s = phrase(f, ind)
    assert "depuis" not in s and "stable" not in s and "hausse" not in s


def test_relative_change_of_an_amount():
    ind = _ind(libelle="Revenu disponible médian par unité de consommation", unite="€/mois", polarite=-1,
               type="valeur_producteur", theme="revenus")
    # (1 120 − 1 000) / 1 000 = +12,0 % against +6,0 % for the set (≥ 5 %: a change of its own)
    f = _fact(regle="evolution", valeur=1120.0, millesime=2021, reference=1100.0, ecart_marque=False,
              evolution_marquee=True, evolution=12.0, evolution_unite="%", evolution_reference=6.0,
              millesime_precedent=2017)
    assert phrase(f, ind) == (f"Le revenu disponible médian par unité de consommation est de 1{NNBSP}120{NBSP}€ par "
                              f"mois en 2021{NNBSP}; une hausse de 12,0{NBSP}% depuis 2017, plus forte que dans "
                              f"{ENS}.")


def test_rank_last_index_unit_and_2015_geography():
    ind = _ind(libelle="Indice de vieillissement", unite="indice", polarite=0, theme="demographie")
    # « indice » → « L'indice »; a 2015 sheet names the 2015 quartiers
    f = _fact(valeur=45.0, reference=60.0, ecart=-25.0, rang=9, n_pairs=9, geographie_reference="2015")
    assert phrase(f, ind) == ("L'indice de vieillissement est de 45 en 2022, contre 60 pour l'ensemble des "
                              f"quartiers prioritaires 2015 de Valenciennes Métropole, soit 25{NBSP}% de moins"
                              f"{NNBSP}; c'est le niveau le plus bas des 9 quartiers prioritaires 2015.")


def test_unknown_gender_uses_colon_form_and_pattern_with_year():
    ind = _ind(libelle="Allocataires dont les prestations font au moins 50 % du revenu", polarite=1, theme="familles")
    f = _fact(valeur=40.0, millesime=2023, reference=35.5, ecart=4.5)
    assert phrase(f, ind) == (f"Allocataires dont les prestations font au moins 50 % du revenu : 40,0{NBSP}% en "
                              f"2023, contre 35,5{NBSP}% pour {ENS}, soit 4,5{NBSP}points de plus.")
    ind2 = _ind(libelle="Ménages sans voiture", extra={"phrase": "en {annee}, {valeur} des ménages n'ont pas de voiture"})
    # the pattern places the year itself: nothing appended; first letter capitalised
    assert phrase(_fact(valeur=12.0, millesime=2019, reference=20.0, ecart=-8.0), ind2) == (
        f"En 2019, 12,0{NBSP}% des ménages n'ont pas de voiture, contre 20,0{NBSP}% pour {ENS}, "
        f"soit 8,0{NBSP}points de moins.")


def test_simulated_figures_carry_the_mark():
    ind = _ind(libelle="Taux de pauvreté", polarite=1, theme="revenus")
    f = _fact(valeur=45.0, reference=25.0, ecart=20.0, ampleur="près de deux fois plus", simule_valeur=True,
              simule_reference=False)
    # the quartier's figure and the gap depend on a simulated figure; the reference is real
    assert phrase(f, ind, marque="◊") == (f"Le taux de pauvreté atteint 45,0{NBSP}%◊ en 2022, contre 25,0{NBSP}% "
                                         f"pour {ENS}, soit 20,0{NBSP}points de plus◊ (près de deux fois plus).")
    assert "◊" not in phrase(f, ind)


def test_rank_among_usable_figures_says_so():
    ind = _ind(libelle="Taux de chômage des 15-64 ans", polarite=1)
    # ranked first of the 6 quartiers whose figure is usable, out of 15 with a figure that year
    f = _fact(valeur=23.4, reference=18.9, ecart=4.5, rang=1, n_pairs=6, n_quartiers=15)
    assert phrase(f, ind).endswith(f"{NNBSP}; c'est le niveau le plus élevé des 6 quartiers prioritaires "
                                   "dont le chiffre est fiable.")
    f = _fact(valeur=14.4, reference=18.9, ecart=-4.5, rang=15, n_pairs=15, n_quartiers=15)
    assert phrase(f, ind).endswith(f"{NNBSP}; c'est le niveau le plus bas des 15 quartiers prioritaires.")


def test_watch_zone_is_compared_with_the_quartiers_not_ranked_among_them():
    ind = _ind(libelle="Taux d'emploi des 15-64 ans", polarite=-1)
    # peers = 15 quartiers + the zone itself (16); the zone is highest
    f = _fact(valeur=68.9, reference=50.0, ecart=18.9, rang=1, n_pairs=16, n_quartiers=15, hors_pairs=True)
    assert phrase(f, ind).endswith(f"{NNBSP}; c'est plus que dans chacun des 15 quartiers prioritaires.")
    f = _fact(valeur=11.2, reference=48.7, ecart=-37.5, rang=16, n_pairs=16, n_quartiers=15, hors_pairs=True)
    assert phrase(f, ind).endswith(f"{NNBSP}; c'est moins que dans chacun des 15 quartiers prioritaires.")


def test_elision_and_epci_short_name():
    assert elide("de", "Anzin") == "d'Anzin"
    assert elide("de", "Valenciennes") == "de Valenciennes"
    assert elide("la", "part") == "la part"
    assert elide("le", "indice") == "l'indice"
    assert nom_court_epci("CA Valenciennes Métropole") == "Valenciennes Métropole"
    assert nom_court_epci("Communauté d'agglomération de la Porte du Hainaut") == "Porte du Hainaut"
    assert nom_court_epci("Métropole Européenne de Lille") == "Métropole Européenne de Lille"
