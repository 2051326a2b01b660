"""Geographic part of the demo mirror: official file formats, real content wherever it exists.

With ``../shared/data/valenciennes`` (CA Valenciennes Métropole, SIREN 245901160):

================================================  ======  ===========================================
file (mirror path)                                simule  content
================================================  ======  ===========================================
``anct_qpv2024/QP2024_…_WGS84.zip``               false   the real ``qpv2024.geojson`` (15 features,
                                                          verbatim) as member
                                                          ``GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson``
``ign_communes/communes_59.geojson``              false   real outlines (ADMIN EXPRESS-COG 2018,
                                                          generalised) and 2026 populations of the 35
                                                          communes, WFS attribute names, Lambert-93
``ign_departement/departement_59.geojson``        false   real (generalised) outline of the Nord
``insee_epci/Intercommunalite_…_01-01-<cog>.zip`` false   INSEE layout, real membership of the 35
                                                          communes + 3 communes of the CA de la Porte
                                                          du Hainaut named in the QPV file
``ign_iris/contours_iris_59.geojson``             true    IRIS partitioning the 35 real communes
``anct_qpv2015/qp-politiquedelaville-shp.zip``    true    14 real codes/names, shapes derived from the
                                                          2024 quartiers
================================================  ======  ===========================================

Without ``../shared``: a small fully simulated territory in the same formats, all ``simule: true``
(4 communes of an EPCI, 1 neighbour commune of another EPCI, 3 quartiers: one inside a commune, one
spanning two communes, one spilling into the neighbouring EPCI; département code ``00``).

The mirror root also gets ``territoire.toml`` (the ``[territoire]`` section to use with it).
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely import affinity

from ..config import DEFAULT_MILLESIMES
from ..sources import anct, ign
from ..sources.insee_cog import EPCI_SOURCE

L93 = 2154
ZIP_DATE = (2024, 1, 1, 0, 0, 0)
PORTE_DU_HAINAUT = ("200042190", "CA de la Porte du Hainaut")
#: communes of the CA de la Porte du Hainaut named in the 2024 QPV file of CAVM (insee_com / lib_com)
OUTSIDE_COMMUNES = [("59207", "Escautpont"), ("59491", "Raismes"), ("59564", "La Sentinelle")]


@dataclass
class DemoContext:
    """What the geographic step hands to ``observatoire.demo.stats.write_stats(dest, ctx)`` and
    ``observatoire.demo.grid.write_grid(dest, ctx)``.

    Attributes
    ----------
    dest : Path
        Directory being filled (the mirror root; write files at ``dest / "<source_id>/<file>"``).
    communes : GeoDataFrame, EPSG:2154
        Member communes of the demo territory: ``code_insee`` (str), ``nom``, ``siren_epci``, ``dep``,
        ``population`` (int, population municipale; real for Valenciennes, simulated in the fallback).
    iris : GeoDataFrame, EPSG:2154
        Simulated IRIS partitioning ``communes``: ``code_iris`` (9 chars), ``code_insee``, ``nom_iris``,
        ``type_iris`` (``Z`` whole commune < 5 000 inhabitants, else ``H``), ``nom_commune``,
        ``population`` (int; the IRIS of a commune sum exactly to the commune's population).
    qpv2024 : GeoDataFrame, EPSG:2154
        QPV 2024 touching the territory, official columns ``code_qp, lib_qp, insee_com, lib_com,
        siren_epci`` (", "-joined strings) — real perimeters for Valenciennes.
    qpv2015 : GeoDataFrame, EPSG:2154
        Simulated QPV 2015 perimeters: ``code_qp, nom_qp, commune_qp`` (real codes and names for
        Valenciennes) and ``successeur_2024`` (probable 2024 code, may be empty).
    epci_siren, epci_nom : str
        The demo EPCI (``245901160`` / « CA Valenciennes Métropole »; ``200099999`` in the fallback).
    departement, departement_nom : str
        ``"59"`` / « Nord » (``"00"`` in the fallback).
    rng : numpy.random.Generator
        Seeded generator (``build_mirror(seed=…)``): use it for every random draw so mirrors are
        reproducible.
    millesimes : dict
        Vintages the mirror is built for (``observatoire.config.DEFAULT_MILLESIMES``): name vintage-
        dependent files with them so that the default ``observatoire.toml`` finds them.
    simule_territoire : bool
        True in the fully simulated fallback (no ``../shared``).
    shared_dir : Path | None
        ``../shared/data`` when available.
    add_file : callable ``(relpath: str, simule: bool, note: str = "", url: str = "") -> None``
        Record a file you wrote (``relpath`` relative to ``dest``, e.g. ``"insee_rp_pop/x.zip"``) in the
        mirror ``manifest.json``; size and sha256 are computed at call time, so call it after writing.
    """

    dest: Path
    communes: gpd.GeoDataFrame
    iris: gpd.GeoDataFrame
    qpv2024: gpd.GeoDataFrame
    qpv2015: gpd.GeoDataFrame
    epci_siren: str
    epci_nom: str
    departement: str
    departement_nom: str
    rng: np.random.Generator
    millesimes: dict
    simule_territoire: bool
    shared_dir: Path | None
    add_file: Callable[..., None]
    entries: dict = field(default_factory=dict, repr=False)


# ----------------------------------------------------------------------------------------------------
# small writers in the official layouts
# ----------------------------------------------------------------------------------------------------
def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _wfs_geojson(gdf: gpd.GeoDataFrame, path: Path, name: str) -> None:
    """A WFS-style GeoJSON FeatureCollection in Lambert-93 (explicit ``crs`` member), like the
    Géoplateforme answer to ``SRSNAME=EPSG:2154``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    out = gdf.to_crs(L93)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=L93)
    pyogrio.write_dataframe(out, path, driver="GeoJSON", layer=name, promote_to_multi=True,
                            layer_options={"RFC7946": "NO", "WRITE_NAME": "YES", "COORDINATE_PRECISION": "3"})


