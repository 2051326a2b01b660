"""Stage ``observatoire maps``: self-contained, offline-readable, comparable choropleth maps.

Reads the GeoPackage written by ``observatoire build`` (layers ``communes``, ``iris``, ``qpv_2024``,
``qpv_2015``, ``zones``, ``indicateurs``, ``sources``, see ``docs/contracts.md``) and the catalogue,
and writes into ``config.paths.maps``::

    index.html                      every map, by theme
    themes/<theme>.html             one map per theme, one switchable layer per indicator and scale
    quartiers/<code_qp>.html        one map per quartier 2024, with its IRIS context and 2015 outline
    comparaison/<nom>.html          side by side, linked pan and zoom: two millésimes (same classes)
                                    or quartier vs IRIS scale

Every page carries its own Leaflet (:mod:`.assets`), its geometries once (simplified with shared
borders kept shared, coordinates rounded to 5 decimals, i.e. about one metre), and a small data
table per layer; tooltips and labels built from data are inserted as text, never as HTML. A page
built on any simulated input shows « Données simulées » in its title box.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from .. import fr
from ..catalogue import THEMES, Indicateur, load_catalogue
from ..errors import ObservatoireError
from ..store import simulated_inputs, write_text_atomic
from ..tidy import METHODES_ESTIMATION as _ESTIMATIONS
from ..tidy import METHODES_LIBELLES
from . import assets, style
from .classify import METHODES, Classes, _check_bornes, fixed_bins

WGS84 = "EPSG:4326"
LAMBERT93 = "EPSG:2154"
DECIMALES_COORD = 5
TOLERANCE_TERRITOIRE_M = 20.0
TOLERANCE_QUARTIER_M = 6.0
SNAP_GRID_M = 0.5                  # display geometries: vertices snapped to a half-metre grid
SLIVER_WIDTH_M = 1.0               # gaps narrower than this between coverage polygons are closed
BUDGET_TERRITOIRE = 3_000_000      # bytes, territory maps (themes, comparisons)
BUDGET_QUARTIER = 1_000_000        # bytes, quartier maps

METHODES_ESTIMATION = {m: METHODES_LIBELLES[m] for m in _ESTIMATIONS}
ECHELLES = {"iris": "IRIS", "qpv2024": "quartiers prioritaires 2024"}


# --------------------------------------------------------------------------------------------
# inputs


def _read_layer(gpkg: Path, layer: str, layers: set[str], required: bool = False):
    if layer not in layers:
        if required:
            raise ObservatoireError(
                f"La couche « {layer} » manque dans le GeoPackage (layer missing).", fichier=str(gpkg),
                correction="relancez « observatoire build » pour reconstruire le GeoPackage")
        return None
    df = gpd.read_file(gpkg, layer=layer)
    if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df and df.crs is not None:
        df = df.to_crs(LAMBERT93)
    return df


def load_inputs(gpkg: Path) -> dict:
    """The GeoPackage layers the maps use (optional layers are ``None`` when absent)."""
    gpkg = Path(gpkg)
    if not gpkg.exists():
        raise ObservatoireError("Le GeoPackage de l'observatoire est introuvable (GeoPackage not found).",
                                fichier=str(gpkg), correction="lancez d'abord « observatoire build »")
    import pyogrio
    layers = {str(name) for name, _ in pyogrio.list_layers(gpkg)}
    out = {name: _read_layer(gpkg, name, layers, required=name in ("communes", "qpv_2024", "indicateurs"))
           for name in ("communes", "epci", "iris", "qpv_2024", "qpv_2015", "zones", "indicateurs", "sources")}
    ind = pd.DataFrame(out["indicateurs"]).drop(columns="geometry", errors="ignore")
    missing = [c for c in ("type_territoire", "code_territoire", "indicateur", "millesime", "valeur",
                           "statut", "methode", "qualite", "source") if c not in ind.columns]
    if missing:
        raise ObservatoireError(f"La table « indicateurs » n'a pas les colonnes {', '.join(missing)}.",
                                fichier=str(gpkg), correction="relancez « observatoire build »")
    for c in ("type_territoire", "code_territoire", "indicateur", "statut", "methode", "qualite", "source"):
        ind[c] = ind[c].astype("object").where(ind[c].notna(), "").astype(str)
    ind["valeur"] = pd.to_numeric(ind["valeur"], errors="coerce")
    ind["millesime"] = pd.to_numeric(ind["millesime"], errors="coerce").astype("Int64")
    # Partner figures (contract documents…) cover a few quartiers, other years and often the 2015
    # perimeters: mapped with the producers' series they would make false comparisons. They are shown
    # on the portraits, labelled with their source.
    out["indicateurs"] = ind[ind["methode"] != "partenaire"].reset_index(drop=True)
    return out


def simplify_display(geoms: gpd.GeoSeries, tolerance_m: float, coverage: bool = False) -> gpd.GeoSeries:
    """Simplified geometries for display (Lambert-93 in, same CRS out).

    With ``coverage=True`` (IRIS, communes: polygons tiling the territory) the polygons are first
    made an exact coverage (:func:`node_coverage`), then shapely's ``coverage_simplify`` simplifies
    each shared border once, so neighbours keep an identical border (no gap, no overlap); if that
    still fails, each polygon is simplified on its own with topology preserved.
    """
    g = geoms.to_crs(LAMBERT93) if geoms.crs is not None and geoms.crs != LAMBERT93 else geoms
    arr = g.make_valid().values if hasattr(g, "make_valid") else g.values
    arr = np.asarray(arr)
    if len(arr) == 0:
        return g
    out = None
    if coverage and len(arr) > 1:
        arr = node_coverage(arr)  # always: validity checks do not see slivers between borders
        if bool(shapely.coverage_is_valid(arr)):
            out = shapely.coverage_simplify(arr, tolerance_m, simplify_boundary=True)
    if out is None:
        out = shapely.simplify(arr, tolerance_m, preserve_topology=True)
    return gpd.GeoSeries(out, index=g.index, crs=g.crs)


def node_coverage(geoms, grid_m: float = SNAP_GRID_M, sliver_m: float = SLIVER_WIDTH_M) -> np.ndarray:
    """Make nearly-matching polygons an exact coverage: shared borders get identical vertices.

    The borders of all polygons are snapped to a ``grid_m`` metre grid, noded together and
    polygonized into faces; each face goes back to the polygon that contains it (the first one
    where two overlap). A gap narrower than ``sliver_m`` on average (a sliver between two borders
    that should coincide) goes to the neighbour sharing the longest border with it; wider gaps stay
    gaps. Real IRIS or commune files often have borders that match only up to such noise, which
    coverage simplification would otherwise refuse or simplify twice.
    """
    a = shapely.set_precision(np.asarray(geoms), grid_m)
    lines = shapely.union_all(shapely.boundary(a))
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    if len(faces) == 0:
        return a
    tree = shapely.STRtree(a)
    face_idx, geom_idx = tree.query(shapely.point_on_surface(faces), predicate="within")
    owner = np.full(len(faces), -1)
    for f, i in zip(face_idx, geom_idx):
        if owner[f] < 0:
            owner[f] = i
    boundaries = shapely.boundary(a)
    for f in np.flatnonzero(owner < 0):
        face = faces[f]
        if 2 * face.area / max(face.length, 1e-9) >= sliver_m:
            continue
        near = tree.query(face, predicate="intersects")
        if len(near):
            shared = shapely.length(shapely.intersection(boundaries[near], face.boundary))
            owner[f] = near[int(np.argmax(shared))]
    out = [shapely.union_all(faces[owner == i]) if (owner == i).any() else a[i] for i in range(len(a))]
    return np.asarray(out, dtype=object)


def _round(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.round(c, DECIMALES_COORD))


def feature_collection(gdf: gpd.GeoDataFrame, code_col: str, name_col: str | None, tolerance_m: float,
                       coverage: bool = False, label_points: bool = False) -> dict:
    """A compact WGS84 GeoJSON FeatureCollection (properties ``c`` code, ``n`` name, ``lp`` label point).

    Geometries are simplified (:func:`simplify_display`) then rounded to 5 decimals.
    """
    if gdf is None or len(gdf) == 0:
        return {"type": "FeatureCollection", "features": []}
    simp = simplify_display(gdf.geometry, tolerance_m, coverage)
    wgs = _round(np.asarray(simp.to_crs(WGS84).values))
    lps = None
    if label_points:
        lps = _round(np.asarray(gpd.GeoSeries(shapely.point_on_surface(np.asarray(gdf.geometry.values)),
                                              crs=gdf.crs).to_crs(WGS84).values))
    feats = []
    for i, (code, geom) in enumerate(zip(gdf[code_col].astype(str), wgs)):
        if geom is None or geom.is_empty:
            continue
        props = {"c": code, "n": str(gdf[name_col].iloc[i]) if name_col else code}
        if lps is not None:
            props["lp"] = [lps[i].y, lps[i].x]
        feats.append({"type": "Feature", "properties": props,
                      "geometry": json.loads(shapely.to_geojson(geom))})
    return {"type": "FeatureCollection", "features": feats}


# --------------------------------------------------------------------------------------------
# choropleth layers


@dataclass
class Territoire:
    """Everything a page draws, once read and simplified."""

    inputs: dict
    catalogue: dict[str, Indicateur]
    simule: bool
    nom: str
    fond: str
    methode: str
    k: int
    annee_bornes: str | int
    bornes: dict
    classes: dict[str, Classes] = field(default_factory=dict)


def _note(statut: str, methode: str, qualite: str, present: bool) -> str:
    if not present:
        return "aucune donnée pour ce territoire"
    parts = []
    if statut == "secret":
        parts.append("secret statistique : valeur non diffusée")
    elif statut == "nd":
        parts.append("donnée non publiée par le producteur")
    if statut == "simule":
        parts.append("simulé")
    if methode in METHODES_ESTIMATION:
        txt = f"estimé ({METHODES_ESTIMATION[methode]})"
        if qualite:
            txt += f", qualité {qualite}"
        parts.append(txt)
    return " · ".join(parts)


def indicator_layer(rows: pd.DataFrame, codes: list[str], ind: Indicateur, classes: Classes,
                    echelle: str, annee: int, cls: str) -> dict:
    """Per-feature data of one choropleth layer (one indicator, one scale, one year).

    Parameters
    ----------
    rows : tidy rows of that indicator, scale and year (``code_territoire`` unique).
    codes : feature codes of the geometry set, in order.
    ind : catalogue entry (label, unit, polarity, decimals, source).
    classes : shared classification (:func:`~observatoire.maps.classify.fixed_bins`).

    Returns
    -------
    dict with ``k`` (style key per feature: class index, ``s`` secret, ``nd``; suffix ``e`` for an
    estimate), ``v`` (French formatted value or status), ``ni``/``notes`` (status note per feature),
    ``styles`` (Leaflet options per key), ``legend`` (escaped HTML) and labels.
    """
    by_code = rows.drop_duplicates("code_territoire").set_index("code_territoire")
    colours = style.ramp(classes.k, ind.polarite)
    keys, vals, ni, notes = [], [], [], [""]
    n_est = 0
    for code in codes:
        present = code in by_code.index
        r = by_code.loc[code] if present else None
        statut = r["statut"] if present else ""
        methode = r["methode"] if present else ""
        valeur = r["valeur"] if present else math.nan
        estime = bool(present and methode in METHODES_ESTIMATION)  # contract: estimate iff methode
        n_est += estime
        if not present or statut == "nd" or (statut != "secret" and pd.isna(valeur)):
            key, txt = style.ND, "non disponible"
        elif statut == "secret":
            key, txt = style.SECRET, "secret"
        else:
            key = str(int(classes.assign([valeur])[0]))
            txt = fr.format_valeur(valeur, ind.unite, ind.decimales)
        keys.append(key + ("e" if estime else ""))
        vals.append(txt)
        note = _note(statut, methode, r["qualite"] if present else "", present)
        if note not in notes:
            notes.append(note)
        ni.append(notes.index(note))
    styles = {}
    for key in set(keys):
        base, est = (key[:-1], True) if key.endswith("e") else (key, False)
        styles[key] = style.feature_style(base if base in (style.SECRET, style.ND) else int(base), colours, est)
    label = ind.libelle_court or ind.libelle
    source = ind.source_libelle or ind.source
    return {"name": html.escape(f"{label} — {ECHELLES.get(echelle, echelle)}"), "label": label,
            "year": str(annee), "source": source, "geo": echelle, "cls": cls, "k": keys, "v": vals,
            "ni": ni, "notes": notes, "styles": styles,
            "legend": legend_html(ind, classes, colours, echelle, annee, n_est > 0)}


def legend_html(ind: Indicateur, classes: Classes, colours: list[str], echelle: str, annee: int,
                estimates: bool = True) -> str:
    """The legend of a choropleth layer (every data string escaped)."""
    e = html.escape
    unite = {"%": "en %", "€": "en euros", "€/mois": "en euros par mois", "nombre": "effectif",
             "indice": "indice"}.get(ind.unite, ind.unite)
    source = ind.source_libelle or ind.source
    items = [f"<li>{style.swatch_html(style.feature_style(i, colours))}{e(lab)}</li>"
             for i, lab in enumerate(classes.labels(ind.unite, ind.decimales))]
    items.append(f"<li>{style.swatch_html(style.feature_style(style.SECRET, colours))}secret statistique</li>")
    items.append(f"<li>{style.swatch_html(style.feature_style(style.ND, colours))}non disponible</li>")
    if estimates:
        items.append(f"<li>{style.swatch_html(style.feature_style(0, ['#ffffff'], True))}"
                     "contour pointillé : valeur estimée</li>")
    sens = {1: "plus foncé = plus fragile (valeur élevée)", -1: "plus foncé = plus fragile (valeur faible)",
            0: "indicateur descriptif"}.get(ind.polarite, "")
    origine = classes.origine or "classes"
    return (f"<h2>{e(ind.libelle)}</h2>"
            f"<p class=\"obs-meta\">{e(unite)} · {e(ECHELLES.get(echelle, echelle))} · {e(str(annee))}"
            f"<br>Source : {e(source)}</p><ul>{''.join(items)}</ul>"
            f"<p class=\"obs-meta\">Classes : {e(origine)}, identiques pour toutes les années et les deux échelles. {e(sens)}</p>")


def outline_legend_html(outlines: list[dict]) -> str:
    if not outlines:
        return ""
    items = "".join(f"<li>{style.line_swatch_html(o['style'])}{o['name']}</li>" for o in outlines)
    return f"<div class=\"obs-sep\"></div><ul>{items}</ul>"


# --------------------------------------------------------------------------------------------
# pages


class _ObsInit(MacroElement):
    """Runs ``ObsCarte.init`` on its parent folium map with a JSON configuration."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "var {{ this.get_name() }} = ObsCarte.init({{ this._parent.get_name() }}, "
        "{{ this.cfg_json }}, OBS_DATA);"
        "{% endmacro %}")

    def __init__(self, cfg: dict):
        super().__init__()
        self._name = "ObsInit"
        self.cfg_json = assets.json_for_script(json.dumps(cfg, ensure_ascii=False, separators=(",", ":")))


