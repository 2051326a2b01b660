"""What every map of a run shares, computed once: tidy rows split, geometry sets serialised, classes
per indicator and scale, layers per indicator, scale and year.

The pages (:mod:`.build`) only assemble these. A :class:`Territoire` is built by :func:`prepare`;
layers are computed on demand and cached in it, and :func:`~observatoire.maps.build.precompute_layers`
fills the cache before the pages are spread over processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from ..processus import fork_pool
from ..catalogue import THEMES, Indicateur, load_catalogue
from . import style
from .classify import Classes, breaks_year, fixed_bins
from .geometry import GeoSet, coverage_ready, geo_set, valid_array
from .inputs import load_inputs, partner_labels
from .layers import COLONNES as _LAYER_COLS
from .layers import Couche, build_couche, complete
from .settings import Reglages, read_settings

TOLERANCE_TERRITOIRE_M = 20.0
TOLERANCE_QUARTIER_M = 6.0
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
        columns = [tab[c].astype("float64").tolist() if c == "millesime" else tab[c].tolist() for c in cols]
        for values in zip(*columns):              # plain lists: 10 times faster than to_dict("records")
            r = dict(zip(cols, values))
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
        with fork_pool(min(workers, len(arrays))) as pool:
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
