"""Stage ``observatoire maps``: self-contained, offline-readable, comparable choropleth maps.

Reads the GeoPackage written by ``observatoire build`` (:mod:`.inputs`) and the catalogue, and
writes into ``config.paths.maps``::

    index.html                      every map, by theme
    themes/<theme>.html             one map per theme: per indicator a layer for the IRIS, the
                                    quartiers 2024, the quartiers 2015 and each partner's quartier figures
    quartiers/<code_qp>.html        one map per quartier 2024 (studied quartier outlined, the others
                                    faded), with its IRIS context, the 2015 outline and partner figures
    comparaison/<nom>.html          side by side, linked pan and zoom: two millésimes (same classes)
                                    or quartier vs IRIS scale

How it stays fast: everything shared between maps is computed once per run, in this order —
geometry sets simplified and serialised (:mod:`.geometry`), classes per indicator and scale
(:mod:`.classify`), layers per indicator, scale and year (:mod:`.layers`), the territory's data
text; then each page only assembles text (:mod:`.page`) and the pages are written by two processes
when there are enough of them (:func:`write_pages`).

Classes are computed **per scale** (IRIS, quartiers 2024, quartiers 2015 separately) and fixed
across years within a scale; partner figures take the classes of their scale. Every layer knows
whether a figure it shows is simulated; every outline set whether its source file is simulated.
"""

from __future__ import annotations

import html
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from ..catalogue import THEMES, Indicateur, load_catalogue
from ..progress import suivre
from ..store import simulated_inputs, write_text_atomic  # noqa: F401  (re-exported for callers)
from . import style
from .assets import json_for_script
from .classify import Classes, breaks_year, fixed_bins
from .geometry import (GeoSet, bounds_latlon, coverage_ready, feature_collection, geo_set,  # noqa: F401
                       simplify_display, valid_array)
from .inputs import load_inputs, partner_labels
from .layers import _COLS as _LAYER_COLS
from .layers import ECHELLES, GEOMETRIE_SIMULEE, Couche, build_couche, complete, indicator_layer, provenance_summary  # noqa: F401
from .page import Panel, render_page, title_html
from .settings import Reglages, read_settings

TOLERANCE_TERRITOIRE_M = 20.0
TOLERANCE_QUARTIER_M = 6.0
BUDGET_TERRITOIRE = 3_000_000      # bytes, territory maps (themes, comparisons)
BUDGET_QUARTIER = 1_000_000        # bytes, quartier maps
#: Pages are written by a pool of processes from this many pages on (below, starting it costs more).
MIN_PAGES_PARALLELE = 24
#: The coverages (IRIS, communes) are noded by two processes from this many vertices on.
MIN_VERTICES_PARALLELE = 200_000

#: Geometry sets: GeoPackage layer, code column, name column, coverage (tiles the territory)?
SETS = {
    "iris": ("iris", "code_iris", "nom_iris", True),
    "qpv2024": ("qpv_2024", "code_qp", "lib_qp", False),
    "qpv2015": ("qpv_2015", "code_qp", "nom_qp", False),
    "communes": ("communes", "code_insee", "nom", True),
    "zones": ("zones", "code", "libelle", False),
}
#: Scales mapped as choropleths, in layer order.
ECHELLES_CARTE = ("iris", "qpv2024", "qpv2015")
#: Scales on which partner figures are mapped (quartier figures).
ECHELLES_PARTENAIRE = ("qpv2024", "qpv2015")


# --------------------------------------------------------------------------------------------
# the run's shared state, computed once


