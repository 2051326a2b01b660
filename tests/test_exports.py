"""CSV and XLSX exports of the tidy table, catalogue listing; no secret cell ever becomes a number."""

from __future__ import annotations

import csv
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatoire.catalogue import THEMES, load_catalogue
from observatoire.exports import FEUILLE_A_LIRE, FEUILLES, catalogue_rows, write_csv, write_xlsx
from observatoire.tidy import TIDY_COLUMNS

CAT = load_catalogue()
SUB = {k: CAT[k] for k in ("population", "taux_emploi_15_64", "revenu_median_mensuel")}


def _row(kind, code, lib, ind, mil, geo, val, num, den, statut, methode, qualite, source, **kw) -> dict:
    r = {"type_territoire": kind, "code_territoire": code, "libelle_territoire": lib, "indicateur": ind,
         "millesime": mil, "millesime_geographie": geo, "valeur": val, "numerateur": num, "denominateur": den,
         "statut": statut, "methode": methode, "qualite": qualite, "couverture": np.nan, "simule": False,
         "note_producteur": "", "motif": "", "source": source}
    r.update(kw)
    return r


def _tidy() -> pd.DataFrame:
    return pd.DataFrame([
        _row("iris", "596060101", "Centre", "taux_emploi_15_64", 2022, 2024, 45.5, 91.0, 200.0, "ok", "producteur", None, "insee_rp_ic_act"),
        _row("iris", "596060102", "Gare", "taux_emploi_15_64", 2022, 2024, np.nan, np.nan, np.nan, "secret", "producteur", None, "insee_rp_ic_act"),
        _row("qpv2024", "QN05930M", "Dutemple", "taux_emploi_15_64", 2022, 2024, 38.25, 76.5, 200.0, "estime", "dasymetrique", "bonne", "insee_rp_ic_act", couverture=0.97, simule=True),
        _row("commune", "59606", "Valenciennes", "population", 2022, 2024, 42979.0, 42979.0, np.nan, "ok", "somme", None, "insee_rp_ic_pop"),
        _row("commune", "59606", "Valenciennes", "revenu_median_mensuel", 2021, 2021, np.nan, np.nan, np.nan, "nd", "producteur", None, "insee_filosofi_com", motif="cellule vide dans le fichier du producteur"),
        _row("qpv2024", "QN05930M", "Dutemple", "part_beneficiaires_cmuc", 2013, 2024, 21.95, np.nan, np.nan, "ok", "partenaire", None, "contrat_ville_cavm"),
    ], columns=TIDY_COLUMNS)


def test_csv_format(tmp_path):
    p = write_csv(_tidy(), tmp_path / "out" / "indicateurs.csv")
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                       # UTF-8 BOM for Excel
    text = raw.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == ";".join(f'"{c}"' for c in TIDY_COLUMNS)       # texts quoted (RFC 4180)
    assert lines[1] == '"iris";"596060101";"Centre";"taux_emploi_15_64";2022;2024;45.5;91;200;"ok";"producteur";;;false;;;"insee_rp_ic_act"'
    # secret: empty cells, never 0
    assert lines[2] == '"iris";"596060102";"Gare";"taux_emploi_15_64";2022;2024;;;;"secret";"producteur";;;false;;;"insee_rp_ic_act"'
    # an estimate carries its coverage and its simulated input
    assert lines[3].endswith(';"estime";"dasymetrique";"bonne";0.97;true;;;"insee_rp_ic_act"')
    # a reason is one quoted cell (reasons may hold « ; »)
    assert lines[5].endswith(';"nd";"producteur";;;false;;"cellule vide dans le fichier du producteur";"insee_filosofi_com"')
    back = pd.read_csv(io.StringIO(text), sep=";", dtype={"code_territoire": str})
    assert back["valeur"].iloc[2] == 38.25 and back["code_territoire"].iloc[0] == "596060101"
    assert not list(tmp_path.joinpath("out").glob("*.tmp"))


def test_csv_is_atomic(tmp_path, monkeypatch):
    p = tmp_path / "indicateurs.csv"
    p.write_text("ancien", encoding="utf-8")
    bad = _tidy().drop(columns=["source"])           # a broken table: the write fails
    with pytest.raises(KeyError):
        write_csv(bad, p)
    assert p.read_text(encoding="utf-8") == "ancien"   # previous file intact, no temp file left
    assert [x.name for x in tmp_path.iterdir()] == ["indicateurs.csv"]


def test_xlsx_layout(tmp_path):
    p = write_xlsx(_tidy(), CAT, tmp_path / "indicateurs.xlsx", simulated=True,
                   libelles={"part_beneficiaires_cmuc": "Part des bénéficiaires de la CMU-C"})
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames[0] == FEUILLE_A_LIRE
    assert wb.sheetnames[1:1 + len(THEMES)] == [FEUILLES[t] for t in THEMES]
    assert "Chiffres partenaires" in wb.sheetnames
    ws = wb[FEUILLES["insertion"]]
    values = [r for r in ws.iter_rows(values_only=True)]
    assert values[0][0] == "Insertion sociale et professionnelle"
    assert values[1][0].startswith("Données simulées pour une partie des chiffres")
    header_i = next(i for i, r in enumerate(values) if r[0] == "Type de territoire")
    header = values[header_i]
    assert header[:4] == ("Type de territoire", "Code", "Territoire", "Indicateur")
    data = values[header_i + 1:]
    iris = next(r for r in data if r[1] == "596060101")
    assert iris[header.index("Valeur")] == 45.5
    secret = next(r for r in data if r[1] == "596060102")
    assert secret[header.index("Valeur")] is None and secret[header.index("Statut")] == "secret statistique"
    # the source line sits under the table
    last = [r for r in values if r[0]][-1][0]
    assert last.startswith("Source : Insee, recensement de la population")
    # definitions
    alire = [r for r in wb[FEUILLE_A_LIRE].iter_rows(values_only=True)]
    ids = {r[0] for r in alire}
    assert set(CAT) <= ids
    row = next(r for r in alire if r[0] == "taux_pauvrete")
    assert row[4] == CAT["taux_pauvrete"].definition
    partner = [r for r in wb["Chiffres partenaires"].iter_rows(values_only=True)]
    assert any(r[1] == "QN05930M" and r[8] == 21.95 and r[3] == "Part des bénéficiaires de la CMU-C" for r in partner)


