"""The indicator engine on hand-made tables: every expected value below is computed by hand in the
comment next to it (sums of numerators and denominators, published rates kept, coverage, transposition,
secrecy, provenance, evolutions) and hypothesis properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatoire.catalogue import load_catalogue
from observatoire.indicators import (IndicatorInputs, Quartiers, add_evolutions, comparable, compute_indicators,
                                     evolution, worst_statut)
from observatoire.sources.table import SourceTable
from observatoire.tidy import CODE_ENSEMBLE_FRANCE, CODE_FRANCE, TIDY_COLUMNS

CAT = load_catalogue()
SIREN = "245901160"
A, B, C, D = "596060101", "596060102", "590140101", "590140102"   # IRIS of Valenciennes (A, B) and Anzin (C, D)


def table(source, niveau, millesime, data: dict, index, statut: dict | None = None, simule=False, geo=None,
          notes: dict | None = None):
    """A SourceTable from plain dicts; ``statut`` overrides cells: {var: {code: "secret"}}."""
    d = pd.DataFrame(data, index=pd.Index(index, name="code"), dtype=float)
    s = pd.DataFrame("ok", index=d.index, columns=d.columns, dtype=object)
    n = pd.DataFrame("", index=d.index, columns=d.columns, dtype=object)
    for var, cells in (statut or {}).items():
        for code, stt in cells.items():
            s.loc[code, var] = stt
            d.loc[code, var] = np.nan
    for var, cells in (notes or {}).items():
        for code, note in cells.items():
            n.loc[code, var] = note
    return SourceTable(source, niveau, millesime, geo or millesime + 2, d, s, simule=simule, notes=n)


def one(tidy, kind, code, ind, millesime=None):
    sel = tidy[(tidy.type_territoire == kind) & (tidy.code_territoire == code) & (tidy.indicateur == ind)]
    if millesime is not None:
        sel = sel[sel.millesime == millesime]
    assert len(sel) == 1, (kind, code, ind, sel)
    return sel.iloc[0]


def none(tidy, kind, code, ind):
    sel = tidy[(tidy.type_territoire == kind) & (tidy.code_territoire == code) & (tidy.indicateur == ind)]
    assert sel.empty, sel


COMPOSITION = pd.DataFrame({"code_insee": ["59606", "59014", "59383"], "dep": ["59", "59", "59"],
                            "siren_epci": [SIREN, SIREN, SIREN]})
IRIS_REF = pd.DataFrame({"code_iris": [A, B, C, D], "code_insee": ["59606", "59606", "59014", "59014"],
                         "nom_iris": ["A", "B", "C", "D"]})


def inputs(tables, quartiers=None, **kw):
    d = dict(tables=tables,
             communes=pd.DataFrame({"code_insee": ["59606", "59014"], "nom": ["Valenciennes", "Anzin"],
                                    "dep": ["59", "59"], "siren_epci": [SIREN, SIREN]}),
             composition=COMPOSITION, iris=IRIS_REF,
             epcis=pd.DataFrame({"siren": [SIREN], "nom": ["CA Valenciennes Métropole"]}),
             departements=pd.DataFrame({"code": ["59"], "nom": ["Nord"]}), quartiers=quartiers or {})
    d.update(kw)
    return IndicatorInputs(**d)


def q15(*codes, debordant=()):
    liste = pd.DataFrame({"code": list(codes), "libelle": [f"Quartier {c}" for c in codes], "epci": SIREN,
                          "dep": "59", "debordant": [c in debordant for c in codes]})
    return Quartiers(2015, liste, None)


def census(**cells):
    """IRIS census table (RP 2022): taux d'emploi = P_ACTOCC1564 / P_POP1564."""
    return table("insee_rp_ic_activite", "iris", 2022, cells, [A, B, C, D][:len(next(iter(cells.values())))])


# --------------------------------------------------------------------------------------------------
# Sums of parts
# --------------------------------------------------------------------------------------------------

