"""Crosswalks (tables de passage) between two geographies, computed once and stored in the GeoPackage.

``build_crosswalk`` intersects two polygon layers (IRIS × QPV 2024, IRIS × QPV 2015,
QPV 2015 × QPV 2024, QPV × commune) in Lambert-93 with shapely 2 vectorised operations: candidate
pairs come from an STRtree query (``intersects`` predicate), all intersections are computed in one
vectorised call.

Sliver tolerance
----------------
IRIS outlines (IGN) and quartier outlines (ANCT) are digitised independently: along a boundary they
share, the two lines differ by up to a few metres, leaving thin slivers. A piece is **kept** when

- its area is at least ``min_area_m2`` (default 1 m²), and
- it holds at least ``min_share`` (default 0.001 = 0.1 %) of the source **or** of the target.

So a small quartier lying inside a large rural IRIS is kept (it is 100 % of the target), while a
strip of a few metres along the shared edge of an IRIS of 100 ha and a quartier of 30 ha is kept
only above 1,000 m² / 300 m²… and, being tiny, it carries a negligible weight anyway. Dropped pieces
are simply absent: shares of the remaining pieces are not rescaled.

``iris_zone_crosswalk`` adds the weights of the estimators of :mod:`observatoire.spatial.estimate`.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .raster import _polygonal, zonal_sums

LAMBERT93 = 2154


def _to_l93(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if gdf.crs is not None and gdf.crs.to_epsg() != LAMBERT93:
        return gdf.to_crs(LAMBERT93)
    return gdf


def _valid(geoms: np.ndarray) -> np.ndarray:
    geoms = np.asarray(geoms, dtype=object)
    bad = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = _polygonal(shapely.make_valid(geoms[bad]))
    return geoms


def _pieces(src: np.ndarray, tgt: np.ndarray, min_area_m2: float, min_share: float):
    """Intersections of every intersecting (source, target) pair, slivers dropped.

    Returns source indices, target indices, piece geometries, piece areas, source areas, target areas.
    """
    src, tgt = _valid(src), _valid(tgt)
    a_src, a_tgt = shapely.area(src), shapely.area(tgt)
    tree = shapely.STRtree(src)
    t_idx, s_idx = tree.query(tgt, predicate="intersects")
    order = np.lexsort((t_idx, s_idx))
    s_idx, t_idx = s_idx[order], t_idx[order]
    # A target fully inside its source (or the reverse) needs no overlay.
    inter = np.empty(len(s_idx), dtype=object)
    s_cov = shapely.covers(src[s_idx], tgt[t_idx])
    inter[s_cov] = tgt[t_idx[s_cov]]
    t_cov = ~s_cov & shapely.covers(tgt[t_idx], src[s_idx])
    inter[t_cov] = src[s_idx[t_cov]]
    rest = ~(s_cov | t_cov)
    if rest.any():
        inter[rest] = shapely.intersection(src[s_idx[rest]], tgt[t_idx[rest]])
    area = shapely.area(inter)
    with np.errstate(invalid="ignore", divide="ignore"):
        ps = np.where(a_src[s_idx] > 0, area / a_src[s_idx], 0.0)
        pt = np.where(a_tgt[t_idx] > 0, area / a_tgt[t_idx], 0.0)
    keep = (area >= min_area_m2) & ((ps >= min_share) | (pt >= min_share))
    return (s_idx[keep], t_idx[keep], _polygonal(inter[keep]), area[keep], ps[keep], pt[keep])


def build_crosswalk(sources: gpd.GeoDataFrame, targets: gpd.GeoDataFrame, source_id: str,
                    target_id: str, min_area_m2: float = 1.0, min_share: float = 0.001,
                    return_pieces: bool = False) -> pd.DataFrame:
    """Crosswalk between two polygon layers.

    Parameters
    ----------
    sources, targets : GeoDataFrame
        Polygon layers in Lambert-93 (reprojected to EPSG:2154 if they carry another CRS).
    source_id, target_id : str
        Code columns. When both are the same name (``code_qp`` for QPV 2015 × QPV 2024), the output
        columns are ``<name>_source`` and ``<name>_cible``.
    min_area_m2, min_share : float
        Sliver tolerance (see the module docstring).
    return_pieces : bool
        Return a GeoDataFrame (the pieces' geometry, EPSG:2154) instead of a DataFrame.

    Returns
    -------
    DataFrame
        ``[source_id, target_id, surface_inter_m2, part_source, part_cible]``: intersection area,
        its share of the source's area and of the target's area; sorted by source then target.
    """
    sources, targets = _to_l93(sources), _to_l93(targets)
    s_col, t_col = source_id, target_id
    if s_col == t_col:
        s_col, t_col = f"{source_id}_source", f"{target_id}_cible"
    s_idx, t_idx, geoms, area, ps, pt = _pieces(sources.geometry.to_numpy(), targets.geometry.to_numpy(),
                                                min_area_m2, min_share)
    df = pd.DataFrame({
        s_col: sources[source_id].astype(str).to_numpy()[s_idx],
        t_col: targets[target_id].astype(str).to_numpy()[t_idx],
        "surface_inter_m2": area, "part_source": ps, "part_cible": pt,
    })
    if return_pieces:
        return gpd.GeoDataFrame(df, geometry=geoms, crs=LAMBERT93)
    return df


def _zone_col(zones: gpd.GeoDataFrame, zone_col: str | None) -> str:
    if zone_col:
        return zone_col
    for c in ("code_zone", "code", "code_qp"):
        if c in zones.columns:
            return c
    raise ValueError("la couche des zones n'a ni colonne code_zone, ni code, ni code_qp")


def iris_zone_crosswalk(iris: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, raster: Path | str | None = None,
                        return_pieces: bool = False, zone_col: str | None = None,
                        min_area_m2: float = 1.0, min_share: float = 0.001) -> pd.DataFrame:
    """IRIS × zone crosswalk with the weights of both estimators.

    Parameters
    ----------
    iris : GeoDataFrame
        ``code_iris`` + geometry (Lambert-93).
    zones : GeoDataFrame
        Zone code (``code_zone``, else ``code``, else ``code_qp``, or ``zone_col``) + geometry.
    raster : Path, optional
        Population (or built-up) GeoTIFF, any CRS. Without it ``poids_dasymetrique`` is NaN.
    return_pieces : bool
        Return a GeoDataFrame with the pieces' geometry (EPSG:2154).

    Returns
    -------
    DataFrame
        ``code_iris, code_zone, surface_inter_m2, poids_surface, poids_dasymetrique, part_zone``
        plus ``population_piece`` and ``population_iris`` (raster sums, NaN without raster) and
        ``repli_surface`` (True where the IRIS has no raster population, so that
        ``poids_dasymetrique`` was set to ``poids_surface``).

        - ``poids_surface`` = area(piece) / area(IRIS);
        - ``poids_dasymetrique`` = raster population in the piece / raster population of the IRIS
          (if the pieces of one IRIS sum to more than 1 through the small-piece approximation of
          :func:`observatoire.spatial.raster.zonal_sums`, they are scaled down to sum to 1);
        - ``part_zone`` = area(piece) / area(zone).
    """
    zcol = _zone_col(zones, zone_col)
    iris, zones = _to_l93(iris), _to_l93(zones)
    iris_geoms = iris.geometry.to_numpy()
    s_idx, t_idx, geoms, area, ps, pt = _pieces(iris_geoms, zones.geometry.to_numpy(), min_area_m2, min_share)
    df = pd.DataFrame({
        "code_iris": iris["code_iris"].astype(str).to_numpy()[s_idx],
        "code_zone": zones[zcol].astype(str).to_numpy()[t_idx],
        "surface_inter_m2": area,
        "poids_surface": ps,
        "poids_dasymetrique": np.nan,
        "part_zone": pt,
        "population_piece": np.nan,
        "population_iris": np.nan,
        "repli_surface": False,
    })
    if raster is not None and len(df):
        uniq, inv = np.unique(s_idx, return_inverse=True)
        pop_iris = zonal_sums(gpd.GeoSeries(_valid(iris_geoms[uniq]), crs=LAMBERT93), raster)[inv.ravel()]
        pop_piece = zonal_sums(gpd.GeoSeries(geoms, crs=LAMBERT93), raster)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(pop_iris > 0, pop_piece / pop_iris, np.nan)
        w = np.clip(w, 0.0, 1.0)
        tot = pd.Series(np.nan_to_num(w)).groupby(s_idx).transform("sum").to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(tot > 1.0, w / tot, w)
        repli = np.isnan(w)
        df["poids_dasymetrique"] = np.where(repli, ps, w)
        df["population_piece"] = pop_piece
        df["population_iris"] = pop_iris
        df["repli_surface"] = repli
    if return_pieces:
        return gpd.GeoDataFrame(df, geometry=geoms, crs=LAMBERT93)
    return df


def quartier_commune_parts(qpv: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, qp_col: str = "code_qp",
                           commune_col: str = "code_insee", min_area_m2: float = 1.0,
                           min_share: float = 0.001) -> gpd.GeoDataFrame:
    """Commune parts of the quartiers, as zones for :func:`iris_zone_crosswalk`.

    Returns a GeoDataFrame (EPSG:2154) with ``code_zone`` = ``<code_qp>_<insee_com>`` (the
    ``partie_qpv2024`` code of the contract), ``code_qp``, ``insee_com``, ``part_surface`` (share of
    the quartier's area in that commune) and the piece's geometry. Every quartier × commune piece is
    returned (slivers dropped as in :func:`build_crosswalk`); keep those of quartiers with several
    communes for the commune-part figures.
    """
    pieces = build_crosswalk(qpv, communes, qp_col, commune_col, min_area_m2, min_share, return_pieces=True)
    s_col, t_col = pieces.columns[0], pieces.columns[1]
    out = gpd.GeoDataFrame({
        "code_zone": pieces[s_col].astype(str) + "_" + pieces[t_col].astype(str),
        "code_qp": pieces[s_col].astype(str), "insee_com": pieces[t_col].astype(str),
        "part_surface": pieces["part_source"].to_numpy(),
    }, geometry=pieces.geometry.to_numpy(), crs=LAMBERT93)
    return out.reset_index(drop=True)


def _as_zones(gdf: gpd.GeoDataFrame, col: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code_zone": gdf[col].astype(str).to_numpy()}, geometry=gdf.geometry.to_numpy(),
                            crs=gdf.crs)


def crosswalk_layers(iris: gpd.GeoDataFrame, qpv2024: gpd.GeoDataFrame | None = None,
                     qpv2015: gpd.GeoDataFrame | None = None, communes: gpd.GeoDataFrame | None = None,
                     zones: gpd.GeoDataFrame | None = None, raster: Path | str | None = None,
                     min_area_m2: float = 1.0, min_share: float = 0.001) -> dict[str, pd.DataFrame]:
    """Every crosswalk of the observatory, keyed by GeoPackage layer name (tables without geometry).

    Parameters
    ----------
    iris : GeoDataFrame
        ``code_iris`` + geometry.
    qpv2024, qpv2015 : GeoDataFrame, optional
        ``code_qp`` + geometry (``qpv2024`` may carry the official ``insee_com`` string).
    communes : GeoDataFrame, optional
        ``code_insee`` + geometry.
    zones : GeoDataFrame, optional
        Custom zones (``code`` + geometry, from :func:`observatoire.spatial.zones.load_zones`).
    raster : Path, optional
        Population GeoTIFF for the dasymetric weights.

    Returns
    -------
    dict
        - ``crosswalk_iris_qpv2024``, ``crosswalk_iris_qpv2015``, ``crosswalk_iris_zones``,
          ``crosswalk_iris_parties_qpv2024``: :func:`iris_zone_crosswalk` tables (``code_zone`` =
          quartier code, zone code, or ``<code_qp>_<insee_com>`` for the commune parts of quartiers
          spanning several communes — only communes named in the official ``insee_com`` when that
          column is present, since generalised commune outlines create spurious 1–3 % overlaps);
        - ``crosswalk_qpv2015_qpv2024``: :func:`build_crosswalk` with columns ``code_qp2015,
          code_qp2024``, plus ``poids_dasymetrique`` (population share of the 2015 quartier, when a
          raster is given) for :func:`observatoire.spatial.estimate.transpose`;
        - ``crosswalk_qpv2024_communes``: :func:`build_crosswalk` (``code_qp, code_insee``; its
          ``part_source`` is the ``part_surface`` of the ``qpv_communes`` layer).
        Layers whose inputs are missing are absent.
    """
    out: dict[str, pd.DataFrame] = {}
    kw = dict(min_area_m2=min_area_m2, min_share=min_share)
    if qpv2024 is not None and len(qpv2024):
        out["crosswalk_iris_qpv2024"] = iris_zone_crosswalk(iris, _as_zones(qpv2024, "code_qp"), raster, **kw)
    if qpv2015 is not None and len(qpv2015):
        out["crosswalk_iris_qpv2015"] = iris_zone_crosswalk(iris, _as_zones(qpv2015, "code_qp"), raster, **kw)
    if zones is not None and len(zones):
        out["crosswalk_iris_zones"] = iris_zone_crosswalk(iris, _as_zones(zones, _zone_col(zones, None)), raster,
                                                          **kw)
    if qpv2024 is not None and len(qpv2024) and communes is not None and len(communes):
        out["crosswalk_qpv2024_communes"] = build_crosswalk(qpv2024, communes, "code_qp", "code_insee", **kw)
        parts = quartier_commune_parts(qpv2024, communes, **kw)
        if "insee_com" in qpv2024.columns:
            listed = {(str(q), c.strip()) for q, s in zip(qpv2024["code_qp"], qpv2024["insee_com"].fillna(""))
                      for c in str(s).split(",") if c.strip()}
            parts = parts[[(q, c) in listed for q, c in zip(parts["code_qp"], parts["insee_com"])]]
        multi = parts.groupby("code_qp")["insee_com"].transform("nunique") > 1
        parts = parts[multi]
        if len(parts):
            out["crosswalk_iris_parties_qpv2024"] = iris_zone_crosswalk(iris, parts[["code_zone", "geometry"]],
                                                                        raster, **kw)
    if qpv2015 is not None and len(qpv2015) and qpv2024 is not None and len(qpv2024):
        pieces = build_crosswalk(qpv2015, qpv2024, "code_qp", "code_qp", return_pieces=True, **kw)
        pieces = pieces.rename(columns={"code_qp_source": "code_qp2015", "code_qp_cible": "code_qp2024"})
        cw = pd.DataFrame(pieces.drop(columns="geometry"))
        cw["poids_dasymetrique"] = np.nan
        if raster is not None and len(pieces):
            q15 = _to_l93(qpv2015)
            pop15 = pd.Series(zonal_sums(gpd.GeoSeries(_valid(q15.geometry.to_numpy()), crs=LAMBERT93), raster),
                              index=q15["code_qp"].astype(str).to_numpy())
            pop_piece = zonal_sums(pieces.geometry, raster)
            tot = cw["code_qp2015"].map(pop15).astype(float).to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                cw["poids_dasymetrique"] = np.where(tot > 0, np.clip(pop_piece / tot, 0, 1), np.nan)
            cw["population_iris"] = tot     # population of the 2015 quartier (quality measure)
        out["crosswalk_qpv2015_qpv2024"] = cw
    return out