def test_xlsx_real_data_has_no_simulated_mention(tmp_path):
    p = write_xlsx(_tidy().assign(simule=False), CAT, tmp_path / "i.xlsx", simulated=False)
    wb = openpyxl.load_workbook(p)
    for ws in wb.worksheets:
        for r in ws.iter_rows(values_only=True):
            # the column « Donnée simulée » stays (its cells say « non »)
            assert not any(isinstance(v, str) and "simulé" in v.lower() for v in r if v != "Donnée simulée"), r


def test_catalogue_rows():
    rows = catalogue_rows(CAT)
    assert len(rows) == len(CAT)
    assert rows[0]["theme"] == THEMES["demographie"]
    r = next(r for r in rows if r["id"] == "taux_pauvrete")
    assert r["unite"] == "%" and r["polarite"] == "valeur élevée = plus fragile"
    assert r["source"] == "Insee, Filosofi"


# hypothesis: random tidy tables with random withheld cells → no number for any withheld cell in the
# CSV or the XLSX (the engine's own secrecy properties are in tests/test_indicators.py)
_cells = st.lists(st.tuples(st.floats(1, 400), st.floats(401, 2000), st.sampled_from(["ok", "ok", "secret", "nd"]),
                            st.sampled_from(["taux_emploi_15_64", "revenu_median_mensuel"])), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(_cells)
def test_no_withheld_cell_becomes_a_number(tmp_path, cells):
    rows = []
    for i, (num, den, statut, ind) in enumerate(cells):
        ok = statut == "ok"
        rows.append(_row("iris", f"5960601{i:02d}", f"IRIS {i}", ind, 2022, 2024,
                         100 * num / den if ok else 12.5, num if ok else 3.0, den if ok else 7.0, statut,
                         "producteur", None, "insee_rp_ic_act"))
    tidy = pd.DataFrame(rows, columns=TIDY_COLUMNS)   # withheld rows deliberately hold numbers
    out = tmp_path / f"h{len(cells)}"
    csv_path = write_csv(tidy, out / "i.csv")
    with csv_path.open(encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            if row["statut"] in ("secret", "nd"):
                assert row["valeur"] == row["numerateur"] == row["denominateur"] == ""
    xlsx = write_xlsx(tidy, SUB, out / "i.xlsx", simulated=False)
    wb = openpyxl.load_workbook(xlsx)
    for name in (FEUILLES["insertion"], FEUILLES["revenus"]):
        vals = list(wb[name].iter_rows(values_only=True))
        hi = next((i for i, r in enumerate(vals) if r[0] == "Type de territoire"), None)
        if hi is None:
            continue
        h = vals[hi]
        for r in vals[hi + 1:]:
            if r[h.index("Statut")] in ("secret statistique", "non disponible"):
                assert r[h.index("Valeur")] is None and r[h.index("Numérateur")] is None \
                    and r[h.index("Dénominateur")] is None


def test_partner_figures_are_never_labelled_simulated(tmp_path):
    """A simulated workbook still holds the partners' real figures: their sheet says nothing of
    simulation, and the theme sheets' banner makes the exception explicit."""
    p = write_xlsx(_tidy(), CAT, tmp_path / "i.xlsx", simulated=True)
    wb = openpyxl.load_workbook(p, read_only=True)
    partner = [v for r in wb["Chiffres partenaires"].iter_rows(values_only=True) for v in r if isinstance(v, str)]
    assert partner[0] == "Chiffres des partenaires hors catalogue"
    assert not any("simulé" in v.lower() for v in partner if v != "Donnée simulée")
    banner = next(wb[FEUILLES["insertion"]].iter_rows(values_only=True, min_row=2, max_row=2))[0]
    assert banner.startswith("Données simulées") and "chiffres publiés par un partenaire sont réels" in banner


def test_text_cells_never_start_a_formula(tmp_path):
    """A quartier named like a formula (issue 16) is written as text in the CSV and the workbook."""
    t = _tidy()
    t.loc[3, "libelle_territoire"] = '=HYPERLINK("http://x","clic")'
    t.loc[4, "motif"] = "-2+3"
    t.loc[0, "libelle_territoire"] = "@SUM(A1)"
    back = pd.read_csv(write_csv(t, tmp_path / "i.csv"), sep=";", encoding="utf-8-sig", dtype=str)
    assert back.loc[3, "libelle_territoire"] == '\'=HYPERLINK("http://x","clic")'
    assert back.loc[4, "motif"] == "'-2+3" and back.loc[0, "libelle_territoire"] == "'@SUM(A1)"
    wb = openpyxl.load_workbook(write_xlsx(t, CAT, tmp_path / "i.xlsx", simulated=True))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    # in a workbook a text cell is typed « s » (shared string): Excel shows it, never runs it
    assert not [c.coordinate for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    named = [c for c in cells if c.value == '=HYPERLINK("http://x","clic")']
    assert named and all(c.data_type == "s" for c in named)
