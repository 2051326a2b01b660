"""Quartier portraits: a two-page fiche per quartier with its annex, indexes, and A4 PDFs.

``build_portraits(config)`` reads the processed data once (:mod:`.inputs`: ``indicateurs.csv``, the
GeoPackage, the catalogue, the notes ``<[portraits] notes>/<code>.md``), writes one self-contained
``<chemins.portraits>/<code>.html`` per quartier and the geography's index, then (``pdf=True``) prints
``<code>.pdf`` (the fiche) and ``<code>-annexe.pdf`` (the annex) through :mod:`.pdf`.

A sheet is what an analyst signs and hands over:

* **page 1** — identity (communes and the quartier's share in each, population, surface), a locator
  map (the quartier, the other geography's perimeters dashed, the other quartiers hatched), and the
  key figures (:data:`CHIFFRES_CLES`) with their change and the reference territories of the
  quartier's geography (:data:`observatoire.tidy.REFERENCES`: a 2024 sheet reads only 2024 quartier
  sets, a 2015 sheet only 2015 ones);
* **page 2** — the written diagnosis (:mod:`.facts`, :mod:`.phrases`) grouped by theme, the notes
  « Atouts / Points de vigilance / Enjeux retenus », the sources named by producer and edition, the
  method (with the back-test paragraph, :mod:`.verification`), the unavailable references and their
  reason, the producers' notes;
* **annex** (after a page break; its own PDF) — one table per theme with every indicator, its
  position strip, definitions and limits, the commune parts of a multi-commune quartier and the
  partners' figures.

Provenance follows :mod:`.cells`: one banner when every figure is simulated, none when all are real,
a mark on each simulated figure otherwise. A reference column with no figure on the sheet is left
out and its reason is given in the notes.

Optional keys of ``[portraits]``: ``notes`` (folder, default ``notes``), ``pdf`` (bool),
``annee_comparaison`` (earlier year for changes), ``catalogue`` (path of an alternative catalogue
YAML). Changes follow INSEE's census rule (``[indicateurs] annees_ecart_min``, default 5).
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

from ..processus import fork_mp_pool
from ..paths import safe_child
from .. import fr
from ..catalogue import THEMES, Indicateur
from ..errors import ObservatoireError
from ..progress import suivre
from ..store import write_text_atomic
from ..tidy import METHODES_ESTIMATION, REFERENCES, TYPES_LIBELLES
from . import svg
from .cells import MARQUE_SIMULE, Partie, change_text, mode_provenance, partner_value, value_cell
from .facts import comparison_year, n_comparables, regles_texte, select_facts
from .gabarits import css, environment
from .index import set_pdf_links, write_index
from .inputs import (GEOGRAPHIES, SECTIONS_NOTES, quartiers_list, Inputs, load_inputs, read_indicateurs, read_notes,  # noqa: F401
                     render_markdown)
from .phrases import elide, phrase
from .verification import paragraphe as verification_paragraphe


#: Key figures of page 1, in order (the contract's themes); a theme with none of them in the
#: catalogue contributes its first comparable indicator. At most :data:`MAX_CHIFFRES_CLES` rows.
CHIFFRES_CLES = ("taux_pauvrete", "revenu_median_mensuel", "revenu_mensuel_q1", "taux_emploi_15_64", "part_neet_16_25",
                 "part_deld", "part_15_plus_non_diplomes", "taux_scolarisation_15_24",
                 "part_familles_monoparentales", "part_allocataires_prestations_50pct", "part_c2s",
                 "part_moins_14_ans", "part_menages_locataires_hlm")
MAX_CHIFFRES_CLES = 14


# ------------------------------------------------------------------------------------- helpers
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


def _legende_carte(inp: Inputs, geographie: str) -> list[str]:
    """Legend entries of the locator map; a layer built from a simulated file says so."""
    sim = {k: " (simulé)" if inp.layer_simule(k) else "" for k in ("qpv_2024", "qpv_2015")}
    sims = {k: " (simulés)" if inp.layer_simule(k) else "" for k in ("qpv_2024", "qpv_2015")}
    if geographie == "2024":
        return [f"Quartier (périmètre 2024){sim['qpv_2024']}", f"Autres quartiers 2024{sims['qpv_2024']}",
                f"Périmètres 2015{sims['qpv_2015']}"]
    if geographie == "2015":
        return [f"Quartier (périmètre 2015){sim['qpv_2015']}", f"Autres quartiers 2015{sims['qpv_2015']}",
                f"Périmètres 2024{sims['qpv_2024']}"]
    return ["Zone observée", f"Quartiers prioritaires 2024{sims['qpv_2024']}", ""]


def read_annees_ecart_min(config) -> int:
    """``[indicateurs] annees_ecart_min`` (see :meth:`observatoire.config.Config.annees_ecart_min`)."""
    return config.annees_ecart_min


def key_indicators(catalogue: dict[str, Indicateur]) -> list[str]:
    """Indicators of the page-1 table: :data:`CHIFFRES_CLES` in the catalogue, then one per uncovered theme."""
    ids = [i for i in CHIFFRES_CLES if i in catalogue]
    covered = {catalogue[i].theme for i in ids}
    for ind in catalogue.values():
        if ind.theme not in covered and ind.type != "effectif" and ind.id != "part_femmes":
            ids.append(ind.id)
            covered.add(ind.theme)
    theme_rank = {t: k for k, t in enumerate(THEMES)}
    order = {i: k for k, i in enumerate(ids)}
    ids.sort(key=lambda i: (theme_rank.get(catalogue[i].theme, len(theme_rank)), order[i]))
    return ids[:MAX_CHIFFRES_CLES]


#: Producers and datasets named in a sheet's source line, by catalogue source family.
PRODUCTEURS = {"insee_rp": "Insee, recensement de la population", "insee_filosofi": "Insee, Filosofi",
               "caf": "Cnaf, données allocataires", "cnam": "Assurance maladie (CPAM)",
               "france_travail": "France Travail – Dares, demandeurs d'emploi"}


def sources_texte(pairs: list[tuple[Indicateur, set[int]]], detail: bool = False) -> str:
    """« Insee, recensement de la population 2017 et 2022 ; Insee, Filosofi 2021 » (producers and editions).

    ``detail``: name each indicator's own ``source_libelle`` (annex) instead of its producer.
    """
    by: dict[str, set[int]] = {}
    for ind, years in pairs:
        src = (ind.source_libelle or ind.source) if detail else PRODUCTEURS.get(ind.source, ind.source_libelle
                                                                                 or ind.source)
        by.setdefault(src, set()).update(y for y in years if y is not None)
    out = []
    for s, ys in by.items():
        if re.search(r"\d{4}", s) or not ys:
            out.append(s)
        else:
            yy = [str(y) for y in sorted(ys)]
            out.append(f"{s} {yy[0] if len(yy) == 1 else ', '.join(yy[:-1]) + ' et ' + yy[-1]}")
    return " ; ".join(out)


# ------------------------------------------------------------------------------- reference columns
def reference_columns(inp: Inputs, geographie: str, commune_principale: dict | None, dep: str,
                      nom_dep: str, epci: tuple[str, str] | None = None) -> list[dict[str, str]]:
    """The reference columns of a sheet: type, code, short heading, long name (``tidy.REFERENCES`` order).
    ``epci``: SIREN and name of the quartier's EPCI (default: the run's)."""
    geo = "2024" if geographie == "zones" else geographie
    shy = "\u00ad"                                   # soft hyphen: narrow print columns break cleanly
    code_epci, nom_epci = epci or (inp.code_epci, inp.nom_epci)
    com_nom = (commune_principale or {}).get("nom", "Commune")
    spec = {
        "commune": ((commune_principale or {}).get("code", ""), com_nom,
                    f"commune {elide('de', com_nom)}" if commune_principale else "commune"),
        "epci": (code_epci, "EPCI", nom_epci),
        f"ensemble_qpv{geo}_epci": (code_epci, f"QPV {geo} de l'EPCI",
                                    f"ensemble des quartiers prioritaires {geo} {elide('de', nom_epci)}"),
        f"ensemble_qpv{geo}_departement": (dep, f"QPV {geo} du dépar{shy}tement",
                                           f"ensemble des quartiers prioritaires {geo} du département {dep}"),
        "departement": (dep, f"Dépar{shy}tement", f"{nom_dep} ({dep})" if nom_dep else f"département {dep}"),
        f"ensemble_qpv{geo}_france": ("FRM", f"QPV {geo} de France", "ensemble des quartiers prioritaires "
                                      f"{geo} de France métropolitaine (« Ensemble des QPV » de l'Insee)"),
        "france": ("FRM", f"France métro{shy}politaine", "France métropolitaine"),
    }
    cols = []
    for t in REFERENCES[geographie]:
        code, court, long = spec[t]
        cols.append({"type": t, "code": code, "libelle": court, "titre": long,
                     "marque": svg.kind_of(t)})
    return cols


def _row_cells(inp: Inputs, ind: Indicateur, type_t: str, code: str, cols, ecart_min: int,
               annee_comp) -> dict[str, Any] | None:
    """Cells of one indicator row: quartier, year, change, references (uncounted)."""
    ys = _years(inp, type_t, code, ind.id)
    if not ys:
        return None
    t = ys[-1]
    row = _get(inp, type_t, code, ind.id, t)
    t0 = comparison_year(ys, t, ind, str(row.source) if row is not None else None,
                         annee_comparaison=int(annee_comp) if annee_comp is not None else None,
                         annees_ecart_min=ecart_min)
    row0 = _get(inp, type_t, code, ind.id, t0)
    refs = [value_cell(_get(inp, c["type"], c["code"], ind.id, t), ind) for c in cols]
    return {"id": ind.id, "ind": ind, "libelle": ind.libelle_court or ind.libelle, "libelle_long": ind.libelle,
            "cellule": value_cell(row, ind), "annee": t, "annee0": t0, "evolution": change_text(row, row0, ind),
            "references": refs, "unite": ind.unite}


def _keep_columns(rows: list[dict], cols: list[dict]) -> list[int]:
    """Indices of the reference columns holding at least one figure on the sheet."""
    return [k for k in range(len(cols)) if any(r["references"][k].get("valeur") is not None for r in rows)]


def _absent_notes(rows: list[dict], cols: list[dict], keep: list[int]) -> list[str]:
    """Unavailable references and why, e.g. « QPV 2024 du département : non disponible — taux publié sans
    dénominateur : pas de somme (Taux de pauvreté) »; columns with the same gaps are named together."""
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    whole: list[str] = []
    for k, c in enumerate(cols):
        heading = c["libelle"].replace("\u00ad", "")
        motifs: dict[str, list[str]] = {}
        for r in rows:
            cell = r["references"][k]
            if cell.get("valeur") is not None or cell.get("statut") == "secret":
                continue
            motif = cell.get("motif") or ("aucun chiffre dans le tableau des indicateurs" if cell.get("vide")
                                          else "non publié")
            motifs.setdefault(motif, []).append(r["libelle"])
        if not motifs:
            continue
        if k not in keep:
            whole.append(f"{heading} ({c['titre']}) : non disponible — {' ; '.join(motifs)}")
            continue
        for motif, libs in motifs.items():
            groups.setdefault((motif, tuple(libs)), []).append(heading)
    quartier: dict[str, list[str]] = {}
    for r in rows:                                   # the quartier's own unavailable figures, with a reason
        cell = r["cellule"]
        if cell.get("statut") == "nd" and cell.get("motif"):
            quartier.setdefault(cell["motif"], []).append(r["libelle"])
    out = [f"Quartier : non disponible pour {', '.join(libs[:4])}{' …' if len(libs) > 4 else ''} — {motif}"
           for motif, libs in quartier.items()]
    for (motif, libs), headings in groups.items():
        names = ", ".join(libs[:4]) + (" …" if len(libs) > 4 else "")
        out.append(f"{', '.join(headings)} : non disponible pour {names} — {motif}")
    return out + whole


def _parts(inp: Inputs, code: str, type_t: str, communes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Values of each commune part of the quartier, at the quartier's latest year per indicator."""
    if type_t != "qpv2024":
        return None
    codes = inp.parties.get(code)
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
                       "cellules": [value_cell(c, ind) for c in cells]})
    return {"colonnes": cols, "lignes": lignes} if lignes else None


