"""Population rasters for dasymetric weighting: build one from a 200 m grid, sum it over polygons.

``grid_to_raster`` turns a vector grid of squares carrying counts (INSEE Filosofi 200 m « données
carroyées », or the simulated demo grid) into a GeoTIFF in Lambert-93 whose cell value is the count
of the cell. ``zonal_sums`` sums any GeoTIFF (the built one, or a user-supplied population or
built-up raster in any CRS) over many polygons quickly.

Zonal sums: method and accuracy
-------------------------------
A piece IRIS ∩ quartier is often smaller than a 200 m cell or cuts cells in two, so assigning whole
cells by their centre is not accurate enough. ``zonal_sums``:

1. reprojects the polygons to the raster's CRS;
2. splits them into layers of polygons whose interiors do not overlap (IRIS of one vintage, or the
   pieces of disjoint quartiers, form a single layer) and into tiles of nearby polygons;
3. for each tile, reads only the raster window covering its polygons (windowed read), and
   rasterises the polygon ids **once** with :func:`rasterio.features.rasterize` on a grid
   ``supersample`` times finer than the raster (default: sub-cells of at most 50 m, i.e. 4 × 4
   sub-cells per 200 m cell), each sub-cell carrying ``value / supersample²`` (population assumed
   uniform inside a cell);
4. sums with :func:`numpy.bincount` (one pass for all polygons of the tile);
5. a polygon too small to contain any sub-cell centre gets ``value of the cell containing its
   representative point × area(polygon) / area(cell)`` (area fraction of the cell it lies in).

The boundary error is thus at most about half a sub-cell (25 m) along the outline, instead of half
a cell. ``all_touched`` is not used: it would count boundary sub-cells in both neighbours and break
the conservation Σ pieces = IRIS.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.features import rasterize
from rasterio.transform import from_origin
from rasterio.windows import Window

from ..errors import GeometryError, ObservatoireError, ValueCheckError
from ..validation import check_crs_domain

#: Target size (CRS units, metres in Lambert-93) of a sub-cell for ``zonal_sums``.
SUBCELL_M = 50.0
#: Side of a tile, in raster cells (a tile groups polygons whose centre falls in it).
TILE_CELLS = 256


def grid_to_raster(grid: gpd.GeoDataFrame, column: str, out: Path, res: float = 200.0,
                   subpoints: int = 4) -> Path:
    """Rasterise a vector grid of squares with counts into a GeoTIFF (EPSG:2154).

    Parameters
    ----------
    grid : GeoDataFrame
        Squares (any CRS; reprojected to EPSG:2154) with a count column.
    column : str
        Count to burn (e.g. ``ind``, number of individuals).
    out : Path
        GeoTIFF to write (float32, deflate); written to a temporary file then renamed.
    res : float
        Cell size in metres.
    subpoints : int
        Each square is split into ``subpoints × subpoints`` points carrying an equal share of its
        count, which are added into the cell containing them
        (:func:`rasterio.features.rasterize` with ``MergeAlg.add`` semantics, done with
        :func:`numpy.bincount`). The raster total equals the grid total exactly, even when the squares
        are not aligned with the Lambert-93 cells (the INSEE grid is built in ETRS89-LAEA); when they
        are aligned, each cell gets exactly its square's count.

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    if column not in grid.columns:
        raise ObservatoireError(f"La grille carroyée n'a pas de colonne {column!r}.",
                                correction="indiquez une colonne de comptage présente (ind, men…)")
    g = grid
    if len(g):
        check_crs_domain(g.total_bounds, g.crs, str(out), "Grille carroyée de population")
    if g.crs.to_epsg() != 2154:
        g = g.to_crs(2154)
    vals = g[column].astype(float).fillna(0.0).to_numpy()
    if (vals < 0).any():
        raise ValueCheckError(f"Grille carroyée : {int((vals < 0).sum())} carreau(x) avec un effectif {column!r} "
                              f"négatif (minimum {vals.min():.6g}) : une population ne peut pas être négative.",
                              fichier=str(out), correction="utilisez la grille officielle de l'Insee (Filosofi 200 m) "
                              "non modifiée")
    geoms = g.geometry.to_numpy()
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    x0 = math.floor(minx / res) * res
    y1 = math.ceil(maxy / res) * res
    width = max(1, int(math.ceil((maxx - x0) / res)))
    height = max(1, int(math.ceil((y1 - miny) / res)))
    acc = np.zeros(height * width)
    k = int(subpoints)
    # Sub-point barycentric offsets inside the unit square: (i + 0.5) / k.
    u = (np.arange(k) + 0.5) / k
    uu, vv = np.meshgrid(u, u)
    uu, vv = uu.ravel(), vv.ravel()
    chunk = 200_000
    for start in range(0, len(geoms), chunk):
        gs = geoms[start:start + chunk]
        b = shapely.bounds(gs)   # squares (or near-squares after reprojection): use their bbox
        v = vals[start:start + chunk] / (k * k)
        xs = b[:, 0:1] + (b[:, 2:3] - b[:, 0:1]) * uu[None, :]
        ys = b[:, 1:2] + (b[:, 3:4] - b[:, 1:2]) * vv[None, :]
        cols = np.clip(((xs - x0) // res).astype(np.int64), 0, width - 1)
        rows = np.clip(((y1 - ys) // res).astype(np.int64), 0, height - 1)
        acc += np.bincount((rows * width + cols).ravel(), weights=np.repeat(v, k * k),
                           minlength=height * width)
    data = acc.reshape(height, width).astype("float32")
    profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="float32",
                   crs="EPSG:2154", transform=from_origin(x0, y1, res, res), compress="deflate",
                   nodata=None)
    if width >= 256 and height >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".tif", dir=out.parent)
    os.close(fd)
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data, 1)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out


def _non_overlapping_layers(geoms: np.ndarray) -> list[np.ndarray]:
    """Split polygons into layers whose interiors do not overlap (greedy colouring)."""
    n = len(geoms)
    if n == 0:
        return []
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    sel = a < b
    a, b = a[sel], b[sel]
    if len(a):
        touch = shapely.touches(geoms[a], geoms[b])
        a, b = a[~touch], b[~touch]
    if len(a) == 0:
        return [np.arange(n)]
    neigh: dict[int, list[int]] = {}
    for i, j in zip(a.tolist(), b.tolist()):
        neigh.setdefault(i, []).append(j)
        neigh.setdefault(j, []).append(i)
    colour = np.zeros(n, dtype=np.int64)
    for i in sorted(neigh):
        used = {colour[j] for j in neigh[i] if j < i}
        c = 0
        while c in used:
            c += 1
        colour[i] = c
    return [np.flatnonzero(colour == c) for c in range(colour.max() + 1)]


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts (intersections may return lines or points in collections)."""
    geoms = np.asarray(geoms, dtype=object).copy()
    tid = shapely.get_type_id(geoms)
    bad = ~np.isin(tid, (3, 6)) & ~shapely.is_missing(geoms)
    for i in np.flatnonzero(bad):
        parts = shapely.get_parts(geoms[i])
        polys = [p for p in parts if shapely.get_type_id(p) in (3, 6)]
        geoms[i] = shapely.union_all(polys) if polys else shapely.Polygon()
    return geoms


def zonal_sums(geoms, raster_path: Path | str, supersample: int | None = None,
               band: int = 1) -> np.ndarray:
    """Sum a raster over each polygon (see the module docstring for the method).

    Parameters
    ----------
    geoms : GeoSeries, GeoDataFrame or array of shapely geometries
        Polygons. A GeoSeries/GeoDataFrame with a CRS is reprojected to the raster's CRS; a plain
        array is assumed to be in the raster's CRS.
    raster_path : Path
        GeoTIFF (population counts per cell, or a 0/1 built-up mask). Nodata and NaN count as 0.
    supersample : int, optional
        Sub-cells per cell side; default ``ceil(cell size / 50 m)`` for projected rasters, 4 for
        geographic ones.
    band : int
        Band to read.

    Returns
    -------
    ndarray of float64
        One sum per polygon, in input order (0 for empty geometries or outside the raster).

    Raises
    ------
    ObservatoireError : missing or unreadable file; :class:`GeometryError` for a raster without
        coordinate system (refused: its cells could be anywhere); :class:`ValueCheckError` for a
        negative cell under a polygon.
    """
    raster_path = Path(raster_path)
    if not raster_path.exists():
        raise ObservatoireError("Raster de population introuvable.", fichier=str(raster_path),
                                correction="vérifiez le chemin du GeoTIFF (ou retirez-le de la configuration)")
    try:
        src = rasterio.open(raster_path)
    except rasterio.errors.RasterioIOError as e:
        raise ObservatoireError(f"Le fichier n'est pas un raster lisible ({e}).", fichier=str(raster_path),
                                correction="fournissez un GeoTIFF de population (une bande)") from e
    with src:
        if src.crs is None:
            raise GeometryError(
                "Le raster de population n'indique pas son système de coordonnées (GeoTIFF without CRS) : "
                "impossible de savoir où tombent ses cellules.", fichier=str(raster_path),
                correction="réexportez le GeoTIFF avec son système de coordonnées (par exemple gdal_translate "
                           "-a_srs EPSG:2154 entree.tif sortie.tif si ses coordonnées sont en Lambert-93), ou "
                           "retirez [estimation] raster de observatoire.toml pour pondérer par la grille Filosofi")
        if isinstance(geoms, gpd.GeoDataFrame):
            geoms = geoms.geometry
        if isinstance(geoms, gpd.GeoSeries):
            if geoms.crs is not None and src.crs is not None and geoms.crs != src.crs:
                geoms = geoms.to_crs(src.crs)
            arr = geoms.to_numpy()
        else:
            arr = np.asarray(geoms, dtype=object)
        arr = _polygonal(arr)
        n = len(arr)
        out = np.zeros(n)
        if n == 0:
            return out
        t = src.transform
        resx, resy = abs(t.a), abs(t.e)
        if supersample is None:
            projected = src.crs is None or src.crs.is_projected
            supersample = max(1, math.ceil(resx / SUBCELL_M)) if projected else 4
        f = int(supersample)
        nodata = src.nodata
        cell_area = resx * resy
        empty = shapely.is_empty(arr) | shapely.is_missing(arr)
        bounds = shapely.bounds(arr)
        cx = (bounds[:, 0] + bounds[:, 2]) / 2
        cy = (bounds[:, 1] + bounds[:, 3]) / 2
        tile = TILE_CELLS * resx
        tkey = np.where(empty, -1, (np.floor(cx / tile) * 100_000 + np.floor(cy / tile)))
        full = Window(0, 0, src.width, src.height)
        for layer in _non_overlapping_layers(np.where(empty, None, arr)):
            layer = layer[~empty[layer]]
            if len(layer) == 0:
                continue
            keys = tkey[layer]
            order = np.argsort(keys, kind="stable")
            layer, keys = layer[order], keys[order]
            splits = np.flatnonzero(np.diff(keys)) + 1
            for idx in np.split(layer, splits):
                _tile_sums(src, band, arr, idx, bounds, f, nodata, full, cell_area, out, raster_path)
        return out


def check_raster(raster_path: Path | str, bounds_l93, band: int = 1) -> None:
    """A user population raster checked once before use: a coordinate system, coordinates inside its
    domain, an extent that meets the territory (``bounds_l93``, Lambert-93), no negative cell over
    the territory, and some population there.

    Raises
    ------
    ObservatoireError : unreadable file; :class:`GeometryError` (no CRS, outside its domain, not over the
        territory); :class:`ValueCheckError` (negative cells, nothing over the territory).
    """
    from pyproj import Transformer

    raster_path = Path(raster_path)
    zonal_sums(np.array([], dtype=object), raster_path)  # existence, readability, CRS
    with rasterio.open(raster_path) as src:
        b = src.bounds
        check_crs_domain((b.left, b.bottom, b.right, b.top), src.crs, str(raster_path), "Raster de population")
        t = Transformer.from_crs(2154, src.crs, always_xy=True)
        x0, y0, x1, y1 = t.transform_bounds(*bounds_l93)
        win = rasterio.windows.from_bounds(x0, y0, x1, y1, src.transform)
        try:
            win = win.intersection(Window(0, 0, src.width, src.height))
        except rasterio.errors.WindowError:
            win = None
        if win is None or win.width < 1 or win.height < 1:
            raise GeometryError("Le raster de population ne recouvre pas le territoire étudié (raster outside the "
                                f"territory) : son étendue va de x {b.left:.6g} à {b.right:.6g}, y {b.bottom:.6g} à "
                                f"{b.top:.6g} dans {src.crs}.", fichier=str(raster_path),
                                correction="fournissez un raster qui couvre le territoire, ou vérifiez son système de "
                                           "coordonnées")
        data = src.read(band, window=win.round_offsets().round_lengths()).astype(np.float64)
        if src.nodata is not None and not np.isnan(src.nodata):
            data[data == src.nodata] = np.nan
        if np.nanmin(data, initial=0.0) < 0:
            raise ValueCheckError(f"Raster de population : {int(np.sum(data < 0))} cellule(s) négative(s) sur le "
                                  f"territoire (minimum {np.nanmin(data):.6g}) : une population ne peut pas être négative.",
                                  fichier=str(raster_path),
                                  correction="déclarez la valeur « sans donnée » du GeoTIFF (nodata) ou corrigez le raster")
        if not np.nansum(data) > 0:
            raise ValueCheckError("Raster de population : aucune population sur le territoire (toutes les cellules à 0 "
                                  "ou sans donnée).", fichier=str(raster_path),
                                  correction="vérifiez la bande et l'étendue du raster, ou retirez [estimation] raster")


def _apply(t, x, y):
    """Apply an affine transform to coordinates (scalars or arrays)."""
    return t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f


def _tile_sums(src, band, arr, idx, bounds, f, nodata, full, cell_area, out, raster_path=None) -> None:
    """Zonal sums of the polygons ``arr[idx]`` (non-overlapping) into ``out[idx]``."""
    b = bounds[idx]
    minx, miny = b[:, 0].min(), b[:, 1].min()
    maxx, maxy = b[:, 2].max(), b[:, 3].max()
    inv = ~src.transform
    c0, r0 = _apply(inv, minx, maxy)
    c1, r1 = _apply(inv, maxx, miny)
    col_off, row_off = int(math.floor(min(c0, c1))), int(math.floor(min(r0, r1)))
    col_end, row_end = int(math.ceil(max(c0, c1))), int(math.ceil(max(r0, r1)))
    win = Window(col_off, row_off, col_end - col_off, row_end - row_off)
    try:
        win = win.intersection(full)
    except rasterio.errors.WindowError:
        return   # entirely outside the raster: sums stay 0
    win = Window(int(win.col_off), int(win.row_off), int(win.width), int(win.height))
    if win.width <= 0 or win.height <= 0:
        return
    data = src.read(band, window=win).astype(np.float64)
    if nodata is not None and not np.isnan(nodata):
        data[data == nodata] = 0.0
    data[~np.isfinite(data)] = 0.0
    if (data < 0).any():
        raise ValueCheckError(f"Raster de pondération : {int((data < 0).sum())} cellule(s) négative(s) (minimum "
                              f"{data.min():.6g}) : une population ne peut pas être négative.", fichier=str(raster_path or ""),
                              correction="déclarez la valeur « sans donnée » du GeoTIFF (nodata) ou corrigez le raster")
    wt = src.window_transform(win)
    fine_t = wt @ rasterio.Affine.scale(1.0 / f)
    shape = (win.height * f, win.width * f)
    ids = rasterize(((arr[i], k + 1) for k, i in enumerate(idx)), out_shape=shape, transform=fine_t,
                    fill=0, dtype="int32", all_touched=False)
    fine = np.repeat(np.repeat(data, f, axis=0), f, axis=1) / (f * f) if f > 1 else data
    m = len(idx) + 1
    flat = ids.ravel()
    sums = np.bincount(flat, weights=fine.ravel(), minlength=m)[1:]
    hits = np.bincount(flat, minlength=m)[1:]
    out[idx] = sums
    small = np.flatnonzero(hits == 0)
    if len(small):
        geoms = arr[idx[small]]
        pts = shapely.point_on_surface(geoms)
        xy = shapely.get_coordinates(pts)
        cols, rows = _apply(~wt, xy[:, 0], xy[:, 1])
        cols = np.floor(cols).astype(int)
        rows = np.floor(rows).astype(int)
        ok = (rows >= 0) & (rows < data.shape[0]) & (cols >= 0) & (cols < data.shape[1])
        val = np.zeros(len(small))
        val[ok] = data[rows[ok], cols[ok]]
        out[idx[small]] = val * shapely.area(geoms) / cell_area
