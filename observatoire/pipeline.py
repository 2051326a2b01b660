"""``observatoire build``: from the raw official files to ``data/processed``.

Composes the public functions of each stage, in the order of the data flow:

1. territory and geographic layers (:mod:`observatoire.territory`),
2. custom zones (:mod:`observatoire.spatial.zones`) and commune parts of quartiers,
3. crosswalks IRIS × quartiers / commune parts / zones and QPV 2015 × 2024, with dasymetric weights
   from a population raster when one is available (:mod:`observatoire.spatial`),
4. statistical tables (one reader per producer, :func:`observatoire.sources.readers.read_source`),
5. indicators at every scale with reference territories (:mod:`observatoire.indicators`), plus
   partner tables (:mod:`observatoire.sources.partner`),
6. the GeoPackage, the CSV, the Parquet and the XLSX, each written atomically
   (:mod:`observatoire.store`, :mod:`observatoire.exports`).
"""

from __future__ import annotations

import gc
import logging
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .config import Config
from .errors import ObservatoireError
from .fr import compte
from .progress import avertir, etape, info
from .store import SOURCES_COUCHES

log = logging.getLogger(__name__)



def commune_parts(qpv: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Commune parts of the quartiers that span several member communes.

    Pieces come from :func:`observatoire.spatial.crosswalk.quartier_commune_parts`; only communes the
    official ``insee_com`` list names are kept (the rest are slivers of generalised outlines), and
    quartiers lying in one member commune get no part (their figures are the quartier's). Returns
    ``code_zone`` (``<code_qp>_<insee_com>``), ``code_qp``, ``insee_com``, ``libelle``, geometry.
    """
    from .sources.anct import split_list
    from .spatial.crosswalk import quartier_commune_parts

    cols = ["code_zone", "code_qp", "insee_com", "libelle"]
    if qpv.empty or communes.empty:
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in cols}, geometry=[], crs=qpv.crs or 2154)
    pieces = quartier_commune_parts(qpv[["code_qp", "geometry"]], communes[["code_insee", "geometry"]])
    listed = {(q, c) for q, codes in zip(qpv["code_qp"], qpv["insee_com"]) for c in split_list(codes)}
    pieces = pieces[[(q, c) in listed for q, c in zip(pieces["code_qp"], pieces["insee_com"])]]
    pieces = pieces[pieces.groupby("code_qp")["insee_com"].transform("nunique") > 1]
    lib = dict(zip(qpv["code_qp"], qpv["lib_qp"]))
    nom = dict(zip(communes["code_insee"], communes["nom"]))
    pieces = pieces.assign(libelle=[f"{lib[q]} (partie {nom[c]})" for q, c in zip(pieces["code_qp"], pieces["insee_com"])])
    return gpd.GeoDataFrame(pieces[cols + ["geometry"]], geometry="geometry", crs=qpv.crs).reset_index(drop=True)


def population_raster(config: Config, workdir: Path, bbox) -> Path | None:
    """The raster of dasymetric weights: ``[estimation] raster`` (a user GeoTIFF) or the Filosofi
    200 m grid rasterised (individuals per square); ``None`` falls back to area weighting."""
    user = config.section("estimation").get("raster")
    if user:
        p = Path(user)
        p = p if p.is_absolute() else config.paths.root / p
        if not p.exists():
            raise ObservatoireError(f"Raster de pondération introuvable : {p}.", fichier=str(p),
                                    correction="corrigez [estimation] raster dans observatoire.toml ou retirez la ligne")
        from .spatial.raster import check_raster

        check_raster(p, bbox)
        return p
    from .sources import filosofi_grid
    from .sources.raw import raw_files
    from .spatial.raster import grid_to_raster

    files = raw_files(config, filosofi_grid.FILOSOFI_CARREAUX.id)
    if not files:
        return None
    grid = filosofi_grid.read_grid(files[0], bbox=bbox)
    if grid.empty:
        return None
    col = "ind" if "ind" in grid.columns else grid.select_dtypes("number").columns[0]
    return grid_to_raster(grid, col, workdir / "population_200m.tif")


def read_stat_tables(config: Config, communes: set[str], variables: set[str] | None = None) -> list:
    """Every statistical table present in ``data/raw`` (manifest order), flagged simulated as recorded;
    ``variables``: the producer variables to parse where a reader can select (the catalogue's)."""
    from .progress import suivre
    from .sources.raw import manifest_entries
    from .sources.readers import is_statistical, read_source

    entries = [(rel, e) for rel, e in sorted(manifest_entries(config).items())
               if is_statistical(e.get("source", rel.split("/", 1)[0])) and (config.paths.raw / rel).exists()]
    tables = []
    for rel, entry in suivre(entries, "tableaux statistiques"):
        source = entry.get("source", rel.split("/", 1)[0])
        tables.extend(read_source(source, config.paths.raw / rel, communes=communes, simule=bool(entry.get("simule")),
                                  variables=variables))
    return tables


def build_crosswalks(layers: dict, zones: gpd.GeoDataFrame, parts: gpd.GeoDataFrame,
                     raster: Path | None) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """IRIS → quartiers 2024 / 2015 / commune parts / zones, and QPV 2015 → 2024; with the totals of
    every zone (area, and raster population when weights exist) that coverage is measured against."""
    from .spatial.crosswalk import build_crosswalk, iris_zone_crosswalk
    from .spatial.raster import zonal_sums

    iris = layers["iris"]
    cws: dict[str, pd.DataFrame] = {}
    totals: dict[str, pd.DataFrame] = {}
    targets = {
        "qpv2024": layers["qpv_2024"].rename(columns={"code_qp": "code_zone"}),
        "qpv2015": layers["qpv_2015"].rename(columns={"code_qp": "code_zone"}),
        "partie_qpv2024": parts[["code_zone", "geometry"]],
        "zone": zones.rename(columns={"code": "code_zone"}),
    }
    for key, target in targets.items():
        if target is None or target.empty:
            continue
        cws[key] = iris_zone_crosswalk(iris, target[["code_zone", "geometry"]], raster=raster)
        t = pd.DataFrame({"code_zone": target["code_zone"].astype(str).to_numpy(),
                          "surface_m2": target.geometry.area.to_numpy()})
        if raster is not None:
            t["population_zone"] = zonal_sums(target.geometry.reset_index(drop=True), raster)
        totals[key] = t
    q15, q24 = layers["qpv_2015"], layers["qpv_2024"]
    if not q15.empty and not q24.empty:
        cw = build_crosswalk(q15[["code_qp", "geometry"]].rename(columns={"code_qp": "code_source"}),
                             q24[["code_qp", "geometry"]].rename(columns={"code_qp": "code_zone"}),
                             "code_source", "code_zone")
        cws["qpv2015_qpv2024"] = cw.rename(columns={"part_source": "poids_surface"})
    return cws, totals


#: Share of a quartier's surface a territory must hold to follow it when the largest part lies in a
#: neighbour (intercommunal quartiers across two EPCI, e.g. QN05922M: 45 % in Bruay-sur-l'Escaut,
#: 49 % in Escautpont): each EPCI holding a real part of it publishes its portrait.
SEUIL_PART_QUARTIER = 0.25


def quartier_references(qpv: gpd.GeoDataFrame, shares: pd.DataFrame, composition: pd.DataFrame,
                        geo: int, name_col: str, territoire: set[str] | None = None,
                        epci_territoire: str | None = None) -> pd.DataFrame:
    """Each quartier's reference EPCI and département, whether part of it lies outside that EPCI
    (counted whole in the EPCI's set: ``debordant``), and whether the territory follows it.

    The territory (commune codes ``territoire``) follows a quartier when it holds its largest part or
    at least :data:`SEUIL_PART_QUARTIER` of its surface. The reference EPCI is the configured EPCI
    (``epci_territoire``) for the quartiers it follows, else the EPCI of the commune holding the
    largest part.

    Returns ``code, libelle, epci, dep, debordant, suivi``.
    """
    cols = ["code", "libelle", "epci", "dep", "debordant", "suivi"]
    if qpv.empty:
        return pd.DataFrame({c: pd.Series(dtype=bool if c in ("debordant", "suivi") else object) for c in cols})
    epci_of = dict(zip(composition["code_insee"].astype(str), composition["siren_epci"].astype(str)))
    dep_of = dict(zip(composition["code_insee"].astype(str), composition["dep"].astype(str)))
    sh = shares[shares["millesime_qpv"].astype(int) == geo].copy()
    sh["epci"] = sh["insee_com"].astype(str).map(epci_of)
    sh["dedans"] = sh["insee_com"].astype(str).isin(territoire) if territoire is not None else True
    rows = []
    for code, lib in zip(qpv["code_qp"].astype(str), qpv[name_col].astype(str)):
        s = sh[sh["code_qp"] == code].sort_values("part_surface", ascending=False)
        main = str(s["insee_com"].iloc[0]) if len(s) else None
        suivi = bool(len(s) and (s["dedans"].iloc[0] or s.loc[s["dedans"], "part_surface"].sum() >= SEUIL_PART_QUARTIER))
        epci = epci_territoire if suivi and epci_territoire else (epci_of.get(main) if main else None)
        dep = dep_of.get(main) if main else None
        if dep is None:
            d = code[2:5]
            dep = d if d.startswith("97") else d[1:]
        debord = bool(len(s) and (s["epci"].fillna("?") != epci).any())
        rows.append((code, lib, epci or "", dep, debord, suivi))
    return pd.DataFrame(rows, columns=cols)


def _quartiers_by_departement(codes: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for c in codes:
        d = c[2:5]
        out.setdefault(d if d.startswith("97") else d[1:], set()).add(c)
    return out


def _simulated(config: Config, source_ids) -> bool:
    from .sources.raw import is_simulated

    return any(is_simulated(config, s) for s in source_ids)


def _iris_population(tables) -> pd.Series | None:
    pops = sorted((t for t in tables if t.niveau == "iris" and "P_POP" in t.data.columns), key=lambda t: t.millesime)
    return pops[-1].data["P_POP"].dropna() if pops else None


def say_missing_quartiers(quartiers: dict, nom: str) -> list[str]:
    """Warn (in French) about a geography without any quartier on the territory: what will not be
    produced, and why it is not an error. Returns the warnings."""
    n24 = len(quartiers[2024].codes) if 2024 in quartiers else 0
    n15 = len(quartiers[2015].codes) if 2015 in quartiers else 0
    out = []
    if not n24 and not n15:
        out.append(f"{nom} n'a aucun quartier prioritaire 2024 ni 2015 : les indicateurs des communes, "
                   "de l'EPCI, du département et de la France sont calculés, les cartes des IRIS écrites ; aucun "
                   "portrait de quartier ne sera produit (des zones [[zones]] peuvent en tenir lieu).")
    elif not n24:
        out.append(f"{nom} n'a aucun quartier prioritaire 2024 : pas de portrait ni de carte de quartier 2024 ; "
                   f"les {n15} quartiers 2015 ont leurs chiffres et leurs portraits (« observatoire portraits "
                   "--geographie 2015 »).")
    elif not n15:
        out.append(f"{nom} n'avait aucun quartier prioritaire 2015 : pas de portrait 2015, pas de vérification des "
                   "estimations sur les chiffres de l'Insee, ni de transposition 2015 → 2024.")
    for msg in out:
        avertir(msg)
    return out


def indicator_inputs(config: Config, territory, layers: dict, zones, parts, crosswalks, totals, raster, tables):
    """Assemble :class:`observatoire.indicators.IndicatorInputs` from the layers of the build."""
    from . import indicators
    from .sources import anct
    from .sources.raw import raw_files

    comp = territory.composition
    quartiers = {}
    for geo, layer, name_col, src in ((2024, "qpv_2024", "lib_qp", "anct_qpv2024"), (2015, "qpv_2015", "nom_qp", "anct_qpv2015")):
        liste = quartier_references(layers[layer], layers["qpv_communes"], comp, geo, name_col,
                                    set(territory.codes), config.territoire.epci)
        # the territory's quartiers (a neighbour's quartier overlapping the territory stays in the
        # layer, for the 2015 → 2024 transposition, without a sheet)
        liste = liste[liste["suivi"]].drop(columns="suivi").reset_index(drop=True)
        files = raw_files(config, src)
        national = anct.quartier_codes(files[0], geo) if files else []
        quartiers[geo] = indicators.Quartiers(geo, liste, _quartiers_by_departement(national))
        layers[layer] = layers[layer].merge(liste[["code", "epci", "dep", "debordant"]].rename(
            columns={"code": "code_qp", "epci": "epci_reference"}), on="code_qp", how="left")
    say_missing_quartiers(quartiers, territory.nom)
    communes = pd.DataFrame(layers["communes_publiees"].drop(columns="geometry"))
    iris_sim = _simulated(config, SOURCES_COUCHES["iris"])
    geometrie = {"qpv2024": iris_sim or _simulated(config, SOURCES_COUCHES["qpv_2024"]),
                 "qpv2015": iris_sim or _simulated(config, SOURCES_COUCHES["qpv_2015"]),
                 "partie_qpv2024": iris_sim or _simulated(config, SOURCES_COUCHES["qpv_2024"]),
                 "zone": iris_sim,
                 "qpv2015_qpv2024": _simulated(config, SOURCES_COUCHES["qpv_2015"] + SOURCES_COUCHES["qpv_2024"])}
    return indicators.IndicatorInputs(
        tables=tables, communes=communes, composition=comp[["code_insee", "dep", "siren_epci"]],
        iris=pd.DataFrame(layers["iris"].drop(columns="geometry")), epcis=territory.epcis,
        departements=pd.DataFrame(layers["departement"].drop(columns="geometry")), quartiers=quartiers,
        zones=pd.DataFrame(zones.drop(columns="geometry")), parties=pd.DataFrame(parts.drop(columns="geometry")),
        crosswalks=crosswalks, zones_total=totals, geometrie_simulee=geometrie,
        iris_population=_iris_population(tables),
        estimation_method="dasymetrique" if raster is not None else "surface",
        annees_ecart_min=config.annees_ecart_min)


def verification_layers(config: Config, inputs, catalogue, territoire: str) -> dict[str, pd.DataFrame]:
    """The back-test of the 2015 quartiers (:mod:`observatoire.verification`) as GeoPackage layers:
    ``verification_estimations``, ``verification_resume`` and ``verification_notes`` (territory,
    number of quartiers, and why the comparison is simulated when it is)."""
    from .verification import backtest_inputs, summarise

    errors = backtest_inputs(inputs, catalogue, territoire=territoire)
    reasons = []
    if len(errors) and errors["simule"].astype(bool).any():
        if _simulated(config, SOURCES_COUCHES["iris"]):
            reasons.append("les contours des IRIS sont simulés (codes IRIS réels) : chaque estimation en dépend")
        if _simulated(config, SOURCES_COUCHES["qpv_2015"]):
            reasons.append("les périmètres des quartiers 2015 sont simulés")
        sim = sorted({t.source for t in inputs.tables if t.simule and t.niveau in ("iris", "qpv2015")})
        if sim:
            reasons.append("fichiers statistiques simulés : " + ", ".join(sim))
    q = inputs.quartiers.get(2015)
    notes = pd.DataFrame({"territoire": territoire, "n_quartiers": len(q.codes) if q is not None else 0,
                          "raison": reasons or [""]})
    return {"verification_estimations": errors, "verification_resume": summarise(errors),
            "verification_notes": notes}


def write_xlsx_to(path, tidy, catalogue, simulated: bool, libelles: dict) -> None:
    """The workbook written straight to ``path`` (a temporary name the caller's transaction owns)."""
    from . import exports
    from .store import hors_groupe

    with hors_groupe():
        exports.write_xlsx(tidy, catalogue, path, simulated=simulated, libelles=libelles)


def in_background(fn, *args):
    """Run ``fn(*args)`` in a forked process when the machine has two cores or more (else at once);
    returns ``wait(quiet=False)``, which returns its result or raises its error."""
    import os

    if (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        result = fn(*args)
        return lambda quiet=False: result
    from .processus import fork_pool

    pool = fork_pool(1)
    future = pool.submit(fn, *args)

    def wait(quiet: bool = False):
        """The worker's result (``quiet``: wait for it to end, ignore its error)."""
        try:
            return future.result()
        except BaseException:
            if not quiet:
                raise
        finally:
            pool.shutdown(wait=True)
    return wait


def build(config: Config) -> Path:
    """Run the build stage; returns the GeoPackage path. Nothing is written unless everything succeeds."""
    from . import exports, indicators
    from .catalogue import load_catalogue, variables_utilisees
    from .sources.partner import Perimetre, partner_labels, read_partners
    from .spatial.zones import load_zones
    from .indicators.qualite import quality_from_backtest
    from .store import atomic_path, ecriture_groupee, write_geoparquet, write_gpkg
    from .territory import build_geographic_layers, resolve_territory
    from .verification import write_csv as write_verification_csv

    with etape("Territoire et couches géographiques") as e:
        territory = resolve_territory(config)
        layers = build_geographic_layers(config, territory)
        catalogue = load_catalogue()
        zones = load_zones(config.zones, layers["iris"]) if config.zones else gpd.GeoDataFrame(
            {"code": [], "libelle": [], "commune": []}, geometry=[], crs=layers["iris"].crs)
        layers["zones"] = zones
        members = layers["communes"][layers["communes"]["code_insee"].isin(territory.codes)]
        parts = commune_parts(layers["qpv_2024"], members)
        e.resume(f"{territory.nom} : {compte(len(territory.codes), 'commune')}, {len(layers['iris'])} IRIS, "
                 f"{compte(len(layers['qpv_2024']), 'quartier')} 2024, {compte(len(layers['qpv_2015']), 'quartier')} 2015")
    with etape("Correspondances IRIS × quartiers") as e:
        with tempfile.TemporaryDirectory(prefix="observatoire-") as tmp:
            bbox = tuple(layers["epci"].total_bounds)
            raster = population_raster(config, Path(tmp), bbox)
            crosswalks, totals = build_crosswalks(layers, zones, parts, raster)
        e.resume(f"{sum(len(c) for c in crosswalks.values())} pièces ({'dasymétrique' if raster is not None else 'surface'})")
    with etape("Tableaux statistiques") as e:
        publish = set(territory.codes) | set(layers["communes_publiees"]["code_insee"])
        tables = read_stat_tables(config, publish, variables_utilisees(catalogue))
        e.resume(f"{len(tables)} tableaux lus")
    inputs = indicator_inputs(config, territory, layers, zones, parts, crosswalks, totals, raster, tables)
    with etape("Vérification des estimations sur les quartiers 2015") as e:
        verification = verification_layers(config, inputs, catalogue, territory.nom)
        inputs.plafonds_qualite = quality_from_backtest(verification["verification_resume"], catalogue)
        layers.update(verification)
        errors = verification["verification_estimations"]
        e.resume(f"{errors['indicateur'].nunique()} indicateurs, {errors['code_quartier'].nunique()} quartiers, "
                 f"{int(errors['ecart'].notna().sum())} comparaisons" if len(errors) else "aucune comparaison possible")
    with etape("Indicateurs") as e:
        tidy = indicators.compute_indicators(inputs, catalogue)
        partners = read_partners(config, catalogue, Perimetre.from_tidy(tidy))
        if partners is not None and len(partners):
            tidy = indicators.concat_tidy(tidy, partners)
        e.resume(f"{len(tidy)} chiffres ({int((~tidy['simule']).sum())} réels, {int(tidy['simule'].sum())} simulés)")
    # the statistical tables and evaluated units (2,5 GB for a simulated France) are not written:
    # freed before the writers (and the workbook's forked worker) start
    del inputs, tables
    gc.collect()
    for key, cw in crosswalks.items():
        layers[f"crosswalk_{key}"] = pd.DataFrame(cw)
    layers["qpv_2024_parties"] = parts
    layers["indicateurs"] = tidy
    layers.pop("communes_publiees", None)
    simulated = bool(layers["sources"]["simule"].astype(bool).any()) if "sources" in layers else False
    with etape("Écriture des résultats") as e:
        libelles: dict[str, str] = {}
        for spec in config.partenaires:
            if Path(spec["fichier"]).exists():
                libelles.update(partner_labels(spec, config, catalogue))
        # every output replaced together, or none (a full disk leaves the previous run's files); the
        # workbook is written by a second process meanwhile
        with ecriture_groupee():
            with atomic_path(config.paths.indicateurs_xlsx) as xlsx_tmp:
                xlsx = in_background(write_xlsx_to, xlsx_tmp, tidy, catalogue, simulated, libelles)
                try:
                    exports.write_csv(tidy, config.paths.indicateurs_csv)
                    exports.write_parquet(tidy, config.paths.processed / "indicateurs.parquet")
                    write_verification_csv(layers["verification_estimations"],
                                           config.paths.processed / "verification_estimations.csv")
                    out = write_gpkg(layers, config.paths.gpkg)
                    write_geoparquet(layers, config.paths.processed / "couches")
                except BaseException:
                    xlsx(quiet=True)   # the worker is done before its temporary file is removed
                    raise
                xlsx()
        e.resume(f"{config.paths.gpkg}, indicateurs.csv, .parquet, .xlsx, couches/*.parquet")
    if np.any(tidy["simule"].to_numpy()):
        info("  Les chiffres construits à partir de fichiers simulés portent simule = True dans la table.")
    return out