class _ObsSync(MacroElement):
    """Links the pan and zoom of its parent map and ``other`` (side-by-side comparison)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "ObsCarte.sync({{ this.other }}, {{ this._parent.get_name() }});"
        "{% endmacro %}")

    def __init__(self, other):
        super().__init__()
        self._name = "ObsSync"
        self.other = other.get_name()


def title_html(titre: str, sous_titre: str, simule: bool, lien_index: str | None) -> str:
    e = html.escape
    banner = '<div class="obs-banner">Données simulées</div>' if simule else ""
    lien = f'<p><a href="{e(lien_index)}">Toutes les cartes</a></p>' if lien_index else ""
    return f"{banner}<h1>{e(titre)}</h1><p>{e(sous_titre)}</p>{lien}"


def render_page(page_title: str, maps_cfg: list[dict], geo: dict, fond: str) -> str:
    """HTML of a page holding one or two maps (side by side) sharing the geometry data ``geo``."""
    fig = Figure(title=html.escape(page_title))
    tiles = {"url": assets.ign_tile_url(), "attribution": assets.IGN_ATTRIBUTION} if fond == "ign" else None
    maps = []
    n = len(maps_cfg)
    for i, cfg in enumerate(maps_cfg):
        m = folium.Map(tiles=None, zoom_control=False, control_scale=False, width=f"{100 / n}%",
                       height="100%", left=f"{100 * i / n}%", position="absolute", prefer_canvas=False,
                       location=[0, 0], zoom_start=2)
        fig.add_child(m)
        cfg = dict(cfg, tiles=tiles)
        m.add_child(_ObsInit(cfg))
        maps.append(m)
    assets.inline_assets(fig, maps)
    fig.header.add_child(Element(f"<style>{assets.obs_css()}</style>"), name="obs_css")
    fig.header.add_child(Element(f"<script>{assets.obs_js()}</script>"), name="obs_js")
    data = assets.json_for_script(json.dumps({"geo": geo}, ensure_ascii=False, separators=(",", ":")))
    fig.header.add_child(Element(f"<script>var OBS_DATA = {data};</script>"), name="obs_data")
    fig.html.add_child(Element(style.hatch_pattern_svg()), name="obs_hatch")
    if len(maps) == 2:  # a child of the second map renders after both maps exist
        maps[1].add_child(_ObsSync(maps[0]))
    out = fig.render()
    return out.replace("<html>", '<html lang="fr">', 1)


def _write(path: Path, text: str) -> Path:
    return write_text_atomic(path, text)

def _bounds(gdf: gpd.GeoDataFrame) -> list[list[float]]:
    w, s, e, n = gdf.to_crs(WGS84).total_bounds
    return [[round(float(s), 5), round(float(w), 5)], [round(float(n), 5), round(float(e), 5)]]


# --------------------------------------------------------------------------------------------
# building blocks shared by the pages


def _territoire(config, catalogue) -> Territoire:
    gpkg = config.paths.gpkg
    inputs = load_inputs(gpkg)
    ind = inputs["indicateurs"]
    simule = bool(simulated_inputs(gpkg)) or bool((ind["statut"] == "simule").any())
    cartes = config.section("cartes")
    fond = str(cartes.get("fond", "aucun"))
    if fond not in assets.FONDS:
        raise ObservatoireError(f"[cartes] fond = {fond!r} est inconnu.", fichier=str(config.source_file),
                                correction="choisissez fond = \"aucun\" ou fond = \"ign\"")
    methode = str(cartes.get("classification", "quantiles"))
    if methode not in METHODES:
        raise ObservatoireError(f"[cartes] classification = {methode!r} est inconnue.",
                                fichier=str(config.source_file),
                                correction="choisissez " + ", ".join(METHODES))
    try:
        k = int(cartes.get("classes", 5))
    except (TypeError, ValueError):
        k = -1
    if not 2 <= k <= 9:
        raise ObservatoireError(f"[cartes] classes = {cartes.get('classes')!r} : il faut de 2 à 9 classes "
                                "(les palettes lisibles en gris n'en ont pas plus).",
                                fichier=str(config.source_file), correction="indiquez par exemple classes = 5")
    bornes = cartes.get("bornes", {}) or {}
    if not isinstance(bornes, dict):
        raise ObservatoireError("[cartes.bornes] doit associer un indicateur à une liste de bornes.",
                                fichier=str(config.source_file),
                                correction="écrivez par exemple :\n[cartes.bornes]\ntaux_pauvrete = [20, 30, 40, 50]")
    for ind_id, b in bornes.items():
        if ind_id not in catalogue:
            raise ObservatoireError(f"[cartes.bornes] : l'indicateur {ind_id!r} n'est pas dans le catalogue.",
                                    fichier=str(config.source_file),
                                    correction="utilisez un identifiant listé par « observatoire indicateurs »")
        try:
            _check_bornes(b, f"[cartes.bornes] {ind_id}")
        except ObservatoireError as e:
            raise ObservatoireError(str(e), fichier=str(config.source_file)) from e
        if len(b) + 1 > 9:
            raise ObservatoireError(f"[cartes.bornes] {ind_id} : {len(b)} bornes font plus de 9 classes.",
                                    fichier=str(config.source_file), correction="gardez au plus 8 bornes")
    nom = config.territoire.nom or ""
    epci = inputs.get("epci")
    if not nom and epci is not None and len(epci) and "nom" in epci:
        nom = str(epci["nom"].iloc[0])
    t = Territoire(inputs, catalogue, simule, nom or "Territoire étudié", fond, methode, k,
                   cartes.get("annee_bornes", "reference"), bornes)
    return t


def _classes(t: Territoire, ind_id: str) -> Classes:
    """Shared classes of an indicator: IRIS values (else quartier values) by millésime."""
    if ind_id in t.classes:
        return t.classes[ind_id]
    tab = t.inputs["indicateurs"]
    rows = tab[(tab["indicateur"] == ind_id) & ~tab["statut"].isin(["secret", "nd"]) & tab["valeur"].notna()]
    for echelle in ("iris", "qpv2024"):
        r = rows[rows["type_territoire"] == echelle]
        if len(r):
            break
    by_year = {int(y): g["valeur"].to_numpy(float) for y, g in r.groupby("millesime")}
    c = fixed_bins(by_year, t.methode, t.k, t.annee_bornes, t.bornes.get(ind_id))
    t.classes[ind_id] = c
    return c


def _rows(t: Territoire, ind_id: str, echelle: str) -> pd.DataFrame:
    tab = t.inputs["indicateurs"]
    return tab[(tab["indicateur"] == ind_id) & (tab["type_territoire"] == echelle)]


def _years(t: Territoire, ind_id: str, echelle: str) -> list[int]:
    return sorted(int(y) for y in _rows(t, ind_id, echelle)["millesime"].dropna().unique())


def _layers_for(t: Territoire, ind_ids: list[str], codes: dict[str, list[str]]) -> list[dict]:
    out = []
    for ind_id in ind_ids:
        ind = t.catalogue[ind_id]
        for echelle in ("iris", "qpv2024"):
            years = _years(t, ind_id, echelle)
            if not years or not codes.get(echelle):
                continue
            rows = _rows(t, ind_id, echelle)
            rows = rows[rows["millesime"] == years[-1]]
            out.append(indicator_layer(rows, codes[echelle], ind, _classes(t, ind_id), echelle, years[-1],
                                       f"obs-choro-{echelle}"))
    return out


def _outlines(geo: dict, with_2015: bool = True) -> list[dict]:
    out = []
    if geo.get("communes", {}).get("features"):
        out.append({"geo": "communes", "name": "Communes (contours et noms)", "style": style.OUTLINES["communes"],
                    "cls": "obs-commune", "labels": True, "show": True, "tip": None})
    if geo.get("zones", {}).get("features"):
        out.append({"geo": "zones", "name": "Quartiers de veille active", "style": style.OUTLINES["zones"],
                    "cls": "obs-zone", "labels": False, "show": True, "tip": "Quartier de veille active"})
    if with_2015 and geo.get("qpv2015", {}).get("features"):
        out.append({"geo": "qpv2015", "name": "Quartiers prioritaires 2015 (tirets)",
                    "style": style.OUTLINES["qpv2015"], "cls": "obs-qpv2015", "labels": False, "show": True,
                    "tip": "Quartier prioritaire 2015"})
    if geo.get("qpv2024", {}).get("features"):
        out.append({"geo": "qpv2024", "name": "Quartiers prioritaires 2024 (trait plein)",
                    "style": style.OUTLINES["qpv2024"], "cls": "obs-qpv2024", "labels": False, "show": True,
                    "tip": "Quartier prioritaire 2024"})
    return out


def _geo_sets(t: Territoire, tol: float, clip=None) -> dict:
    """FeatureCollections of every geometry layer (optionally only features touching ``clip``)."""
    inp = t.inputs

    def sel(gdf):
        if gdf is None or len(gdf) == 0 or clip is None:
            return gdf
        return gdf[gdf.intersects(clip)]

    zones = inp.get("zones")
    return {
        "iris": feature_collection(sel(inp.get("iris")), "code_iris", "nom_iris", tol, coverage=True),
        "qpv2024": feature_collection(sel(inp["qpv_2024"]), "code_qp", "lib_qp", min(tol, TOLERANCE_QUARTIER_M)),
        "qpv2015": feature_collection(sel(inp.get("qpv_2015")), "code_qp", "nom_qp", min(tol, TOLERANCE_QUARTIER_M)),
        "communes": feature_collection(sel(inp["communes"]), "code_insee", "nom", tol, coverage=True,
                                       label_points=True),
        "zones": feature_collection(sel(zones), "code", "libelle", tol) if zones is not None else
        {"type": "FeatureCollection", "features": []},
    }


def _codes(geo: dict) -> dict[str, list[str]]:
    return {k: [f["properties"]["c"] for f in v["features"]] for k, v in geo.items()}


def _indicators_by_theme(t: Territoire) -> dict[str, list[str]]:
    tab = t.inputs["indicateurs"]
    present = set(tab.loc[tab["type_territoire"].isin(list(ECHELLES)), "indicateur"])
    out: dict[str, list[str]] = {}
    for ind_id, ind in t.catalogue.items():
        # a choropleth of counts misleads (big areas look important): counts are not mapped
        if ind_id in present and ind.type != "effectif" and ind.unite != "nombre":
            out.setdefault(ind.theme, []).append(ind_id)
    order = list(THEMES) + sorted(set(out) - set(THEMES))
    return {th: out[th] for th in order if th in out}


def _map_cfg(title: str, layers: list[dict], outlines: list[dict], fit, collapsed=False) -> dict:
    return {"title": title, "layers": layers, "outlines": outlines, "active": 0, "fit": fit,
            "outlineLegend": outline_legend_html(outlines), "collapsed": collapsed}


# --------------------------------------------------------------------------------------------
# the stage


def build_maps(config, catalogue: dict[str, Indicateur] | None = None) -> list[Path]:
    """Write every map of the territory; return the written paths (index first).

    Parameters
    ----------
    config : :class:`observatoire.config.Config` (``paths.gpkg``, ``paths.maps``, ``[cartes]``).
    catalogue : indicator catalogue (default :func:`observatoire.catalogue.load_catalogue`).
    """
    catalogue = catalogue if catalogue is not None else load_catalogue()
    t = _territoire(config, catalogue)
    out_dir = Path(config.paths.maps)
    written: list[Path] = []
    entries = {"themes": [], "quartiers": [], "comparaison": []}
    themes = _indicators_by_theme(t)

    geo = _geo_sets(t, TOLERANCE_TERRITOIRE_M)
    codes = _codes(geo)
    fit = _bounds(t.inputs["communes"])
    outlines = _outlines(geo)
    sous_titre = f"{t.nom} · IRIS et quartiers prioritaires"

    for theme, ids in themes.items():
        libelle = THEMES.get(theme, theme)
        layers = _layers_for(t, ids, codes)
        cfg = _map_cfg(title_html(libelle, sous_titre, t.simule, "../index.html"), layers, outlines, fit)
        path = out_dir / "themes" / f"{theme}.html"
        written.append(_write(path, render_page(f"{libelle} · {t.nom}", [cfg], geo, t.fond)))
        entries["themes"].append((theme, libelle, path, [t.catalogue[i] for i in ids]))

    # comparisons: two millésimes with identical classes, and quartier vs IRIS scale
    for theme, ids in themes.items():
        for ind_id in ids:
            ind = t.catalogue[ind_id]
            label = ind.libelle_court or ind.libelle
            for echelle in ("iris", "qpv2024"):
                years = _years(t, ind_id, echelle)
                if len(years) >= 2 and codes.get(echelle):
                    y0, y1 = years[0], years[-1]
                    rows = _rows(t, ind_id, echelle)
                    cfgs = [_map_cfg(title_html(f"{label} : {y}", f"{t.nom} · {ECHELLES[echelle]}",
                                                t.simule, "../index.html"),
                                     [indicator_layer(rows[rows["millesime"] == y], codes[echelle], ind,
                                                      _classes(t, ind_id), echelle, y, f"obs-choro-{echelle}")],
                                     outlines, fit, collapsed=True) for y in (y0, y1)]
                    name = f"{ind_id}_{y0}_{y1}"
                    path = out_dir / "comparaison" / f"{name}.html"
                    written.append(_write(path, render_page(f"{label} : {y0} et {y1} · {t.nom}", cfgs, geo, t.fond)))
                    entries["comparaison"].append((theme, f"{ind.libelle} : {y0} et {y1} ({ECHELLES[echelle]})", path))
                    break
            yi, yq = _years(t, ind_id, "iris"), _years(t, ind_id, "qpv2024")
            if yi and yq and codes.get("iris") and codes.get("qpv2024"):
                y = max(set(yi) & set(yq)) if set(yi) & set(yq) else yq[-1]
                cfgs = []
                # on the quartier side the choropleth itself draws the quartiers: outlines start hidden
                hidden = [dict(o, show=False) if o["geo"] in ("qpv2024", "qpv2015") else o for o in outlines]
                for echelle in ("qpv2024", "iris"):
                    rows = _rows(t, ind_id, echelle)
                    yy = y if y in _years(t, ind_id, echelle) else _years(t, ind_id, echelle)[-1]
                    cfgs.append(_map_cfg(title_html(f"{label} : {ECHELLES[echelle]}", f"{t.nom} · {yy}",
                                                    t.simule, "../index.html"),
                                         [indicator_layer(rows[rows["millesime"] == yy], codes[echelle], ind,
                                                          _classes(t, ind_id), echelle, yy, f"obs-choro-{echelle}")],
                                         hidden if echelle == "qpv2024" else outlines, fit, collapsed=True))
                name = f"{ind_id}_quartiers_iris"
                path = out_dir / "comparaison" / f"{name}.html"
                written.append(_write(path, render_page(f"{label} : quartiers et IRIS · {t.nom}", cfgs, geo, t.fond)))
                entries["comparaison"].append((theme, f"{ind.libelle} : quartiers et IRIS", path))

    # one map per quartier 2024, zoomed, with IRIS context and 2015 outline
    qpv = t.inputs["qpv_2024"]
    all_ids = [i for ids in themes.values() for i in ids]
    for _, q in qpv.iterrows():
        code = str(q["code_qp"])
        geom = q.geometry
        minx, miny, maxx, maxy = geom.bounds
        pad = max(400.0, 0.25 * max(maxx - minx, maxy - miny))
        clip = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
        qgeo = _geo_sets(t, TOLERANCE_QUARTIER_M, clip)
        focus = qpv[qpv["code_qp"] == q["code_qp"]]
        qgeo["focus"] = feature_collection(focus, "code_qp", "lib_qp", TOLERANCE_QUARTIER_M)
        qcodes = _codes(qgeo)
        qout = _outlines(qgeo) + [{"geo": "focus", "name": "Quartier étudié", "style":
                                   dict(style.OUTLINES["qpv2024"], weight=4), "cls": "obs-focus",
                                   "labels": False, "show": True, "tip": "Quartier prioritaire 2024"}]
        layers = _layers_for(t, all_ids, qcodes)
        lib = str(q["lib_qp"])
        cfg = _map_cfg(title_html(f"{lib} ({code})", f"{t.nom} · quartier prioritaire 2024, IRIS voisins, "
                                  "périmètre 2015", t.simule, "../index.html"), layers, qout, _bounds(focus),
                       collapsed=len(layers) > 12)
        path = out_dir / "quartiers" / f"{code}.html"
        written.append(_write(path, render_page(f"{lib} ({code}) · {t.nom}", [cfg], qgeo, t.fond)))
        entries["quartiers"].append((code, lib, path))

    index = _write(out_dir / "index.html", index_html(t, entries, out_dir))
    # Maps of an earlier run (another territory, a removed indicator) would be sent out by mistake.
    keep = {p.resolve() for p in written}
    for sub in ("themes", "quartiers", "comparaison"):
        for old in (out_dir / sub).glob("*.html"):
            if old.resolve() not in keep:
                old.unlink()
    return [index] + written


def index_html(t: Territoire, entries: dict, out_dir: Path) -> str:
    """The self-contained index page listing every map by theme (all names escaped)."""
    e = html.escape

    def rel(p: Path) -> str:
        return e(p.relative_to(out_dir).as_posix())

    parts = []
    for theme, libelle, path, inds in entries["themes"]:
        comps = [(lab, p) for th, lab, p in entries["comparaison"] if th == theme]
        lis = "".join(f"<li>{e(i.libelle)}</li>" for i in inds)
        cl = "".join(f'<li><a href="{rel(p)}">{e(lab)}</a></li>' for lab, p in comps)
        parts.append(f'<section><h2><a href="{rel(path)}">{e(libelle)}</a></h2><ul>{lis}</ul>'
                     + (f"<h3>Comparaisons</h3><ul>{cl}</ul>" if cl else "") + "</section>")
    quartiers = "".join(f'<li><a href="{rel(p)}">{e(lib)}</a> <span>({e(code)})</span></li>'
                        for code, lib, p in entries["quartiers"])
    banner = '<p class="obs-banner">Données simulées</p>' if t.simule else ""
    css = ("body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:60em;color:#222;"
           "padding:0 1em}h1{font-size:1.6em}h2{font-size:1.2em;margin-bottom:.2em}h3{font-size:1em}"
           "section{border-top:1px solid #ccc;padding:.4em 0}a{color:#08519c}"
           ".obs-banner{display:inline-block;background:#b2182b;color:#fff;font-weight:bold;"
           "padding:.2em .6em;border-radius:3px}li span{color:#555}")
    return (f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Cartes · {e(t.nom)}</title><style>{css}</style></head><body>{banner}"
            f"<h1>Cartes de l'observatoire · {e(t.nom)}</h1>"
            f"<p>Chaque carte s'ouvre sans connexion. Les classes d'un indicateur sont identiques "
            f"d'une année à l'autre et d'une échelle à l'autre.</p>"
            f"<h2>Cartes par thème</h2>{''.join(parts)}"
            f"<section><h2>Cartes par quartier prioritaire 2024</h2><ul>{quartiers}</ul></section>"
            f"</body></html>")


def map_sizes(maps_dir) -> dict:
    """Size in bytes of every map file under ``maps_dir`` (``{"themes/revenus.html": 812345, …}``).

    Also ``_max_territoire`` and ``_max_quartier`` (largest territory/quartier map) and
    ``_budget_ok`` (both within :data:`BUDGET_TERRITOIRE` / :data:`BUDGET_QUARTIER`), for the
    benchmark report.
    """
    d = Path(maps_dir)
    sizes = {p.relative_to(d).as_posix(): p.stat().st_size for p in sorted(d.rglob("*.html"))}
    terr = max((s for k, s in sizes.items() if k.startswith(("themes/", "comparaison/"))), default=0)
    quart = max((s for k, s in sizes.items() if k.startswith("quartiers/")), default=0)
    sizes["_max_territoire"] = terr
    sizes["_max_quartier"] = quart
    sizes["_budget_ok"] = terr <= BUDGET_TERRITOIRE and quart <= BUDGET_QUARTIER
    return sizes
