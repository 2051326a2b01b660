"""INSEE readers: real headers of ../shared/data/formats, other vintages, secrecy codes, bad files."""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatoire.errors import FormatError
from observatoire.sources import insee

SHARED = Path(__file__).resolve().parents[2] / "shared"
FORMATS = SHARED / "data" / "formats"
needs_shared = pytest.mark.skipif(not FORMATS.exists(), reason="../shared/data/formats absent")


def _real_pop_header() -> str:
    text = (FORMATS / "insee_base_ic_evol_struct_pop.txt").read_text(encoding="utf-8")
    return next(line for line in text.splitlines() if line.startswith("IRIS;COM;TYP_IRIS;LAB_IRIS;P22_POP;"))


def _real_pop_rows() -> list[str]:
    """The 5 example rows of the formats file (first 8 columns only), padded with empty cells."""
    text = (FORMATS / "insee_base_ic_evol_struct_pop.txt").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if re.match(r"^\d{9};\d{5};[ZH];", line)]
    return [r + ";" * (76 - 8) for r in rows]


def _write(tmp_path, name, header, rows):
    p = tmp_path / name
    p.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return p


@needs_shared
def test_real_2022_population_header_parses(tmp_path):
    header = _real_pop_header()
    assert len(header.split(";")) == 76
    p = _write(tmp_path, "base-ic-evol-struct-pop-2022.CSV", header, _real_pop_rows())
    t = insee.read_base_ic(p)
    assert (t.niveau, t.millesime, t.millesime_geographie, t.source) == ("iris", 2022, 2024, "insee_rp_ic_pop")
    # 76 columns - 4 identifiers (IRIS, COM, TYP_IRIS, LAB_IRIS) = 72 variables, without vintage
    assert len(t.variables) == 72 and "P_POP" in t.variables and "C_POP15P_STAT_GSEC32" in t.variables
    assert list(t.data.index[:2]) == ["010010000", "010020000"]  # leading zeros kept
    assert t.data.loc["010040101", "P_POP"] == 2057.93753915075
    assert t.data.loc["010040101", "P_POP0002"] == 98.5714870259099
    assert t.data.loc["010010000", "P_POP"] == 859
    # columns not given in the example rows are empty → nd, never 0
    assert math.isnan(t.data.loc["010040101", "P_PMEN"])
    assert t.statut.loc["010040101", "P_PMEN"] == "nd"
    assert t.statut.loc["010040101", "P_POP"] == "ok"


@needs_shared
def test_other_vintage_p19_parses_with_millesime_2019(tmp_path):
    header = _real_pop_header().replace("P22_", "P19_").replace("C22_", "C19_")
    rows = [r.replace("2057.93753915075", "2057,5") for r in _real_pop_rows()]  # decimal comma too
    p = _write(tmp_path, "pop.csv", header, rows)
    t = insee.read_base_ic(p, theme="evol-struct-pop")
    assert t.millesime == 2019 and t.millesime_geographie == 2021
    assert t.data.loc["010040101", "P_POP"] == 2057.5


@needs_shared
def test_missing_column_names_file_and_column(tmp_path):
    header = _real_pop_header().replace(";P22_POPF;", ";P22_POPFX;")
    p = _write(tmp_path, "base-ic-evol-struct-pop-2022.CSV", header, _real_pop_rows())
    with pytest.raises(FormatError) as e:
        insee.read_base_ic(p)
    msg = str(e.value)
    assert "base-ic-evol-struct-pop-2022.CSV" in msg and "P22_POPF" in msg and "P22_POPFX" in msg


@needs_shared
def test_wrong_separator_is_a_format_error(tmp_path):
    header = _real_pop_header().replace(";", ",")
    rows = [r.replace(";", ",") for r in _real_pop_rows()]
    p = _write(tmp_path, "base-ic-evol-struct-pop-2022.CSV", header, rows)
    with pytest.raises(FormatError) as e:
        insee.read_base_ic(p)
    msg = str(e.value)
    assert "base-ic-evol-struct-pop-2022.CSV" in msg and "« , »" in msg and "P_POP" in msg


