"""Choropleth layers: per-feature classes, tooltips, legend and provenance of one indicator at one scale.

A :class:`Couche` is computed **once per run** on a whole geometry set (every IRIS, every quartier)
and sliced for the pages that show a part of it (a quartier's surroundings). It knows, per feature,
whether the figure is simulated (the tidy table's ``simule``), so that a layer is marked « (simulé) »
exactly when one of the figures it shows is; a map built from real figures carries no such mark.

Scales mapped: :data:`ECHELLES` (IRIS, quartiers 2024, quartiers 2015). Partner figures
(``methode = partenaire``) are layers of their own, labelled « chiffre partenaire » with the
partner's name as source, coloured with the classes of their scale when the producers give that
scale, so that one colour means one range of values on every layer of a scale.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field

import pandas as pd

from .. import fr
from ..catalogue import Indicateur
from ..tidy import METHODES_ESTIMATION as _ESTIMATIONS
from ..tidy import METHODES_LIBELLES, note_libelle
from . import style
from .assets import json_for_script
from .classify import Classes

METHODES_ESTIMATION = {m: METHODES_LIBELLES[m] for m in _ESTIMATIONS}

#: Scales a choropleth can show, with their French name.
ECHELLES = {"iris": "IRIS", "qpv2024": "quartiers prioritaires 2024", "qpv2015": "quartiers prioritaires 2015"}

#: What a simulated geometry set is called next to a legend.
GEOMETRIE_SIMULEE = {"iris": "contours IRIS simulés", "qpv2024": "périmètres 2024 simulés",
                     "qpv2015": "périmètres 2015 simulés", "communes": "contours des communes simulés",
                     "zones": "contours des zones simulés"}

UNITES = {"%": "en %", "€": "en euros", "€/mois": "en euros par mois", "nombre": "effectif", "indice": "indice"}
SENS = {1: "plus foncé = plus fragile (valeur élevée)", -1: "plus foncé = plus fragile (valeur faible)",
        0: "indicateur descriptif"}

COLONNES = ("code_territoire", "libelle_territoire", "millesime", "valeur", "statut", "methode", "qualite",
         "couverture", "simule", "note_producteur", "motif")


def records(rows: pd.DataFrame) -> dict[str, dict]:
    """``{code: row}`` (first row per code), with the columns a layer uses (missing ones empty)."""
    cols = [c for c in COLONNES if c in rows.columns]
    out: dict[str, dict] = {}
    for r in rows[cols].to_dict("records"):
        out.setdefault(str(r["code_territoire"]), complete(r))
    return out


def complete(r: dict) -> dict:
    """A tidy row as a dict with every column a layer reads (missing ones empty)."""
    for c in COLONNES:
        if c not in r:
            r[c] = False if c == "simule" else math.nan if c in ("valeur", "couverture") else ""
    return r


def feature_note(r: dict | None, partenaire: str | None = None, nom: str | None = None) -> str:
    """The tooltip lines (joined by ``\\n``) saying what a figure is: status, estimate, notes, provenance.

    >>> feature_note({"statut": "nd", "motif": "taux publié sans dénominateur : pas de somme",
    ...               "methode": "producteur", "simule": False})
    'non disponible : taux publié sans dénominateur : pas de somme'
    """
    if r is None:
        return "aucune donnée pour ce territoire"
    lines = []
    statut, methode = r.get("statut", ""), r.get("methode", "")
    motif = str(r.get("motif") or "")
    if statut == "secret":
        lines.append("secret statistique : valeur non diffusée")
    elif statut == "nd":
        lines.append(f"non disponible : {motif}" if motif else "donnée non publiée par le producteur")
    if methode in METHODES_ESTIMATION:
        txt = f"estimé ({METHODES_ESTIMATION[methode]})"
        if r.get("qualite"):
            txt += f", qualité {r['qualite']}"
        cov = r.get("couverture")
        if cov is not None and cov == cov and float(cov) < 0.995:
            txt += f", couverture {fr.format_pourcentage(100 * float(cov), 0)}"
        lines.append(txt)
    if partenaire:
        txt = f"chiffre partenaire ({r.get('millesime')})"
        lib = str(r.get("libelle_territoire") or "")
        if lib and nom and lib != nom:
            txt += f", publié pour « {lib} »"
        lines.append(txt)
    note = note_libelle(r.get("note_producteur"))
    if note:
        lines.append(note)
    if motif and statut != "nd":
        lines.append(motif)
    if bool(r.get("simule")):
        lines.append("simulé")
    return "\n".join(lines)


@dataclass
class Couche:
    """One choropleth layer (an indicator, a scale, a year or a partner) on a whole geometry set.

    Attributes
    ----------
    k : style key per feature (class index, ``s`` secret, ``nd``; suffix ``e`` for an estimate).
    v : French formatted value or status per feature.
    ni : index in ``notes`` of each feature's tooltip lines.
    sim : per feature, the figure is simulated.
    y : per feature year (partner layers, whose quartiers have figures of different years), or None.
    """

    ind: Indicateur
    echelle: str
    annee: str
    classes: Classes
    k: list[str]
    v: list[str]
    ni: list[int]
    notes: list[str]
    sim: list[bool]
    y: list[str] | None = None
    partenaire: str | None = None       # partner id
    partenaire_libelle: str = ""
    geo_simulee: bool = False           # the scale's outlines are simulated
    classes_de: str = ""                # scale whose classes colour a partner layer
    classes_simulees: bool = False      # the class bounds were computed on simulated figures
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def geo(self) -> str:
        return self.echelle

    @property
    def label(self) -> str:
        return self.ind.libelle_court or self.ind.libelle

    @property
    def source(self) -> str:
        if self.partenaire:
            return self.partenaire_libelle or self.partenaire
        return self.ind.source_libelle or self.ind.source

    def name(self, simule: bool) -> str:
        """Entry of the layer list (escaped HTML: Leaflet inserts it as HTML)."""
        txt = f"{self.label} — {ECHELLES.get(self.echelle, self.echelle)}"
        if self.partenaire:
            txt += ", chiffre partenaire"
        if simule:
            txt += " (simulé)"
        return html.escape(txt)

    def page(self, idx: list[int] | None = None) -> dict:
        """The layer as a page needs it, for every feature or for the features ``idx``."""
        def sel(a):
            return a if idx is None or a is None else [a[i] for i in idx]

        k = sel(self.k)
        simule = any(sel(self.sim))
        colours = style.ramp(self.classes.k, self.ind.polarite)
        styles = {}
        for key in set(k):
            base, est = (key[:-1], True) if key.endswith("e") else (key, False)
            styles[key] = style.feature_style(base if base in (style.SECRET, style.ND) else int(base), colours, est)
        d = {"name": self.name(simule), "label": self.label, "year": self.annee, "source": self.source,
             "geo": self.echelle, "cls": f"obs-choro-{self.echelle}", "k": k, "v": sel(self.v), "ni": sel(self.ni),
             "notes": self.notes, "styles": styles, "sim": simule,
             "legend": self.legend(simule, any(x.endswith("e") for x in k))}
        if self.y is not None:
            d["y"] = sel(self.y)
        if self.partenaire:
            d["partner"] = True
        return d

    def page_json(self, idx: list[int] | None = None) -> str:
        """:meth:`page` as JSON text escaped for a script (cached for the whole set)."""
        if idx is None and "json" in self._cache:
            return self._cache["json"]
        txt = json_for_script(json.dumps(self.page(idx), ensure_ascii=False, separators=(",", ":")))
        if idx is None:
            self._cache["json"] = txt
        return txt

    def legend(self, simule: bool, estimates: bool) -> str:
        """The legend (escaped HTML): title, unit, scale, year, source, provenance, classes, statuses."""
        e = html.escape
        ind = self.ind
        colours = style.ramp(self.classes.k, ind.polarite)
        items = [f"<li>{style.swatch_html(style.feature_style(i, colours))}{e(lab)}</li>"
                 for i, lab in enumerate(self.classes.labels(ind.unite, ind.decimales))]
        specials = [f"<li>{style.swatch_html(style.feature_style(style.SECRET, colours))}secret statistique</li>",
                    f"<li>{style.swatch_html(style.feature_style(style.ND, colours))}non disponible</li>"]
        if estimates:
            specials.append(f"<li>{style.swatch_html(style.feature_style(0, ['#ffffff'], True))}"
                            "contour pointillé : valeur estimée</li>")
        echelle = ECHELLES.get(self.echelle, self.echelle)
        marks = []
        if self.partenaire:
            marks.append('<p class="obs-partner">chiffre partenaire</p>')
        if self.geo_simulee:
            marks.append(f'<p class="obs-sim">{e(GEOMETRIE_SIMULEE.get(self.echelle, "contours simulés"))}</p>')
        if self.classes_simulees and not simule:
            marks.append('<p class="obs-sim">classes calculées sur des chiffres simulés</p>')
        origine = self.classes.origine or "classes"
        if self.partenaire and self.classes_de:
            portee = f"celles des {ECHELLES.get(self.classes_de, self.classes_de)} (chiffres des producteurs)"
        elif self.partenaire:
            portee = "calculées sur les chiffres de ce partenaire"
        else:
            portee = f"propres à l'échelle {echelle}, identiques pour toutes les années"
        titre = e(ind.libelle) + (' <span class="obs-sim">(simulé)</span>' if simule else "")
        return (f"<h2>{titre}</h2>"
                f"<p class=\"obs-meta\">{e(UNITES.get(ind.unite, ind.unite))} · {e(echelle)} · {e(self.annee)}"
                f"<br>Source : {e(self.source)}</p>{''.join(marks)}"
                f"<ul>{''.join(items)}</ul><ul class=\"obs-special\">{''.join(specials)}</ul>"
                f"<p class=\"obs-meta\">Classes : {e(origine)} ; {e(portee)}. {e(SENS.get(ind.polarite, ''))}</p>")


def build_couche(by_code: dict[str, dict], codes: list[str], ind: Indicateur, classes: Classes, echelle: str,
                 annee, noms: list[str] | None = None, partenaire: str | None = None,
                 partenaire_libelle: str = "", geo_simulee: bool = False, classes_de: str = "",
                 classes_simulees: bool = False) -> Couche:
    """A :class:`Couche` from the tidy rows of one indicator and scale.

    Parameters
    ----------
    by_code : ``{code: tidy row as a dict}`` (:func:`records`): one year, or the latest figure per
        code of a partner.
    codes : feature codes of the geometry set, in order; ``noms`` their names (partner tooltips).
    classes : the scale's fixed classes (:func:`~observatoire.maps.classify.fixed_bins`).
    annee : year shown in the legend (« 2011 à 2019 » for a partner layer).
    """
    rows = [by_code.get(code) for code in codes]
    valeurs = [r["valeur"] if r is not None and r["statut"] not in ("secret", "nd") else math.nan for r in rows]
    classe = classes.assign(valeurs)                 # one vectorised pass for the whole set
    keys, vals, ni, sims, years = [], [], [], [], []
    notes: list[str] = []
    where: dict[str, int] = {}
    for i, r in enumerate(rows):
        if r is None:
            key, txt, sim, year = style.ND, "non disponible", False, ""
        else:
            statut = r["statut"]
            sim, year = bool(r["simule"]), str(r["millesime"])
            if statut == "secret":
                key, txt = style.SECRET, "secret"
            elif classe[i] < 0:                      # nd, or no value whatever the status
                key, txt = style.ND, "non disponible"
            else:
                key = str(int(classe[i]))
                txt = fr.format_valeur(r["valeur"], ind.unite, ind.decimales)
            if r["methode"] in METHODES_ESTIMATION:  # contract: an estimate iff its method is one
                key += "e"
        note = feature_note(r, partenaire, noms[i] if noms else None)
        if note not in where:
            where[note] = len(notes)
            notes.append(note)
        keys.append(key)
        vals.append(txt)
        ni.append(where[note])
        sims.append(sim)
        years.append(year)
    return Couche(ind, echelle, str(annee), classes, keys, vals, ni, notes, sims,
                  years if partenaire else None, partenaire, partenaire_libelle, geo_simulee, classes_de,
                  classes_simulees)


def indicator_layer(rows: pd.DataFrame, codes: list[str], ind: Indicateur, classes: Classes, echelle: str,
                    annee: int, cls: str | None = None) -> dict:
    """Per-feature data of one choropleth layer (one indicator, one scale, one year), as a page gets it.

    Returns
    -------
    dict with ``k`` (style key per feature: class index, ``s`` secret, ``nd``; suffix ``e`` for an
    estimate), ``v`` (French formatted value or status), ``ni``/``notes`` (tooltip lines per
    feature), ``styles`` (Leaflet options per key), ``sim`` (a figure shown is simulated),
    ``legend`` (escaped HTML) and labels.
    """
    d = build_couche(records(rows), codes, ind, classes, echelle, annee).page()
    if cls:
        d["cls"] = cls
    return d


def provenance_summary(n_sim: int, n: int, geometries: list[str]) -> list[str]:
    """Short French marks saying what is simulated on a map (empty when everything is real).

    >>> provenance_summary(12, 30, [])
    ['Données simulées : 12 couches sur 30']
    >>> provenance_summary(3, 3, ["iris"])
    ['Données simulées', 'contours IRIS simulés']
    >>> provenance_summary(0, 4, [])
    []
    """
    out = []
    if n_sim and n_sim >= n:
        out.append("Données simulées")
    elif n_sim:
        out.append(f"Données simulées : {n_sim} {'couche' if n_sim == 1 else 'couches'} sur {n}")
    out += [GEOMETRIE_SIMULEE.get(g, "contours simulés") for g in geometries]
    return out