def test_commune_and_epci_are_sums_of_their_parts():
    t = table("insee_rp_ic_activite", "iris", 2022, {"P_ACTOCC1564": [40, 90, 30, 70], "P_POP1564": [100, 200, 100, 100]},
              [A, B, C, D])
    tidy = compute_indicators(inputs([t]), CAT)
    r = one(tidy, "iris", A, "taux_emploi_15_64")
    assert (r.valeur, r.numerateur, r.denominateur, r.statut, r.methode) == (40.0, 40.0, 100.0, "ok", "producteur")
    # Valenciennes = (40 + 90) / (100 + 200) = 43,33 %
    r = one(tidy, "commune", "59606", "taux_emploi_15_64")
    assert r.valeur == pytest.approx(100 * 130 / 300) and (r.numerateur, r.denominateur) == (130.0, 300.0)
    assert r.methode == "somme" and r.statut == "ok"
    # the EPCI has a third commune (59383) without any figure: not published, and says why
    r = one(tidy, "epci", SIREN, "taux_emploi_15_64")
    assert r.statut == "nd" and np.isnan(r.valeur) and "2 communes sur 3" in r.motif


def test_commune_missing_one_of_its_iris_is_not_published():
    t = table("insee_rp_ic_activite", "iris", 2022, {"P_ACTOCC1564": [40, 90, 30], "P_POP1564": [100, 200, 100]},
              [A, B, C])
    tidy = compute_indicators(inputs([t]), CAT)
    assert one(tidy, "commune", "59606", "taux_emploi_15_64").statut == "ok"
    r = one(tidy, "commune", "59014", "taux_emploi_15_64")  # IRIS D missing
    assert r.statut == "nd" and "1 IRIS sur 2" in r.motif


def test_producer_epci_row_wins_over_the_sum():
    iris = table("insee_rp_ic_activite", "iris", 2022, {"P_ACTOCC1564": [40, 90, 30, 70], "P_POP1564": [100, 200, 100, 100]},
                 [A, B, C, D])
    epci = table("insee_rp_cc_activite", "epci", 2022, {"P_ACTOCC1564": [500], "P_POP1564": [1000]}, [SIREN])
    tidy = compute_indicators(inputs([iris, epci]), CAT)
    r = one(tidy, "epci", SIREN, "taux_emploi_15_64")
    assert (r.valeur, r.methode) == (50.0, "producteur")


# --------------------------------------------------------------------------------------------------
# The producer's published rates (INSEE tables by quartier)
# --------------------------------------------------------------------------------------------------

def _demo(**kw):
    # two quartiers of the EPCI and one elsewhere in the département (QP059099)
    return table("insee_qp_demo", "qpv2015", 2022, {"P_POP": [1000, 3000, 500], "TX_F": [50.0, 60.0, 55.0],
                                                     "TX_EMPL_1564": [30.0, 40.0, 35.0]},
                 ["QP059020", "QP059030", "QP059099"], geo=2015, **kw)


def test_published_rate_is_kept_never_recomputed():
    tidy = compute_indicators(inputs([_demo()], {2015: q15("QP059020", "QP059030")}), CAT)
    r = one(tidy, "qpv2015", "QP059030", "part_femmes")
    assert (r.valeur, r.methode, r.statut) == (60.0, "producteur", "ok")
    assert np.isnan(r.numerateur) and np.isnan(r.denominateur)


def test_sets_sum_published_rates_only_with_their_published_denominator():
    tidy = compute_indicators(inputs([_demo()], {2015: q15("QP059020", "QP059030", debordant=("QP059030",))}), CAT)
    # part des femmes : (50 % × 1 000 + 60 % × 3 000) / 4 000 = 57,5 %, method « somme_ponderee »
    r = one(tidy, "ensemble_qpv2015_epci", SIREN, "part_femmes")
    assert r.valeur == pytest.approx(57.5) and r.methode == "somme_ponderee" and r.statut == "ok"
    assert "débordent de l'EPCI" in r.motif and "QP059030" in r.motif
    # taux d'emploi: no denominator published → no sum, the reason is written
    r = one(tidy, "ensemble_qpv2015_epci", SIREN, "taux_emploi_15_64")
    assert r.statut == "nd" and "ne se somme pas" in r.motif
    # population: counts sum, 1 000 + 3 000
    assert one(tidy, "ensemble_qpv2015_epci", SIREN, "population").valeur == 4000


