"""Quartier portraits: one self-contained HTML sheet per quartier, an index, and A4 PDFs.

``build_portraits(config)`` reads the processed data (``indicateurs.csv``: every figure printed on a
sheet is the CSV's; the GeoPackage for geometries, communes and sources), the catalogue and the
optional qualitative notes ``<[portraits] notes>/<code>.md``, and writes
``<chemins.portraits>/<code>.html``, ``index.html`` and (``pdf=True``) ``<code>.pdf``.

A sheet: name, code, communes with the quartier's share in each, population and its year; a locator
map (inline SVG: the quartier, the other geography's perimeters dashed, the other quartiers hatched,
commune outlines and names); the written diagnosis (:mod:`.facts`, :mod:`.phrases`); one block per
theme (:data:`observatoire.catalogue.THEMES` order) with, per indicator, the value, year, change, the
reference territories and a position strip; the partner figures with their source; the notes
(``## Atouts``, ``## Points de vigilance``, ``## Enjeux retenus``). « Données simulées » appears on
every screen and printed page when any input is simulated, never otherwise.

Optional keys of ``[portraits]``: ``notes`` (folder, default ``notes``), ``pdf`` (bool),
``annee_comparaison`` (earlier year for changes), ``catalogue`` (path of an alternative catalogue
YAML, mainly for tests and analysts' experiments). Changes follow INSEE's census rule: two census
editions fewer than ``[indicateurs] annees_ecart_min`` years apart (default 5) are never compared,
on the sheet as in the diagnosis (:func:`observatoire.indicators.comparable`); the change is then
left empty.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape

from .. import fr
from ..catalogue import THEMES, Indicateur, load_catalogue
from ..errors import ObservatoireError
from ..store import simulated_inputs, write_text_atomic
from ..tidy import METHODES_LIBELLES
from . import svg
from .facts import METHODES_ESTIMATION, comparison_year, select_facts
from .phrases import elide, nom_court_epci, phrase, slug

TEMPLATES = Path(__file__).with_name("templates")

GEOGRAPHIES = {
    # geographie: (type_territoire, layer, name column, qpv_communes millesime)
    "2024": ("qpv2024", "qpv_2024", "lib_qp", 2024),
    "2015": ("qpv2015", "qpv_2015", "nom_qp", 2015),
    "zones": ("zone", "zones", "libelle", None),
}

REFERENCES = [  # (type_territoire, column heading)
    ("commune", "Commune"),
    ("epci", "EPCI"),
    ("ensemble_qpv_epci", "QPV de l'EPCI"),
    ("ensemble_qpv_departement", "QPV du département"),
    ("departement", "Département"),
    ("france", "France métropolitaine"),
]

SECTIONS_NOTES = {"atouts": "Atouts", "points_de_vigilance": "Points de vigilance",
                  "enjeux_retenus": "Enjeux retenus"}


TEXT_COLUMNS = ["type_territoire", "code_territoire", "libelle_territoire", "indicateur", "statut", "methode",
                "qualite", "source"]


# ----------------------------------------------------------------------------------------- inputs
def read_indicateurs(csv_path: Path, gpkg: Path | None = None) -> pd.DataFrame:
    """The tidy indicator table, from the CSV (else the GeoPackage layer ``indicateurs``)."""
    if Path(csv_path).exists():
        df = pd.read_csv(csv_path, sep=";", encoding="utf-8-sig", dtype={c: str for c in TEXT_COLUMNS})
    elif gpkg is not None and Path(gpkg).exists():
        import pyogrio
        df = pyogrio.read_dataframe(gpkg, layer="indicateurs", read_geometry=False)
    else:
        raise ObservatoireError("Le tableau des indicateurs est introuvable (indicator table not found).",
                                fichier=str(csv_path), correction="lancez d'abord « observatoire build »")
    missing = [c for c in TEXT_COLUMNS + ["millesime", "valeur"] if c not in df.columns]
    if missing:
        raise ObservatoireError(f"Colonnes absentes du tableau des indicateurs : {', '.join(missing)}.",
                                fichier=str(csv_path), correction="relancez « observatoire build » "
                                "(format décrit dans docs/contracts.md)")
    for c in TEXT_COLUMNS:
        df[c] = df[c].astype("string").fillna("").astype(object)
    df["millesime"] = pd.to_numeric(df["millesime"], errors="coerce").astype("Int64")
    df["valeur"] = pd.to_numeric(df["valeur"], errors="coerce").astype(float)
    return df


def _layer(gpkg: Path, name: str):
    import geopandas as gpd
    import pyogrio
    if name not in {n for n, _ in pyogrio.list_layers(gpkg)}:
        return None
    return gpd.read_file(gpkg, layer=name)


def _partner_meta(config, catalogue: dict[str, Indicateur]) -> dict[tuple, dict[str, str]]:
    """Labels, units and quotes of partner figures, keyed by ``(source, indicateur, code, millesime)``
    and ``(source, indicateur)``.

    Read through :func:`observatoire.sources.partner.partner_figures` (the same reading as the
    import, so units match the tidy values: ratios already × 100); when that module is unavailable,
    from the ``reference_figures`` columns of the CSV (``indicator``, ``label_fr``, ``unit``).
    """
    meta: dict[tuple, dict[str, str]] = {}
    for p in config.partenaires:
        figures = None
        try:
            from ..sources.partner import partner_figures
            figures = partner_figures(p, config, catalogue)
        except (ImportError, ObservatoireError):
            figures = None
        if figures is not None:
            for r in figures.itertuples(index=False):
                d = {"libelle": str(r.libelle_indicateur or ""), "unite": str(r.unite or ""),
                     "citation": str(r.citation or "")}
                if not pd.isna(r.millesime):
                    meta.setdefault((p["id"], r.indicateur, str(r.code_territoire), int(r.millesime)), d)
                meta.setdefault((p["id"], r.indicateur), d)
            continue
        f = Path(p["fichier"])
        if not f.exists() or f.suffix.lower() != ".csv":
            continue
        try:
            t = pd.read_csv(f, dtype=str, encoding="utf-8-sig")
        except (UnicodeDecodeError, pd.errors.ParserError):
            continue
        if not {"indicator", "label_fr"} <= set(t.columns):
            continue
        for r in t.itertuples(index=False):
            unite = str(getattr(r, "unit", "") or "")
            unite = {"ratio": "%", "count": "nombre"}.get(unite, unite)   # the import turns ratios into %
            d = {"libelle": str(r.label_fr), "unite": unite, "citation": str(getattr(r, "quote", "") or "")}
            year = str(getattr(r, "year", "") or "")
            if year.isdigit():
                meta.setdefault((p["id"], r.indicator, str(getattr(r, "territory_code", "")), int(year)), d)
            meta.setdefault((p["id"], r.indicator), d)
    return meta


@dataclass
class Inputs:
    """Everything a sheet is built from (read once for all sheets)."""

    config: Any
    table: pd.DataFrame
    catalogue: dict[str, Indicateur]
    layers: dict[str, Any]
    simulated: list[str]
    partner_meta: dict
    partner_names: dict[str, str]
    code_epci: str
    nom_epci: str
    index: dict = field(default_factory=dict)
    years: dict = field(default_factory=dict)   # (type, code, indicateur) → sorted years
    tout_simule: bool = False     # every published figure simulated: one notice instead of per-cell marks


def load_inputs(config, catalogue: dict[str, Indicateur] | None = None) -> Inputs:
    """Read the processed data, catalogue, simulated flags and partner labels."""
    gpkg = Path(config.paths.gpkg)
    if not gpkg.exists():
        raise ObservatoireError("Le GeoPackage des données traitées est introuvable (GeoPackage not found).",
                                fichier=str(gpkg), correction="lancez d'abord « observatoire build »")
    table = read_indicateurs(config.paths.indicateurs_csv, gpkg)
    if catalogue is None:
        alt = config.section("portraits").get("catalogue")
        if alt:
            p = Path(alt) if Path(alt).is_absolute() else config.paths.root / alt
            catalogue = load_catalogue(p, validate=False)
        else:
            catalogue = load_catalogue()
    layers = {n: _layer(gpkg, n) for n in ("communes", "epci", "qpv_2024", "qpv_2015", "zones", "qpv_communes")}
    simulated = simulated_inputs(gpkg)
    if (table["statut"] == "simule").any() and not simulated:
        simulated = ["tableau des indicateurs (statut « simule »)"]
    epci = layers.get("epci")
    code_epci = config.territoire.epci or (str(epci["siren"].iloc[0]) if epci is not None and len(epci) else "")
    nom = str(epci["nom"].iloc[0]) if epci is not None and len(epci) else ""
    if not code_epci:
        codes = table.loc[table["type_territoire"] == "ensemble_qpv_epci", "code_territoire"].unique()
        code_epci = str(codes[0]) if len(codes) else ""
    if not nom:
        nom = config.territoire.nom or "l'agglomération"
    names = {p["id"]: str(p.get("libelle") or p["id"]) for p in config.partenaires}
    inp = Inputs(config, table, catalogue, layers, simulated, _partner_meta(config, catalogue), names, code_epci,
                 nom_court_epci(nom))
    regular = table[table["methode"] != "partenaire"]
    inp.tout_simule = bool(len(regular)) and bool(regular["statut"].isin(["simule", "secret", "nd"]).all()) \
        and bool((regular["statut"] == "simule").any())
    inp.index = {(r.type_territoire, r.code_territoire, r.indicateur, int(r.millesime)): r
                 for r in regular.itertuples(index=False) if not pd.isna(r.millesime)}
    years: dict[tuple[str, str, str], set[int]] = {}
    for (t, c, i, y) in inp.index:
        years.setdefault((t, c, i), set()).add(y)
    inp.years = {k: sorted(v) for k, v in years.items()}
    return inp


# ------------------------------------------------------------------------------------ formatting
def _is_estimate(row) -> bool:
    return str(row.methode) in METHODES_ESTIMATION


def value_cell(row, ind: Indicateur, marque_simule: bool = True) -> dict[str, Any]:
    """Display of one figure: text, status marks (secret, nd, estimé, simulé) and data attributes."""
    if row is None:
        return {"texte": "—", "marques": [], "titre": "aucune donnée", "vide": True}
    statut = str(row.statut)
    attrs = {"territoire": row.code_territoire, "type": row.type_territoire, "indicateur": row.indicateur,
             "millesime": int(row.millesime)}
    if statut == "secret":
        return {"texte": "secret", "classe": "secret", "marques": [], "titre": "secret statistique : valeur "
                "non publiée par le producteur", "attrs": attrs, "statut": statut}
    if statut == "nd" or row.valeur is None or (isinstance(row.valeur, float) and math.isnan(row.valeur)):
        return {"texte": "n. d.", "classe": "nd", "marques": [], "titre": "non disponible", "attrs": attrs,
                "statut": "nd"}
    marques = []
    if _is_estimate(row) or statut == "estime":
        q = str(row.qualite) or "non évaluée"
        meth = METHODES_LIBELLES.get(str(row.methode), str(row.methode) or "méthode non précisée")
        if ind.type == "valeur_producteur":
            # medians and quartiles do not add up: a value carried from other perimeters is a rough guide
            marques.append({"code": "e", "titre": f"approximation ({meth}) : moyenne pondérée des valeurs "
                            "publiées sur d'autres périmètres, pas une médiane ou un quartile du quartier",
                            "texte": f"approximation ({meth}), à lire avec prudence"})
        else:
            marques.append({"code": "e", "titre": f"estimé (méthode : {meth}, qualité : {q})",
                            "texte": f"estimé ({meth}), qualité {q}"})
    if statut == "simule" and marque_simule:
        marques.append({"code": "sim", "titre": "valeur simulée", "texte": ""})
    return {"texte": fr.format_valeur(row.valeur, ind.unite, ind.decimales), "marques": marques,
            "titre": "", "attrs": attrs, "statut": statut, "valeur": float(row.valeur)}


def change_text(row, row0, ind: Indicateur) -> str:
    """« +2,3 points » (``%``) or « +3,2 % » between two usable figures; empty otherwise."""
    if row is None or row0 is None:
        return ""
    if str(row.statut) in ("secret", "nd") or str(row0.statut) in ("secret", "nd"):
        return ""
    v, v0 = row.valeur, row0.valeur
    if any(x is None or math.isnan(x) for x in (v, v0)):
        return ""
    dec = 1
    if ind.unite == "%":
        d = v - v0
        return "stable" if round(d, dec) == 0 else fr.format_points(d, dec)
    if v0 == 0:
        return ""
    d = 100 * (v - v0) / abs(v0)
    return "stable" if round(d, dec) == 0 else fr.format_pourcentage(d, dec, signe=True)


def _annees(years: list[int]) -> str:
    ys = [str(y) for y in sorted(set(years))]
    return ys[0] if len(ys) == 1 else ", ".join(ys[:-1]) + " et " + ys[-1]


def partner_value(valeur: float, unite: str) -> str:
    """Format a partner figure with the unit of the partner table (``%``, ``points``, ``€``, ``count``)."""
    if valeur is None or math.isnan(valeur):
        return "n. d."
    dec = 0 if float(valeur).is_integer() else (1 if round(valeur, 1) == valeur else 2)
    if unite == "%":
        return fr.format_pourcentage(valeur, dec)
    if unite == "points":
        return fr.format_points(valeur, max(dec, 1))
    if unite in ("€", "euros"):
        return fr.format_euros(valeur, dec)
    return fr.format_nombre(valeur, dec)


# ----------------------------------------------------------------------------------------- notes
_LIST_ITEM = re.compile(r"^([-*]|\d+\.)\s+")

def render_markdown(text: str) -> Markup:
    """Markdown → safe HTML: raw HTML is escaped, unsafe links are refused (markdown-it-py)."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:                                      # minimal safe subset
        out, items = [], []
        for line in text.splitlines():
            s = line.strip()
            if _LIST_ITEM.match(s):
                items.append(f"<li>{escape(_LIST_ITEM.sub('', s))}</li>")
                continue
            if items:
                out.append("<ul>" + "".join(items) + "</ul>")
                items = []
            if s:
                out.append(f"<p>{escape(s)}</p>")
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
        return Markup("".join(out))
    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    return Markup(md.render(text))


