"""Simulated INSEE Filosofi 200 m grid (« données carroyées ») for the demo mirror — données simulées.

Written in the official layout (see :mod:`observatoire.sources.filosofi_grid`):
``insee_filosofi_carreaux/Filosofi2019_carreaux_200m_gpkg.zip`` → ``Filosofi2019_carreaux_200m_gpkg.7z``
→ ``carreaux_200m_met.gpkg`` (squares of the ETRS89-LAEA 200 m grid, ``idcar_200m =
CRS3035RES200mN…E…``, geometry in Lambert-93, the official columns). Marked ``simule: true``.

How the population is placed
----------------------------
Each simulated IRIS of the demo (``ctx.iris``, whose populations sum exactly to the real commune
populations ``ctx.communes.population``) spreads its population over the squares whose centre lies
in it, in proportion to a density weight:

- higher near the town centre (the commune's representative point: ×(1 + 6·e^(−d/1.5 km)));
- higher inside the 2024 quartiers (×4: dense social housing);
- **zero** in « fields and woods »: random discs (radius 300–1,000 m) placed more than 1 km from the
  centre and outside the quartiers, plus every square more than 4 km from the centre with
  probability 0.6 — so that area weighting and dasymetric weighting differ.

Counts are integers drawn with a multinomial, so each IRIS total is exact. The other columns
(households, poor households, ages, dwellings…) are derived with plausible shares (poverty about 45 %
of households in quartiers, 12 % elsewhere).
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..sources.filosofi_grid import FILOSOFI_CARREAUX, MEMBRE_7Z, MEMBRE_GPKG

L93 = 2154
LAEA = 3035
RES = 200
AGES = ["ind_0_3", "ind_4_5", "ind_6_10", "ind_11_17", "ind_18_24", "ind_25_39", "ind_40_54", "ind_55_64",
        "ind_65_79", "ind_80p"]
#: age shares (sum 1) outside / inside quartiers
AGE_PARTS = {False: [0.045, 0.025, 0.06, 0.085, 0.08, 0.18, 0.2, 0.13, 0.14, 0.055],
             True: [0.06, 0.035, 0.08, 0.11, 0.1, 0.2, 0.18, 0.1, 0.1, 0.035]}


def _cells(territory, res: int = RES) -> gpd.GeoDataFrame:
    """200 m LAEA squares covering ``territory`` (EPSG:2154 geometry), with their LAEA corner."""
    t3035 = gpd.GeoSeries([territory], crs=L93).to_crs(LAEA).iloc[0]
    minx, miny, maxx, maxy = t3035.bounds
    xs = np.arange(np.floor(minx / res) * res, maxx, res)
    ys = np.arange(np.floor(miny / res) * res, maxy, res)
    X, Y = np.meshgrid(xs, ys)
    X, Y = X.ravel(), Y.ravel()
    boxes = shapely.box(X, Y, X + res, Y + res)
    g = gpd.GeoDataFrame({"e": X.astype(np.int64), "n": Y.astype(np.int64)}, geometry=boxes, crs=LAEA)
    return g.to_crs(L93)


def simulate_grid(iris: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, qpv: gpd.GeoDataFrame,
                  rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Simulated Filosofi squares (official columns, EPSG:2154) for the IRIS of the territory.

    ``iris`` needs ``code_iris``, ``code_insee``, ``population``; ``communes`` ``code_insee`` (for the
    town centres); ``qpv`` the 2024 quartiers (geometry only).
    """
    iris = iris.to_crs(L93).reset_index(drop=True)
    territory = shapely.union_all(iris.geometry.to_numpy())
    cells = _cells(territory)
    cent = cells.geometry.centroid
    # square → IRIS by its centre
    tree = shapely.STRtree(iris.geometry.to_numpy())
    c_idx, i_idx = tree.query(cent.to_numpy(), predicate="within")
    cells = cells.iloc[c_idx].reset_index(drop=True)
    cells["_iris"] = i_idx
    cent = cells.geometry.centroid.to_numpy()

    centres = communes.set_index(communes["code_insee"].astype(str)).geometry.representative_point()
    code_com = iris["code_insee"].astype(str).to_numpy()[i_idx]
    ctr = centres.reindex(code_com).to_numpy()
    d = np.where(pd.isna(ctr), 5000.0, shapely.distance(cent, np.where(pd.isna(ctr), cent, ctr)))
    in_qpv = np.zeros(len(cells), dtype=bool)
    if qpv is not None and len(qpv):
        qtree = shapely.STRtree(qpv.to_crs(L93).geometry.to_numpy())
        in_qpv[np.unique(qtree.query(cent, predicate="within")[0])] = True

    w = (1.0 + 6.0 * np.exp(-d / 1500.0)) * np.where(in_qpv, 4.0, 1.0) * rng.lognormal(0, 0.35, len(cells))
    # fields and woods
    empty = np.zeros(len(cells), dtype=bool)
    far = np.flatnonzero((d > 1000) & ~in_qpv)
    if len(far):
        n_discs = max(1, len(far) // 60)
        seeds = rng.choice(far, size=n_discs, replace=False)
        radii = rng.uniform(300, 1000, n_discs)
        discs = shapely.buffer(cent[seeds], radii)
        dtree = shapely.STRtree(discs)
        empty[np.unique(dtree.query(cent, predicate="within")[0])] = True
    empty |= (d > 4000) & (rng.random(len(cells)) < 0.6)
    empty &= ~in_qpv
    w = np.where(empty, 0.0, w)

    ind = np.zeros(len(cells))
    extra = []   # IRIS without any square centre: one square at their representative point
    pops = iris["population"].fillna(0).astype(int).to_numpy()
    order = np.argsort(i_idx, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(i_idx[order])) + 1) if len(order) else []
    has = {int(i_idx[g[0]]): g for g in groups if len(g)}
    for k in range(len(iris)):
        pop = int(pops[k])
        if pop <= 0:
            continue
        g = has.get(k)
        if g is None:
            extra.append(k)
            continue
        p = w[g]
        if p.sum() <= 0:
            p = np.ones(len(g))
        ind[g] = rng.multinomial(pop, p / p.sum())
    cells["ind"] = ind
    cells["_qpv"] = in_qpv
    cells["_com"] = code_com
    if extra:
        pts = iris.geometry.iloc[extra].representative_point()
        p3035 = pts.to_crs(LAEA)
        e = (np.floor(p3035.x / RES) * RES).astype(np.int64).to_numpy()
        n = (np.floor(p3035.y / RES) * RES).astype(np.int64).to_numpy()
        add = gpd.GeoDataFrame({"e": e, "n": n, "_iris": extra, "ind": pops[extra].astype(float),
                                "_qpv": False, "_com": iris["code_insee"].astype(str).to_numpy()[extra]},
                               geometry=shapely.box(e, n, e + RES, n + RES), crs=LAEA).to_crs(L93)
        cells = pd.concat([cells, add], ignore_index=True)
    # squares shared by several IRIS (the extra ones) are merged like INSEE publishes one row per square
    cells = cells[cells["ind"] > 0]
    agg = cells.groupby(["e", "n"], as_index=False).agg(ind=("ind", "sum"), _qpv=("_qpv", "max"),
                                                       _com=("_com", "first"))
    geom = gpd.GeoSeries(shapely.box(agg["e"], agg["n"], agg["e"] + RES, agg["n"] + RES), crs=LAEA).to_crs(L93)
    return _derive_columns(agg, geom, rng)