def test_departement_set_needs_the_producer_table_beyond_the_territory():
    tidy = compute_indicators(inputs([_demo()], {2015: q15("QP059020", "QP059030")}), CAT)
    # 1 000 + 3 000 + 500 (QP059099 is outside the territory, in the Nord)
    assert one(tidy, "ensemble_qpv2015_departement", "59", "population").valeur == 4500
    only_territory = table("insee_qp_demo", "qpv2015", 2022, {"P_POP": [1000, 3000]}, ["QP059020", "QP059030"], geo=2015)
    tidy = compute_indicators(inputs([only_territory], {2015: q15("QP059020", "QP059030")}), CAT)
    none(tidy, "ensemble_qpv2015_departement", "59", "population")


def test_departement_set_is_complete_or_not_published():
    q = q15("QP059020", "QP059030")
    q.departement = {"59": {"QP059020", "QP059030", "QP059099", "QP059098"}}  # QP059098 has no figure
    tidy = compute_indicators(inputs([_demo()], {2015: q}), CAT)
    r = one(tidy, "ensemble_qpv2015_departement", "59", "population")
    assert r.statut == "nd" and "3 quartiers du département sur 4" in r.motif


def test_ensemble_row_of_the_producer_is_the_france_set():
    ens = table("insee_qp_demo", "ensemble_qpv2015_france", 2022, {"P_POP": [5_019_573], "TX_EMPL_1564": [44.6]},
                [CODE_ENSEMBLE_FRANCE], geo=2015)
    tidy = compute_indicators(inputs([_demo(), ens], {2015: q15("QP059020")}), CAT)
    r = one(tidy, "ensemble_qpv2015_france", CODE_ENSEMBLE_FRANCE, "taux_emploi_15_64")
    assert (r.valeur, r.methode) == (44.6, "producteur")
    assert one(tidy, "ensemble_qpv2015_france", CODE_ENSEMBLE_FRANCE, "population").valeur == 5_019_573


def test_producer_notes_kept_per_figure():
    t = _demo(notes={"TX_F": {"QP059030": "NOTE_RP:1"}})
    tidy = compute_indicators(inputs([t], {2015: q15("QP059030")}), CAT)
    assert one(tidy, "qpv2015", "QP059030", "part_femmes").note_producteur == "NOTE_RP:1"
    assert one(tidy, "qpv2015", "QP059030", "population").note_producteur == ""


def test_empty_producer_cell_is_nd_with_a_reason_never_zero():
    t = _demo(statut={"TX_F": {"QP059030": "nd"}})
    tidy = compute_indicators(inputs([t], {2015: q15("QP059020", "QP059030")}), CAT)
    r = one(tidy, "qpv2015", "QP059030", "part_femmes")
    assert r.statut == "nd" and np.isnan(r.valeur) and "non publié par le producteur" in r.motif
    assert one(tidy, "ensemble_qpv2015_epci", SIREN, "part_femmes").statut == "nd"


# --------------------------------------------------------------------------------------------------
# Estimates from IRIS, coverage, quality, transposition
# --------------------------------------------------------------------------------------------------

def _cw(rows):
    return pd.DataFrame(rows, columns=["code_iris", "code_zone", "poids_surface", "surface_inter_m2"])