def read_notes(path: Path) -> dict[str, Markup]:
    """Sections ``## Atouts``, ``## Points de vigilance``, ``## Enjeux retenus`` of a notes file."""
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ObservatoireError("Le fichier de notes n'est pas encodé en UTF-8.", fichier=str(path),
                                correction="enregistrez-le en UTF-8") from e
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^##\s+(.+?)\s*#*\s*$", line)
        if m:
            key = slug(m.group(1))
            current = key if key in SECTIONS_NOTES else None
            if current:
                sections.setdefault(current, [])
            continue
        if current:
            sections[current].append(line)
    return {k: render_markdown("\n".join(v)) for k, v in sections.items() if "\n".join(v).strip()}


# ----------------------------------------------------------------------------------------- sheet
def quartiers_list(inp: Inputs, geographie: str) -> list[tuple[str, str]]:
    """``(code, name)`` of every quartier of a geography, sorted by code."""
    if geographie not in GEOGRAPHIES:
        raise ObservatoireError(f"Géographie inconnue : {geographie!r}.",
                                correction="choisissez « 2024 », « 2015 » ou « zones »")
    _, layer, name_col, _ = GEOGRAPHIES[geographie]
    gdf = inp.layers.get(layer)
    if gdf is None or gdf.empty:
        return []
    code_col = "code" if geographie == "zones" else "code_qp"
    return sorted((str(c), str(n)) for c, n in zip(gdf[code_col], gdf[name_col]))


