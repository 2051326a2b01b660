"""Every real official file of ``../shared/data/real`` is read, and values are checked by hand against
the raw file (the expected numbers below were read in the files with a text editor).

Skipped on a fresh clone without ``../shared`` (marker ``shared``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from observatoire.sources import anct, ign
from observatoire.sources.insee_cog import read_epci_composition, read_iris_reference
from observatoire.sources.insee_filosofi import read_filosofi_cc, read_filosofi_iris, read_filosofi_qp, read_filosofi_zip
from observatoire.sources.insee_qpv import read_insee_qpv
from observatoire.sources.readers import read_source
from observatoire.tidy import CODE_ENSEMBLE_FRANCE, CODE_FRANCE

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
pytestmark = [pytest.mark.shared,
              pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/real absent (clone hors de l'environnement CI)")]


def _table(tables, niveau, millesime=None):
    out = [t for t in tables if t.niveau == niveau and (millesime is None or t.millesime == millesime)]
    assert out, f"pas de table {niveau} {millesime}"
    return out


def _value(tables, niveau, code, var, millesime=None):
    for t in _table(tables, niveau, millesime):
        if var in t.data.columns and code in t.data.index:
            return t.data.at[code, var], t.statut.at[code, var], (t.notes.at[code, var] if t.notes is not None else "")
    raise AssertionError(f"{var} absent pour {code}")


# ---------------------------------------------------------------------------------------------------
# INSEE tables by quartier (DEMO, IPRO, REVN, data_*_V1_QP)
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted((REAL / "insee_qpv2015").glob("*.csv")) if REAL.is_dir() else [],
                         ids=lambda p: p.name)
def test_every_quartier_table_is_read(path):
    if "filo" in path.name:
        tables = read_filosofi_qp(path)
    else:
        tables = read_insee_qpv(path)
    q = [t for t in tables if t.niveau == "qpv2015"]
    assert q and all(len(t.data) > 1300 for t in q)
    # 2015 codes even in the 2022 editions; 14 quartiers of Valenciennes Métropole present
    for t in q:
        assert t.data.index.str.match(r"^QP(\d{3}|02[AB])\d{3}$").all()
        assert {f"QP0590{n}" for n in range(20, 34)} <= set(t.data.index)


def test_demo_2022_counts_grouped_by_narrow_spaces_and_empty_cells():
    tables = read_insee_qpv(REAL / "insee_qpv2015" / "DEMO_2022.csv")
    # « QP059030;Dutemple…;3 473;7 248;46 531;La Sentinelle, Valenciennes;51,6;… » (U+202F)
    assert _value(tables, "qpv2015", "QP059030", "P_POP")[:2] == (3473.0, "ok")
    assert _value(tables, "qpv2015", "QP059030", "TX_F")[:2] == (51.6, "ok")
    # TX_TOT_MEN6 is an empty cell: not available, never 0
    v, st, _ = _value(tables, "qpv2015", "QP059030", "TX_MEN6P")
    assert np.isnan(v) and st == "nd"
    # Cnaf counts of the same row: A 1 338, AM 262, ACAVENF 286
    assert _value(tables, "qpv2015", "QP059030", "CNAF_A")[0] == 1338
    assert _value(tables, "qpv2015", "QP059030", "CNAF_AM")[0] == 262
    assert _value(tables, "qpv2015", "QP059030", "CNAF_ACAVENF")[0] == 286


def test_ensemble_row_is_the_france_set_not_a_quartier():
    tables = read_insee_qpv(REAL / "insee_qpv2015" / "DEMO_2017.csv")
    # « Ensemble;Ensemble des QPV;5 019 573;… »
    assert _value(tables, "ensemble_qpv2015_france", CODE_ENSEMBLE_FRANCE, "P_POP")[0] == 5_019_573
    assert all("Ensemble" not in t.data.index for t in tables)
    # the 2021 edition has no Ensemble row
    assert not [t for t in read_insee_qpv(REAL / "insee_qpv2015" / "DEMO_2021.csv") if t.niveau.startswith("ensemble")]


def test_producer_note_kept_per_figure_not_turned_into_secrecy():
    tables = read_insee_qpv(REAL / "insee_qpv2015" / "DEMO_2018.csv")
    # « QP059016;Pont De Pierre;2 064;…;(A empty);…;5 » : NOTE_CNAF = 5
    v, st, note = _value(tables, "qpv2015", "QP059016", "CNAF_A")
    assert np.isnan(v) and st == "nd" and note == "NOTE_CNAF:5"
    v, st, note = _value(tables, "qpv2015", "QP059016", "P_POP")
    assert (v, st, note) == (2064.0, "ok", "")  # the census family has no note in this edition


def test_only_the_requested_variables_are_parsed():
    """The build parses only the catalogue's variables of the wide national tables: same values."""
    tables = read_insee_qpv(REAL / "insee_qpv2015" / "DEMO_2018.csv", variables={"P_POP"})
    assert {c for t in tables for c in t.data.columns} == {"P_POP"}
    assert _value(tables, "qpv2015", "QP059016", "P_POP")[0] == 2064.0
    # a file none of whose variables is wanted gives no table
    assert read_insee_qpv(REAL / "insee_qpv2015" / "DEMO_2018.csv", variables={"NOPE"}) == []


