"""Values that cannot be true (``observatoire/validation.py``, run by ``read_source`` on every table):
negative counts, rates outside 0–100, numerators above their denominators."""

from __future__ import annotations

import pytest

from observatoire.errors import ObservatoireError, ValueCheckError
from observatoire.sources.readers import read_source

from . import hostile as h
from .conftest import assert_message, assert_refused

COMMUNES = {"00001", "00002", "00003", "00004"}


def _refused(source, path, fichier, *contient):
    with pytest.raises(ValueCheckError) as e:
        read_source(source, path, communes=COMMUNES)
    assert_message(str(e.value), fichier=fichier, correction="fichier officiel non modifié", contient=contient)


@pytest.mark.corpus("valeurs", "refuse")
def test_negative_population_refused_by_the_cli(projet):
    """« a census value of −2 478 inhabitants is published (part_femmes −51,2 %) »: no more."""
    p = projet.raw_file("insee_rp_ic_pop", "2022")
    h.rewrite_member(p, lambda raw: h.set_cell(raw, "000010103", "P22_POP", "-2478"))
    before = projet.snapshot()
    run = projet.cli("build")
    assert_refused(run, fichier="base-ic-evol-struct-pop-2022_csv.zip", correction="fichier officiel non modifié",
                   contient=("effectif négatif", "IRIS 000010103", "colonne P22_POP", "\u22122\u202f478"))
    assert projet.snapshot() == before and not projet.temporaries()


@pytest.mark.corpus("valeurs", "refuse")
def test_published_rate_above_100(projet):
    p = projet.raw_file("insee_qp_demo", "2022")
    p.write_bytes(h.set_cell(p.read_bytes(), "QP000001", "TX_F", "144,9"))
    _refused("insee_qp_demo", p, "DEMO_2022.csv", "hors de 0 à 100", "quartier QP000001", "colonne TX_F = 144,9 %")


@pytest.mark.corpus("valeurs", "refuse")
def test_poverty_rate_below_zero(projet):
    p = projet.raw_file("insee_filosofi_iris")
    p.write_bytes(h.set_cell(p.read_bytes(), "000010104", "DISP_TP6019", "-3,5"))
    _refused("insee_filosofi_iris", p, "BASE_TD_FILO_DISP_IRIS_2019.csv", "IRIS 000010104", "DISP_TP60")


@pytest.mark.corpus("valeurs", "refuse")
def test_more_employed_than_inhabitants_aged_15_64(projet):
    p = projet.raw_file("insee_rp_ic_activite", "2022")
    raw = h.read_member(p)
    pop = float(h.cell(raw, "000010102", "P22_POP1564"))
    h.rewrite_member(p, lambda raw: h.set_cell(raw, "000010102", "P22_ACTOCC1564", f"{pop + 40:.3f}"))
    _refused("insee_rp_ic_activite", p, "base-ic-activite-residents-2022_csv.zip",
             "numérateur supérieur à son dénominateur", "IRIS 000010102", "P22_ACTOCC1564", "> P22_POP1564")


@pytest.mark.corpus("valeurs", "refuse")
def test_negative_count_of_allocataires(projet):
    p = projet.raw_file("insee_cnaf_iris")
    p.write_bytes(h.set_cell(p.read_bytes(), "000010105", "AM", "-12"))
    _refused("insee_cnaf_iris", p, "data_CAF_2020_IRIS.csv", "effectif négatif", "IRIS 000010105", "CNAF_AM")


@pytest.mark.corpus("valeurs", "refuse")
def test_more_single_parent_allocataires_than_allocataires(projet):
    p = projet.raw_file("insee_cnaf_iris")
    a = float(h.cell(p.read_bytes(), "000010106", "A"))
    p.write_bytes(h.set_cell(p.read_bytes(), "000010106", "AI", str(int(a) + 50)))
    _refused("insee_cnaf_iris", p, "data_CAF_2020_IRIS.csv", "part_allocataires_isoles", "CNAF_AI")


def test_income_shares_may_be_negative_or_above_100(projet):
    """Not a hostile case: the truth of the real files (DISP_PACT 113,2, DISP_PPAT −2,4) stays accepted."""
    p = projet.raw_file("insee_filosofi_iris")
    raw = h.set_cell(p.read_bytes(), "000010101", "DISP_PACT19", "113,2")
    p.write_bytes(h.set_cell(raw, "000010101", "DISP_PIMPOT19", "-31,0"))
    t = read_source("insee_filosofi_iris", p, communes=COMMUNES)[0]
    assert t.data.at["000010101", "DISP_PACT"] == pytest.approx(113.2)
    assert t.data.at["000010101", "DISP_PIMPOT"] == pytest.approx(-31.0)


def test_a_withheld_cell_is_not_an_impossible_value(projet):
    p = projet.raw_file("insee_qp_demo", "2022")
    p.write_bytes(h.set_cell(p.read_bytes(), "QP000001", "TX_F", "s"))
    t = next(t for t in read_source("insee_qp_demo", p, communes=COMMUNES) if "TX_F" in t.data.columns
             and t.niveau == "qpv2015")
    assert t.statut.at["QP000001", "TX_F"] == "secret"
    with pytest.raises(ObservatoireError):
        p.write_bytes(h.set_cell(p.read_bytes(), "QP000001", "TX_F", "101"))
        read_source("insee_qp_demo", p, communes=COMMUNES)
