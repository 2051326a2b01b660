"""Custom zones (``[[zones]]``, ``observatoire/spatial/zones.py``) and population rasters
(``[estimation] raster``, ``observatoire/spatial/raster.py``) as users really provide them."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from observatoire.config import Zone
from observatoire.errors import ObservatoireError
from observatoire.spatial.raster import check_raster, grid_to_raster, zonal_sums
from observatoire.spatial.zones import load_zones

from .conftest import assert_message, assert_noted, assert_refused


@pytest.fixture
def iris(projet):
    return gpd.read_file(projet.processed / "observatoire.gpkg", layer="iris")


def _zone_file(projet, features, crs: str | None = "urn:ogc:def:crs:EPSG::2154"):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"n": i}, "geometry": g} for i, g in enumerate(features)]}
    if crs:
        fc["crs"] = {"type": "name", "properties": {"name": crs}}
    p = projet.root / "zones" / "zone.geojson"
    p.parent.mkdir(exist_ok=True)
    p.write_text(json.dumps(fc), encoding="utf-8")
    return p


def _inside(iris, code="000010103", shrink=50.0):
    g = iris.set_index("code_iris").loc[code, "geometry"]
    return shapely.geometry.mapping(g.buffer(-shrink))


def _refused_zone(zone, iris, fichier, correction, *contient):
    with pytest.raises(ObservatoireError) as e:
        load_zones((zone,), iris)
    assert_message(str(e.value), fichier=fichier, correction=correction, contient=contient)


# ---------------------------------------------------------------------------------------------- zones
@pytest.mark.corpus("zones", "refuse")
def test_zone_code_escaping_the_output_folders_refused_by_the_cli(projet):
    projet.edit_config(lambda t: t.replace('code = "VEILLE_DEMO"', 'code = "../../../escaped_VEILLE"'))
    before = projet.snapshot()
    run = projet.cli("build")
    assert_refused(run, fichier="observatoire.toml", correction="lettres, chiffres",
                   contient=("'../../../escaped_VEILLE'",))
    assert projet.snapshot() == before
    assert not list(projet.root.parent.rglob("escaped_VEILLE*"))


@pytest.mark.corpus("zones", "refuse")
def test_zone_code_declared_twice(projet, iris):
    z = Zone("VEILLE", "Veille", iris=("000010101",))
    with pytest.raises(ObservatoireError) as e:
        load_zones((z, Zone("VEILLE", "Autre", iris=("000010102",))), iris)
    assert_message(str(e.value), fichier="observatoire.toml", correction="code différent", contient=("VEILLE",))


@pytest.mark.corpus("zones", "repair-and-note")
def test_zone_iris_codes_typed_as_numbers(projet, iris, capsys):
    z = load_zones((Zone("VEILLE", "Veille", iris=("10118.0", "000010119")),), iris)
    assert z.iloc[0]["commune"] == "00001"
    expected = shapely.union_all(iris.set_index("code_iris").loc[["000010118", "000010119"], "geometry"].values)
    assert z.iloc[0].geometry.area == pytest.approx(expected.area)
    assert_noted(capsys.readouterr().err, "zone VEILLE", "10118.0 → 000010118")


@pytest.mark.corpus("zones", "repair-and-note")
def test_zone_file_with_empty_and_line_features(projet, iris, capsys):
    poly = _inside(iris)
    p = _zone_file(projet, [poly, None, {"type": "LineString", "coordinates": [[700100, 6600100], [700200, 6600200]]}])
    z = load_zones((Zone("GARE", "Gare", fichier=p),), iris)
    assert z.iloc[0].geometry.area == pytest.approx(shapely.geometry.shape(poly).area)
    assert_noted(capsys.readouterr().err, "zone GARE", "sans géométrie", "LineString")


@pytest.mark.corpus("zones", "repair-and-note")
def test_zone_file_self_intersecting(projet, iris, capsys):
    x0, y0, x1, y1 = shapely.geometry.shape(_inside(iris)).bounds
    bow = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]}
    z = load_zones((Zone("GARE", "Gare", fichier=_zone_file(projet, [bow])),), iris)
    assert z.iloc[0].geometry.is_valid
    assert z.iloc[0].geometry.area == pytest.approx((x1 - x0) * (y1 - y0) / 2)
    assert_noted(capsys.readouterr().err, "zone GARE", "réparé")


@pytest.mark.corpus("zones", "refuse")
def test_zone_file_lambert93_numbers_without_crs(projet, iris):
    p = _zone_file(projet, [_inside(iris)], crs=None)
    _refused_zone(Zone("GARE", "Gare", fichier=p), iris, "zone.geojson", "Lambert-93", "mètres en Lambert-93")


@pytest.mark.corpus("zones", "refuse")
def test_zone_file_far_from_the_territory(projet, iris):
    far = shapely.geometry.mapping(shapely.box(1_000_000, 6_200_000, 1_000_500, 6_200_500))
    p = _zone_file(projet, [far])
    _refused_zone(Zone("GARE", "Gare", fichier=p), iris, "zone.geojson", "bon système de coordonnées",
                  "ne recouvre aucun IRIS")


@pytest.mark.corpus("zones", "refuse")
def test_zone_file_missing(projet, iris):
    _refused_zone(Zone("GARE", "Gare", fichier=projet.root / "zones" / "absente.geojson"), iris,
                  "absente.geojson", "chemin « fichier »", "introuvable")


# --------------------------------------------------------------------------------------------- rasters
def _raster(path, data, crs="EPSG:2154", x0=700_000.0, y1=6_605_000.0, res=200.0, nodata=None):
    data = np.asarray(data, dtype="float32")
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype="float32", crs=crs, transform=from_origin(x0, y1, res, res), nodata=nodata) as dst:
        dst.write(data, 1)
    return path


@pytest.mark.corpus("rasters", "refuse")
def test_population_raster_without_crs_refused_by_the_cli(projet):
    """« a population GeoTIFF without any CRS is used »: no more."""
    _raster(projet.root / "miroir" / "population.tif", np.full((60, 80), 10.0), crs=None)
    projet.edit_config(lambda t: t + '\n[estimation]\nraster = "population.tif"\n')
    before = projet.snapshot()
    run = projet.cli("build")
    assert_refused(run, fichier="population.tif", correction="-a_srs EPSG:2154", contient=("GeoTIFF without CRS",))
    assert projet.snapshot() == before


@pytest.mark.corpus("rasters", "refuse")
def test_population_raster_with_negative_cells(projet, iris):
    data = np.full((60, 80), 10.0)
    data[10:20, 10:20] = -5
    p = _raster(projet.root / "pop.tif", data)
    with pytest.raises(ObservatoireError) as e:
        zonal_sums(iris.geometry, p)
    assert_message(str(e.value), fichier="pop.tif", correction="nodata", contient=("négative",))


@pytest.mark.corpus("rasters", "refuse")
def test_population_raster_outside_the_territory(projet, iris):
    p = _raster(projet.root / "pop.tif", np.full((10, 10), 10.0), x0=900_000.0, y1=6_300_000.0)
    with pytest.raises(ObservatoireError) as e:
        check_raster(p, tuple(iris.total_bounds))
    assert_message(str(e.value), fichier="pop.tif", correction="couvre le territoire", contient=("ne recouvre pas",))


@pytest.mark.corpus("rasters", "refuse")
def test_population_raster_that_is_not_a_geotiff(projet, iris):
    p = projet.root / "pop.tif"
    p.write_text("ceci n'est pas un raster\n")
    with pytest.raises(ObservatoireError) as e:
        zonal_sums(iris.geometry, p)
    assert_message(str(e.value), fichier="pop.tif", correction="GeoTIFF", contient=("raster lisible",))


@pytest.mark.corpus("rasters", "refuse")
def test_population_grid_with_negative_counts(projet):
    grid = gpd.GeoDataFrame({"ind": [10.0, -4.0]}, geometry=[shapely.box(700_000, 6_600_000, 700_200, 6_600_200),
                                                          shapely.box(700_200, 6_600_000, 700_400, 6_600_200)],
                            crs=2154)
    out = projet.root / "grille.tif"
    with pytest.raises(ObservatoireError) as e:
        grid_to_raster(grid, "ind", out)
    assert_message(str(e.value), fichier="grille.tif", correction="non modifiée", contient=("négatif",))
    assert not out.exists()
