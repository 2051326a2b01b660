"""Zonal sums and grid rasterisation on hand-computable rasters."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from observatoire.errors import ObservatoireError
from observatoire.spatial.raster import grid_to_raster, zonal_sums

X0, Y0 = 700_000.0, 7_000_000.0   # Lambert-93 origin of the toy territory (multiple of 200 m)


def write_raster(path, data, crs="EPSG:2154", res=200.0, x0=X0, y1=Y0 + 400, nodata=None):
    data = np.asarray(data, dtype="float32")
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype="float32", crs=crs, transform=from_origin(x0, y1, res, res), nodata=nodata) as dst:
        dst.write(data, 1)
    return path


@pytest.fixture
def corner_raster(tmp_path):
    # 4 × 2 cells of 200 m over x ∈ [X0, X0+800], y ∈ [Y0, Y0+400] (row 0 is the top row).
    # 400 people in the top-right cell of IRIS A (x 200–400, y 200–400), 200 people in the
    # bottom-right cell of IRIS B (x 600–800, y 0–200), nobody elsewhere.
    return write_raster(tmp_path / "pop.tif", [[0, 400, 0, 0], [0, 0, 0, 200]])


def b(x1, y1, x2, y2):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def test_zonal_sums_whole_cells_and_subcells(corner_raster):
    geoms = gpd.GeoSeries([
        b(0, 0, 400, 400),      # IRIS A: 400
        b(400, 0, 800, 400),    # IRIS B: 200
        b(200, 0, 600, 400),    # quartier: A's right half (400) + B's left half (0) = 400
        b(300, 300, 400, 400),  # a quarter of the populated cell: 400 / 4 = 100 (4 × 4 sub-cells of 50 m)
        b(250, 250, 300, 300),  # one 50 m sub-cell: 400 / 16 = 25
        b(280, 280, 295, 295),  # no sub-cell centre inside: area fraction 400 × 225 / 40 000 = 2.25
        b(5000, 5000, 5100, 5100),  # outside the raster: 0
    ], crs=2154)
    got = zonal_sums(geoms, corner_raster)
    np.testing.assert_allclose(got, [400, 200, 400, 100, 25, 2.25, 0], rtol=0, atol=1e-9)


def test_zonal_sums_overlapping_polygons_are_each_complete(corner_raster):
    # Overlapping inputs (IRIS A and the quartier) must not steal pixels from each other.
    got = zonal_sums(gpd.GeoSeries([b(0, 0, 400, 400), b(200, 0, 600, 400), b(0, 0, 800, 400)], crs=2154),
                     corner_raster)
    np.testing.assert_allclose(got, [400, 400, 600])


def test_zonal_sums_reprojects_polygons(corner_raster):
    geoms = gpd.GeoSeries([b(0, 0, 400, 400), b(300, 300, 400, 400)], crs=2154).to_crs(4326)
    np.testing.assert_allclose(zonal_sums(geoms, corner_raster), [400, 100], atol=1e-6)


def test_zonal_sums_user_raster_in_other_crs(tmp_path):
    # A UTM 31N raster (EPSG:32631) with 100 people in each of 2 × 2 cells of 100 m; polygons given
    # in Lambert-93 are reprojected to it. The whole raster extent (as a Lambert-93 polygon that is
    # slightly larger) collects 400; a 50 × 50 m square at the centre of one cell collects a quarter
    # of the cell = 25 (sub-cells of 50 m: 2 × 2 per cell, value 25 each; the square holds one centre).
    x0, y1 = 500_000.0, 5_600_200.0
    path = write_raster(tmp_path / "utm.tif", [[100, 100], [100, 100]], crs="EPSG:32631", res=100, x0=x0, y1=y1)
    utm = gpd.GeoSeries([box(x0 - 50, y1 - 250, x0 + 250, y1 + 50), box(x0 + 12.5, y1 - 87.5, x0 + 87.5, y1 - 12.5)],
                        crs=32631)
    got = zonal_sums(utm.to_crs(2154), path)
    assert got[0] == pytest.approx(400)
    # 75 × 75 m centred square contains exactly the 4 sub-cell centres of one cell → 100
    assert got[1] == pytest.approx(100)


def test_zonal_sums_nodata_counts_as_zero(tmp_path):
    path = write_raster(tmp_path / "nd.tif", [[-1, 10, 0, 0], [0, 0, 0, 0]], nodata=-1)
    assert zonal_sums(gpd.GeoSeries([b(0, 0, 800, 400)], crs=2154), path)[0] == pytest.approx(10)


def test_zonal_sums_missing_file(tmp_path):
    with pytest.raises(ObservatoireError, match="introuvable"):
        zonal_sums(gpd.GeoSeries([b(0, 0, 1, 1)]), tmp_path / "absent.tif")


def test_grid_to_raster_aligned_and_shifted(tmp_path):
    # Three aligned 200 m squares with 10, 20, 30 individuals → three cells with exactly these counts.
    grid = gpd.GeoDataFrame({"ind": [10.0, 20.0, 30.0]},
                            geometry=[b(0, 0, 200, 200), b(200, 0, 400, 200), b(0, 200, 200, 400)], crs=2154)
    out = grid_to_raster(grid, "ind", tmp_path / "g.tif")
    with rasterio.open(out) as r:
        a = r.read(1)
        assert r.crs.to_epsg() == 2154 and r.res == (200.0, 200.0)
        assert (r.transform.c, r.transform.f) == (X0, Y0 + 400)
    np.testing.assert_array_equal(a, [[30, 0], [10, 20]])
    # A square shifted by 100 m in x and y straddles 4 cells: 4 × 4 sub-points, 4 in each → 1/4 each.
    shifted = gpd.GeoDataFrame({"ind": [40.0]}, geometry=[b(100, 100, 300, 300)], crs=2154)
    with rasterio.open(grid_to_raster(shifted, "ind", tmp_path / "s.tif")) as r:
        a = r.read(1)
    np.testing.assert_allclose(a, [[10, 10], [10, 10]])
    assert a.sum() == pytest.approx(40)


def test_filosofi_grid_official_nested_layout_roundtrip(tmp_path):
    # zip → 7z → carreaux_200m_met.gpkg, as published by INSEE; read back, filter by bbox, rasterise.
    import zipfile

    from observatoire.demo.grid import write_grid_zip
    from observatoire.sources.filosofi_grid import read_grid

    grid = gpd.GeoDataFrame({"idcar_200m": ["CRS3035RES200mN1E1", "CRS3035RES200mN2E2", "CRS3035RES200mN3E3"],
                             "Ind": [10.0, 20.0, 30.0], "Men": [4.0, 9.0, 12.0], "I_est_200": [1, 1, 0]},
                            geometry=[b(0, 0, 200, 200), b(200, 0, 400, 200), b(5000, 5000, 5200, 5200)], crs=2154)
    z = write_grid_zip(grid, tmp_path / "Filosofi2019_carreaux_200m_gpkg.zip")
    with zipfile.ZipFile(z) as f:
        assert f.namelist() == ["Filosofi2019_carreaux_200m_gpkg.7z"]
    g = read_grid(z)
    # 2015/2017 capitalised names are normalised to the 2019 lower-case ones
    assert {"idcar_200m", "ind", "men", "i_est_200"} <= set(g.columns)
    assert g.crs.to_epsg() == 2154 and len(g) == 3 and g["ind"].sum() == 60
    near = read_grid(z, bbox=(X0, Y0, X0 + 500, Y0 + 300))
    assert sorted(near["ind"]) == [10.0, 20.0]
    with rasterio.open(grid_to_raster(near, "ind", tmp_path / "pop.tif")) as r:
        np.testing.assert_array_equal(r.read(1), [[10, 20]])


def test_filosofi_grid_missing_file_and_columns(tmp_path):
    from observatoire.errors import FormatError, SourceMissingError
    from observatoire.sources.filosofi_grid import read_grid

    with pytest.raises(SourceMissingError, match="introuvable"):
        read_grid(tmp_path / "absent.zip")
    bad = tmp_path / "carreaux_200m_met.gpkg"
    gpd.GeoDataFrame({"x": [1]}, geometry=[b(0, 0, 200, 200)], crs=2154).to_file(bad, driver="GPKG")
    with pytest.raises(FormatError, match="idcar_200m, ind"):
        read_grid(bad)


def test_demo_grid_matches_iris_populations():
    # Simulated grid (données simulées): each IRIS' population is spread exactly over the squares whose
    # centre lies in it; squares outside any IRIS are absent; some land is empty.
    from observatoire.demo.grid import simulate_grid

    iris = gpd.GeoDataFrame({"code_iris": ["000010101", "000010102"], "code_insee": ["00001", "00001"],
                             "population": [3000, 500]},
                            geometry=[b(0, 0, 3000, 3000), b(3000, 0, 6000, 3000)], crs=2154)
    communes = gpd.GeoDataFrame({"code_insee": ["00001"]}, geometry=[b(0, 0, 6000, 3000)], crs=2154)
    qpv = gpd.GeoDataFrame({"code_qp": ["QN00001M"]}, geometry=[b(800, 800, 1600, 1600)], crs=2154)
    g = simulate_grid(iris, communes, qpv, np.random.default_rng(1))
    assert g["ind"].sum() == 3500
    assert g["idcar_200m"].str.match(r"^CRS3035RES200mN\d+E\d+$").all()
    assert (g["ind_0_3"] + g["ind_80p"] <= g["ind"] + 1e-9).all()
    cells_total = (6000 / 200) * (3000 / 200)
    assert len(g) < cells_total   # fields and woods: not every square is inhabited


# ---------------------------------------------------------------------------------------------------
# Rasters as users really provide them
# ---------------------------------------------------------------------------------------------------
from observatoire.errors import GeometryError, ValueCheckError  # noqa: E402
from observatoire.spatial.raster import check_raster  # noqa: E402


def test_raster_without_crs_is_refused(tmp_path):
    p = write_raster(tmp_path / "pop.tif", [[0, 400, 0, 0], [0, 0, 0, 200]], crs=None)
    with pytest.raises(GeometryError) as e:
        zonal_sums(gpd.GeoSeries([b(0, 0, 400, 400)], crs=2154), p)
    assert "-a_srs EPSG:2154" in str(e.value) and str(p) in str(e.value)


def test_negative_cell_under_a_polygon_is_refused(tmp_path):
    p = write_raster(tmp_path / "pop.tif", [[0, -400, 0, 0], [0, 0, 0, 200]])
    with pytest.raises(ValueCheckError, match="négative"):
        zonal_sums(gpd.GeoSeries([b(0, 0, 400, 400)], crs=2154), p)
    # a polygon reading only non-negative cells is summed as before: 200 in the bottom-right cell
    assert zonal_sums(gpd.GeoSeries([b(600, 0, 800, 200)], crs=2154), p).tolist() == pytest.approx([200.0])


def test_check_raster_over_the_territory(corner_raster, tmp_path):
    check_raster(corner_raster, (X0, Y0, X0 + 800, Y0 + 400))     # 600 people over the territory: accepted
    with pytest.raises(GeometryError, match="ne recouvre pas"):
        check_raster(corner_raster, (X0 + 50_000, Y0, X0 + 51_000, Y0 + 400))
    empty = write_raster(tmp_path / "vide.tif", [[0, 0], [0, 0]])
    with pytest.raises(ValueCheckError, match="aucune population"):
        check_raster(empty, (X0, Y0, X0 + 400, Y0 + 400))


def test_grid_without_crs_is_refused(tmp_path):
    grid = gpd.GeoDataFrame({"ind": [10.0]}, geometry=[b(0, 0, 200, 200)])
    with pytest.raises(GeometryError, match="système de coordonnées"):
        grid_to_raster(grid, "ind", tmp_path / "g.tif")
    assert not (tmp_path / "g.tif").exists()