def _partners(inp: Inputs, code: str) -> list[dict[str, Any]]:
    t = inp.partenaires if inp.partenaires is not None else inp.table[inp.table["methode"] == "partenaire"]
    part = t[(t["code_territoire"] == code) | t["code_territoire"].str.startswith(code + "_")]
    out = []
    for r in part.sort_values(["source", "code_territoire", "indicateur", "millesime"]).itertuples(index=False):
        year = None if pd.isna(r.millesime) else int(r.millesime)
        meta = (inp.partner_meta.get((r.source, r.indicateur, r.code_territoire, year))
                or inp.partner_meta.get((r.source, r.indicateur)) or {})
        ind = inp.catalogue.get(r.indicateur)
        libelle = meta.get("libelle") or (ind.libelle if ind else r.indicateur.replace("_", " "))
        unite = meta.get("unite") or (ind.unite if ind else "")
        if str(r.statut) in ("secret", "nd"):
            txt = "secret" if str(r.statut) == "secret" else "n. d."
        elif ind is not None and not meta.get("unite"):
            txt = fr.format_valeur(r.valeur, ind.unite, ind.decimales)
        else:
            txt = partner_value(r.valeur, unite)
        out.append({"libelle": libelle, "texte": txt, "annee": "" if year is None else year,
                    "territoire": r.libelle_territoire, "source": inp.partner_names.get(r.source, r.source),
                    "citation": meta.get("citation", ""), "simule": bool(getattr(r, "simule", False)),
                    "attrs": {"territoire": r.code_territoire, "indicateur": r.indicateur,
                              "millesime": "" if year is None else year, "source": r.source}})
    return out


