"""Demo mirror, geographic part (observatoire/demo/geo.py): built into a temp dir, then read back
through the real fetch + readers, as the pipeline does."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from observatoire.config import parse_config
from observatoire.demo import build_mirror
from observatoire.sources import anct, ign
from observatoire.sources.fetch import fetch
from observatoire.sources.raw import manifest_entries, raw_files
from observatoire.territory import resolve_territory

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(not (SHARED / "valenciennes" / "qpv2024.geojson").exists(),
                                  reason="../shared/data/valenciennes absent (fresh clone elsewhere)")
GEO = ["insee_epci", "anct_qpv2024", "anct_qpv2015", "ign_communes", "ign_departement", "ign_iris"]


def _fetch(tmp_path: Path, mirror: Path, epci: str):
    cfg = parse_config({"territoire": {"epci": epci}}, tmp_path / "observatoire.toml").with_mirror(mirror)
    fetch(cfg, only=GEO)
    terr = resolve_territory(cfg)
    return cfg, terr


@pytest.fixture(scope="module")
def valenciennes(tmp_path_factory):
    if not (SHARED / "valenciennes" / "qpv2024.geojson").exists():
        pytest.skip("../shared/data/valenciennes absent")
    tmp = tmp_path_factory.mktemp("demo")
    mirror = build_mirror(tmp / "miroir", shared_dir=SHARED, hooks=())
    cfg, terr = _fetch(tmp, mirror, "245901160")
    return mirror, cfg, terr


@needs_shared
def test_qpv2024_exactly_the_official_quartiers_and_geometries(valenciennes):
    mirror, cfg, terr = valenciennes
    q = anct.read_qpv2024(raw_files(cfg, "anct_qpv2024")[0], terr.codes)
    official = gpd.read_file(SHARED / "valenciennes" / "qpv2024.geojson").to_crs(2154).set_index("code_qp")
    assert sorted(q["code_qp"]) == sorted(official.index) and len(q) == 15
    for r in q.itertuples():
        o = official.loc[r.code_qp]
        assert r.geometry.equals_exact(o.geometry, 1e-9), r.code_qp
        assert r.insee_com == o.insee_com and r.lib_qp == o.lib_qp
    # README: total 1 087 ha
    assert q["surface_ha"].sum() == pytest.approx(1087, abs=1)


@needs_shared
def test_communes_and_territory(valenciennes):
    mirror, cfg, terr = valenciennes
    assert len(terr.codes) == 35 and terr.epci_nom == "CA Valenciennes Métropole"
    c = ign.read_communes(raw_files(cfg, "ign_communes"), terr.codes)
    assert len(c) == 35
    assert c["population"].sum() == 191885  # populations municipales (README)
    assert set(c["siren_epci"]) == {"245901160"}
    d = ign.read_departement(raw_files(cfg, "ign_departement"), "59")
    assert d["nom"].tolist() == ["Nord"]


@needs_shared
def test_composition_holds_the_outside_communes_of_the_quartiers(valenciennes):
    from observatoire.sources.insee_cog import read_epci_composition

    mirror, cfg, terr = valenciennes
    comp = read_epci_composition(raw_files(cfg, "insee_epci")[0]).set_index("code_insee")
    assert len(comp) == 38
    for code, nom in [("59491", "Raismes"), ("59207", "Escautpont"), ("59564", "La Sentinelle")]:
        assert comp.loc[code, "siren_epci"] == "200042190" and comp.loc[code, "nom_commune"] == nom


@needs_shared
def test_simulated_iris_partition_the_real_communes(valenciennes):
    mirror, cfg, terr = valenciennes
    c = ign.read_communes(raw_files(cfg, "ign_communes"), terr.codes).set_index("code_insee")
    i = ign.read_iris(raw_files(cfg, "ign_iris"), terr.codes)
    assert set(i["code_insee"]) == set(c.index)
    for code, grp in i.groupby("code_insee"):
        commune = c.loc[code]
        # partition: areas add up to the commune and the union covers it (mm-rounded coordinates)
        assert grp.area.sum() == pytest.approx(commune.geometry.area, rel=1e-6), code
        gap = shapely.union_all(grp.geometry.values).symmetric_difference(commune.geometry).area
        assert gap < 1e-6 * commune.geometry.area, code  # at most 1 m² per km² (coordinates rounded to 1 mm)
        if commune.population < 5000:
            assert grp[["code_iris", "type_iris"]].values.tolist() == [[code + "0000", "Z"]]
        else:
            n = max(2, round(commune.population / 2000))
            assert grp["code_iris"].tolist() == [f"{code}{k:04d}" for k in range(101, 101 + n)]
            assert set(grp["type_iris"]) == {"H"}
    v = i[i.code_insee == "59606"]
    assert len(v) == 21  # Valenciennes 42 979 inhabitants / 2 000 ≈ 21
    assert v["nom_iris"].iloc[0] == "Valenciennes 1"
    assert "593830101" in set(i["code_iris"])  # the IRIS of the default config's watch zone exists


@needs_shared
def test_simulated_qpv2015(valenciennes):
    mirror, cfg, terr = valenciennes
    c = ign.read_communes(raw_files(cfg, "ign_communes"), terr.codes)
    outline = shapely.union_all(c.geometry.values)
    q15 = anct.read_qpv2015(raw_files(cfg, "anct_qpv2015")[0], terr.codes, outline)
    assert q15["code_qp"].tolist() == [f"QP0590{n}" for n in range(20, 34)]
    r = q15.set_index("code_qp")
    assert r.loc["QP059021", "nom_qp"] == "Zone intercommunale des rives de l’Escaut"
    q24 = anct.read_qpv2024(raw_files(cfg, "anct_qpv2024")[0], terr.codes).set_index("code_qp")
    # QP059030 (Valenciennes only in 2015) stays in Valenciennes while QN05930M spreads over 3 communes
    valenciennes_geom = c.set_index("code_insee").loc["59606", "geometry"]
    g = r.loc["QP059030", "geometry"]
    assert g.intersection(valenciennes_geom).area / g.area > 0.999
    # shapes differ plausibly from 2024: overlap but not equal
    for code15, code24 in [("QP059029", "QN05929M"), ("QP059033", "QN05933M")]:
        a, b24 = r.loc[code15, "geometry"], q24.loc[code24, "geometry"]
        assert 0.3 < a.intersection(b24).area / b24.area < 0.95


@needs_shared
def test_manifest_flags(valenciennes):
    mirror, cfg, terr = valenciennes
    mm = json.loads((mirror / "manifest.json").read_text(encoding="utf-8"))["fichiers"]
    flags = {rel.split("/")[0]: e["simule"] for rel, e in mm.items()}
    assert flags == {"anct_qpv2024": False, "ign_communes": False, "ign_departement": False,
                     "insee_epci": False, "ign_iris": True, "anct_qpv2015": True}
    assert "extrait réduit" in mm["insee_epci/Intercommunalite_Metropole_au_01-01-2025.zip"]["note"]
    m = manifest_entries(cfg)  # the flag travelled into data/raw/manifest.json
    assert m["ign_iris/contours_iris_59.geojson"]["simule"] is True
    assert m["anct_qpv2024/QP2024_France_Hexagonale_Outre_Mer_WGS84.zip"]["simule"] is False
    assert (mirror / "territoire.toml").read_text(encoding="utf-8").startswith('[territoire]\nepci = "245901160"')


@needs_shared
def test_same_seed_same_mirror(valenciennes, tmp_path):
    mirror, cfg, terr = valenciennes
    again = build_mirror(tmp_path / "m2", shared_dir=SHARED, hooks=())
    a = json.loads((mirror / "manifest.json").read_text())["fichiers"]
    b = json.loads((again / "manifest.json").read_text())["fichiers"]
    assert {k: v["sha256"] for k, v in a.items()} == {k: v["sha256"] for k, v in b.items()}


def test_hooks_receive_the_context_and_record_files(tmp_path, monkeypatch):
    import sys
    import types

    seen = {}

    def write_stats(dest, ctx):
        seen.update(dest=dest, ctx=ctx)
        (dest / "insee_demo").mkdir()
        (dest / "insee_demo" / "t.csv").write_text("IRIS;P_POP\n", encoding="utf-8")
        ctx.add_file("insee_demo/t.csv", True, note="simulé")

    mod = types.ModuleType("observatoire.demo.test_hook")
    mod.write_stats = write_stats
    monkeypatch.setitem(sys.modules, "observatoire.demo.test_hook", mod)
    mirror = build_mirror(tmp_path / "m", shared_dir=False,
                          hooks=(("observatoire.demo.test_hook", "write_stats"),
                                 ("observatoire.demo.pas_de_module", "f")))  # absent module: skipped
    ctx = seen["ctx"]
    assert ctx.epci_siren == "200099999" and ctx.departement == "00" and ctx.simule_territoire
    assert ctx.communes.crs.to_epsg() == 2154 and ctx.iris.crs.to_epsg() == 2154
    # IRIS populations add up to the commune populations
    pops = ctx.iris.groupby("code_insee")["population"].sum()
    assert pops.to_dict() == dict(zip(ctx.communes["code_insee"], ctx.communes["population"]))
    mm = json.loads((mirror / "manifest.json").read_text(encoding="utf-8"))["fichiers"]
    assert mm["insee_demo/t.csv"]["simule"] is True and mm["insee_demo/t.csv"]["taille"] == 11
    assert (mirror / "insee_demo" / "t.csv").exists()


def test_fallback_fully_simulated_territory(tmp_path):
    mirror = build_mirror(tmp_path / "m", shared_dir=False, hooks=())
    mm = json.loads((mirror / "manifest.json").read_text(encoding="utf-8"))["fichiers"]
    assert len(mm) == 6 and all(e["simule"] for e in mm.values())
    cfg, terr = _fetch(tmp_path, mirror, "200099999")
    assert terr.codes == {"00001", "00002", "00003", "00004"} and terr.departements == ["00"]
    q = anct.read_qpv2024(raw_files(cfg, "anct_qpv2024")[0], terr.codes)
    assert q["code_qp"].tolist() == ["QN00001M", "QN00002M", "QN00003N"]
    listed = set().union(*(anct.split_list(v) for v in q["insee_com"]))
    c = ign.read_communes(raw_files(cfg, "ign_communes"), set(terr.codes) | listed)
    s = anct.qpv_commune_shares(q, c, 2024, territoire=set(terr.codes))
    got = {(r.code_qp, r.insee_com): (round(r.part_surface, 4), r.dans_territoire) for r in s.itertuples()}
    # QN00002M = [705400, 706700] cut at x=706000: 600/1300 and 700/1300;
    # QN00003N = [711300, 712400] cut at x=712000: 700/1100 in 00002, 400/1100 in 00005 (other EPCI)
    assert got == {("QN00001M", "00001"): (1.0, True),
                   ("QN00002M", "00001"): (round(600 / 1300, 4), True),
                   ("QN00002M", "00002"): (round(700 / 1300, 4), True),
                   ("QN00003N", "00002"): (round(700 / 1100, 4), True),
                   ("QN00003N", "00005"): (round(400 / 1100, 4), False)}
    assert len(s) == 5
    i = ign.read_iris(raw_files(cfg, "ign_iris"), terr.codes)
    assert i.groupby("code_insee").size().to_dict() == {"00001": 19, "00002": 7, "00003": 1, "00004": 1}
    outline = shapely.union_all(c[c.code_insee.isin(terr.codes)].geometry.values)
    q15 = anct.read_qpv2015(raw_files(cfg, "anct_qpv2015")[0], terr.codes, outline)
    assert q15["code_qp"].tolist() == ["QP000001", "QP000002"]  # QN00003N is new: no 2015 shape
