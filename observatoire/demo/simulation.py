"""Simulated places and counts of the demo: IRIS contours with real codes, their « truth » (population,
fragility), and the counts of every producer derived from it. Every value here is INVENTED
(« données simulées »); :mod:`observatoire.demo.ecriture` writes them in the official formats.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .census import _filosofi_values, _lerp, simulate_census
from .monde import Monde, fragilite_tp60

L93 = 2154


def _random_points(poly, n: int, rng: np.random.Generator) -> list:
    xmin, ymin, xmax, ymax = poly.bounds
    shapely.prepare(poly)
    pts: list = []
    while len(pts) < n:
        xs = rng.uniform(xmin, xmax, 4 * n)
        ys = rng.uniform(ymin, ymax, 4 * n)
        cand = shapely.points(xs, ys)
        pts.extend(cand[shapely.contains(poly, cand)])
    return pts[:n]


def _polygonal(g):
    g = shapely.make_valid(g)
    if g.geom_type == "GeometryCollection":
        g = shapely.union_all([x for x in g.geoms if x.geom_type in ("Polygon", "MultiPolygon")])
    return g


def _voronoi(geom, n: int, rng: np.random.Generator) -> list:
    """``n`` pieces of ``geom`` (Voronoi cells of random points), ordered north-west to south-east."""
    if n == 1:
        return [geom]
    pts = _random_points(geom, n, rng)
    cells = shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=geom.envelope.buffer(1000))
    pieces = []
    for pt in pts:
        cell = next(g for g in cells.geoms if g.contains(pt))
        pieces.append(_polygonal(cell.intersection(geom)))
    return sorted(pieces, key=lambda p: (-round(p.centroid.y, -2), p.centroid.x))


def simulate_iris(monde: Monde, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """IRIS contours partitioning the communes of ``monde`` — the REAL codes and names of INSEE's IRIS
    reference table when ``monde.reel``, fictitious shapes (Voronoi cells of random points) — with each
    IRIS' simulated population (a Dirichlet split of the commune's real population) and fragility.
    """
    ref = monde.iris_ref.sort_values("code_iris")
    rows = []
    for c in monde.communes.sort_values("code_insee").itertuples(index=False):
        codes = ref[ref["code_insee"] == c.code_insee]
        if codes.empty:  # a commune missing from the reference: one IRIS for the whole commune
            codes = pd.DataFrame({"code_iris": [f"{c.code_insee}0000"], "nom_iris": [c.nom], "type_iris": ["Z"],
                                  "nom_commune": [c.nom]})
        pieces = _voronoi(_polygonal(c.geometry), len(codes), rng)
        pops = float(c.population) * rng.dirichlet(np.full(len(codes), 20.0))
        for (r, piece, p) in zip(codes.itertuples(index=False), pieces, pops):
            rows.append((r.code_iris, c.code_insee, r.nom_iris, r.type_iris, c.nom, p, float(c.f), piece))
    iris = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["code_iris", "code_insee", "nom_iris", "type_iris",
                                                        "nom_commune", "population", "f_commune", "geometry"]),
                            geometry="geometry", crs=L93)
    iris["f"] = _fragility(iris, monde, rng)
    return iris


def _fragility(iris: gpd.GeoDataFrame, monde: Monde, rng) -> np.ndarray:
    """Fragility of each IRIS: from the real Filosofi poverty rate of the IRIS when INSEE publishes it;
    else the commune's, raised towards the real poverty rate of the 2015 quartiers it overlaps."""
    f = iris["f_commune"].to_numpy(float).copy()
    if monde.tp60_iris is not None:
        real = iris["code_iris"].map(fragilite_tp60(monde.tp60_iris)).to_numpy(float)
        f = np.where(np.isnan(real), f, real)
    else:
        real = np.full(len(iris), np.nan)
    q = monde.qpv2015 if len(monde.qpv2015) else monde.qpv2024
    if len(q):
        area = iris.geometry.area.to_numpy()
        if monde.tp60_qp is not None and "code_qp" in q.columns:
            fq = q["code_qp"].map(fragilite_tp60(monde.tp60_qp)).fillna(0.85).to_numpy(float)
        else:
            fq = np.full(len(q), 0.85)
        share = np.zeros(len(iris))
        weighted = np.zeros(len(iris))
        for g, fv in zip(q.geometry.values, fq):
            a = iris.geometry.intersection(g).area.to_numpy()
            share += a
            weighted += a * fv
        share = np.divide(share, area, out=np.zeros(len(iris)), where=area > 0).clip(0, 1)
        fq_iris = np.divide(weighted, share * area, out=np.zeros(len(iris)), where=share * area > 0)
        blend = f * (1 - share) + fq_iris * share
        f = np.where(np.isnan(real), blend, f)
    return np.clip(f + rng.normal(0, 0.03, len(f)), 0, 1)


# ---------------------------------------------------------------------------------------------------
# Counts of the other producers, from fragility and population (invented, plausible)
# ---------------------------------------------------------------------------------------------------