class TidyIndex:
    """The tidy rows as ``{(indicator, territory type): {year: {code: row}}}``, split in one pass.

    Maps ask for hundreds of (indicator, scale, year) slices; filtering a DataFrame for each costs
    more than all the rest of the stage, so the table is turned into plain dicts once. The first row
    of a code wins (as in the tidy table, a code has one row per indicator and year); with
    ``by_source`` (partner rows), the first row of a code for each source.
    """

    def __init__(self, tab: pd.DataFrame, by_source: bool = False):
        self.data: dict[tuple[str, str], dict[int, dict]] = {}
        if tab is None or not len(tab):
            return
        cols = [c for c in (*_LAYER_COLS, "indicateur", "type_territoire", "source") if c in tab.columns]
        frame = tab[cols].copy()
        frame["millesime"] = frame["millesime"].astype("float64")
        for r in frame.to_dict("records"):
            y = r["millesime"]
            if y != y:
                continue
            r["millesime"] = int(y)
            by_year = self.data.setdefault((r["indicateur"], r["type_territoire"]), {})
            code = str(r["code_territoire"])
            by_year.setdefault(int(y), {}).setdefault((r.get("source"), code) if by_source else code, complete(r))

    def years(self, ind_id: str, echelle: str) -> list[int]:
        return sorted(self.data.get((ind_id, echelle), {}))

    def year_rows(self, ind_id: str, echelle: str, year: int) -> dict[str, dict]:
        return self.data.get((ind_id, echelle), {}).get(year, {})

    def all_rows(self, ind_id: str, echelle: str) -> list[dict]:
        return [r for d in self.data.get((ind_id, echelle), {}).values() for r in d.values()]

    def indicators(self, echelles) -> set[str]:
        return {i for (i, e) in self.data if e in echelles}


@dataclass
class Territoire:
    """Everything the pages draw, read, simplified, classified and serialised once."""

    inputs: dict
    catalogue: dict[str, Indicateur]
    nom: str
    reglages: Reglages
    partenaires: dict[str, str]                     # partner id → libellé
    producteurs: TidyIndex
    partenaire_rows: TidyIndex
    geo_simulee: dict[str, bool]
    sets: dict[tuple[str, float], GeoSet] = field(default_factory=dict)
    classes: dict[tuple[str, str], tuple[Classes, bool]] = field(default_factory=dict)
    couches: dict[tuple, Couche] = field(default_factory=dict)
    data_territoire: str = ""
    tolerance: float = TOLERANCE_TERRITOIRE_M
    ready: dict = field(default_factory=dict)       # set name → coverage_ready(): noded once per run
    extra: dict = field(default_factory=dict)

    @property
    def fond(self) -> str:
        return self.reglages.fond

    def geo(self, name: str, tolerance: float | None = None) -> GeoSet:
        """The geometry set ``name`` at ``tolerance`` (default: the territory maps' one; quartiers
        never coarser than the quartier maps' one)."""
        tolerance = self.tolerance if tolerance is None else tolerance
        if name in ("qpv2024", "qpv2015", "zones"):
            tolerance = min(tolerance, TOLERANCE_QUARTIER_M)
        key = (name, tolerance)
        if key not in self.sets:
            layer, code, nom, coverage = SETS[name]
            weight = "population" if name == "communes" else None
            self.sets[key] = geo_set(name, self.inputs.get(layer), code, nom, tolerance, coverage,
                                     label_points=name == "communes", weight_col=weight,
                                     ready=self.ready.get(name))
        return self.sets[key]


def territory_tolerance(communes) -> float:
    """Simplification tolerance of the territory maps: :data:`TOLERANCE_TERRITOIRE_M` (an EPCI), more
    for a wide territory — about a 1 200th of its extent, under a pixel at the initial view — so that
    a département's map stays within :data:`BUDGET_TERRITOIRE`.

    >>> import geopandas as gpd, shapely
    >>> territory_tolerance(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 25_000, 20_000)]))
    20.0
    >>> territory_tolerance(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 60_000, 60_000)]))
    50.0
    """
    if communes is None or not len(communes):
        return TOLERANCE_TERRITOIRE_M
    minx, miny, maxx, maxy = communes.total_bounds
    return float(max(TOLERANCE_TERRITOIRE_M, 10 * round(max(maxx - minx, maxy - miny) / 1200 / 10)))


