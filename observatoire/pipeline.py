"""``observatoire build``: from the raw official files to ``data/processed``.

Composes the public functions of each stage, in the order of the data flow:

1. territory and geographic layers (:mod:`observatoire.territory`),
2. custom zones (:mod:`observatoire.spatial.zones`),
3. crosswalks IRIS × quartiers / commune parts / zones and QPV 2015 × 2024, with dasymetric weights
   from a population raster when one is available (:mod:`observatoire.spatial`),
4. statistical tables (one reader per producer, :func:`observatoire.sources.insee.read_any`),
5. indicators at every scale with reference territories and evolutions
   (:mod:`observatoire.indicators`), plus partner tables (:mod:`observatoire.sources.partner`),
6. the GeoPackage, the CSV and the XLSX, each written atomically (:mod:`observatoire.store`,
   :mod:`observatoire.exports`).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .config import Config
from .errors import ObservatoireError

log = logging.getLogger(__name__)

#: Statistical sources are those read by :func:`observatoire.sources.insee.read_any`.
STAT_PREFIXES = ("insee_rp_", "insee_filosofi_iris", "insee_filosofi_qp15", "insee_filosofi_cc",
                 "insee_qpv2024_", "caf_", "cnam_", "france_travail_")


def _is_stat_source(source_id: str) -> bool:
    return source_id.startswith(STAT_PREFIXES)


def commune_parts(qpv: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Commune parts of the quartiers that span several member communes.

    Pieces come from :func:`observatoire.spatial.crosswalk.quartier_commune_parts`; only communes the
    official ``insee_com`` list names are kept (the rest are slivers of generalised outlines), and
    quartiers lying in one member commune get no part (their figures are the quartier's). Returns
    ``code_zone`` (``<code_qp>_<insee_com>``), ``code_qp``, ``insee_com``, ``libelle``, geometry.
    """
    from .sources.anct import split_list
    from .spatial.crosswalk import quartier_commune_parts

    pieces = quartier_commune_parts(qpv[["code_qp", "geometry"]], communes[["code_insee", "geometry"]])
    listed = {(q, c) for q, codes in zip(qpv["code_qp"], qpv["insee_com"]) for c in split_list(codes)}
    pieces = pieces[[(q, c) in listed for q, c in zip(pieces["code_qp"], pieces["insee_com"])]]
    pieces = pieces[pieces.groupby("code_qp")["insee_com"].transform("nunique") > 1]
    lib = dict(zip(qpv["code_qp"], qpv["lib_qp"]))
    nom = dict(zip(communes["code_insee"], communes["nom"]))
    pieces = pieces.assign(libelle=[f"{lib[q]} (partie {nom[c]})" for q, c in zip(pieces["code_qp"], pieces["insee_com"])])
    return gpd.GeoDataFrame(pieces[["code_zone", "code_qp", "insee_com", "libelle", "geometry"]],
                            geometry="geometry", crs=qpv.crs).reset_index(drop=True)


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
        return p
    from .sources import filosofi_grid
    from .sources.fetch import raw_files
    from .spatial.raster import grid_to_raster

    files = raw_files(config, filosofi_grid.FILOSOFI_CARREAUX.id)
    if not files:
        return None
    grid = filosofi_grid.read_grid(files[0], bbox=bbox)
    if grid.empty:
        return None
    col = "ind" if "ind" in grid.columns else grid.select_dtypes("number").columns[0]
    return grid_to_raster(grid, col, workdir / "population_200m.tif")


def read_stat_tables(config: Config, territory) -> list:
    """Every statistical table present in ``data/raw`` (manifest order), flagged simulated as recorded."""
    from .sources.fetch import manifest_entries
    from .sources.insee import read_any

    tables = []
    for rel, entry in sorted(manifest_entries(config).items()):
        source = entry.get("source", rel.split("/", 1)[0])
        if not _is_stat_source(source):
            continue
        path = config.paths.raw / rel
        if not path.exists():
            continue
        tables.extend(read_any(source, path, communes=set(territory.codes), simule=bool(entry.get("simule"))))
    return tables


