"""Synthetic ground truth for the quartier estimators (issue 4, item 6) — données simulées.

A territory is simulated **individual by individual** on a 200 m grid, with spatially varying rates
(a poor dense core around the quartiers, richer and sparser suburbs, empty fields and woods). The
individuals are aggregated to simulated IRIS (Voronoi cells of about 2,000 inhabitants) and to the
quartier perimeters (the 15 real 2024 quartiers of Valenciennes Métropole when ``../shared`` is
there, random ones otherwise). Each estimator then rebuilds the quartier rates from the IRIS counts
and is compared with the truth.

Model (all distances in metres, ``d_q`` = distance of a cell centre to the nearest quartier, 0 inside):

- expected inhabitants per 200 m cell: ``8 + Σ_towns A·e^(−d/σ) + 60·e^(−d_q/1000)`` (towns: random
  centres, ``A`` 40–100, ``σ`` 600–1,500 m), × ``densite_quartier`` (1.8) inside the quartiers, × a
  log-normal noise (σ = 0.3). Empty land: parks, activity zones and rail yards (discs of radius
  150–600 m, one per 1.5 km², anywhere — also inside the quartiers, whose perimeters include schools,
  parks and sports grounds), fields and woods (radius 300–1,200 m, one per 4 km², farther than 800 m
  from the quartiers) and half of the sparsest cells. The count of a cell is Poisson; individuals are
  uniform inside their cell.
- probability of being poor: ``0.08 + 0.30·e^(−d_q/echelle_taux_m)`` (a poor core around the
  quartiers, richer suburbs; ``echelle_taux_m`` = 5 km) + ``effet_quartier`` inside the quartiers
  (0 by default) + a neighbourhood effect (Gaussian-smoothed noise, 600 m scale, s.d.
  ``effet_voisinage`` = 6 points) + a cell effect N(0, 2 points); probability of being young (< 25):
  ``0.22 + 0.10·e^(−d_q/echelle_taux_m)`` + half the quartier and neighbourhood effects + N(0, 2 points).
- IRIS: Voronoi cells of seeds drawn among the individuals (about ``habitants_par_iris`` = 2,000
  inhabitants each, so small where dense, large in the countryside).

What the benchmark can and cannot show: IRIS-based estimators assume that the slice of an IRIS inside
a quartier has the IRIS' rate. Dasymetric weighting fixes *how many* people each slice holds (it
matters when slices include empty land), not their rate. When rates jump at the quartier boundary
(``effet_quartier``) or change over a few hundred metres (small ``echelle_taux_m``), every IRIS-based
method errs by several points and area weighting can even look better (it under-weights the dense,
poor slices of straddling IRIS, which happens to cancel part of the error). ``make bench`` prints
these stress variants next to the reference setting.

Also: :func:`simulate_france` builds geometry and rasters at France scale (≈ 48,000 IRIS with a
realistic size distribution, ≈ 1,600 quartiers) for the timing benchmark (``scripts/bench_spatial.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..spatial.crosswalk import iris_zone_crosswalk
from ..spatial.estimate import estimate_counts
from ..spatial.raster import grid_to_raster

L93 = 2154
RES = 200.0
X0, Y0 = 700_000.0, 7_000_000.0
VARIABLES = {"taux_pauvrete": ("pauvres", "pop"), "part_jeunes": ("jeunes", "pop")}
METHODES = ("surface", "dasymetrique", "dasymetrique_bati")


@dataclass
class Synthetic:
    """A simulated territory and its truth (données simulées)."""

    cells: gpd.GeoDataFrame        # 200 m squares: pop, pauvres, jeunes, bati (0/1)
    iris: gpd.GeoDataFrame         # code_iris, geometry
    quartiers: gpd.GeoDataFrame    # code_zone, geometry
    counts_iris: pd.DataFrame      # index code_iris: pop, pauvres, jeunes
    truth: pd.DataFrame            # index code_zone: pop, pauvres, jeunes
    quartiers_reels: bool


def load_real_quartiers(shared_dir: Path | str | None = None) -> gpd.GeoDataFrame | None:
    """The 15 real 2024 quartiers of ``shared/data/valenciennes/qpv2024.geojson`` (EPSG:2154), or None."""
    if shared_dir is None:
        shared_dir = Path(__file__).resolve().parents[3] / "shared"
    p = Path(shared_dir) / "data" / "valenciennes" / "qpv2024.geojson"
    if not p.exists():
        return None
    q = gpd.read_file(p, engine="pyogrio").to_crs(L93)
    return gpd.GeoDataFrame({"code_zone": q["code_qp"].astype(str)}, geometry=q.geometry.to_numpy(), crs=L93)


def random_quartiers(centres: np.ndarray, rng: np.random.Generator, prefix: str = "QS") -> gpd.GeoDataFrame:
    """Irregular quartiers (10–200 ha) around ``centres`` (n × 2 array), overlaps removed."""
    geoms = []
    for cx, cy in centres:
        area = rng.uniform(10, 200) * 1e4
        r = np.sqrt(area / np.pi)
        k = rng.integers(2, 5)
        pts = shapely.points(cx + rng.normal(0, r * 0.5, k), cy + rng.normal(0, r * 0.5, k))
        g = shapely.union_all(shapely.buffer(pts, r * rng.uniform(0.5, 0.8, k)))
        g = shapely.simplify(g, 10)
        geoms.append(g)
    geoms = np.array(geoms, dtype=object)
    a_idx, b_idx = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    sel = a_idx != b_idx
    neigh: dict[int, list[int]] = {}
    for i, j in zip(a_idx[sel].tolist(), b_idx[sel].tolist()):
        neigh.setdefault(i, []).append(j)
    kept = np.zeros(len(geoms), dtype=bool)
    for i in range(len(geoms)):
        if not any(kept[j] for j in neigh.get(i, ())):
            kept[i] = True
    out = list(geoms[kept])
    return gpd.GeoDataFrame({"code_zone": [f"{prefix}{i:04d}" for i in range(len(out))]}, geometry=out, crs=L93)


def _dist_to(geoms: np.ndarray, union) -> np.ndarray:
    if union is None or union.is_empty:
        return np.full(len(geoms), 1e9)
    return shapely.distance(geoms, union)


def simulate_truth(seed: int = 0, quartiers: gpd.GeoDataFrame | None = None, n_quartiers: int = 12,
                   size_m: float = 12_000.0, margin_m: float = 2_500.0, habitants_par_iris: int = 2000,
                   n_towns: int | None = None, echelle_taux_m: float = 5000.0, effet_quartier: float = 0.0,
                   densite_zones_vides: float = 1.0, densite_quartier: float = 1.8,
                   vides_dans_quartiers: bool = True, effet_voisinage: float = 0.06,
                   echelle_voisinage_m: float = 600.0) -> Synthetic:
    """Simulate a territory of individuals and its truth (see the module docstring).

    Parameters
    ----------
    seed : int
        Random seed (everything is reproducible).
    quartiers : GeoDataFrame, optional
        ``code_zone`` + geometry (Lambert-93), e.g. :func:`load_real_quartiers`; the territory is their
        bounding box plus ``margin_m``. Without it: a ``size_m`` square with ``n_quartiers`` random
        quartiers placed in the densest places.
    habitants_par_iris : int
        Target IRIS size.
    echelle_taux_m : float
        Distance over which the rates decrease away from the quartiers (smooth core → suburbs).
    effet_quartier : float
        Extra probability of being poor **inside** the quartiers (a jump at their boundary; 0 by
        default, the benchmark's stress variant uses 0.10).
    densite_zones_vides : float
        Multiplier of the number of empty patches (parks, activity zones, fields).
    """
    rng = np.random.default_rng(seed)
    real = quartiers is not None
    if real:
        minx, miny, maxx, maxy = quartiers.total_bounds
        minx, miny = np.floor((minx - margin_m) / RES) * RES, np.floor((miny - margin_m) / RES) * RES
        maxx, maxy = np.ceil((maxx + margin_m) / RES) * RES, np.ceil((maxy + margin_m) / RES) * RES
    else:
        minx, miny, maxx, maxy = X0, Y0, X0 + size_m, Y0 + size_m
    xs = np.arange(minx, maxx, RES)
    ys = np.arange(miny, maxy, RES)
    CX, CY = np.meshgrid(xs + RES / 2, ys + RES / 2)
    cx, cy = CX.ravel(), CY.ravel()
    ncell = len(cx)
    centres_pts = shapely.points(cx, cy)
    area_km2 = (maxx - minx) * (maxy - miny) / 1e6
    n_towns = n_towns if n_towns is not None else max(3, int(area_km2 / 40))
    towns = np.column_stack([rng.uniform(minx, maxx, n_towns), rng.uniform(miny, maxy, n_towns)])
    dens = np.full(ncell, 8.0)
    for (tx, ty), a, s in zip(towns, rng.uniform(40, 100, n_towns), rng.uniform(600, 1500, n_towns)):
        dens += a * np.exp(-np.hypot(cx - tx, cy - ty) / s)
    if not real:
        # quartiers in the densest places of the towns
        cand = np.argsort(-dens)[: max(50, ncell // 20)]
        pick = rng.choice(cand, size=min(len(cand), n_quartiers * 3), replace=False)
        quartiers = random_quartiers(np.column_stack([cx[pick], cy[pick]]), rng)
        quartiers = quartiers.iloc[:n_quartiers].reset_index(drop=True)
    q_union = shapely.union_all(quartiers.geometry.to_numpy())
    d_q = _dist_to(centres_pts, q_union)
    in_q = d_q <= 0
    # the quartiers are the cores of their towns: dense around them, denser inside
    dens += 60.0 * np.exp(-d_q / 1000.0)
    dens[in_q] *= densite_quartier
    dens *= rng.lognormal(0, 0.3, ncell)
    # non-residential land (parks, activity zones, rail yards: radius 150–600 m, anywhere outside the
    # quartiers, often along their edge) and fields and woods (radius 300–1,200 m, away from them)
    empty = np.zeros(ncell, dtype=bool)
    n_act = max(1, int(area_km2 / 1.5 * densite_zones_vides))
    n_fld = max(1, int(area_km2 / 4 * densite_zones_vides))
    far = np.flatnonzero(d_q > 800)
    seeds = [rng.choice(ncell, size=n_act, replace=True)]
    radii = [rng.uniform(150, 600, n_act)]
    if len(far):
        seeds.append(rng.choice(far, size=n_fld, replace=True))
        radii.append(rng.uniform(300, 1200, n_fld))
    discs = shapely.buffer(centres_pts[np.concatenate(seeds)], np.concatenate(radii))
    hit = shapely.STRtree(discs).query(centres_pts, predicate="within")[0]
    empty[np.unique(hit)] = True
    empty |= (dens < 15) & (rng.random(ncell) < 0.5)
    if not vides_dans_quartiers:
        empty &= ~in_q
    dens[empty] = 0.0
    n = rng.poisson(dens)

    # individuals
    cell_of = np.repeat(np.arange(ncell), n)
    px = cx[cell_of] + rng.uniform(-RES / 2, RES / 2, len(cell_of))
    py = cy[cell_of] + rng.uniform(-RES / 2, RES / 2, len(cell_of))
    pts = shapely.points(px, py)
    grad = np.exp(-d_q / echelle_taux_m)[cell_of]     # smooth at the km scale: cell centre distance
    inside = np.zeros(len(px))
    inside[np.unique(shapely.STRtree(quartiers.geometry.to_numpy()).query(pts, predicate="within")[0])] = 1.0
    shape = (len(ys), len(xs))
    eff_p = (_smooth_noise(shape, echelle_voisinage_m / RES, rng) * effet_voisinage
             + rng.normal(0, 0.02, ncell))[cell_of]
    eff_j = (_smooth_noise(shape, echelle_voisinage_m / RES, rng) * effet_voisinage / 2
             + rng.normal(0, 0.02, ncell))[cell_of]
    pauvre = rng.random(len(px)) < np.clip(0.08 + 0.30 * grad + effet_quartier * inside + eff_p, 0.01, 0.95)
    jeune = rng.random(len(px)) < np.clip(0.22 + 0.10 * grad + effet_quartier / 2 * inside + eff_j, 0.01, 0.95)

    cells = gpd.GeoDataFrame({
        "pop": np.bincount(cell_of, minlength=ncell).astype(float),
        "pauvres": np.bincount(cell_of, weights=pauvre, minlength=ncell),
        "jeunes": np.bincount(cell_of, weights=jeune, minlength=ncell),
    }, geometry=shapely.box(cx - RES / 2, cy - RES / 2, cx + RES / 2, cy + RES / 2), crs=L93)
    cells["bati"] = (cells["pop"] > 0).astype(float)

    # IRIS: Voronoi cells of seeds drawn among individuals
    k = max(2, int(round(len(px) / habitants_par_iris)))
    sel = rng.choice(len(px), size=k, replace=False)
    seeds = shapely.multipoints(np.column_stack([px[sel], py[sel]]))
    frame = shapely.box(minx, miny, maxx, maxy)
    vor = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame, ordered=True))
    vor = shapely.intersection(vor, frame)
    iris = gpd.GeoDataFrame({"code_iris": [f"99{i:07d}" for i in range(len(vor))]}, geometry=vor, crs=L93)

    counts_iris = _aggregate(pts, pauvre, jeune, iris.geometry.to_numpy(), iris["code_iris"].to_numpy())
    truth = _aggregate(pts, pauvre, jeune, quartiers.geometry.to_numpy(), quartiers["code_zone"].to_numpy())
    return Synthetic(cells, iris, quartiers, counts_iris, truth, real)


def _smooth_noise(shape: tuple[int, int], sigma_cells: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian-blurred white noise with unit standard deviation, flattened (row-major)."""
    z = rng.normal(0, 1, shape)
    r = max(1, int(3 * sigma_cells))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / max(sigma_cells, 1e-9)) ** 2)
    k /= k.sum()
    z = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 0, z)
    z = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 1, z)
    sd = z.std()
    return (z / sd if sd > 0 else z).ravel()