@needs_shared
def test_zip_round_trip_and_commune_filter(tmp_path):
    z = tmp_path / "base-ic-evol-struct-pop-2022_csv.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("base-ic-evol-struct-pop-2022.CSV", "\n".join([_real_pop_header(), *_real_pop_rows()]))
    t = insee.read_base_ic(z, communes={"01004"})
    assert list(t.data.index) == ["010040101", "010040102", "010040201"]
    assert t.fichier == "base-ic-evol-struct-pop-2022_csv.zip/base-ic-evol-struct-pop-2022.CSV"
    assert t.data.loc["010040102", "P_POP"] == 3986.92009810392


def test_other_theme_any_vintage_and_secret_codes(tmp_path):
    header = ("IRIS;COM;TYP_IRIS;LAB_IRIS;P21_POP1517;P21_POP1824;P21_SCOL1517;P21_SCOL1824;P21_NSCOL15P;"
              "P21_NSCOL15P_DIPLMIN")
    rows = ["596060101;59606;H;1;100.5;200;90;s;1000;nd",
            "596060102;59606;H;1;50;60;45;30;800;120.25"]
    p = _write(tmp_path, "base-ic-diplomes-formation-2021.CSV", header, rows)
    t = insee.read_base_ic(p)
    assert t.source == "insee_rp_ic_diplomes" and t.millesime == 2021
    assert t.statut.loc["596060101", "P_SCOL1824"] == "secret"
    assert np.isnan(t.data.loc["596060101", "P_SCOL1824"])
    assert t.statut.loc["596060101", "P_NSCOL15P_DIPLMIN"] == "nd"
    assert t.data.loc["596060102", "P_NSCOL15P_DIPLMIN"] == 120.25


def test_unreadable_cell_names_column_and_territory(tmp_path):
    header = "IRIS;COM;P21_POP1517;P21_POP1824;P21_SCOL1517;P21_SCOL1824;P21_NSCOL15P;P21_NSCOL15P_DIPLMIN"
    p = _write(tmp_path, "x.csv", header, ["596060101;59606;1;2;3;abc;5;6"])
    with pytest.raises(FormatError) as e:
        insee.read_base_ic(p, theme="diplomes-formation")
    assert "SCOL1824" in str(e.value) and "596060101" in str(e.value) and "x.csv" in str(e.value)


def test_base_cc_commune_level(tmp_path):
    header = "CODGEO;REG;DEP;LIBGEO;C22_MEN;C22_MENPSEUL;C22_FAM;C22_FAMMONO;C22_COUPAENF"
    p = _write(tmp_path, "base-cc-couples-familles-menages-2022.CSV", header,
               ["59606;32;59;Valenciennes;21000.5;9000;11000;2500;4000", "1001;84;01;L'Abergement;300;80;200;20;90"])
    t = insee.read_base_cc(p)
    assert t.niveau == "commune" and t.source == "insee_rp_cc_familles" and t.millesime == 2022
    assert list(t.data.index) == ["59606", "01001"]  # a code that lost its leading zero is restored
    assert t.libelles["59606"] == "Valenciennes"
    assert t.data.loc["59606", "C_MEN"] == 21000.5


