"""Custom zones: IRIS lists, polygon files in any CRS, clear errors."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from observatoire.config import Zone
from observatoire.errors import ObservatoireError
from observatoire.spatial.crosswalk import iris_zone_crosswalk
from observatoire.spatial.zones import load_zones

X0, Y0 = 700_000.0, 7_000_000.0


def b(x1, y1, x2, y2):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


@pytest.fixture
def iris():
    # Three IRIS: two in commune 59383 and one in 59606, each 400 × 400 m (16 ha).
    return gpd.GeoDataFrame({"code_iris": ["593830101", "593830102", "596060101"]},
                            geometry=[b(0, 0, 400, 400), b(400, 0, 800, 400), b(800, 0, 1200, 400)], crs=2154)


def test_zone_from_iris_list(iris):
    z = load_zones((Zone("V1", "Veille 1", iris=("593830101", "593830102")),), iris)
    assert list(z.columns) == ["code", "libelle", "commune", "geometry"]
    assert z.crs.to_epsg() == 2154
    row = z.iloc[0]
    # union of two adjacent 16 ha squares = 32 ha, commune derived from the IRIS codes
    assert row.geometry.area == pytest.approx(320_000)
    assert row["commune"] == "59383"
    # treated like a quartier: the crosswalk gives weights 1 for both IRIS
    cw = iris_zone_crosswalk(iris, z)
    assert sorted(cw["code_iris"]) == ["593830101", "593830102"]
    assert cw["poids_surface"].tolist() == pytest.approx([1.0, 1.0])


def test_unknown_iris_code_names_zone_and_code(iris):
    with pytest.raises(ObservatoireError) as e:
        load_zones((Zone("V2", "Veille 2", iris=("593830101", "999999999")),), iris)
    assert "V2" in str(e.value) and "999999999" in str(e.value)


def test_zone_from_geojson_in_wgs84(iris, tmp_path):
    # polygon covering the right half of IRIS 593830102 and all of 596060101, written in WGS84
    poly = gpd.GeoDataFrame({"nom": ["gare"]}, geometry=[b(600, 0, 1200, 400)], crs=2154).to_crs(4326)
    f = tmp_path / "gare.geojson"
    poly.to_file(f, driver="GeoJSON")
    z = load_zones((Zone("G", "Gare", fichier=f),), iris)
    assert z.iloc[0].geometry.area == pytest.approx(240_000, rel=1e-6)
    # communes holding ≥ 1 % of the zone: 59383 (1/3) and 59606 (2/3)
    assert z.iloc[0]["commune"] == "59383, 59606"


def test_zone_from_gpkg_union_of_parts(iris, tmp_path):
    parts = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[b(0, 0, 100, 100), b(50, 0, 200, 100)], crs=2154)
    f = tmp_path / "z.gpkg"
    parts.to_file(f, driver="GPKG")
    z = load_zones((Zone("Z", "Z", fichier=f, commune="59383"),), iris)
    # union of [0,100] and [50,200] × [0,100] = 200 × 100 = 20,000 m²
    assert z.iloc[0].geometry.area == pytest.approx(20_000)
    assert z.iloc[0]["commune"] == "59383"


def test_missing_file(iris, tmp_path):
    with pytest.raises(ObservatoireError, match="introuvable") as e:
        load_zones((Zone("M", "Manquante", fichier=tmp_path / "absent.geojson"),), iris)
    assert "absent.geojson" in str(e.value) and "'M'" in str(e.value)


def test_shapefile_without_prj(iris, tmp_path):
    f = tmp_path / "z.shp"
    gpd.GeoDataFrame({"id": [1]}, geometry=[b(0, 0, 100, 100)], crs=2154).to_file(f)
    f.with_suffix(".prj").unlink()
    with pytest.raises(ObservatoireError, match="système de coordonnées"):
        load_zones((Zone("S", "S", fichier=f),), iris)


# ---------------------------------------------------------------------------------------------------
# Zones as users really declare them
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("code", ["../../escaped", "a/b", "", "zone avec espaces", "x" * 65])
def test_zone_code_that_could_not_be_a_file_name_is_refused(iris, code):
    with pytest.raises(ObservatoireError) as e:
        load_zones((Zone(code, "Z", iris=("593830101",)),), iris)
    assert "[[zones]] code" in str(e.value) and "observatoire.toml" in str(e.value)


def test_zone_code_declared_twice_is_refused(iris):
    with pytest.raises(ObservatoireError, match="plusieurs fois"):
        load_zones((Zone("V", "A", iris=("593830101",)), Zone("V", "B", iris=("596060101",))), iris)


def test_zone_file_in_degrees_declared_lambert93_is_refused(iris, tmp_path):
    poly = gpd.GeoDataFrame({"n": [1]}, geometry=[b(0, 0, 100, 100)], crs=2154).to_crs(4326)
    f = tmp_path / "z.gpkg"
    poly.set_crs(2154, allow_override=True).to_file(f, driver="GPKG")   # degrees labelled as metres
    with pytest.raises(ObservatoireError) as e:
        load_zones((Zone("Z", "Z", fichier=f),), iris)
    assert "degrés" in str(e.value) and str(f) in str(e.value)


def test_zone_file_features_without_geometry_are_noted(iris, tmp_path, capsys):
    parts = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[b(0, 0, 100, 100), None], crs=2154)
    f = tmp_path / "z.gpkg"
    parts.to_file(f, driver="GPKG")
    z = load_zones((Zone("Z", "Z", fichier=f),), iris)
    assert z.iloc[0].geometry.area == pytest.approx(10_000)
    err = capsys.readouterr().err
    assert "Note" in err and "entité n° 2" in err
