"""Simulated files of the demo mirror (``simule: true``), in the exact official formats.

Always simulated (no real copy exists to this project): IRIS contours (with the real IRIS codes and
names of the territory), census IRIS and commune tables, the Filosofi 200 m grid, the tables of the 2024
quartiers, Cnam C2S by commune, and the Filosofi editions after the last real one (2021: IRIS, communes,
EPCI, départements, France, carried forward from 2019 by :mod:`observatoire.demo.prolongation`). In the
fully simulated territory (no ``../shared``), every other file as well: composition, outlines,
perimeters, INSEE quartier tables, Filosofi (its first edition; later ones are carried forward the same
way), Cnaf.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..sources import anct, ign
from ..sources.insee_cog import EPCI_SOURCE, IRIS_SOURCE
from ..sources.insee_filosofi import SOURCES as FILO_SOURCES
from . import ecriture as w
from .ecriture import NOTE_SIMULE, Miroir, zip_bytes
from .monde import FILOSOFI_QP_REEL, Monde
from .prolongation import carry_filosofi, carry_quartiers_2015
from .simulation import aggregate, area_weights, census, cnaf_counts, cnam_counts, filosofi_values, pe_counts

_FILO = {s.id: s for s in FILO_SOURCES}


@dataclass
class _Grille:
    """What :func:`observatoire.demo.grid.write_grid` reads."""

    iris: gpd.GeoDataFrame
    communes: gpd.GeoDataFrame
    qpv2024: gpd.GeoDataFrame
    rng: np.random.Generator
    add_file: object
    millesimes: dict


def _v(year: int, years: list[int]) -> float:
    return 0.0 if len(years) < 2 else (year - min(years)) / (max(years) - min(years))


def write_simulated_files(m: Miroir, monde: Monde, iris: gpd.GeoDataFrame, rng: np.random.Generator) -> None:
    """Every simulated file the mirror needs for ``monde`` (see the module docstring)."""
    dep = monde.territoire.departements[0]
    reg = str(monde.composition.loc[monde.composition["dep"] == dep, "reg"].iloc[0])
    _iris_contours(m, iris, monde)
    census_iris = _census(m, monde, iris, dep, reg, rng)
    _grid(m, monde, iris, rng)
    _quartiers_2024(m, monde, iris, census_iris, rng)
    _cnam_communes(m, monde, rng)
    if not monde.reel:
        _fictitious_world(m, monde, iris, census_iris, rng)
    carry_filosofi(m, list(monde.millesimes["filosofi"]), rng)


def _iris_contours(m: Miroir, iris: gpd.GeoDataFrame, monde: Monde) -> None:
    for dep in monde.territoire.departements:
        sub = iris[iris["code_insee"].map(dict(zip(monde.composition["code_insee"], monde.composition["dep"]))) == dep]
        out = gpd.GeoDataFrame({"code_insee": sub["code_insee"], "nom_commune": sub["nom_commune"],
                                "iris": sub["code_iris"].str[5:], "code_iris": sub["code_iris"],
                                "nom_iris": sub["nom_iris"], "type_iris": sub["type_iris"]},
                               geometry=sub.geometry.values, crs=sub.crs)
        note = ("simulé : contours IRIS fictifs (cellules de Voronoï) portant les codes et noms réels des IRIS de la table "
                "de l'Insee" if monde.reel else "simulé : IRIS fictifs")
        m.write(f"{ign.IRIS.id}/{ign.IRIS.fichier.format(dep=dep)}", w.wfs_geojson(out, "contours_iris"), simule=True,
                note=note, url=ign.IRIS.url.format(dep=dep))


def _census(m: Miroir, monde: Monde, iris: gpd.GeoDataFrame, dep: str, reg: str, rng) -> dict[int, dict]:
    """Census IRIS tables (every rp vintage) and commune tables of the départements; returns the IRIS
    counts by vintage (the 2024 quartier tables are built from them)."""
    years = list(monde.millesimes["rp"])
    out = {}
    com = monde.communes_dep
    simulated = set(iris["code_insee"])
    others = com[~com["code_insee"].isin(simulated)].reset_index(drop=True)
    for y in years:
        v = _v(y, years)
        pop = iris["population"].to_numpy(float) * (1 + 0.02 * (v - 1) * (iris["f"].to_numpy() - 0.3))
        c = census(iris["f"].to_numpy(float), pop, v, rng)
        out[y] = c
        c_other = (census(others["f"].to_numpy(float), others["population"].to_numpy(float) * (1 - 0.01 * (1 - v)), v, rng)
                   if len(others) else None)
        for theme, df in c.items():
            if theme.startswith("_"):
                continue
            rel, data = w.base_ic(theme, y, iris, df, dep, reg)
            m.write(rel, data, simule=True, note=NOTE_SIMULE + " ; IRIS calibrés sur les vrais chiffres Filosofi et des "
                                                               "quartiers 2015" if monde.reel else NOTE_SIMULE)
            summed = df.groupby(iris["code_insee"].to_numpy()).sum()
            rows = summed if c_other is None else pd.concat([summed, c_other[theme].set_axis(others["code_insee"].to_numpy())])
            meta = com.set_index("code_insee").loc[rows.index].reset_index()
            rel, data = w.base_cc(theme, y, meta, rows.reset_index(drop=True))
            m.write(rel, data, simule=True, note=NOTE_SIMULE + " ; toutes les communes du département (population réelle "
                                                               "des ménages fiscaux), les communes du territoire étant la "
                                                               "somme de leurs IRIS")
    return out


def _grid(m: Miroir, monde: Monde, iris: gpd.GeoDataFrame, rng) -> None:
    from .grid import write_grid

    communes = monde.communes[monde.communes["code_insee"].isin(set(iris["code_insee"]))]
    write_grid(m.dest, _Grille(iris, communes, monde.qpv2024, rng, m.add_file, monde.millesimes))


#: Share of a 2024 quartier that 2015 quartiers must cover for their real Filosofi figures, carried
#: forward, to stand for it (below: the simulated IRIS). 0.25 keeps every 2024 successor of a 2015
#: quartier of Valenciennes Métropole (lowest: 26 %) and leaves the new ones (QN05992N: 0 %) simulated.
PART_MIN_2015 = 0.25


def _quartiers_2024(m: Miroir, monde: Monde, iris: gpd.GeoDataFrame, census_iris: dict, rng) -> None:
    """Tables of the 2024 quartiers (census, Cnaf, Filosofi), from the simulated IRIS (area weights); the
    Filosofi figures of a 2024 quartier that 2015 quartiers cover (:data:`PART_MIN_2015`) carry their real
    figures forward instead (:func:`observatoire.demo.prolongation.carry_quartiers_2015`), so that its
    2021 figure continues the series transposed from the 2015 quartiers."""
    q = monde.qpv2024
    if q.empty:
        return
    wts = area_weights(iris, q)
    codes = q["code_qp"].astype(str).tolist()
    libs = q["lib_qp"].astype(str).tolist()
    idx = pd.Index(iris["code_iris"])
    last = max(census_iris)
    c = {t: df.set_axis(idx) for t, df in census_iris[last].items()}
    agg = {t: aggregate(df, wts).reindex(codes) for t, df in c.items()}
    rates = w.rates_for_qp(agg["evol-struct-pop"], agg)
    note = "simulé : tableau des quartiers 2024 (forme supposée, celle des tableaux réels par quartier 2015), chiffres " \
           "des IRIS simulés agrégés sur les périmètres 2024 réels"
    for y in monde.millesimes["qp2024"]:
        m.write(f"insee_qp2024_rp/RP_{y}_QN.csv", w.qp_table("RP", y, codes, libs, rates, groupe=True), simule=True, note=note)
        pop = iris["population"].to_numpy(float)
        caf = aggregate(cnaf_counts(iris["f"].to_numpy(float), pop, 1.0, rng).set_axis(idx), wts).reindex(codes)
        m.write(f"insee_qp2024_caf/data_CAF_{y}_QN.csv", w.qp_table("CAF", y, codes, None, caf), simule=True, note=note)
    pop = pd.Series(iris["population"].to_numpy(float), index=idx)
    fq = aggregate(pd.DataFrame({"fp": iris["f"].to_numpy() * pop.to_numpy(), "p": pop.to_numpy()}, index=idx), wts)
    fq = (fq["fp"] / fq["p"]).reindex(codes).fillna(0.6).to_numpy()
    vals = filosofi_values(fq, rng).set_axis(codes)
    filo_note = note
    if monde.filo_qp is not None:  # the real figures of the 2015 quartiers they cover, carried forward
        real = carry_quartiers_2015(q, monde.qpv2015, monde.filo_qp, rng)
        real = real[real["part"] >= PART_MIN_2015] if len(real) else real
        for col in vals.columns.intersection(real.columns):
            vals.loc[real.index, col] = real[col].fillna(vals.loc[real.index, col])
        filo_note = (f"simulé : Filosofi des quartiers 2024 (forme supposée) ; pour les {len(real)} quartiers "
                     f"recouverts au moins au quart par des quartiers 2015, prolongation des chiffres réels "
                     f"{FILOSOFI_QP_REEL} de ces quartiers (moyenne pondérée par la surface, revenus +4 % environ, "
                     "taux ± bruit léger) ; pour les autres, IRIS simulés agrégés sur les périmètres 2024 réels")
    for y in monde.millesimes["filosofi_qp2024"]:
        name = _FILO["insee_filosofi_qp2024"].fichier.format(millesime=y)
        m.write(f"insee_filosofi_qp2024/{name}", w.filosofi_qp(y, codes, vals), simule=True, note=filo_note)


def _cnam_communes(m: Miroir, monde: Monde, rng) -> None:
    com = monde.communes_dep
    counts = cnam_counts(com["f"].to_numpy(float), com["population"].to_numpy(float), rng).set_axis(com["code_insee"])
    for y in monde.millesimes["cnam"]:
        m.write(f"insee_cnam_com/data_CNAM_{y}_COM.csv", w.qp_table("CNAM", y, com["code_insee"].tolist(), None, counts),
                simule=True, note="simulé : Complémentaire santé solidaire par commune (forme supposée d'après les colonnes "
                                  "Cnam des tableaux réels par quartier)")


# ---------------------------------------------------------------------------------------------------
# The fully simulated territory: every other file
# ---------------------------------------------------------------------------------------------------

def _fictitious_world(m: Miroir, monde: Monde, iris: gpd.GeoDataFrame, census_iris: dict, rng) -> None:
    mil = monde.millesimes
    comp = monde.composition
    text = "\n".join(["CODGEO;LIBGEO;EPCI;LIBEPCI;DEP;REG"] + [";".join(r) for r in comp[
        ["code_insee", "nom_commune", "siren_epci", "nom_epci", "dep", "reg"]].astype(str).to_numpy().tolist()]) + "\n"
    m.write(f"{EPCI_SOURCE.id}/{EPCI_SOURCE.fichier.format(millesime=mil['cog'])}",
            zip_bytes({f"EPCI_{mil['cog']}.csv": text.encode()}), simule=True, note="simulé : territoire fictif")
    ref = monde.iris_ref
    text = "\n".join(["CODE_IRIS;LIB_IRIS;TYP_IRIS;DEPCOM;LIBCOM;DEP"] + [";".join(r) for r in ref.assign(dep="00")[
        ["code_iris", "nom_iris", "type_iris", "code_insee", "nom_commune", "dep"]].astype(str).to_numpy().tolist()]) + "\n"
    m.write(f"{IRIS_SOURCE.id}/{IRIS_SOURCE.fichier.format(millesime=mil['iris'])}",
            zip_bytes({f"iris_{mil['iris']}.csv": text.encode()}), simule=True, note="simulé : IRIS fictifs")
    c = monde.communes
    m.write(f"{ign.COMMUNES.id}/{ign.COMMUNES.fichier.format(dep='00')}", w.wfs_geojson(gpd.GeoDataFrame(
        {"code_insee": c["code_insee"], "nom_officiel": c["nom"], "codes_siren_des_epci": c["siren_epci"],
         "code_insee_du_departement": "00"}, geometry=c.geometry.values, crs=c.crs), "commune"), simule=True,
        note="simulé : communes fictives")
    d = monde.departements
    m.write(f"{ign.DEPARTEMENT.id}/{ign.DEPARTEMENT.fichier.format(dep='00')}", w.wfs_geojson(gpd.GeoDataFrame(
        {"code_insee": d["code"], "nom_officiel": d["nom"]}, geometry=d.geometry.values, crs=d.crs), "departement"),
        simule=True, note="simulé : département fictif")
    m.write(f"{anct.QPV2024.id}/{anct.QPV2024.fichier}", zip_bytes({f"GEOJSON/{anct.QPV2024_MEMBER}":
                                                                      w.qpv2024_geojson(monde.qpv2024)}),
            simule=True, note="simulé : quartiers 2024 fictifs")
    m.write(f"{anct.QPV2015.id}/{anct.QPV2015.fichier}", w.qpv2015_shapefile_zip(monde.qpv2015), simule=True,
            note="simulé : quartiers 2015 fictifs")
    _fictitious_quartier_tables(m, monde, iris, census_iris, rng)
    _fictitious_filosofi(m, monde, iris, rng)
    pop = iris["population"].to_numpy(float)
    for y in mil["caf"]:
        counts = cnaf_counts(iris["f"].to_numpy(float), pop, 1.0, rng).set_axis(iris["code_iris"])
        m.write(f"insee_cnaf_iris/data_CAF_{y}_IRIS.csv",
                w.qp_table("CAF", y, iris["code_iris"].tolist(), None, counts), simule=True, note=NOTE_SIMULE)


def _fictitious_quartier_tables(m: Miroir, monde: Monde, iris, census_iris: dict, rng) -> None:
    q = monde.qpv2015
    wts = area_weights(iris, q)
    codes, libs = q["code_qp"].tolist(), q["nom_qp"].tolist()
    idx = pd.Index(iris["code_iris"])
    years = sorted(census_iris)
    f = iris["f"].to_numpy(float)
    pop = iris["population"].to_numpy(float)
    for y in monde.millesimes["qp_insee"]:
        v = _v(y, list(monde.millesimes["qp_insee"]))
        cy = census_iris[min(years, key=lambda k: abs(k - y))]
        agg = {t: aggregate(df.set_axis(idx), wts).reindex(codes) for t, df in cy.items()}
        rates = w.rates_for_qp(agg["evol-struct-pop"], agg)
        caf = aggregate(cnaf_counts(f, pop, v, rng).set_axis(idx), wts).reindex(codes)
        pe = aggregate(pe_counts(f, cy["activite-residents"]["P_POP1564"].to_numpy(), v, rng).set_axis(idx), wts).reindex(codes)
        cnam = aggregate(cnam_counts(f, pop, rng).set_axis(idx), wts).reindex(codes)
        fp = aggregate(pd.DataFrame({"fp": f * pop, "p": pop}, index=idx), wts)
        filo = filosofi_values((fp["fp"] / fp["p"]).reindex(codes).fillna(0.6).to_numpy(), rng).set_axis(codes)
        m.write(f"insee_qp_demo/DEMO_{y}.csv", w.qp_table("DEMO", y, codes, libs, pd.concat([rates, caf], axis=1), groupe=True),
                simule=True, note=NOTE_SIMULE)
        m.write(f"insee_qp_ipro/IPRO_{y}.csv", w.qp_table("IPRO", y, codes, libs, pd.concat([rates, pe], axis=1)),
                simule=True, note=NOTE_SIMULE)
        m.write(f"insee_qp_revn/REVN_{y}.csv", w.qp_table("REVN", y, codes, libs, pd.concat([filo, cnam, caf], axis=1)),
                simule=True, note=NOTE_SIMULE + " ; millésime Filosofi = édition - 4")
    for y in monde.millesimes["filosofi"][:1]:  # later editions: carried forward (prolongation.py)
        fp = aggregate(pd.DataFrame({"fp": f * pop, "p": pop}, index=idx), wts)
        vals = filosofi_values((fp["fp"] / fp["p"]).reindex(codes).fillna(0.6).to_numpy(), rng).set_axis(codes)
        m.write(f"insee_filosofi_qp/{_FILO['insee_filosofi_qp'].fichier.format(millesime=y)}",
                w.filosofi_qp(y, codes, vals), simule=True, note=NOTE_SIMULE)


def _fictitious_filosofi(m: Miroir, monde: Monde, iris, rng) -> None:
    f = iris["f"].to_numpy(float)
    com = monde.communes_dep
    for y in monde.millesimes["filosofi"][:1]:  # later editions: carried forward (prolongation.py)
        m.write(f"insee_filosofi_iris/BASE_TD_FILO_DISP_IRIS_{y}.csv", w.filosofi_iris(y, iris, filosofi_values(f, rng)),
                simule=True, note=NOTE_SIMULE)
        cv = filosofi_values(com["f"].to_numpy(float), rng)
        members = {f"FILO{y}_DISP_COM.csv": w.filosofi_cc(y, "commune", com["code_insee"].tolist(), com["nom"].tolist(),
                                                         cv, com["population"].to_numpy(float))}
        m.write(f"insee_filosofi_com/{_FILO['insee_filosofi_com'].fichier.format(millesime=y)}", zip_bytes(members),
                simule=True, note=NOTE_SIMULE)
        epcis = monde.composition.groupby(["siren_epci", "nom_epci"]).size().reset_index()
        fe = np.full(len(epcis), float(np.average(com["f"], weights=com["population"])))
        tot = float(com["population"].sum())
        supra = {f"FILO{y}_DISP_EPCI.csv": w.filosofi_cc(y, "epci", epcis["siren_epci"].tolist(), epcis["nom_epci"].tolist(),
                                                         filosofi_values(fe, rng), np.full(len(epcis), tot / len(epcis))),
                 f"FILO{y}_DISP_DEP.csv": w.filosofi_cc(y, "departement", ["00"], ["Département simulé"],
                                                        filosofi_values(fe[:1], rng), np.array([tot])),
                 f"FILO{y}_DISP_METROPOLE.csv": w.filosofi_cc(y, "france", ["1"], ["France métropolitaine"],
                                                              filosofi_values(np.array([0.25]), rng), np.array([6.2e7]))}
        m.write(f"insee_filosofi_supra/{_FILO['insee_filosofi_supra'].fichier.format(millesime=y)}", zip_bytes(supra),
                simule=True, note=NOTE_SIMULE)