def cnaf_counts(f: np.ndarray, pop: np.ndarray, v: float, rng) -> pd.DataFrame:
    """Cnaf allocataires (normalised names ``CNAF_*``) of units of fragility ``f``."""
    n = len(f)
    a = pop * np.clip(_lerp(0.17, 0.42, f) + v * 0.01 + rng.normal(0, 0.01, n), 0.05, 0.7)
    am = a * _lerp(0.07, 0.22, f)
    acav = a * _lerp(0.27, 0.22, f)
    acss = a * _lerp(0.08, 0.05, f)
    ai = a - am - acav - acss
    out = {"CNAF_A": a, "CNAF_PERCOU": a * _lerp(2.4, 2.2, f), "CNAF_AM": am, "CNAF_AI": ai,
           "CNAF_ACSSENF": acss, "CNAF_ACAVENF": acav, "CNAF_AC3ENF": acav * _lerp(0.2, 0.35, f),
           "CNAF_A_NETUD_24": a * 0.06, "CNAF_A_ETUD": a * _lerp(0.06, 0.01, f),
           "CNAF_ENF": (am + acav) * 1.9, "CNAF_AAL": a * _lerp(0.35, 0.65, f), "CNAF_AAPL": a * _lerp(0.2, 0.5, f),
           "CNAF_AAAH": a * _lerp(0.05, 0.09, f), "CNAF_APPA": a * _lerp(0.18, 0.24, f),
           "CNAF_ARSAS": a * np.clip(_lerp(0.06, 0.32, f) - v * 0.01, 0, 1),
           "CNAF_ARSA": a * np.clip(_lerp(0.075, 0.38, f) - v * 0.01, 0, 1),
           "CNAF_APRES50": a * _lerp(0.18, 0.5, f), "CNAF_APRES100": a * _lerp(0.08, 0.32, f)}
    return pd.DataFrame(out)


def pe_counts(f: np.ndarray, pop1564: np.ndarray, v: float, rng) -> pd.DataFrame:
    """France Travail jobseekers (``PE_*``) of units of fragility ``f``."""
    abc = pop1564 * np.clip(_lerp(0.07, 0.22, f) - v * 0.01 + rng.normal(0, 0.005, len(f)), 0.01, 0.5)
    dur = np.stack([_lerp(0.38, 0.32, f), _lerp(0.18, 0.16, f), _lerp(0.2, 0.21, f), _lerp(0.24, 0.31, f)], axis=1)
    out = {"PE_ABC": abc, "PE_ABC_F": abc * 0.5, "PE_ABC_H": abc * 0.5, "PE_A": abc * 0.6,
           "PE_ABC_M26": abc * _lerp(0.14, 0.17, f), "PE_ABC_2649": abc * 0.62, "PE_ABC_50P": abc * 0.22}
    for k in range(4):
        out[f"PE_ABC_DUR{k + 1}"] = abc * dur[:, k]
    return pd.DataFrame(out)


def cnam_counts(f: np.ndarray, pop: np.ndarray, rng) -> pd.DataFrame:
    """Cnam beneficiaries (``CNAM_*``) of units of fragility ``f``."""
    c = pop * 0.93
    c2s = c * np.clip(_lerp(0.06, 0.38, f) + rng.normal(0, 0.01, len(f)), 0.01, 0.8)
    return pd.DataFrame({"CNAM_C": c, "CNAM_C2S": c2s, "CNAM_C2S_NP": c2s * 0.78, "CNAM_C2S_P": c2s * 0.22,
                         "CNAM_CMUC": c2s * 0.75})


def filosofi_values(f: np.ndarray, rng) -> pd.DataFrame:
    """Filosofi producer values (``DISP_*``)."""
    v = _filosofi_values(np.clip(f, 0, 1), rng)
    return pd.DataFrame({f"DISP_{k}": x for k, x in v.items()})


def census(f: np.ndarray, pop: np.ndarray, v: float, rng) -> dict[str, pd.DataFrame]:
    """Census counts by theme (see :func:`observatoire.demo.census.simulate_census`)."""
    return simulate_census(f, pop, v, rng)


# ---------------------------------------------------------------------------------------------------
# From IRIS to quartiers
# ---------------------------------------------------------------------------------------------------

def area_weights(iris: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, code_col: str = "code_qp") -> pd.DataFrame:
    """Share of each IRIS lying in each zone: ``code_iris, code, w`` (pieces over 1 m²), computed on
    the candidate pairs of a spatial index (a simulated France: 1 600 zones × 48 000 IRIS in 0.2 s)."""
    if zones is None or zones.empty:
        return pd.DataFrame(columns=["code_iris", "code", "w"])
    ig = iris.geometry.to_numpy()
    zg = zones.geometry.to_numpy()
    z, i = shapely.STRtree(ig).query(zg, predicate="intersects")
    inter = shapely.area(shapely.intersection(ig[i], zg[z]))
    area = shapely.area(ig[i])
    sel = inter > 1.0
    out = pd.DataFrame({"code_iris": iris["code_iris"].to_numpy()[i[sel]],
                        "code": zones[code_col].astype(str).to_numpy()[z[sel]], "w": inter[sel] / area[sel]})
    return out.sort_values(["code", "code_iris"], kind="stable").reset_index(drop=True)


def aggregate(counts: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """Counts of zones: Σ w × IRIS counts (``counts`` indexed by code_iris)."""
    j = weights.merge(counts, left_on="code_iris", right_index=True)
    cols = [c for c in counts.columns]
    return j[cols].mul(j["w"], axis=0).groupby(j["code"]).sum()