def coverages(inputs: dict, workers: int | None = None) -> dict:
    """:func:`~observatoire.maps.geometry.coverage_ready` of the sets tiling the territory (IRIS,
    communes), noded once for every tolerance, on two processes when they are big."""
    import multiprocessing as mp

    arrays = {}
    for name, (layer, _, _, coverage) in SETS.items():
        gdf = inputs.get(layer)
        if coverage and gdf is not None and len(gdf) > 1:
            arrays[name] = valid_array(gdf.geometry)
    workers = min(2, os.cpu_count() or 1) if workers is None else workers
    vertices = sum(int(shapely.get_num_coordinates(a).sum()) for a in arrays.values())
    if workers > 1 and len(arrays) > 1 and vertices >= MIN_VERTICES_PARALLELE and "fork" in mp.get_all_start_methods():
        with ProcessPoolExecutor(min(workers, len(arrays)), mp_context=mp.get_context("fork")) as pool:
            futures = {name: pool.submit(coverage_ready, a) for name, a in arrays.items()}
            return {name: f.result() for name, f in futures.items()}
    return {name: coverage_ready(a) for name, a in arrays.items()}


def prepare(config, catalogue: dict[str, Indicateur] | None = None, workers: int | None = None) -> Territoire:
    """Read the inputs and compute what every map shares (geometry texts first)."""
    catalogue = catalogue if catalogue is not None else load_catalogue()
    reglages = read_settings(config, catalogue)
    inputs = load_inputs(config.paths.gpkg)
    nom = config.territoire.nom or ""
    epci = inputs.get("epci")
    if not nom and epci is not None and len(epci) and "nom" in epci:
        nom = str(epci["nom"].iloc[0])
    t = Territoire(inputs, catalogue, nom or "Territoire étudié", reglages, partner_labels(config),
                   TidyIndex(inputs["indicateurs"]), TidyIndex(inputs["partenaires"], by_source=True), inputs["geometrie_simulee"])
    t.tolerance = territory_tolerance(inputs["communes"])
    t.ready = coverages(inputs, workers)
    for tol in (t.tolerance, TOLERANCE_QUARTIER_M):
        for name in SETS:
            t.geo(name, tol)
    t.data_territoire = data_text({name: t.geo(name).collection_text() for name in SETS})
    for s in t.sets.values():          # spatial indexes built before the pages are spread over processes
        s.near(shapely.Point(0, 0))
    return t


def data_text(collections: dict[str, str]) -> str:
    """``{"geo": {name: FeatureCollection}}`` as script-safe JSON text from ready collection texts."""
    return '{"geo":{' + ",".join(f'"{k}":{v}' for k, v in collections.items()) + "}}"


# --------------------------------------------------------------------------------------------
# classes and layers, per indicator and scale


def classify_rows(t: Territoire, ind_id: str, rows: list[dict], annee) -> tuple[Classes, bool]:
    """Fixed classes of tidy rows of one scale (years per ``annee``), and whether a figure they were
    computed on is simulated (configured bins use no figure)."""
    by_year: dict[int, list[float]] = {}
    sim = False
    for r in rows:
        v = r["valeur"]
        if r["statut"] not in ("secret", "nd") and v == v:
            by_year.setdefault(r["millesime"], []).append(float(v))
            sim = sim or bool(r["simule"])
    n = len({r["code_territoire"] for r in rows}) or None
    bornes = t.reglages.bornes.get(ind_id)
    c = fixed_bins({y: np.asarray(v) for y, v in by_year.items()}, t.reglages.methode, t.reglages.k,
                   breaks_year(annee, n), bornes, n_territoires=n)
    return c, sim and bornes is None


