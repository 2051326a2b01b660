"""The large simulated territory of the benchmarks (observatoire/demo/grand.py), at a tiny size:
its geometry and codes, its vectorised area weights, and a mirror the pipeline fetches and builds."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from observatoire.demo import grand
from observatoire.demo.grand import monde_grand
from observatoire.demo.simulation import area_weights

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def monde():
    return monde_grand(300, 10, seed=7)


def test_sizes_codes_and_territory(monde):
    assert len(monde.iris) == 300
    assert len(monde.communes) == 129              # round(0.43 × 300)
    assert len(monde.qpv2024) == 10
    assert monde.territoire.kind == "departement" and monde.territoire.departements == ["00"]
    assert set(monde.composition["dep"]) == {"00"} and set(monde.composition["reg"]) == {"00"}
    assert monde.communes["code_insee"].str.fullmatch(r"00\d{3}").all()
    assert monde.iris["code_iris"].is_unique
    assert (monde.iris["code_iris"].str[:5] == monde.iris["code_insee"]).all()
    # a commune of a single IRIS is « non irisée » (code …0000, type Z), the others 0101, 0102…
    k = monde.iris.groupby("code_insee")["code_iris"].agg(list)
    for codes in k:
        if len(codes) == 1:
            assert codes[0].endswith("0000")
        else:
            assert sorted(c[5:] for c in codes) == [f"01{j:02d}" for j in range(1, len(codes) + 1)]
    assert set(monde.iris.loc[monde.iris["code_iris"].str.endswith("0000"), "type_iris"]) == {"Z"}
    assert monde.qpv2024["code_qp"].str.fullmatch(r"QN000\d{2}[A-Z]").all()
    assert monde.qpv2015["code_qp"].str.fullmatch(r"QP000\d{3}").all()
    sizes = monde.composition.groupby("siren_epci").size()
    assert sizes.sum() == 129 and monde.composition["siren_epci"].str.fullmatch(r"\d{9}").all()


def test_iris_partition_their_commune(monde):
    iris, com = monde.iris, monde.communes.set_index("code_insee")
    area = iris.geometry.area.groupby(iris["code_insee"]).sum()
    assert np.allclose(area.to_numpy(), com.loc[area.index].geometry.area.to_numpy(), rtol=1e-9)
    # no two IRIS overlap, every IRIS lies in its commune
    assert shapely.union_all(iris.geometry.to_numpy()).area == pytest.approx(iris.geometry.area.sum(), rel=1e-9)
    inside = shapely.within(iris.geometry.to_numpy(), shapely.buffer(com.loc[iris["code_insee"]].geometry.to_numpy(), 1e-6))
    assert inside.all()
    pop = iris.groupby("code_insee")["population"].sum()
    assert np.allclose(pop.to_numpy(), com.loc[pop.index, "population"].to_numpy())
    # communes of fewer than 5,000 inhabitants are not split, larger ones are
    n = iris.groupby("code_insee").size()
    assert (com.loc[n[n == 1].index, "population"] < 5000).all()
    assert (com.loc[n[n > 1].index, "population"] >= 5000).all()


def test_quartiers_do_not_overlap_and_name_their_communes(monde):
    for q in (monde.qpv2024, monde.qpv2015):
        g = q.geometry.to_numpy()
        assert shapely.is_valid(g).all()
        assert shapely.union_all(g).area == pytest.approx(shapely.area(g).sum(), rel=1e-9)
    com = monde.communes
    for code_qp, insee, epci, geom in monde.qpv2024[["code_qp", "insee_com", "siren_epci", "geometry"]].itertuples(index=False):
        inter = com.geometry.intersection(geom).area
        touched = com.loc[inter > 100.0]
        assert insee == ", ".join(sorted(touched["code_insee"])), code_qp
        assert epci == ", ".join(sorted(set(touched["siren_epci"]))), code_qp


def test_same_seed_same_world():
    a, b = monde_grand(120, 4, seed=3), monde_grand(120, 4, seed=3)
    assert a.iris.drop(columns="geometry").equals(b.iris.drop(columns="geometry"))
    assert shapely.equals_exact(a.qpv2024.geometry.to_numpy(), b.qpv2024.geometry.to_numpy(), 0).all()


def test_rows_of_rectangles_tile_the_frame():
    rng = np.random.default_rng(0)
    poids = np.array([1.0, 1.0, 2.0, 4.0])
    r = grand._rectangles_en_rangees(poids, 0.0, 0.0, 8.0, 4.0, rng)
    boxes = shapely.box(*r.T)
    # 2 rows of 2 rectangles; areas in proportion to the weights: 32 × w / 8
    assert shapely.area(boxes).tolist() == pytest.approx([4.0, 4.0, 8.0, 16.0])
    assert shapely.union_all(boxes).equals(shapely.box(0, 0, 8, 4))


def test_area_weights_by_hand():
    """The demo's area weights (spatial index): share of each IRIS inside each zone."""
    iris = gpd.GeoDataFrame({"code_iris": ["A", "B", "C"]}, geometry=[shapely.box(0, 0, 100, 100),
                                                                        shapely.box(100, 0, 200, 100),
                                                                        shapely.box(300, 0, 400, 100)], crs=2154)
    zone = gpd.GeoDataFrame({"code_qp": ["Q"]}, geometry=[shapely.box(50, 0, 200, 100)], crs=2154)
    w = area_weights(iris, zone)
    # A: 50 × 100 of 100 × 100 → 0,5 ; B: all of it → 1 ; C: outside, no row
    assert w.to_dict("list") == {"code_iris": ["A", "B"], "code": ["Q", "Q"], "w": [0.5, 1.0]}


