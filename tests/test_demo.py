"""The demo mirror (``observatoire.demo``) and the pipeline run on it, for several territories.

Expected values come from the raw files, computed by hand (the command or the arithmetic is given next
to each). Each territory is built once per module (fixtures below):

- the small fully simulated territory (no ``../shared``): runs everywhere;
- with ``../shared/data`` (marker ``shared``, skipped on a fresh clone elsewhere): CA Valenciennes
  Métropole (mirror only), CA de la Porte du Hainaut (mirror, fetch, build), Saint-Amand-les-Eaux
  (2015 quartiers, no 2024 perimeter in the real files at hand) and three rural communes of the Nord
  (no quartier at all).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import re
import tokenize
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from observatoire.config import Config, load_config
from observatoire.demo import build_mirror
from observatoire.demo.config import write_demo_config
from observatoire.demo.ecriture import Miroir
from observatoire.demo.prolongation import (Table, carry_filosofi, carry_quartiers_2015, carry_table, parse_cell,
                                            poverty_rate)
from observatoire.errors import ObservatoireError
from observatoire.pipeline import build
from observatoire.sources.fetch import fetch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
REAL = SHARED / "real"
HAS_SHARED = (REAL / "insee_cog" / "EPCI_2020.csv").is_file() and (SHARED / "valenciennes" / "qpv2024.geojson").is_file()
SANS_SHARED = "../shared/data (fichiers officiels réels) absent : clone hors de l'environnement du projet"
needs_shared = pytest.mark.skipif(not HAS_SHARED, reason=SANS_SHARED)

#: Sources the mirror of a real territory always simulates (no real copy exists to this project).
SOURCES_SIMULEES = {"ign_iris", "insee_filosofi_carreaux", "insee_qp2024_rp", "insee_qp2024_caf",
                    "insee_filosofi_qp2024", "insee_cnam_com"}
FILOSOFI_2021 = {"insee_filosofi_iris/BASE_TD_FILO_DISP_IRIS_2021.csv",
                 "insee_filosofi_com/indic-struct-distrib-revenu-2021-COMMUNES_csv.zip",
                 "insee_filosofi_supra/indic-struct-distrib-revenu-2021-SUPRA_csv.zip"}
QUARTIER_TYPES = {"qpv2015", "qpv2024", "partie_qpv2024", "ensemble_qpv2015_epci", "ensemble_qpv2024_epci"}


# ---------------------------------------------------------------------------------------------------
# One demo run: mirror, then fetch + build through the library functions, output captured
# ---------------------------------------------------------------------------------------------------

@dataclass
class Demo:
    mirror: Path
    config: Config | None
    sortie: str                       # what the run printed (warnings, stage summaries), whitespace-normalised
    erreur: BaseException | None      # the exception of fetch/build, kept for the tests to judge
    gpkg: Path | None

    @property
    def manifest(self) -> dict:
        return json.loads((self.mirror / "manifest.json").read_text(encoding="utf-8"))["fichiers"]

    def tidy(self) -> pd.DataFrame:
        return pd.read_csv(self.config.paths.indicateurs_csv, sep=";", encoding="utf-8-sig",
                           dtype={"code_territoire": str})


def run_demo(root: Path, territoire: dict | None, pipeline: bool = True) -> Demo:
    """Build the mirror of ``territoire`` (``None``: the fully simulated one) under ``root``, then, with
    ``pipeline``, its demo configuration, ``fetch --mirror`` and ``build``."""
    out = io.StringIO()
    cfg = gpkg = err = None
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(out):
        mp.setenv("OBSERVATOIRE_SILENCE", "0")
        mirror = build_mirror(root / "miroir", shared_dir=SHARED if territoire else False, territoire=territoire)
        if pipeline:
            cfg = load_config(write_demo_config(mirror, root)).with_mirror(mirror)
            try:
                fetch(cfg)
                gpkg = build(cfg)
            except Exception as e:  # noqa: BLE001 — judged by the tests (a run must reach the end)
                err = e
    return Demo(mirror, cfg, " ".join(out.getvalue().split()), err, gpkg)


def _require_shared():
    if not HAS_SHARED:
        pytest.skip(SANS_SHARED)


@pytest.fixture(scope="module")
def fictif(tmp_path_factory) -> Demo:
    return run_demo(tmp_path_factory.mktemp("fictif"), None)


@pytest.fixture(scope="module")
def valenciennes(tmp_path_factory) -> Demo:
    _require_shared()
    return run_demo(tmp_path_factory.mktemp("valenciennes"), {"epci": "245901160"}, pipeline=False)


@pytest.fixture(scope="module")
def porte_du_hainaut(tmp_path_factory) -> Demo:
    _require_shared()
    return run_demo(tmp_path_factory.mktemp("caph"), {"epci": "200042190"})


@pytest.fixture(scope="module")
def quartiers_2015_seuls(tmp_path_factory) -> Demo:
    """Saint-Amand-les-Eaux (59526): 2015 quartiers QP059057 Collinière and QP059058 Elnon in the
    national 2015 file (COMMUNE_QP = « Saint-Amand-les-Eaux »), and no 2024 perimeter in the real files at
    hand (../shared/data/valenciennes/qpv2024.geojson has only the 15 quartiers touching Valenciennes
    Métropole, none in 59526)."""
    _require_shared()
    return run_demo(tmp_path_factory.mktemp("saint_amand"), {"communes": ["59526"]})


@pytest.fixture(scope="module")
def sans_quartier(tmp_path_factory) -> Demo:
    """Avesnes-le-Sec (59038), Haspres (59285), Noyelles-sur-Selle (59440): rural communes of the Nord
    that no 2015 perimeter (COMMUNE_QP) nor 2024 perimeter names."""
    _require_shared()
    return run_demo(tmp_path_factory.mktemp("rural"), {"communes": ["59038", "59285", "59440"]})


def _files(mirror: Path) -> set[str]:
    """Every data file of a mirror (``<source>/<file>``), without the manifest and the configurations."""
    return {p.relative_to(mirror).as_posix() for p in mirror.rglob("*") if p.is_file() and p.parent != mirror}


def _sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------------
# Filosofi 2021 carried forward (observatoire/demo/prolongation.py), by hand
# ---------------------------------------------------------------------------------------------------

# Two IRIS lines of BASE_TD_FILO_DISP_IRIS_2019.csv (real values of 596060101; the second line made to
# hold an empty cell, a « s » cell and a precaution note), BOM, CRLF and no final newline as published.
IRIS_2019 = ("\ufeffIRIS;LIBIRIS;COM;LIBCOM;DISP_TP6019;DISP_Q119;DISP_MED19;DISP_Q319;DISP_EQ19;DISP_D119;"
             "DISP_D919;DISP_RD19;DISP_PACT19;DISP_PTSA19;DISP_PCHO19;DISP_PBEN19;DISP_PPEN19;DISP_PPAT19;"
             "DISP_PPSOC19;DISP_PIMPOT19;DISP_NOTE19\r\n"
             "596060101;Nungesser;59606;Valenciennes;10,5;18490;24880;32800;0,58;12810;43400;3,4;75,5;65,7;1,9;7,9;"
             "31,2;9,8;3,8;-20,3;0\r\n"
             "596060102;La Briquette;59606;Valenciennes;;s;17500;;;;;;;;;;;;;;1").encode("utf-8")


def test_carry_table_moves_the_vintage_keeps_the_layout_and_the_secrecy():
    out = carry_table(IRIS_2019, 2019, 2021, np.random.default_rng(0))
    assert out.startswith(b"\xef\xbb\xbf") and not out.endswith(b"\n") and out.count(b"\r\n") == 2
    lines = out[3:].decode("utf-8").split("\r\n")
    assert lines[0] == IRIS_2019[3:].decode("utf-8").split("\r\n")[0].replace("19;", "21;").replace("NOTE19", "NOTE21")
    h, a, b = (ln.split(";") for ln in lines)
    row = dict(zip(h, a))
    # identifiers and notes unchanged; withheld cells stay as published
    assert a[:4] == ["596060101", "Nungesser", "59606", "Valenciennes"] and row["DISP_NOTE21"] == "0"
    assert b == ["596060102", "La Briquette", "59606", "Valenciennes", "", "s", b[6]] + [""] * 13 + ["1"]
    num = {k: parse_cell(v)[0] for k, v in row.items() if k.startswith("DISP_")}
    # incomes: × 1.04 with a small noise common to the row, rounded to 10 € like INSEE's
    assert 1.0 < num["DISP_MED21"] / 24880 < 1.08 and 1.0 < parse_cell(b[6])[0] / 17500 < 1.08
    for k in ("DISP_Q121", "DISP_MED21", "DISP_Q321", "DISP_D121", "DISP_D921"):
        assert num[k] % 10 == 0
    assert num["DISP_Q121"] / 18490 == pytest.approx(num["DISP_Q321"] / 32800, abs=1e-3)
    # ratios recomputed from the new quantiles, with the decimals of the file
    assert row["DISP_EQ21"] == f"{(num['DISP_Q321'] - num['DISP_Q121']) / num['DISP_MED21']:.2f}".replace(".", ",")
    assert row["DISP_RD21"] == f"{num['DISP_D921'] / num['DISP_D121']:.1f}".replace(".", ",")
    # poverty rate ± small noise (sd 0.8 point); shares keep the sums of the base file
    assert abs(num["DISP_TP6021"] - 10.5) < 4.0 and re.fullmatch(r"\d+,\d", row["DISP_TP6021"])
    assert num["DISP_PACT21"] == pytest.approx(num["DISP_PTSA21"] + num["DISP_PCHO21"] + num["DISP_PBEN21"], abs=0.21)
    total = num["DISP_PACT21"] + num["DISP_PPEN21"] + num["DISP_PPAT21"] + num["DISP_PPSOC21"] + num["DISP_PIMPOT21"]
    assert total == pytest.approx(75.5 + 31.2 + 9.8 + 3.8 - 20.3, abs=0.26)   # = 100,0 in the base file


def test_poverty_rate_interpolated_between_deciles_by_hand():
    assert poverty_rate({"DISP_D1": 10_000, "DISP_D2": 12_000, "DISP_MED": 20_000}, 11_000) == pytest.approx(15.0)
    # below the first decile: along the first segment, 10 − 1 000 × 10 / 2 000
    assert poverty_rate({"DISP_D1": 10_000, "DISP_D2": 12_000}, 9_000) == pytest.approx(5.0)
    assert poverty_rate({"DISP_MED": 20_000, "DISP_D2": 12_000}, 11_000) is None      # first decile withheld
    assert poverty_rate({"DISP_D1": 10_000, "DISP_D9": 30_000}, 31_000) is None
    # Nord in FILO2019_DISP_DEP.csv: D1 10 740, D2 13 410; threshold 0.6 × 21 930 (France, Q219) = 13 158:
    # 10 + 10 × (13 158 − 10 740) / (13 410 − 10 740) = 19.056
    nord = {"DISP_D1": 10_740, "DISP_D2": 13_410, "DISP_Q1": 14_590, "DISP_MED": 20_290, "DISP_D9": 35_980}
    assert poverty_rate(nord, 0.6 * 21_930) == pytest.approx(19.056, abs=1e-3)


def test_carry_writes_only_the_editions_after_the_last_one(tmp_path):
    """A gap between two editions (no communal 2017 file between 2016 and 2018) is never filled."""
    m = Miroir(tmp_path)
    for y in (2016, 2018):
        data = IRIS_2019.replace(b"19;", f"{y % 100};".encode()).replace(b"NOTE19", f"NOTE{y % 100}".encode())
        m.write(f"insee_filosofi_iris/BASE_TD_FILO_DISP_IRIS_{y}.csv", data, simule=False, note="réel")
    written = carry_filosofi(m, [2016, 2017, 2018, 2021], np.random.default_rng(1))
    assert written == ["insee_filosofi_iris/BASE_TD_FILO_DISP_IRIS_2021.csv"]
    e = m.entries[written[0]]
    assert e["simule"] is True and e["note"].startswith("simulé : prolongation du dernier millésime réel (2018)")
    assert b"DISP_MED21;" in (tmp_path / written[0]).read_bytes()


def test_carry_quartiers_2015_area_weighted_by_hand():
    import shapely

    q24 = gpd.GeoDataFrame({"code_qp": ["QN00001M", "QN00002M"]},
                           geometry=[shapely.box(0, 0, 100, 100), shapely.box(500, 500, 600, 600)], crs=2154)
    q15 = gpd.GeoDataFrame({"code_qp": ["QP000001", "QP000002"]},
                           geometry=[shapely.box(0, 0, 50, 100), shapely.box(50, 0, 200, 100)], crs=2154)
    filo = pd.DataFrame({"DISP_MED": [10_000.0, 20_000.0], "DISP_TP60": [40.0, 20.0]}, index=["QP000001", "QP000002"])
    got = carry_quartiers_2015(q24, q15, filo, np.random.default_rng(3))
    # QN00001M: half in each 2015 quartier → median (10 000 + 20 000) / 2 = 15 000 × 1.04 ± noise, rate 30 ± noise;
    # QN00002M overlaps none: not carried (stays simulated from the IRIS)
    assert list(got.index) == ["QN00001M"] and got.loc["QN00001M", "part"] == pytest.approx(1.0)
    assert 1.0 < got.loc["QN00001M", "DISP_MED"] / 15_000 < 1.08
    assert got.loc["QN00001M", "DISP_TP60"] == pytest.approx(30.0, abs=4.0)


def test_real_territory_requires_a_territory(tmp_path):
    (tmp_path / "shared" / "real").mkdir(parents=True)
    with pytest.raises(ObservatoireError, match="Territoire du miroir de démonstration non indiqué"):
        build_mirror(tmp_path / "miroir", shared_dir=tmp_path / "shared")
    assert not (tmp_path / "miroir").exists()


# ---------------------------------------------------------------------------------------------------
# The fully simulated territory (no ../shared)
# ---------------------------------------------------------------------------------------------------

def test_fictif_manifest_lists_every_file_all_simulated(fictif):
    man = fictif.manifest
    assert set(man) == _files(fictif.mirror)
    for rel, e in man.items():
        assert e["simule"] is True and e["demo"] is True, rel
        assert e["taille"] == (fictif.mirror / rel).stat().st_size and e["sha256"] == _sha256(fictif.mirror / rel), rel
        assert e["note"].startswith(("simulé", "données simulées")), (rel, e["note"])
    assert FILOSOFI_2021 <= set(man)


def test_fictif_pipeline_runs_and_every_quartier_figure_is_simulated(fictif):
    assert fictif.erreur is None, f"{fictif.erreur!r}\n{fictif.sortie}"
    tidy = fictif.tidy()
    q = tidy[tidy["type_territoire"].isin(QUARTIER_TYPES)]
    # monde_fictif: 3 quartiers 2024 (QN00003N has 700 of its 1 100 m width in Bourg-Fictif, followed) and 2 of 2015
    assert set(q.loc[q["type_territoire"] == "qpv2024", "code_territoire"]) == {"QN00001M", "QN00002M", "QN00003N"}
    assert set(q.loc[q["type_territoire"] == "qpv2015", "code_territoire"]) == {"QP000001", "QP000002"}
    assert q["valeur"].notna().sum() > 100
    assert q["simule"].astype(str).eq("True").all()
    assert tidy["simule"].astype(str).eq("True").all()
    sources = gpd.read_file(fictif.gpkg, layer="sources")
    assert len(sources) and sources["simule"].astype(bool).all()


def test_fictif_filosofi_2021_gives_the_2021_quartier_figures_their_references(fictif):
    tidy = fictif.tidy()
    t = tidy[(tidy["indicateur"] == "taux_pauvrete") & (tidy["millesime"] == 2021)].set_index(
        ["type_territoire", "code_territoire"])
    for key in [("qpv2024", "QN00001M"), ("commune", "00001"), ("epci", "200099999"), ("departement", "00"),
                ("france", "FRM")]:
        assert key in t.index and pd.notna(t.loc[key, "valeur"]), key
        assert str(t.loc[key, "simule"]) == "True", key


# ---------------------------------------------------------------------------------------------------
# CA Valenciennes Métropole: real files copied or extracted, simulated ones flagged
# ---------------------------------------------------------------------------------------------------

#: Mirror file (or archive member) → its real source under ../shared/data, when the names differ.
SOURCE_DU_FICHIER = {
    "communes_59.geojson": "real/ign_communes/communes-59-nord.geojson",
    "departement_59.geojson": "real/ign_communes/departements.geojson",
    "GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson": "valenciennes/qpv2024.geojson",
}


def _real_source(name: str) -> Path:
    if name in SOURCE_DU_FICHIER:
        return SHARED / SOURCE_DU_FICHIER[name]
    found = sorted(REAL.rglob(Path(name).name))
    assert len(found) == 1, f"{name} : pas de source unique dans {REAL}"
    return found[0]


def _is_copy_or_extract(data: bytes, src: Path) -> bool:
    """Byte-identical, or the header and a subset of the lines of ``src``, each unchanged, in order."""
    raw = src.read_bytes()
    if data == raw:
        return True
    lines, source = data.splitlines(keepends=True), raw.splitlines(keepends=True)
    if not lines or lines[0] != source[0]:
        return False
    pos = {ln: i for i, ln in enumerate(source)}
    idx = [pos.get(ln, -1) for ln in lines[1:]]
    return all(i > 0 for i in idx) and idx == sorted(idx)


@pytest.mark.shared
@needs_shared
def test_valenciennes_caf_iris_2019_is_the_lines_of_departement_59(valenciennes):
    src = (REAL / "caf_iris" / "data_CAF_2019_IRIS.csv").read_bytes().splitlines(keepends=True)
    got = (valenciennes.mirror / "insee_cnaf_iris" / "data_CAF_2019_IRIS.csv").read_bytes()
    # grep -c '^59' data_CAF_2019_IRIS.csv → 655 (first 590080101, last 596500605)
    expected = [src[0]] + [ln for ln in src[1:] if ln.startswith(b"59")]
    assert len(expected) == 656 and got == b"".join(expected)
    assert got.splitlines()[1].startswith(b"590080101;") and got.splitlines()[-1].startswith(b"596500605;")


@pytest.mark.shared
@needs_shared
def test_valenciennes_national_qpv2015_shapefile_copied_unchanged(valenciennes):
    with zipfile.ZipFile(valenciennes.mirror / "anct_qpv2015" / "qp-politiquedelaville-shp.zip") as z:
        names = sorted(z.namelist())
        assert names == [f"QP_METROPOLEOUTREMER_WGS84_EPSG4326.{x}" for x in ("dbf", "prj", "shp", "shx")]
        for n in names:
            assert z.read(n) == (REAL / "anct_qpv2015" / n).read_bytes(), n
    assert valenciennes.manifest["anct_qpv2015/qp-politiquedelaville-shp.zip"]["simule"] is False


@pytest.mark.shared
@needs_shared
def test_valenciennes_every_real_file_is_a_copy_or_a_line_exact_extract(valenciennes):
    checked = 0
    for rel, e in valenciennes.manifest.items():
        if e["simule"]:
            continue
        p = valenciennes.mirror / rel
        members = {n: zipfile.ZipFile(p).read(n) for n in zipfile.ZipFile(p).namelist()} if zipfile.is_zipfile(p) \
            else {p.name: p.read_bytes()}
        for name, data in members.items():
            src = _real_source(name)
            assert _is_copy_or_extract(data, src), f"{rel} ({name}) n'est ni une copie ni un extrait de {src}"
            checked += 1
        assert e["note"].startswith("réel"), (rel, e["note"])
    # 6 Filosofi IRIS + 5 communal (no 2017) + 6×4 supra + 4 Filosofi QP + 16 DEMO/IPRO/REVN + 3 DEMO V1
    # + 5 CAF + composition + IRIS table + communes + département + 4 shapefile members + 2024 extract
    assert checked == 6 + 5 + 24 + 4 + 16 + 3 + 5 + 1 + 1 + 1 + 1 + 4 + 1


@pytest.mark.shared
@needs_shared
def test_valenciennes_simulated_files_are_flagged_and_real_ones_are_not(valenciennes):
    man = valenciennes.manifest
    for rel, e in man.items():
        expected = e["source"] in SOURCES_SIMULEES or e["source"].startswith("insee_rp_") or rel in FILOSOFI_2021
        assert e["simule"] is expected, (rel, e["note"])
        if expected:
            assert e["note"].startswith(("simulé", "données simulées")), (rel, e["note"])
    for rel in FILOSOFI_2021:
        assert man[rel]["note"].startswith("simulé : prolongation du dernier millésime réel (2019)"), rel
    for y in range(2014, 2020):
        assert man[f"insee_filosofi_iris/BASE_TD_FILO_DISP_IRIS_{y}.csv"]["simule"] is False
    assert "insee_filosofi_com/indic-struct-distrib-revenu-2017-COMMUNES_csv.zip" not in man   # no real 2017 file


@pytest.mark.shared
@needs_shared
def test_valenciennes_manifest_fingerprints_match_the_files(valenciennes):
    man = valenciennes.manifest
    assert set(man) == _files(valenciennes.mirror)
    for rel, e in man.items():
        p = valenciennes.mirror / rel
        assert e["taille"] == p.stat().st_size and e["sha256"] == _sha256(p), rel
        assert e["demo"] is True and e["origine"] == "miroir"


@pytest.mark.shared
@needs_shared
def test_valenciennes_filosofi_2021_carried_from_the_real_2019(valenciennes):
    m = valenciennes.mirror
    supra = zipfile.ZipFile(m / "insee_filosofi_supra" / "indic-struct-distrib-revenu-2021-SUPRA_csv.zip")
    assert sorted(supra.namelist()) == sorted(f"FILO2021_DISP_{p}{n}.csv" for p in ("", "PAUVRES_")
                                              for n in ("EPCI", "DEP", "REG", "METROPOLE"))
    dep19 = Table.parse((REAL / "insee_filosofi" / "FILO2019_DISP_DEP.csv").read_bytes())
    dep21 = Table.parse(supra.read("FILO2021_DISP_DEP.csv"))
    assert dep21.header == [c.replace("19", "21") if c.endswith("19") else c for c in dep19.header]
    nord19 = dep19.values(next(r for r in dep19.rows if r[0] == "59"))
    nord21 = dep21.values(next(r for r in dep21.rows if r[0] == "59"))
    assert nord19["DISP_MED"] == 20_290 and 1.015 < nord21["DISP_MED"] / 20_290 < 1.065      # +4 % ± noise
    pauvres = Table.parse(supra.read("FILO2021_DISP_PAUVRES_DEP.csv"))
    assert pauvres.header == ["CODGEO", "LIBGEO", "TP6021"]
    nord = next(r for r in pauvres.rows if r[0] == "59")
    assert parse_cell(nord[2])[0] == pytest.approx(19.06, abs=1.5)   # by hand above, ± 5 × 0.3 point of noise
    # communes: same lines, same withheld cells as the real 2019 extract (Abancourt 59001 has only a median)
    com = zipfile.ZipFile(m / "insee_filosofi_com" / "indic-struct-distrib-revenu-2021-COMMUNES_csv.zip")
    c19 = Table.parse(zipfile.ZipFile(m / "insee_filosofi_com" / "indic-struct-distrib-revenu-2019-COMMUNES_csv.zip")
                      .read("FILO2019_DISP_COM.csv"))
    c21 = Table.parse(com.read("FILO2021_DISP_COM.csv"))
    assert len(c21.rows) == len(c19.rows) == 644   # grep -c '^59' FILO2019_DISP_COM.csv
    assert [r[:2] for r in c21.rows] == [r[:2] for r in c19.rows]
    assert [[x == "" for x in r] for r in c21.rows] == [[x == "" for x in r] for r in c19.rows]
    p21 = {r[0]: r[2] for r in Table.parse(com.read("FILO2021_DISP_PAUVRES_COM.csv")).rows}
    assert p21["59001"] == "" and parse_cell(p21["59606"])[0] is not None    # no deciles → no poverty rate


@pytest.mark.shared
@needs_shared
def test_valenciennes_2024_quartier_filosofi_continues_its_2015_quartier(valenciennes):
    # QN05925M Centre Ville (Fresnes-sur-Escaut) lies for 98 % of its area in QP059025 (only 2015 quartier it
    # overlaps), whose real figures in data_filo19_qp_revdis.csv are: median 15 330 €, poverty rate 32,0 %
    t = Table.parse((valenciennes.mirror / "insee_filosofi_qp2024" / "data_filo21_qn_revdis.csv").read_bytes())
    v = t.values(next(r for r in t.rows if r[0] == "QN05925M"))
    assert 1.0 < v["DISP_MED"] / 15_330 < 1.08
    assert v["DISP_TP60"] == pytest.approx(32.0, abs=4.0)
    note = valenciennes.manifest["insee_filosofi_qp2024/data_filo21_qn_revdis.csv"]["note"]
    assert note.startswith("simulé") and "prolongation des chiffres réels 2019" in note


# ---------------------------------------------------------------------------------------------------
# CA de la Porte du Hainaut: any EPCI builds, with exactly its real 2015 quartiers
# ---------------------------------------------------------------------------------------------------

#: The quartiers of the national 2015 file numbered QP059050…QP059059: every commune their COMMUNE_QP
#: names belongs to the CA de la Porte du Hainaut in EPCI_2020.csv (Brunehaut QP059056 also names
#: Bruay-sur-l'Escaut, 9 % of its area). QP059022 (Bruay 83 %) and QP059030 (Valenciennes 94 %) also name
#: one of its communes but lie mostly in Valenciennes Métropole: in the layer, without a sheet.
CAPH_2015 = [f"QP0590{n}" for n in range(50, 60)]


@pytest.mark.shared
@needs_shared
def test_porte_du_hainaut_quartiers_2015_are_exactly_its_real_ones(porte_du_hainaut):
    d = porte_du_hainaut
    assert d.erreur is None, f"{d.erreur!r}\n{d.sortie}"
    tidy = d.tidy()
    assert sorted(tidy.loc[tidy["type_territoire"] == "qpv2015", "code_territoire"].unique()) == CAPH_2015
    layer = gpd.read_file(d.gpkg, layer="qpv_2015").set_index("code_qp")
    assert sorted(layer.index) == sorted(CAPH_2015 + ["QP059022", "QP059030"])
    national = gpd.read_file(REAL / "anct_qpv2015" / "QP_METROPOLEOUTREMER_WGS84_EPSG4326.shp").set_index("CODE_QP")
    national = national.loc[CAPH_2015].to_crs(2154)
    for code in CAPH_2015:
        assert layer.loc[code, "nom_qp"] == national.loc[code, "NOM_QP"], code
        diff = layer.loc[code, "geometry"].symmetric_difference(national.loc[code, "geometry"]).area
        assert diff < 1.0, (code, diff)
    # the one 2024 quartier of the real files it follows: QN05922M, 49.3 % in Escautpont (qpv2024_index.csv)
    assert sorted(tidy.loc[tidy["type_territoire"] == "qpv2024", "code_territoire"].unique()) == ["QN05922M"]


@pytest.mark.shared
@needs_shared
def test_porte_du_hainaut_demo_says_its_2024_perimeters_are_missing(porte_du_hainaut):
    # its 2015 quartiers but Brunehaut (QP059056, inside QN05922M) have no 2024 perimeter in ../shared
    missing = [c for c in CAPH_2015 if c != "QP059056"]
    assert f"9 quartiers 2015 du territoire ({', '.join(missing)}) sans périmètre 2024" in porte_du_hainaut.sortie
    note = porte_du_hainaut.manifest["anct_qpv2024/QP2024_France_Hexagonale_Outre_Mer_WGS84.zip"]["note"]
    assert note.endswith("quartiers 2015 du territoire sans périmètre 2024 ici : " + ", ".join(missing))


# ---------------------------------------------------------------------------------------------------
# Territories with 2015 quartiers only, and with no quartier at all
# ---------------------------------------------------------------------------------------------------

@pytest.mark.shared
@needs_shared
def test_quartiers_2015_only_fetch_and_build_reach_the_end(quartiers_2015_seuls):
    d = quartiers_2015_seuls
    if d.erreur is not None:
        raise d.erreur
    tidy = d.tidy()
    assert sorted(tidy.loc[tidy["type_territoire"] == "qpv2015", "code_territoire"].unique()) == ["QP059057", "QP059058"]
    assert not tidy["type_territoire"].isin({"qpv2024", "partie_qpv2024", "ensemble_qpv2024_epci"}).any()


@pytest.mark.shared
@needs_shared
def test_quartiers_2015_only_the_run_says_what_it_lacks(quartiers_2015_seuls):
    out = quartiers_2015_seuls.sortie
    # the demo builder: no 2024 perimeter for its two 2015 quartiers in the real files at hand
    assert "2 quartiers 2015 du territoire (QP059057, QP059058) sans périmètre 2024" in out
    # fetch: the 2024 quartier tables are absent (optional sources), and the build counts its quartiers
    warning = re.search(r"sources optionnelles absentes, ignorées \(les indicateurs qui en dépendent seront "
                        r"absents\) : ([^▶]*)", out)
    assert warning and all(s in warning.group(1) for s in ("insee_qp2024_rp", "insee_qp2024_caf", "insee_filosofi_qp2024"))
    assert "1 commune, 6 IRIS, 0 quartier 2024, 2 quartiers 2015" in out


@pytest.mark.shared
@needs_shared
def test_no_quartier_fetch_and_build_reach_the_end(sans_quartier):
    d = sans_quartier
    if d.erreur is not None:
        raise d.erreur
    tidy = d.tidy()
    assert not tidy["type_territoire"].isin(QUARTIER_TYPES).any()
    assert set(tidy.loc[tidy["type_territoire"] == "commune", "code_territoire"]) >= {"59038", "59285", "59440"}


@pytest.mark.shared
@needs_shared
def test_no_quartier_the_run_says_what_it_lacks(sans_quartier):
    out = sans_quartier.sortie
    assert "sans périmètre 2024" not in out          # nothing missing from the demo: there is no quartier
    assert "3 communes, 3 IRIS, 0 quartier 2024, 0 quartier 2015" in out
    assert "insee_qp2024_rp" in out


@pytest.mark.shared
@needs_shared
@pytest.mark.parametrize("demo", ["quartiers_2015_seuls", "sans_quartier"])
def test_build_says_in_words_which_quartier_geography_is_empty(demo, request):
    d = request.getfixturevalue(demo)
    assert d.erreur is None
    assert re.search(r"aucun quartier (prioritaire )?2024", d.sortie, re.IGNORECASE), d.sortie


# ---------------------------------------------------------------------------------------------------
# No territory written into the code
# ---------------------------------------------------------------------------------------------------

TERRITOIRE_ECRIT = re.compile(r"Valenciennes|245901160|200042190")
EXEMPLE_OU_DEFAUT = re.compile(r"^(EXEMPLES?|DEFAUTS?|DEFAULTS?)(_|$)")


def _allowed(path: Path) -> tuple[set[int], dict[int, int]]:
    """Lines of ``path`` where the territory may be named, and the column where each comment starts."""
    src = path.read_text(encoding="utf-8")
    tree = ast.parse(src)
    lines: set[int] = set()

    def span(node):
        lines.update(range(node.lineno, node.end_lineno + 1))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            span(body[0])                                                  # docstring
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and EXEMPLE_OU_DEFAUT.match(t.id) for t in targets):
                span(node)                                                 # EXEMPLES_… / DEFAUTS_… constant
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "par exemple" in node.value:
            span(node)                                                     # example in a user message
    comments = {t.start[0]: t.start[1] for t in tokenize.generate_tokens(io.StringIO(src).readline)
                if t.type == tokenize.COMMENT}
    return lines, comments


def test_no_territory_is_written_into_the_code():
    """``grep -rn "Valenciennes\\|245901160\\|200042190" observatoire/`` may only find documentation and
    defaults. Rule: in a ``.py`` file, a docstring, a comment, a string that gives an example to the user
    (« par exemple … ») or a constant named ``EXEMPLES_…``/``DEFAUTS_…``; outside Python, only ``.toml``
    defaults. Anything else would tie the code to one territory."""
    offending = []
    for p in sorted((ROOT / "observatoire").rglob("*")):
        if not p.is_file() or p.suffix in (".pyc", ".toml") or "__pycache__" in p.parts:
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        hits = [(i, ln, m.start()) for i, ln in enumerate(text.splitlines(), 1)
                for m in TERRITOIRE_ECRIT.finditer(ln)]
        if not hits:
            continue
        lines, comments = _allowed(p) if p.suffix == ".py" else (set(), {})
        for i, ln, col in hits:
            if i in lines or (i in comments and col >= comments[i]):
                continue
            offending.append(f"{p.relative_to(ROOT)}:{i}: {ln.strip()}")
    assert not offending, "territoire écrit en dur dans le code :\n" + "\n".join(offending)