def test_iris_estimate_with_coverage_and_quality():
    t = table("insee_rp_ic_activite", "iris", 2022, {"P_ACTOCC1564": [40, 90], "P_POP1564": [100, 200]}, [A, B])
    cw = _cw([(A, "QN05930M", 0.8, 800.0), (B, "QN05930M", 0.1, 200.0)])
    totals = pd.DataFrame({"code_zone": ["QN05930M"], "surface_m2": [1000.0]})
    q24 = Quartiers(2024, pd.DataFrame({"code": ["QN05930M"], "libelle": ["Dutemple"], "epci": SIREN, "dep": "59",
                                        "debordant": False}))
    tidy = compute_indicators(inputs([t], {2024: q24}, crosswalks={"qpv2024": cw}, zones_total={"qpv2024": totals},
                                     estimation_method="surface"), CAT)
    r = one(tidy, "qpv2024", "QN05930M", "taux_emploi_15_64")
    # (0,8 × 40 + 0,1 × 90) / (0,8 × 100 + 0,1 × 200) = 41 / 100 = 41 %
    assert r.valeur == pytest.approx(41.0) and r.statut == "estime" and r.methode == "surface"
    assert r.couverture == pytest.approx(1.0) and r.qualite == "bonne"   # IRIS A (weight 0,8) lies mostly inside
    # the set of the EPCI's 2024 quartiers is built from an estimate: estimate mark and quality
    s = one(tidy, "ensemble_qpv2024_epci", SIREN, "taux_emploi_15_64")
    assert s.statut == "estime" and s.qualite == "bonne" and s.valeur == pytest.approx(41.0)


def test_a_quartier_half_outside_the_iris_layer_is_not_bonne():
    t = table("insee_rp_ic_activite", "iris", 2022, {"P_ACTOCC1564": [40], "P_POP1564": [100]}, [A])
    totals = pd.DataFrame({"code_zone": ["QN1", "QN2"], "surface_m2": [1000.0, 1000.0]})
    cw = _cw([(A, "QN1", 0.9, 450.0), (A, "QN2", 0.05, 700.0)])
    liste = pd.DataFrame({"code": ["QN1", "QN2"], "libelle": ["Q1", "Q2"], "epci": SIREN, "dep": "59", "debordant": False})
    tidy = compute_indicators(inputs([t], {2024: Quartiers(2024, liste)}, crosswalks={"qpv2024": cw},
                                     zones_total={"qpv2024": totals}, estimation_method="surface"), CAT)
    # QN1: 45 % of its area in the IRIS layer → below the 50 % a rate needs: not published
    r = one(tidy, "qpv2024", "QN1", "taux_emploi_15_64")
    assert r.statut == "nd" and "45 %" in r.motif
    # QN2: 70 % covered → a figure, at best « faible »
    r = one(tidy, "qpv2024", "QN2", "taux_emploi_15_64")
    assert r.statut == "estime" and r.qualite == "faible" and r.couverture == pytest.approx(0.7)
    # a count needs 95 % of the quartier: population of QN2 not published
    pop = table("insee_rp_ic_pop", "iris", 2022, {"P_POP": [1000.0]}, [A])
    tidy = compute_indicators(inputs([pop], {2024: Quartiers(2024, liste)}, crosswalks={"qpv2024": cw},
                                     zones_total={"qpv2024": totals}, estimation_method="surface"), CAT)
    assert one(tidy, "qpv2024", "QN2", "population").statut == "nd"


def test_transposition_2015_to_2024():
    demo = table("insee_qp_demo", "qpv2015", 2022, {"P_POP": [1000, 3000], "TX_F": [50.0, 60.0],
                                                     "TX_EMPL_1564": [30.0, 40.0]}, ["QP059020", "QP059030"], geo=2015)
    # QN05930M holds all of QP059030 (75 % of its area) and 20 % of QP059020 (25 % of its area)
    cw = pd.DataFrame({"code_source": ["QP059030", "QP059020"], "code_zone": ["QN05930M", "QN05930M"],
                       "poids_surface": [1.0, 0.2], "part_cible": [0.75, 0.25]})
    liste = pd.DataFrame({"code": ["QN05930M"], "libelle": ["Dutemple"], "epci": SIREN, "dep": "59", "debordant": False})
    tidy = compute_indicators(inputs([demo], {2015: q15("QP059020", "QP059030"), 2024: Quartiers(2024, liste)},
                                     crosswalks={"qpv2015_qpv2024": cw}), CAT)
    # population: 1,0 × 3 000 + 0,2 × 1 000 = 3 200
    r = one(tidy, "qpv2024", "QN05930M", "population")
    assert r.valeur == pytest.approx(3200) and r.methode == "transposition_2015_2024" and r.statut == "estime"
    # women: (0,6 × 3 000 + 0,5 × 200) / 3 200 = 59,375 %
    assert one(tidy, "qpv2024", "QN05930M", "part_femmes").valeur == pytest.approx(100 * 1900 / 3200)
    # employment rate (no denominator): area-weighted mean 0,75 × 40 + 0,25 × 30 = 37,5
    assert one(tidy, "qpv2024", "QN05930M", "taux_emploi_15_64").valeur == pytest.approx(37.5)
    # a 2024 set never mixes in the 2015 quartiers: its only part is QN05930M
    assert one(tidy, "ensemble_qpv2024_epci", SIREN, "population").valeur == pytest.approx(3200)
    assert one(tidy, "ensemble_qpv2015_epci", SIREN, "population").valeur == 4000