@pytest.mark.slow
def test_mirror_is_fetched_and_built(tmp_path, monkeypatch):
    """300 IRIS, 10 quartiers: the mirror (every file simulated) goes through fetch and build."""
    import json

    import pyogrio

    from observatoire.config import load_config
    from observatoire.demo.config import write_demo_config
    from observatoire.pipeline import build
    from observatoire.sources.fetch import fetch

    monkeypatch.setenv("OBSERVATOIRE_SILENCE", "1")
    m = monde_grand(300, 10, seed=7)
    mirror = grand.build_mirror_grand(tmp_path / "miroir", m, seed=7)
    entries = json.loads((mirror / "manifest.json").read_text(encoding="utf-8"))["fichiers"]
    assert entries and all(e["simule"] for e in entries.values())
    base = tmp_path / "base.toml"
    base.write_text(f'[chemins]\nraw = "{tmp_path}/raw"\nprocessed = "{tmp_path}/processed"\n'
                    f'cartes = "{tmp_path}/maps"\nportraits = "{tmp_path}/portraits"\n', encoding="utf-8")
    cfg_path = write_demo_config(mirror, tmp_path, base=base)
    assert 'departement = "00"' in cfg_path.read_text(encoding="utf-8")
    cfg = load_config(cfg_path).with_mirror(mirror)
    fetch(cfg)
    gpkg = build(cfg)
    iris = pyogrio.read_dataframe(gpkg, layer="iris", read_geometry=False)
    assert len(iris) == 300
    q = pyogrio.read_dataframe(gpkg, layer="qpv_2024", read_geometry=False)
    assert sorted(q["code_qp"]) == sorted(m.qpv2024["code_qp"])
    tidy = pd.read_csv(cfg.paths.indicateurs_csv, sep=";", dtype={"code_territoire": str}, encoding="utf-8-sig", low_memory=False)
    assert len(tidy) and tidy["simule"].astype(str).eq("True").all()      # nothing real in a simulated world
    assert set(tidy.loc[tidy["type_territoire"] == "qpv2024", "code_territoire"]) <= set(m.qpv2024["code_qp"])
    assert re.fullmatch(r"00\d{3}", tidy.loc[tidy["type_territoire"] == "commune", "code_territoire"].iloc[0])


# ---------------------------------------------------------------------------------------------------
# The driver's measuring (scripts/bench.py)
# ---------------------------------------------------------------------------------------------------

def _bench():
    import importlib.util
    import sys

    if "bench_driver" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_driver", ROOT / "scripts" / "bench.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["bench_driver"] = mod      # dataclasses look their module up
        spec.loader.exec_module(mod)
    return sys.modules["bench_driver"]


def test_a_run_counts_the_cpu_of_children_and_their_exit_code(tmp_path):
    import sys

    b = _bench()
    # the measured process waits for a child that burns about 0.4 s of CPU, then exits with 3
    code = ("import subprocess, sys; subprocess.run([sys.executable, '-c', "
            "'import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.4: pass']); sys.exit(3)")
    x = b.lancer([sys.executable, "-c", code], tmp_path / "j.log", cwd=tmp_path)
    assert x.code == 3
    assert x.cpu_s >= 0.4 and x.mur_s >= x.cpu_s * 0.5
    assert x.rss_max_mo > 1
    assert (tmp_path / "j.log").read_text().startswith("\n$ ")


def test_a_run_past_its_time_limit_is_stopped(tmp_path):
    import sys

    b = _bench()
    x = b.lancer([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "j.log", cwd=tmp_path, delai_max=0.5)
    assert x.code == 124 and x.mur_s < 10


def test_medians_sums_and_verdicts():
    b = _bench()
    runs = [b.Execution(m, c, 100.0, 1.0, 2.0, "2026-01-01T00:00:00", 0) for m, c in ((12.0, 5.0), (30.0, 6.0), (18.0, 7.0))]
    m = b.Mesure("X", "x", objectif=20, executions=runs)
    assert (m.mediane("mur_s"), m.mediane("cpu_s")) == (18.0, 6.0)
    assert m.verdict() == "atteint"
    m.executions.append(b.Execution(50.0, 9.0, 100.0, 1.0, 2.0, "", 0))
    assert m.mediane("mur_s") == 24.0 and m.verdict() == "dépassé"       # (18 + 30) / 2
    echec = b.Mesure("Y", "y", objectif=20, executions=[b.Execution(1.0, 1.0, 1.0, 0, 0, "", 2, "j.log")])
    assert echec.verdict() == "ÉCHEC" and "code 2" in echec.echec
    assert b._duree(75) == "1 min 15 s" and b._duree(2.31) == "2,3 s" and b._duree(7200) == "2 h 00 min"