def _mark_sentence(s: str, mode: str) -> Markup:
    """Escape a sentence; on a mixed sheet turn each simulated mark into its superscript."""
    html = str(escape(s))
    if mode == "mixte":
        html = html.replace(MARQUE_SIMULE, f'<sup class="m-sim" title="chiffre simulé">{MARQUE_SIMULE}</sup>')
    return Markup(html)


def methode_texte(nom_epci: str, geographie: str, ecart_min: int) -> list[str]:
    """Compact method notes of page 2 (French)."""
    geo = "2015 " if geographie == "2015" else ""
    return [
        "Chiffres du quartier : ceux du producteur quand il publie le quartier, sinon estimés (e) à partir des "
        "IRIS ou transposés des quartiers 2015, avec une qualité bonne, moyenne ou faible selon la part de la "
        "population du quartier venant d'IRIS situés majoritairement dans le quartier et la part du quartier "
        "couverte par les données ; qualité faible en gris, jamais reprise dans le diagnostic ; une médiane "
        "ou un quartile estimé n'est qu'une approximation.",
        f"Territoires de référence : les ensembles de quartiers prioritaires {geo}(de l'EPCI, du département, "
        "de France) et les autres territoires additionnent numérateurs et dénominateurs, jamais des moyennes "
        "de taux ; médianes et quartiles viennent du producteur.",
        "Évolutions : en points pour un taux, en % pour un montant"
        + (f" ; deux recensements distants de moins de {ecart_min} ans ne sont pas comparés (règle de l'Insee)."
           if ecart_min > 0 else "."),
        regles_texte(nom_epci),
    ]