def qpv2024_geojson_bytes(qpv: gpd.GeoDataFrame, region=("00", "Région simulée"),
                          dep=("00", "Département simulé")) -> bytes:
    """Serialise quartiers in the layout of the official ANCT file (header, one Feature per line)."""
    g = qpv.to_crs("OGC:CRS84")
    lines = []
    for i, r in enumerate(g.itertuples(index=False)):
        props = {"fid": float(i + 1), "code_qp": r.code_qp, "lib_qp": r.lib_qp, "insee_reg": region[0],
                 "lib_reg": region[1], "insee_dep": dep[0], "lib_dep": dep[1], "insee_com": r.insee_com,
                 "lib_com": r.lib_com, "siren_epci": r.siren_epci}
        geom = shapely.geometry.mapping(shapely.MultiPolygon([r.geometry]) if r.geometry.geom_type == "Polygon"
                                        else r.geometry)
        lines.append(json.dumps({"type": "Feature", "properties": props, "geometry": geom},
                                ensure_ascii=False, separators=(", ", ": ")))
    head = ('{\n"type": "FeatureCollection",\n"name": "QP2024_France_Hexagonale_Outre_Mer_WGS84_ESPG4326",\n'
            '"crs": { "type": "name", "properties": { "name": "urn:ogc:def:crs:OGC:1.3:CRS84" } },\n'
            '"features": [\n')
    return (head + ",\n".join(lines) + "\n]\n}\n").encode("utf-8")


