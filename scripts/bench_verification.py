"""Banc d'essai de la vérification des estimations par quartier (issue 15) — données simulées.

La vérification (``observatoire verifier``) compare les estimations des quartiers 2015 faites à partir
des IRIS aux chiffres que l'Insee publie pour ces quartiers. Ce banc d'essai lance exactement les mêmes
fonctions (:func:`observatoire.verification.backtest`, :func:`~observatoire.verification.summarise`,
:func:`~observatoire.verification.quality_from_backtest`, :func:`~observatoire.verification.choose_method`)
sur la vérité terrain simulée de :mod:`observatoire.verification.synthetic` : des individus simulés sur une
grille de 200 m, agrégés en IRIS simulés (≈ 2 000 habitants) et en quartiers (les 15 quartiers 2024 réels
de Valenciennes Métropole quand ``../shared`` est là, des quartiers aléatoires sinon). Le « chiffre du
producteur » d'un quartier est ici son vrai effectif simulé. Un changement d'estimateur (poids, règle de
couverture, classe de qualité) se voit donc directement dans le tableau imprimé.

Indicateurs simulés : population (effectif, écart en %), taux de pauvreté et part des moins de 25 ans
(taux, écart en points) ; quartiers de moins de 100 habitants simulés écartés (l'Insee ne les publierait
pas). Les tables passent par le moteur d'indicateurs (:func:`observatoire.indicators.units.evaluate_group`)
comme les vraies.

Usage : ``python scripts/bench_verification.py [--graines 6] [--rapide] [--effet-quartier 0.10]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


import pandas as pd

from observatoire import verification as V
from observatoire.catalogue import Indicateur
from observatoire.fr import format_nombre, format_pourcentage
from observatoire.indicators.units import evaluate_group, group_tables
from observatoire.sources.table import SourceTable
from observatoire.verification import synthetic as S
from observatoire.verification.page import METHODE_LIBELLES
from observatoire.spatial.crosswalk import iris_zone_crosswalk
from observatoire.spatial.raster import grid_to_raster, zonal_sums

MILLESIME = 2019
POP_MIN = 100

CATALOGUE = {
    "population": Indicateur("population", "Population (simulée)", "demographie", "nombre", "effectif",
                             "synthetique", variable="pop"),
    "taux_pauvrete": Indicateur("taux_pauvrete", "Taux de pauvreté (simulé)", "revenus", "%", "ratio",
                                "synthetique", numerateur="pauvres", denominateur="pop"),
    "part_jeunes": Indicateur("part_jeunes", "Part des moins de 25 ans (simulée)", "demographie", "%", "ratio",
                              "synthetique", numerateur="jeunes", denominateur="pop"),
}


def _table(niveau: str, counts: pd.DataFrame) -> SourceTable:
    data = counts[["pop", "pauvres", "jeunes"]].astype(float)
    data.index = data.index.astype(str).rename("code")
    statut = pd.DataFrame("ok", index=data.index, columns=data.columns)
    return SourceTable("synthetique", niveau, MILLESIME, MILLESIME, data, statut, simule=True)


def territoire_simule(syn: S.Synthetic, workdir: Path, label: str, seed: int) -> pd.DataFrame:
    """Back-test of one simulated territory: the rows of :func:`observatoire.verification.backtest`."""
    pop_tif = grid_to_raster(syn.cells, "pop", workdir / f"pop_{seed}.tif")
    cw = iris_zone_crosswalk(syn.iris, syn.quartiers, raster=pop_tif)
    totals = pd.DataFrame({"code_zone": syn.quartiers["code_zone"].astype(str).to_numpy(),
                           "surface_m2": syn.quartiers.geometry.area.to_numpy(),
                           "population_zone": zonal_sums(syn.quartiers.geometry.reset_index(drop=True), pop_tif)})
    truth = syn.truth[syn.truth["pop"] >= POP_MIN]
    tables = [_table("iris", syn.counts_iris), _table("qpv2015", truth)]
    groups = group_tables(tables)
    units = {key: evaluate_group(g, CATALOGUE, groups) for key, g in groups.items()}
    err = V.backtest({MILLESIME: units[("iris", MILLESIME)]}, {MILLESIME: units[("qpv2015", MILLESIME)]}, cw,
                     zones_total=totals, catalogue=CATALOGUE, territoire=label, geometrie_simulee=True,
                     iris_population=syn.counts_iris["pop"])
    err["code_quartier"] = f"{seed}:" + err["code_quartier"].astype(str)
    err["graine"] = seed
    return err


def _fmt_ecart(x, unite):
    return V.format_ecart(x, unite)


def imprimer_resume(summary: pd.DataFrame) -> None:
    rows = []
    for r in summary.sort_values(["territoire", "indicateur", "methode"]).itertuples():
        rows.append({"territoire": r.territoire, "indicateur": CATALOGUE[r.indicateur].libelle,
                     "méthode": METHODE_LIBELLES[r.methode], "quartiers": r.n_quartiers,
                     "écart médian": _fmt_ecart(r.ecart_median_abs, r.unite_ecart),
                     "biais": V.format_ecart(r.biais, r.unite_ecart, signe=True),
                     "dans la tolérance": f"{format_pourcentage(100 * r.part_dans_tolerance, 0)} ({r.tolerance})"})
    print(pd.DataFrame(rows).to_string(index=False))


def imprimer_qualite(err: pd.DataFrame) -> None:
    """Do the estimates' own classes track the error? (rates, dasymetric)."""
    d = err[(err["unite_ecart"] == "points") & (err["methode"] == "dasymetrique") & err["ecart"].notna()]
    g = d.assign(a=d["ecart"].abs()).groupby("qualite")["a"]
    t = pd.DataFrame({"estimations": g.size(), "écart médian": g.median(), "3e quartile": g.quantile(0.75)})
    t = t.reindex([c for c in ("bonne", "moyenne", "faible") if c in t.index])
    print(t.to_string(formatters={"écart médian": lambda x: format_nombre(x, 2),
                                  "3e quartile": lambda x: format_nombre(x, 2)}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graines", type=int, default=6, help="territoires simulés par jeu de quartiers")
    p.add_argument("--rapide", action="store_true", help="2 graines par jeu de quartiers")
    p.add_argument("--effet-quartier", type=float, default=0.0,
                   help="saut du taux de pauvreté à la limite des quartiers (variante « stress », ex. 0.10)")
    a = p.parse_args(argv)
    graines = 2 if a.rapide else a.graines
    t0, c0 = time.perf_counter(), time.process_time()
    print("Banc d'essai de la vérification des estimations par quartier — données simulées")
    print("=" * 80)
    q = S.load_real_quartiers()
    runs = []
    if q is not None:
        label = "quartiers réels de Valenciennes (population simulée)"
        runs += [(label, s, dict(quartiers=q)) for s in range(graines)]
    else:
        print("(../shared absent : quartiers aléatoires seulement)")
    runs += [("quartiers aléatoires (simulés)", 100 + s, dict(size_m=12_000, n_quartiers=12)) for s in range(graines)]
    frames = []
    with tempfile.TemporaryDirectory(prefix="bench_verification_") as tmp:
        tmp = Path(tmp)
        for label, seed, kw in runs:
            syn = S.simulate_truth(seed, effet_quartier=a.effet_quartier, **kw)
            frames.append(territoire_simule(syn, tmp, label, seed))
    err = pd.concat(frames, ignore_index=True)
    t_calc, c_calc = time.perf_counter() - t0, time.process_time() - c0
    print(f"{len(runs)} territoires simulés ({graines} graines par jeu de quartiers), "
          f"{err['code_quartier'].nunique()} quartiers, {int(err['ecart'].notna().sum())} comparaisons"
          + (f", saut de {format_nombre(100 * a.effet_quartier, 0)} points à la limite des quartiers"
             if a.effet_quartier else ""))

    summary = V.summarise(err)
    print("\n1. Écarts par indicateur et méthode (même tableau que la page de vérification)")
    imprimer_resume(summary)

    pooled = V.summarise(err.assign(territoire="tous les territoires simulés"))
    print("\n2. Tous territoires confondus")
    imprimer_resume(pooled)

    print("\n3. Qualité au mieux tirée des écarts mesurés (règle de observatoire/indicators/qualite.py)")
    caps = V.quality_from_backtest(pooled, CATALOGUE)
    ch = V.choose_method(pooled, CATALOGUE).set_index("famille")
    print(pd.DataFrame({"famille": [V.family_label(f) for f in caps["famille"]],
                        "méthode": [METHODE_LIBELLES[m] for m in caps["methode"]],
                        "écart médian": [_fmt_ecart(x, u)
                                         for x, u in zip(caps["ecart_median_abs"], caps["unite_ecart"])],
                        "qualité au mieux": caps["plafond"].fillna("règle de couverture seule"),
                        "méthode retenue": ["oui" if ch.loc[f, "methode_retenue"] == m else ""
                                            for f, m in zip(caps["famille"], caps["methode"])]}).to_string(index=False))

    print("\n4. Classe de qualité propre à chaque estimation et écart mesuré (taux, dasymétrique, en points)")
    imprimer_qualite(err)

    print("\n5. Phrase des notes de méthode des portraits, appliquée à ce banc d'essai :")
    print("   " + V.method_note(pooled, "dasymetrique"))
    print("   " + V.method_note(pooled, "surface"))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"\nDurée : {format_nombre(wall, 1)} s (CPU {format_nombre(cpu, 1)} s), dont simulation et estimation "
          f"{format_nombre(t_calc, 1)} s (CPU {format_nombre(c_calc, 1)} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
