"""The indicator engine: every catalogue indicator computed by hand, reference territories, secrecy,
estimates, transposition, evolutions, and hypothesis properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatoire.catalogue import load_catalogue
from observatoire.catalogue.validate import alternatives, expression_variables
from observatoire.indicators import (TIDY_COLUMNS, IndicatorInputs, add_evolutions, comparable,
                                     compute_indicators, evolution, worst_statut)
from observatoire.sources.table import SourceTable

CAT = load_catalogue()
SIREN = "245901160"
IRIS_A, IRIS_B = "596060101", "596060102"          # two IRIS of Valenciennes (59606)
QP_A, QP_B = "QN05930M", "QN05931M"


def table(source, niveau, millesime, data: dict, index, statut: dict | None = None, simule=False, geo=None):
    """A SourceTable from plain dicts; ``statut`` overrides cells: {var: {code: "secret"}}."""
    d = pd.DataFrame(data, index=pd.Index(index, name="code"), dtype=float)
    s = pd.DataFrame("ok", index=d.index, columns=d.columns, dtype=object)
    for var, cells in (statut or {}).items():
        for code, stt in cells.items():
            s.loc[code, var] = stt
            d.loc[code, var] = np.nan
    return SourceTable(source, niveau, millesime, geo or millesime + 2, d, s, simule=simule)


def rows(tidy, kind, code, ind, millesime=None):
    sel = tidy[(tidy.type_territoire == kind) & (tidy.code_territoire == code) & (tidy.indicateur == ind)]
    if millesime is not None:
        sel = sel[sel.millesime == millesime]
    return sel


def one(tidy, kind, code, ind, millesime=None):
    r = rows(tidy, kind, code, ind, millesime)
    assert len(r) == 1, (kind, code, ind, r)
    return r.iloc[0]


def base_inputs(tables, **kw):
    d = dict(tables=tables, epci_siren=SIREN, epci_nom="CA Valenciennes Métropole",
             territory_communes={"59606"},
             communes=pd.DataFrame({"code_insee": ["59606"], "nom": ["Valenciennes"], "dep": ["59"]}),
             qpv2024=pd.DataFrame({"code_qp": [QP_A, QP_B], "lib_qp": ["Dutemple", "La Briquette"]}),
             departement=pd.DataFrame({"code": ["59"], "nom": ["Nord"]}))
    d.update(kw)
    return IndicatorInputs(**d)


# --------------------------------------------------------------------------------------------------
# Every catalogue indicator, by hand
# --------------------------------------------------------------------------------------------------
# Fixture rule: in part A / part B, a variable used only in the numerator is 20 / 60, a variable used
# in the denominator is 200 / 300. Producer values come from PRODUCER (part A, reference territory).
# Values: (value of part A, value of the reference territory = A + B).
EXPECTED = {
    # effectifs: 20 ; 20 + 60 = 80
    "population": (20.0, 80.0),
    "demandeurs_emploi_abc": (20.0, 80.0),
    # one numerator variable / one denominator variable: 100×20/200 = 10 ; 100×(20+60)/(200+300) = 16
    **{i: (10.0, 16.0) for i in [
        "part_moins_14_ans", "part_15_24_ans", "part_60_ans_plus", "part_75_ans_plus", "part_femmes",
        "part_etrangers", "part_personnes_seules", "part_menages_une_personne",
        "part_75_plus_parmi_personnes_seules", "taux_emploi_15_64", "taux_emploi_15_24",
        "taux_emploi_femmes", "taux_activite_15_64", "taux_chomage_15_64", "taux_chomage_15_24",
        "part_temps_partiel", "part_neet_16_25", "part_deld", "part_deld_2ans_plus",
        "taux_scolarisation_femmes_15_24", "part_15_plus_non_diplomes", "part_familles_monoparentales",
        "part_familles_monoparentales_caf", "part_allocataires_prestations_50pct",
        "part_allocataires_prestations_100pct", "part_menages_aah", "part_allocataires_rsa",
        "part_allocataires_aide_logement", "taux_couverture_caf", "part_c2s",
        "part_c2s_sans_participation", "part_menages_locataires_hlm", "part_menages_locataires",
        "part_logements_vacants", "part_menages_au_moins_une_voiture", "part_actifs_transports_commun",
        "part_actifs_voiture"]},
    # four numerator variables: 100×(4×20)/200 = 40 ; 100×(4×80)/500 = 64
    "part_emplois_precaires": (40.0, 64.0),
    # (SCOL1517 + SCOL1824)/(POP1517 + POP1824): 100×40/400 = 10 ; 100×160/1000 = 16
    "taux_scolarisation_15_24": (10.0, 16.0),
    # (POP1517 − SCOL1517)/POP1517: 100×(200−20)/200 = 90 ; 100×(500−80)/500 = 84
    "part_15_17_non_scolarises": (90.0, 84.0),
    # three numerator variables: 100×60/200 = 30 ; 100×240/500 = 48
    "part_diplomes_superieur": (30.0, 48.0),
    # two numerator variables: 100×40/200 = 20 ; 100×160/500 = 32
    "part_logements_avant_1946": (20.0, 32.0),
    "part_logements_suroccupes": (20.0, 32.0),
    # producer values (never summed): value of IRIS A × facteur ; the commune's own producer value
    "revenu_mensuel_q1": (12000 / 12, 13200 / 12),        # 1 000 € ; 1 100 €
    "revenu_median_mensuel": (18000 / 12, 19800 / 12),    # 1 500 € ; 1 650 €
    "taux_pauvrete": (35.5, 21.0),
    "part_revenus_activite_revenu_disponible": (55.0, 68.5),
    "part_prestations_sociales_revenu": (12.5, 6.0),
    "rapport_interdecile": (3.1, 3.4),
}
PRODUCER = {"DISP_Q1": (12000, 13200), "DISP_MED": (18000, 19800), "DISP_TP60": (35.5, 21.0),
            "DISP_PACT": (55.0, 68.5), "DISP_PPSOC": (12.5, 6.0), "DISP_RD": (3.1, 3.4)}


def test_expected_covers_the_catalogue():
    assert set(EXPECTED) == set(CAT)


def _levels(ind):
    """(base level, reference level, code A, code B, reference code)."""
    if "iris" in ind.echelles:
        return "iris", "commune", IRIS_A, IRIS_B, "59606"
    return "qpv2024", "ensemble_qpv_epci", QP_A, QP_B, SIREN


def _fixture_tables(ind):
    base, _, a, b, _ = _levels(ind)
    if ind.type == "valeur_producteur":
        var = ind.variable
        va, vref = PRODUCER[var]
        return [table("insee_filosofi_iris", base, 2021, {var: [va, va * 2]}, [a, b]),
                table("insee_filosofi_cc", "commune", 2021, {var: [vref]}, ["59606"])]
    num = alternatives(ind.numerateur or ind.variable)[0]
    den = alternatives(ind.denominateur)[0] if ind.denominateur else ""
    den_vars = expression_variables(den) if den else []
    num_vars = [v for v in expression_variables(num) if v not in den_vars]
    values = {v: [20.0, 60.0] for v in num_vars}
    den_values = {v: [200.0, 300.0] for v in den_vars}
    if ind.extra.get("source_denominateur"):
        # numerator (e.g. CAF 2023) and denominator (census 2022) in two tables of the same level
        return [table(ind.source, base, 2023, values, [a, b]),
                table(ind.extra["source_denominateur"], base, 2022, den_values, [a, b])]
    values.update(den_values)
    return [table(ind.source, base, 2022, values, [a, b])]


@pytest.mark.parametrize("ident", list(CAT))
def test_indicator_by_hand(ident):
    ind = CAT[ident]
    base, ref, a, b, ref_code = _levels(ind)
    tidy = compute_indicators(base_inputs(_fixture_tables(ind)), {ident: ind})
    exp_a, exp_ref = EXPECTED[ident]
    ra = one(tidy, base, a, ident)
    assert ra["valeur"] == pytest.approx(exp_a)
    assert ra["statut"] == "ok" and ra["methode"] == "producteur"
    rr = one(tidy, ref, ref_code, ident)
    assert rr["valeur"] == pytest.approx(exp_ref)
    if ind.type == "valeur_producteur":
        assert rr["methode"] == "producteur"
        assert math.isnan(rr["numerateur"]) and math.isnan(rr["denominateur"])
        # a median is never summed: no EPCI row without an EPCI producer table
        assert rows(tidy, "epci", SIREN, ident).empty
    else:
        assert rr["methode"] == "somme"
        if ind.type == "ratio":
            assert rr["valeur"] == pytest.approx(100 * rr["numerateur"] / rr["denominateur"])
    assert list(tidy.columns) == TIDY_COLUMNS


# --------------------------------------------------------------------------------------------------
# Reference territories
# --------------------------------------------------------------------------------------------------

def test_commune_tables_give_epci_departement_france():
    ind = CAT["taux_emploi_15_64"]
    # communes: 59606 (territory), 59014 (Nord, outside the territory list), 62041 (Pas-de-Calais)
    t = table("insee_rp_cc_act", "commune", 2022,
              {"P_ACTOCC1564": [100, 50, 30], "P_POP1564": [400, 100, 100]}, ["59606", "59014", "62041"])
    tidy = compute_indicators(base_inputs([t]), {ind.id: ind})
    # EPCI = territory communes only: 100/400 = 25 %
    assert one(tidy, "epci", SIREN, ind.id)["valeur"] == pytest.approx(25.0)
    # Nord = 59606 + 59014: 150/500 = 30 %
    assert one(tidy, "departement", "59", ind.id)["valeur"] == pytest.approx(30.0)
    assert one(tidy, "departement", "59", ind.id)["libelle_territoire"] == "Nord"
    # France métropolitaine = all communes: 180/600 = 30 %
    assert one(tidy, "france", "FRM", ind.id)["valeur"] == pytest.approx(30.0)
    # commune rows only for the territory's communes (and communes the inputs list)
    assert set(tidy[tidy.type_territoire == "commune"].code_territoire) == {"59606"}


def test_producer_rows_for_departement_and_france():
    ind = CAT["taux_pauvrete"]
    tables = [table("insee_filosofi_cc", "departement", 2021, {"DISP_TP60": [19.0]}, ["59"]),
              table("insee_filosofi_cc", "france", 2021, {"DISP_TP60": [14.9]}, ["FRM"]),
              table("insee_filosofi_cc", "epci", 2021, {"DISP_TP60": [22.0]}, [SIREN])]
    tidy = compute_indicators(base_inputs(tables), {ind.id: ind})
    assert one(tidy, "departement", "59", ind.id)["valeur"] == 19.0
    assert one(tidy, "france", "FRM", ind.id)["valeur"] == 14.9
    assert one(tidy, "epci", SIREN, ind.id)["valeur"] == 22.0


def test_ensemble_qpv_departement_from_producer_qpv_table():
    ind = CAT["part_neet_16_25"]
    # three Nord quartiers and one Pas-de-Calais quartier
    t = table("insee_qpv2024_population", "qpv2024", 2020,
              {"P_NEET1625": [40, 30, 10, 99], "P_POP1625": [100, 100, 50, 100]},
              [QP_A, QP_B, "QN05901M", "QN06201M"], geo=2024)
    tidy = compute_indicators(base_inputs([t]), {ind.id: ind})
    # (40 + 30 + 10) / (100 + 100 + 50) = 32 %
    r = one(tidy, "ensemble_qpv_departement", "59", ind.id)
    assert r["valeur"] == pytest.approx(32.0) and r["millesime_geographie"] == 2024
    # all quartiers of the EPCI (the two listed): 70 / 200 = 35 %
    assert one(tidy, "ensemble_qpv_epci", SIREN, ind.id)["valeur"] == pytest.approx(35.0)


def test_ensemble_needs_every_quartier():
    ind = CAT["part_neet_16_25"]
    t = table("insee_qpv2024_population", "qpv2024", 2020, {"P_NEET1625": [40], "P_POP1625": [100]}, [QP_A])
    tidy = compute_indicators(base_inputs([t]), {ind.id: ind})
    assert rows(tidy, "ensemble_qpv_epci", SIREN, ind.id).empty


# --------------------------------------------------------------------------------------------------
# Secrecy
# --------------------------------------------------------------------------------------------------

def test_secret_and_nd_propagate_and_stay_empty():
    ind = CAT["part_familles_monoparentales"]
    t = table("insee_rp_ic_fam", "iris", 2022,
              {"C_FAMMONO": [20, 60, 5], "C_FAM": [200, 300, 50]}, [IRIS_A, IRIS_B, "591780101"],
              statut={"C_FAMMONO": {IRIS_B: "secret"}, "C_FAM": {"591780101": "nd"}})
    tidy = compute_indicators(base_inputs([t], territory_communes={"59606", "59178"}), {ind.id: ind})
    assert one(tidy, "iris", IRIS_A, ind.id)["valeur"] == pytest.approx(10.0)
    for kind, code, stt in (("iris", IRIS_B, "secret"), ("iris", "591780101", "nd"),
                            ("commune", "59606", "secret"), ("commune", "59178", "nd"),
                            ("epci", SIREN, "secret")):   # secret wins over nd in the EPCI sum
        r = one(tidy, kind, code, ind.id)
        assert r["statut"] == stt
        assert math.isnan(r["valeur"]) and math.isnan(r["numerateur"]) and math.isnan(r["denominateur"])


def test_withheld_producer_value():
    ind = CAT["revenu_median_mensuel"]
    t = table("insee_filosofi_iris", "iris", 2021, {"DISP_MED": [18000, 0]}, [IRIS_A, IRIS_B],
              statut={"DISP_MED": {IRIS_B: "secret"}})
    tidy = compute_indicators(base_inputs([t]), {ind.id: ind})
    r = one(tidy, "iris", IRIS_B, ind.id)
    assert r["statut"] == "secret" and math.isnan(r["valeur"])


def test_zero_denominator_is_nd_not_zero():
    ind = CAT["taux_emploi_15_24"]
    t = table("insee_rp_ic_act", "iris", 2022, {"P_ACTOCC1524": [0, 5], "P_POP1524": [0, 10]}, [IRIS_A, IRIS_B])
    tidy = compute_indicators(base_inputs([t]), {ind.id: ind})
    r = one(tidy, "iris", IRIS_A, ind.id)
    assert r["statut"] == "nd" and math.isnan(r["valeur"])
    assert one(tidy, "commune", "59606", ind.id)["valeur"] == pytest.approx(50.0)  # 5/10


def test_statut_priority():
    assert worst_statut(["ok", "estime", "simule"]) == "simule"
    assert worst_statut(["estime", "nd", "secret"]) == "secret"
    assert worst_statut(["ok", "estime"]) == "estime"


def test_simulated_inputs_are_marked():
    ind = CAT["part_femmes"]
    t = table("insee_rp_ic_pop", "iris", 2022, {"P_POPF": [20, 60], "P_POP": [200, 300]}, [IRIS_A, IRIS_B],
              simule=True)
    tidy = compute_indicators(base_inputs([t]), {ind.id: ind})
    assert set(tidy["statut"]) == {"simule"}


# --------------------------------------------------------------------------------------------------
# Quartiers: producer, IRIS estimate, transposition
# --------------------------------------------------------------------------------------------------

CROSSWALK = pd.DataFrame({"code_iris": [IRIS_A, IRIS_B, IRIS_B], "code_zone": [QP_A, QP_A, QP_B],
                          "poids_surface": [1.0, 0.5, 0.25]})


def test_iris_estimate_for_quartiers():
    ind = CAT["taux_emploi_15_64"]
    t = table("insee_rp_ic_act", "iris", 2022, {"P_ACTOCC1564": [20, 60], "P_POP1564": [200, 300]}, [IRIS_A, IRIS_B])
    tidy = compute_indicators(base_inputs([t], crosswalks={"qpv2024": CROSSWALK}, estimation_method="surface"),
                              {ind.id: ind})
    # QP_A = 1 × A + 0.5 × B: (20 + 30) / (200 + 150) = 14.2857 %
    ra = one(tidy, "qpv2024", QP_A, ind.id)
    assert ra["valeur"] == pytest.approx(100 * 50 / 350)
    assert (ra["statut"], ra["methode"], ra["millesime_geographie"]) == ("estime", "surface", 2024)
    assert ra["qualite"] in ("bonne", "moyenne", "faible")
    # QP_B = 0.25 × B: 15 / 75 = 20 %
    assert one(tidy, "qpv2024", QP_B, ind.id)["valeur"] == pytest.approx(20.0)
    # all quartiers of the EPCI: (50 + 15) / (350 + 75) — sums of the estimated counts
    ens = one(tidy, "ensemble_qpv_epci", SIREN, ind.id)
    assert ens["valeur"] == pytest.approx(100 * 65 / 425)
    assert ens["statut"] == "estime" and ens["methode"] == "somme"


def test_secret_iris_makes_estimate_secret():
    ind = CAT["taux_emploi_15_64"]
    t = table("insee_rp_ic_act", "iris", 2022, {"P_ACTOCC1564": [20, 60], "P_POP1564": [200, 300]},
              [IRIS_A, IRIS_B], statut={"P_ACTOCC1564": {IRIS_B: "secret"}})
    tidy = compute_indicators(base_inputs([t], crosswalks={"qpv2024": CROSSWALK}), {ind.id: ind})
    for code in (QP_A, QP_B):
        r = one(tidy, "qpv2024", code, ind.id)
        assert r["statut"] == "secret" and math.isnan(r["valeur"]) and math.isnan(r["numerateur"])


def test_producer_quartier_figure_wins_over_estimate():
    ind = CAT["taux_emploi_15_64"]
    iris = table("insee_rp_ic_act", "iris", 2022, {"P_ACTOCC1564": [20, 60], "P_POP1564": [200, 300]}, [IRIS_A, IRIS_B])
    qp = table("insee_qpv2024_population", "qpv2024", 2022, {"P_ACTOCC1564": [33], "P_POP1564": [100]}, [QP_A], geo=2024)
    tidy = compute_indicators(base_inputs([iris, qp], crosswalks={"qpv2024": CROSSWALK}), {ind.id: ind})
    ra = one(tidy, "qpv2024", QP_A, ind.id)
    assert (ra["valeur"], ra["methode"], ra["statut"]) == (pytest.approx(33.0), "producteur", "ok")
    assert one(tidy, "qpv2024", QP_B, ind.id)["methode"] in ("surface", "dasymetrique")


def test_transposition_2015_to_2024():
    cw = pd.DataFrame({"code_source": ["QP059030", "QP059031"], "code_zone": [QP_A, QP_A],
                       "poids_surface": [1.0, 0.5]})
    tables = [table("insee_filosofi_qp15", "qpv2015", 2021, {"DISP_MED": [12000, 15000]},
                    ["QP059030", "QP059031"], geo=2015),
              table("insee_qpv2015_cnaf", "qpv2015", 2021, {"NB_FOY_RSA": [10, 40], "NB_FOY_ALLOC": [100, 200]},
                    ["QP059030", "QP059031"], geo=2015)]
    inp = base_inputs(tables, crosswalks={"qpv2015_qpv2024": cw},
                      qpv2015=pd.DataFrame({"code_qp": ["QP059030", "QP059031"], "nom_qp": ["D", "B"]}))
    tidy = compute_indicators(inp, {k: CAT[k] for k in ("revenu_median_mensuel", "part_allocataires_rsa")})
    # median: weighted mean (1 × 12000 + 0.5 × 15000) / 1.5 = 13000 € a year → 1083.33 € a month
    r = one(tidy, "qpv2024", QP_A, "revenu_median_mensuel")
    assert r["valeur"] == pytest.approx(13000 / 12)
    assert (r["methode"], r["statut"], r["millesime_geographie"]) == ("transposition_2015_2024", "estime", 2024)
    # counts: (10 + 0.5 × 40) / (100 + 0.5 × 200) = 30 / 200 = 15 %
    r = one(tidy, "qpv2024", QP_A, "part_allocataires_rsa")
    assert r["valeur"] == pytest.approx(15.0) and r["numerateur"] == pytest.approx(30.0)
    # the 2015 quartiers keep their producer figures
    assert one(tidy, "qpv2015", "QP059030", "revenu_median_mensuel")["valeur"] == pytest.approx(1000.0)


def test_commune_parts_and_zones():
    ind = CAT["population"]
    t = table("insee_rp_ic_pop", "iris", 2022, {"P_POP": [1000, 2000]}, [IRIS_A, IRIS_B])
    parts = pd.DataFrame({"code_iris": [IRIS_A], "code_zone": [f"{QP_A}_59606"], "poids_surface": [0.5]})
    zone = pd.DataFrame({"code_iris": [IRIS_B], "code_zone": ["VEILLE"], "poids_surface": [1.0]})
    inp = base_inputs([t], crosswalks={"partie_qpv2024": parts, "zone": zone},
                      zones=pd.DataFrame({"code": ["VEILLE"], "libelle": ["Veille active"]}))
    tidy = compute_indicators(inp, {ind.id: ind})
    assert one(tidy, "partie_qpv2024", f"{QP_A}_59606", ind.id)["valeur"] == pytest.approx(500.0)
    z = one(tidy, "zone", "VEILLE", ind.id)
    assert z["valeur"] == pytest.approx(2000.0) and z["libelle_territoire"] == "Veille active"


# --------------------------------------------------------------------------------------------------
# Cross-source denominators, alternatives, several millésimes
# --------------------------------------------------------------------------------------------------

def test_cross_source_denominator_uses_latest_earlier_census():
    ind = CAT["taux_couverture_caf"]
    tables = [table("caf_alloc", "iris", 2023, {"NB_PERS_COUV": [50, 50]}, [IRIS_A, IRIS_B]),
              table("insee_rp_ic_pop", "iris", 2017, {"P_POP": [400, 400]}, [IRIS_A, IRIS_B]),
              table("insee_rp_ic_pop", "iris", 2022, {"P_POP": [200, 300]}, [IRIS_A, IRIS_B])]
    tidy = compute_indicators(base_inputs(tables), {ind.id: ind})
    # 2023 CAF over RP 2022 (latest not after 2023): 50/200 = 25 % ; commune 100/500 = 20 %
    r = one(tidy, "iris", IRIS_A, ind.id, 2023)
    assert r["valeur"] == pytest.approx(25.0) and r["source"] == "caf_alloc"
    assert one(tidy, "commune", "59606", ind.id, 2023)["valeur"] == pytest.approx(20.0)


def test_alternatives_pick_available_variables():
    ind = CAT["part_60_ans_plus"]
    iris = table("insee_rp_ic_pop", "iris", 2022, {"P_POP6074": [30, 0], "P_POP75P": [10, 0], "P_POP": [200, 100]},
                 [IRIS_A, IRIS_B])
    qp = table("insee_qpv2024_population", "qpv2024", 2022, {"P_POP60P": [25], "P_POP": [100]}, [QP_A], geo=2024)
    tidy = compute_indicators(base_inputs([iris, qp]), {ind.id: ind})
    assert one(tidy, "iris", IRIS_A, ind.id)["valeur"] == pytest.approx(20.0)   # (30 + 10)/200
    assert one(tidy, "qpv2024", QP_A, ind.id)["valeur"] == pytest.approx(25.0)  # 25/100


def _two_years():
    ind = CAT["taux_emploi_15_64"]
    t17 = table("insee_rp_ic_act", "iris", 2017, {"P_ACTOCC1564": [80, 10], "P_POP1564": [200, 100]}, [IRIS_A, IRIS_B])
    t20 = table("insee_rp_ic_act", "iris", 2020, {"P_ACTOCC1564": [85, 10], "P_POP1564": [200, 100]}, [IRIS_A, IRIS_B])
    t22 = table("insee_rp_ic_act", "iris", 2022, {"P_ACTOCC1564": [90, 0], "P_POP1564": [200, 100]}, [IRIS_A, IRIS_B],
                statut={"P_ACTOCC1564": {IRIS_B: "secret"}})
    pop = CAT["population"]
    p17 = table("insee_rp_ic_pop", "iris", 2017, {"P_POP": [1000, 500]}, [IRIS_A, IRIS_B])
    p22 = table("insee_rp_ic_pop", "iris", 2022, {"P_POP": [1100, 500]}, [IRIS_A, IRIS_B])
    return compute_indicators(base_inputs([t17, t20, t22, p17, p22]), {ind.id: ind, pop.id: pop})


def test_evolution_points_percent_and_census_rule():
    tidy = _two_years()
    # rate: 45 % (90/200) − 40 % (80/200) = +5 points
    assert evolution(tidy, "taux_emploi_15_64", IRIS_A, 2017, 2022, "iris", CAT) == pytest.approx(5.0)
    # census editions 2 years apart: not compared by default, allowed when overridden (45 − 42.5)
    assert evolution(tidy, "taux_emploi_15_64", IRIS_A, 2020, 2022, "iris", CAT) is None
    assert evolution(tidy, "taux_emploi_15_64", IRIS_A, 2020, 2022, "iris", CAT,
                     annees_ecart_min=0) == pytest.approx(2.5)
    # count: 1100 vs 1000 = +10 %
    assert evolution(tidy, "population", IRIS_A, 2017, 2022, "iris", CAT) == pytest.approx(10.0)
    # a secret end value gives no change
    assert evolution(tidy, "taux_emploi_15_64", IRIS_B, 2017, 2022, "iris", CAT) is None


def test_comparable_census_rule():
    rp, caf = CAT["taux_emploi_15_64"], CAT["part_allocataires_rsa"]
    # census (catalogue family insee_rp): |2022 − 2019| = 3 < 5 → not comparable; |2022 − 2017| = 5 ≥ 5
    assert comparable(rp, "insee_rp_ic_act", 2019, 2022) is False
    assert comparable(rp, "insee_rp_ic_act", 2017, 2022) is True
    assert comparable(rp, "insee_rp_ic_act", 2022, 2017) is True           # order does not matter
    # threshold from the configuration: 3 ≥ 3 → comparable; 0 disables the rule
    assert comparable(rp, "insee_rp_ic_act", 2019, 2022, annees_ecart_min=3) is True
    assert comparable(rp, "insee_rp_ic_act", 2019, 2022, annees_ecart_min=0) is True
    # census recognised from the table's source id alone (no catalogue entry), QPV population too
    assert comparable(None, "insee_rp_ic_pop", 2019, 2022) is False
    assert comparable(None, "insee_qpv2024_population", 2020, 2022) is False
    # other sources are always comparable: CAF 2019 → 2023 (4 years), even 1 year apart
    assert comparable(caf, "caf", 2019, 2023) is True
    assert comparable(caf, "caf", 2022, 2023) is True
    assert comparable(None, "cnam", 2022, 2023) is True


def test_add_evolutions_table():
    ev = add_evolutions(_two_years(), CAT)
    r = ev[(ev.code_territoire == IRIS_A) & (ev.indicateur == "taux_emploi_15_64")].iloc[0]
    # 2022 compared with 2017 (2020 is fewer than 5 years before): +5 points
    assert (r.millesime_debut, r.millesime_fin, r.unite_evolution) == (2017, 2022, "points")
    assert r.evolution == pytest.approx(5.0)
    rb = ev[(ev.code_territoire == IRIS_B) & (ev.indicateur == "taux_emploi_15_64")].iloc[0]
    assert rb.statut == "secret" and math.isnan(rb.evolution) and math.isnan(rb.valeur_fin)
    rp = ev[(ev.code_territoire == "59606") & (ev.indicateur == "population")].iloc[0]
    assert rp.unite_evolution == "%" and rp.evolution == pytest.approx(100 * (1600 - 1500) / 1500)
    ev0 = add_evolutions(_two_years(), CAT, annees_ecart_min=0)
    r0 = ev0[(ev0.code_territoire == IRIS_A) & (ev0.indicateur == "taux_emploi_15_64")].iloc[0]
    assert r0.millesime_debut == 2020 and r0.evolution == pytest.approx(2.5)


def test_several_millesimes_side_by_side_and_dtypes():
    tidy = _two_years()
    assert sorted(rows(tidy, "iris", IRIS_A, "taux_emploi_15_64").millesime) == [2017, 2020, 2022]
    assert list(tidy.columns) == TIDY_COLUMNS
    assert tidy["millesime"].dtype == np.int64 and tidy["valeur"].dtype == np.float64
    assert tidy.loc[tidy.methode == "producteur", "qualite"].isna().all()


def test_empty_inputs_give_empty_tidy():
    tidy = compute_indicators(base_inputs([]), CAT)
    assert list(tidy.columns) == TIDY_COLUMNS and tidy.empty


# --------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------

_counts = st.lists(st.tuples(st.integers(0, 500), st.integers(1, 1000), st.sampled_from(["ok", "ok", "ok", "secret", "nd"])),
                   min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_counts)
def test_reference_rate_is_sum_of_parts(parts):
    ind = CAT["taux_emploi_15_64"]
    codes = [f"5960601{i:02d}" for i in range(len(parts))]
    num = [min(n, d) for n, d, _ in parts]
    den = [d for _, d, _ in parts]
    statut = {"P_ACTOCC1564": {c: s for c, (_, _, s) in zip(codes, parts) if s != "ok"}}
    t = table("insee_rp_ic_act", "iris", 2022, {"P_ACTOCC1564": num, "P_POP1564": den}, codes, statut=statut)
    tidy = compute_indicators(base_inputs([t]), {ind.id: ind})
    com = one(tidy, "commune", "59606", ind.id)
    epci = one(tidy, "epci", SIREN, ind.id)
    withheld = [s for *_, s in parts if s != "ok"]
    if withheld:
        expected = "secret" if "secret" in withheld else "nd"
        for r in (com, epci):
            assert r["statut"] == expected
            assert math.isnan(r["valeur"]) and math.isnan(r["numerateur"]) and math.isnan(r["denominateur"])
    else:
        for r in (com, epci):
            assert r["valeur"] == pytest.approx(100 * sum(num) / sum(den))
            assert r["numerateur"] == pytest.approx(sum(num)) and r["denominateur"] == pytest.approx(sum(den))
    iris_rows = tidy[tidy.type_territoire == "iris"]
    secret_codes = {c for c, (_, _, s) in zip(codes, parts) if s == "secret"}
    sec = iris_rows[iris_rows.code_territoire.isin(secret_codes)]
    assert (sec.statut == "secret").all()
    assert sec[["valeur", "numerateur", "denominateur"]].isna().all().all()
    # nowhere in the table does a secret row carry a number
    assert tidy.loc[tidy.statut.isin(["secret", "nd"]), ["valeur", "numerateur", "denominateur"]].isna().all().all()


# --------------------------------------------------------------------------------------------------
# Official-format files through the readers (real headers of ../shared/data/formats)
# --------------------------------------------------------------------------------------------------

from pathlib import Path  # noqa: E402

FORMATS = Path(__file__).resolve().parents[2] / "shared" / "data" / "formats"


def _header(name: str, startswith: str) -> list[str]:
    line = next(l for l in (FORMATS / name).read_text(encoding="utf-8").splitlines() if l.startswith(startswith))
    return line.strip().split(";")


@pytest.mark.skipif(not (FORMATS / "insee_base_ic_evol_struct_pop.txt").exists(), reason="../shared absent")
def test_official_census_header_to_indicators(tmp_path):
    insee = pytest.importorskip("observatoire.sources.insee")
    header = _header("insee_base_ic_evol_struct_pop.txt", "IRIS;COM;TYP_IRIS;LAB_IRIS;P22_POP;")
    assert len(header) == 76
    # two IRIS of commune 01004 with the real first columns; counts chosen for the hand computation
    vals = {"P22_POP": (2000.0, 3000.0), "P22_POP0014": (500.0, 250.0), "P22_POPF": (1000.0, 1700.0),
            "P22_POP6074": (100.0, 200.0), "P22_POP75P": (60.0, 90.0)}
    lines = [";".join(header)]
    for i, code in enumerate(("010040101", "010040102")):
        row = []
        for c in header:
            row.append({"IRIS": code, "COM": "01004", "TYP_IRIS": "H", "LAB_IRIS": "1"}.get(
                c, str(vals[c][i]) if c in vals else "10"))
        lines.append(";".join(row))
    p = tmp_path / "base-ic-evol-struct-pop-2022.CSV"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    t = insee.read_base_ic(p)
    cat = {k: CAT[k] for k in ("population", "part_moins_14_ans", "part_femmes", "part_75_ans_plus")}
    tidy = compute_indicators(base_inputs([t], territory_communes={"01004"}, communes=None), cat)
    # IRIS 010040101: 500/2000 = 25 % under 15; 1000/2000 = 50 % women; 60/2000 = 3 % aged 75+
    assert one(tidy, "iris", "010040101", "part_moins_14_ans")["valeur"] == pytest.approx(25.0)
    assert one(tidy, "iris", "010040101", "part_femmes")["valeur"] == pytest.approx(50.0)
    assert one(tidy, "iris", "010040101", "part_75_ans_plus")["valeur"] == pytest.approx(3.0)
    # commune 01004: 750/5000 = 15 %; 2700/5000 = 54 %; 150/5000 = 3 %; population 5000
    assert one(tidy, "commune", "01004", "part_moins_14_ans")["valeur"] == pytest.approx(15.0)
    assert one(tidy, "commune", "01004", "part_femmes")["valeur"] == pytest.approx(54.0)
    assert one(tidy, "commune", "01004", "population")["valeur"] == pytest.approx(5000.0)
    assert one(tidy, "commune", "01004", "population")["millesime_geographie"] == 2024


@pytest.mark.skipif(not (FORMATS / "insee_filosofi_iris_2021.txt").exists(), reason="../shared absent")
def test_official_filosofi_header_with_secret_cells(tmp_path):
    insee = pytest.importorskip("observatoire.sources.insee")
    header = _header("insee_filosofi_iris_2021.txt", "IRIS;DISP_TP6021;")
    lines = []
    for code, med, q1, tp in (("596060101", "18000", "12000", "35,5"), ("596060102", "s", "s", "s"),
                              ("596060103", "nd", "nd", "nd")):
        cells = {"IRIS": code, "DISP_MED21": med, "DISP_Q121": q1, "DISP_TP6021": tp, "DISP_NOTE21": "0"}
        lines.append(";".join(cells.get(c, "1,0" if med not in ("s", "nd") else med) for c in header))
    p = tmp_path / "BASE_TD_FILO_IRIS_2021_DISP.csv"
    p.write_text(";".join(header) + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    t = insee.read_filosofi_iris(p)
    cat = {k: CAT[k] for k in ("revenu_median_mensuel", "revenu_mensuel_q1", "taux_pauvrete")}
    tidy = compute_indicators(base_inputs([t]), cat)
    # 18 000 € a year → 1 500 € a month; 12 000 → 1 000; « 35,5 » → 35.5 %
    assert one(tidy, "iris", "596060101", "revenu_median_mensuel")["valeur"] == pytest.approx(1500.0)
    assert one(tidy, "iris", "596060101", "revenu_mensuel_q1")["valeur"] == pytest.approx(1000.0)
    assert one(tidy, "iris", "596060101", "taux_pauvrete")["valeur"] == pytest.approx(35.5)
    assert one(tidy, "iris", "596060102", "taux_pauvrete")["statut"] == "secret"
    assert one(tidy, "iris", "596060103", "taux_pauvrete")["statut"] == "nd"
    # producer values are never aggregated
    assert rows(tidy, "commune", "59606", "revenu_median_mensuel").empty


def test_dasymetric_weights_and_2015_ensemble():
    ind = CAT["part_femmes"]
    t = table("insee_rp_ic_pop", "iris", 2022, {"P_POPF": [20, 60], "P_POP": [200, 300]}, [IRIS_A, IRIS_B])
    cw15 = pd.DataFrame({"code_iris": [IRIS_A, IRIS_B], "code_zone": ["QP059030", "QP059031"],
                         "poids_surface": [0.5, 0.5], "poids_dasymetrique": [1.0, np.nan]})
    inp = base_inputs([t], crosswalks={"qpv2015": cw15},
                      qpv2015=pd.DataFrame({"code_qp": ["QP059030", "QP059031"], "nom_qp": ["D", "B"]}))
    tidy = compute_indicators(inp, {ind.id: ind})
    # QP059030: dasymetric weight 1 → 20/200 = 10 % ; QP059031: no raster weight → surface 0.5 → 30/150 = 20 %
    a = one(tidy, "qpv2015", "QP059030", ind.id)
    assert (a["valeur"], a["methode"], a["millesime_geographie"]) == (pytest.approx(10.0), "dasymetrique", 2015)
    b = one(tidy, "qpv2015", "QP059031", ind.id)
    assert (b["valeur"], b["methode"]) == (pytest.approx(20.0), "surface")
    # all 2015 quartiers of the EPCI: (20 + 30) / (200 + 150)
    ens = one(tidy, "ensemble_qpv_epci", SIREN, ind.id)
    assert ens["valeur"] == pytest.approx(100 * 50 / 350) and ens["millesime_geographie"] == 2015


def test_echelles_filter_levels():
    ind = CAT["part_neet_16_25"]     # quartier-level only: no IRIS/commune rows even if a table had them
    t = table("x", "iris", 2020, {"P_NEET1625": [1, 2], "P_POP1625": [10, 20]}, [IRIS_A, IRIS_B])
    tidy = compute_indicators(base_inputs([t]), {ind.id: ind})
    assert tidy.empty
