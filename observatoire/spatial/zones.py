"""Custom study zones (quartiers de veille active, study areas) declared in ``observatoire.toml``.

A zone is either a list of IRIS codes (its outline is the union of those IRIS) or a polygon file
(GeoJSON, GeoPackage or shapefile, any CRS; its outline is the union of all its polygons). Once
loaded, a zone is treated like a quartier everywhere downstream (crosswalk, estimates, maps,
portraits).

Example configuration::

    [[zones]]
    code = "VEILLE_MARLY_FLORALIES"
    libelle = "Les Floralies (Marly), quartier de veille active"
    commune = "59383"
    iris = ["593830101"]

    [[zones]]
    code = "ETUDE_GARE"
    libelle = "Quartier de la gare (zone d'étude)"
    fichier = "zones/gare.geojson"
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import ObservatoireError
from ..validation import check_codes, check_crs_domain, missing_geometries, note, repair_geometries

LAMBERT93 = 2154
#: An IRIS counts as a commune of a file zone when it holds at least this share of the zone's area.
PART_MIN_COMMUNE = 0.01


def _communes_of(geom, iris: gpd.GeoDataFrame) -> str:
    """Communes (from the IRIS codes' first 5 characters) holding ≥ 1 % of the zone's area."""
    if iris is None or len(iris) == 0 or geom is None or geom.is_empty:
        return ""
    idx = iris.sindex.query(geom, predicate="intersects")
    if len(idx) == 0:
        return ""
    sub = iris.iloc[idx]
    share = shapely.area(shapely.intersection(sub.geometry.to_numpy(), geom)) / geom.area
    codes = sub["code_iris"].astype(str).str[:5].to_numpy()
    keep = sorted({c for c, s in zip(codes, share) if s >= PART_MIN_COMMUNE})
    return ", ".join(keep)


def _read_polygon_file(zone) -> "shapely.Geometry":
    """The union of the polygons of a zone's file, after checks: a readable file, a declared coordinate
    system, coordinates inside its domain. Features without geometry and non-polygonal ones are left
    out with a note; invalid polygons are repaired with a note."""
    path = Path(zone.fichier)
    quoi = f"Contour de la zone {zone.code}"
    if not path.exists():
        raise ObservatoireError(
            f"Le fichier de contour de la zone {zone.code!r} est introuvable (zone polygon file not found).",
            fichier=str(path),
            correction="vérifiez le chemin « fichier » de cette zone dans observatoire.toml (un chemin "
                       "relatif part du dossier de observatoire.toml), ou donnez la liste de ses IRIS")
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except Exception as e:  # pyogrio raises DataSourceError and others
        raise ObservatoireError(
            f"Le fichier de contour de la zone {zone.code!r} n'est pas lisible ({e}).", fichier=str(path),
            correction="fournissez un GeoJSON, un GeoPackage ou un shapefile (avec ses fichiers .shx, .dbf, .prj)"
        ) from e
    if gdf.crs is None:
        raise ObservatoireError(
            f"Le fichier de contour de la zone {zone.code!r} n'indique pas son système de coordonnées.",
            fichier=str(path),
            correction="ajoutez le fichier .prj du shapefile, ou exportez la couche en GeoJSON ou GPKG")
    gdf = missing_geometries(gdf, None, str(path), quoi, refuse=False)
    kinds = gdf.geometry.geom_type
    polys = gdf[kinds.isin(["Polygon", "MultiPolygon"])]
    if len(polys) == 0:
        raise ObservatoireError(
            f"Le fichier de contour de la zone {zone.code!r} ne contient aucun polygone.", fichier=str(path),
            correction="dessinez la zone comme un polygone (pas une ligne ni un point)")
    if len(polys) < len(gdf):
        others = sorted(set(kinds[~kinds.isin(["Polygon", "MultiPolygon"])]))
        note(f"{quoi} : {len(gdf) - len(polys)} objet(s) qui ne sont pas des polygones ({', '.join(others)}) "
             f"ignoré(s) dans {path.name}.")
    check_crs_domain(polys.total_bounds, polys.crs, str(path), quoi)
    polys = repair_geometries(polys, str(path), None, quoi)
    polys = polys.to_crs(LAMBERT93)
    return shapely.union_all(polys.geometry.to_numpy())


def _iris_codes(codes, zone) -> list[str]:
    """IRIS codes of a zone, repaired when a spreadsheet or a TOML number damaged them (with a note)."""
    from ..sources.tabular import normalise_code

    s = pd.Series([str(c) for c in codes], dtype=object)
    s.attrs["fichier"] = f"observatoire.toml, zone {zone.code}"
    fixed, _ = normalise_code(s, 9)
    return fixed.tolist()


def _check_zone_codes(zones_config) -> None:
    """Zone codes become file names (maps, portraits): official shape, each code once."""
    codes = [str(z.code) for z in zones_config]
    check_codes(codes, "zone", "observatoire.toml", quoi="[[zones]] code",
                correction="donnez à chaque zone un code fait de lettres, chiffres, « _ » ou « - » "
                           "(par exemple VEILLE_MARLY_FLORALIES)")
    seen = [c for c in set(codes) if codes.count(c) > 1]
    if seen:
        raise ObservatoireError(f"Code de zone déclaré plusieurs fois dans [[zones]] : {', '.join(sorted(seen))}.",
                                fichier="observatoire.toml",
                                correction="donnez un code différent à chaque zone (ses cartes et son portrait "
                                           "portent ce nom)")


def load_zones(zones_config, iris: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Outlines of the custom zones.

    Parameters
    ----------
    zones_config : tuple of observatoire.config.Zone
        The ``[[zones]]`` of the configuration.
    iris : GeoDataFrame
        IRIS layer with ``code_iris`` (Lambert-93, or reprojected).

    Returns
    -------
    GeoDataFrame
        ``code, libelle, commune, geometry`` (EPSG:2154), one row per zone, in configuration order.
        ``commune`` is the configured commune, else the ", "-joined INSEE codes of the communes
        holding the zone (from its IRIS).

    Raises
    ------
    ObservatoireError
        Unknown IRIS code (naming the zone and the code), missing or unreadable polygon file, a file
        without coordinate system or with coordinates outside its domain, a zone overlapping no IRIS,
        a zone code that could not be a file name (``../x``) or declared twice.
    """
    if iris is not None and iris.crs is not None and iris.crs.to_epsg() != LAMBERT93:
        iris = iris.to_crs(LAMBERT93)
    codes = iris["code_iris"].astype(str).to_numpy() if iris is not None else np.array([], dtype=object)
    pos = {c: i for i, c in enumerate(codes)}
    _check_zone_codes(zones_config)
    rows = []
    for z in zones_config:
        if z.iris:
            z_iris = _iris_codes(z.iris, z)
            unknown = [c for c in z_iris if str(c) not in pos]
            if unknown:
                raise ObservatoireError(
                    f"La zone {z.code!r} cite des codes IRIS inconnus : {', '.join(unknown)} "
                    f"(unknown IRIS code in zone {z.code!r}).",
                    fichier="observatoire.toml",
                    correction="utilisez des codes IRIS à 9 caractères de la géographie IRIS en vigueur "
                               "(millésime [millesimes] iris), par exemple 593830101")
            geom = shapely.union_all(shapely.make_valid(iris.geometry.to_numpy()[[pos[str(c)] for c in z_iris]]))
            commune = z.commune or ", ".join(sorted({str(c)[:5] for c in z_iris}))
        elif z.fichier:
            geom = _read_polygon_file(z)
            if iris is not None and len(iris) and not iris.sindex.query(geom, predicate="intersects").size:
                raise ObservatoireError(
                    f"La zone {z.code!r} ne recouvre aucun IRIS du territoire (zone outside the territory) : aucun "
                    "chiffre ne pourrait être estimé pour elle.", fichier=str(z.fichier),
                    correction="vérifiez le fichier de contour (bonne zone ? bon système de coordonnées ?) et le "
                               "territoire de observatoire.toml")
            commune = z.commune or _communes_of(geom, iris)
        else:
            raise ObservatoireError(f"La zone {z.code!r} n'a ni liste d'IRIS ni fichier de contour.",
                                    fichier="observatoire.toml",
                                    correction="ajoutez iris = [...] ou fichier = \"…\" à cette zone")
        rows.append({"code": z.code, "libelle": z.libelle, "commune": commune, "geometry": geom})
    return gpd.GeoDataFrame(rows, columns=["code", "libelle", "commune", "geometry"], geometry="geometry",
                            crs=LAMBERT93)
