"""INSEE Filosofi 2019 « données carroyées » (200 m squares): source declaration and reader.

The grid is the basis of the dasymetric weights (:mod:`observatoire.spatial.raster`): the number of
individuals per 200 m square (``ind``) tells where people live inside an IRIS.

Format (STATUS: INFERRED from public code reading the file, not verified on the file here)
-------------------------------------------------------------------------------------------
- Download: ``https://www.insee.fr/fr/statistiques/fichier/7655475/Filosofi2019_carreaux_200m_gpkg.zip``
  (page https://www.insee.fr/fr/statistiques/7655475). The zip holds **one nested 7z archive**
  (``Filosofi2019_carreaux_200m_gpkg.7z``) which holds three GeoPackages: ``carreaux_200m_met.gpkg``
  (France métropolitaine), ``carreaux_200m_mart.gpkg``, ``carreaux_200m_reun.gpkg`` (public loaders,
  e.g. a Python loader that extracts the zip then the 7z with py7zr, and another that reports « le zip
  n'a qu'un membre, qui se termine par .7z » after a direct download). The reader also accepts a zip
  holding the GeoPackage directly, the 7z itself, or the extracted ``.gpkg``.
- Columns (lower case in 2019; upper-case initials in 2015/2017 editions, accepted): ``idcar_200m,
  idcar_1km, idcar_nat, i_est_200, i_est_1km, lcog_geo, ind, men, men_pauv, men_1ind, men_5ind,
  men_prop, men_fmp, ind_snv, men_surf, men_coll, men_mais, log_av45, log_45_70, log_70_90,
  log_ap90, log_inc, log_soc, ind_0_3, ind_4_5, ind_6_10, ind_11_17, ind_18_24, ind_25_39,
  ind_40_54, ind_55_64, ind_65_79, ind_80p, ind_inc`` (list given by public harmonisation code of the
  2015/2017/2019 editions and by loaders of the 2019 GeoPackage).
- ``idcar_200m`` = ``CRS3035RES200mN{northing}E{easting}``: the square is defined on the ETRS89-LAEA
  grid (EPSG:3035), coordinates of its lower-left corner (public code parsing it).
- Geometry CRS of ``carreaux_200m_met.gpkg``: Lambert-93 (EPSG:2154) per public code reprojecting it
  from EPSG:2154 — INFERRED; the reader uses whatever CRS the GeoPackage declares and reprojects to
  EPSG:2154.
- Squares with fewer than 11 households carry imputed values (``i_est_200 = 1``): fine for weights,
  never published as figures.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pyproj
import shapely

from ..errors import FormatError, SourceMissingError
from .base import Source

L93 = 2154
MEMBRE_7Z = "Filosofi2019_carreaux_200m_gpkg.7z"
MEMBRE_GPKG = "carreaux_200m_met.gpkg"

FILOSOFI_CARREAUX = Source(
    id="insee_filosofi_carreaux",
    producteur="INSEE",
    titre="Revenus, pauvreté et niveau de vie en 2019 : données carroyées (carreaux de 200 m, Filosofi)",
    url="https://www.insee.fr/fr/statistiques/fichier/7655475/Filosofi2019_carreaux_200m_gpkg.zip",
    fichier="Filosofi2019_carreaux_200m_gpkg.zip",
    format="zip → 7z → GeoPackage (carreaux_200m_met.gpkg)",
    millesime_cle="",
    par="france",
    statut_format="INFERRED",
    page="https://www.insee.fr/fr/statistiques/7655475",
    optionnel=True,
    description="Nombre d'individus, de ménages et de logements par carreau de 200 m : sert à répartir "
                "la population d'un IRIS entre quartiers (pondération dasymétrique).",
    membres=(MEMBRE_7Z, MEMBRE_GPKG),
)

SOURCES = [FILOSOFI_CARREAUX]

#: official column → French label (what the count is). All are counts (sums over the square) except
#: the identifiers and the imputation flags; ``ind_snv`` is a sum of standards of living (€).
COLONNES: dict[str, str] = {
    "idcar_200m": "identifiant du carreau de 200 m (CRS3035RES200mN…E…)",
    "idcar_1km": "identifiant du carreau de 1 km contenant le carreau",
    "idcar_nat": "identifiant du carreau de niveau naturel contenant le carreau",
    "i_est_200": "1 si le carreau de 200 m est imputé (moins de 11 ménages), 0 sinon",
    "i_est_1km": "1 si le carreau de 1 km est imputé, 0 sinon",
    "lcog_geo": "code(s) commune du carreau (concaténés s'il en chevauche plusieurs)",
    "ind": "nombre d'individus",
    "men": "nombre de ménages",
    "men_pauv": "nombre de ménages pauvres",
    "men_1ind": "nombre de ménages d'un seul individu",
    "men_5ind": "nombre de ménages de 5 individus ou plus",
    "men_prop": "nombre de ménages propriétaires",
    "men_fmp": "nombre de ménages monoparentaux",
    "ind_snv": "somme des niveaux de vie winsorisés des individus (€)",
    "men_surf": "somme de la surface des logements du carreau (m²)",
    "men_coll": "nombre de ménages en logements collectifs",
    "men_mais": "nombre de ménages en maison",
    "log_av45": "nombre de logements construits avant 1945",
    "log_45_70": "nombre de logements construits entre 1945 et 1969",
    "log_70_90": "nombre de logements construits entre 1970 et 1989",
    "log_ap90": "nombre de logements construits depuis 1990",
    "log_inc": "nombre de logements dont la date de construction est inconnue",
    "log_soc": "nombre de logements sociaux",
    "ind_0_3": "nombre d'individus de 0 à 3 ans",
    "ind_4_5": "nombre d'individus de 4 à 5 ans",
    "ind_6_10": "nombre d'individus de 6 à 10 ans",
    "ind_11_17": "nombre d'individus de 11 à 17 ans",
    "ind_18_24": "nombre d'individus de 18 à 24 ans",
    "ind_25_39": "nombre d'individus de 25 à 39 ans",
    "ind_40_54": "nombre d'individus de 40 à 54 ans",
    "ind_55_64": "nombre d'individus de 55 à 64 ans",
    "ind_65_79": "nombre d'individus de 65 à 79 ans",
    "ind_80p": "nombre d'individus de 80 ans ou plus",
    "ind_inc": "nombre d'individus dont l'âge est inconnu",
}

IDENTIFIANTS = ("idcar_200m", "idcar_1km", "idcar_nat", "lcog_geo")
#: 2015 edition names that differ from the 2019 ones (besides the case).
ALIAS = {"idinspire": "idcar_200m", "id_carr1km": "idcar_1km", "id_carr_n": "idcar_nat",
         "i_est_cr": "i_est_200", "depcom": "lcog_geo"}
REQUISES = ("idcar_200m", "ind")


def grid_gpkg(path: Path | str, cache_dir: Path | str | None = None) -> Path:
    """The metropolitan GeoPackage behind ``path`` (zip, nested 7z, or the ``.gpkg`` itself).

    Archives are extracted once into ``cache_dir`` (default: ``<folder of path>/.extrait``) and the
    extracted file is reused while it is newer than the archive.
    """
    path = Path(path)
    if not path.exists():
        raise SourceMissingError(
            "Le fichier des données carroyées Filosofi est introuvable (Filosofi 200 m grid file not found).",
            fichier=str(path),
            correction=f"lancez « observatoire fetch » ou déposez {FILOSOFI_CARREAUX.fichier} "
                       f"(téléchargé depuis {FILOSOFI_CARREAUX.page}) dans ce dossier")
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        return path
    cache = Path(cache_dir) if cache_dir else path.parent / ".extrait"
    target = cache / MEMBRE_GPKG
    if target.exists() and target.stat().st_mtime >= path.stat().st_mtime:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        tmp = Path(tmp)
        if suffix == ".zip":
            try:
                with zipfile.ZipFile(path) as z:
                    names = z.namelist()
                    gpkg = [n for n in names if Path(n).name == MEMBRE_GPKG]
                    sevenz = [n for n in names if n.lower().endswith(".7z")]
                    if gpkg:
                        z.extract(gpkg[0], tmp)
                        (tmp / gpkg[0]).replace(target)
                        return target
                    if not sevenz:
                        raise FormatError(
                            f"L'archive ne contient ni {MEMBRE_GPKG} ni archive .7z (membres : "
                            f"{', '.join(names[:5])}).", fichier=str(path),
                            correction=f"téléchargez {FILOSOFI_CARREAUX.url}")
                    z.extract(sevenz[0], tmp)
                    inner = tmp / sevenz[0]
            except zipfile.BadZipFile as e:
                raise FormatError(f"Archive zip illisible ({e}).", fichier=str(path),
                                  correction="supprimez le fichier et relancez « observatoire fetch »") from e
        elif suffix == ".7z":
            inner = path
        else:
            raise FormatError("Format inattendu pour les données carroyées (attendu : .zip, .7z ou .gpkg).",
                              fichier=str(path), correction=f"utilisez {FILOSOFI_CARREAUX.fichier}")
        import py7zr

        with py7zr.SevenZipFile(inner) as z:
            members = [n for n in z.getnames() if Path(n).name == MEMBRE_GPKG]
            if not members:
                raise FormatError(f"L'archive 7z ne contient pas {MEMBRE_GPKG}.", fichier=str(path),
                                  correction=f"téléchargez {FILOSOFI_CARREAUX.url}")
        with py7zr.SevenZipFile(inner) as z:
            z.extract(path=tmp / "x", targets=[members[0]])
        (tmp / "x" / members[0]).replace(target)
    return target


def _normalise_columns(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    ren = {}
    for c in gdf.columns:
        if c == gdf.geometry.name:
            continue
        low = c.lower()
        ren[c] = ALIAS.get(low, low)
    return gdf.rename(columns=ren)


def read_grid(path: Path | str, bbox=None, columns: list[str] | None = None,
              cache_dir: Path | str | None = None) -> gpd.GeoDataFrame:
    """Read the Filosofi 200 m squares (optionally only those intersecting ``bbox``), in EPSG:2154.

    Parameters
    ----------
    path : Path
        ``Filosofi2019_carreaux_200m_gpkg.zip`` (or the nested 7z, or ``carreaux_200m_met.gpkg``).
    bbox : tuple (minx, miny, maxx, maxy) in EPSG:2154, or a shapely geometry / GeoDataFrame
        Only squares intersecting it are read (GeoDataFrames are reprojected to EPSG:2154 first).
    columns : list of str, optional
        Columns to keep (official names); default all.

    Returns
    -------
    GeoDataFrame
        Official lower-case columns; counts as float; ``i_est_*`` as int; EPSG:2154.
    """
    gpkg = grid_gpkg(path, cache_dir)
    import pyogrio

    try:
        info = pyogrio.read_info(gpkg)
    except Exception as e:
        raise FormatError(f"GeoPackage illisible ({e}).", fichier=str(gpkg),
                          correction="supprimez le fichier extrait et relancez") from e
    from ..validation import check_crs_domain

    # a grid without coordinate system is refused (never assumed Lambert-93), one outside its
    # system's domain too
    check_crs_domain(info.get("total_bounds"), info.get("crs") or None, str(gpkg), "grille Filosofi 200 m")
    layer_crs = pyproj.CRS.from_user_input(info["crs"])
    read_bbox = b_l93 = None
    if bbox is not None:
        b_l93 = _bounds_l93(bbox)
        b = b_l93
        if layer_crs.to_epsg() != L93:
            b = pyproj.Transformer.from_crs(L93, layer_crs, always_xy=True).transform_bounds(*b)
        read_bbox = tuple(float(x) for x in b)
    gdf = gpd.read_file(gpkg, bbox=read_bbox, engine="pyogrio")
    gdf = _normalise_columns(gdf)
    missing = [c for c in REQUISES if c not in gdf.columns]
    if missing:
        raise FormatError(
            f"Colonnes absentes des données carroyées : {', '.join(missing)} (colonnes lues : "
            f"{', '.join(map(str, gdf.columns[:12]))}…).", fichier=str(gpkg),
            correction="utilisez le fichier Filosofi 2019 carroyé à 200 m de l'Insee (carreaux_200m_met.gpkg)")
    for c in gdf.columns:
        if c == gdf.geometry.name or c in IDENTIFIANTS:
            continue
        if c.startswith("i_est"):
            gdf[c] = gdf[c].fillna(0).astype(int)
        elif c in COLONNES:
            gdf[c] = gdf[c].astype(float)
    for c in IDENTIFIANTS:
        if c in gdf.columns:
            gdf[c] = gdf[c].astype(str)
    if columns is not None:
        keep = [c for c in columns if c in gdf.columns]
        gdf = gdf[keep + [gdf.geometry.name]]
    gdf = gdf.to_crs(L93)
    if b_l93 is not None and len(gdf):
        # pyogrio filters on envelopes: keep exact intersections with the requested box
        gdf = gdf[gdf.intersects(shapely.box(*b_l93))]
    return gdf.reset_index(drop=True)


def _bounds_l93(bbox) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) in EPSG:2154 of a tuple, a shapely geometry or a GeoDataFrame/GeoSeries."""
    if isinstance(bbox, (gpd.GeoDataFrame, gpd.GeoSeries)):
        b = bbox.to_crs(L93).total_bounds if bbox.crs is not None else bbox.total_bounds
    elif isinstance(bbox, shapely.Geometry):
        b = bbox.bounds
    else:
        b = tuple(bbox)
    return tuple(float(x) for x in b)