def scale_classes(t: Territoire, ind_id: str, echelle: str) -> Classes:
    """Classes of an indicator at one scale, fixed across years (producer figures of that scale).

    A scale the producers do not cover (partner figures only) is classified on the partner figures,
    all years pooled. Configured bins (``[cartes.bornes]``) win everywhere.
    """
    return _scale_classes(t, ind_id, echelle)[0]


def _scale_classes(t: Territoire, ind_id: str, echelle: str) -> tuple[Classes, bool]:
    key = (ind_id, echelle)
    if key not in t.classes:
        rows = t.producteurs.all_rows(ind_id, echelle)
        annee = t.reglages.annee_bornes
        if not rows:
            rows, annee = t.partenaire_rows.all_rows(ind_id, echelle), "toutes"
        t.classes[key] = classify_rows(t, ind_id, rows, annee)
    return t.classes[key]


def couche(t: Territoire, ind_id: str, echelle: str, year: int) -> Couche:
    """The layer of producer figures of ``ind_id`` at ``echelle`` for ``year`` (on the whole set)."""
    key = (ind_id, echelle, year, None)
    if key not in t.couches:
        codes = t.geo(echelle).codes
        classes, sim = _scale_classes(t, ind_id, echelle)
        t.couches[key] = build_couche(t.producteurs.year_rows(ind_id, echelle, year), codes, t.catalogue[ind_id],
                                      classes, echelle, year, geo_simulee=t.geo_simulee.get(echelle, False),
                                      classes_simulees=sim)
    return t.couches[key]


def partner_couches(t: Territoire, ind_id: str, echelle: str) -> list[Couche]:
    """One layer per partner giving ``ind_id`` at ``echelle``: each quartier's latest figure.

    Coloured with the classes of the producers' figures of the scale, so that one colour means one
    range on both layers, when those figures are real; else (simulated producer figures, or none)
    with classes of the partner's own figures, all years pooled: a real layer never takes its class
    bounds from invented numbers.
    """
    by_source: dict[str, list[dict]] = {}
    for r in t.partenaire_rows.all_rows(ind_id, echelle):
        by_source.setdefault(str(r.get("source", "")), []).append(r)
    out = []
    for pid in sorted(by_source):
        key = (ind_id, echelle, None, pid)
        if key not in t.couches:
            latest: dict[str, dict] = {}
            for r in sorted(by_source[pid], key=lambda r: -r["millesime"]):
                latest.setdefault(str(r["code_territoire"]), r)
            years = sorted({r["millesime"] for r in latest.values()})
            annee = str(years[0]) if len(years) == 1 else f"{years[0]} à {years[-1]}"
            own = t.producteurs.years(ind_id, echelle)
            classes, sim = _scale_classes(t, ind_id, echelle)
            shared = bool(own) and not sim
            if not shared:
                classes, sim = classify_rows(t, ind_id, by_source[pid], "toutes")
            t.couches[key] = build_couche(latest, t.geo(echelle).codes, t.catalogue[ind_id], classes,
                                          echelle, annee, _names(t, echelle), partenaire=pid,
                                          partenaire_libelle=t.partenaires.get(pid, pid),
                                          geo_simulee=t.geo_simulee.get(echelle, False),
                                          classes_de=echelle if shared else "", classes_simulees=sim)
        out.append(t.couches[key])
    return out


def _names(t: Territoire, echelle: str) -> list[str]:
    layer, _, nom, _ = SETS[echelle]
    gdf = t.inputs.get(layer)
    return [] if gdf is None else gdf[nom].astype(str).tolist()