# ------------------------------------------------------------------------------------------ sheet
def _quartier_feature(inp: Inputs, code: str, geographie: str) -> tuple[str, Any]:
    """Name and geometry of quartier ``code`` in the layer of ``geographie`` (error naming the fix)."""
    _, layer, name_col, _ = GEOGRAPHIES[geographie]
    gdf = inp.layers.get(layer)
    code_col = "code" if geographie == "zones" else "code_qp"
    sel = gdf[gdf[code_col].astype(str) == code] if gdf is not None else None
    if sel is None or sel.empty:
        raise ObservatoireError(f"Quartier {code} absent de la couche {layer}.", fichier=str(inp.config.paths.gpkg),
                                correction="vérifiez le code (liste : observatoire portraits sans option)")
    return str(sel[name_col].iloc[0]), sel.geometry.iloc[0]


def _departement_of(inp: Inputs, commune_principale: dict | None) -> str:
    """Département of the quartier's main commune, else the first département of the tidy table."""
    com = inp.layers.get("communes")
    if commune_principale is not None and com is not None and "dep" in com:
        m = com[com["code_insee"].astype(str) == commune_principale["code"]]
        if len(m) and str(m["dep"].iloc[0]):
            return str(m["dep"].iloc[0])
    codes = inp.table.loc[inp.table["type_territoire"] == "departement", "code_territoire"].unique()
    return str(codes[0]) if len(codes) else ""