def _derive_columns(agg: pd.DataFrame, geom: gpd.GeoSeries, rng: np.random.Generator) -> gpd.GeoDataFrame:
    n = len(agg)
    ind = agg["ind"].to_numpy(dtype=float)
    q = agg["_qpv"].to_numpy(dtype=bool)
    taille = np.where(q, 2.6, 2.2) * rng.uniform(0.9, 1.1, n)
    men = np.maximum(1.0, np.round(ind / taille))
    pauv = np.clip(np.where(q, 0.45, 0.12) + rng.normal(0, 0.05, n), 0, 0.9)
    out = pd.DataFrame({
        "idcar_200m": [f"CRS3035RES200mN{y}E{x}" for x, y in zip(agg["e"], agg["n"])],
        "idcar_1km": [f"CRS3035RES1000mN{y // 1000 * 1000}E{x // 1000 * 1000}" for x, y in zip(agg["e"], agg["n"])],
        "idcar_nat": [f"CRS3035RES200mN{y}E{x}" for x, y in zip(agg["e"], agg["n"])],
        "i_est_200": (men < 11).astype(int),
        "i_est_1km": 0,
        "lcog_geo": agg["_com"].astype(str).to_numpy(),
        "ind": ind,
        "men": men,
        "men_pauv": np.round(men * pauv, 1),
        "men_1ind": np.round(men * np.where(q, 0.38, 0.33), 1),
        "men_5ind": np.round(men * np.where(q, 0.09, 0.05), 1),
        "men_prop": np.round(men * np.where(q, 0.15, 0.62), 1),
        "men_fmp": np.round(men * np.where(q, 0.2, 0.08), 1),
        "ind_snv": np.round(ind * np.where(q, 13_500.0, 21_500.0) * rng.uniform(0.9, 1.1, n), 1),
        "men_surf": np.round(men * np.where(q, 68.0, 92.0), 1),
        "men_coll": np.round(men * np.where(q, 0.75, 0.2), 1),
        "men_mais": np.round(men * np.where(q, 0.25, 0.8), 1),
    })
    parts_log = np.where(q[:, None], [0.1, 0.45, 0.3, 0.15], [0.3, 0.25, 0.2, 0.25])
    for c, j in zip(["log_av45", "log_45_70", "log_70_90", "log_ap90"], range(4)):
        out[c] = np.round(men * parts_log[:, j], 1)
    out["log_inc"] = 0.0
    out["log_soc"] = np.round(men * np.where(q, 0.65, 0.12), 1)
    parts_age = np.where(q[:, None], AGE_PARTS[True], AGE_PARTS[False])
    for c, j in zip(AGES, range(len(AGES))):
        out[c] = np.round(ind * parts_age[:, j], 1)
    out["ind_inc"] = 0.0
    return gpd.GeoDataFrame(out, geometry=geom.to_numpy(), crs=L93)