def theme_couches(t: Territoire, ind_ids: list[str], echelles=ECHELLES_CARTE, latest_only=True,
                  partner_codes: set[str] | None = None) -> list[Couche]:
    """Layers of a list of indicators: per indicator, each scale's latest year, then partner layers.

    ``partner_codes``: keep only partner layers with a figure for one of these quartiers.
    """
    out = []
    for ind_id in ind_ids:
        for echelle in echelles:
            years = t.producteurs.years(ind_id, echelle)
            if years and len(t.geo(echelle)):
                out.append(couche(t, ind_id, echelle, years[-1]))
        for echelle in ECHELLES_PARTENAIRE:
            if echelle not in echelles or not len(t.geo(echelle)):
                continue
            for c in partner_couches(t, ind_id, echelle):
                if partner_codes is None or _has_figure(c, t, partner_codes):
                    out.append(c)
    return out


def _has_figure(c: Couche, t: Territoire, codes: set[str]) -> bool:
    gs = t.geo(c.echelle)
    return any(code in codes and c.k[i] not in (style.ND,) for i, code in enumerate(gs.codes))


def indicators_by_theme(t: Territoire) -> dict[str, list[str]]:
    """Mappable indicators by theme, in catalogue order: rates and values present at a mapped scale.

    A choropleth of counts misleads (big areas look important): counts are not mapped.
    """
    present = t.producteurs.indicators(ECHELLES_CARTE) | t.partenaire_rows.indicators(ECHELLES_PARTENAIRE)
    out: dict[str, list[str]] = {}
    for ind_id, ind in t.catalogue.items():
        if ind_id in present and ind.type != "effectif" and ind.unite != "nombre":
            out.setdefault(ind.theme, []).append(ind_id)
    order = list(THEMES) + sorted(set(out) - set(THEMES))
    return {th: out[th] for th in order if th in out}


# --------------------------------------------------------------------------------------------
# panels


def outlines(t: Territoire, sets: dict[str, GeoSet], with_2015: bool = True, focus: str | None = None,
             hide_quartiers: bool = False) -> list[dict]:
    """Outline layers of a map (communes with their names, watch zones, quartiers 2015 and 2024)."""
    def sim(name):
        return " (simulé)" if t.geo_simulee.get(name) else ""

    out = []
    if len(sets.get("communes", ())):
        out.append({"geo": "communes", "name": html.escape("Communes (contours et noms)" + sim("communes")),
                    "style": style.OUTLINES["communes"], "cls": "obs-commune", "labels": True, "show": True,
                    "tip": None})
    if len(sets.get("zones", ())):
        out.append({"geo": "zones", "name": html.escape("Quartiers de veille active" + sim("zones")),
                    "style": style.OUTLINES["zones"], "cls": "obs-zone", "labels": False, "show": True,
                    "tip": "Quartier de veille active"})
    if with_2015 and len(sets.get("qpv2015", ())):
        out.append({"geo": "qpv2015", "name": html.escape("Quartiers prioritaires 2015 (tirets)" + sim("qpv2015")),
                    "style": style.OUTLINES["qpv2015"], "cls": "obs-qpv2015", "labels": False,
                    "show": not hide_quartiers, "tip": "Quartier prioritaire 2015"})
    if len(sets.get("qpv2024", ())):
        out.append({"geo": "qpv2024", "name": html.escape("Quartiers prioritaires 2024 (trait plein)" + sim("qpv2024")),
                    "style": style.OUTLINES["qpv2024"], "cls": "obs-qpv2024", "labels": False,
                    "show": not hide_quartiers, "tip": "Quartier prioritaire 2024", "fade": bool(focus)})
    if focus:
        out.append({"geo": "qpv2024", "only": focus, "name": "Quartier étudié", "style": style.FOCUS,
                    "halo": style.FOCUS_HALO, "cls": "obs-focus", "labels": False, "show": True,
                    "tip": "Quartier prioritaire 2024 étudié"})
    return out