def _theme_order(inp: Inputs) -> list[tuple[str, str]]:
    """Themes in display order: the declared ones, then any other theme of the catalogue."""
    autres = [i.theme for i in inp.catalogue.values() if i.theme not in THEMES]
    return list(THEMES.items()) + [(t, t.replace("_", " ").capitalize()) for t in dict.fromkeys(autres)]


def _rows_by_theme(inp: Inputs, theme_order, type_t: str, code: str, cols, ecart_min: int,
                   annee_comp) -> tuple[list[tuple[str, str, list[dict]]], dict[str, dict]]:
    """Every indicator row of the quartier, grouped by theme, and the same rows by indicator id."""
    rows_by_theme: list[tuple[str, str, list[dict]]] = []
    all_rows: dict[str, dict] = {}
    for theme_id, theme_lib in theme_order:
        lignes = []
        for ind in inp.catalogue.values():
            if ind.theme != theme_id:
                continue
            r = _row_cells(inp, ind, type_t, code, cols, ecart_min, annee_comp)
            if r is not None:
                lignes.append(r)
                all_rows[ind.id] = r
        if lignes:
            rows_by_theme.append((theme_id, theme_lib, lignes))
    return rows_by_theme, all_rows


def _project_row(r: dict, partie: Partie, keep: list, kept_cols: list[dict], position: bool) -> dict:
    """A display row for one part: counted copies of the cells of the kept columns (and, for the annex,
    the strip placing the quartier among its references)."""
    out = dict(r)
    out["cellule"] = partie.compter(dict(r["cellule"]))
    out["references"] = [partie.compter(dict(r["references"][k])) for k in keep]
    if position:
        ind = r["ind"]
        points = [(c["marque"], c["libelle"], cell["valeur"]) for c, cell in zip(kept_cols, out["references"])
                  if cell.get("valeur") is not None and ind.type != "effectif"]
        if out["cellule"].get("valeur") is not None and ind.type != "effectif":
            points.append(("quartier", "Quartier", out["cellule"]["valeur"]))
        out["position"] = svg.position_strip(points) if out["cellule"].get("valeur") is not None else Markup("")
    return out


def _population(inp: Inputs, type_t: str, code: str) -> dict | None:
    """The latest published population of the quartier (the latest year when none is published)."""
    if "population" not in inp.catalogue:
        return None
    ind = inp.catalogue["population"]
    population = None
    for y in reversed(_years(inp, type_t, code, "population")):
        cell = value_cell(_get(inp, type_t, code, "population", y), ind)
        population = {"cellule": cell, "annee": y, "source": ind.source_libelle or ind.source}
        if cell.get("valeur") is not None:
            break
    return population


def _annex_themes(rows_by_theme, annexe: Partie, keep: list, kept_cols: list[dict]) -> list[dict]:
    """The annex tables, one per theme, with the definitions and sources of their indicators."""
    themes = []
    for theme_id, theme_lib, lignes in rows_by_theme:
        shown = [_project_row(r, annexe, keep, kept_cols, True) for r in lignes]
        notes = [{"libelle": r["libelle_long"], "texte": " ".join(x for x in (r["ind"].definition, r["ind"].limites) if x)}
                 for r in lignes if r["ind"].definition or r["ind"].limites]
        src = sources_texte([(r["ind"], {r["annee"], r["annee0"]}) for r in lignes], detail=True)
        themes.append({"id": theme_id, "libelle": theme_lib, "lignes": shown, "notes": notes, "source": src})
    return themes