def _aggregate(pts, pauvre, jeune, polys, codes) -> pd.DataFrame:
    p_idx, i_idx = shapely.STRtree(pts).query(polys, predicate="contains")
    # a point on a shared edge could fall in two polygons: keep its first
    _, first = np.unique(i_idx, return_index=True)
    p_idx, i_idx = p_idx[first], i_idx[first]
    m = len(polys)
    df = pd.DataFrame({
        "pop": np.bincount(p_idx, minlength=m).astype(float),
        "pauvres": np.bincount(p_idx, weights=pauvre[i_idx], minlength=m),
        "jeunes": np.bincount(p_idx, weights=jeune[i_idx], minlength=m),
    }, index=pd.Index([str(c) for c in codes], name="code"))
    return df


def evaluate(syn: Synthetic, workdir: Path | str, pop_min: float = 100) -> pd.DataFrame:
    """Quartier rates of each method against the truth.

    Quartiers with fewer than ``pop_min`` simulated inhabitants are left out: their true rate is
    mostly sampling noise (INSEE would not publish it either).

    Returns one row per quartier × method × rate: ``code_zone, methode, indicateur, estime, vrai,
    erreur_abs`` (points), plus the quality measure of the dasymetric crosswalk (``qualite``,
    ``part_pop_iris_majoritaires``, ``n_iris``).
    """
    workdir = Path(workdir)
    pop_tif = grid_to_raster(syn.cells, "pop", workdir / "synthetic_pop.tif")
    bati_tif = grid_to_raster(syn.cells, "bati", workdir / "synthetic_bati.tif")
    cw_pop = iris_zone_crosswalk(syn.iris, syn.quartiers, raster=pop_tif)
    cw_bati = iris_zone_crosswalk(syn.iris, syn.quartiers, raster=bati_tif)
    runs = {"surface": (cw_pop, "surface"), "dasymetrique": (cw_pop, "dasymetrique"),
            "dasymetrique_bati": (cw_bati, "dasymetrique")}
    qual = None
    rows = []
    truth = syn.truth
    for name, (cw, method) in runs.items():
        est, q = estimate_counts(syn.counts_iris, cw, method=method)
        if name == "dasymetrique":
            qual = est.attrs["qualite"].set_index("code_zone")
        for ind, (num, den) in VARIABLES.items():
            e = 100 * est[num] / est[den]
            t = 100 * truth[num] / truth[den]
            for z in truth.index:
                if truth.loc[z, den] < max(pop_min, 1) or z not in e.index:
                    continue
                rows.append({"code_zone": z, "methode": name, "indicateur": ind, "estime": e[z], "vrai": t[z],
                             "erreur_abs": abs(e[z] - t[z]), "pop_vraie": truth.loc[z, den]})
    out = pd.DataFrame(rows)
    out = out.join(qual[["qualite", "part_pop_iris_majoritaires", "n_iris"]], on="code_zone")
    return out


