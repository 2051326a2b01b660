"""Back-test of the quartier estimates (issue 15): a synthetic territory whose truth is set by hand.

Territory: IRIS A, B, C (population P = 1 000, 2 000, 500; count X = 100, 600, 250) and two 2015
quartiers Q1, Q2 with the crosswalk

    piece    poids_surface  poids_dasymetrique  surface_inter_m2
    A → Q1   0.50           0.80                50
    B → Q1   0.25           0.10                25
    B → Q2   0.50           0.60                50
    C → Q2   1.00           1.00                100

Estimates (Σ w·count):
    surface       Q1: P = 500 + 500 = 1 000, X = 50 + 150 = 200  → 20 %
                  Q2: P = 1 000 + 500 = 1 500, X = 300 + 250 = 550 → 36,666… %
    dasymétrique  Q1: P = 800 + 200 = 1 000, X = 80 + 60 = 140   → 14 %
                  Q2: P = 1 200 + 500 = 1 700, X = 360 + 250 = 610 → 35,882… %
INSEE (producer, published rate TX without counts): Q1 P = 1 100, TX = 15 ; Q2 P = 1 500, TX = 37.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatoire.catalogue import Indicateur
from observatoire.indicators.units import evaluate_group, group_tables
from observatoire.sources.table import SourceTable
from observatoire import verification as V

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
HAS_SHARED = (SHARED / "valenciennes" / "qpv2024.geojson").exists() and (SHARED / "real" / "insee_qpv2015").exists()

CAT = {
    "pop": Indicateur("pop", "Population", "demographie", "nombre", "effectif", "src", variable="P"),
    "taux_x": Indicateur("taux_x", "Part des X", "familles", "%", "ratio", "src", numerateur="X",
                         denominateur="P", taux_publie="TX"),
    "mediane": Indicateur("mediane", "Médiane", "revenus", "€", "valeur_producteur", "src", variable="MED"),
}

CW = pd.DataFrame({"code_iris": ["A", "B", "B", "C"], "code_zone": ["Q1", "Q1", "Q2", "Q2"],
                   "poids_surface": [0.5, 0.25, 0.5, 1.0], "poids_dasymetrique": [0.8, 0.1, 0.6, 1.0],
                   "surface_inter_m2": [50.0, 25.0, 50.0, 100.0]})


def _table(niveau, millesime, data: dict, index, statut=None, simule=False):
    d = pd.DataFrame(data, index=pd.Index(index, name="code"), dtype=float)
    s = pd.DataFrame("ok", index=d.index, columns=d.columns)
    for (code, col), st in (statut or {}).items():
        s.loc[code, col] = st
        d.loc[code, col] = np.nan
    return SourceTable("src", niveau, millesime, 2015, d, s, simule=simule)


def _units(tables):
    groups = group_tables(tables)
    return {key: evaluate_group(g, CAT, groups) for key, g in groups.items()}


def _inputs(iris_simule=False, insee_simule=False, secret_2018=True):
    """IRIS and QP units for 2017 (all known) and 2018 (X of IRIS C secret)."""
    iris = {"P": [1000, 2000, 500], "X": [100, 600, 250], "MED": [1500, 1400, 1300]}
    tables = [_table("iris", 2017, iris, ["A", "B", "C"], simule=iris_simule),
              _table("qpv2015", 2017, {"P": [1100, 1500], "TX": [15.0, 37.0], "MED": [1200, 1250]},
                     ["Q1", "Q2"], simule=insee_simule)]
    if secret_2018:
        tables += [_table("iris", 2018, iris, ["A", "B", "C"], statut={("C", "X"): "secret"}),
                   _table("qpv2015", 2018, {"P": [1100, 1500], "TX": [15.0, 37.0]}, ["Q1", "Q2"])]
    u = _units(tables)
    return ({m: f for (n, m), f in u.items() if n == "iris"}, {m: f for (n, m), f in u.items() if n == "qpv2015"})


def _row(err, ind, m, meth, q):
    r = err[(err["indicateur"] == ind) & (err["millesime"] == m) & (err["methode"] == meth)
            & (err["code_quartier"] == q)]
    assert len(r) == 1, (ind, m, meth, q)
    return r.iloc[0]


@pytest.fixture(scope="module")
def errors():
    iris, qp = _inputs()
    return V.backtest(iris, qp, CW, catalogue=CAT, territoire="Territoire test",
                      libelles={"Q1": "Quartier un", "Q2": "Quartier deux"})


# ----------------------------------------------------------------------------------------------------
# backtest
# ----------------------------------------------------------------------------------------------------
def test_backtest_columns_and_rows(errors):
    assert list(errors.columns) == V.ESTIMATION_COLUMNS
    # 2017: 2 indicators × 2 methods × 2 quartiers; 2018 the same (median never: not summable at IRIS)
    assert len(errors) == 16
    assert set(errors["indicateur"]) == {"pop", "taux_x"}
    assert set(errors["territoire"]) == {"Territoire test"}
    assert _row(errors, "pop", 2017, "surface", "Q1")["libelle_quartier"] == "Quartier un"


@pytest.mark.parametrize("meth,q,est,insee,ecart", [
    ("surface", "Q1", 1000.0, 1100.0, -100 / 11),          # −9,09 %
    ("surface", "Q2", 1500.0, 1500.0, 0.0),
    ("dasymetrique", "Q1", 1000.0, 1100.0, -100 / 11),
    ("dasymetrique", "Q2", 1700.0, 1500.0, 40 / 3),         # +13,33 %
])
def test_count_errors_in_percent_of_insee(errors, meth, q, est, insee, ecart):
    r = _row(errors, "pop", 2017, meth, q)
    assert r["valeur_estimee"] == pytest.approx(est)
    assert r["valeur_insee"] == pytest.approx(insee)
    assert r["ecart"] == pytest.approx(ecart)
    assert r["unite_ecart"] == "%"
    assert bool(r["dans_tolerance"]) == (abs(ecart) <= 10)
    assert r["famille"] == "effectif_src"


@pytest.mark.parametrize("meth,q,est,ecart", [
    ("surface", "Q1", 20.0, 5.0),
    ("surface", "Q2", 1100 / 30, 1100 / 30 - 37),           # −0,33 point
    ("dasymetrique", "Q1", 14.0, -1.0),
    ("dasymetrique", "Q2", 6100 / 170, 6100 / 170 - 37),    # −1,12 point
])
def test_rate_errors_in_points_against_published_rate(errors, meth, q, est, ecart):
    r = _row(errors, "taux_x", 2017, meth, q)
    assert r["valeur_estimee"] == pytest.approx(est)
    assert r["valeur_insee"] == pytest.approx({"Q1": 15.0, "Q2": 37.0}[q])
    assert r["ecart"] == pytest.approx(ecart)
    assert r["unite_ecart"] == "points"
    assert bool(r["dans_tolerance"]) == (abs(ecart) <= 2)


def test_quality_and_coverage_of_each_estimate(errors):
    # surface: Q1 has no IRIS more than half inside (faible); Q2 gets C whole, B half: 1/1.5 → moyenne
    assert _row(errors, "taux_x", 2017, "surface", "Q1")["qualite"] == "faible"
    assert _row(errors, "taux_x", 2017, "surface", "Q2")["qualite"] == "moyenne"
    # dasymetric: A (0.8) in Q1 → 0.8/0.9 ; B (0.6) and C in Q2 → both bonne
    assert _row(errors, "taux_x", 2017, "dasymetrique", "Q1")["qualite"] == "bonne"
    assert _row(errors, "taux_x", 2017, "dasymetrique", "Q2")["qualite"] == "bonne"
    assert (errors.loc[errors["millesime"] == 2017, "couverture"] == 1.0).all()
    assert not errors["simule"].any()


def test_secret_iris_value_leaves_the_quartier_unpublished(errors):
    # 2018: X of C secret → Q2's rate covers 50 m² of 150 (one third < 50 %): not published, no error
    r = _row(errors, "taux_x", 2018, "surface", "Q2")
    assert math.isnan(r["valeur_estimee"]) and math.isnan(r["ecart"])
    assert r["couverture"] == pytest.approx(1 / 3)
    assert "couverture insuffisante" in r["motif"]
    assert not r["dans_tolerance"]
    # Q1 does not touch C: same figures as 2017; the count of Q2 is still known
    assert _row(errors, "taux_x", 2018, "surface", "Q1")["ecart"] == pytest.approx(5.0)
    assert _row(errors, "pop", 2018, "surface", "Q2")["ecart"] == pytest.approx(0.0)


def test_simulated_inputs_mark_every_comparison():
    iris, qp = _inputs(secret_2018=False)
    assert not V.backtest(iris, qp, CW, catalogue=CAT)["simule"].any()
    assert V.backtest(iris, qp, CW, catalogue=CAT, geometrie_simulee=True)["simule"].all()
    iris, qp = _inputs(iris_simule=True, secret_2018=False)
    assert V.backtest(iris, qp, CW, catalogue=CAT)["simule"].all()
    iris, qp = _inputs(insee_simule=True, secret_2018=False)
    assert V.backtest(iris, qp, CW, catalogue=CAT)["simule"].all()


def test_quartier_without_any_iris_figure_is_kept_without_error():
    iris, qp = _inputs(secret_2018=False)
    only_c = {m: f[f["code"] == "C"] for m, f in iris.items()}   # Q1 meets A and B only
    e = V.backtest(only_c, qp, CW, catalogue=CAT, methods=("surface",), geometrie_simulee=True)
    r = _row(e, "pop", 2017, "surface", "Q1")
    assert math.isnan(r["valeur_estimee"]) and math.isnan(r["ecart"]) and r["valeur_insee"] == 1100
    assert r["motif"] == "aucun IRIS de la table de passage n'a ce chiffre"
    assert r["simule"]          # which IRIS a quartier meets depends on the simulated outlines
    assert V.summarise(e).set_index(["indicateur", "methode"]).loc[("pop", "surface"), "n_quartiers"] == 0


def test_dasymetric_skipped_without_weights_and_quartiers_outside_crosswalk_ignored():
    iris, qp = _inputs(secret_2018=False)
    cw = CW.drop(columns="poids_dasymetrique")
    e = V.backtest(iris, qp, cw[cw["code_zone"] == "Q1"], catalogue=CAT)
    assert set(e["methode"]) == {"surface"}
    assert set(e["code_quartier"]) == {"Q1"}


def test_stacked_frames_accepted_and_no_overlap_gives_empty_table():
    iris, qp = _inputs(secret_2018=False)
    stacked_i = pd.concat([f.assign(millesime=m) for m, f in iris.items()])
    stacked_q = pd.concat([f.assign(millesime=m) for m, f in qp.items()])
    e = V.backtest(stacked_i, stacked_q, CW, catalogue=CAT, methods=("surface",))
    assert len(e) == 4
    shifted = stacked_q.assign(millesime=2030)
    empty = V.backtest(stacked_i, shifted, CW, catalogue=CAT)
    assert empty.empty and list(empty.columns) == V.ESTIMATION_COLUMNS
    assert V.summarise(empty).empty


# ----------------------------------------------------------------------------------------------------
# summary
# ----------------------------------------------------------------------------------------------------
def _s(summary, ind, meth, m=2017):
    r = summary[(summary["indicateur"] == ind) & (summary["methode"] == meth) & (summary["millesime"] == m)]
    assert len(r) == 1
    return r.iloc[0]


def test_summary_by_hand(errors):
    s = V.summarise(errors)
    assert list(s.columns) == V.RESUME_COLUMNS
    a = _s(s, "pop", "surface")
    assert (a["n_quartiers"], a["tolerance"], a["unite_ecart"]) == (2, "±10 %", "%")
    assert a["ecart_median_abs"] == pytest.approx(50 / 11)          # (9,09 + 0) / 2
    assert a["biais"] == pytest.approx(-50 / 11)
    assert a["part_dans_tolerance"] == pytest.approx(1.0)
    b = _s(s, "pop", "dasymetrique")
    assert b["ecart_median_abs"] == pytest.approx((100 / 11 + 40 / 3) / 2)   # 11,21 %
    assert b["biais"] == pytest.approx((-100 / 11 + 40 / 3) / 2)             # +2,12 %
    assert b["part_dans_tolerance"] == pytest.approx(0.5)
    c = _s(s, "taux_x", "surface")
    assert (c["tolerance"], c["unite_ecart"]) == ("±2 points", "points")
    assert c["ecart_median_abs"] == pytest.approx((5 + (37 - 1100 / 30)) / 2)   # 2,67 points
    assert c["biais"] == pytest.approx((5 + (1100 / 30 - 37)) / 2)              # +2,33 points
    assert c["part_dans_tolerance"] == pytest.approx(0.5)
    d = _s(s, "taux_x", "dasymetrique")
    assert d["ecart_median_abs"] == pytest.approx((1 + (37 - 6100 / 170)) / 2)  # 1,06 point
    assert d["biais"] == pytest.approx(-(1 + (37 - 6100 / 170)) / 2)
    assert d["part_dans_tolerance"] == pytest.approx(1.0)
    # 2018: Q2's rate unpublished → one quartier compared
    e = _s(s, "taux_x", "surface", 2018)
    assert e["n_quartiers"] == 1 and e["ecart_median_abs"] == pytest.approx(5.0)
    assert not s["simule"].any()


# ----------------------------------------------------------------------------------------------------
# quality from evidence, method choice
# ----------------------------------------------------------------------------------------------------
def test_quality_caps_follow_the_documented_rule(errors):
    s = V.summarise(errors[errors["millesime"] == 2017])
    caps = V.quality_from_backtest(s, CAT, n_min=2)
    assert list(caps.columns) == V.PLAFOND_COLUMNS
    caps = caps.set_index(["famille", "methode"])
    # rates: 2,67 points ≤ 3 → moyenne at best ; 1,06 ≤ 1,5 → bonne allowed
    assert caps.loc[("taux_src", "surface"), "plafond"] == "moyenne"
    assert caps.loc[("taux_src", "dasymetrique"), "plafond"] == "bonne"
    # counts: 4,55 % ≤ 5 → bonne ; 11,21 % > 10 → faible
    assert caps.loc[("effectif_src", "surface"), "plafond"] == "bonne"
    assert caps.loc[("effectif_src", "dasymetrique"), "plafond"] == "faible"
    assert caps.loc[("effectif_src", "dasymetrique"), "plafond_code"] == 3
    # two quartiers are no evidence under the default minimum (5): the coverage rule alone applies
    none = V.quality_from_backtest(s, CAT)
    assert (none["plafond_code"] == 0).all() and none["plafond"].isna().all()


def test_quality_family_error_is_median_of_indicator_medians():
    s = pd.DataFrame({"territoire": "T", "indicateur": ["a", "b", "c"], "methode": "surface", "millesime": 2017,
                      "n_quartiers": 14, "ecart_median_abs": [1.0, 3.5, 2.0], "unite_ecart": "points"})
    cat = {k: Indicateur(k, k, "familles", "%", "ratio", "caf") for k in "abc"}
    cap = V.quality_from_backtest(s, cat)
    assert len(cap) == 1
    assert cap["ecart_median_abs"].iloc[0] == pytest.approx(2.0) and cap["plafond"].iloc[0] == "moyenne"
    assert cap["n_indicateurs"].iloc[0] == 3
    # boundaries are inclusive: exactly 1,5 → bonne, exactly 3 → moyenne
    for e, expected in ((1.5, "bonne"), (3.0, "moyenne"), (3.01, "faible")):
        one = s.iloc[:1].assign(ecart_median_abs=e)
        assert V.quality_from_backtest(one, cat)["plafond"].iloc[0] == expected


def test_cap_quality_only_lowers_estimates(errors):
    s = V.summarise(errors[errors["millesime"] == 2017])
    caps = V.quality_from_backtest(s, CAT, n_min=2)
    u = pd.DataFrame({"ind": ["taux_x", "taux_x", "taux_x", "pop", "pop", "mediane"],
                      "methode": ["surface", "dasymetrique", "producteur", "dasymetrique", "surface", "surface"],
                      "qualite": np.array([1, 2, 0, 1, 3, 1], dtype=np.int8)})
    out = V.cap_quality(u, caps, CAT)
    # surface rate capped at moyenne (2); dasymetric rate keeps 2; producer untouched; dasymetric
    # count → faible; a worse class is never raised; a family without back-test keeps its class
    assert out["qualite"].tolist() == [2, 2, 0, 3, 3, 1]
    assert u["qualite"].tolist() == [1, 2, 0, 1, 3, 1]  # input unchanged


def test_choose_method_takes_the_lower_measured_error(errors):
    s = V.summarise(errors[errors["millesime"] == 2017])
    c = V.choose_method(s, CAT).set_index("famille")
    assert c.loc["taux_src", "methode_retenue"] == "dasymetrique"
    assert c.loc["effectif_src", "methode_retenue"] == "surface"
    assert c.loc["taux_src", "ecart_surface"] == pytest.approx((5 + (37 - 1100 / 30)) / 2)
    only = V.choose_method(s[s["methode"] == "surface"], CAT).set_index("famille")
    assert (only["methode_retenue"] == "surface").all()


def test_method_note_states_the_median_error(errors):
    s = V.summarise(errors[errors["millesime"] == 2017])
    txt = V.method_note(s, "dasymetrique")
    assert txt.startswith("Sur les 2 quartiers 2015 de Territoire test, ces estimations (pondération par la "
                          "population carroyée) s'écartent en médiane de 1,1\u00a0point pour les taux (1 indicateur)")
    assert "11,2\u00a0% pour les effectifs et indices" in txt
    assert "simulées" not in txt
    assert V.method_note(s.assign(simule=True), "dasymetrique").endswith("(données simulées).")
    assert V.method_note(s.iloc[:0]) == ""


# ----------------------------------------------------------------------------------------------------
# writers
# ----------------------------------------------------------------------------------------------------
def test_add_layers_keeps_the_store_and_writes_csv(errors, tmp_path):
    import pyogrio

    from observatoire.store import write_gpkg

    gpkg = write_gpkg({"indicateurs": pd.DataFrame({"a": [1.0, 2.0]})}, tmp_path / "o.gpkg")
    s = V.summarise(errors)
    V.add_layers(gpkg, {"verification_estimations": errors, "verification_resume": s})
    V.add_layers(gpkg, {"verification_resume": s.iloc[:3]})     # rerun replaces a layer
    layers = [n for n, _ in pyogrio.list_layers(gpkg)]
    assert layers == ["indicateurs", "verification_estimations", "verification_resume"]
    back = pyogrio.read_dataframe(gpkg, layer="verification_resume")
    assert len(back) == 3 and list(back.columns) == V.RESUME_COLUMNS
    assert len(pyogrio.read_dataframe(gpkg, layer="verification_estimations")) == len(errors)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.gpkg"]  # no temporary file left

    csv = V.write_csv(errors.assign(libelle_quartier="=HYPERLINK(1)"), tmp_path / "v.csv")
    raw = csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    t = pd.read_csv(csv, sep=";", encoding="utf-8-sig")
    assert list(t.columns) == V.ESTIMATION_COLUMNS and len(t) == len(errors)
    assert (t["libelle_quartier"] == "'=HYPERLINK(1)").all()
    assert set(t["dans_tolerance"].astype(str)) <= {"True", "False"}


def test_add_layers_failure_leaves_store_untouched(tmp_path, monkeypatch):
    import pyogrio

    from observatoire.store import write_gpkg

    gpkg = write_gpkg({"indicateurs": pd.DataFrame({"a": [1.0]})}, tmp_path / "o.gpkg")
    before = gpkg.read_bytes()
    real = pyogrio.write_dataframe

    def fail_on_second(df, path, layer, **kw):   # a crash after the first layer was written
        if layer == "second":
            raise OSError("disque plein")
        return real(df, path, layer=layer, **kw)

    monkeypatch.setattr(pyogrio, "write_dataframe", fail_on_second)
    from observatoire.errors import OutputError

    with pytest.raises(OutputError, match="disque plein"):   # named in French with the folder
        V.add_layers(gpkg, {"first": pd.DataFrame({"x": [1]}), "second": pd.DataFrame({"x": [2]})})
    assert gpkg.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.gpkg"]


def test_html_page_is_french_escaped_and_says_simulated(errors):
    s = V.summarise(errors)
    caps = V.quality_from_backtest(s, CAT, n_min=2)
    ch = V.choose_method(s, CAT)
    real = V.render_html(s, errors, caps, ch, CAT, territoire="<Terr>", n_quartiers=2)
    assert "&lt;Terr&gt;" in real and "<Terr>" not in real
    assert "Données simulées" not in real and "Toutes les données comparées sont réelles" in real
    assert "Part des X" in real and "2,7\u00a0points" in real and "±2 points" in real
    assert "http" not in real  # self-contained
    sim = V.render_html(s.assign(simule=True), errors, caps, ch, CAT, territoire="T", n_quartiers=2,
                        raisons_simulation=["les contours des IRIS sont simulés"])
    assert "Données simulées" in sim and "les contours des IRIS sont simulés" in sim
    empty = V.render_html(V.summarise(errors.iloc[:0]), errors.iloc[:0], caps.iloc[:0], ch.iloc[:0], CAT,
                          territoire="T", n_quartiers=0)
    assert "aucune vérification n'est possible" in empty


def test_verifier_without_geopackage_is_a_french_error(tmp_path):
    from observatoire.config import load_config
    from observatoire.errors import ObservatoireError

    cfg_file = tmp_path / "observatoire.toml"
    cfg_file.write_text('[territoire]\nepci = "245901160"\n', encoding="utf-8")
    with pytest.raises(ObservatoireError, match="observatoire build"):
        V.verifier(load_config(cfg_file))


# ----------------------------------------------------------------------------------------------------
# the demo (../shared)
# ----------------------------------------------------------------------------------------------------


# The back-test on the Valenciennes demo is checked in tests/test_pipeline_e2e.py (one demo run).


def test_bench_script_runs_on_the_simulated_ground_truth():
    """``make bench`` runs scripts/bench_verification.py: the back-test on the simulated truth, printed
    as the same table (issue 15, item 4); the quick variant must run through."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "bench_verification.py"
    run = subprocess.run([sys.executable, str(script), "--rapide"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert "Phrase des notes de méthode" in run.stdout and "s'écartent en médiane de" in run.stdout
