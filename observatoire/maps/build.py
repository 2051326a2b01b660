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

How it stays fast: everything shared between maps is computed once per run (:mod:`.territoire`) —
geometry sets simplified and serialised (:mod:`.geometry`), classes per indicator and scale
(:mod:`.classify`), layers per indicator, scale and year (:mod:`.layers`), the territory's data
text; then each page only assembles text (:mod:`.page`) and the pages are written by two processes
when there are enough of them (:func:`write_pages`).

Classes are computed **per scale** (IRIS, quartiers 2024, quartiers 2015 separately) and fixed
across years within a scale (a scale of few quartiers pools its years); partner figures take the
classes of their scale when the producers' figures are real, else their own. Every layer knows
whether a figure it shows is simulated; every outline set whether its source file is simulated.
"""

from __future__ import annotations

import html
import os
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

import shapely

from ..processus import fork_pool
from ..paths import safe_child
from ..catalogue import THEMES, Indicateur
from ..progress import suivre
from ..store import quartiers_publies, simulated_inputs, write_text_atomic
from . import style
from .geometry import GeoSet, bounds_latlon, feature_collection, simplify_display
from .inputs import load_inputs
from .layers import ECHELLES, Couche, indicator_layer, provenance_summary
from .page import Panel, render_page, title_html
from .territoire import (SETS, TOLERANCE_QUARTIER_M, TOLERANCE_TERRITOIRE_M, Territoire, couche, data_text,
                         indicators_by_theme, prepare, theme_couches)

__all__ = ["build_maps", "map_sizes", "load_inputs", "simulated_inputs", "feature_collection", "simplify_display",
           "indicator_layer", "prepare", "plan_pages", "render_job", "write_pages", "BUDGET_TERRITOIRE",
           "BUDGET_QUARTIER", "TOLERANCE_TERRITOIRE_M", "TOLERANCE_QUARTIER_M"]

BUDGET_TERRITOIRE = 3_000_000      # bytes, territory maps (themes, comparisons)
BUDGET_QUARTIER = 1_000_000        # bytes, quartier maps
#: Pages are written by a pool of processes from this many pages on (below, starting it costs more).
MIN_PAGES_PARALLELE = 24


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
                    path = safe_child(out_dir / "comparaison", f"{ind_id}_{y0}_{y1}.html")
                    jobs.append(Job("annees", path, (ind_id, echelle, y0, y1)))
                    entries["comparaison"].append((theme, f"{ind.libelle} : {y0} et {y1} ({ECHELLES[echelle]})", path))
                    break
            yi, yq = t.producteurs.years(ind_id, "iris"), t.producteurs.years(ind_id, "qpv2024")
            if yi and yq and len(t.geo("iris")) and len(t.geo("qpv2024")):
                common = set(yi) & set(yq)
                y = max(common) if common else yq[-1]
                path = safe_child(out_dir / "comparaison", f"{ind_id}_quartiers_iris.html")
                jobs.append(Job("echelles", path, (ind_id, y)))
                entries["comparaison"].append((theme, f"{ind.libelle} : quartiers et IRIS", path))
    qpv = quartiers_publies(t.inputs["qpv_2024"])   # a neighbour's quartier has no page of its own
    for code, lib in zip(qpv["code_qp"].astype(str), qpv["lib_qp"].astype(str)):
        path = safe_child(out_dir / "quartiers", f"{code}.html", origine="couche des quartiers du GeoPackage")
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
        with fork_pool(workers) as pool:
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
    written += verification_page(config, catalogue)
    index = write_text_atomic(out_dir / "index.html", index_html(t, entries, out_dir))
    # Maps of an earlier run (another territory, a removed indicator) would be sent out by mistake.
    keep = {p.resolve() for p in written}
    for sub in ("themes", "quartiers", "comparaison"):
        for old in (out_dir / sub).glob("*.html"):
            if old.resolve() not in keep:
                old.unlink()
    return [index] + written


def verification_page(config, catalogue=None) -> list[Path]:
    """``verification.html`` (the back-test of the quartier estimates) when the GeoPackage holds it."""
    import pyogrio

    from ..verification import verifier

    if "verification_resume" not in set(pyogrio.list_layers(config.paths.gpkg)[:, 0]):
        (Path(config.paths.maps) / "verification.html").unlink(missing_ok=True)   # an earlier run's
        return []
    return [verifier(config, catalogue)]


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
            + ('<section><h2><a href="verification.html">Vérification des estimations (quartiers 2015)</a></h2>'
               "<p>Écart entre les estimations faites à partir des IRIS et les chiffres publiés par l'Insee "
               "pour les quartiers 2015 : l'erreur à attendre d'une estimation d'un quartier 2024.</p></section>"
               if (out_dir / "verification.html").exists() else "")
            + "</body></html>")


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