def summarize(errors: pd.DataFrame, by: tuple[str, ...] = ("methode",)) -> pd.DataFrame:
    """Median and max absolute error (points) and the number of estimates, grouped by ``by``."""
    g = errors.groupby(list(by), observed=True)["erreur_abs"]
    return pd.DataFrame({"n": g.size(), "erreur_mediane": g.median(), "erreur_max": g.max()})


# ------------------------------------------------------------------------------------------------
# France scale (timing benchmark)
# ------------------------------------------------------------------------------------------------
@dataclass
class France:
    iris: gpd.GeoDataFrame       # code_iris, geometry
    quartiers: gpd.GeoDataFrame  # code_zone, geometry
    counts: pd.DataFrame         # index code_iris, 20 count columns
    pop_tif: Path
    bati_tif: Path


def simulate_france(workdir: Path | str, seed: int = 0, n_iris: int = 48_000, n_quartiers: int = 1_600,
                    side_km: float = 740.0, n_villes: int = 300, part_urbaine: float = 0.35,
                    n_variables: int = 20) -> France:
    """France-scale geometry and rasters (données simulées) for timings.

    IRIS: Voronoi cells of ``n_iris`` seeds, ``part_urbaine`` of them in ``n_villes`` Gaussian urban
    clusters (small IRIS, a few tenths of km²), the rest uniform over a ``side_km`` square (rural IRIS
    of about 15 km², like communes not split into IRIS). Quartiers: irregular 10–200 ha shapes near
    the cluster centres. Rasters (200 m, EPSG:2154): population (urban clusters + rural baseline, zero
    in 40 % of the rural cells) and the matching built-up mask (uint8: 1 built, 0 not, 255 nodata).
    """
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    side = side_km * 1000.0
    x0, y0 = 100_000.0, 6_100_000.0
    vc = np.column_stack([rng.uniform(x0 + 20e3, x0 + side - 20e3, n_villes),
                          rng.uniform(y0 + 20e3, y0 + side - 20e3, n_villes)])
    poids = rng.pareto(1.2, n_villes) + 1
    poids /= poids.sum()
    sig = rng.uniform(1500, 6000, n_villes)
    n_urb = int(n_iris * part_urbaine)
    which = rng.choice(n_villes, size=n_urb, p=poids)
    urb = vc[which] + rng.normal(0, 1, (n_urb, 2)) * sig[which, None]
    rur = np.column_stack([rng.uniform(x0, x0 + side, n_iris - n_urb), rng.uniform(y0, y0 + side, n_iris - n_urb)])
    seeds = np.vstack([urb, rur])
    seeds = np.clip(seeds, [x0 + 1, y0 + 1], [x0 + side - 1, y0 + side - 1])
    frame = shapely.box(x0, y0, x0 + side, y0 + side)
    vor = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame, ordered=True))
    vor = shapely.intersection(vor, frame)
    iris = gpd.GeoDataFrame({"code_iris": [f"{i:09d}" for i in range(len(vor))]}, geometry=vor, crs=L93)

    # quartiers near cluster centres, in proportion to the cluster weight
    wq = rng.choice(n_villes, size=int(n_quartiers * 3), p=poids)
    cq = vc[wq] + rng.normal(0, 1, (len(wq), 2)) * sig[wq, None]
    quartiers = random_quartiers(cq, rng)
    quartiers = quartiers.iloc[:n_quartiers].reset_index(drop=True)

    # rasters
    ncol = nrow = int(side / RES)
    pop = np.full((nrow, ncol), 0.0, dtype="float32")
    rural = rng.random((nrow, ncol)) < 0.6
    pop[rural] = rng.gamma(1.0, 4.0, int(rural.sum()))
    gx = x0 + (np.arange(ncol) + 0.5) * RES
    gy = y0 + side - (np.arange(nrow) + 0.5) * RES
    for (vx, vy), p, s in zip(vc, poids, sig):
        c0, c1 = np.searchsorted(gx, [vx - 3 * s, vx + 3 * s])
        r0, r1 = np.searchsorted(-gy, [-(vy + 3 * s), -(vy - 3 * s)])
        if c1 <= c0 or r1 <= r0:
            continue
        dx = gx[c0:c1][None, :] - vx
        dy = gy[r0:r1][:, None] - vy
        pop[r0:r1, c0:c1] += (p * 4e7 / (2 * np.pi * s * s) * RES * RES
                              * np.exp(-(dx * dx + dy * dy) / (2 * s * s))).astype("float32")
    transform = from_origin(x0, y0 + side, RES, RES)
    pop_tif, bati_tif = workdir / "france_pop.tif", workdir / "france_bati.tif"
    prof = dict(driver="GTiff", width=ncol, height=nrow, count=1, crs="EPSG:2154", transform=transform,
                compress="deflate", tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(pop_tif, "w", dtype="float32", **prof) as dst:
        dst.write(pop, 1)
    with rasterio.open(bati_tif, "w", dtype="uint8", nodata=255, **prof) as dst:
        dst.write((pop > 0.5).astype("uint8"), 1)
    counts = pd.DataFrame(rng.gamma(2.0, 300.0, (len(iris), n_variables)),
                          index=iris["code_iris"], columns=[f"v{j:02d}" for j in range(n_variables)])
    return France(iris, quartiers, counts, pop_tif, bati_tif)
