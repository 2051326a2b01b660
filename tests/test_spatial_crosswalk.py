"""Crosswalks on hand-computable geometries: areas, shares, slivers, dasymetric weights."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import from_origin
from shapely.geometry import box

from observatoire.spatial.crosswalk import build_crosswalk, iris_zone_crosswalk
from observatoire.spatial.estimate import dasymetric_weights, estimate_counts

X0, Y0 = 700_000.0, 7_000_000.0


def b(x1, y1, x2, y2):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def two_iris():
    # IRIS A = [0, 400] × [0, 400] (16 ha), IRIS B = [400, 800] × [0, 400] (16 ha)
    return gpd.GeoDataFrame({"code_iris": ["A", "B"]}, geometry=[b(0, 0, 400, 400), b(400, 0, 800, 400)],
                            crs=2154)


def quartier():
    # Q = [200, 700] × [0, 400]: half of A (200 × 400 = 80,000 m²) and 3/4 of B (300 × 400 = 120,000 m²)
    return gpd.GeoDataFrame({"code_qp": ["Q"]}, geometry=[b(200, 0, 700, 400)], crs=2154)


@pytest.fixture
def corner_raster(tmp_path):
    # 200 m cells; A's 400 people sit in its top-right cell (x 200–400, y 200–400: inside Q);
    # B's 200 people sit in its bottom-right cell (x 600–800, y 0–200: half inside Q, since Q stops
    # at x = 700).
    data = np.array([[0, 400, 0, 0], [0, 0, 0, 200]], dtype="float32")
    path = tmp_path / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=2, count=1, dtype="float32",
                       crs="EPSG:2154", transform=from_origin(X0, Y0 + 400, 200, 200)) as dst:
        dst.write(data, 1)
    return path


def test_build_crosswalk_areas_and_shares():
    cw = build_crosswalk(two_iris(), quartier(), "code_iris", "code_qp")
    assert list(cw.columns) == ["code_iris", "code_qp", "surface_inter_m2", "part_source", "part_cible"]
    assert cw["code_iris"].tolist() == ["A", "B"]
    np.testing.assert_allclose(cw["surface_inter_m2"], [80_000, 120_000])
    np.testing.assert_allclose(cw["part_source"], [0.5, 0.75])          # / 160,000
    np.testing.assert_allclose(cw["part_cible"], [0.4, 0.6])            # / 200,000


def test_build_crosswalk_same_id_column_and_reprojection():
    old = gpd.GeoDataFrame({"code_qp": ["QP1"]}, geometry=[b(0, 0, 400, 400)], crs=2154).to_crs(4326)
    new = gpd.GeoDataFrame({"code_qp": ["QN1"]}, geometry=[b(200, 0, 600, 400)], crs=2154)
    cw = build_crosswalk(old, new, "code_qp", "code_qp")
    assert list(cw.columns[:2]) == ["code_qp_source", "code_qp_cible"]
    # half of the old quartier lies in the new one (reprojection round trip: tolerance 1e-6)
    assert cw["part_source"].iloc[0] == pytest.approx(0.5, abs=1e-6)


def test_slivers_dropped():
    iris = two_iris()
    # Q2 overlaps B by a 0.1 m strip (40 m²: 0.025 % of B, 0.05 % of Q2) → dropped (< 0.1 % of both);
    # Q3 overlaps B by a 0.001 m strip (0.4 m² < 1 m²) → dropped; Q4 overlaps A by 2 m (800 m² =
    # 0.5 % of A) → kept.
    zones = gpd.GeoDataFrame({"code": ["Q2", "Q3", "Q4"]},
                             geometry=[b(799.9, 0, 1000, 400), b(799.999, 0, 1000, 400), b(-100, 0, 2, 400)],
                             crs=2154)
    cw = build_crosswalk(iris, zones, "code_iris", "code")
    assert cw[["code_iris", "code"]].values.tolist() == [["A", "Q4"]]
    assert cw["surface_inter_m2"].iloc[0] == pytest.approx(800)
    # with no tolerance the slivers are there
    assert len(build_crosswalk(iris, zones, "code_iris", "code", min_area_m2=0, min_share=0)) == 3


def test_small_quartier_inside_large_iris_is_kept():
    big = gpd.GeoDataFrame({"code_iris": ["R"]}, geometry=[b(0, 0, 10_000, 10_000)], crs=2154)  # 100 km²
    small = gpd.GeoDataFrame({"code_qp": ["S"]}, geometry=[b(100, 100, 150, 150)], crs=2154)   # 2,500 m²
    cw = build_crosswalk(big, small, "code_iris", "code_qp")
    # 2,500 / 1e8 = 2.5e-5 of the IRIS but 100 % of the quartier
    assert cw["part_cible"].tolist() == [1.0]
    assert cw["part_source"].iloc[0] == pytest.approx(2.5e-5)


def test_iris_zone_crosswalk_surface_only():
    cw = iris_zone_crosswalk(two_iris(), quartier())
    assert list(cw.columns[:6]) == ["code_iris", "code_zone", "surface_inter_m2", "poids_surface",
                                    "poids_dasymetrique", "part_zone"]
    np.testing.assert_allclose(cw["poids_surface"], [0.5, 0.75])
    assert cw["poids_dasymetrique"].isna().all()
    np.testing.assert_allclose(cw["part_zone"], [0.4, 0.6])
    # no raster: population_iris is NaN, quality uses equal IRIS populations:
    # B (0.75 > 0.5) is majority → 0.75 / (0.5 + 0.75) = 0.6 → moyenne
    _, qual = estimate_counts(pd.DataFrame({"pop": [1.0, 1.0]}, index=["A", "B"]), cw)
    assert qual["Q"] == "moyenne"


def test_iris_zone_crosswalk_dasymetric_exact(corner_raster):
    cw = iris_zone_crosswalk(two_iris(), quartier(), raster=corner_raster)
    # A: all 400 people inside Q → 1.0 ; B: Q covers half of the populated cell (x 600–700) → 100/200
    np.testing.assert_allclose(cw["poids_dasymetrique"], [1.0, 0.5])
    np.testing.assert_allclose(cw["population_piece"], [400, 100])
    np.testing.assert_allclose(cw["population_iris"], [400, 200])
    assert not cw["repli_surface"].any()
    counts = pd.DataFrame({"pop": [1000.0, 500.0], "pauvres": [200.0, 50.0]}, index=["A", "B"])
    est_s, _ = estimate_counts(counts, cw, method="surface")
    est_d, qual = estimate_counts(counts, cw, method="dasymetrique")
    # surface: 0.5 × 1000 + 0.75 × 500 = 875 ; pauvres 0.5 × 200 + 0.75 × 50 = 137.5
    assert est_s.loc["Q"].tolist() == pytest.approx([875.0, 137.5])
    # dasymetric: 1 × 1000 + 0.5 × 500 = 1250 ; pauvres 200 + 25 = 225 → rate 18 %
    assert est_d.loc["Q"].tolist() == pytest.approx([1250.0, 225.0])
    # quality with raster populations: A (w 1, P 400) majority, B (w 0.5, not > 0.5):
    # 400 / (400 + 100) = 0.8 → bonne
    assert qual["Q"] == "bonne"
    assert est_d.attrs["methode"]["Q"] == "dasymetrique"
    # contract form: weights from pieces
    pieces = iris_zone_crosswalk(two_iris(), quartier(), return_pieces=True)
    assert isinstance(pieces, gpd.GeoDataFrame)
    np.testing.assert_allclose(dasymetric_weights(pieces, corner_raster, two_iris()), [1.0, 0.5])


def test_zero_population_iris_falls_back_to_surface(tmp_path):
    data = np.array([[0, 400, 0, 0], [0, 0, 0, 0]], dtype="float32")   # nobody in B
    path = tmp_path / "pop.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=2, count=1, dtype="float32",
                       crs="EPSG:2154", transform=from_origin(X0, Y0 + 400, 200, 200)) as dst:
        dst.write(data, 1)
    cw = iris_zone_crosswalk(two_iris(), quartier(), raster=path)
    np.testing.assert_allclose(cw["poids_dasymetrique"], [1.0, 0.75])
    assert cw["repli_surface"].tolist() == [False, True]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=2, max_size=4), st.lists(st.integers(1, 9), min_size=1, max_size=4),
       st.lists(st.floats(0, 1000), min_size=5, max_size=5))
def test_conservation_property(xcuts, zcuts, values):
    # IRIS: vertical strips of [0, 1000] × [0, 100] cut at random x; zones: vertical strips cutting
    # [0, 1000] at other random x. Zones cover the whole area → Σ_zones allocated = Σ IRIS counts.
    def strips(cuts, prefix):
        xs = sorted({0, 1000, *[c * 100 + 37 for c in cuts]})
        return gpd.GeoDataFrame({prefix: [f"{prefix}{i}" for i in range(len(xs) - 1)]},
                                geometry=[b(a, 0, c, 100) for a, c in zip(xs[:-1], xs[1:])], crs=2154)
    iris = strips(xcuts, "code_iris")
    zones = strips(zcuts, "code_zone")
    counts = pd.DataFrame({"n": values[:len(iris)]}, index=iris["code_iris"])
    cw = iris_zone_crosswalk(iris, zones)
    est, _ = estimate_counts(counts, cw, method="surface")
    assert est["n"].sum() == pytest.approx(counts["n"].sum(), rel=1e-9, abs=1e-6)
    # zones covering only the first half [0, 500]: allocated total = Σ count × (share of the IRIS in
    # [0, 500]), the IRIS total of the covered area under the uniform-density assumption
    half = gpd.GeoDataFrame({"code_zone": ["H"]}, geometry=[b(0, 0, 500, 100)], crs=2154)
    est_h, _ = estimate_counts(counts, iris_zone_crosswalk(iris, half), method="surface")
    expected = sum(v * max(0.0, min(g.bounds[2], X0 + 500) - g.bounds[0]) / (g.bounds[2] - g.bounds[0])
                   for v, g in zip(counts["n"], iris.geometry))
    assert est_h["n"].sum() == pytest.approx(expected, rel=1e-9, abs=1e-6)


def test_quartier_commune_parts():
    from observatoire.spatial.crosswalk import quartier_commune_parts

    # Q = [200, 700] × [0, 400] over communes C1 = [0, 400] and C2 = [400, 800]:
    # 80,000 m² (40 %) in C1 and 120,000 m² (60 %) in C2
    communes = gpd.GeoDataFrame({"code_insee": ["59001", "59002"]},
                                geometry=[b(0, 0, 400, 400), b(400, 0, 800, 400)], crs=2154)
    parts = quartier_commune_parts(quartier(), communes)
    assert parts["code_zone"].tolist() == ["Q_59001", "Q_59002"]
    np.testing.assert_allclose(parts["part_surface"], [0.4, 0.6])
    # the parts are zones like any other: IRIS A and B coincide with the communes here
    cw = iris_zone_crosswalk(two_iris(), parts)
    assert cw[["code_iris", "code_zone"]].values.tolist() == [["A", "Q_59001"], ["B", "Q_59002"]]
    np.testing.assert_allclose(cw["poids_surface"], [0.5, 0.75])


def test_crosswalk_layers(corner_raster):
    from observatoire.spatial.crosswalk import crosswalk_layers
    from observatoire.spatial.estimate import transpose

    q24 = quartier().assign(insee_com="59001, 59002")
    # 2015 quartier: [0, 400] × [0, 400] = IRIS A; half of it ([200, 400]) lies in Q
    q15 = gpd.GeoDataFrame({"code_qp": ["QP1"]}, geometry=[b(0, 0, 400, 400)], crs=2154)
    communes = gpd.GeoDataFrame({"code_insee": ["59001", "59002"]},
                                geometry=[b(0, 0, 400, 400), b(400, 0, 800, 400)], crs=2154)
    zones = gpd.GeoDataFrame({"code": ["V"]}, geometry=[b(400, 0, 800, 400)], crs=2154)
    layers = crosswalk_layers(two_iris(), q24, q15, communes, zones, raster=corner_raster)
    assert set(layers) == {"crosswalk_iris_qpv2024", "crosswalk_iris_qpv2015", "crosswalk_iris_zones",
                           "crosswalk_qpv2024_communes", "crosswalk_iris_parties_qpv2024", "crosswalk_qpv2015_qpv2024"}
    np.testing.assert_allclose(layers["crosswalk_iris_qpv2024"]["poids_dasymetrique"], [1.0, 0.5])
    assert sorted(layers["crosswalk_iris_parties_qpv2024"]["code_zone"]) == ["Q_59001", "Q_59002"]
    t = layers["crosswalk_qpv2015_qpv2024"]
    assert t[["code_qp2015", "code_qp2024"]].values.tolist() == [["QP1", "Q"]]
    # area share 0.5, but all of QP1's raster population (400, top-right cell) lies in Q → 1.0
    assert t["part_source"].iloc[0] == pytest.approx(0.5)
    assert t["poids_dasymetrique"].iloc[0] == pytest.approx(1.0)
    est, _ = transpose(pd.DataFrame({"pop": [800.0]}, index=["QP1"]), t)
    assert est.loc["Q", "pop"] == pytest.approx(800.0)   # population weight wins over area when present
