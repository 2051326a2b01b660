"""Geometry as it really comes: QPV 2024 and 2015 perimeters, commune and IRIS outlines (the readers of
``observatoire/sources/anct.py`` and ``ign.py``)."""

from __future__ import annotations

import json

import pytest
import shapely
from pyproj import Transformer

from observatoire.errors import ObservatoireError
from observatoire.territory import build_geographic_layers

from . import hostile as h
from .conftest import assert_message, assert_noted, assert_refused

QPV24 = "QP2024_France_Hexagonale_Outre_Mer_WGS84.zip"
GEOJSON = r"\.geojson$"


def _qpv24(projet):
    return projet.raw_file("anct_qpv2024")


def _edit_qpv24(projet, edit):
    h.rewrite_member(_qpv24(projet), lambda raw: h.edit_geojson(raw, edit), GEOJSON)


def _layers(projet):
    return build_geographic_layers(projet.config())


def _refused(projet, fichier, correction, *contient):
    with pytest.raises(ObservatoireError) as e:
        _layers(projet)
    assert_message(str(e.value), fichier=fichier, correction=correction, contient=contient)


# ------------------------------------------------------------------------------------------ QPV 2024
@pytest.mark.corpus("geometrie", "refuse")
def test_qpv2024_null_geometry_refused_by_the_cli(projet):
    """The defect that made a quartier vanish (29 sheets instead of 31): now refused by its code."""
    _edit_qpv24(projet, lambda fc: h.feature(fc, "code_qp", "QN00002M").update(geometry=None))
    before = projet.snapshot()
    run = projet.cli("build")
    assert_refused(run, fichier=QPV24, correction="fetch --force", contient=("QN00002M", "géométrie absente"))
    assert projet.snapshot() == before and not projet.temporaries()


@pytest.mark.corpus("geometrie", "refuse")
def test_qpv2024_empty_geometry_refused(projet):
    _edit_qpv24(projet, lambda fc: h.feature(fc, "code_qp", "QN00001M").update(
        geometry={"type": "MultiPolygon", "coordinates": []}))
    _refused(projet, QPV24, "SIG", "QN00001M")


@pytest.mark.corpus("geometrie", "refuse")
def test_qpv2024_lambert93_numbers_declared_wgs84(projet):
    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)

    def edit(fc):
        for f in fc["features"]:
            f["geometry"] = h.scale_coordinates(f["geometry"], lambda x, y: to_l93.transform(x, y))
    _edit_qpv24(projet, edit)
    _refused(projet, QPV24, "réexportez la couche en WGS84", "Lambert-93", "WGS 84", "x de 702\u202f000")


@pytest.mark.corpus("geometrie", "refuse")
def test_qpv2024_latitude_longitude_swapped_for_one_quartier(projet):
    def edit(fc):
        f = h.feature(fc, "code_qp", "QN00003N")
        f["geometry"] = h.scale_coordinates(f["geometry"], lambda x, y: (y, x))
    _edit_qpv24(projet, edit)
    _refused(projet, QPV24, "coordonnées", "QN00003N", "hors de l'étendue")


@pytest.mark.corpus("geometrie", "repair-and-note")
def test_qpv2024_self_intersecting_perimeter_repaired_with_a_note_by_the_cli(projet):
    """A GEOS TopologyException ended in « erreur inattendue »: repaired, announced, the run completes."""
    _edit_qpv24(projet, lambda fc: h.feature(fc, "code_qp", "QN00001M").update(
        geometry=h.bowtie(h.feature(fc, "code_qp", "QN00001M")["geometry"])))
    run = projet.cli("build")
    assert run.code == 0, run.out
    assert_noted(run.out, "QN00001M", QPV24, "réparé")
    import geopandas as gpd

    q = gpd.read_file(projet.processed / "observatoire.gpkg", layer="qpv_2024").set_index("code_qp")
    assert sorted(q.index) == ["QN00001M", "QN00002M", "QN00003N"]
    # a bow tie over its bounding box repaired into its two triangles: half the box's area
    g = q.loc["QN00001M", "geometry"]
    assert g.is_valid and g.area == pytest.approx(shapely.box(*g.bounds).area / 2, rel=1e-3)


@pytest.mark.corpus("geometrie", "repair-and-note")
def test_qpv2024_identical_duplicate_kept_once(projet, capsys):
    _edit_qpv24(projet, lambda fc: fc["features"].append(json.loads(json.dumps(h.feature(fc, "code_qp", "QN00001M")))))
    layers = _layers(projet)
    assert sorted(layers["qpv_2024"]["code_qp"]) == ["QN00001M", "QN00002M", "QN00003N"]
    assert_noted(capsys.readouterr().err, "QN00001M", "à l'identique")


@pytest.mark.corpus("geometrie", "refuse")
def test_qpv2024_conflicting_duplicate(projet):
    def edit(fc):
        twin = json.loads(json.dumps(h.feature(fc, "code_qp", "QN00001M")))
        twin["geometry"] = h.feature(fc, "code_qp", "QN00002M")["geometry"]
        fc["features"].append(twin)
    _edit_qpv24(projet, edit)
    _refused(projet, QPV24, "un seul objet par code", "QN00001M")