@needs_shared
def test_filosofi_iris_real_header_codes_and_note(tmp_path):
    text = (FORMATS / "insee_filosofi_iris_2021.txt").read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("IRIS;DISP_TP6021;"))
    n = len(header.split(";"))
    ok = ["751010201", "15,0", "0"] + ["25000"] * (n - 5) + ["0"]
    ok[header.split(";").index("DISP_MED21")] = "31290"
    sec = ["751010101"] + ["s"] * (n - 2) + ["0"]
    nd = ["751010105", "nd", "ns", "so"] + ["nd"] * (n - 5) + ["0"]
    note = ["751010106", "20,5"] + ["1000"] * (n - 3) + ["1"]
    p = _write(tmp_path, "BASE_TD_FILO_IRIS_2021_DISP.csv", header, [";".join(r) for r in (ok, sec, nd, note)])
    t = insee.read_filosofi_iris(p)
    assert t.millesime == 2021 and t.niveau == "iris"
    assert "DISP_TP60" in t.variables and "DISP_MED" in t.variables and "DISP_NOTE" not in t.variables
    assert t.data.loc["751010201", "DISP_TP60"] == 15.0
    assert t.data.loc["751010201", "DISP_MED"] == 31290
    assert t.statut.loc["751010101", "DISP_MED"] == "secret" and np.isnan(t.data.loc["751010101", "DISP_MED"])
    assert set(t.statut.loc["751010105"]) == {"nd"} and t.data.loc["751010105"].isna().all()
    # precaution note ≠ 0 → treated as secret (public loader rule), or kept on request
    assert t.statut.loc["751010106", "DISP_TP60"] == "secret"
    kept = insee.read_filosofi_iris(p, note_precaution="garder")
    assert kept.data.loc["751010106", "DISP_TP60"] == 20.5


def test_filosofi_qp15_members(tmp_path):
    z = tmp_path / "revenus_pauvrete_2021_qp15_csv.zip"
    hdr = "CODGEO;DISP_MED_A21;DISP_TP60_A21;DISP_PPSOC_A21;DISP_Q1_A21"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("revenu-disponible-qp15-2021_QP.csv",
                   f"{hdr}\nQP059030;13450;44,1;25,3;10330\nQP059020;s;s;s;s\n")
        f.writestr("meta_indic-revenu-disponible-qp15-2021_QP.csv",
                   "CODGEO;QP;QP059030;Dutemple Chasse Royale\nCODGEO;QP;QP059020;Verrerie\n")
        f.writestr("revenu-disponible-qp15-2021_ENSQP.csv", f"{hdr}\n00;14500;43,3;22,0;nd\n")
    t = insee.read_filosofi_qp(z)
    assert (t.niveau, t.millesime, t.millesime_geographie) == ("qpv2015", 2021, 2015)
    assert t.data.loc["QP059030", "DISP_TP60"] == 44.1 and t.data.loc["QP059030", "DISP_MED"] == 13450
    assert t.statut.loc["QP059020", "DISP_MED"] == "secret"
    assert t.libelles["QP059020"] == "Verrerie"
    e = insee.read_filosofi_qp_ensemble(z)
    assert list(e.data.index) == ["00"] and e.statut.loc["00", "DISP_Q1"] == "nd"


def test_filosofi_cc_levels(tmp_path):
    z = tmp_path / "base-cc-filosofi-2021-geo2023_csv.zip"
    hdr = "CODGEO;LIBGEO;NBMENFISC21;MED21;TP6021;Q121"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("cc_filosofi_2021_COM.csv", f"{hdr}\n59606;Valenciennes;20000;19500;27,5;s\n")
        f.writestr("cc_filosofi_2021_DEP.csv", f"{hdr}\n59;Nord;1100000;21000;18,9;15000\n")
        f.writestr("cc_filosofi_2021_METRO.csv", f"{hdr}\nFRM;France métropolitaine;29000000;23160;14,4;16000\n")
    c = insee.read_filosofi_cc(z, "commune")
    assert c.data.loc["59606", "DISP_TP60"] == 27.5 and c.statut.loc["59606", "DISP_Q1"] == "secret"
    assert insee.read_filosofi_cc(z, "departement").data.loc["59", "NB_MENFISC"] == 1_100_000
    assert insee.read_filosofi_cc(z, "france").data.loc["FRM", "DISP_MED"] == 23160