def test_producer_quartier_figure_wins_over_estimates():
    demo = table("insee_qp2024_rp", "qpv2024", 2022, {"P_POP": [2500.0]}, ["QN05930M"], geo=2024)
    iris = table("insee_rp_ic_pop", "iris", 2022, {"P_POP": [1000.0, 2000.0]}, [A, B])
    cw = _cw([(A, "QN05930M", 1.0, 800.0), (B, "QN05930M", 1.0, 200.0)])
    liste = pd.DataFrame({"code": ["QN05930M"], "libelle": ["Dutemple"], "epci": SIREN, "dep": "59", "debordant": False})
    tidy = compute_indicators(inputs([demo, iris], {2024: Quartiers(2024, liste)}, crosswalks={"qpv2024": cw}), CAT)
    r = one(tidy, "qpv2024", "QN05930M", "population")
    assert (r.valeur, r.methode) == (2500.0, "producteur")


# --------------------------------------------------------------------------------------------------
# Secrecy and provenance
# --------------------------------------------------------------------------------------------------

def test_secret_iris_makes_every_sum_secret():
    t = table("insee_rp_ic_activite", "iris", 2022, {"P_ACTOCC1564": [40, 90, 30, 70], "P_POP1564": [100, 200, 100, 100]},
              [A, B, C, D], statut={"P_ACTOCC1564": {B: "secret"}})
    tidy = compute_indicators(inputs([t]), CAT)
    assert one(tidy, "iris", B, "taux_emploi_15_64").statut == "secret"
    r = one(tidy, "commune", "59606", "taux_emploi_15_64")
    assert r.statut == "secret" and np.isnan(r.valeur) and np.isnan(r.numerateur)


def test_a_withheld_count_cannot_be_rebuilt_from_other_indicators_terms():
    # IRIS B: unemployed withheld; active and employed published by the producer
    t = table("insee_rp_ic_activite", "iris", 2022, {"P_ACT1564": [60, 120], "P_ACTOCC1564": [50, 100],
                                                     "P_CHOM1564": [10, 20], "P_POP1564": [100, 200]},
              [A, B], statut={"P_CHOM1564": {B: "secret"}})
    tidy = compute_indicators(inputs([t]), CAT)
    act, emp = one(tidy, "iris", B, "taux_activite_15_64"), one(tidy, "iris", B, "taux_emploi_15_64")
    # no numerator published for IRIS B: active − employed is not available
    assert np.isnan(act.numerateur) and np.isnan(emp.numerateur)
    assert act.valeur == 60.0 and emp.valeur == 50.0          # rates stay, rounded to 0,1
    # IRIS A has no withheld cell: its terms are published
    assert one(tidy, "iris", A, "taux_activite_15_64").numerateur == 60.0


