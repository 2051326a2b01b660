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
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from .. import validation
from ..errors import FormatError, GeometryError
from ..validation import check_codes, check_crs_domain, dedupe_features, note
from .base import Source
from .tabular import REFETCH, open_zip

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

    Falls back to the single member with extension ``ext`` when ``name`` is absent. A truncated or
    damaged archive is refused first (« archive incomplète, téléchargez-la à nouveau »).
    """
    p = Path(zip_path)
    with open_zip(p) as z:
        names = [n for n in z.namelist() if not n.startswith("__MACOSX")]
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


#: A bbox holding every coordinate: features outside it have no geometry (null or empty).
_WORLD = (-1e15, -1e15, 1e15, 1e15)


def _ogr(call, path, quoi: str, src: str, **kw):
    """``call(src, **kw)`` (a pyogrio reader) on an ANCT file; GDAL's errors become a FormatError
    naming the file."""
    try:
        return call(src, **kw)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError,
            pyogrio.errors.GeometryError, pyogrio.errors.CRSError) as e:
        raise FormatError(f"Impossible de lire {quoi} : {e}.", fichier=str(path),
                          correction=f"{REFETCH} ; s'il s'agit d'un fichier modifié, vérifiez-le dans un SIG") from e


def _without_geometry(src: str, path, code_col: str, columns: list[str], quoi: str) -> pd.DataFrame:
    """Attributes of the features that have no geometry (null or empty), whatever their place."""
    everything = _ogr(pyogrio.read_dataframe, path, quoi, src, columns=columns,
                      read_geometry=False, fid_as_index=True)
    located = _ogr(pyogrio.read_dataframe, path, quoi, src, columns=[code_col],
                   read_geometry=False, fid_as_index=True, bbox=_WORLD)
    return everything.loc[~everything.index.isin(located.index)]


def _refuse_or_note_missing(nogeom: pd.DataFrame, ours: np.ndarray, code_col: str, path, quoi: str) -> None:
    """Features without geometry: refused when they may belong to the territory, noted otherwise."""
    if ours.any():
        codes = nogeom.loc[ours, code_col].astype(str).tolist()
        raise GeometryError(f"{quoi} : géométrie absente (null) ou vide pour {len(codes)} quartier(s) du territoire : "
                            f"{', '.join(codes[:8])}. Ces quartiers disparaîtraient des cartes et des portraits "
                            "(null geometry).", fichier=str(path),
                            correction="utilisez le fichier officiel de l'ANCT non modifié (observatoire fetch --force), "
                                       "ou redessinez le périmètre de ces quartiers dans un SIG")
    if len(nogeom):
        codes = nogeom[code_col].astype(str).tolist()
        note(f"{quoi} : {len(codes)} quartier(s) hors du territoire sans géométrie dans {Path(str(path)).name}, "
             f"ignoré(s) : {', '.join(codes[:6])}{' …' if len(codes) > 6 else ''}.")


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

    Raises
    ------
    FormatError : truncated archive, missing columns, a quartier of the territory without geometry or
        lying outside the territory's extent (wrong coordinates), coordinates outside the domain of the
        declared coordinate system, a code that is not an official QPV 2024 code, a code twice with
        different perimeters.
    """
    quoi = "Périmètres QPV 2024"
    src = _vsi(path, QPV2024_MEMBER, ".geojson")
    info = _ogr(pyogrio.read_info, path, quoi, src, force_total_bounds=True)
    crs = info.get("crs") or "OGC:CRS84"
    if not info.get("features"):
        # an empty national file: no quartier here (a territory may have none), whatever its columns
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in QPV2024_COLUMNS + ["communes"]}
                                | {"surface_ha": pd.Series(dtype=float)}, geometry=[], crs=L93)
    fields = [str(f) for f in info["fields"]]
    missing = [c for c in QPV2024_COLUMNS if c not in fields]
    if missing:
        raise FormatError(f"Colonnes absentes du fichier QPV 2024 : {', '.join(missing)} (trouvé : "
                          f"{', '.join(fields)}).", fichier=str(path),
                          correction="utilisez le fichier des périmètres QPV 2024 publié par l'ANCT sur "
                                     "data.gouv.fr (attributs code_qp, lib_qp, insee_com, lib_com, siren_epci)")
    check_crs_domain(info.get("total_bounds"), crs, str(path), quoi)
    codes = set(communes)

    def ours(values) -> np.ndarray:
        return np.array([bool(codes.intersection(split_list(v))) for v in values], dtype=bool)

    nogeom = _without_geometry(src, path, "code_qp", ["code_qp", "insee_com"], quoi)
    _refuse_or_note_missing(nogeom, ours(nogeom["insee_com"]), "code_qp", path, quoi)
    gdf = _ogr(pyogrio.read_dataframe, path, quoi, src, bbox=_bbox_in(crs, bbox))
    if gdf.crs is None:
        gdf = gdf.set_crs("OGC:CRS84")
    out = gdf.loc[ours(gdf["insee_com"]), QPV2024_COLUMNS + ["geometry"]].copy()
    if bbox is not None:  # a quartier of the territory beyond the territory's extent: wrong coordinates
        attrs = _ogr(pyogrio.read_dataframe, path, quoi, src, columns=["code_qp", "insee_com"],
                     read_geometry=False)
        expected = set(attrs.loc[ours(attrs["insee_com"]), "code_qp"].astype(str)) - set(nogeom["code_qp"].astype(str))
        lost = sorted(expected - set(out["code_qp"].astype(str)))
        if lost:
            raise GeometryError(f"{quoi} : {len(lost)} quartier(s) des communes du territoire ont un périmètre hors de "
                                f"l'étendue du territoire : {', '.join(lost[:8])} (coordonnées fausses, ou longitude et "
                                "latitude inversées ?).", fichier=str(path),
                                correction="utilisez le fichier officiel de l'ANCT non modifié (observatoire fetch "
                                           "--force), ou corrigez les coordonnées de ces périmètres dans un SIG")
    for c in QPV2024_COLUMNS:
        out[c] = out[c].astype(str)
    check_codes(out["code_qp"], "qpv2024", str(path), quoi=quoi)
    out = dedupe_features(out, "code_qp", str(path), quoi)
    out = repair_geometries(gpd.GeoDataFrame(out, geometry="geometry", crs=gdf.crs), str(path), "code_qp", quoi)
    repaired = out.attrs.get("reparations", [])
    out["communes"] = out["insee_com"].map(lambda v: SEP.join(split_list(v)))
    out = out.to_crs(L93)
    out["surface_ha"] = out.geometry.area / 10_000
    out = out.sort_values("code_qp").reset_index(drop=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=L93)
    out.attrs["reparations"] = repaired
    return out