def _communes_of(inp: Inputs, code: str, geographie: str, geom) -> list[dict[str, Any]]:
    qc = inp.layers.get("qpv_communes")
    millesime = GEOGRAPHIES[geographie][3]
    rows = []
    if millesime is not None and qc is not None and len(qc):
        sel = qc[(qc["code_qp"].astype(str) == code) & (pd.to_numeric(qc["millesime_qpv"]) == millesime)]
        for r in sel.itertuples(index=False):
            rows.append({"code": str(r.insee_com), "nom": str(r.nom_commune), "part": float(r.part_surface),
                         "dans_territoire": str(r.dans_territoire).lower() in ("true", "1")})
    elif geom is not None and inp.layers.get("communes") is not None:
        com = inp.layers["communes"]
        for r in com[com.intersects(geom)].itertuples():
            share = r.geometry.intersection(geom).area / geom.area if geom.area else 0
            if share > 0.005:
                rows.append({"code": str(r.code_insee), "nom": str(r.nom), "part": share, "dans_territoire": True})
    rows.sort(key=lambda r: (-r["part"], r["nom"]))
    for r in rows:
        r["part_texte"] = fr.format_pourcentage(100 * r["part"], 0) if r["part"] >= 0.01 else "moins de 1\u00a0%"
    return rows


