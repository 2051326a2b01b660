"""Estimate counts for zones (quartiers, commune parts, custom zones) from IRIS counts.

Every estimator here allocates **counts** (extensive variables): the count of a zone is
``Σ_i weight(i, zone) × count(i)`` over the IRIS *i* that intersect it. Rates are then formed by the
caller as the ratio of two allocated counts (numerator / denominator), never by averaging rates.
Medians and quartiles cannot be allocated this way and must not be passed here.

Weights (columns of the crosswalk written by
:func:`observatoire.spatial.crosswalk.iris_zone_crosswalk`):

- ``poids_surface`` (method ``surface``): area of the IRIS ∩ zone piece / area of the IRIS;
- ``poids_dasymetrique`` (method ``dasymetrique``): population of a raster (Filosofi 200 m grid or a
  user GeoTIFF) inside the piece / raster population of the IRIS. Where it is NaN (no raster, or an
  IRIS with no raster population) the surface weight is used for that IRIS.

Withheld values: a NaN count (secret or not available) of an IRIS that contributes to a zone with a
weight > 0 makes the zone's count NaN: a withheld value never becomes a number. An IRIS of the
crosswalk that is absent from the counts table is treated the same way (unknown, not zero).

Example
-------
>>> import pandas as pd
>>> counts = pd.DataFrame({"pop": [100.0, 200.0]}, index=["A", "B"])
>>> cw = pd.DataFrame({"code_iris": ["A", "B"], "code_zone": ["Z", "Z"],
...                    "poids_surface": [0.75, 0.25]})
>>> est, qual = estimate_counts(counts, cw, method="surface")
>>> float(est.loc["Z", "pop"]), qual["Z"]      # 0.75 × 100 + 0.25 × 200 = 125
(125.0, 'bonne')
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .quality import zone_quality

METHODES = ("surface", "dasymetrique")


def weights_for(crosswalk: pd.DataFrame, method: str = "dasymetrique") -> np.ndarray:
    """Weight of each crosswalk row for ``method`` (``surface`` or ``dasymetrique``).

    ``dasymetrique`` uses ``poids_dasymetrique`` and falls back to ``poids_surface`` row by row where
    it is NaN or absent.
    """
    if method not in METHODES:
        raise ValueError(f"méthode inconnue {method!r} (attendu : {', '.join(METHODES)})")
    surf = crosswalk["poids_surface"].astype(float).to_numpy()
    if method == "surface" or "poids_dasymetrique" not in crosswalk.columns:
        return surf.copy()
    das = crosswalk["poids_dasymetrique"].astype(float).to_numpy()
    return np.where(np.isnan(das), surf, das)


def methode_effective(crosswalk: pd.DataFrame, method: str = "dasymetrique",
                      target_col: str = "code_zone") -> pd.Series:
    """Method actually used for each zone: ``dasymetrique`` when at least one contributing IRIS had a
    dasymetric weight, else ``surface`` (no raster, or only IRIS without raster population)."""
    if method == "surface" or "poids_dasymetrique" not in crosswalk.columns:
        has = np.zeros(len(crosswalk), dtype=bool)
    else:
        has = crosswalk["poids_dasymetrique"].notna().to_numpy().copy()
        if "repli_surface" in crosswalk.columns:
            has = has & ~crosswalk["repli_surface"].fillna(False).astype(bool).to_numpy()
    s = pd.Series(has, index=crosswalk[target_col].to_numpy()).groupby(level=0, sort=True).any()
    out = pd.Series(np.where(s.to_numpy(), "dasymetrique", "surface"), index=s.index, dtype=object)
    out.index.name = target_col
    return out


def allocate(counts: pd.DataFrame, crosswalk: pd.DataFrame, weights: pd.Series | np.ndarray | str,
             source_col: str = "code_iris", target_col: str = "code_zone") -> pd.DataFrame:
    """Allocate source counts to targets: ``count(t) = Σ_s weight(s, t) × count(s)``.

    Parameters
    ----------
    counts : DataFrame
        Index = source code (IRIS), float count columns; NaN = withheld.
    crosswalk : DataFrame
        One row per source × target piece, with ``source_col`` and ``target_col``.
    weights : Series, ndarray or str
        One weight per crosswalk row (Series aligned on the crosswalk's rows, or array), or the
        name of a method (``"surface"``, ``"dasymetrique"``) or of a weight column.
    source_col, target_col : str
        Column names of the source and target codes in ``crosswalk``.

    Returns
    -------
    DataFrame
        Index = target code (named ``target_col``, sorted), same columns as ``counts``. A target is
        NaN for a column as soon as one source contributing with a weight > 0 is NaN (or absent
        from ``counts``).
    """
    if isinstance(weights, str):
        if weights in METHODES:
            w = weights_for(crosswalk, weights)
        else:
            w = crosswalk[weights].astype(float).to_numpy()
    elif isinstance(weights, pd.Series):
        w = weights.reindex(crosswalk.index).astype(float).to_numpy()
    else:
        w = np.asarray(weights, dtype=float)
    if w.shape != (len(crosswalk),):
        raise ValueError("il faut un poids par ligne de la table de passage")
    if np.isnan(w).any():
        raise ValueError("poids manquants (NaN) dans la table de passage")

    targets, t_idx = np.unique(crosswalk[target_col].astype(str).to_numpy(), return_inverse=True)
    t_idx = t_idx.ravel()
    cols = list(counts.columns)
    values = counts.to_numpy(dtype=float) if cols else np.zeros((len(counts), 0))
    src_index = pd.Index(counts.index.astype(str))
    if not src_index.is_unique:
        raise ValueError("l'index des effectifs contient des codes en double")
    pos = src_index.get_indexer(crosswalk[source_col].astype(str).to_numpy())

    keep = w > 0
    out = np.zeros((len(targets), len(cols)))
    if keep.any():
        rows = pos[keep]
        vals = np.full((int(keep.sum()), len(cols)), np.nan)
        found = rows >= 0
        vals[found] = values[rows[found]]
        contrib = vals * w[keep][:, None]
        ti = t_idx[keep]
        for j in range(len(cols)):
            # bincount propagates NaN: one NaN contribution makes the target NaN.
            out[:, j] = np.bincount(ti, weights=contrib[:, j], minlength=len(targets))
    res = pd.DataFrame(out, index=pd.Index(targets, name=target_col), columns=cols)
    return res


def dasymetric_weights(pieces, raster_path, iris) -> pd.Series:
    """Dasymetric weight of each IRIS ∩ zone piece: raster population in the piece / in its IRIS.

    Parameters
    ----------
    pieces : GeoDataFrame
        Pieces with ``code_iris`` and geometry (e.g. ``iris_zone_crosswalk(..., return_pieces=True)``).
    raster_path : Path
        Population GeoTIFF (any CRS).
    iris : GeoDataFrame
        ``code_iris`` + geometry: the IRIS totals need the whole IRIS, not only its pieces (the
        contract's two-argument form cannot know them; deviation documented in the report).

    Returns
    -------
    Series
        Aligned on ``pieces.index``; NaN where the IRIS has no raster population.
    """
    from .raster import zonal_sums

    pop_piece = zonal_sums(pieces.geometry, raster_path)
    codes = pieces["code_iris"].astype(str)
    sub = iris[iris["code_iris"].astype(str).isin(set(codes))]
    pop_iris = pd.Series(zonal_sums(sub.geometry, raster_path), index=sub["code_iris"].astype(str).to_numpy())
    tot = codes.map(pop_iris).astype(float).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(tot > 0, pop_piece / tot, np.nan)
    return pd.Series(np.clip(w, 0.0, 1.0), index=pieces.index, name="poids_dasymetrique")


def area_weighted(counts: pd.DataFrame, crosswalk: pd.DataFrame, source_col: str = "code_iris",
                  target_col: str = "code_zone") -> pd.DataFrame:
    """Area weighting: ``allocate`` with ``poids_surface``."""
    return allocate(counts, crosswalk, "surface", source_col, target_col)


def dasymetric(counts: pd.DataFrame, crosswalk: pd.DataFrame, source_col: str = "code_iris",
               target_col: str = "code_zone") -> pd.DataFrame:
    """Dasymetric weighting: ``allocate`` with ``poids_dasymetrique`` (``poids_surface`` where NaN)."""
    return allocate(counts, crosswalk, "dasymetrique", source_col, target_col)


def estimate_counts(counts: pd.DataFrame, crosswalk: pd.DataFrame, method: str = "dasymetrique",
                    population: pd.Series | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Estimate zone counts from IRIS counts, with the quality class of each zone.

    Parameters
    ----------
    counts : DataFrame
        Index = ``code_iris``; float count columns; NaN = withheld (secret / not available).
    crosswalk : DataFrame
        Columns ``code_iris``, ``code_zone``, ``poids_surface`` and optionally
        ``poids_dasymetrique`` (NaN → falls back to ``poids_surface``), ``population_iris``.
    method : {"dasymetrique", "surface"}
        Weighting method.
    population : Series, optional
        Population of each IRIS (index = code_iris), used only for the quality measure (see
        :mod:`observatoire.spatial.quality`).

    Returns
    -------
    (DataFrame, Series)
        Allocated counts (index = ``code_zone``, same columns as ``counts``; NaN when any IRIS
        contributing with a weight > 0 is NaN), and the quality class (``bonne`` / ``moyenne`` /
        ``faible``) of each zone. ``DataFrame.attrs["methode"]`` holds the method actually used per
        zone (see :func:`methode_effective`) and ``attrs["qualite"]`` the full quality table.
    """
    w = weights_for(crosswalk, method)
    est = allocate(counts, crosswalk, w)
    wcol = "poids_surface" if method == "surface" else "poids_dasymetrique"
    q = zone_quality(crosswalk, wcol, population=population)
    qual = pd.Series(q["qualite"].to_numpy(), index=pd.Index(q["code_zone"].astype(str), name="code_zone"),
                     name="qualite", dtype=object).reindex(est.index)
    est.attrs["methode"] = methode_effective(crosswalk, method).reindex(est.index)
    est.attrs["qualite"] = q
    return est, qual


def transpose(counts_by_qp2015: pd.DataFrame, crosswalk_2015_2024: pd.DataFrame,
              source_col: str | None = None, target_col: str | None = None,
              weight_col: str | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Carry counts published on 2015 quartiers onto 2024 quartiers (method
    ``transposition_2015_2024``).

    The count of a 2024 quartier is ``Σ_q w(q) × count(q)`` over the 2015 quartiers *q* it
    intersects, where ``w(q)`` is the share of the 2015 quartier inside it: its population share
    when the crosswalk has one (``poids_dasymetrique``), else its area share (``part_source``, as
    written by :func:`observatoire.spatial.crosswalk.build_crosswalk`, or ``poids_surface``).

    Parameters
    ----------
    counts_by_qp2015 : DataFrame
        Index = 2015 quartier code, float count columns (NaN = withheld).
    crosswalk_2015_2024 : DataFrame
        QPV 2015 × QPV 2024 crosswalk. ``source_col`` / ``target_col`` default to its first two
        columns.
    weight_col : str, optional
        Weight column; by default ``poids_dasymetrique`` if present and complete, else
        ``part_source`` (or ``poids_surface``).

    Returns
    -------
    (DataFrame, Series)
        Counts per 2024 quartier and their quality class (same measure as for IRIS, the 2015
        quartiers playing the part of the IRIS, each counted with its own population if a
        ``population_iris`` column is present, else equally).
    """
    cw = crosswalk_2015_2024
    source_col = source_col or cw.columns[0]
    target_col = target_col or cw.columns[1]
    if weight_col is None:
        if "poids_dasymetrique" in cw.columns and cw["poids_dasymetrique"].notna().all():
            weight_col = "poids_dasymetrique"
        elif "part_source" in cw.columns:
            weight_col = "part_source"
        else:
            weight_col = "poids_surface"
    est = allocate(counts_by_qp2015, cw, weight_col, source_col, target_col)
    q = zone_quality(cw, weight_col, source_col=source_col, target_col=target_col)
    qual = pd.Series(q["qualite"].to_numpy(), index=pd.Index(q[target_col].astype(str), name=target_col),
                     name="qualite", dtype=object).reindex(est.index)
    est.attrs["methode"] = "transposition_2015_2024"
    est.attrs["qualite"] = q
    return est, qual