_UPPER2015 = {"CODE_QP": "code_qp", "NOM_QP": "nom_qp", "COMMUNE_QP": "commune_qp"}


def _departement_of_qp(code: str) -> str:
    """``QP059030`` → ``59``; ``QP02A001`` → ``2A``; ``QP971001`` → ``971``."""
    d = str(code)[2:5]
    return d if d.startswith("97") else d[1:]


def _departements_of(communes: set[str] | None) -> set[str] | None:
    if communes is None:
        return None
    return {c[:3] if c.startswith("97") else c[:2] for c in communes}


def read_qpv2015(path: str | Path, communes: set[str] | None, territory_geom,
                 min_part: float = 0.05) -> gpd.GeoDataFrame:
    """Read the official QPV 2015 shapefile zip and keep the quartiers lying in the territory.

    The 2015 file has no commune code one can trust (``COMMUNE_QP`` holds names), so quartiers are
    selected spatially: kept when at least ``min_part`` of their area lies inside ``territory_geom``
    (Lambert-93 outline of the territory; ``None``: the whole national file). The 5 % default ignores
    slivers created by generalised commune outlines along the border. Invalid perimeters are repaired
    and noted (:func:`repair_geometries`; codes in ``attrs["reparations"]``). ``communes`` gives the
    territory's départements: a quartier without geometry whose code names one of them (``QP059…``)
    is refused (it could be one of the territory's and would vanish); elsewhere it is only noted.

    Returns
    -------
    GeoDataFrame EPSG:2154 with ``code_qp, nom_qp, commune_qp, surface_ha``, sorted by ``code_qp``.
    """
    quoi = "Périmètres QPV 2015"
    p = Path(path)
    src = str(p)
    if p.suffix.lower() == ".zip":
        try:
            member = find_member(p, f"{QPV2015_LAYER}.shp")
        except FormatError:
            with open_zip(p) as z:
                shps = [n for n in z.namelist() if n.lower().endswith(".shp")
                        and re.search(r"qp", n.rsplit("/", 1)[-1], re.I)]
            if not shps:
                raise
            member = sorted(shps, key=lambda n: ("WGS84" not in n.upper(), n))[0]
        src = f"/vsizip/{p.resolve()}/{member}"
    info = _ogr(pyogrio.read_info, path, quoi, src, force_total_bounds=True)
    fields = [str(f) for f in info["fields"]]
    code_field = next((f for f in fields if f.upper() == "CODE_QP"), None)
    missing = [c for c in ("CODE_QP", "NOM_QP") if c not in [f.upper() for f in fields]]
    if missing:
        raise FormatError(f"Colonnes absentes du fichier QPV 2015 : {', '.join(missing)} "
                          f"(trouvé : {', '.join(fields)}).", fichier=str(path),
                          correction="vérifiez qu'il s'agit du shapefile ANCT des QP 2015 (CODE_QP, NOM_QP)")
    if info.get("crs") is None:
        raise GeometryError("Le shapefile QPV 2015 n'a pas de projection (.prj absent).", fichier=str(path),
                            correction="vérifiez l'archive officielle (le .prj doit accompagner le .shp)")
    check_crs_domain(info.get("total_bounds"), info["crs"], str(path), quoi)
    deps = _departements_of(communes)
    nogeom = _without_geometry(src, path, code_field, [code_field], quoi)
    mine = np.array([deps is None or _departement_of_qp(c) in deps for c in nogeom[code_field].astype(str)], dtype=bool)
    _refuse_or_note_missing(nogeom, mine, code_field, path, quoi)
    bounds = shapely.bounds(territory_geom).tolist() if territory_geom is not None else None
    gdf = _ogr(pyogrio.read_dataframe, path, quoi, src, bbox=_bbox_in(info["crs"], bounds))
    gdf = gdf.rename(columns={c: _UPPER2015.get(c.upper(), c) for c in gdf.columns if c != "geometry"})
    if "commune_qp" not in gdf.columns:
        gdf["commune_qp"] = ""
    gdf = repair_geometries(gdf, str(path), "code_qp", quoi, annoncer=False)
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
    check_codes(out["code_qp"], "qpv2015", str(path), quoi=quoi)
    out = dedupe_features(out, "code_qp", str(path), quoi)
    out["surface_ha"] = out.geometry.area / 10_000
    out = out.sort_values("code_qp").reset_index(drop=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=L93)
    kept = [c for c in repaired if c in set(out["code_qp"])]
    if kept:
        note(f"{quoi} : {len(kept)} périmètre(s) invalide(s) réparé(s) (auto-intersections, make_valid, parties "
             f"polygonales gardées) dans {p.name} : {', '.join(kept[:6])}{' …' if len(kept) > 6 else ''}.")
    out.attrs["reparations"] = kept
    return out


def repair_geometries(gdf: gpd.GeoDataFrame, fichier: str, code_col: str, quoi: str = "périmètres",
                      annoncer: bool = True) -> gpd.GeoDataFrame:
    """Invalid polygons repaired (``make_valid``, keeping the polygonal parts), null or empty
    geometries refused, each repair noted: :func:`observatoire.validation.repair_geometries`.

    The real national QPV 2015 file publishes 34 invalid geometries (self-intersections), QP059030 of
    Valenciennes among them. The codes repaired are in ``gdf.attrs["reparations"]``; with
    ``annoncer=False`` the caller announces the ones it keeps.
    """
    return validation.repair_geometries(gdf, fichier, code_col, quoi, annoncer=annoncer)


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