def _diagnostic(inp: Inputs, facts, theme_order, mode: str) -> list[dict[str, Any]]:
    """The diagnosis sentences grouped by consecutive theme (facts come ordered by the selection)."""
    marque = MARQUE_SIMULE if mode == "mixte" else ""
    theme_rank = {t: k for k, (t, _) in enumerate(theme_order)}
    libelles = dict(theme_order)
    diagnostic: list[dict[str, Any]] = []
    for f in facts:
        ind = inp.catalogue[f.indicateur]
        if not diagnostic or diagnostic[-1]["theme"] != ind.theme:
            diagnostic.append({"theme": ind.theme, "libelle": libelles.get(ind.theme, ind.theme),
                               "phrases": [], "rang": theme_rank.get(ind.theme, 99)})
        diagnostic[-1]["phrases"].append({"texte": _mark_sentence(phrase(f, ind, marque), mode),
                                          "indicateur": f.indicateur, "regle": f.regle})
    return diagnostic


def _sheet_sources(inp: Inputs, cles: list[dict], facts, population: dict | None) -> str:
    """The sources line of page 2: key figures, diagnosis facts and population, with their years."""
    fiche_inds = [(r["ind"], {r["annee"], r["annee0"]}) for r in cles]
    fiche_inds += [(inp.catalogue[f.indicateur], {f.millesime, f.millesime_precedent}) for f in facts]
    if population is not None:
        fiche_inds.insert(0, (inp.catalogue["population"], {population["annee"]}))
    return sources_texte(fiche_inds)


def _verification(inp: Inputs, type_t: str, code: str, geographie: str, all_rows: dict[str, dict]) -> str:
    """The back-test paragraph for the estimation methods used on a 2024 sheet ("" otherwise)."""
    if geographie != "2024":
        return ""
    methodes = {str(_get(inp, type_t, code, i, r["annee"]).methode) for i, r in all_rows.items()
                if r["cellule"].get("estime")}
    return verification_paragraphe(inp.verification, inp.catalogue,
                                   {m for m in methodes if m in METHODES_ESTIMATION}, key_indicators(inp.catalogue))


def _quartier_notes(inp: Inputs, code: str) -> dict:
    """The analyst's own notes for the quartier (``notes/<code>.md``), if any."""
    notes_dir = inp.config.section("portraits").get("notes", "notes")
    ndir = Path(notes_dir) if Path(notes_dir).is_absolute() else inp.config.paths.root / notes_dir
    return read_notes(safe_child(ndir, f"{code}.md", origine=str(inp.config.paths.gpkg)))


KINDS = {"2024": "Quartier prioritaire 2024", "2015": "Quartier prioritaire 2015", "zones": "Zone d'observation"}