def panel(t: Territoire, titre: str, sous_titre: str, couches: list[Couche], lines: list[dict], fit,
          idx: dict[str, list[int]] | None = None, focus: dict | None = None, collapsed: bool = False) -> Panel:
    """A map panel: its layers (sliced to ``idx`` per set), outlines and a title saying what is simulated."""
    sims = [any(c.sim) if idx is None else any(c.sim[i] for i in idx[c.echelle]) for c in couches]
    shown = {c.echelle for c in couches} | {o["geo"] for o in lines}
    geoms = [g for g in ("iris", "qpv2024", "qpv2015", "communes", "zones") if g in shown and t.geo_simulee.get(g)]
    prov = provenance_summary(sum(sims), len(couches), geoms)
    layers = [c.page_json(None if idx is None else idx[c.echelle]) for c in couches]
    return Panel(title_html(titre, sous_titre, prov, "../index.html"), layers, lines, fit, focus, collapsed,
                 {"sim": sum(sims), "n": len(couches)})


# --------------------------------------------------------------------------------------------
# pages: planned in the parent process, rendered and written anywhere


@dataclass
class Job:
    """A page to write: its kind (``theme``, ``annees``, ``echelles``, ``quartier``) and arguments."""

    kind: str
    path: Path
    args: tuple


def plan_pages(t: Territoire, out_dir: Path) -> tuple[list[Job], dict]:
    """Every page of the run (themes, comparisons, quartiers) and the index entries."""
    jobs: list[Job] = []
    entries = {"themes": [], "quartiers": [], "comparaison": []}
    themes = indicators_by_theme(t)
    for theme, ids in themes.items():
        path = out_dir / "themes" / f"{theme}.html"
        jobs.append(Job("theme", path, (theme, ids)))
        entries["themes"].append((theme, THEMES.get(theme, theme), path, [t.catalogue[i] for i in ids]))
    for theme, ids in themes.items():
        for ind_id in ids:
            ind = t.catalogue[ind_id]
            for echelle in ("iris", "qpv2024"):
                years = t.producteurs.years(ind_id, echelle)
                if len(years) >= 2 and len(t.geo(echelle)):
                    y0, y1 = years[0], years[-1]
                    path = out_dir / "comparaison" / f"{ind_id}_{y0}_{y1}.html"
                    jobs.append(Job("annees", path, (ind_id, echelle, y0, y1)))
                    entries["comparaison"].append((theme, f"{ind.libelle} : {y0} et {y1} ({ECHELLES[echelle]})", path))
                    break
            yi, yq = t.producteurs.years(ind_id, "iris"), t.producteurs.years(ind_id, "qpv2024")
            if yi and yq and len(t.geo("iris")) and len(t.geo("qpv2024")):
                common = set(yi) & set(yq)
                y = max(common) if common else yq[-1]
                path = out_dir / "comparaison" / f"{ind_id}_quartiers_iris.html"
                jobs.append(Job("echelles", path, (ind_id, y)))
                entries["comparaison"].append((theme, f"{ind.libelle} : quartiers et IRIS", path))
    qpv = t.inputs["qpv_2024"]
    for code, lib in zip(qpv["code_qp"].astype(str), qpv["lib_qp"].astype(str)):
        path = out_dir / "quartiers" / f"{code}.html"
        jobs.append(Job("quartier", path, (code, [i for ids in themes.values() for i in ids])))
        entries["quartiers"].append((code, lib, path))
    return jobs, entries


def _fit(t: Territoire) -> list[list[float]]:
    if "fit" not in t.extra:
        t.extra["fit"] = bounds_latlon(t.inputs["communes"])
    return t.extra["fit"]


