#!/usr/bin/env python
"""Banc d'essai de l'estimation à l'échelle des quartiers (issue 4) — données simulées.

1. Vérité terrain synthétique : erreur médiane et maximale de chaque méthode sur les taux des quartiers
   (15 quartiers 2024 réels de Valenciennes Métropole si ../shared est présent, plus des territoires à
   quartiers aléatoires), erreur par classe de qualité, variantes « stress ».
2. Comparaison avec tobler à l'échelle d'une agglomération : area_interpolate contre la méthode
   surface, masked_area_interpolate (masque bâti) contre la méthode dasymétrique ; rapports de temps.
3. Échelle France (≈ 48 000 IRIS, ≈ 1 600 quartiers simulés) : table de passage + allocation
   dasymétrique de 20 variables (cible ≤ 30 s), mêmes comparaisons ; masked_area_interpolate de tobler
   est lancé sur un sous-ensemble puis extrapolé (il prendrait plusieurs minutes sur la France).

Usage : ``python scripts/bench_spatial.py [--graines 12] [--rapide] [--sans-tobler] [--csv erreurs.csv]``
Code de sortie 1 si un critère d'acceptation n'est pas atteint.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from observatoire.fr import format_nombre
from observatoire.verification import synthetic as S
from observatoire.spatial.crosswalk import iris_zone_crosswalk
from observatoire.spatial.estimate import allocate, estimate_counts

SEUIL_ERREUR = 1.5      # points (issue 4)
SEUIL_FRANCE_S = 30.0   # secondes (issue 4)


def n(x, d=2):
    return format_nombre(x, d)


def titre(t: str) -> None:
    print()
    print(t)
    print("=" * len(t))


def table(df: pd.DataFrame) -> None:
    txt = df.copy()
    for c in txt.columns:
        if pd.api.types.is_float_dtype(txt[c]):
            txt[c] = [n(v) for v in txt[c]]
    print(txt.to_string())


def chrono(f, *a, **k):
    t = time.perf_counter()
    r = f(*a, **k)
    return r, time.perf_counter() - t


# ------------------------------------------------------------------------------------------------
def verite_terrain(graines: int, workdir: Path, csv: Path | None) -> list[tuple[str, bool]]:
    titre("1. Vérité terrain synthétique (données simulées)")
    q = S.load_real_quartiers()
    runs = []
    if q is not None:
        runs += [("reels", s, dict(quartiers=q)) for s in range(graines)]
    else:
        print("(../shared absent : quartiers aléatoires seulement)")
    runs += [("aleatoires", 100 + s, dict(size_m=12_000, n_quartiers=12)) for s in range(graines)]
    errs = []
    t0 = time.perf_counter()
    for kind, seed, kw in runs:
        syn = S.simulate_truth(seed, **kw)
        e = S.evaluate(syn, workdir)
        e["territoire"], e["graine"] = kind, seed
        errs.append(e)
    err = pd.concat(errs, ignore_index=True)
    print(f"{len(runs)} territoires simulés ({graines} graines × "
          f"{'2 jeux de quartiers' if q is not None else '1 jeu de quartiers'}), "
          f"{err['code_zone'].nunique()} quartiers distincts, {n(time.perf_counter() - t0, 1)} s")
    if csv:
        err.to_csv(csv, index=False, sep=";")
    print("\nErreur absolue sur les taux (points), par méthode et indicateur :")
    table(S.summarize(err, ("indicateur", "methode")))
    if q is not None:
        print("\nQuartiers réels seulement :")
        table(S.summarize(err[err["territoire"] == "reels"], ("indicateur", "methode")))
    tot = S.summarize(err, ("methode",))
    print("\nTous taux confondus :")
    table(tot)
    med_d, med_s = tot.loc["dasymetrique", "erreur_mediane"], tot.loc["surface", "erreur_mediane"]
    checks = [(f"erreur médiane dasymétrique {n(med_d)} ≤ {n(SEUIL_ERREUR, 1)} point", med_d <= SEUIL_ERREUR),
              (f"dasymétrique ({n(med_d)}) meilleure que surface ({n(med_s)})", med_d < med_s)]

    d = err[err["methode"] == "dasymetrique"]
    print("\nClasses de qualité (méthode dasymétrique ; seuils dans observatoire/spatial/quality.py) :")
    g = d.groupby("qualite")["erreur_abs"]
    qt = pd.DataFrame({"n": g.size(), "erreur_mediane": g.median(), "erreur_q3": g.quantile(0.75),
                       "erreur_max": g.max()}).reindex(["bonne", "moyenne", "faible"])
    table(qt)
    bins = pd.cut(d["part_pop_iris_majoritaires"], [-0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0])
    g = d.groupby(bins, observed=True)["erreur_abs"]
    print("\nErreur selon la part de population venant d'IRIS majoritaires :")
    table(pd.DataFrame({"n": g.size(), "erreur_mediane": g.median(), "erreur_q3": g.quantile(0.75)}))

    print("\nVariantes « stress » (limites de toute estimation à partir des IRIS) :")
    rows = []
    for label, kw in [("saut de +10 points du taux de pauvreté à la limite des quartiers", dict(effet_quartier=0.10)),
                      ("gradient de taux raide (échelle 1,5 km au lieu de 5 km)", dict(echelle_taux_m=1500.0))]:
        es = []
        for s in range(max(2, graines // 2)):
            syn = S.simulate_truth(s, **(dict(quartiers=q) if q is not None else dict(size_m=12_000, n_quartiers=12)),
                                   **kw)
            es.append(S.evaluate(syn, workdir))
        e = pd.concat(es)
        e = e[e["indicateur"] == "taux_pauvrete"]
        m = e.groupby("methode")["erreur_abs"].median()
        rows.append({"variante": label, **{f"médiane {k}": v for k, v in m.items()}})
    table(pd.DataFrame(rows).set_index("variante"))
    return checks


# ------------------------------------------------------------------------------------------------
def _table64(cw: pd.DataFrame, iris_codes, zone_codes):
    """Intersection areas (float64) as the sparse source × target table tobler accepts."""
    si = pd.Index(iris_codes).get_indexer(cw["code_iris"])
    ti = pd.Index(zone_codes).get_indexer(cw["code_zone"])
    return sp.csr_array((cw["surface_inter_m2"].to_numpy(float), (si, ti)), shape=(len(iris_codes), len(zone_codes)))


def _rel(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    b = b.reindex(a.index)[a.columns]
    return (a - b).abs().to_numpy() / np.maximum(1.0, b.abs().to_numpy())


def comparer_tobler(iris, quartiers, counts, bati_tif, label: str, sous_ensemble=None) -> dict:
    """Time and agreement against tobler (area_interpolate, masked_area_interpolate)."""
    from tobler.area_weighted import area_interpolate
    from tobler.dasymetric import masked_area_interpolate

    cols = list(counts.columns)
    src = iris.join(counts, on="code_iris")
    zones = quartiers["code_zone"].astype(str).to_numpy()
    out = {}
    # area weighting: no sliver tolerance, so that both use exactly the same pieces
    (cw, t1) = chrono(iris_zone_crosswalk, iris, quartiers, min_area_m2=0, min_share=0)
    (est, t2) = chrono(allocate, counts, cw, "surface")
    out["surface_nous"] = t1 + t2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tob, out["surface_tobler"] = chrono(area_interpolate, src, quartiers, extensive_variables=cols,
                                            allocate_total=False)
        tob.index = zones
        out["surface_ecart_rel"] = float(np.nanmax(_rel(est, tob)))
        tab = _table64(cw, iris["code_iris"].to_numpy(), zones)
        tob64 = area_interpolate(src, quartiers, extensive_variables=cols, allocate_total=False, table=tab)
        tob64.index = zones
        out["surface_ecart_rel_table64"] = float(np.nanmax(_rel(est, tob64)))

        # dasymetric with the built-up mask vs tobler's masked interpolation (one process)
        if sous_ensemble is not None:
            iris_m = iris[sous_ensemble]
            quart_m = quartiers[quartiers.intersects(iris_m.union_all())]
        else:
            iris_m, quart_m = iris, quartiers
        (cw_b, t3) = chrono(iris_zone_crosswalk, iris_m, quart_m, raster=bati_tif)
        (res, t4) = chrono(estimate_counts, counts, cw_b)
        out["masque_nous"] = t3 + t4
        m, out["masque_tobler"] = chrono(masked_area_interpolate, src[src["code_iris"].isin(iris_m["code_iris"])],
                                         quart_m, raster=str(bati_tif), pixel_values=[1], extensive_variables=cols,
                                         allocate_total=False, n_jobs=1)
        m.index = quart_m["code_zone"].astype(str).to_numpy()
        r = _rel(res[0], m)
        out["masque_ecart_median"] = float(np.nanmedian(r))
        out["masque_ecart_max"] = float(np.nanmax(r))
        out["masque_n_iris"] = len(iris_m)
        out["masque_n_quartiers"] = len(quart_m)
    print(f"\n{label} : {format_nombre(len(iris))} IRIS, {format_nombre(len(quartiers))} quartiers, "
          f"{len(cols)} variables")
    print(f"  surface : nous {n(out['surface_nous'])} s, tobler.area_interpolate {n(out['surface_tobler'])} s "
          f"(rapport tobler / nous : {n(out['surface_tobler'] / out['surface_nous'], 1)})")
    print(f"    écart relatif max : {out['surface_ecart_rel']:.1e} (tobler stocke les surfaces d'intersection en "
          f"float32) ; avec une table float64 : {out['surface_ecart_rel_table64']:.1e}")
    sub = "" if sous_ensemble is None else (f" (sous-ensemble : {format_nombre(out['masque_n_iris'])} IRIS, "
                                            f"{format_nombre(out['masque_n_quartiers'])} quartiers)")
    print(f"  masque bâti{sub} : nous {n(out['masque_nous'])} s, tobler.masked_area_interpolate "
          f"{n(out['masque_tobler'])} s (rapport : {n(out['masque_tobler'] / out['masque_nous'], 0)})")
    print(f"    écart relatif médian {n(100 * out['masque_ecart_median'])} %, max {n(100 * out['masque_ecart_max'])} % "
          f"(sous-carreaux de 50 m contre polygones exacts du masque)")
    return out


def agglomeration(workdir: Path) -> list[tuple[str, bool]]:
    titre("2. Comparaison avec tobler : agglomération (données simulées)")
    q = S.load_real_quartiers()
    syn = S.simulate_truth(0, **(dict(quartiers=q) if q is not None else dict(size_m=12_000, n_quartiers=12)))
    from observatoire.spatial.raster import grid_to_raster

    bati = grid_to_raster(syn.cells.assign(bati=(syn.cells["pop"] > 0).astype("uint8")), "bati",
                          workdir / "agglo_bati.tif")
    bati_u8 = workdir / "agglo_bati_u8.tif"
    _to_uint8(bati, bati_u8)
    counts = syn.counts_iris.copy()
    counts.index.name = "code_iris"
    rng = np.random.default_rng(0)
    for j in range(17):
        counts[f"v{j:02d}"] = rng.gamma(2.0, 300.0, len(counts))
    out = comparer_tobler(syn.iris, syn.quartiers, counts, bati_u8, "Agglomération")
    return [(f"agglomération : surface identique à tobler (écart {out['surface_ecart_rel_table64']:.0e} ≤ 1e-9 "
             f"avec la même table float64)", out["surface_ecart_rel_table64"] <= 1e-9)]


def _to_uint8(src_path: Path, dst_path: Path) -> None:
    import rasterio

    with rasterio.open(src_path) as s:
        prof = s.profile
        a = s.read(1)
    prof.update(dtype="uint8", nodata=255)
    with rasterio.open(dst_path, "w", **prof) as d:
        d.write((a > 0).astype("uint8"), 1)


def france(workdir: Path, rapide: bool, sans_tobler: bool) -> list[tuple[str, bool]]:
    titre("3. Échelle France (données simulées)")
    kw = dict(n_iris=12_000, n_quartiers=400, side_km=370.0, n_villes=80) if rapide else {}
    fr, t_sim = chrono(S.simulate_france, workdir / "france", **kw)
    a = fr.iris.area / 1e6
    print(f"simulation : {format_nombre(len(fr.iris))} IRIS (surface médiane {n(a.median(), 1)} km², 5 % sous "
          f"{n(a.quantile(0.05))} km², 5 % au-dessus de {n(a.quantile(0.95), 0)} km²), "
          f"{format_nombre(len(fr.quartiers))} quartiers, raster 200 m, {n(t_sim, 1)} s")
    (cw, t1) = chrono(iris_zone_crosswalk, fr.iris, fr.quartiers, raster=fr.pop_tif)
    ((est, qual), t2) = chrono(estimate_counts, fr.counts, cw)
    total = t1 + t2
    print(f"table de passage + poids dasymétriques : {n(t1)} s ; allocation de {fr.counts.shape[1]} variables : "
          f"{n(t2, 3)} s ; total {n(total)} s (cible ≤ {n(SEUIL_FRANCE_S, 0)} s)")
    print(f"  {format_nombre(len(cw))} morceaux IRIS × quartier, {format_nombre(cw['code_iris'].nunique())} IRIS "
          f"concernés ; qualité : " + ", ".join(f"{k} {v}" for k, v in qual.value_counts().items()))
    # real CONTOURS-IRIS outlines have hundreds of vertices: same run with a vertex every 20 m
    import shapely

    iris_d = fr.iris.assign(geometry=shapely.segmentize(fr.iris.geometry.to_numpy(), 20.0))
    quart_d = fr.quartiers.assign(geometry=shapely.segmentize(fr.quartiers.geometry.to_numpy(), 20.0))
    nv = int(shapely.get_num_coordinates(iris_d.geometry.to_numpy()).sum())
    (cw_d, t3) = chrono(iris_zone_crosswalk, iris_d, quart_d, raster=fr.pop_tif)
    (_, t4) = chrono(estimate_counts, fr.counts, cw_d)
    total_d = t3 + t4
    print(f"  mêmes contours densifiés (un sommet tous les 20 m, {format_nombre(nv)} sommets d'IRIS) : "
          f"total {n(total_d)} s")
    checks = [(f"France : table de passage + allocation dasymétrique de {fr.counts.shape[1]} variables en "
               f"{n(total)} s ({n(total_d)} s avec contours densifiés) ≤ {n(SEUIL_FRANCE_S, 0)} s",
               max(total, total_d) <= SEUIL_FRANCE_S)]
    if not sans_tobler:
        cx = fr.iris.geometry.centroid.x
        cy = fr.iris.geometry.centroid.y
        span = 185_000.0 if not rapide else 120_000.0
        sub = ((cx < cx.min() + span) & (cy < cy.min() + span)).to_numpy()
        out = comparer_tobler(fr.iris, fr.quartiers, fr.counts, fr.bati_tif, "France", sous_ensemble=sub)
        ext = out["masque_tobler"] * len(fr.iris) / out["masque_n_iris"]
        print(f"  tobler.masked_area_interpolate extrapolé à toute la France (proportionnel au nombre d'IRIS) : "
              f"≈ {n(ext, 0)} s, contre {n(total)} s pour notre méthode dasymétrique (rapport ≈ {n(ext / total, 0)})")
        checks.append((f"France : surface identique à tobler (écart {out['surface_ecart_rel_table64']:.0e} ≤ 1e-9 "
                       f"avec la même table float64)", out["surface_ecart_rel_table64"] <= 1e-9))
    return checks


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graines", type=int, default=12, help="territoires simulés par jeu de quartiers")
    p.add_argument("--rapide", action="store_true", help="moins de graines, France réduite (12 000 IRIS)")
    p.add_argument("--sans-tobler", action="store_true", help="ne pas lancer tobler à l'échelle France")
    p.add_argument("--csv", type=Path, help="écrire les erreurs par quartier dans ce CSV")
    a = p.parse_args(argv)
    graines = 3 if a.rapide else a.graines
    print("Banc d'essai de l'estimation à l'échelle des quartiers — données simulées")
    t0 = time.perf_counter()
    checks = []
    with tempfile.TemporaryDirectory(prefix="bench_spatial_") as tmp:
        tmp = Path(tmp)
        checks += verite_terrain(graines, tmp, a.csv)
        checks += agglomeration(tmp)
        checks += france(tmp, a.rapide, a.sans_tobler)
    titre("Critères d'acceptation")
    for label, ok in checks:
        print(f"[{'OK' if ok else 'ÉCHEC'}] {label}")
    print(f"\nDurée totale : {n(time.perf_counter() - t0, 0)} s")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
