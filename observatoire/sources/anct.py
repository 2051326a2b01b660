"""ANCT priority-area perimeters: QPV 2024 (GeoJSON in a zip) and QPV 2015 (shapefile in a zip).

Formats: ``../shared/data/formats/anct_qpv2024_perimetres.txt`` (VERIFIED) and
``qpv2015_perimetres.txt`` (INFERRED).

QPV 2015 ↔ 2024 correspondence: no official ANCT correspondence file could be identified from here
(data.gouv.fr pages of both geographies were searched; none publishes a table de passage). The
pipeline therefore relies on geometry (overlay of the 2015 and 2024 perimeters) and on the same-number
rule documented in ``qpv2015_cavm_list.csv`` as an inference only. No source is declared for it.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from ..errors import FormatError
from .base import Source

L93 = 2154
QPV2024_MEMBER = "QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson"
QPV2015_LAYER = "QP_METROPOLEOUTREMER_WGS84_EPSG4326"
SEP = ", "

QPV2024 = Source(
    id="anct_qpv2024",
    producteur="ANCT",
    titre="Quartiers prioritaires de la politique de la ville 2024 (périmètres)",
    url="https://www.data.gouv.fr/api/1/datasets/r/942d4ee8-8142-4556-8ea1-335537ce1119",
    fichier="QP2024_France_Hexagonale_Outre_Mer_WGS84.zip",
    format="zip (GeoJSON WGS84)",
    millesime_cle="qpv2024",
    statut_format="VERIFIED",
    page="https://www.data.gouv.fr/fr/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/",
    description="Périmètres des QPV 2024 (décret n° 2023-1314) ; le nom local du zip est choisi par "
                "l'observatoire (l'URL data.gouv.fr est un lien de ressource sans nom de fichier).",
    membres=(f"GEOJSON/{QPV2024_MEMBER}",),
)

QPV2015 = Source(
    id="anct_qpv2015",
    producteur="ANCT",
    titre="Quartiers prioritaires de la politique de la ville 2015-2023 (périmètres)",
    url="https://static.data.gouv.fr/resources/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/"
        "20180110-144945/qp-politiquedelaville-shp.zip",
    fichier="qp-politiquedelaville-shp.zip",
    format="zip (shapefile)",
    millesime_cle="qpv2015",
    statut_format="INFERRED",
    page="https://www.data.gouv.fr/fr/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/",
    description="Périmètres des QP 2015 (décret n° 2014-1750) ; attributs CODE_QP, NOM_QP, COMMUNE_QP.",
    membres=(f"{QPV2015_LAYER}.shp",),
)

SOURCES = [QPV2024, QPV2015]

QPV2024_COLUMNS = ["code_qp", "lib_qp", "insee_com", "lib_com", "siren_epci"]


def split_list(value) -> list[str]:
    """Split an official ", "-joined field (``"59014, 59491"`` → ``["59014", "59491"]``).

    Tolerates a missing space after the comma; empty/None gives ``[]``.
    """
    if value is None or (isinstance(value, float) and value != value):
        return []
    return [v.strip() for v in str(value).split(",") if v.strip()]


def find_member(zip_path: str | Path, name: str, ext: str | None = None) -> str:
    """Path inside ``zip_path`` of the member called ``name`` (any folder, case-insensitive).

    Falls back to the single member with extension ``ext`` when ``name`` is absent.
    """
    p = Path(zip_path)
    try:
        with zipfile.ZipFile(p) as z:
            names = [n for n in z.namelist() if not n.startswith("__MACOSX")]
    except zipfile.BadZipFile as e:
        raise FormatError("Le fichier n'est pas une archive zip valide (not a valid zip).", fichier=str(p),
                          correction="supprimez-le et relancez observatoire fetch") from e
    for n in names:
        if n.rsplit("/", 1)[-1].lower() == name.lower():
            return n
    if ext:
        cands = [n for n in names if n.lower().endswith(ext.lower())]
        if len(cands) == 1:
            return cands[0]
    raise FormatError(f"L'archive ne contient pas {name} (trouvé : {', '.join(names[:8])}).", fichier=str(p),
                      correction="vérifiez que c'est bien le fichier officiel de l'ANCT")


def _vsi(path: str | Path, member_name: str, ext: str) -> str:
    p = Path(path)
    if p.suffix.lower() != ".zip":
        return str(p)
    return f"/vsizip/{p.resolve()}/{find_member(p, member_name, ext)}"


def _bbox_in(crs, bbox_l93):
    """A Lambert-93 bbox expressed in ``crs`` (the file's), for pyogrio's spatial pre-filter."""
    if bbox_l93 is None or crs is None:
        return None
    t = Transformer.from_crs(L93, CRS.from_user_input(crs), always_xy=True)
    xmin, ymin, xmax, ymax = t.transform_bounds(*bbox_l93)
    return (xmin, ymin, xmax, ymax)


def read_qpv2024(path: str | Path, communes: set[str], bbox=None) -> gpd.GeoDataFrame:
    """Read the official QPV 2024 file and keep the quartiers touching the territory.

    Parameters
    ----------
    path : the official zip (member found by name in any folder) or the GeoJSON itself.
    communes : INSEE codes of the territory; a quartier is kept when its ``insee_com`` list (split on
        ", ") shares at least one code with it.
    bbox : optional Lambert-93 ``(xmin, ymin, xmax, ymax)`` of the territory: only features whose
        envelope meets it are parsed (keeps the France-wide file fast).

    Returns
    -------
    GeoDataFrame EPSG:2154 with ``code_qp, lib_qp, insee_com, lib_com, siren_epci`` (official strings),
    ``communes`` (the codes, ", "-joined) and ``surface_ha``, sorted by ``code_qp``.
    """
    src = _vsi(path, QPV2024_MEMBER, ".geojson")
    try:
        info = pyogrio.read_info(src)
        gdf = pyogrio.read_dataframe(src, bbox=_bbox_in(info.get("crs") or "OGC:CRS84", bbox))
    except pyogrio.errors.DataSourceError as e:
        raise FormatError(f"Impossible de lire les périmètres QPV 2024 : {e}.", fichier=str(path),
                          correction="supprimez le fichier et relancez observatoire fetch") from e
    if gdf.empty and not info.get("features"):
        # an empty national file: no quartier here (a territory may have none), whatever its columns
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in QPV2024_COLUMNS + ["communes"]}
                                | {"surface_ha": pd.Series(dtype=float)}, geometry=[], crs=L93)
    missing = [c for c in QPV2024_COLUMNS if c not in gdf.columns]
    if missing:
        raise FormatError(f"Colonnes absentes du fichier QPV 2024 : {', '.join(missing)} (trouvé : "
                          f"{', '.join(map(str, gdf.columns))}).", fichier=str(path),
                          correction="utilisez le fichier des périmètres QPV 2024 publié par l'ANCT sur "
                                     "data.gouv.fr (attributs code_qp, lib_qp, insee_com, lib_com, siren_epci)")
    if gdf.crs is None:
        gdf = gdf.set_crs("OGC:CRS84")
    gdf = repair_geometries(gdf, str(path), "code_qp")
    codes = set(communes)
    keep = gdf["insee_com"].map(lambda v: bool(codes.intersection(split_list(v))))
    out = gdf.loc[keep, QPV2024_COLUMNS + ["geometry"]].copy()
    for c in QPV2024_COLUMNS:
        out[c] = out[c].astype(str)
    out["communes"] = out["insee_com"].map(lambda v: SEP.join(split_list(v)))
    out = out.to_crs(L93)
    out["surface_ha"] = out.geometry.area / 10_000
    out = out.sort_values("code_qp").reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=L93)


_UPPER2015 = {"CODE_QP": "code_qp", "NOM_QP": "nom_qp", "COMMUNE_QP": "commune_qp"}


def read_qpv2015(path: str | Path, communes: set[str] | None, territory_geom,
                 min_part: float = 0.05) -> gpd.GeoDataFrame:
    """Read the official QPV 2015 shapefile zip and keep the quartiers lying in the territory.

    The 2015 file has no commune code one can trust (``COMMUNE_QP`` holds names), so quartiers are
    selected spatially: kept when at least ``min_part`` of their area lies inside ``territory_geom``
    (Lambert-93 outline of the territory; ``None``: the whole national file). The 5 % default ignores
    slivers created by generalised commune outlines along the border. Invalid perimeters are repaired
    and noted (:func:`repair_geometries`; codes in ``attrs["reparations"]``). ``communes`` is accepted for symmetry with
    :func:`read_qpv2024` and is not used for the selection.

    Returns
    -------
    GeoDataFrame EPSG:2154 with ``code_qp, nom_qp, commune_qp, surface_ha``, sorted by ``code_qp``.
    """
    del communes  # spatial selection only (see docstring)
    p = Path(path)
    src = str(p)
    if p.suffix.lower() == ".zip":
        try:
            member = find_member(p, f"{QPV2015_LAYER}.shp")
        except FormatError:
            with zipfile.ZipFile(p) as z:
                shps = [n for n in z.namelist() if n.lower().endswith(".shp")
                        and re.search(r"qp", n.rsplit("/", 1)[-1], re.I)]
            if not shps:
                raise
            member = sorted(shps, key=lambda n: ("WGS84" not in n.upper(), n))[0]
        src = f"/vsizip/{p.resolve()}/{member}"
    info = pyogrio.read_info(src)
    bounds = shapely.bounds(territory_geom).tolist() if territory_geom is not None else None
    gdf = pyogrio.read_dataframe(src, bbox=_bbox_in(info.get("crs"), bounds))
    gdf = gdf.rename(columns={c: _UPPER2015.get(c.upper(), c) for c in gdf.columns if c != "geometry"})
    missing = [c for c in ("code_qp", "nom_qp") if c not in gdf.columns]
    if missing:
        raise FormatError(f"Colonnes absentes du fichier QPV 2015 : {', '.join(missing)} "
                          f"(trouvé : {', '.join(map(str, gdf.columns))}).", fichier=str(path),
                          correction="vérifiez qu'il s'agit du shapefile ANCT des QP 2015 (CODE_QP, NOM_QP)")
    if "commune_qp" not in gdf.columns:
        gdf["commune_qp"] = ""
    if gdf.crs is None:
        raise FormatError("Le shapefile QPV 2015 n'a pas de projection (.prj absent).", fichier=str(path),
                          correction="vérifiez l'archive officielle (le .prj doit accompagner le .shp)")
    gdf = repair_geometries(gdf, str(path), "code_qp")
    repaired = gdf.attrs.get("reparations", [])
    gdf = gdf.to_crs(L93)
    area = gdf.geometry.area
    if territory_geom is None:  # the whole national file
        keep = area > 0
    else:
        inside = gdf.geometry.intersection(territory_geom).area
        keep = (area > 0) & (inside / area.where(area > 0, 1) >= min_part)
    out = gdf.loc[keep, ["code_qp", "nom_qp", "commune_qp", "geometry"]].copy()
    for c in ("code_qp", "nom_qp", "commune_qp"):
        out[c] = out[c].fillna("").astype(str)
    out["surface_ha"] = out.geometry.area / 10_000
    out = out.sort_values("code_qp").reset_index(drop=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=L93)
    out.attrs["reparations"] = [c for c in repaired if c in set(out["code_qp"])]
    return out


def repair_geometries(gdf: gpd.GeoDataFrame, fichier: str, code_col: str) -> gpd.GeoDataFrame:
    """Invalid polygons repaired as published files need (``make_valid``, keeping the polygonal parts),
    null or empty geometries refused, each repair noted.

    The real national QPV 2015 file publishes 34 invalid geometries (self-intersections), QP059030 of
    Valenciennes among them. The codes repaired are in ``gdf.attrs["reparations"]`` and announced on
    the terminal; a null or empty geometry raises :class:`FormatError` naming the codes.
    """
    from ..progress import info

    geoms = gdf.geometry.values
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        codes = ", ".join(gdf.loc[empty, code_col].astype(str).head(8))
        raise FormatError(f"Géométrie absente ou vide pour {int(empty.sum())} quartier(s) : {codes}. Ces quartiers "
                          "disparaîtraient des cartes et des portraits.", fichier=fichier,
                          correction="utilisez le fichier officiel de l'ANCT non modifié, ou corrigez le périmètre "
                                     "de ces quartiers dans un SIG")
    invalid = ~shapely.is_valid(geoms)
    repaired: list[str] = []
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        polys = np.array([_polygonal(g) for g in fixed], dtype=object)
        gdf = gdf.copy()
        gdf.loc[invalid, gdf.geometry.name] = polys
        repaired = gdf.loc[invalid, code_col].astype(str).tolist()
        info(f"  {len(repaired)} périmètre(s) invalide(s) réparé(s) dans {Path(fichier).name} "
             f"({', '.join(repaired[:6])}{' …' if len(repaired) > 6 else ''})")
    gdf.attrs["reparations"] = repaired
    return gdf


def _polygonal(g):
    """The polygonal part of a repaired geometry (lines and points of a GeometryCollection dropped)."""
    if g is None:
        return g
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def quartier_codes(path: str | Path, geographie: int) -> list[str]:
    """Every quartier code of the national perimeter file (attributes only, fast): the expected
    members of the « QPV du département » sets."""
    p = Path(path)
    if geographie == 2024:
        src = _vsi(p, QPV2024_MEMBER, ".geojson")
        col = "code_qp"
    else:
        src = str(p)
        if p.suffix.lower() == ".zip":
            src = f"/vsizip/{p.resolve()}/{find_member(p, f'{QPV2015_LAYER}.shp', '.shp')}"
        col = None
    info = pyogrio.read_info(src)
    fields = list(info["fields"])
    col = col or next((c for c in fields if c.upper() == "CODE_QP"), None)
    if col is None or col not in fields:
        return []
    df = pyogrio.read_dataframe(src, columns=[col], read_geometry=False)
    return sorted(df[col].dropna().astype(str).unique())


def qpv_commune_shares(qpv: gpd.GeoDataFrame, communes_gdf: gpd.GeoDataFrame, millesime: int,
                       territoire: set[str] | None = None, min_part: float = 0.01) -> pd.DataFrame:
    """Share of each quartier's area in each commune (layer ``qpv_communes``).

    Parameters
    ----------
    qpv : output of :func:`read_qpv2024` (needs ``insee_com``, ``lib_com``) or :func:`read_qpv2015`.
    communes_gdf : Lambert-93 communes with ``code_insee``, ``nom`` (territory communes, plus any
        neighbours you have).
    millesime : 2024 or 2015 (written to ``millesime_qpv``).
    territoire : codes of the studied territory (``dans_territoire``); default: all codes of
        ``communes_gdf``.
    min_part : 2015 only: communes holding less than this share are dropped (outline slivers).

    Method
    ------
    2024: the official ``insee_com`` list is the truth. For a listed commune with an outline,
    ``s = area(q ∩ commune) / area(q)``. Area falling in non-listed communes (an artefact of
    generalised outlines) is given back to the listed communes with an outline, in proportion of
    ``s``. Area outside every outline provided goes, split equally, to listed communes without an
    outline (e.g. a neighbouring EPCI's commune); if every listed commune has an outline it is also
    given back proportionally. Shares of a quartier therefore sum to 1.
    2015: communes come from geometry only (no trustworthy codes): shares ``≥ min_part``, unnormalised.

    Returns
    -------
    DataFrame ``code_qp, millesime_qpv, insee_com, nom_commune, part_surface, dans_territoire``.
    """
    terr = set(territoire) if territoire is not None else set(communes_gdf["code_insee"].astype(str))
    noms = dict(zip(communes_gdf["code_insee"].astype(str), communes_gdf["nom"].astype(str)))
    cgeom = dict(zip(communes_gdf["code_insee"].astype(str), communes_gdf.geometry.values))
    union_all = shapely.union_all(communes_gdf.geometry.values) if len(communes_gdf) else shapely.Polygon()
    rows = []
    for q in qpv.itertuples(index=False):
        geom = q.geometry
        total = geom.area
        if total <= 0:
            continue
        if int(millesime) == 2015:
            for code, cg in cgeom.items():
                s = geom.intersection(cg).area / total
                if s >= min_part:
                    rows.append((q.code_qp, 2015, code, noms[code], s, code in terr))
            continue
        listed = split_list(q.insee_com)
        libs = split_list(q.lib_com)
        lib_of = dict(zip(listed, libs)) if len(libs) == len(listed) else {}
        known = [c for c in listed if c in cgeom]
        unknown = [c for c in listed if c not in cgeom]
        share = {c: geom.intersection(cgeom[c]).area / total for c in known}
        covered = geom.intersection(union_all).area / total if known or len(cgeom) else 0.0
        s_known = sum(share.values())
        parasite = max(covered - s_known, 0.0)
        outside = max(1.0 - covered, 0.0)
        if unknown:
            for c in unknown:
                share[c] = outside / len(unknown)
            give = parasite
        else:
            give = parasite + outside
        if give and s_known > 0:
            for c in known:
                share[c] += give * share[c] / s_known
        elif give and unknown:
            for c in unknown:
                share[c] += give / len(unknown)
        for c in listed:
            rows.append((q.code_qp, 2024, c, noms.get(c, lib_of.get(c, "")), share[c], c in terr))
    out = pd.DataFrame(rows, columns=["code_qp", "millesime_qpv", "insee_com", "nom_commune", "part_surface",
                                      "dans_territoire"])
    out["millesime_qpv"] = out["millesime_qpv"].astype(int)
    out["part_surface"] = out["part_surface"].astype(float)
    out["dans_territoire"] = out["dans_territoire"].astype(bool)
    return out
