"""Quality of a quartier figure estimated from IRIS (or from 2015 quartiers): bonne / moyenne / faible.

An estimate for a zone is a weighted sum of IRIS counts. It is good when most of the population it
allocates comes from IRIS that lie **mostly inside** the zone (their weight, the share of the IRIS'
population or area that falls in the zone, is above 50 %): those IRIS are then close to the zone
itself and their rates are the zone's rates. It is poor when the zone is assembled from slices of
IRIS that mostly lie outside it: the slice is assumed to have the IRIS' average rate, which is
exactly what is wrong when a quartier is a poor enclave inside a mixed IRIS.

Measure
-------
For zone *z*, with weight *w(i, z)* of IRIS *i* (``poids_dasymetrique`` or ``poids_surface``) and
population *P(i)* of the IRIS::

    allocated population      A(z) = Σ_i w(i, z) · P(i)
    part_pop_iris_majoritaires     = Σ_{i : w(i, z) > 0.5} w(i, z) · P(i) / A(z)
    n_iris                         = number of IRIS with w(i, z) > 0

*P(i)* is, in order of preference: the ``population`` argument (e.g. the census population of the
IRIS), the ``population_iris`` column of the crosswalk (raster population of the IRIS written by
:func:`observatoire.spatial.crosswalk.iris_zone_crosswalk`, used when complete), else 1 for every IRIS (IRIS are
designed to hold about 2,000 inhabitants each, so equal populations are a fair default).

Classes (thresholds)
--------------------
- ``bonne``   : part_pop_iris_majoritaires ≥ 0.70
- ``moyenne`` : 0.30 ≤ part_pop_iris_majoritaires < 0.70
- ``faible``  : part_pop_iris_majoritaires < 0.30, or no allocated population at all.

Justification (synthetic ground truth, :mod:`observatoire.verification.synthetic`, run by
``scripts/bench_spatial.py`` / ``make bench``: individuals on a 200 m grid, simulated IRIS of about
2,000 inhabitants, the 15 real 2024 quartiers of Valenciennes Métropole and random quartiers,
12 seeds each; 504 quartier rates — poverty rate and share of under-25s — estimated with the
dasymetric method; absolute error in points, données simulées):

=========  =========  ============  ==============  =========
class      estimates  median error  3rd quartile    max error
=========  =========  ============  ==============  =========
bonne      78         0.60          1.03            2.98
moyenne    98         0.74          1.42            4.38
faible     328        1.40          2.81            12.67
=========  =========  ============  ==============  =========

By majority share: ≤ 0.1 → median 1.44 (3rd quartile 2.98); 0.1–0.3 → 1.08 (1.58); 0.3–0.5 → 0.82
(1.53); 0.5–0.7 → 0.71 (1.28); 0.7–0.9 → 0.72 (1.05); 0.9–1 → 0.37 (0.84). The error roughly halves
from « faible » to « moyenne » and its upper quartile drops again for « bonne »; the 0.30 and 0.70
cut-offs sit where the 3rd quartile crosses about 1.5 and 1 point. « faible » mostly gathers
quartiers that are a small part of one or two large IRIS: their estimate is the rate of a much
wider area. The number of IRIS is reported next to the class but does not enter it: on the
benchmark the error *decreases* as the number of IRIS grows (errors of slices partly cancel), so it
would not separate good from poor estimates better than the majority share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Lower bound of part_pop_iris_majoritaires for « bonne ».
SEUIL_BONNE = 0.70
#: Lower bound of part_pop_iris_majoritaires for « moyenne ».
SEUIL_MOYENNE = 0.30
#: An IRIS is « majoritaire » for a zone when more than this share of it lies in the zone.
SEUIL_MAJORITAIRE = 0.5

CLASSES = ("bonne", "moyenne", "faible")


def quality_class(part_pop_iris_majoritaires: float, n_iris: int | None = None) -> str:
    """Class of one estimate from its majority share (see the module docstring for thresholds).

    >>> quality_class(0.9), quality_class(0.5), quality_class(0.1), quality_class(float("nan"))
    ('bonne', 'moyenne', 'faible', 'faible')
    """
    p = float(part_pop_iris_majoritaires)
    if np.isnan(p):
        return "faible"
    if p >= SEUIL_BONNE:
        return "bonne"
    if p >= SEUIL_MOYENNE:
        return "moyenne"
    return "faible"


def zone_quality(crosswalk: pd.DataFrame, weight_col: str = "poids_surface",
                 population: pd.Series | None = None, source_col: str = "code_iris",
                 target_col: str = "code_zone") -> pd.DataFrame:
    """Quality of the estimate of every zone of a crosswalk.

    Parameters
    ----------
    crosswalk : DataFrame
        One row per IRIS × zone piece with ``source_col``, ``target_col`` and ``weight_col``
        (share of the IRIS allocated to the zone). When ``weight_col`` is ``poids_dasymetrique``,
        NaN weights fall back to ``poids_surface`` (as the estimator does).
    weight_col : str
        The weight the estimate used.
    population : Series, optional
        Population of each source unit (index = source code). See the module docstring.
    source_col, target_col : str
        Column names of the source unit (IRIS) and of the zone.

    Returns
    -------
    DataFrame
        Columns ``[target_col, n_iris, part_pop_iris_majoritaires, qualite]``, one row per zone.
    """
    w = _weights(crosswalk, weight_col)
    if population is not None:
        pop = crosswalk[source_col].map(population).astype(float).fillna(0.0).to_numpy()
    elif "population_iris" in crosswalk.columns and crosswalk["population_iris"].notna().all() \
            and len(crosswalk) and crosswalk["population_iris"].astype(float).sum() > 0:
        pop = crosswalk["population_iris"].astype(float).to_numpy()
    else:
        pop = np.ones(len(crosswalk))
    alloc = w * pop
    major = np.where(w > SEUIL_MAJORITAIRE, alloc, 0.0)
    df = pd.DataFrame({target_col: crosswalk[target_col].to_numpy(), "_alloc": alloc,
                       "_major": major, "_n": (w > 0).astype(int)})
    g = df.groupby(target_col, sort=True)
    out = g.agg(n_iris=("_n", "sum"), _alloc=("_alloc", "sum"), _major=("_major", "sum"))
    with np.errstate(invalid="ignore", divide="ignore"):
        part = np.where(out["_alloc"] > 0, out["_major"] / out["_alloc"], np.nan)
    out = pd.DataFrame({target_col: out.index.to_numpy(), "n_iris": out["n_iris"].to_numpy(),
                        "part_pop_iris_majoritaires": part})
    out["qualite"] = [quality_class(p) for p in part]
    return out.reset_index(drop=True)


def _weights(crosswalk: pd.DataFrame, weight_col: str) -> np.ndarray:
    """Weights of a crosswalk; NaN dasymetric weights fall back to the surface weight."""
    if weight_col in crosswalk.columns:
        w = crosswalk[weight_col].astype(float).to_numpy().copy()
    else:
        w = np.full(len(crosswalk), np.nan)
    if weight_col != "poids_surface" and "poids_surface" in crosswalk.columns:
        fb = crosswalk["poids_surface"].astype(float).to_numpy()
        w = np.where(np.isnan(w), fb, w)
    if np.isnan(w).any():
        raise ValueError(f"poids manquants dans la colonne {weight_col!r} de la table de passage")
    return w