def render_job(t: Territoire, job: Job) -> str:
    """The HTML of one page."""
    sous = f"{t.nom} · IRIS et quartiers prioritaires"
    sets_t = {name: t.geo(name) for name in SETS}
    if job.kind == "theme":
        theme, ids = job.args
        libelle = THEMES.get(theme, theme)
        p = panel(t, libelle, sous, theme_couches(t, ids), outlines(t, sets_t), _fit(t))
        return render_page(f"{libelle} · {t.nom}", [p], t.data_territoire, t.fond)
    if job.kind == "annees":
        ind_id, echelle, y0, y1 = job.args
        label = _label(t, ind_id)
        panels = [panel(t, f"{label} : {y}", f"{t.nom} · {ECHELLES[echelle]}", [couche(t, ind_id, echelle, y)],
                        outlines(t, sets_t), _fit(t), collapsed=True) for y in (y0, y1)]
        return render_page(f"{label} : {y0} et {y1} · {t.nom}", panels, t.data_territoire, t.fond)
    if job.kind == "echelles":
        ind_id, y = job.args
        label = _label(t, ind_id)
        panels = []
        for echelle in ("qpv2024", "iris"):
            years = t.producteurs.years(ind_id, echelle)
            yy = y if y in years else years[-1]
            # on the quartier side the choropleth itself draws the quartiers: their outlines start hidden
            lines = outlines(t, sets_t, hide_quartiers=echelle == "qpv2024")
            panels.append(panel(t, f"{label} : {ECHELLES[echelle]}", f"{t.nom} · {yy}",
                                [couche(t, ind_id, echelle, yy)], lines, _fit(t), collapsed=True))
        return render_page(f"{label} : quartiers et IRIS · {t.nom}", panels, t.data_territoire, t.fond)
    if job.kind == "quartier":
        return _quartier_page(t, *job.args)
    raise ValueError(job.kind)


def _label(t: Territoire, ind_id: str) -> str:
    ind = t.catalogue[ind_id]
    return ind.libelle_court or ind.libelle


def _quartier_page(t: Territoire, code: str, ind_ids: list[str]) -> str:
    qpv = t.inputs["qpv_2024"]
    focus = qpv[qpv["code_qp"].astype(str) == code]
    minx, miny, maxx, maxy = focus.total_bounds
    pad = max(400.0, 0.25 * max(maxx - minx, maxy - miny))
    clip = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    full = {name: t.geo(name, TOLERANCE_QUARTIER_M) for name in SETS}
    idx = {name: s.near(clip) for name, s in full.items()}
    sets = {name: s.subset(idx[name]) for name, s in full.items()}
    couches = theme_couches(t, ind_ids, ("iris", "qpv2024"), partner_codes={code})
    lib = str(focus["lib_qp"].iloc[0])
    p = panel(t, f"{lib} ({code})", f"{t.nom} · quartier prioritaire 2024, IRIS voisins, périmètre 2015",
              couches, outlines(t, sets, focus=code), bounds_latlon(focus, pad=0.3), idx=idx,
              focus={"code": code, "geo": "qpv2024"}, collapsed=len(couches) > 12)
    data = data_text({name: full[name].collection_text(idx[name]) for name in SETS})
    return render_page(f"{lib} ({code}) · {t.nom}", [p], data, t.fond)


# parallel writing: the state is inherited by forked workers, never pickled
_STATE: dict = {}


def _write_one(i: int) -> str:
    t, jobs = _STATE["t"], _STATE["jobs"]
    job = jobs[i]
    write_text_atomic(job.path, render_job(t, job))
    return str(job.path)


def write_pages(t: Territoire, jobs: list[Job], workers: int | None = None) -> list[Path]:
    """Render and write every page, on ``workers`` processes (default: the machine's cores, at most 2
    unless more are asked) when there are at least :data:`MIN_PAGES_PARALLELE` pages."""
    import multiprocessing as mp

    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    parallel = workers > 1 and len(jobs) >= MIN_PAGES_PARALLELE and "fork" in mp.get_all_start_methods()
    if not parallel:
        for job in suivre(jobs, "cartes"):
            write_text_atomic(job.path, render_job(t, job))
        return [j.path for j in jobs]
    _STATE.update(t=t, jobs=jobs)
    try:
        # fork: the workers inherit the simplified geometries, classes and layers already computed
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
            futures = [pool.submit(_write_one, i) for i in range(len(jobs))]
            for f in suivre(as_completed(futures), "cartes", total=len(futures)):
                f.result()
    finally:
        _STATE.clear()
    return [j.path for j in jobs]