def sheet_context(inp: Inputs, code: str, geographie: str = "2024", *,
                  annees_ecart_min: int | None = None) -> dict[str, Any]:
    """Everything the sheet template shows for quartier ``code`` (pure function of ``inp``).

    Page 1 shows the population and the key figures, page 2 the diagnosis, sources and method, the
    annex every indicator by theme; ``fiche`` and ``annexe`` count the estimated, weak, simulated and
    missing cells each part shows, for its notes."""
    ecart_min = read_annees_ecart_min(inp.config) if annees_ecart_min is None else int(annees_ecart_min)
    type_t = GEOGRAPHIES[geographie][0]
    nom, geom = _quartier_feature(inp, code, geographie)
    communes = _communes_of(inp, code, geographie, geom)
    in_terr = [c for c in communes if c["dans_territoire"]] or communes
    commune_principale = in_terr[0] if in_terr else None
    dep = _departement_of(inp, commune_principale)
    code_epci, nom_epci = inp.epci_de(code, geographie)
    cols = reference_columns(inp, geographie, commune_principale, dep, inp.noms_departements.get(dep, ""),
                             (code_epci, nom_epci))
    annee_comp = inp.config.section("portraits").get("annee_comparaison")
    theme_order = _theme_order(inp)
    rows_by_theme, all_rows = _rows_by_theme(inp, theme_order, type_t, code, cols, ecart_min, annee_comp)
    keep = _keep_columns(list(all_rows.values()), cols)
    kept_cols = [cols[k] for k in keep]
    fiche, annexe = Partie("fiche"), Partie("annexe")

    population = _population(inp, type_t, code)                     # page 1
    if population is not None:
        fiche.compter(population["cellule"])
    cles_raw = [all_rows[i] for i in key_indicators(inp.catalogue) if i in all_rows]
    cles = [_project_row(r, fiche, keep, kept_cols, False) for r in cles_raw]
    facts = select_facts(inp.faits, inp.catalogue, code, type_territoire=type_t, code_ensemble=code_epci,
                         nom_ensemble=nom_epci,                     # page 2
                         annee_comparaison=int(annee_comp) if annee_comp is not None else None,
                         annees_ecart_min=ecart_min)
    themes = _annex_themes(rows_by_theme, annexe, keep, kept_cols)  # annex
    parties = _parts(inp, code, type_t, communes)
    if parties:
        for ligne in parties["lignes"]:
            ligne["cellules"] = [annexe.compter(c) for c in ligne["cellules"]]
    mode = mode_provenance(fiche, annexe)
    return {
        "code": code, "nom": nom, "type": KINDS[geographie], "geographie": geographie, "communes": communes,
        "commune_principale": commune_principale, "population": population,
        "carte": _locator(inp, code, geographie, geom, nom), "legende_carte": _legende_carte(inp, geographie),
        "cles": cles, "themes": themes, "references": kept_cols, "toutes_references": cols,
        "parties": parties, "diagnostic": _diagnostic(inp, facts, theme_order, mode), "n_faits": len(facts),
        "faits": facts,
        "n_comparables": n_comparables(inp.faits, inp.catalogue, code, type_territoire=type_t,
                                       code_ensemble=code_epci),
        "partenaires": _partners(inp, code), "notes": _quartier_notes(inp, code), "sections_notes": SECTIONS_NOTES,
        "mode": mode, "marque_simule": MARQUE_SIMULE,
        "resume_fiche": fiche.resume("cette fiche"), "resume_annexe": annexe.resume("cette annexe"),
        "notes_fiche": fiche.liste_notes(), "notes_annexe": annexe.liste_notes(),
        "estimes_fiche": fiche.n_estimes > 0, "estimes_annexe": annexe.n_estimes > 0,
        "faibles_fiche": fiche.n_faibles > 0, "faibles_annexe": annexe.n_faibles > 0,
        "absents_fiche": _absent_notes(cles_raw, cols, keep),
        "absents_annexe": _absent_notes(list(all_rows.values()), cols, keep),
        "sources_fiche": _sheet_sources(inp, cles, facts, population),
        "methode": methode_texte(nom_epci, geographie, ecart_min),
        "verification": _verification(inp, type_t, code, geographie, all_rows), "nom_epci": nom_epci,
        "marques": [(k, lbl, svg.legend_mark(k)) for k, lbl in svg.legend_entries([c["marque"] for c in kept_cols])],
        "date": fr.format_date(_dt.date.today()),
        "surface_texte": fr.format_nombre(geom.area / 1e4, 1) + "\u00a0ha" if geom is not None else "",
        "types_libelles": TYPES_LIBELLES,
    }


# -------------------------------------------------------------------------------------- writing
def render_sheet(ctx: dict[str, Any]) -> str:
    """HTML of one sheet."""
    return environment().get_template("portrait.html.j2").render(css=css(), **ctx)