def test_ipro_jobseekers_by_seniority():
    tables = read_insee_qpv(REAL / "insee_qpv2015" / "IPRO_2022.csv")
    # QP059030: ABC 632, ABC_DUR3 122, ABC_DUR4 197, TX_TOT_EMPL 34,9, TX_TOT_EDLIM 33,7
    assert _value(tables, "qpv2015", "QP059030", "PE_ABC")[0] == 632
    assert _value(tables, "qpv2015", "QP059030", "PE_ABC_DUR3")[0] == 122
    assert _value(tables, "qpv2015", "QP059030", "PE_ABC_DUR4")[0] == 197
    assert _value(tables, "qpv2015", "QP059030", "TX_EMPL_1564")[0] == 34.9
    assert _value(tables, "qpv2015", "QP059030", "TX_EMPL_PREC")[0] == 33.7


def test_revn_filosofi_is_edition_minus_four_and_equals_filosofi_by_quartier():
    revn = read_insee_qpv(REAL / "insee_qpv2015" / "REVN_2022.csv")
    filo = read_filosofi_qp(REAL / "insee_qpv2015" / "data_filo18_qp_revdis.csv")
    # REVN_2022 QP059030 DISP_Q2 « 13 330 », TP60 « 47,6 » = data_filo18 « 13 330 » (U+00A0), « 47,6 »
    assert _value(revn, "qpv2015", "QP059030", "DISP_MED", 2018)[0] == 13330
    assert _value(filo, "qpv2015", "QP059030", "DISP_MED", 2018)[0] == 13330
    assert _value(revn, "qpv2015", "QP059030", "DISP_TP60", 2018)[0] == 47.6
    # C2S 2022: C 3 433, C_C2SNP 1 172, C_C2SP 261 (edition year)
    assert _value(revn, "qpv2015", "QP059030", "CNAM_C", 2022)[0] == 3433
    assert _value(revn, "qpv2015", "QP059030", "CNAM_C2S_NP", 2022)[0] == 1172


def test_filosofi_by_quartier_lower_case_2016():
    tables = read_filosofi_qp(REAL / "insee_qpv2015" / "data_filo16_qp_revdis.csv")
    # « QP059030;9550;11960;15310;… » and « Ensemble;…;44,3;0 » (tp60_a16)
    assert _value(tables, "qpv2015", "QP059030", "DISP_MED", 2016)[0] == 11960
    assert _value(tables, "qpv2015", "QP059030", "DISP_Q1", 2016)[0] == 9550
    assert _value(tables, "ensemble_qpv2015_france", CODE_ENSEMBLE_FRANCE, "DISP_TP60", 2016)[0] == 44.3


def test_quoted_demo_by_source_file():
    tables = read_insee_qpv(REAL / "insee_qpv2015" / "data_DEMO_2021_V1_QP.csv")
    # « "QP059030";3473;7248;46531;52,8;… »
    assert _value(tables, "qpv2015", "QP059030", "P_POP", 2021)[0] == 3473
    assert _value(tables, "qpv2015", "QP059030", "TX_F", 2021)[0] == 52.8


def test_quartier_table_as_xlsx_with_title_rows(tmp_path):
    from openpyxl import Workbook

    src = read_insee_qpv(REAL / "insee_qpv2015" / "IPRO_2019.csv")
    raw = pd.read_csv(REAL / "insee_qpv2015" / "IPRO_2019.csv", sep=";", dtype=str, encoding="utf-8-sig",
                      keep_default_na=False).iloc[:, :20]
    wb = Workbook()
    ws = wb.active
    ws.append(["Insertion professionnelle 2019 - Quartiers de la politique de la ville"])
    ws.append(["Source : Insee"])
    ws.append([])
    ws.append(list(raw.columns))
    for row in raw.itertuples(index=False):
        ws.append(list(row))
    p = tmp_path / "IPRO_2019.xlsx"
    wb.save(p)
    xl = read_insee_qpv(p)
    assert _value(xl, "qpv2015", "QP059030", "TX_EMPL_1564")[0] == _value(src, "qpv2015", "QP059030", "TX_EMPL_1564")[0]


# ---------------------------------------------------------------------------------------------------
# Filosofi IRIS, communes to France
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("year", [2014, 2015, 2016, 2017, 2018, 2019])
def test_filosofi_iris_every_year(year):
    t = read_filosofi_iris(REAL / "insee_filosofi" / f"BASE_TD_FILO_DISP_IRIS_{year}.csv", {"59606"})
    assert t.millesime == year and len(t.data) == 16 and t.data.index.str.startswith("59606").all()


