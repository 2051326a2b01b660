"""IGN sources through the Géoplateforme WFS: commune and département outlines (ADMIN EXPRESS COG) and
IRIS contours (CONTOURS-IRIS), one GeoJSON file per département.

STATUS of the attribute lists: INFERRED from public code that reads ADMIN EXPRESS COG 4.0 / the WFS
(``code_insee``, ``nom_officiel``, ``code_siren``, ``codes_siren_des_epci`` — "/"-separated when a
commune has several, ``NR`` when none —, ``population``, ``code_insee_du_departement``) and from
``../shared/data/formats/ign_contours_iris.txt`` for IRIS. The mappings live in one dict each
(:data:`COMMUNE_ATTRS`, :data:`DEPARTEMENT_ATTRS`, :data:`IRIS_ATTRS`); the upper-case attribute
names of the older shapefile editions are accepted too.

The WFS requests ask for ``SRSNAME=EPSG:2154``: the GeoJSON then carries an explicit Lambert-93
``crs`` member, which avoids the latitude/longitude axis-order trap of ``EPSG:4326`` in WFS 2.0.
The readers accept any CRS the file declares (and swap axes of a lat/lon EPSG:4326 file).

IRIS can also come from the CONTOURS-IRIS GeoPackage (``.gpkg``, or the official ``.7z`` holding it):
put it in ``data/raw/ign_iris/`` and :func:`read_iris` reads it instead of the WFS files.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from ..errors import FormatError
from ..validation import check_codes, check_crs_domain, dedupe_features, missing_geometries, repair_geometries
from .base import Source

L93 = 2154
#: features per WFS answer (Géoplateforme limit); a département answer holding exactly this many
#: features is presumably truncated and is refused by the readers (no pagination is attempted).
WFS_MAX = 5000
WFS = "https://data.geopf.fr/wfs/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&OUTPUTFORMAT=application/json" \
      f"&SRSNAME=EPSG:2154&COUNT={WFS_MAX}"

COMMUNES = Source(
    id="ign_communes",
    producteur="IGN",
    titre="ADMIN EXPRESS COG : contours des communes (WFS Géoplateforme)",
    url=WFS + "&TYPENAMES=ADMINEXPRESS-COG.LATEST:commune&CQL_FILTER=code_insee_du_departement='{dep}'",
    fichier="communes_{dep}.geojson",
    format="GeoJSON (WFS)",
    millesime_cle="cog",
    par="departement",
    statut_format="INFERRED",
    page="https://geoservices.ign.fr/adminexpress",
    description="Contours, noms, SIREN et population des communes d'un département.",
)

DEPARTEMENT = Source(
    id="ign_departement",
    producteur="IGN",
    titre="ADMIN EXPRESS COG : contour du département (WFS Géoplateforme)",
    url=WFS + "&TYPENAMES=ADMINEXPRESS-COG.LATEST:departement&CQL_FILTER=code_insee='{dep}'",
    fichier="departement_{dep}.geojson",
    format="GeoJSON (WFS)",
    millesime_cle="cog",
    par="departement",
    statut_format="INFERRED",
    page="https://geoservices.ign.fr/adminexpress",
)

IRIS = Source(
    id="ign_iris",
    producteur="IGN / INSEE",
    titre="CONTOURS-IRIS : contours des IRIS (WFS Géoplateforme)",
    url=WFS + "&TYPENAMES=STATISTICALUNITS.IRIS:contours_iris&CQL_FILTER=code_insee LIKE '{dep}%'",
    fichier="contours_iris_{dep}.geojson",
    format="GeoJSON (WFS) ; ou GeoPackage CONTOURS-IRIS (.gpkg / .7z) déposé dans le dossier",
    millesime_cle="iris",
    par="departement",
    statut_format="INFERRED",
    page="https://geoservices.ign.fr/contoursiris",
)

SOURCES = [COMMUNES, DEPARTEMENT, IRIS]

#: file attribute → contract column (lower-case WFS / GPKG 4.0 names, then upper-case SHP names)
COMMUNE_ATTRS = {
    "code_insee": "code_insee", "nom_officiel": "nom", "codes_siren_des_epci": "siren_epci",
    "code_insee_du_departement": "dep", "population": "population",
    "INSEE_COM": "code_insee", "NOM": "nom", "NOM_COM": "nom", "SIREN_EPCI": "siren_epci",
    "INSEE_DEP": "dep", "POPULATION": "population",
    # « code »/« nom » of simplified exports of ADMIN EXPRESS (france-geojson, VERIFIED on a real copy)
    "code": "code_insee", "nom": "nom",
}
COMMUNE_CODES = ("code_insee", "INSEE_COM", "code")
DEPARTEMENT_ATTRS = {"code_insee": "code", "nom_officiel": "nom", "INSEE_DEP": "code", "NOM": "nom",
                     "NOM_DEP": "nom", "code": "code", "nom": "nom"}
DEPARTEMENT_CODES = ("code_insee", "INSEE_DEP", "code")
IRIS_ATTRS = {
    "code_iris": "code_iris", "code_insee": "code_insee", "nom_iris": "nom_iris", "type_iris": "type_iris",
    "nom_commune": "nom_commune",
    "CODE_IRIS": "code_iris", "INSEE_COM": "code_insee", "NOM_IRIS": "nom_iris", "TYP_IRIS": "type_iris",
    "NOM_COM": "nom_commune",
}


def _rename(df: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    ren = {}
    for c in df.columns:
        if c in mapping and mapping[c] not in ren.values():
            ren[c] = mapping[c]
    return df.rename(columns=ren)


def _sql_in(col: str, values) -> str:
    vals = ", ".join("'" + str(v).replace("'", "''") + "'" for v in sorted(values))
    return f"{col} IN ({vals})"


def _to_l93(gdf: gpd.GeoDataFrame, path, what: str, code_col: str | None) -> gpd.GeoDataFrame:
    """Checked and reprojected features: a coordinate system declared (GeoJSON without ``crs`` member is
    WGS84 by its standard), no null or empty geometry (refused by code), coordinates inside the
    domain of the declared system, invalid polygons repaired with a note, then EPSG:2154."""
    if gdf.crs is None:
        check_crs_domain(None, None, str(path), what)
    gdf = missing_geometries(gdf, code_col, str(path), what)
    if gdf.crs.to_epsg() == 4326 and len(gdf):
        # a WFS EPSG:4326 answer may be in lat/lon order: in France latitude (41–51) > longitude (−5–10)
        x0, y0, x1, y1 = gdf.total_bounds
        if x0 > 35 and y1 < 15 and x1 <= 90:
            gdf = gdf.set_geometry(shapely.transform(gdf.geometry.values, lambda c: c[:, ::-1]), crs=gdf.crs)
    if len(gdf):
        check_crs_domain(gdf.total_bounds, gdf.crs, str(path), what)
        gdf = repair_geometries(gdf, str(path), code_col, what)
    return gdf.to_crs(L93)


def id_column(gdf, col: str, unique_by_filter: bool) -> str | None:
    """The column identifying a feature: the IRIS code when present, else the filter column when it is
    unique per feature (communes, départements), else ``None`` (IRIS whose code is built later)."""
    found = next((c for c in ("code_iris", "CODE_IRIS") if c in gdf.columns), None)
    return found or (col if unique_by_filter else None)


def _read_filtered(paths, code_column_candidates: tuple[str, ...], codes: set[str], what: str,
                   layer: str | None = None, preferred_layer: str | None = None,
                   unique_by_filter: bool = True) -> gpd.GeoDataFrame:
    """Read each file, keeping features whose code column is in ``codes`` (SQL pre-filter when possible)."""
    frames = []
    for p in [Path(x) for x in ([paths] if isinstance(paths, (str, Path)) else paths)]:
        lyr = layer
        if lyr is None and preferred_layer and p.suffix.lower() == ".gpkg":
            names = [str(n) for n, _ in pyogrio.list_layers(p)]
            lyr = preferred_layer if preferred_layer in names else None
        try:
            info = pyogrio.read_info(p, layer=lyr)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as e:
            raise FormatError(f"Impossible de lire {what} : {e} (fichier incomplet, abîmé ou d'un autre format).",
                              fichier=str(p), correction="supprimez le fichier et relancez « observatoire fetch "
                              "--force » (ou recopiez-le depuis le miroir)") from e
        if p.suffix.lower() in (".geojson", ".json") and info.get("features") == WFS_MAX:
            raise FormatError(f"{what} : la réponse WFS contient exactement {WFS_MAX} objets, elle est sans doute "
                              "tronquée (WFS answer probably truncated).", fichier=str(p),
                              correction="téléchargez le GeoPackage national (ADMIN EXPRESS COG / CONTOURS-IRIS) "
                              "et déposez-le dans le dossier de la source")
        fields = list(info["fields"])
        col = next((c for c in code_column_candidates if c in fields), None)
        if col is None:
            raise FormatError(f"{what} : aucune colonne de code parmi {', '.join(code_column_candidates)} "
                              f"(trouvé : {', '.join(fields)}).", fichier=str(p),
                              correction="utilisez le fichier officiel de l'IGN (ADMIN EXPRESS COG ou CONTOURS-IRIS), "
                                         "dont les attributs portent le code Insee")
        where = _sql_in(col, codes) if codes and len(codes) <= 2000 else None
        try:
            gdf = pyogrio.read_dataframe(p, layer=lyr, where=where)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.GeometryError) as e:
            raise FormatError(f"Impossible de lire {what} : {e}.", fichier=str(p),
                              correction="supprimez le fichier et relancez « observatoire fetch --force »") from e
        gdf[col] = gdf[col].astype(str)
        gdf = gdf[gdf[col].isin(codes)] if codes else gdf
        label = what[0].upper() + what[1:]
        ident = id_column(gdf, col, unique_by_filter)
        if ident is not None:
            gdf = dedupe_features(gdf, ident, str(p), label)
        frames.append(_to_l93(gdf, p, label, ident or col))
    if not frames:
        return gpd.GeoDataFrame(geometry=[], crs=L93)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=L93)


def _first_siren(v) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    for part in str(v).replace(",", "/").split("/"):
        part = part.strip()
        if part and part.upper() != "NR":
            return part
    return None


def read_communes(paths, codes: set[str]) -> gpd.GeoDataFrame:
    """Commune outlines (WFS GeoJSON per département, or an ADMIN EXPRESS COG GeoPackage whose layer
    ``commune`` is read), filtered to ``codes``.

    Returns
    -------
    GeoDataFrame EPSG:2154 ``code_insee, nom, siren_epci, dep, population`` (population may be null;
    ``siren_epci`` = first SIREN of ``codes_siren_des_epci``), sorted by ``code_insee``.
    """
    gdf = _read_filtered(paths, COMMUNE_CODES, set(codes), "les contours des communes",
                         preferred_layer="commune")
    gdf = _rename(gdf, COMMUNE_ATTRS)
    for c in ("nom", "siren_epci", "dep", "population"):
        if c not in gdf.columns:
            gdf[c] = None
    gdf["siren_epci"] = gdf["siren_epci"].map(_first_siren)
    gdf["dep"] = gdf["dep"].where(gdf["dep"].notna(), gdf["code_insee"].str[:2])
    gdf["population"] = pd.to_numeric(gdf["population"], errors="coerce")
    out = gdf[["code_insee", "nom", "siren_epci", "dep", "population", "geometry"]]
    out = out.sort_values("code_insee").reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=L93)


def read_departement(paths, code: str) -> gpd.GeoDataFrame:
    """Outline of département ``code``: GeoDataFrame EPSG:2154 ``code, nom``."""
    gdf = _read_filtered(paths, DEPARTEMENT_CODES, {str(code)}, "le contour du département",
                         preferred_layer="departement")
    gdf = _rename(gdf, DEPARTEMENT_ATTRS)
    if "nom" not in gdf.columns:
        gdf["nom"] = None
    return gpd.GeoDataFrame(gdf[["code", "nom", "geometry"]].reset_index(drop=True), geometry="geometry", crs=L93)


def _iris_gpkg(path: Path) -> Path:
    """The CONTOURS-IRIS GeoPackage: ``path`` itself, or extracted once next to a ``.7z``."""
    if path.suffix.lower() == ".gpkg":
        return path
    import py7zr

    try:
        with py7zr.SevenZipFile(path) as z:
            members = [n for n in z.getnames() if n.lower().endswith(".gpkg")]
        if not members:
            raise FormatError("L'archive CONTOURS-IRIS ne contient pas de GeoPackage (.gpkg).", fichier=str(path),
                              correction="téléchargez l'édition GPKG de CONTOURS-IRIS")
        target = path.with_name(Path(members[0]).name)
        if not target.exists():
            with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
                with py7zr.SevenZipFile(path) as z:
                    z.extract(path=tmp, targets=[members[0]])
                (Path(tmp) / members[0]).replace(target)
    except FormatError:
        raise
    except (py7zr.exceptions.ArchiveError, EOFError, OSError, ValueError, KeyError) as e:
        # a 7z cut by an interrupted download: unreadable headers, CRC error, truncated stream
        raise FormatError(f"Archive 7z CONTOURS-IRIS incomplète ou abîmée ({type(e).__name__} : {e}).",
                          fichier=str(path), correction="archive incomplète, téléchargez-la à nouveau (supprimez-la "
                          "puis relancez « observatoire fetch --force »)") from e
    return target


def iris_files(folder: Path) -> list[Path]:
    """IRIS inputs present in ``folder``: a GeoPackage (or its .7z) wins over WFS GeoJSON files."""
    folder = Path(folder)
    gpkgs = sorted(folder.glob("*.gpkg")) or sorted(folder.glob("*.7z"))
    if gpkgs:
        return gpkgs[:1]
    return sorted(folder.glob("*.geojson"))


def read_iris(paths, codes: set[str]) -> gpd.GeoDataFrame:
    """IRIS contours of the communes ``codes``.

    ``paths``: WFS GeoJSON files (one per département), or a CONTOURS-IRIS ``.gpkg`` / ``.7z``.

    Returns
    -------
    GeoDataFrame EPSG:2154 ``code_iris, code_insee, nom_iris, type_iris, nom_commune``, sorted by
    ``code_iris``.
    """
    plist = [Path(x) for x in ([paths] if isinstance(paths, (str, Path)) else paths)]
    frames = []
    for p in plist:
        layer = None
        if p.suffix.lower() in (".gpkg", ".7z"):
            p = _iris_gpkg(p)
            layers = [n for n, _ in pyogrio.list_layers(p)]
            layer = next((n for n in layers if "iris" in n.lower()), layers[0])
        frames.append(_read_filtered([p], ("code_insee", "INSEE_COM"), set(codes), "les contours IRIS", layer,
                                     unique_by_filter=False))
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=L93) if frames \
        else gpd.GeoDataFrame(geometry=[], crs=L93)
    gdf = _rename(gdf, IRIS_ATTRS)
    if "code_iris" not in gdf.columns and "iris" in gdf.columns:
        gdf["code_iris"] = gdf["code_insee"] + gdf["iris"].astype(str).str.zfill(4)
    for c in ("code_iris", "nom_iris", "type_iris", "nom_commune"):
        if c not in gdf.columns:
            raise FormatError(f"Contours IRIS : colonne {c} absente (trouvé : {', '.join(map(str, gdf.columns))}).",
                              fichier=", ".join(map(str, plist)),
                              correction="utilisez le fichier CONTOURS-IRIS de l'IGN (attributs code_iris, "
                                         "nom_iris, type_iris, nom_commune ou leurs équivalents en majuscules)")
    out = gdf[["code_iris", "code_insee", "nom_iris", "type_iris", "nom_commune", "geometry"]].copy()
    out["code_iris"] = out["code_iris"].astype(str)
    fichier = ", ".join(map(str, plist))
    check_codes(out["code_iris"], "iris", fichier, quoi="Contours IRIS")
    out = dedupe_features(out, "code_iris", fichier, "Contours IRIS")
    out = out.sort_values("code_iris").reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=L93)