def write_grid_zip(grid: gpd.GeoDataFrame, dest_zip: Path) -> Path:
    """Write squares in the official nested layout: zip → 7z → ``carreaux_200m_met.gpkg``."""
    import py7zr
    import pyogrio

    dest_zip = Path(dest_zip)
    dest_zip.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gpkg = tmp / MEMBRE_GPKG
        pyogrio.write_dataframe(grid, gpkg, layer="carreaux_200m_met", driver="GPKG")
        sevenz = tmp / MEMBRE_7Z
        # LZMA2 preset 1: py7zr's default preset compresses about 1 MB/s (half an hour for the 640 MB
        # grid of a simulated France); reading it back runs at the same speed whatever the preset
        with py7zr.SevenZipFile(sevenz, "w", filters=[{"id": py7zr.FILTER_LZMA2, "preset": 1}]) as z:
            z.write(gpkg, MEMBRE_GPKG)
        part = dest_zip.with_name(dest_zip.name + ".part")
        with zipfile.ZipFile(part, "w", zipfile.ZIP_STORED) as z:
            z.write(sevenz, MEMBRE_7Z)
        part.replace(dest_zip)
    return dest_zip


def write_grid(dest: Path, ctx) -> Path:
    """Write the simulated Filosofi 200 m grid of the demo territory into the mirror ``dest``.

    Returns the zip path; records it with ``ctx.add_file(..., simule=True)``.
    """
    grid = simulate_grid(ctx.iris, ctx.communes, ctx.qpv2024, ctx.rng)
    rel = f"{FILOSOFI_CARREAUX.id}/{FILOSOFI_CARREAUX.fichier}"
    path = write_grid_zip(grid, Path(dest) / rel)
    ctx.add_file(rel, True, "données simulées : population des IRIS simulés répartie sur des carreaux de "
                 "200 m (plus dense en centre-ville et dans les quartiers, vide dans les champs et bois)",
                 FILOSOFI_CARREAUX.url)
    return path
