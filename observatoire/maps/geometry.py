"""Display geometries of the maps: simplified, rounded and serialised **once per run**.

A map page carries its geometries as GeoJSON text. Simplifying (with shared borders kept shared),
reprojecting, rounding and serialising are done once per geometry set and tolerance
(:class:`GeoSet`); every page then assembles its FeatureCollection by joining the ready-made feature
texts it needs (all of them for a territory map, those near the quartier for a quartier map). A run
of 100 maps thus simplifies the IRIS twice (territory and quartier tolerance), not 100 times.

Coordinates are WGS84 rounded to 5 decimals (about one metre). Feature properties: ``c`` code,
``n`` name, and for labelled sets ``lp`` (label point, ``[lat, lon]``) and ``w`` (label priority:
population, else area).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from .assets import json_for_script

WGS84 = "EPSG:4326"
LAMBERT93 = "EPSG:2154"
DECIMALES_COORD = 5
SNAP_GRID_M = 0.5                  # display geometries: vertices snapped to a half-metre grid
SLIVER_WIDTH_M = 1.0               # gaps narrower than this between coverage polygons are closed


def valid_array(geoms: gpd.GeoSeries) -> np.ndarray:
    """Valid Lambert-93 geometries as an array (the input of :func:`coverage_ready`)."""
    g = geoms.to_crs(LAMBERT93) if geoms.crs is not None and geoms.crs != LAMBERT93 else geoms
    return np.asarray(g.make_valid().values if hasattr(g, "make_valid") else g.values)


def coverage_ready(arr: np.ndarray, sliver_m: float = SLIVER_WIDTH_M) -> tuple[np.ndarray, bool]:
    """Polygons tiling a territory made an exact coverage, once whatever the tolerances to come.

    Returns the polygons noded by :func:`node_coverage` (always: GEOS' coverage validation, even
    with ``gap_width``, does not see a sliver between two borders that should coincide) and whether
    the result is a valid coverage (else each polygon will be simplified on its own). Noding is the
    costly part of display geometries (seconds for a département's IRIS): it does not depend on the
    tolerance, so it is done once.
    """
    arr = np.asarray(arr)
    if len(arr) <= 1:
        return arr, False
    noded = node_coverage(arr, sliver_m=sliver_m)
    return noded, bool(shapely.coverage_is_valid(noded))


def simplify_display(geoms: gpd.GeoSeries, tolerance_m: float, coverage: bool = False,
                     ready: tuple[np.ndarray, bool] | None = None) -> gpd.GeoSeries:
    """Simplified geometries for display (Lambert-93 in, same CRS out).

    With ``coverage=True`` (IRIS, communes: polygons tiling the territory) the polygons are first
    made an exact coverage (:func:`coverage_ready`, or its result ``ready`` computed earlier), then
    shapely's ``coverage_simplify`` simplifies each shared border once, so neighbours keep an
    identical border (no gap, no overlap); if that fails, each polygon is simplified on its own with
    topology preserved.
    """
    g = geoms.to_crs(LAMBERT93) if geoms.crs is not None and geoms.crs != LAMBERT93 else geoms
    if len(g) == 0:
        return g
    arr = valid_array(g) if ready is None else ready[0]
    out = None
    if coverage and len(arr) > 1:
        arr, valid = ready if ready is not None else coverage_ready(arr)
        if valid:
            out = shapely.coverage_simplify(arr, tolerance_m, simplify_boundary=True)
    if out is None:
        out = shapely.simplify(arr, tolerance_m, preserve_topology=True)
    return gpd.GeoSeries(out, index=g.index, crs=g.crs)


def node_coverage(geoms, grid_m: float = SNAP_GRID_M, sliver_m: float = SLIVER_WIDTH_M) -> np.ndarray:
    """Make nearly-matching polygons an exact coverage: shared borders get identical vertices.

    The borders of all polygons are snapped to a ``grid_m`` metre grid, noded together and
    polygonized into faces; each face goes back to the polygon that contains it (the first one
    where two overlap). A gap narrower than ``sliver_m`` on average (a sliver between two borders
    that should coincide) goes to the neighbour sharing the longest border with it; wider gaps stay
    gaps. Real IRIS or commune files often have borders that match only up to such noise, which
    coverage simplification would otherwise refuse or simplify twice.
    """
    a = shapely.set_precision(np.asarray(geoms), grid_m)
    lines = shapely.union_all(shapely.boundary(a))
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    if len(faces) == 0:
        return a
    tree = shapely.STRtree(a)
    face_idx, geom_idx = tree.query(shapely.point_on_surface(faces), predicate="within")
    owner = np.full(len(faces), -1)
    for f, i in zip(face_idx, geom_idx):
        if owner[f] < 0:
            owner[f] = i
    boundaries = shapely.boundary(a)
    for f in np.flatnonzero(owner < 0):
        face = faces[f]
        if 2 * face.area / max(face.length, 1e-9) >= sliver_m:
            continue
        near = tree.query(face, predicate="intersects")
        if len(near):
            shared = shapely.length(shapely.intersection(boundaries[near], face.boundary))
            owner[f] = near[int(np.argmax(shared))]
    # one grouping pass instead of a mask per polygon (thousands of IRIS)
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(len(a) + 1))
    out = []
    for i in range(len(a)):
        n = bounds[i + 1] - bounds[i]
        out.append(a[i] if n == 0 else faces[order[bounds[i]]] if n == 1
                   else shapely.union_all(faces[order[bounds[i]:bounds[i + 1]]]))
    return np.asarray(out, dtype=object)


def _round(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.round(c, DECIMALES_COORD))


@dataclass
class GeoSet:
    """One geometry set (IRIS, quartiers 2024…) simplified at one tolerance, serialised once.

    Attributes
    ----------
    name : set name used by the pages (``iris``, ``qpv2024``, ``qpv2015``, ``communes``, ``zones``).
    codes : feature codes, in the order of the source layer (every layer row is kept: a geometry
        emptied by simplification falls back to the unsimplified one).
    texts : GeoJSON text of each feature, already escaped for an inline script.
    geoms : full-precision Lambert-93 geometries (for clipping a quartier's surroundings).
    """

    name: str
    codes: list[str]
    texts: list[str]
    geoms: np.ndarray
    bounds_wgs84: list[list[float]] | None = None
    _tree: shapely.STRtree | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.codes)

    def near(self, geom) -> list[int]:
        """Indices (layer order) of the features intersecting ``geom`` (Lambert-93)."""
        if not len(self.codes):
            return []
        if self._tree is None:
            self._tree = shapely.STRtree(self.geoms)
        return sorted(int(i) for i in self._tree.query(geom, predicate="intersects"))

    def collection_text(self, idx: list[int] | None = None) -> str:
        """FeatureCollection text of every feature, or of the features ``idx``."""
        texts = self.texts if idx is None else [self.texts[i] for i in idx]
        return '{"type":"FeatureCollection","features":[' + ",".join(texts) + "]}"

    def subset(self, idx: list[int], name: str | None = None) -> GeoSet:
        """A new set holding the features ``idx`` (same texts, no re-serialisation)."""
        return GeoSet(name or self.name, [self.codes[i] for i in idx], [self.texts[i] for i in idx],
                      self.geoms[idx] if len(idx) else self.geoms[:0])


def geo_set(name: str, gdf: gpd.GeoDataFrame | None, code_col: str, name_col: str | None, tolerance_m: float,
            coverage: bool = False, label_points: bool = False, weight_col: str | None = None,
            ready: tuple[np.ndarray, bool] | None = None) -> GeoSet:
    """Simplify, reproject, round and serialise ``gdf`` once (see :class:`GeoSet`).

    ``ready``: :func:`coverage_ready` of the set's polygons, when already computed (it is shared by
    the tolerances of a run).
    """
    if gdf is None or len(gdf) == 0:
        return GeoSet(name, [], [], np.asarray([], dtype=object))
    l93 = gdf.to_crs(LAMBERT93) if gdf.crs is not None and gdf.crs != LAMBERT93 else gdf
    full = np.asarray(l93.geometry.values)
    simp = np.asarray(simplify_display(l93.geometry, tolerance_m, coverage, ready).values)
    empty = shapely.is_empty(simp) | shapely.is_missing(simp)
    simp = np.where(empty, full, simp)
    wgs = _round(np.asarray(gpd.GeoSeries(simp, crs=LAMBERT93).to_crs(WGS84).values))
    geo_texts = shapely.to_geojson(wgs)
    codes = l93[code_col].astype(str).tolist()
    names = l93[name_col].astype(str).tolist() if name_col else codes
    lps = weights = None
    if label_points:
        lps = _round(np.asarray(gpd.GeoSeries(shapely.point_on_surface(full), crs=LAMBERT93).to_crs(WGS84).values))
        if weight_col and weight_col in l93:
            weights = np.nan_to_num(l93[weight_col].to_numpy(dtype=float, na_value=np.nan), nan=0.0)
        else:
            weights = shapely.area(full) / 10_000  # hectares
    texts = []
    for i, (code, nom) in enumerate(zip(codes, names)):
        props = {"c": code, "n": nom}
        if lps is not None:
            props["lp"] = [float(shapely.get_y(lps[i])), float(shapely.get_x(lps[i]))]
            props["w"] = round(float(weights[i]), 1)
        texts.append('{"type":"Feature","properties":'
                     + json_for_script(json.dumps(props, ensure_ascii=False, separators=(",", ":")))
                     + ',"geometry":' + (geo_texts[i] if geo_texts[i] is not None else "null") + "}")
    return GeoSet(name, codes, texts, full)


def feature_collection(gdf: gpd.GeoDataFrame, code_col: str, name_col: str | None, tolerance_m: float,
                       coverage: bool = False, label_points: bool = False) -> dict:
    """A compact WGS84 GeoJSON FeatureCollection (properties ``c`` code, ``n`` name, ``lp`` label point).

    Geometries are simplified (:func:`simplify_display`) then rounded to 5 decimals.
    """
    s = geo_set("x", gdf, code_col, name_col, tolerance_m, coverage, label_points)
    return json.loads(s.collection_text())


def bounds_latlon(gdf: gpd.GeoDataFrame, pad: float = 0.0) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of ``gdf`` (WGS84, 5 decimals), widened by ``pad`` of its size."""
    w, s, e, n = gdf.to_crs(WGS84).total_bounds
    dx, dy = (e - w) * pad, (n - s) * pad
    return [[round(float(s - dy), 5), round(float(w - dx), 5)], [round(float(n + dy), 5), round(float(e + dx), 5)]]
