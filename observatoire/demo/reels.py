"""Real files of ``../shared/data`` placed in the demo mirror under their official names.

A real file is copied byte for byte, or, when the official download is an archive, put unchanged into
an archive of the official name (the manifest note says so). National tables whose comparison rows are
not needed are reduced to the lines of the territory's départements (header and lines unchanged: a
« real extract »). Nothing here is simulated: every entry has ``simule: false``.
"""

from __future__ import annotations

from pathlib import Path

from ..sources import anct, ign
from ..sources.insee_cog import EPCI_SOURCE, IRIS_SOURCE
from ..sources.insee_filosofi import SOURCES as FILO_SOURCES
from .ecriture import Miroir, extract_lines, zip_bytes
from .monde import Monde, qpv2024_files, real_dir

_FILO = {s.id: s for s in FILO_SOURCES}


def _dep_filter(deps: list[str]):
    def keep(code: str) -> bool:
        return code[:2] in deps or code[:3] in deps
    return keep


def write_real_files(m: Miroir, monde: Monde) -> None:
    """Every real file the mirror can hold for ``monde``."""
    real = real_dir(monde.shared)
    deps = monde.territoire.departements
    mil = monde.millesimes
    _geography(m, monde, real, deps, mil)
    _quartier_tables(m, real, mil)
    _filosofi(m, real, deps, mil)
    for y in mil["caf"]:
        src = real / "caf_iris" / f"data_CAF_{y}_IRIS.csv"
        if src.exists():
            m.write(f"insee_cnaf_iris/data_CAF_{y}_IRIS.csv", extract_lines(src, _dep_filter(deps)), simule=False,
                    note=f"réel, extrait : lignes des IRIS des départements {', '.join(deps)} du fichier Cnaf par IRIS "
                         "de l'Insee (en-tête et lignes inchangés)")


def _geography(m: Miroir, monde: Monde, real: Path, deps: list[str], mil: dict) -> None:
    cog = mil["cog"]
    m.write(f"{EPCI_SOURCE.id}/{EPCI_SOURCE.fichier.format(millesime=cog)}",
            zip_bytes({f"EPCI_{cog}.csv": (real / "insee_cog" / f"EPCI_{cog}.csv").read_bytes()}), simule=False,
            note=f"réel : composition des EPCI au 1er janvier {cog} (export CSV de l'Insee, inchangé) placée dans "
                 "l'archive au nom officiel", url=EPCI_SOURCE.url.format(millesime=cog))
    iris_y = mil["iris"]
    m.write(f"{IRIS_SOURCE.id}/{IRIS_SOURCE.fichier.format(millesime=iris_y)}",
            zip_bytes({f"iris_{iris_y}.csv": (real / "insee_cog" / f"iris_{iris_y}.csv").read_bytes()}), simule=False,
            note="réel : table d'appartenance géographique des IRIS (export CSV, inchangé) dans l'archive au nom officiel")
    for d in deps:
        src = sorted((real / "ign_communes").glob(f"communes-{d}-*.geojson"))[0]
        m.copy(f"{ign.COMMUNES.id}/{ign.COMMUNES.fichier.format(dep=d)}", src,
               "réel : contours des communes (ADMIN EXPRESS-COG 2018 simplifié, attributs code/nom), copie inchangée")
        m.copy(f"{ign.DEPARTEMENT.id}/{ign.DEPARTEMENT.fichier.format(dep=d)}", real / "ign_communes" / "departements.geojson",
               "réel : contours des départements (ADMIN EXPRESS-COG 2018 simplifié), copie inchangée")
    shp = real / "anct_qpv2015"
    m.write(f"{anct.QPV2015.id}/{anct.QPV2015.fichier}",
            zip_bytes({p.name: p.read_bytes() for p in sorted(shp.glob(f"{anct.QPV2015_LAYER}.*"))}), simule=False,
            note="réel : périmètres nationaux des QP 2015 (ANCT), fichiers du shapefile inchangés dans l'archive au nom "
                 "officiel ; 34 géométries invalides telles que publiées", url=anct.QPV2015.url)
    files = qpv2024_files(monde.shared)
    if files:
        manquants = monde.notes.get("qpv2024_sans_perimetre") or []
        m.write(f"{anct.QPV2024.id}/{anct.QPV2024.fichier}",
                zip_bytes({f"GEOJSON/{anct.QPV2024_MEMBER}": files[0].read_bytes()}), simule=False,
                note="réel, extrait : les périmètres QPV 2024 disponibles dans ../shared (quartiers de "
                     f"{files[0].parent.name}), entités recopiées telles quelles du fichier ANCT national"
                     + (f" ; quartiers 2015 du territoire sans périmètre 2024 ici : {', '.join(manquants)}"
                        if manquants else ""),
                url=anct.QPV2024.url)


def _quartier_tables(m: Miroir, real: Path, mil: dict) -> None:
    folder = real / "insee_qpv2015"
    for y in mil["qp_insee"]:
        for sid, name in (("insee_qp_demo", f"DEMO_{y}.csv"), ("insee_qp_ipro", f"IPRO_{y}.csv"),
                          ("insee_qp_revn", f"REVN_{y}.csv"), ("insee_qp_demo_source", f"data_DEMO_{y}_V1_QP.csv")):
            if (folder / name).exists():
                m.copy(f"{sid}/{name}", folder / name, "réel : tableau de l'Insee par quartier 2015 (France entière), "
                                                       "copie inchangée")
    for y in mil["filosofi"]:
        name = f"data_filo{y % 100:02d}_qp_revdis.csv"
        if (folder / name).exists():
            m.copy(f"insee_filosofi_qp/{name}", folder / name,
                   "réel : Filosofi par quartier 2015 (France entière, ligne « Ensemble »), copie inchangée")


def _filosofi(m: Miroir, real: Path, deps: list[str], mil: dict) -> None:
    folder = real / "insee_filosofi"
    keep = _dep_filter(deps)
    for y in mil["filosofi"]:
        iris = folder / f"BASE_TD_FILO_DISP_IRIS_{y}.csv"
        if iris.exists():
            m.write(f"insee_filosofi_iris/BASE_TD_FILO_DISP_IRIS_{y}.csv", extract_lines(iris, keep), simule=False,
                    note=f"réel, extrait : IRIS des départements {', '.join(deps)} de Filosofi {y} (en-tête et lignes "
                         "inchangés)")
        com = folder / f"FILO{y}_DISP_COM.csv"
        if com.exists():
            src = _FILO["insee_filosofi_com"]
            m.write(f"{src.id}/{src.fichier.format(millesime=y)}", zip_bytes({com.name: extract_lines(com, keep)}),
                    simule=False, note=f"réel, extrait : communes des départements {', '.join(deps)} de "
                                       f"FILO{y}_DISP_COM (lignes inchangées) dans l'archive au nom officiel")
        supra = {p.name: p.read_bytes() for p in (folder / f"FILO{y}_DISP_{n}.csv" for n in ("EPCI", "DEP", "REG",
                                                                                             "METROPOLE")) if p.exists()}
        if supra:
            src = _FILO["insee_filosofi_supra"]
            m.write(f"{src.id}/{src.fichier.format(millesime=y)}", zip_bytes(supra), simule=False,
                    note=f"réel : Filosofi {y} des EPCI, départements, régions et de la France (fichiers inchangés) "
                         "dans l'archive au nom officiel ; sans le membre « pauvres » (taux de pauvreté) absent ici")
