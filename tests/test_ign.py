"""IGN readers (observatoire/sources/ign.py): WFS GeoJSON per département, CONTOURS-IRIS GPKG / 7z."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely import box

from observatoire.errors import FormatError
from observatoire.sources.ign import iris_files, read_communes, read_departement, read_iris

X0, Y0 = 700000.0, 7000000.0


def b(x1, y1, x2, y2):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def wfs_communes(path: Path) -> Path:
    """Géoplateforme WFS answer (SRSNAME=EPSG:2154): lower-case ADMIN EXPRESS COG attributes."""
    gdf = gpd.GeoDataFrame({
        "cleabs": ["COMMUNE_1", "COMMUNE_2", "COMMUNE_3"],
        "code_insee": ["59001", "59002", "59003"], "nom_officiel": ["Alpha", "Beta", "Gamma"],
        "code_siren": ["215900011", "215900021", "215900031"],
        # multi-valued "/"-joined (INFERRED), and NR when the commune belongs to no EPCI
        "codes_siren_des_epci": ["245900001", "245900001/200000009", "NR"],
        "population": [12000, 800, None], "code_insee_du_departement": ["59", "59", "59"]},
        geometry=[b(0, 0, 1000, 1000), b(1000, 0, 2000, 1000), b(2000, 0, 3000, 1000)], crs=2154)
    pyogrio.write_dataframe(gdf, path, driver="GeoJSON", layer="commune")
    return path


def test_read_communes_filters_and_maps_attributes(tmp_path):
    c = read_communes([wfs_communes(tmp_path / "communes_59.geojson")], {"59001", "59002"})
    assert list(c.columns) == ["code_insee", "nom", "siren_epci", "dep", "population", "geometry"]
    assert c["code_insee"].tolist() == ["59001", "59002"]
    assert c["nom"].tolist() == ["Alpha", "Beta"]
    assert c["siren_epci"].tolist() == ["245900001", "245900001"]  # first SIREN of "a/b"
    assert c["population"].tolist() == [12000, 800]
    assert c.crs.to_epsg() == 2154
    assert c.geometry.iloc[1].bounds == pytest.approx((X0 + 1000, Y0, X0 + 2000, Y0 + 1000))
    assert c.geometry.iloc[1].area == pytest.approx(1_000_000)


def test_read_communes_nr_epci_and_null_population(tmp_path):
    c = read_communes(wfs_communes(tmp_path / "c.geojson"), {"59003"})
    assert c["siren_epci"].iloc[0] is None
    assert c["population"].isna().iloc[0]


def test_read_communes_swaps_latlon_epsg4326(tmp_path):
    """A WFS 2.0 EPSG:4326 answer in latitude/longitude order is detected and swapped."""
    ll = gpd.GeoSeries([b(0, 0, 1000, 1000)], crs=2154).to_crs(4326).iloc[0]
    latlon = shapely.transform(ll, lambda xy: xy[:, ::-1])
    fc = {"type": "FeatureCollection",
          "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}},
          "features": [{"type": "Feature", "geometry": shapely.geometry.mapping(latlon),
                        "properties": {"code_insee": "59001", "nom_officiel": "Alpha",
                                       "codes_siren_des_epci": "245900001", "population": 1,
                                       "code_insee_du_departement": "59"}}]}
    p = tmp_path / "ll.geojson"
    p.write_text(json.dumps(fc), encoding="utf-8")
    c = read_communes(p, {"59001"})
    assert c.geometry.iloc[0].area == pytest.approx(1_000_000, rel=1e-6)
    assert c.geometry.iloc[0].centroid.x == pytest.approx(X0 + 500, abs=0.01)


def test_read_departement(tmp_path):
    p = tmp_path / "departement_59.geojson"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"code_insee": ["59"], "nom_officiel": ["Nord"]},
                                             geometry=[b(0, 0, 9000, 9000)], crs=2154), p, driver="GeoJSON")
    d = read_departement([p], "59")
    assert d[["code", "nom"]].values.tolist() == [["59", "Nord"]]
    assert d.geometry.iloc[0].area == pytest.approx(81e6)


IRIS = gpd.GeoDataFrame({
    "cleabs": ["I1", "I2", "I3", "I4"], "code_insee": ["59001", "59001", "59002", "59003"],
    "nom_commune": ["Alpha", "Alpha", "Beta", "Gamma"], "iris": ["0101", "0102", "0000", "0000"],
    "code_iris": ["590010101", "590010102", "590020000", "590030000"],
    "nom_iris": ["Centre", "Gare", "Beta", "Gamma"], "type_iris": ["H", "A", "Z", "Z"]},
    geometry=[b(0, 0, 500, 1000), b(500, 0, 1000, 1000), b(1000, 0, 2000, 1000), b(2000, 0, 3000, 1000)],
    crs=2154)


def test_read_iris_wfs_geojson(tmp_path):
    p = tmp_path / "contours_iris_59.geojson"
    pyogrio.write_dataframe(IRIS, p, driver="GeoJSON")
    i = read_iris([p], {"59001", "59002"})
    assert list(i.columns) == ["code_iris", "code_insee", "nom_iris", "type_iris", "nom_commune", "geometry"]
    assert i["code_iris"].tolist() == ["590010101", "590010102", "590020000"]
    assert i["type_iris"].tolist() == ["H", "A", "Z"]


def test_read_iris_upper_case_2x_attributes(tmp_path):
    up = IRIS.drop(columns=["cleabs", "iris"]).rename(columns={
        "code_insee": "INSEE_COM", "nom_commune": "NOM_COM", "code_iris": "CODE_IRIS", "nom_iris": "NOM_IRIS",
        "type_iris": "TYP_IRIS"})
    p = tmp_path / "CONTOURS-IRIS.geojson"
    pyogrio.write_dataframe(up, p, driver="GeoJSON")
    i = read_iris(p, {"59002"})
    assert i[["code_iris", "code_insee", "nom_iris", "type_iris", "nom_commune"]].values.tolist() == \
        [["590020000", "59002", "Beta", "Z", "Beta"]]


def test_read_iris_gpkg_and_7z_win_over_geojson(tmp_path):
    folder = tmp_path / "ign_iris"
    folder.mkdir()
    pyogrio.write_dataframe(IRIS.iloc[:1], folder / "contours_iris_59.geojson", driver="GeoJSON")
    gpkg = tmp_path / "CONTOURS-IRIS_3-0.gpkg"
    pyogrio.write_dataframe(IRIS, gpkg, layer="contours_iris", driver="GPKG")
    import py7zr

    with py7zr.SevenZipFile(folder / "CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2025-01-01.7z", "w") as z:
        z.write(gpkg, "CONTOURS-IRIS_3-0__GPKG/1_DONNEES_LIVRAISON/CONTOURS-IRIS_3-0.gpkg")
    files = iris_files(folder)
    assert [f.suffix for f in files] == [".7z"]
    i = read_iris(files, {"59001", "59003"})
    assert i["code_iris"].tolist() == ["590010101", "590010102", "590030000"]
    assert (folder / "CONTOURS-IRIS_3-0.gpkg").exists()  # extracted once, next to the archive
    assert read_iris([folder / "CONTOURS-IRIS_3-0.gpkg"], {"59002"})["code_iris"].tolist() == ["590020000"]


def test_read_iris_missing_attribute(tmp_path):
    p = tmp_path / "x.geojson"
    pyogrio.write_dataframe(IRIS.drop(columns=["type_iris"]), p, driver="GeoJSON")
    with pytest.raises(FormatError) as e:
        read_iris(p, {"59001"})
    assert "type_iris" in str(e.value)


def test_truncated_wfs_answer_is_refused(tmp_path, monkeypatch):
    from observatoire.sources import ign

    monkeypatch.setattr(ign, "WFS_MAX", 4)  # the fixture has 4 IRIS: as many as the server limit
    p = tmp_path / "contours_iris_59.geojson"
    pyogrio.write_dataframe(IRIS, p, driver="GeoJSON")
    with pytest.raises(FormatError) as e:
        read_iris(p, {"59001"})
    assert "tronquée" in str(e.value)
    monkeypatch.setattr(ign, "WFS_MAX", 5000)
    assert len(read_iris(p, {"59001"})) == 2


def test_read_communes_from_admin_express_gpkg(tmp_path):
    """ADMIN EXPRESS COG 4.0 GeoPackage: several layers, the ``commune`` one is read."""
    p = tmp_path / "ADMIN-EXPRESS-COG.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"code_insee": ["59"], "nom_officiel": ["Nord"]},
                                             geometry=[b(0, 0, 9000, 9000)], crs=2154), p, layer="departement")
    src = gpd.read_file(wfs_communes(tmp_path / "c.geojson"))
    pyogrio.write_dataframe(src, p, layer="commune", append=True)
    c = read_communes(p, {"59002"})
    assert c[["code_insee", "nom"]].values.tolist() == [["59002", "Beta"]]
    assert read_departement(p, "59")["nom"].tolist() == ["Nord"]


# ---------------------------------------------------------------------------------------------------
# Geometry as it really comes
# ---------------------------------------------------------------------------------------------------
from observatoire.errors import GeometryError  # noqa: E402


def test_commune_without_geometry_is_refused_by_code(tmp_path):
    p = wfs_communes(tmp_path / "c.geojson")
    fc = json.loads(p.read_text(encoding="utf-8"))
    fc["features"][1]["geometry"] = None
    p.write_text(json.dumps(fc), encoding="utf-8")
    with pytest.raises(GeometryError) as e:
        read_communes(p, {"59001", "59002"})
    assert "59002" in str(e.value) and str(p) in str(e.value)


def test_shapefile_without_prj_is_refused(tmp_path):
    p = tmp_path / "COMMUNE.shp"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"INSEE_COM": ["59001"], "NOM": ["Alpha"]},
                                             geometry=[b(0, 0, 1000, 1000)], crs=2154), p)
    p.with_suffix(".prj").unlink()
    with pytest.raises(GeometryError) as e:
        read_communes(p, {"59001"})
    assert "système de coordonnées" in str(e.value) and ".prj" in str(e.value)


def test_lambert93_numbers_without_crs_member_are_refused(tmp_path):
    p = wfs_communes(tmp_path / "c.geojson")
    fc = json.loads(p.read_text(encoding="utf-8"))
    del fc["crs"]                                   # GeoJSON's default is WGS84: metres cannot be degrees
    p.write_text(json.dumps(fc), encoding="utf-8")
    with pytest.raises(GeometryError) as e:
        read_communes(p, {"59001"})
    assert "Lambert-93" in str(e.value)


def test_self_intersecting_iris_repaired_with_a_note(tmp_path, capsys):
    bow = shapely.Polygon([(X0, Y0), (X0 + 500, Y0 + 1000), (X0 + 500, Y0), (X0, Y0 + 1000)])
    gdf = IRIS.copy()
    gdf.loc[0, "geometry"] = bow
    p = tmp_path / "contours_iris_59.geojson"
    pyogrio.write_dataframe(gdf, p, driver="GeoJSON")
    i = read_iris(p, {"59001"}).set_index("code_iris")
    # two triangles of base 500 m and height 500 m: 2 × 125 000 m²
    assert i.loc["590010101", "geometry"].area == pytest.approx(250_000)
    err = capsys.readouterr().err
    assert "590010101" in err and "réparé" in err


def test_iris_present_twice_identically_is_kept_once(tmp_path, capsys):
    p = tmp_path / "contours_iris_59.geojson"
    pyogrio.write_dataframe(gpd.GeoDataFrame(pd.concat([IRIS, IRIS.iloc[[2]]]), crs=2154), p, driver="GeoJSON")
    assert read_iris(p, {"59002"})["code_iris"].tolist() == ["590020000"]
    assert "590020000" in capsys.readouterr().err


def test_truncated_contours_iris_7z_is_refused(tmp_path):
    import py7zr

    gpkg = tmp_path / "CONTOURS-IRIS.gpkg"
    pyogrio.write_dataframe(IRIS, gpkg, layer="contours_iris", driver="GPKG")
    archive = tmp_path / "ign_iris" / "CONTOURS-IRIS.7z"
    archive.parent.mkdir()
    with py7zr.SevenZipFile(archive, "w") as z:
        z.write(gpkg, "CONTOURS-IRIS.gpkg")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(FormatError) as e:
        read_iris([archive], {"59001"})
    assert "archive incomplète, téléchargez-la à nouveau" in str(e.value) and str(archive) in str(e.value)
    assert not (archive.parent / "CONTOURS-IRIS.gpkg").exists()