@pytest.mark.corpus("geometrie", "stop")
def test_qpv2024_truncated_download(projet):
    h.truncate(_qpv24(projet), 0.7)
    _refused(projet, QPV24, "archive incomplète, téléchargez-la à nouveau")


# ------------------------------------------------------------------------------------------ QPV 2015
QPV15 = "qp-politiquedelaville-shp.zip"


@pytest.mark.corpus("geometrie", "refuse")
def test_qpv2015_shapefile_without_prj(projet):
    h.edit_shapefile_zip(projet.raw_file("anct_qpv2015"), None, drop_prj=True)
    _refused(projet, QPV15, ".prj")


@pytest.mark.corpus("geometrie", "refuse")
def test_qpv2015_null_geometry_of_a_quartier_of_the_departement(projet):
    def edit(gdf):
        gdf.loc[gdf["CODE_QP"] == "QP000001", "geometry"] = None
        return gdf
    h.edit_shapefile_zip(projet.raw_file("anct_qpv2015"), edit)
    _refused(projet, QPV15, "SIG", "QP000001")


@pytest.mark.corpus("geometrie", "repair-and-note")
def test_qpv2015_self_intersection_repaired_with_a_note(projet, capsys):
    def edit(gdf):
        i = gdf.index[gdf["CODE_QP"] == "QP000002"][0]
        x0, y0, x1, y1 = gdf.geometry[i].bounds
        gdf.loc[i, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
        return gdf
    h.edit_shapefile_zip(projet.raw_file("anct_qpv2015"), edit)
    layers = _layers(projet)
    q = layers["qpv_2015"].set_index("code_qp")
    assert "QP000002" in q.index and q.loc["QP000002", "geometry"].is_valid
    assert layers["qpv_2015"].attrs["reparations"] == ["QP000002"]
    assert_noted(capsys.readouterr().err, "QP000002", QPV15)


# ------------------------------------------------------------------------------------- IGN outlines
@pytest.mark.corpus("geometrie", "refuse")
def test_commune_without_geometry(projet):
    p = projet.raw_file("ign_communes")
    p.write_bytes(h.edit_geojson(p.read_bytes(), lambda fc: h.feature(fc, "code_insee", "00002").update(geometry=None)))
    _refused(projet, "communes_00.geojson", "SIG", "00002")


@pytest.mark.corpus("geometrie", "refuse")
def test_communes_in_lambert93_without_crs_member(projet):
    """GeoJSON without ``crs`` is WGS84 by its standard: Lambert-93 numbers there are refused."""
    p = projet.raw_file("ign_communes")
    p.write_bytes(h.edit_geojson(p.read_bytes(), lambda fc: fc.pop("crs")))
    _refused(projet, "communes_00.geojson", "Lambert-93", "WGS 84")


@pytest.mark.corpus("geometrie", "refuse")
def test_departement_in_degrees_declared_lambert93(projet):
    to_deg = Transformer.from_crs(2154, 4326, always_xy=True)
    p = projet.raw_file("ign_departement")
    p.write_bytes(h.edit_geojson(p.read_bytes(), lambda fc: [f.update(geometry=h.scale_coordinates(
        f["geometry"], lambda x, y: to_deg.transform(x, y))) for f in fc["features"]]))
    _refused(projet, "departement_00.geojson", "EPSG:4326", "degrés")


@pytest.mark.corpus("geometrie", "repair-and-note")
def test_iris_self_intersection_repaired_with_a_note(projet, capsys):
    p = projet.raw_file("ign_iris")
    p.write_bytes(h.edit_geojson(p.read_bytes(), lambda fc: h.feature(fc, "code_iris", "000010101").update(
        geometry=h.bowtie(h.feature(fc, "code_iris", "000010101")["geometry"]))))
    iris = _layers(projet)["iris"].set_index("code_iris")
    assert iris.loc["000010101", "geometry"].is_valid
    assert_noted(capsys.readouterr().err, "000010101", "contours_iris_00.geojson")


@pytest.mark.corpus("geometrie", "refuse")
def test_iris_twice_with_different_outlines(projet):
    def edit(fc):
        twin = json.loads(json.dumps(h.feature(fc, "code_iris", "000010101")))
        twin["geometry"] = h.feature(fc, "code_iris", "000010102")["geometry"]
        fc["features"].append(twin)
    p = projet.raw_file("ign_iris")
    p.write_bytes(h.edit_geojson(p.read_bytes(), edit))
    _refused(projet, "contours_iris_00.geojson", "un seul objet par code", "000010101")


@pytest.mark.corpus("geometrie", "stop")
def test_iris_geojson_cut_by_an_interrupted_download(projet):
    h.truncate(projet.raw_file("ign_iris"), 0.5)
    _refused(projet, "contours_iris_00.geojson", "fetch --force")