def _get(inp: Inputs, type_t: str, code: str, ind: str, year: int | None):
    if year is None or not code:
        return None
    return inp.index.get((type_t, code, ind, int(year)))


def _years(inp: Inputs, type_t: str, code: str, ind: str) -> list[int]:
    return inp.years.get((type_t, code, ind), [])


def _locator(inp: Inputs, code: str, geographie: str, geom, nom: str) -> Markup:
    if geom is None or geom.is_empty:
        return Markup("")
    com = inp.layers.get("communes")
    communes = [] if com is None else [(str(n), g) for n, g in zip(com["nom"], com.geometry)]
    q24, q15 = inp.layers.get("qpv_2024"), inp.layers.get("qpv_2015")
    g24 = [] if q24 is None else [(str(c), g) for c, g in zip(q24["code_qp"], q24.geometry)]
    g15 = [] if q15 is None else [(str(c), g) for c, g in zip(q15["code_qp"], q15.geometry)]
    if geographie == "2015":
        meme, autre = [g for c, g in g15 if c != code], [g for _, g in g24]
    elif geographie == "2024":
        meme, autre = [g for c, g in g24 if c != code], [g for _, g in g15]
    else:
        meme, autre = [g for _, g in g24], []
    return svg.locator_map(geom, communes=communes, autres_meme=meme, autres_autre=autre,
                           geographie=geographie, titre=f"Carte de situation : {nom}")


