"""ANCT QPV readers (observatoire/sources/anct.py) on fixtures in the official layouts.

Geometry of the fixtures (Lambert-93 metres, offsets from x0=700000, y0=7000000), territory = {A, B}:

    A 59001 [0,1000]x[0,1000]   B 59002 [1000,2000]x[0,1000]   (EPCI 245900001)
    C 59003 [2000,3000]x[0,1000]                              (EPCI 200000002, outside)
    D 59004 [5000,6000]x[0,1000]                              (EPCI 200000002, outside)
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely import box

from observatoire.errors import FormatError, GeometryError
from observatoire.sources.anct import (QPV2015_LAYER, find_member, qpv_commune_shares, read_qpv2015, read_qpv2024,
                                       split_list)

X0, Y0 = 700000.0, 7000000.0


def b(x1, y1, x2, y2):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


COMMUNES = gpd.GeoDataFrame({"code_insee": ["59001", "59002", "59003", "59004"],
                             "nom": ["Alpha", "Beta", "Gamma", "Delta"]},
                            geometry=[b(0, 0, 1000, 1000), b(1000, 0, 2000, 1000), b(2000, 0, 3000, 1000),
                                      b(5000, 0, 6000, 1000)], crs=2154)
TERRITOIRE = {"59001", "59002"}

QPV = [  # code, lib, insee_com, lib_com, siren_epci (sorted, not aligned: as in the official file), geometry
    ("QN05901M", "Les Tilleuls", "59001", "Alpha", "245900001", b(100, 100, 300, 300)),
    ("QN05902M", "Zone intercommunale", "59001, 59002", "Alpha, Beta", "245900001", b(800, 100, 1200, 300)),
    ("QN05903M", "Le Canal", "59002, 59003", "Beta, Gamma", "200000002, 245900001", b(1900, 500, 2200, 700)),
    ("QN05904M", "Loin", "59004", "Delta", "200000002", b(5100, 100, 5300, 300)),
    ("QN05905N", "Bord", "59001", "Alpha", "245900001", b(900, 600, 1050, 800)),
]


def qpv2024_zip(path: Path, folder="GEOJSON/") -> Path:
    """The official layout: header lines, one Feature per line, WGS84 (CRS84) MultiPolygons, fid float."""
    g = gpd.GeoSeries([q[5] for q in QPV], crs=2154).to_crs("OGC:CRS84")
    lines = []
    for i, (q, geom) in enumerate(zip(QPV, g)):
        props = {"fid": float(600 + i), "code_qp": q[0], "lib_qp": q[1], "insee_reg": "32",
                 "lib_reg": "Hauts-de-France", "insee_dep": "59", "lib_dep": "Nord", "insee_com": q[2],
                 "lib_com": q[3], "siren_epci": q[4]}
        gj = shapely.geometry.mapping(shapely.MultiPolygon([geom]))
        lines.append(json.dumps({"type": "Feature", "properties": props, "geometry": gj}, ensure_ascii=False))
    text = ('{\n"type": "FeatureCollection",\n"name": "QP2024_France_Hexagonale_Outre_Mer_WGS84_ESPG4326",\n'
            '"crs": { "type": "name", "properties": { "name": "urn:ogc:def:crs:OGC:1.3:CRS84" } },\n'
            '"features": [\n' + ",\n".join(lines) + "\n]\n}\n")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{folder}QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson", text)
    return path


def test_split_list():
    assert split_list("59014, 59079, 59112") == ["59014", "59079", "59112"]
    assert split_list("59014,59079") == ["59014", "59079"]
    assert split_list(None) == [] and split_list("") == []


def test_find_member_in_a_subfolder(tmp_path):
    p = qpv2024_zip(tmp_path / "q.zip", folder="QP2024/GEOJSON/")
    assert find_member(p, "qp2024_france_hexagonale_outre_mer_wgs84.geojson") == \
        "QP2024/GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson"


def test_read_qpv2024_keeps_quartiers_touching_the_territory(tmp_path):
    q = read_qpv2024(qpv2024_zip(tmp_path / "q.zip"), TERRITOIRE)
    # QN05904M lies in Delta only → dropped; QN05903M is kept through Beta although it spills into Gamma
    assert q["code_qp"].tolist() == ["QN05901M", "QN05902M", "QN05903M", "QN05905N"]
    assert q.crs.to_epsg() == 2154
    r = q.set_index("code_qp")
    assert r.loc["QN05903M", "insee_com"] == "59002, 59003"          # official string kept
    assert r.loc["QN05903M", "siren_epci"] == "200000002, 245900001"
    assert r.loc["QN05903M", "communes"] == "59002, 59003"
    # areas: 200x200 m = 4 ha; 400x200 = 8 ha; 300x200 = 6 ha; 150x200 = 3 ha (reprojection round trip)
    assert r["surface_ha"].tolist() == pytest.approx([4.0, 8.0, 6.0, 3.0], abs=1e-6)
    assert r.loc["QN05902M", "geometry"].equals_exact(shapely.MultiPolygon([b(800, 100, 1200, 300)]), 1e-6)


def test_read_qpv2024_bbox_prefilter(tmp_path):
    p = qpv2024_zip(tmp_path / "q.zip")
    # territory Beta only, bbox Beta (x 1000–2000): QN05901M (x 100–300) is not even parsed; QN05905N
    # (listed in Alpha only) meets the bbox but is not a quartier of Beta
    q = read_qpv2024(p, {"59002"}, bbox=(X0 + 1000, Y0, X0 + 2000, Y0 + 1000))
    assert q["code_qp"].tolist() == ["QN05902M", "QN05903M"]


def test_quartier_of_the_territory_outside_its_extent_is_refused(tmp_path):
    """A quartier listed in a territory commune whose perimeter misses the territory's extent has wrong
    coordinates: refused by name, never dropped (it would vanish from maps and portraits)."""
    p = qpv2024_zip(tmp_path / "q.zip")
    with pytest.raises(GeometryError) as e:
        read_qpv2024(p, TERRITOIRE, bbox=(X0 + 1000, Y0, X0 + 2000, Y0 + 1000))
    assert "QN05901M" in str(e.value) and str(p) in str(e.value)


def test_read_qpv2024_missing_column(tmp_path):
    p = tmp_path / "bad.geojson"
    p.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code_qp":"Q"},'
                 '"geometry":{"type":"Point","coordinates":[3,50]}}]}', encoding="utf-8")
    with pytest.raises(FormatError) as e:
        read_qpv2024(p, TERRITOIRE)
    assert "insee_com" in str(e.value) and str(p) in str(e.value)


def test_shares_2024_by_hand(tmp_path):
    q = read_qpv2024(qpv2024_zip(tmp_path / "q.zip"), TERRITOIRE)
    s = qpv_commune_shares(q, COMMUNES, 2024, territoire=TERRITOIRE)
    got = {(r.code_qp, r.insee_com): (round(r.part_surface, 6), r.dans_territoire) for r in s.itertuples()}
    assert got == {
        ("QN05901M", "59001"): (1.0, True),
        # 400x200 box cut at x=1000: 200x200 on each side
        ("QN05902M", "59001"): (0.5, True), ("QN05902M", "59002"): (0.5, True),
        # 300x200 box cut at x=2000: 100x200 in Beta (1/3), 200x200 in Gamma (2/3, other EPCI)
        ("QN05903M", "59002"): (round(1 / 3, 6), True), ("QN05903M", "59003"): (round(2 / 3, 6), False),
        # listed in Alpha only; the 50x200 m overlapping Beta is an outline artefact → given back to Alpha
        ("QN05905N", "59001"): (1.0, True),
    }
    assert set(s["nom_commune"]) == {"Alpha", "Beta", "Gamma"}
    assert (s["millesime_qpv"] == 2024).all()


def test_shares_2024_commune_without_outline_gets_the_remainder(tmp_path):
    q = read_qpv2024(qpv2024_zip(tmp_path / "q.zip"), TERRITOIRE)
    only_territory = COMMUNES[COMMUNES.code_insee.isin(TERRITOIRE)]
    s = qpv_commune_shares(q, only_territory, 2024)
    r = s[s.code_qp == "QN05903M"].set_index("insee_com")
    # Gamma has no outline here: the 2/3 outside every outline goes to it; its name comes from lib_com
    assert r.loc["59003", "part_surface"] == pytest.approx(2 / 3)
    assert r.loc["59003", "nom_commune"] == "Gamma"
    assert not r.loc["59003", "dans_territoire"]


# ---------------------------------------------------------------------------------------------- 2015
Q2015 = [("QP059001", "Les Tilleuls", "Alpha", b(100, 100, 300, 300)),
         ("QP059002", "Hors territoire", "Gamma", b(2500, 100, 2700, 300)),
         ("QP059003", "Le Canal", "Beta, Gamma", b(1950, 400, 2250, 600)),
         ("QP059004", "Frontière", "Gamma", b(1995, 100, 2195, 300))]


def qpv2015_zip(tmp_path: Path) -> Path:
    work = tmp_path / "shp"
    work.mkdir()
    gdf = gpd.GeoDataFrame({"CODE_QP": [q[0] for q in Q2015], "NOM_QP": [q[1] for q in Q2015],
                            "COMMUNE_QP": [q[2] for q in Q2015]}, geometry=[q[3] for q in Q2015],
                           crs=2154).to_crs(4326)
    pyogrio.write_dataframe(gdf, work / f"{QPV2015_LAYER}.shp", encoding="UTF-8")
    z = tmp_path / "qp-politiquedelaville-shp.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in work.iterdir():
            zf.write(f, f"qp-politiquedelaville-shp/{f.name}")
    return z


def test_read_qpv2015_spatial_selection(tmp_path):
    outline = shapely.union_all(COMMUNES[COMMUNES.code_insee.isin(TERRITOIRE)].geometry.values)
    q = read_qpv2015(qpv2015_zip(tmp_path), TERRITOIRE, outline)
    # QP059002 outside; QP059003 has 50x200 / 300x200 = 16.7 % inside (kept, >= 5 %);
    # QP059004 has 5x200 / 200x200 = 2.5 % inside (sliver, dropped)
    assert q["code_qp"].tolist() == ["QP059001", "QP059003"]
    assert list(q.columns) == ["code_qp", "nom_qp", "commune_qp", "geometry", "surface_ha"]
    assert q.set_index("code_qp").loc["QP059003", "commune_qp"] == "Beta, Gamma"
    assert q["surface_ha"].tolist() == pytest.approx([4.0, 6.0], abs=1e-5)
    s = qpv_commune_shares(q, COMMUNES, 2015, territoire=TERRITOIRE)
    got = {(r.code_qp, r.insee_com): round(r.part_surface, 5) for r in s.itertuples()}
    # QP059003: 50x200 in Beta = 1/6, 250x200 in Gamma = 5/6
    assert got == {("QP059001", "59001"): 1.0, ("QP059003", "59002"): round(1 / 6, 5),
                   ("QP059003", "59003"): round(5 / 6, 5)}
    assert (s["millesime_qpv"] == 2015).all()


# ---------------------------------------------------------------------------------------------------
# Geometry and codes as they really come
# ---------------------------------------------------------------------------------------------------
def _rewrite_2024(path: Path, edit) -> Path:
    with zipfile.ZipFile(path) as z:
        name = z.namelist()[0]
        fc = json.loads(z.read(name))
    edit(fc)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(name, json.dumps(fc))
    return path


def _feature(fc, code):
    return next(f for f in fc["features"] if f["properties"]["code_qp"] == code)


def test_null_geometry_of_a_quartier_of_the_territory_is_refused_not_dropped(tmp_path):
    p = _rewrite_2024(qpv2024_zip(tmp_path / "q.zip"), lambda fc: _feature(fc, "QN05902M").update(geometry=None))
    with pytest.raises(GeometryError) as e:
        read_qpv2024(p, TERRITOIRE, bbox=(X0, Y0, X0 + 2000, Y0 + 1000))
    assert "QN05902M" in str(e.value) and str(p) in str(e.value)


def test_null_geometry_elsewhere_is_noted_and_ignored(tmp_path, capsys):
    p = _rewrite_2024(qpv2024_zip(tmp_path / "q.zip"), lambda fc: _feature(fc, "QN05904M").update(geometry=None))
    q = read_qpv2024(p, TERRITOIRE)
    assert q["code_qp"].tolist() == ["QN05901M", "QN05902M", "QN05903M", "QN05905N"]
    err = capsys.readouterr().err
    assert "Note" in err and "QN05904M" in err and "hors du territoire" in err


def test_code_that_is_not_an_official_code_is_refused(tmp_path):
    p = _rewrite_2024(qpv2024_zip(tmp_path / "q.zip"),
                      lambda fc: _feature(fc, "QN05901M")["properties"].update(code_qp="../QN05901M"))
    with pytest.raises(FormatError) as e:
        read_qpv2024(p, TERRITOIRE)
    assert "'../QN05901M'" in str(e.value)


def test_lambert93_numbers_in_the_wgs84_file_are_refused(tmp_path):
    def to_l93(fc):
        fc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
        for f, q in zip(fc["features"], QPV):
            f["geometry"] = shapely.geometry.mapping(shapely.MultiPolygon([q[5]]))   # metres, declared degrees
    p = _rewrite_2024(qpv2024_zip(tmp_path / "q.zip"), to_l93)
    with pytest.raises(GeometryError) as e:
        read_qpv2024(p, TERRITOIRE)
    assert "Lambert-93" in str(e.value) and "WGS 84" in str(e.value)


def test_truncated_archive_is_refused_before_reading(tmp_path):
    p = qpv2024_zip(tmp_path / "q.zip")
    p.write_bytes(p.read_bytes()[:300])
    with pytest.raises(FormatError) as e:
        read_qpv2024(p, TERRITOIRE)
    assert "archive incomplète, téléchargez-la à nouveau" in str(e.value)


def test_self_intersecting_2024_perimeter_repaired_to_its_two_triangles(tmp_path, capsys):
    bow = shapely.Polygon([(X0 + 100, Y0 + 100), (X0 + 300, Y0 + 300), (X0 + 300, Y0 + 100), (X0 + 100, Y0 + 300)])
    wgs = gpd.GeoSeries([bow], crs=2154).to_crs("OGC:CRS84").iloc[0]
    p = _rewrite_2024(qpv2024_zip(tmp_path / "q.zip"), lambda fc: _feature(fc, "QN05901M").update(
        geometry=shapely.geometry.mapping(wgs)))
    q = read_qpv2024(p, TERRITOIRE).set_index("code_qp")
    # two triangles of base 200 m and height 100 m: 2 × 10 000 m² = 2 ha
    assert q.loc["QN05901M", "surface_ha"] == pytest.approx(2.0, rel=1e-4)
    assert q.attrs["reparations"] == ["QN05901M"]
    assert "QN05901M" in capsys.readouterr().err


def test_qpv2015_without_geometry_in_a_departement_of_the_territory(tmp_path):
    z = qpv2015_zip(tmp_path)
    work = tmp_path / "edit"
    work.mkdir()
    gdf = pyogrio.read_dataframe(f"/vsizip/{z}/qp-politiquedelaville-shp/{QPV2015_LAYER}.shp")
    gdf.loc[gdf["CODE_QP"] == "QP059002", "geometry"] = None
    pyogrio.write_dataframe(gdf, work / f"{QPV2015_LAYER}.shp", encoding="UTF-8")
    with zipfile.ZipFile(z, "w") as zf:
        for f in work.iterdir():
            zf.write(f, f"qp-politiquedelaville-shp/{f.name}")
    outline = shapely.union_all(COMMUNES[COMMUNES.code_insee.isin(TERRITOIRE)].geometry.values)
    with pytest.raises(GeometryError) as e:
        read_qpv2015(z, TERRITOIRE, outline)          # QP059… : département 59, the territory's
    assert "QP059002" in str(e.value)
    q = read_qpv2015(z, {"62001"}, outline)            # a territory of another département: noted only
    assert q["code_qp"].tolist() == ["QP059001", "QP059003"]


# ---------------------------------------------------------------------------------------------------
# The official code shapes, checked on the real files (../shared)
# ---------------------------------------------------------------------------------------------------
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.shared
@pytest.mark.skipif(not (SHARED / "real").is_dir(), reason="../shared/data absent (clone hors de l'environnement CI)")
def test_code_patterns_match_every_real_code():
    import re

    import pandas as pd

    from observatoire.sources.anct import quartier_codes
    from observatoire.validation import CODE_PATTERNS

    codes15 = quartier_codes(SHARED / "real" / "anct_qpv2015" / "QP_METROPOLEOUTREMER_WGS84_EPSG4326.shp", 2015)
    assert len(codes15) == 1514
    assert all(re.fullmatch(CODE_PATTERNS["qpv2015"], c) for c in codes15), \
        [c for c in codes15 if not re.fullmatch(CODE_PATTERNS["qpv2015"], c)][:5]
    codes24 = gpd.read_file(SHARED / "valenciennes" / "qpv2024.geojson")["code_qp"].tolist()
    codes24 += pd.read_csv(SHARED / "valenciennes" / "qpv2024_index.csv", dtype=str)["code_qp"].tolist()
    assert len(set(codes24)) == 15 and all(re.fullmatch(CODE_PATTERNS["qpv2024"], c) for c in codes24)
    # and the shapes refuse what must never become a file name
    for bad in ("../QN05920M", "QN05920M/..", "QN0592M", "qn05920m", "QP05903", "QP059030 "):
        assert not re.fullmatch(CODE_PATTERNS["qpv2024"], bad) and not re.fullmatch(CODE_PATTERNS["qpv2015"], bad)