def composition_xlsx_bytes(rows: pd.DataFrame, millesime: int) -> bytes:
    """INSEE « Intercommunalité - Métropole » workbook: sheets ``EPCI`` and ``Composition_communale``,
    five title rows then the header (layout INFERRED, see :mod:`observatoire.sources.insee_cog`)."""
    from openpyxl import Workbook
    import datetime as dt

    wb = Workbook()
    fixed = dt.datetime(millesime, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    ws = wb.active
    ws.title = "EPCI"
    titles = [f"Intercommunalités au 1er janvier {millesime}",
              "Source : Insee, Code officiel géographique ; DGCL, Banatic (extrait réduit pour la démonstration)",
              "", "", ""]
    for t in titles:
        ws.append([t])
    ws.append(["EPCI", "LIBEPCI", "NATURE_EPCI", "NB_COM"])
    for (siren, nom), grp in rows.groupby(["EPCI", "LIBEPCI"], sort=True):
        ws.append([siren, nom, "CA", int(len(grp))])
    ws2 = wb.create_sheet("Composition_communale")
    for t in titles:
        ws2.append([t])
    ws2.append(["CODGEO", "LIBGEO", "EPCI", "LIBEPCI", "DEP", "REG"])
    for r in rows.sort_values("CODGEO").itertuples(index=False):
        ws2.append([r.CODGEO, r.LIBGEO, r.EPCI, r.LIBEPCI, r.DEP, r.REG])
    buf = io.BytesIO()
    wb.save(buf)
    # same input → same bytes: fixed member dates, and the save time openpyxl stamps in core.xml
    import re

    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        members = {n: z.read(n) for n in z.namelist()}
    if "docProps/core.xml" in members:
        members["docProps/core.xml"] = re.sub(
            rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
            rb"\g<1>" + fixed.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", members["docProps/core.xml"])
    return _zip_bytes(members)


def _norm(name: str) -> str:
    s = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in s if ch.isalnum())


# ----------------------------------------------------------------------------------------------------
# simulations
# ----------------------------------------------------------------------------------------------------
def _random_points(poly, n: int, rng: np.random.Generator) -> list:
    xmin, ymin, xmax, ymax = poly.bounds
    shapely.prepare(poly)
    pts = []
    while len(pts) < n:
        xs = rng.uniform(xmin, xmax, 4 * n)
        ys = rng.uniform(ymin, ymax, 4 * n)
        cand = shapely.points(xs, ys)
        pts.extend(cand[shapely.contains(poly, cand)])
    return pts[:n]


def simulate_iris(communes: gpd.GeoDataFrame, rng: np.random.Generator, habitants_par_iris: int = 2000,
                  seuil: int = 5000) -> gpd.GeoDataFrame:
    """IRIS partitioning each commune (Lambert-93 in, Lambert-93 out).

    Communes under ``seuil`` inhabitants: one IRIS ``<code>0000`` of type ``Z`` named like the commune.
    Larger: ``round(population / habitants_par_iris)`` (≥ 2) IRIS ``<code>0101``, ``<code>0102``… of type
    ``H`` named « <commune> 1 », « <commune> 2 »…, cut by a Voronoi diagram of random points clipped
    to the commune; population split by a Dirichlet draw (sums exactly to the commune's).
    """
    rows = []
    for c in communes.sort_values("code_insee").itertuples(index=False):
        pop = int(c.population) if pd.notna(c.population) else 0
        geom = shapely.make_valid(c.geometry)
        if pop < seuil:
            rows.append((f"{c.code_insee}0000", c.code_insee, c.nom, "Z", c.nom, pop, geom))
            continue
        n = max(2, int(round(pop / habitants_par_iris)))
        pts = _random_points(geom, n, rng)
        cells = shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=geom.envelope.buffer(1000))
        pieces = []
        for pt in pts:  # keep the order of the seeds so numbering is stable
            cell = next(g for g in cells.geoms if g.contains(pt))
            piece = shapely.make_valid(cell.intersection(geom))
            if piece.geom_type == "GeometryCollection":
                piece = shapely.union_all([g for g in piece.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
            pieces.append(piece)
        # order west→east, south→north for readable numbering
        order = sorted(range(n), key=lambda i: (round(pieces[i].centroid.y, -2) * -1, pieces[i].centroid.x))
        shares = rng.dirichlet(np.full(n, 30.0))
        pops = np.floor(shares * pop).astype(int)
        pops[: pop - pops.sum()] += 1
        for k, i in enumerate(order):
            rows.append((f"{c.code_insee}{101 + k:04d}", c.code_insee, f"{c.nom} {k + 1}", "H", c.nom,
                         int(pops[k]), pieces[i]))
    df = pd.DataFrame(rows, columns=["code_iris", "code_insee", "nom_iris", "type_iris", "nom_commune",
                                     "population", "geometry"])
    return gpd.GeoDataFrame(df, geometry="geometry", crs=L93)


def simulate_qpv2015(qpv2024: gpd.GeoDataFrame, liste: pd.DataFrame, communes: gpd.GeoDataFrame,
                     rng: np.random.Generator) -> gpd.GeoDataFrame:
    """2015 perimeters derived from the matching 2024 quartier: shrunk to 85 %, shifted by up to 60 m,
    then clipped to the communes the 2015 list names (e.g. QP059030 stays in Valenciennes while its
    2024 successor spreads over Anzin and La Sentinelle).

    ``liste``: ``code_qp2015, nom_qp2015, communes, successeur_qpv2024_probable`` (rows without a
    2015 code or without a 2024 match are skipped: no shape is invented from nothing).
    """
    by_code = dict(zip(qpv2024["code_qp"], qpv2024.geometry))
    by_name = {_norm(n): g for n, g in zip(communes["nom"], communes.geometry)}
    rows = []
    for r in liste.itertuples(index=False):
        code = str(r.code_qp2015) if pd.notna(r.code_qp2015) else ""
        succ = str(r.successeur_qpv2024_probable) if pd.notna(r.successeur_qpv2024_probable) else ""
        if not code or succ not in by_code:
            continue
        g24 = by_code[succ]
        g = affinity.scale(g24, 0.85, 0.85, origin=g24.centroid)
        g = affinity.translate(g, *rng.uniform(-60, 60, 2))
        names = [n.strip() for n in str(r.communes).split(",")]
        clip = [by_name[_norm(n)] for n in names if _norm(n) in by_name]
        if clip:
            g = g.intersection(shapely.union_all(clip))
        g = shapely.make_valid(g)
        if g.geom_type == "GeometryCollection":
            g = shapely.union_all([x for x in g.geoms if x.geom_type in ("Polygon", "MultiPolygon")])
        if g.is_empty:
            continue
        rows.append((code, str(r.nom_qp2015), str(r.communes), succ, g))
    df = pd.DataFrame(rows, columns=["code_qp", "nom_qp", "commune_qp", "successeur_2024", "geometry"])
    return gpd.GeoDataFrame(df, geometry="geometry", crs=L93)


def qpv2015_shapefile_zip(qpv2015: gpd.GeoDataFrame, workdir: Path) -> bytes:
    """The official 2015 layout: shapefile ``QP_METROPOLEOUTREMER_WGS84_EPSG4326`` (CODE_QP, NOM_QP,
    COMMUNE_QP, WGS84) zipped."""
    workdir.mkdir(parents=True, exist_ok=True)
    shp = workdir / f"{anct.QPV2015_LAYER}.shp"
    out = qpv2015[["code_qp", "nom_qp", "commune_qp", "geometry"]].rename(
        columns={"code_qp": "CODE_QP", "nom_qp": "NOM_QP", "commune_qp": "COMMUNE_QP"}).to_crs(4326)
    pyogrio.write_dataframe(gpd.GeoDataFrame(out, geometry="geometry", crs=4326), shp, driver="ESRI Shapefile",
                            encoding="UTF-8", promote_to_multi=True)
    members = {}
    for p in sorted(workdir.glob(f"{anct.QPV2015_LAYER}.*")):
        members[p.name] = p.read_bytes()
    return _zip_bytes(members)


# ----------------------------------------------------------------------------------------------------
# territories
# ----------------------------------------------------------------------------------------------------
@dataclass
class _Geo:
    communes: gpd.GeoDataFrame          # L93: code_insee, nom, siren_commune, siren_epci, dep, population
    departement: gpd.GeoDataFrame       # L93: code, nom
    composition: pd.DataFrame           # CODGEO, LIBGEO, EPCI, LIBEPCI, DEP, REG
    qpv2024: gpd.GeoDataFrame
    qpv2024_bytes: bytes
    liste2015: pd.DataFrame
    epci_siren: str
    epci_nom: str
    dep: str
    dep_nom: str
    reg: str
    simule: bool
    notes: dict


def _valenciennes(shared: Path) -> _Geo:
    v = shared / "valenciennes"
    c = gpd.read_file(v / "communes.geojson")
    if c.crs is None:
        c = c.set_crs("OGC:CRS84")
    c = c.to_crs(L93)
    communes = gpd.GeoDataFrame({
        "code_insee": c["code"].astype(str), "nom": c["nom"].astype(str),
        "siren_commune": c["siren_commune"].astype(str), "siren_epci": c["siren_epci"].astype(str),
        "dep": c["code"].astype(str).str[:2], "population": c["population_municipale"].astype(int),
    }, geometry=c.geometry.values, crs=L93)
    d = gpd.read_file(v / "departement-59.geojson")
    d = (d.set_crs("OGC:CRS84") if d.crs is None else d).to_crs(L93)
    dep = gpd.GeoDataFrame({"code": ["59"], "nom": ["Nord"]}, geometry=d.geometry.values[:1], crs=L93)
    epci = json.loads((v / "epci.geojson").read_text(encoding="utf-8"))["features"][0]["properties"]
    siren, nom = str(epci["siren"]), str(epci["nom"])
    comp = pd.DataFrame({"CODGEO": communes["code_insee"], "LIBGEO": communes["nom"],
                         "EPCI": communes["siren_epci"], "LIBEPCI": nom, "DEP": "59", "REG": "32"})
    comp.loc[comp["EPCI"] != siren, "LIBEPCI"] = "?"
    out = pd.DataFrame([{"CODGEO": k, "LIBGEO": n, "EPCI": PORTE_DU_HAINAUT[0], "LIBEPCI": PORTE_DU_HAINAUT[1],
                         "DEP": "59", "REG": "32"} for k, n in OUTSIDE_COMMUNES])
    comp = pd.concat([comp, out], ignore_index=True)
    raw_qpv = (v / "qpv2024.geojson").read_bytes()
    q = gpd.read_file(v / "qpv2024.geojson")
    q = (q.set_crs("OGC:CRS84") if q.crs is None else q).to_crs(L93)
    qpv = q[["code_qp", "lib_qp", "insee_com", "lib_com", "siren_epci", "geometry"]].copy()
    liste = read_qpv2015_list(v / "qpv2015_cavm_list.csv")
    notes = {
        "qpv2024": "réel : les 15 entités QPV 2024 touchant la CAVM recopiées telles quelles du fichier ANCT "
                   "national (extrait réduit : le fichier officiel couvre toute la France)",
        "communes": "réel, extrait réduit : les 35 communes de la CAVM (contours ADMIN EXPRESS-COG 2018 généralisés "
                    "par france-geojson ; populations municipales 2026 de @etalab/decoupage-administratif 6.0.0)",
        "departement": "réel : contour généralisé du Nord (france-geojson, ADMIN EXPRESS-COG 2018)",
        "composition": "réel, extrait réduit : appartenance des 35 communes de la CAVM et des 3 communes de la CA "
                       "de la Porte du Hainaut citées par les QPV (COG 2026, decoupage-administratif 6.0.0), "
                       "mise en page du fichier INSEE (déduite)",
        "iris": "simulé : IRIS fictifs partitionnant les 35 communes réelles (Voronoï aléatoire)",
        "qpv2015": "simulé : codes et noms réels des 14 QP 2015 (Contrat de ville 2015-2020), périmètres dérivés des "
                   "QPV 2024 (réduits, décalés, limités aux communes de 2015) — aucun périmètre 2015 réel disponible",
    }
    return _Geo(communes, dep, comp, qpv, raw_qpv, liste, siren, nom, "59", "Nord", "32", False, notes)


def _fallback() -> _Geo:
    """A small fully simulated territory (département 00, EPCI 200099999)."""
    box = shapely.box
    spec = [("00001", "Villeneuve-la-Démo", "200099999", 38200, box(700000, 6600000, 706000, 6605000)),
            ("00002", "Bourg-Fictif", "200099999", 14600, box(706000, 6600000, 712000, 6605000)),
            ("00003", "Val-d'Exemple", "200099999", 4200, box(700000, 6605000, 705000, 6608000)),
            ("00004", "Essai-le-Petit", "200099999", 1300, box(705000, 6605000, 712000, 6608000)),
            ("00005", "Hors-Champ", "200099998", 9800, box(712000, 6600000, 718000, 6608000))]
    allc = gpd.GeoDataFrame({
        "code_insee": [s[0] for s in spec], "nom": [s[1] for s in spec],
        "siren_commune": [f"2100{s[0]}" for s in spec], "siren_epci": [s[2] for s in spec], "dep": "00",
        "population": [s[3] for s in spec]}, geometry=[s[4] for s in spec], crs=L93)
    epci_noms = {"200099999": "CA Démo (simulée)", "200099998": "CC Voisine (simulée)"}
    comp = pd.DataFrame({"CODGEO": allc["code_insee"], "LIBGEO": allc["nom"], "EPCI": allc["siren_epci"],
                         "LIBEPCI": allc["siren_epci"].map(epci_noms), "DEP": "00", "REG": "00"})
    dep = gpd.GeoDataFrame({"code": ["00"], "nom": ["Département simulé"]},
                           geometry=[shapely.union_all(allc.geometry.values).buffer(2000)], crs=L93)
    qpv = gpd.GeoDataFrame({
        "code_qp": ["QN00001M", "QN00002M", "QN00003N"],
        "lib_qp": ["Les Tilleuls (simulé)", "Zone intercommunale du Canal (simulé)", "Les Hauts du Val (simulé)"],
        "insee_com": ["00001", "00001, 00002", "00002, 00005"],
        "lib_com": ["Villeneuve-la-Démo", "Villeneuve-la-Démo, Bourg-Fictif", "Bourg-Fictif, Hors-Champ"],
        "siren_epci": ["200099999", "200099999", "200099998, 200099999"]},
        geometry=[shapely.Point(702500, 6602000).buffer(500),
                  box(705400, 6601500, 706700, 6602600),
                  box(711300, 6603000, 712400, 6604200)], crs=L93)
    liste = pd.DataFrame({"code_qp2015": ["QP000001", "QP000002"],
                          "nom_qp2015": ["Les Tilleuls (simulé)", "Quartier du Canal (simulé)"],
                          "communes": ["Villeneuve-la-Démo", "Villeneuve-la-Démo, Bourg-Fictif"],
                          "successeur_qpv2024_probable": ["QN00001M", "QN00002M"]})
    notes = {k: "simulé : territoire de démonstration entièrement fictif (pas de ../shared)"
             for k in ("qpv2024", "communes", "departement", "composition", "iris", "qpv2015")}
    return _Geo(allc, dep, comp, qpv, qpv2024_geojson_bytes(qpv), liste, "200099999", epci_noms["200099999"],
                "00", "Département simulé", "00", True, notes)


def read_qpv2015_list(path: Path) -> pd.DataFrame:
    """``qpv2015_cavm_list.csv``: the trailing ``note`` field holds unquoted commas in some rows, so
    fields are taken by position (first six) and the rest is joined back into ``note``."""
    import csv

    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    n = len(header) - 1
    recs = [dict(zip(header[:n], r[:n]), **{header[n]: ",".join(r[n:])}) for r in body if r]
    df = pd.DataFrame(recs, columns=header)
    return df.replace({"": None})


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_geo(dest: Path, shared_dir: Path | None, seed: int = 2024,
              millesimes: dict | None = None) -> DemoContext:
    """Write the geographic files of the mirror into ``dest`` and return the context (manifest entries
    accumulate in ``ctx.entries``; :func:`observatoire.demo.build_mirror` writes ``manifest.json``)."""
    dest = Path(dest)
    mil = dict(DEFAULT_MILLESIMES if millesimes is None else millesimes)
    use_shared = shared_dir is not None and (Path(shared_dir) / "valenciennes" / "qpv2024.geojson").exists()
    geo = _valenciennes(Path(shared_dir)) if use_shared else _fallback()
    rng = np.random.default_rng(seed)
    entries: dict = {}
    import datetime as dt

    built_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()

    def add_file(relpath: str, simule: bool, note: str = "", url: str = "") -> None:
        p = dest / relpath
        e = {"source": relpath.split("/", 1)[0], "url": url, "taille": p.stat().st_size, "sha256": _sha(p),
             "simule": bool(simule), "origine": "miroir", "date": built_at,
             # demo files, even real ones, are reduced extracts (one territory): a real fetch replaces them
             "demo": True}
        if note:
            e["note"] = note
        entries[relpath] = e

    dep = geo.dep
    kw = {"dep": dep, "millesime": mil.get("cog")}

    # QPV 2024 -------------------------------------------------------------------------------------
    rel = f"{anct.QPV2024.id}/{anct.QPV2024.fichier}"
    _write(dest / rel, _zip_bytes({f"GEOJSON/{anct.QPV2024_MEMBER}": geo.qpv2024_bytes}))
    add_file(rel, geo.simule, geo.notes["qpv2024"], anct.QPV2024.url)

    # communes (WFS) -------------------------------------------------------------------------------
    c = geo.communes
    wfs = gpd.GeoDataFrame({
        "code_insee": c["code_insee"], "nom_officiel": c["nom"], "code_siren": c["siren_commune"],
        "codes_siren_des_epci": c["siren_epci"], "population": c["population"].astype("int64"),
        "code_insee_du_departement": c["dep"], "code_insee_de_la_region": geo.reg,
    }, geometry=c.geometry.values, crs=L93)
    rel = f"{ign.COMMUNES.id}/{ign.COMMUNES.fichier.format(**kw)}"
    _wfs_geojson(wfs, dest / rel, "commune")
    add_file(rel, geo.simule, geo.notes["communes"], ign.COMMUNES.url.format(**kw))

    d = geo.departement
    rel = f"{ign.DEPARTEMENT.id}/{ign.DEPARTEMENT.fichier.format(**kw)}"
    _wfs_geojson(gpd.GeoDataFrame({"code_insee": d["code"], "nom_officiel": d["nom"],
                                   "code_insee_de_la_region": geo.reg}, geometry=d.geometry.values, crs=L93),
                 dest / rel, "departement")
    add_file(rel, geo.simule, geo.notes["departement"], ign.DEPARTEMENT.url.format(**kw))

    # INSEE composition ----------------------------------------------------------------------------
    rel = f"{EPCI_SOURCE.id}/{EPCI_SOURCE.fichier.format(**kw)}"
    member = EPCI_SOURCE.membres[0].format(**kw)
    _write(dest / rel, _zip_bytes({member: composition_xlsx_bytes(geo.composition, int(mil.get("cog")))}))
    add_file(rel, geo.simule, geo.notes["composition"], EPCI_SOURCE.url.format(**kw))

    # territory members (context) ------------------------------------------------------------------
    members = c[c["siren_epci"] == geo.epci_siren].reset_index(drop=True)
    ctx_communes = gpd.GeoDataFrame(members[["code_insee", "nom", "siren_epci", "dep", "population"]],
                                    geometry=members.geometry.values, crs=L93)

    # IRIS (simulated) -----------------------------------------------------------------------------
    iris = simulate_iris(ctx_communes, rng)
    rel = f"{ign.IRIS.id}/{ign.IRIS.fichier.format(**kw)}"
    iris_file = gpd.GeoDataFrame({
        "cleabs": "IRIS_DEMO_" + iris["code_iris"], "code_insee": iris["code_insee"],
        "nom_commune": iris["nom_commune"], "iris": iris["code_iris"].str[5:], "code_iris": iris["code_iris"],
        "nom_iris": iris["nom_iris"], "type_iris": iris["type_iris"]}, geometry=iris.geometry.values, crs=L93)
    _wfs_geojson(iris_file, dest / rel, "contours_iris")
    add_file(rel, True, geo.notes["iris"], ign.IRIS.url.format(**kw))

    # QPV 2015 (simulated) -------------------------------------------------------------------------
    q15 = simulate_qpv2015(geo.qpv2024, geo.liste2015, c, rng)
    rel = f"{anct.QPV2015.id}/{anct.QPV2015.fichier}"
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        _write(dest / rel, qpv2015_shapefile_zip(q15, Path(tmp)))
    add_file(rel, True, geo.notes["qpv2015"], anct.QPV2015.url)

    snippet = (f'[territoire]\nepci = "{geo.epci_siren}"   # {geo.epci_nom}'
               + (" — territoire entièrement simulé" if geo.simule else "") + "\n")
    (dest / "territoire.toml").write_text(snippet, encoding="utf-8")

    return DemoContext(dest=dest, communes=ctx_communes, iris=iris, qpv2024=geo.qpv2024, qpv2015=q15,
                       epci_siren=geo.epci_siren, epci_nom=geo.epci_nom, departement=dep,
                       departement_nom=geo.dep_nom, rng=rng, millesimes=mil, simule_territoire=geo.simule,
                       shared_dir=Path(shared_dir) if use_shared else None, add_file=add_file, entries=entries)