def _parts(inp: Inputs, code: str, type_t: str, communes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Values of each commune part of the quartier, at the quartier's latest year per indicator."""
    if type_t != "qpv2024":
        return None
    codes = sorted({c for (t, c, _i) in inp.years if t == "partie_qpv2024" and c.startswith(code + "_")})
    if not codes:
        return None
    names = {c["code"]: c["nom"] for c in communes}
    cols = [{"code": c, "libelle": names.get(c.split("_", 1)[1], c.split("_", 1)[1])} for c in codes]
    lignes = []
    for ind in inp.catalogue.values():
        ys = _years(inp, type_t, code, ind.id)
        if not ys:
            continue
        t = ys[-1]
        cells = [_get(inp, "partie_qpv2024", c, ind.id, t) for c in codes]
        if all(c is None for c in cells):
            continue
        lignes.append({"libelle": ind.libelle_court or ind.libelle, "annee": t,
                       "cellules": [value_cell(c, ind, not inp.tout_simule) for c in cells]})
    return {"colonnes": cols, "lignes": lignes} if lignes else None


def read_annees_ecart_min(config) -> int:
    """``[indicateurs] annees_ecart_min`` (see :meth:`observatoire.config.Config.annees_ecart_min`)."""
    return config.annees_ecart_min

def sheet_context(inp: Inputs, code: str, geographie: str = "2024", *,
                  annees_ecart_min: int | None = None) -> dict[str, Any]:
    """Everything the sheet template shows for quartier ``code`` (pure function of ``inp``).

    ``annees_ecart_min``: census editions fewer years apart are not compared (default: the
    configuration's ``[indicateurs] annees_ecart_min``, else 5).
    """
    ecart_min = read_annees_ecart_min(inp.config) if annees_ecart_min is None else int(annees_ecart_min)
    type_t, layer, name_col, _ = GEOGRAPHIES[geographie]
    gdf = inp.layers.get(layer)
    code_col = "code" if geographie == "zones" else "code_qp"
    sel = gdf[gdf[code_col].astype(str) == code] if gdf is not None else None
    if sel is None or sel.empty:
        raise ObservatoireError(f"Quartier {code} absent de la couche {layer}.", fichier=str(inp.config.paths.gpkg),
                                correction="vérifiez le code (liste : observatoire portraits sans option)")
    nom = str(sel[name_col].iloc[0])
    geom = sel.geometry.iloc[0]
    communes = _communes_of(inp, code, geographie, geom)
    in_terr = [c for c in communes if c["dans_territoire"]] or communes
    commune_principale = in_terr[0] if in_terr else None
    dep = ""
    com = inp.layers.get("communes")
    if commune_principale is not None and com is not None and "dep" in com:
        m = com[com["code_insee"].astype(str) == commune_principale["code"]]
        dep = str(m["dep"].iloc[0]) if len(m) else ""
    if not dep:
        codes = inp.table.loc[inp.table["type_territoire"] == "departement", "code_territoire"].unique()
        dep = str(codes[0]) if len(codes) else ""
    ref_codes = {"commune": commune_principale["code"] if commune_principale else "", "epci": inp.code_epci,
                 "ensemble_qpv_epci": inp.code_epci, "ensemble_qpv_departement": dep, "departement": dep,
                 "france": "FRM"}
    annee_comp = inp.config.section("portraits").get("annee_comparaison")

    # population (indicator ``population``) and its year
    population = None
    if "population" in inp.catalogue:
        ys = _years(inp, type_t, code, "population")
        for y in reversed(ys):
            r = _get(inp, type_t, code, "population", y)
            cell = value_cell(r, inp.catalogue["population"], not inp.tout_simule)
            population = {"cellule": cell, "annee": y,
                          "source": inp.catalogue["population"].source_libelle or inp.catalogue["population"].source}
            if cell.get("valeur") is not None:
                break

    themes = []
    note_no = 0
    autres = [i.theme for i in inp.catalogue.values() if i.theme not in THEMES]
    theme_order = list(THEMES.items()) + [(t, t.replace("_", " ").capitalize()) for t in dict.fromkeys(autres)]
    for theme_id, theme_lib in theme_order:
        lignes, notes, sources = [], [], {}
        for ind in inp.catalogue.values():
            if ind.theme != theme_id:
                continue
            ys = _years(inp, type_t, code, ind.id)
            if not ys:
                continue
            t = ys[-1]
            row = _get(inp, type_t, code, ind.id, t)
            t0 = comparison_year(ys, t, ind, str(row.source) if row is not None else None,
                                 annee_comparaison=int(annee_comp) if annee_comp is not None else None,
                                 annees_ecart_min=ecart_min)
            row0 = _get(inp, type_t, code, ind.id, t0)
            cell = value_cell(row, ind, not inp.tout_simule)
            refs, points = [], []
            for rtype, heading in REFERENCES:
                rr = _get(inp, rtype, ref_codes[rtype], ind.id, t)
                rc = value_cell(rr, ind, not inp.tout_simule)
                refs.append(rc)
                if rc.get("valeur") is not None and ind.type != "effectif":
                    points.append((rtype, heading, rc["valeur"]))
            if cell.get("valeur") is not None and ind.type != "effectif":
                points.append(("quartier", "Quartier", cell["valeur"]))
            strip = svg.position_strip(points) if cell.get("valeur") is not None else Markup("")
            defs = [x for x in (ind.definition, ind.limites) if x]
            ref_no = None
            if defs:
                note_no += 1
                ref_no = note_no
                notes.append({"no": note_no, "libelle": ind.libelle, "texte": " ".join(defs)})
            src = ind.source_libelle or ind.source
            sources.setdefault(src, set()).update(y for y in (t, t0) if y is not None)
            lignes.append({"id": ind.id, "libelle": ind.libelle_court or ind.libelle, "libelle_long": ind.libelle,
                           "cellule": cell, "annee": t, "evolution": change_text(row, row0, ind), "annee0": t0,
                           "references": refs, "position": strip, "note": ref_no, "unite": ind.unite})
        if lignes:
            src_line = " ; ".join(s if re.search(r"\d{4}", s) else f"{s} {_annees(list(y))}"
                                  for s, y in sources.items())
            themes.append({"id": theme_id, "libelle": theme_lib, "lignes": lignes, "notes": notes,
                           "source": src_line})

    # commune parts of a multi-commune quartier (``partie_qpv2024`` rows, code ``<code_qp>_<insee>``)
    parties = _parts(inp, code, type_t, communes)

    # written diagnosis
    facts = select_facts(inp.table, inp.catalogue, code, type_territoire=type_t, code_ensemble=inp.code_epci,
                         nom_ensemble=inp.nom_epci,
                         annee_comparaison=int(annee_comp) if annee_comp is not None else None,
                         annees_ecart_min=ecart_min)
    diagnostic = [phrase(f, inp.catalogue[f.indicateur]) for f in facts]

    # partner figures (their own block, labelled with their source)
    t = inp.table
    part = t[(t["methode"] == "partenaire") & ((t["code_territoire"] == code)
                                               | t["code_territoire"].str.startswith(code + "_"))]
    partenaires = []
    for r in part.sort_values(["source", "code_territoire", "indicateur", "millesime"]).itertuples(index=False):
        year = None if pd.isna(r.millesime) else int(r.millesime)
        meta = (inp.partner_meta.get((r.source, r.indicateur, r.code_territoire, year))
                or inp.partner_meta.get((r.source, r.indicateur)) or {})
        ind = inp.catalogue.get(r.indicateur)
        own = getattr(r, "libelle_indicateur", None)
        own = "" if own is None or (isinstance(own, float) and math.isnan(own)) else str(own)
        libelle = (own or meta.get("libelle")
                   or (ind.libelle if ind else r.indicateur.replace("_", " ")))
        unite = meta.get("unite") or (ind.unite if ind else "")
        if str(r.statut) in ("secret", "nd"):
            txt = "secret" if str(r.statut) == "secret" else "n. d."
        elif ind is not None and not meta.get("unite"):
            txt = fr.format_valeur(r.valeur, ind.unite, ind.decimales)
        else:
            txt = partner_value(r.valeur, unite)
        partenaires.append({"libelle": libelle, "texte": txt, "annee": "" if pd.isna(r.millesime) else int(r.millesime),
                            "territoire": r.libelle_territoire, "source": inp.partner_names.get(r.source, r.source),
                            "citation": meta.get("citation", ""),
                            "attrs": {"territoire": r.code_territoire, "indicateur": r.indicateur,
                                      "millesime": "" if pd.isna(r.millesime) else int(r.millesime),
                                      "source": r.source}})

    notes_dir = inp.config.section("portraits").get("notes", "notes")
    ndir = Path(notes_dir) if Path(notes_dir).is_absolute() else inp.config.paths.root / notes_dir
    notes_q = read_notes(ndir / f"{code}.md")

    kind = {"2024": "Quartier prioritaire 2024", "2015": "Quartier prioritaire 2015",
            "zones": "Zone d'observation"}[geographie]
    legende_carte = {"2024": ("Quartier (périmètre 2024)", "Autres quartiers 2024", "Périmètres 2015"),
                     "2015": ("Quartier (périmètre 2015)", "Autres quartiers 2015", "Périmètres 2024"),
                     "zones": ("Zone observée", "Quartiers prioritaires 2024", "")}[geographie]
    shy = "\u00ad"                                   # soft hyphen: narrow print columns break cleanly
    nom_dep = str(inp.table.loc[(inp.table["type_territoire"] == "departement")
                                & (inp.table["code_territoire"] == dep), "libelle_territoire"].head(1).str.cat())
    long_names = {"commune": f"commune {elide('de', commune_principale['nom'])}" if commune_principale else "commune",
                  "epci": inp.nom_epci,
                  "ensemble_qpv_epci": f"ensemble des quartiers prioritaires {elide('de', inp.nom_epci)}",
                  "ensemble_qpv_departement": f"ensemble des quartiers prioritaires du département {dep}",
                  "departement": f"{nom_dep} ({dep})" if nom_dep else f"département {dep}",
                  "france": "France métropolitaine"}
    short = {"commune": (commune_principale or {}).get("nom", "Commune"), "epci": "EPCI",
             "ensemble_qpv_epci": "QPV de l'EPCI", "ensemble_qpv_departement": f"QPV du dépar{shy}tement",
             "departement": f"Dépar{shy}tement", "france": f"France métro{shy}politaine"}
    headings = [{"type": rtype, "libelle": short[rtype], "titre": long_names[rtype]} for rtype, _ in REFERENCES]
    return {
        "code": code, "nom": nom, "type": kind, "geographie": geographie, "communes": communes,
        "commune_principale": commune_principale, "population": population,
        "carte": _locator(inp, code, geographie, geom, nom), "legende_carte": legende_carte,
        "themes": themes, "references": headings, "parties": parties, "diagnostic": diagnostic, "partenaires": partenaires,
        "notes": notes_q, "sections_notes": SECTIONS_NOTES, "simule": bool(inp.simulated),
        "tout_simule": inp.tout_simule,
        "fichiers_simules": inp.simulated, "nom_epci": inp.nom_epci,
        "marques": [(k, lbl, svg.legend_mark(k)) for k, (_, lbl) in svg.MARQUES.items()],
        "date": fr.format_date(_dt.date.today()), "surface": float(geom.area) / 1e4 if geom is not None else None,
        "surface_texte": fr.format_nombre(geom.area / 1e4, 1) + "\u00a0ha" if geom is not None else "",
    }


# -------------------------------------------------------------------------------------- writing
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    return env


def _css() -> str:
    return (TEMPLATES / "portrait.css").read_text(encoding="utf-8")


def render_sheet(ctx: dict[str, Any]) -> str:
    """HTML of one sheet."""
    return _env().get_template("portrait.html.j2").render(css=Markup(_css()), **ctx)


def render_index(entries: list[dict[str, Any]], *, simule: bool, fichiers_simules: list[str], nom_epci: str,
                 pdf: bool) -> str:
    return _env().get_template("index.html.j2").render(css=Markup(_css()), entrees=entries, simule=simule,
                                                       fichiers_simules=fichiers_simules, nom_epci=nom_epci,
                                                       pdf=pdf, date=fr.format_date(_dt.date.today()))


def build_portraits(config, pdf: bool = True, quartiers=None, geographie: str = "2024",
                    catalogue: dict[str, Indicateur] | None = None, *,
                    annees_ecart_min: int | None = None) -> list[Path]:
    """Write ``portraits/<code>.html`` (and ``.pdf``) for every quartier, and ``portraits/index.html``.

    Parameters
    ----------
    config : :class:`observatoire.config.Config`.
    pdf : also print each sheet to an A4 PDF with headless Chromium (``[portraits] pdf`` = false
        disables it too). Without Chromium the HTML files are written and
        :class:`observatoire.portraits.pdf.ChromiumAbsentError` is raised.
    quartiers : codes to build (default: all quartiers of ``geographie``).
    geographie : ``"2024"`` (default), ``"2015"`` or ``"zones"`` (custom zones of ``[[zones]]``).
    catalogue : alternative catalogue (default: ``[portraits] catalogue`` or the project's).
    annees_ecart_min : minimum gap in years between two compared census editions (default:
        ``[indicateurs] annees_ecart_min`` of the configuration, else 5; 0 disables INSEE's rule).

    Returns
    -------
    list of written paths: sheets, index, then PDFs.
    """
    ecart_min = read_annees_ecart_min(config) if annees_ecart_min is None else int(annees_ecart_min)
    inp = load_inputs(config, catalogue)
    available = quartiers_list(inp, geographie)
    names = dict(available)
    if isinstance(quartiers, str):
        quartiers = [quartiers]
    codes = list(quartiers) if quartiers else [c for c, _ in available]
    unknown = [c for c in codes if c not in names]
    if unknown:
        raise ObservatoireError(f"Quartier(s) inconnu(s) pour la géographie {geographie} : {', '.join(unknown)}.",
                                fichier=str(config.paths.gpkg),
                                correction=f"codes disponibles : {', '.join(names) or 'aucun'}")
    out_dir = Path(config.paths.portraits)
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = pdf and bool(config.section("portraits").get("pdf", True))
    written, entries = [], []
    for code in codes:
        ctx = sheet_context(inp, code, geographie, annees_ecart_min=ecart_min)
        path = out_dir / f"{code}.html"
        write_text_atomic(path, render_sheet(ctx))
        written.append(path)
        pop = ctx["population"]["cellule"]["texte"] if ctx["population"] else ""
        entries.append({"code": code, "nom": ctx["nom"], "type": ctx["type"],
                        "communes": ", ".join(c["nom"] for c in ctx["communes"]), "population": pop,
                        "annee_population": ctx["population"]["annee"] if ctx["population"] else ""})
    if not quartiers:  # a partial rebuild (--quartier) keeps the index of the full run
        # one index per geography, so that building the 2015 quartiers or the zones on request does not
        # replace the list of the 2024 quartiers
        index = out_dir / ("index.html" if geographie == "2024" else f"index-{geographie}.html")
        write_text_atomic(index, render_index(entries, simule=bool(inp.simulated), fichiers_simules=inp.simulated,
                                              nom_epci=inp.nom_epci, pdf=pdf))
        written.append(index)
    if pdf:
        from .pdf import print_pdfs
        written.extend(print_pdfs([p for p in written if not p.name.startswith("index")]))
    return written