def precompute_layers(t: Territoire, jobs: list[Job]) -> None:
    """Compute every layer (and its full-set JSON text) the pages use, once, before the pages are
    spread over processes (a forked worker then finds them ready instead of computing them twice)."""
    for job in jobs:
        if job.kind == "theme":
            for c in theme_couches(t, job.args[1]):
                c.page_json()
        elif job.kind == "annees":
            ind_id, echelle, y0, y1 = job.args
            for y in (y0, y1):
                couche(t, ind_id, echelle, y).page_json()
        elif job.kind == "echelles":
            ind_id, _ = job.args
            for e in ("qpv2024", "iris"):
                for y in t.producteurs.years(ind_id, e):
                    couche(t, ind_id, e, y).page_json()


# --------------------------------------------------------------------------------------------
# the stage


def build_maps(config, catalogue: dict[str, Indicateur] | None = None, workers: int | None = None) -> list[Path]:
    """Write every map of the territory; return the written paths (index first).

    Parameters
    ----------
    config : :class:`observatoire.config.Config` (``paths.gpkg``, ``paths.maps``, ``[cartes]``,
        ``[[partenaires]]`` for the partners' names).
    catalogue : indicator catalogue (default :func:`observatoire.catalogue.load_catalogue`).
    workers : processes writing the pages (default: up to 2; 1 writes in this process).
    """
    t = prepare(config, catalogue, workers)
    out_dir = Path(config.paths.maps)
    jobs, entries = plan_pages(t, out_dir)
    precompute_layers(t, jobs)
    written = write_pages(t, jobs, workers)
    index = write_text_atomic(out_dir / "index.html", index_html(t, entries, out_dir))
    # Maps of an earlier run (another territory, a removed indicator) would be sent out by mistake.
    keep = {p.resolve() for p in written}
    for sub in ("themes", "quartiers", "comparaison"):
        for old in (out_dir / sub).glob("*.html"):
            if old.resolve() not in keep:
                old.unlink()
    return [index] + written


def provenance_totale(t: Territoire) -> list[str]:
    """What is simulated over the whole run (index page): layers computed, outline sets."""
    n = len(t.couches)
    n_sim = sum(1 for c in t.couches.values() if any(c.sim))
    geoms = [g for g in ("iris", "qpv2024", "qpv2015", "communes") if t.geo_simulee.get(g) and len(t.geo(g))]
    return provenance_summary(n_sim, n, geoms)


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
    prov = "".join(f'<p class="obs-provenance">{e(x)}</p>' for x in provenance_totale(t))
    partners = sorted({c.source for c in t.couches.values() if c.partenaire})
    ptxt = (f"<p>Chiffres des partenaires cartographiés (couches « chiffre partenaire ») : "
            f"{e(' ; '.join(partners))}.</p>" if partners else "")
    css = ("body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:60em;color:#222;"
           "padding:0 1em}h1{font-size:1.6em}h2{font-size:1.2em;margin-bottom:.2em}h3{font-size:1em}"
           "section{border-top:1px solid #ccc;padding:.4em 0}a{color:#08519c}"
           ".obs-provenance{display:inline-block;background:#b2182b;color:#fff;font-weight:bold;"
           "padding:.2em .6em;border-radius:3px;margin:.2em .4em .2em 0}li span{color:#555}")
    return (f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Cartes · {e(t.nom)}</title><style>{css}</style></head><body>{prov}"
            f"<h1>Cartes de l'observatoire · {e(t.nom)}</h1>"
            f"<p>Chaque carte s'ouvre sans connexion. Les classes d'un indicateur sont calculées pour chaque "
            f"échelle (IRIS, quartiers 2024, quartiers 2015) et identiques d'une année à l'autre.</p>{ptxt}"
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