def build_crosswalks(layers: dict, zones: gpd.GeoDataFrame, parts: gpd.GeoDataFrame,
                     raster: Path | None) -> dict[str, pd.DataFrame]:
    """IRIS → quartiers 2024 / 2015 / commune parts / zones, and QPV 2015 → 2024."""
    from .spatial.crosswalk import build_crosswalk, iris_zone_crosswalk

    iris = layers["iris"]
    cws: dict[str, pd.DataFrame] = {}
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
    q15, q24 = layers["qpv_2015"], layers["qpv_2024"]
    if not q15.empty and not q24.empty:
        cw = build_crosswalk(q15[["code_qp", "geometry"]].rename(columns={"code_qp": "code_source"}),
                             q24[["code_qp", "geometry"]].rename(columns={"code_qp": "code_zone"}),
                             "code_source", "code_zone")
        cws["qpv2015_qpv2024"] = cw.rename(columns={"part_source": "poids_surface"})
    return cws


def build(config: Config) -> Path:
    """Run the build stage; returns the GeoPackage path. Nothing is written unless everything succeeds."""
    from . import exports, indicators
    from .catalogue import load_catalogue
    from .sources.partner import partner_labels, read_partners
    from .spatial.zones import load_zones
    from .store import write_gpkg
    from .territory import build_geographic_layers, resolve_territory

    territory = resolve_territory(config)
    layers = build_geographic_layers(config, territory)
    catalogue = load_catalogue()

    zones = load_zones(config.zones, layers["iris"]) if config.zones else gpd.GeoDataFrame(
        {"code": [], "libelle": [], "commune": []}, geometry=[], crs=layers["iris"].crs)
    layers["zones"] = zones
    members = layers["communes"][layers["communes"]["code_insee"].isin(territory.codes)]
    parts = commune_parts(layers["qpv_2024"], members)

    with tempfile.TemporaryDirectory(prefix="observatoire-") as tmp:
        bbox = tuple(layers["epci"].total_bounds)
        raster = population_raster(config, Path(tmp), bbox)
        crosswalks = build_crosswalks(layers, zones, parts, raster)

    tables = read_stat_tables(config, territory)
    dep = layers["departement"]
    inputs = indicators.IndicatorInputs(
        tables=tables,
        communes=pd.DataFrame(layers["communes"].drop(columns="geometry")),
        iris=pd.DataFrame(layers["iris"].drop(columns="geometry")),
        qpv2024=pd.DataFrame(layers["qpv_2024"].drop(columns="geometry")),
        qpv2015=pd.DataFrame(layers["qpv_2015"].drop(columns="geometry")),
        zones=pd.DataFrame(zones.drop(columns="geometry")),
        qpv_communes=layers["qpv_communes"],
        crosswalks=crosswalks,
        epci_siren=territory.epci_siren or territory.code,
        epci_nom=territory.nom,
        departement=pd.DataFrame(dep.drop(columns="geometry")) if dep is not None else None,
        territory_communes=set(territory.codes),
        estimation_method="dasymetrique" if raster is not None else "surface",
        annees_ecart_min=config.annees_ecart_min,
    )
    tidy = indicators.compute_indicators(inputs, catalogue)
    partners = read_partners(config, catalogue)
    if partners is not None and len(partners):
        tidy = indicators.concat_tidy(tidy, partners)

    for key, cw in crosswalks.items():
        layers[f"crosswalk_{key}"] = pd.DataFrame(cw)
    layers["qpv_2024_parties"] = parts
    layers["indicateurs"] = tidy

    simulated = bool(layers["sources"]["simule"].astype(bool).any()) if "sources" in layers else False
    config.paths.processed.mkdir(parents=True, exist_ok=True)
    # CSV and XLSX first (atomic each), the GeoPackage last: make keys on its timestamp.
    exports.write_csv(tidy, config.paths.indicateurs_csv)
    libelles: dict[str, str] = {}
    for spec in config.partenaires:
        if Path(spec["fichier"]).exists():
            libelles.update(partner_labels(spec, config, catalogue))
    exports.write_xlsx(tidy, catalogue, config.paths.indicateurs_xlsx, simulated=simulated, libelles=libelles)
    return write_gpkg(layers, config.paths.gpkg)