def test_qpv_table_levels_and_mixed_codes(tmp_path):
    cols = insee.QPV_TABLES["population"]
    hdr = "CODGEO;LIBGEO;" + ";".join(cols)
    vals = ";".join(str(10 * (i + 1)) for i in range(len(cols)))
    p = _write(tmp_path, "q.csv", hdr, [f"QN05930M;Dutemple;{vals}", f"QN05920M;Verrerie;{vals}"])
    t = insee.read_insee_qpv(p, "population", 2022)
    assert (t.niveau, t.millesime_geographie) == ("qpv2024", 2024) and t.data.loc["QN05920M", "P_POP"] == 10
    p2 = _write(tmp_path, "m.csv", hdr, [f"QN05930M;Dutemple;{vals}", f"59606;Valenciennes;{vals}"])
    with pytest.raises(FormatError, match="m.csv"):
        insee.read_insee_qpv(p2, "population", 2022)


def test_sources_and_urls():
    ids = {s.id for s in insee.SOURCES}
    assert {"insee_rp_ic_pop", "insee_rp_ic_activite", "insee_rp_ic_diplomes", "insee_rp_ic_familles",
            "insee_rp_ic_logement", "insee_filosofi_iris", "insee_filosofi_qp15"} <= ids
    assert insee.url("insee_rp_ic_pop", 2022) == \
        "https://www.insee.fr/fr/statistiques/fichier/8647014/base-ic-evol-struct-pop-2022_csv.zip"
    src = next(s for s in insee.SOURCES if s.id == "insee_rp_ic_diplomes")
    # the fetcher formats url with millesime only: the page number follows the vintage
    assert src.url.format(millesime=2017) == \
        "https://www.insee.fr/fr/statistiques/fichier/4799252/base-ic-diplomes-formation-2017_csv.zip"
    assert "PAGE-INCONNUE" in src.url.format(millesime=1999)

_cell = st.one_of(st.sampled_from(["s", "nd", "ns", "so", "", "S", " nd "]),
                  st.floats(min_value=0, max_value=1e7, allow_nan=False).map(lambda x: f"{x:.6f}"),
                  st.floats(min_value=0, max_value=1e7, allow_nan=False).map(lambda x: f"{x:.3f}".replace(".", ",")))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_cell, min_size=3, max_size=3), min_size=1, max_size=8))
def test_parse_cells_never_turns_a_withheld_cell_into_a_number(rows):
    df = pd.DataFrame(rows, columns=["A", "B", "C"], dtype=str)
    codes = pd.Index([f"59606{i:04d}" for i in range(len(rows))])
    data, statut = insee.parse_cells(df, "f.csv", codes)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            c = cell.strip().lower()
            st_ = statut.iat[i, j]
            if c == "s":
                assert st_ == "secret" and np.isnan(data.iat[i, j])
            elif c in ("nd", "ns", "so", ""):
                assert st_ == "nd" and np.isnan(data.iat[i, j])
            else:
                assert st_ == "ok" and data.iat[i, j] == float(c.replace(",", "."))


def test_zip_with_overseas_member_reads_the_main_file(tmp_path):
    z = tmp_path / "base-ic-couples-familles-menages-2017_csv.zip"
    hdr = "IRIS;COM;C17_MEN;C17_MENPSEUL;C17_FAM;C17_FAMMONO;C17_COUPAENF"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("base-ic-couples-familles-menages-2017.CSV", f"{hdr}\n596060101;59606;900;300;500;120;200\n")
        f.writestr("base-ic-couples-familles-menages-2017-com.CSV", f"{hdr}\n975010000;97501;10;3;5;1;2\n")
        f.writestr("meta_base-ic-couples-familles-menages-2017.CSV", "COD_VAR;LIB_VAR\n")
    t = insee.read_base_ic(z)
    assert list(t.data.index) == ["596060101"] and t.millesime == 2017
    assert t.data.loc["596060101", "C_FAMMONO"] == 120