def _render_one(inp: Inputs, code: str, geographie: str, ecart_min: int, out_dir: Path) -> dict[str, Any]:
    ctx = sheet_context(inp, code, geographie, annees_ecart_min=ecart_min)
    path = safe_child(out_dir, f"{code}.html", origine=str(inp.config.paths.gpkg))
    write_text_atomic(path, render_sheet(ctx))
    pop = ctx["population"]["cellule"]["texte"] if ctx["population"] else ""
    return {"path": path, "code": code, "nom": ctx["nom"], "type": ctx["type"], "mode": ctx["mode"],
            "communes": ", ".join(c["nom"] for c in ctx["communes"]), "population": pop,
            "annee_population": ctx["population"]["annee"] if ctx["population"] else ""}


_WORKER: dict[str, Any] = {}
#: Sheets from which rendering is spread over 2 processes: a sheet takes about 80 ms, so below this the
#: cost of starting the workers is not recovered (15 sheets: 1,0 s in one process, 1,3 s in two).
PARALLELE_MIN = 30


def _worker(args) -> dict[str, Any]:
    code, geographie, ecart_min, out_dir = args
    return _render_one(_WORKER["inp"], code, geographie, ecart_min, out_dir)


def _render_all(inp: Inputs, codes: list[str], geographie: str, ecart_min: int, out_dir: Path):
    """Render the sheets, on 2 processes from :data:`PARALLELE_MIN` sheets (fork shares ``inp``)."""
    import multiprocessing as mp
    import os

    jobs = [(c, geographie, ecart_min, out_dir) for c in codes]
    n = min(2, os.cpu_count() or 1)
    if len(codes) < PARALLELE_MIN or n < 2 or "fork" not in mp.get_all_start_methods():
        for job in suivre(jobs, "fiches HTML"):
            yield _render_one(inp, *job)
        return
    _WORKER["inp"] = inp
    environment().get_template("portrait.html.j2")          # compiled once, inherited by the workers
    css()
    try:
        with fork_mp_pool(n) as pool:
            yield from suivre(pool.imap(_worker, jobs), "fiches HTML", total=len(jobs))
    finally:
        _WORKER.clear()


def build_portraits(config, pdf: bool = True, quartiers=None, geographie: str = "2024",
                    catalogue: dict[str, Indicateur] | None = None, *,
                    annees_ecart_min: int | None = None) -> list[Path]:
    """Write ``portraits/<code>.html`` for every quartier, the geography's index, then the PDFs.

    Parameters
    ----------
    config : :class:`observatoire.config.Config`.
    pdf : also print each sheet to A4 PDFs (fiche ``<code>.pdf`` and annex ``<code>-annexe.pdf``)
        with headless Chromium (``[portraits] pdf = false`` disables it too), through
        :func:`observatoire.portraits.pdf.build_pdfs`. Without Chromium the HTML files are written
        and :class:`observatoire.portraits.pdf.ChromiumAbsentError` is raised.
    quartiers : codes to build (default: all quartiers of ``geographie``; a partial run leaves the
        index alone). The PDFs of an earlier run of these sheets are removed before printing (or left
        for :func:`observatoire.portraits.pdf.build_pdfs` with ``pdf=False``), never left stale.
    geographie : ``"2024"`` (default), ``"2015"`` or ``"zones"`` (custom zones of ``[[zones]]``).
    catalogue : alternative catalogue (default: ``[portraits] catalogue`` or the project's).
    annees_ecart_min : minimum gap in years between two compared census editions (default:
        ``[indicateurs] annees_ecart_min``, else 5; 0 disables INSEE's rule).

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
    entries = list(_render_all(inp, codes, geographie, ecart_min, out_dir))
    written = [e["path"] for e in entries]
    for code in codes:          # PDFs of an earlier run no longer match the new sheets: the PDF stage reprints them
        for stale in (out_dir / f"{code}.pdf", out_dir / f"{code}-annexe.pdf"):
            stale.unlink(missing_ok=True)
    if quartiers:               # the index of the full run stays, without links to the removed PDFs
        set_pdf_links(out_dir, geographie, codes, present=False)
    if not quartiers:  # a partial rebuild (--quartier) keeps the index of the full run
        written.append(write_index(inp, geographie, entries, out_dir, pdf=pdf))
    if pdf and codes:
        from .pdf import build_pdfs
        written.extend(build_pdfs(config, geographie=geographie, quartiers=codes))
    return written
