"""Tables as they really come: spreadsheet damage, interrupted downloads, duplicates, unreadable cells
(``observatoire/sources/tabular.py``, ``insee_cog.py``, ``readers.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from observatoire.errors import ObservatoireError
from observatoire.sources.insee_cog import read_epci_composition
from observatoire.sources.readers import read_source
from observatoire.territory import resolve_territory

from . import hostile as h
from .conftest import assert_message, assert_noted, assert_refused

COMMUNES = {"00001", "00002", "00003", "00004"}
POP = "insee_rp_ic_pop"
POP22 = "base-ic-evol-struct-pop-2022_csv.zip"


def _pop22(projet):
    return projet.raw_file(POP, "2022")


def _read(source, path):
    return read_source(source, path, communes=COMMUNES)


def _refused(source, path, fichier, correction, *contient):
    with pytest.raises(ObservatoireError) as e:
        _read(source, path)
    assert_message(str(e.value), fichier=fichier, correction=correction, contient=contient)


# --------------------------------------------------------------------------------- interrupted downloads
@pytest.mark.corpus("tableaux", "stop")
def test_census_zip_truncated_stops_the_cli_before_parsing(projet):
    h.truncate(_pop22(projet), 0.6)
    before = projet.snapshot()
    run = projet.cli("build")
    assert_refused(run, fichier=POP22, correction="archive incomplète, téléchargez-la à nouveau",
                   contient=("Archive incomplète",))
    assert "ParserError" not in run.out
    assert projet.snapshot() == before and not projet.temporaries()


@pytest.mark.corpus("tableaux", "stop")
def test_census_csv_cut_mid_line(projet):
    def cut(raw):
        text = raw.decode("utf-8-sig")
        return text[: int(len(text) * 0.5)].rstrip("\r\n").encode("utf-8")
    h.rewrite_member(_pop22(projet), cut)
    _refused(POP, _pop22(projet), POP22, "téléchargez-le à nouveau", "Fichier tronqué")


@pytest.mark.corpus("tableaux", "refuse")
def test_census_row_with_extra_columns_names_the_line(projet):
    h.rewrite_member(_pop22(projet), lambda raw: h.edit_lines(raw, lambda ls: ls[:3] + [ls[3] + ";1;2;3"] + ls[4:]))
    _refused(POP, _pop22(projet), POP22, "ré-exportez-le en CSV", "ligne 4")


@pytest.mark.corpus("tableaux", "stop")
def test_empty_file_in_place_of_a_table(projet):
    p = projet.raw_file("insee_cnaf_iris")
    p.write_bytes(b"")
    _refused("insee_cnaf_iris", p, "data_CAF_2020_IRIS.csv", "fichier officiel", "Séparateur")


@pytest.mark.corpus("tableaux", "stop")
def test_html_error_page_saved_as_the_table(projet):
    p = projet.raw_file("insee_qp_demo", "2022")
    p.write_text("<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>Page introuvable</body></html>\n")
    _refused("insee_qp_demo", p, "DEMO_2022.csv", "fichier officiel")


@pytest.mark.corpus("tableaux", "stop")
def test_composition_zip_truncated(projet):
    h.truncate(projet.raw_file("insee_epci"), 0.5)
    with pytest.raises(ObservatoireError) as e:
        resolve_territory(projet.config())
    assert_message(str(e.value), fichier="Intercommunalite_Metropole_au_01-01-2020.zip",
                   correction="archive incomplète, téléchargez-la à nouveau")


# ------------------------------------------------------------------------------------------ duplicates
@pytest.mark.corpus("tableaux", "refuse")
def test_iris_twice_with_conflicting_values_refused_by_the_cli(projet):
    """« an IRIS code present twice with conflicting values (2 478 and 9 999) is accepted »: no more."""
    def edit(raw):
        raw = h.set_cell(raw, "000010101", "P22_POP", "2478")
        return h.duplicate_row(raw, "000010101", {"P22_POP": "9999"})
    h.rewrite_member(_pop22(projet), edit)
    before = projet.snapshot()
    run = projet.cli("build")
    assert_refused(run, fichier=POP22, correction="une seule ligne par territoire",
                   contient=("000010101", "lignes 2, 3", "P_POP", "2\u202f478", "9\u202f999", "insee_rp_ic_pop/"))
    assert projet.snapshot() == before


@pytest.mark.corpus("tableaux", "repair-and-note")
def test_iris_twice_identical_kept_once(projet, capsys):
    clean = _read(POP, _pop22(projet))[0]
    h.rewrite_member(_pop22(projet), lambda raw: h.duplicate_row(raw, "000010102"))
    t = _read(POP, _pop22(projet))[0]
    assert t.data.index.is_unique and t.data.equals(clean.data)
    assert_noted(capsys.readouterr().err, "000010102", "à l'identique")


@pytest.mark.corpus("tableaux", "refuse")
def test_composition_commune_twice_in_two_epci(projet):
    h.rewrite_member(projet.raw_file("insee_epci"), lambda raw: h.duplicate_row(
        raw, "00002", {"EPCI": "200099998", "LIBEPCI": "Autre EPCI"}, sep=";"))
    with pytest.raises(ObservatoireError) as e:
        read_epci_composition(projet.raw_file("insee_epci"))
    assert_message(str(e.value), fichier="EPCI_2020.csv", correction="une seule ligne par code",
                   contient=("00002", "lignes 3, 4", "200099998"))


# ------------------------------------------------------------------------------- spreadsheet damage
@pytest.mark.corpus("tableaux", "repair-and-note")
def test_iris_codes_turned_into_numbers_by_a_spreadsheet(projet, capsys):
    """``000010101`` saved as ``10101.0``: the leading zeros and the float repaired, with a note."""
    p = projet.raw_file("insee_filosofi_iris")
    clean = _read("insee_filosofi_iris", p)[0]
    p.write_bytes(h.map_first_column(p.read_bytes(), lambda c: f"{int(c)}.0"))
    t = _read("insee_filosofi_iris", p)[0]
    assert list(t.data.index) == list(clean.data.index) and t.data.equals(clean.data)
    assert_noted(capsys.readouterr().err, "BASE_TD_FILO_DISP_IRIS_2019.csv", "10101.0 → 000010101")


@pytest.mark.corpus("tableaux", "refuse")
def test_iris_codes_rounded_in_scientific_notation(projet):
    p = projet.raw_file("insee_cnaf_iris")
    p.write_bytes(h.map_first_column(p.read_bytes(), lambda c: f"{float(c):.2E}".replace(".", ",")))
    _refused("insee_cnaf_iris", p, "data_CAF_2020_IRIS.csv", "format « Texte »", "notation scientifique")


@pytest.mark.corpus("tableaux", "repair-and-note")
def test_composition_lost_leading_zeros_and_corsica_in_lower_case(projet, capsys):
    def edit(raw):
        raw = h.map_first_column(raw, lambda c: str(int(c)) if c.isdigit() else c)
        return h.edit_lines(raw, lambda ls: ls + ["2a004;Ajaccio;200066801;CA du Pays Ajaccien;2A;94"])
    h.rewrite_member(projet.raw_file("insee_epci"), edit)
    terr = resolve_territory(projet.config())
    assert set(terr.codes) == COMMUNES
    comp = read_epci_composition(projet.raw_file("insee_epci"))
    assert "2A004" in set(comp["code_insee"])
    assert_noted(capsys.readouterr().err, "EPCI_2020.csv", "1 → 00001")


@pytest.mark.corpus("tableaux", "refuse")
def test_unreadable_cell_names_line_column_and_territory(projet):
    p = projet.raw_file("insee_qp_demo", "2022")
    p.write_bytes(h.set_cell(p.read_bytes(), "QP000002", "POP_MUN", "6OO"))
    _refused("insee_qp_demo", p, "DEMO_2022.csv", "non modifié dans un tableur",
             "'6OO'", "ligne 3", "colonne POP_MUN", "QP000002")


@pytest.mark.corpus("tableaux", "refuse")
def test_composition_code_damaged_beyond_repair(projet):
    h.rewrite_member(projet.raw_file("insee_epci"), lambda raw: h.map_first_column(
        raw, lambda c: "0000#" if c == "00003" else c))
    with pytest.raises(ObservatoireError) as e:
        read_epci_composition(projet.raw_file("insee_epci"))
    assert_message(str(e.value), fichier="EPCI_2020.csv", correction="format « Texte »", contient=("'0000#' (ligne 4)",))


def test_values_of_a_clean_copy_are_read_unchanged(projet):
    """Guard for the repairs above: the clean census copy reads its own numbers (P22_POP of 000010101)."""
    t = _read(POP, _pop22(projet))[0]
    raw = h.read_member(_pop22(projet))
    assert t.data.at["000010101", "P_POP"] == pytest.approx(float(h.cell(raw, "000010101", "P22_POP")))
    assert not np.isnan(t.data["P_POP"]).any()