def test_producer_total_minus_published_parts_never_gives_a_withheld_value():
    iris = table("insee_rp_ic_activite", "iris", 2022, {"P_CHOM1564": [10, 20, 5, 5], "P_ACT1564": [60, 120, 30, 30]},
                 [A, B, C, D], statut={"P_CHOM1564": {B: "secret"}})
    commune = table("insee_rp_cc_activite", "commune", 2022, {"P_CHOM1564": [30, 10], "P_ACT1564": [180, 60]},
                    ["59606", "59014"])
    tidy = compute_indicators(inputs([iris, commune]), CAT)
    r = one(tidy, "commune", "59606", "taux_chomage_15_64")
    assert r.methode == "producteur" and np.isnan(r.numerateur) and np.isnan(r.denominateur)
    assert r.valeur == pytest.approx(16.7)  # 100 × 30 / 180 rounded to its displayed precision
    assert one(tidy, "commune", "59014", "taux_chomage_15_64").numerateur == 10.0


def test_simulated_input_marks_every_figure_built_from_it():
    real = table("insee_qp_demo", "qpv2015", 2022, {"P_POP": [1000, 3000]}, ["QP059020", "QP059030"], geo=2015)
    sim = table("insee_rp_ic_activite", "iris", 2022, {"P_ACTOCC1564": [40, 90], "P_POP1564": [100, 200]}, [A, B],
                simule=True)
    tidy = compute_indicators(inputs([real, sim], {2015: q15("QP059020", "QP059030")}), CAT)
    assert not one(tidy, "qpv2015", "QP059030", "population").simule
    assert not one(tidy, "ensemble_qpv2015_epci", SIREN, "population").simule
    assert one(tidy, "iris", A, "taux_emploi_15_64").simule
    assert one(tidy, "commune", "59606", "taux_emploi_15_64").simule


def test_simulated_geometry_makes_estimates_simulated():
    t = table("insee_cnaf_iris", "iris", 2020, {"CNAF_A": [500, 800], "CNAF_AAAH": [50, 40]}, [A, B])
    cw = _cw([(A, "QN05930M", 1.0, 800.0), (B, "QN05930M", 1.0, 200.0)])
    liste = pd.DataFrame({"code": ["QN05930M"], "libelle": ["Dutemple"], "epci": SIREN, "dep": "59", "debordant": False})
    kw = dict(crosswalks={"qpv2024": cw})
    real = compute_indicators(inputs([t], {2024: Quartiers(2024, liste)}, **kw), CAT)
    assert not one(real, "qpv2024", "QN05930M", "part_allocataires_aah").simule
    sim = compute_indicators(inputs([t], {2024: Quartiers(2024, liste)}, geometrie_simulee={"qpv2024": True}, **kw), CAT)
    r = one(sim, "qpv2024", "QN05930M", "part_allocataires_aah")
    assert r.simule and r.valeur == pytest.approx(100 * 90 / 1300)   # the figure is the same, its status is not


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(1, 1000), st.booleans()), min_size=4, max_size=4),
       st.integers(0, 3))
def test_no_withheld_value_recoverable_by_difference(cells, forced):
    """Random IRIS counts with withheld cells: for every withheld (IRIS, variable), neither a published
    total minus the published parts nor another indicator's published terms give it back."""
    chom = [c[0] for c in cells]
    act = [c[0] + c[1] for c in cells]
    secret = {i for i, c in enumerate(cells) if c[2]} | {forced}
    codes = [A, B, C, D]
    iris = table("insee_rp_ic_activite", "iris", 2022, {"P_CHOM1564": chom, "P_ACT1564": act,
                                                       "P_ACTOCC1564": [a - c for a, c in zip(act, chom)],
                                                       "P_POP1564": [a + 50 for a in act]},
                 codes, statut={"P_CHOM1564": {codes[i]: "secret" for i in secret}})
    commune = table("insee_rp_cc_activite", "commune", 2022,
                    {"P_CHOM1564": [chom[0] + chom[1], chom[2] + chom[3]], "P_ACT1564": [act[0] + act[1], act[2] + act[3]]},
                    ["59606", "59014"])
    tidy = compute_indicators(inputs([iris, commune]), CAT)
    pub = tidy.set_index(["type_territoire", "code_territoire", "indicateur"])
    for i in secret:
        code = codes[i]
        # other indicators' terms of the same IRIS
        for ind in ("taux_activite_15_64", "taux_emploi_15_64"):
            assert np.isnan(pub.loc[("iris", code, ind), "numerateur"])
        # the commune's published numerator minus the sibling's published numerator
        commune_code = code[:5]
        sibling = codes[i ^ 1]
        tot = pub.loc[("commune", commune_code, "taux_chomage_15_64"), "numerateur"]
        part = pub.loc[("iris", sibling, "taux_chomage_15_64"), "numerateur"]
        assert np.isnan(tot) or np.isnan(part) or tot - part != chom[i]