def test_filosofi_iris_noted_values_stay_published():
    t = read_filosofi_iris(REAL / "insee_filosofi" / "BASE_TD_FILO_DISP_IRIS_2019.csv")
    noted = (t.notes != "").any(axis=1)
    assert int(noted.sum()) == 215  # INSEE publishes the values of these 215 IRIS, with a note
    # « 060850104;…;10,4;…;18010;…;1 »
    assert t.data.at["060850104", "DISP_TP60"] == 10.4 and t.statut.at["060850104", "DISP_TP60"] == "ok"
    assert t.notes.at["060850104", "DISP_TP60"] == "DISP_NOTE19:1"
    # « 596060201;Faubourg de Lille;59606;Valenciennes;;10690;13980;… »: empty poverty rate → nd
    assert t.statut.at["596060201", "DISP_TP60"] == "nd" and t.data.at["596060201", "DISP_MED"] == 13980


@pytest.mark.parametrize("path", sorted((REAL / "insee_filosofi").glob("FILO*.csv")) if REAL.is_dir() else [],
                         ids=lambda p: p.name)
def test_every_filosofi_comparison_file(path):
    t = read_filosofi_cc(path)
    assert "DISP_MED" in t.data.columns and t.data["DISP_MED"].notna().any()
    if t.niveau == "france":
        assert list(t.data.index) == [CODE_FRANCE]


def test_filosofi_epci_and_metropole_by_hand():
    e = read_filosofi_cc(REAL / "insee_filosofi" / "FILO2019_DISP_EPCI.csv")
    # « 245901160;CA Valenciennes Métropole;79050;183268;124425,4;13580;18820;25250;… »
    assert e.data.at["245901160", "DISP_MED"] == 18820 and e.data.at["245901160", "NB_PERSMENFISC"] == 183268
    assert e.data.at["245901160", "NB_UC"] == pytest.approx(124425.4)
    f = read_filosofi_cc(REAL / "insee_filosofi" / "FILO2019_DISP_METROPOLE.csv")
    # « 1;France métropolitaine;27937964;62973019;…;16090;21930;… »
    assert f.data.at[CODE_FRANCE, "DISP_MED"] == 21930 and f.data.at[CODE_FRANCE, "DISP_Q1"] == 16090


def test_filosofi_zip_members(tmp_path):
    z = tmp_path / "indic-struct-distrib-revenu-2019-SUPRA_csv.zip"
    with zipfile.ZipFile(z, "w") as f:
        for n in ("EPCI", "DEP", "METROPOLE"):
            f.write(REAL / "insee_filosofi" / f"FILO2019_DISP_{n}.csv", f"FILO2019_DISP_{n}.csv")
    tables = read_filosofi_zip(z)
    assert sorted(t.niveau for t in tables) == ["departement", "epci", "france"]
    dep = next(t for t in tables if t.niveau == "departement")
    assert dep.data.at["59", "DISP_MED"] > 0 and len(dep.data) == 98


# ---------------------------------------------------------------------------------------------------
# Cnaf by IRIS, composition, IRIS reference, perimeters, outlines
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("year", [2016, 2017, 2018, 2019, 2020])
def test_cnaf_iris_every_year(year):
    tables = read_source("insee_cnaf_iris", REAL / "caf_iris" / f"data_CAF_{year}_IRIS.csv", communes={"59606"})
    t = tables[0]
    assert t.niveau == "iris" and t.millesime == year and len(t.data) >= 15
    if year == 2020:  # « 596060101;0;538;1165;… »
        assert t.data.at["596060101", "CNAF_A"] == 538 and t.data.at["596060101", "CNAF_PERCOU"] == 1165


def test_epci_composition_as_csv():
    c = read_epci_composition(REAL / "insee_cog" / "EPCI_2020.csv")
    assert len(c) == 34968 and (c["siren_epci"] == "245901160").sum() == 35
    assert c.loc[c["code_insee"] == "59606", "nom_epci"].item() == "CA Valenciennes Métropole"


def test_iris_reference_table():
    r = read_iris_reference(REAL / "insee_cog" / "iris_2021.csv", {"59606"})
    assert len(r) == 16 and r.loc[r["code_iris"] == "596060101", "nom_iris"].item() == "Nungesser"


def test_national_qpv2015_file_as_published_with_its_invalid_geometries():
    q = anct.read_qpv2015(REAL / "anct_qpv2015" / "QP_METROPOLEOUTREMER_WGS84_EPSG4326.shp", None, None)
    assert len(q) == 1514
    assert len(q.attrs["reparations"]) == 34 and "QP059030" in q.attrs["reparations"]
    assert shapely.is_valid(q.geometry.values).all()
    assert len(anct.quartier_codes(REAL / "anct_qpv2015" / "QP_METROPOLEOUTREMER_WGS84_EPSG4326.shp", 2015)) == 1514


def test_commune_outlines_with_code_and_nom_attributes():
    c = ign.read_communes([REAL / "ign_communes" / "communes-59-nord.geojson"], set())
    assert len(c) == 648 and c.crs.to_epsg() == 2154
    assert c.loc[c["code_insee"] == "59606", "nom"].item() == "Valenciennes"
    d = ign.read_departement([REAL / "ign_communes" / "departements.geojson"], "59")
    assert d["nom"].item() == "Nord"