# --------------------------------------------------------------------------------------------------
# Contract, evolutions
# --------------------------------------------------------------------------------------------------

def test_tidy_columns_and_dtypes():
    tidy = compute_indicators(inputs([_demo()], {2015: q15("QP059020", "QP059030")}), CAT)
    assert list(tidy.columns) == TIDY_COLUMNS
    assert tidy["simule"].dtype == bool and tidy["millesime"].dtype == "int64"
    assert set(tidy["statut"]) <= {"ok", "estime", "secret", "nd"}
    withheld = tidy[tidy["statut"].isin(["secret", "nd"])]
    assert withheld["valeur"].isna().all()


def test_echelles_filter_levels():
    tidy = compute_indicators(inputs([_demo()], {2015: q15("QP059020", "QP059030")}), CAT)
    # part_menages_6_personnes_plus is published for quartiers and France sets only
    assert set(tidy.loc[tidy.indicateur == "part_menages_6_personnes_plus", "type_territoire"]) <= {
        "qpv2015", "qpv2024", "ensemble_qpv2015_france", "ensemble_qpv2024_france"}


def _two_years():
    rows = []
    for m, (emp, pop, people) in {2017: (80, 200, 1000), 2020: (85, 200, 1010), 2022: (90, 200, 1020)}.items():
        rows.append(table("insee_rp_ic_activite", "iris", m, {"P_ACTOCC1564": [emp], "P_POP1564": [pop]}, [A]))
        rows.append(table("insee_rp_ic_pop", "iris", m, {"P_POP": [people]}, [A]))
    return compute_indicators(inputs(rows), CAT)


def test_evolution_points_percent_and_census_rule():
    tidy = _two_years()
    # rate: 45 % (90/200) − 40 % (80/200) = +5 points
    assert evolution(tidy, "taux_emploi_15_64", A, 2017, 2022, "iris", CAT) == pytest.approx(5.0)
    # census editions 2 years apart: not compared by default, allowed when overridden (45 − 42,5)
    assert evolution(tidy, "taux_emploi_15_64", A, 2020, 2022, "iris", CAT) is None
    assert evolution(tidy, "taux_emploi_15_64", A, 2020, 2022, "iris", CAT, annees_ecart_min=0) == pytest.approx(2.5)
    # count: 1 020 vs 1 000 = +2 %
    assert evolution(tidy, "population", A, 2017, 2022, "iris", CAT) == pytest.approx(2.0)


def test_comparable_census_rule():
    rp = CAT["taux_emploi_15_64"]
    assert comparable(rp, "insee_rp_ic_activite", 2017, 2022) and not comparable(rp, "insee_rp", 2019, 2022)
    assert comparable(CAT["part_allocataires_aah"], "insee_cnaf_iris", 2019, 2020)


def test_add_evolutions_table():
    ev = add_evolutions(_two_years(), CAT)
    r = ev[(ev.code_territoire == A) & (ev.indicateur == "taux_emploi_15_64")].iloc[0]
    assert (r.millesime_debut, r.millesime_fin, r.unite_evolution) == (2017, 2022, "points")
    assert r.evolution == pytest.approx(5.0)


def test_worst_statut():
    assert worst_statut(["ok", "estime", "nd"]) == "nd" and worst_statut(["ok", "secret", "nd"]) == "secret"


def test_empty_inputs_give_empty_tidy():
    tidy = compute_indicators(inputs([]), CAT)
    assert tidy.empty and list(tidy.columns) == TIDY_COLUMNS
