"""The indicator engine: producer tables (:class:`SourceTable`) + catalogue → the tidy table.

The tidy table (``docs/contracts.md``, vocabulary in :mod:`observatoire.tidy`) has one row per
territory × indicator × millésime. :func:`compute_indicators` builds it; :func:`add_evolutions` and
:func:`evolution` compute changes between millésimes.

Rules (each in one module):

- :mod:`.units`: what a producer row gives — a ratio of counts (``numerateur``/``denominateur``), a
  count, the producer's published rate (``taux_publie``, kept as published: method ``producteur``,
  never recomputed), or a producer value (median, quartile).
- :mod:`.aggregate`: sums of numerators and denominators of parts (never a mean of rates), complete
  parts only for references; published rates summed only with their published denominator; IRIS
  estimates and 2015 → 2024 transpositions with their coverage and quality class.
- :mod:`.engine`: which figure each level takes, in which order.
- :mod:`.secrecy`: primary and complementary secrecy.
- :mod:`.evolutions`: changes, INSEE's census rule (editions fewer than 5 years apart not compared).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..catalogue import Indicateur, load_catalogue
from ..tidy import (CODE_ENSEMBLE_FRANCE, CODE_FRANCE, LIBELLE_FRANCE, METHODES_ESTIMATION, STATUT_RANG,
                    TIDY_COLUMNS, TYPES_TERRITOIRE)
from .engine import compute_levels
from .evolutions import EVOLUTION_COLUMNS, add_evolutions, comparable, evolution, evolution_unit
from .inputs import IndicatorInputs, Quartiers
from .secrecy import propagate, round_to
from .units import QUALITE_NOMS, SUMMABLE, ratio_values

__all__ = ["IndicatorInputs", "Quartiers", "compute_indicators", "add_evolutions", "evolution", "comparable",
           "evolution_unit", "concat_tidy", "worst_statut", "EVOLUTION_COLUMNS", "TIDY_COLUMNS", "CODE_FRANCE",
           "METHODES_ESTIMATION", "TYPES_TERRITOIRE"]

_DTYPES = {"type_territoire": object, "code_territoire": object, "libelle_territoire": object,
           "indicateur": object, "millesime": "int64", "millesime_geographie": "int64",
           "valeur": "float64", "numerateur": "float64", "denominateur": "float64", "statut": object,
           "methode": object, "qualite": object, "couverture": "float64", "simule": bool,
           "note_producteur": object, "motif": object, "source": object}


def worst_statut(statuts) -> str:
    """The highest-priority statut of an iterable (``secret`` > ``nd`` > ``estime`` > ``ok``)."""
    best = "ok"
    for s in statuts:
        if STATUT_RANG.get(s, 4) < STATUT_RANG[best]:
            best = s
    return best


def _labels(inp: IndicatorInputs, tables) -> dict[str, dict[str, str]]:
    lab: dict[str, dict[str, str]] = {t: {} for t in TYPES_TERRITOIRE}
    for t in tables:  # producer labels first, overridden by the geographic frames
        if t.libelles is not None and t.niveau in lab:
            lab[t.niveau].update({str(k): str(v) for k, v in t.libelles.dropna().items()})

    def put(kind, frame, code, name):
        if frame is not None and code in frame.columns and name in frame.columns:
            lab[kind].update(dict(zip(frame[code].astype(str), frame[name].astype(str))))

    put("commune", inp.communes, "code_insee", "nom")
    put("iris", inp.iris, "code_iris", "nom_iris")
    put("zone", inp.zones, "code", "libelle")
    put("partie_qpv2024", inp.parties, "code_zone", "libelle")
    put("departement", inp.departements, "code", "nom")
    put("epci", inp.epcis, "siren", "nom")
    for geo, q in inp.quartiers.items():
        put(f"qpv{geo}", q.liste, "code", "libelle")
        for siren, nom in lab["epci"].items():
            lab[f"ensemble_qpv{geo}_epci"][siren] = f"Ensemble des QPV {geo} – {nom}"
        for code, nom in lab["departement"].items():
            lab[f"ensemble_qpv{geo}_departement"][code] = f"Ensemble des QPV {geo} – {nom}"
        lab[f"ensemble_qpv{geo}_france"][CODE_ENSEMBLE_FRANCE] = f"Ensemble des QPV {geo} de France (Insee)"
    for geo in (2015, 2024):
        lab[f"ensemble_qpv{geo}_france"].setdefault(CODE_ENSEMBLE_FRANCE, f"Ensemble des QPV {geo} de France (Insee)")
    lab["france"][CODE_FRANCE] = LIBELLE_FRANCE
    return lab


def _propagate_protection(levels, inp: IndicatorInputs):
    """Complementary secrecy on the producer's own totals (see :mod:`.secrecy`)."""
    by = dict(levels)
    out = []
    iris_m = (pd.DataFrame({"part": inp.iris["code_iris"].astype(str), "groupe": inp.iris["code_insee"].astype(str)})
              if inp.iris is not None and len(inp.iris) else pd.DataFrame(columns=["part", "groupe"]))
    for t, u in levels:
        if t == "commune" and "iris" in by:
            u = propagate(u, by["iris"], iris_m)
        if t in ("epci", "departement", "france") and "commune" in by and inp.composition is not None:
            key = {"epci": "siren_epci", "departement": "dep"}.get(t)
            comp = inp.composition
            grp = comp[key].astype(str) if key else pd.Series(CODE_FRANCE, index=comp.index)
            u = propagate(u, by["commune"], pd.DataFrame({"part": comp["code_insee"].astype(str), "groupe": grp}))
        out.append((t, u))
    return out


_STATUTS = np.array(["secret", "nd", "estime", "ok"], dtype=object)


def _tidy_rows(t: str, u: pd.DataFrame, catalogue: dict[str, Indicateur],
               labels: dict[str, str]) -> pd.DataFrame | None:
    keep = [i for i, x in catalogue.items() if x.a_l_echelle(t)]
    u = u[u["ind"].isin(keep)]
    if u.empty:
        return None
    ids = u["ind"]
    computed = (u["methode"] != "producteur").to_numpy() & u["nature"].isin(SUMMABLE).to_numpy()
    val = np.where(computed, ratio_values(u, catalogue), u["val"].to_numpy(float))
    rang = u["rang"].to_numpy().astype(int)
    motif = _objects(u["motif"], "").copy()
    is_ratio = ids.map({k: x.type != "effectif" for k, x in catalogue.items()}).to_numpy(bool)
    undefined = (rang == 2) & np.isnan(val) & is_ratio
    rang = np.where(undefined, 1, rang)
    motif[undefined & (motif == "")] = "dénominateur nul ou taux non publié"
    num, den = u["num"].to_numpy(float).copy(), u["den"].to_numpy(float).copy()
    withheld = rang < 2
    producer = (u["methode"] == "producteur").to_numpy()
    motif[withheld & producer & (rang == 0) & (motif == "")] = "secret statistique (producteur)"
    motif[withheld & producer & (rang == 1) & (motif == "")] = \
        "non publié par le producteur (case vide du fichier : secret ou non disponible)"
    val[withheld] = np.nan
    no_terms = (withheld | ~u["nature"].isin(SUMMABLE).to_numpy() | (u["nature"] == "pondere").to_numpy()
                | u["protege"].to_numpy(bool)
                | ids.map({k: x.type == "valeur_producteur" for k, x in catalogue.items()}).to_numpy(bool))
    num[no_terms], den[no_terms] = np.nan, np.nan
    dec = ids.map({k: x.decimales if x.decimales is not None else (1 if x.type != "effectif" else 0)
                   for k, x in catalogue.items()}).to_numpy(int)
    prot = u["protege"].to_numpy(bool) & ~withheld
    if prot.any():
        val[prot] = round_to(val[prot], dec[prot])
    estime = u["methode"].isin(METHODES_ESTIMATION).to_numpy() | (u["qualite"].to_numpy() > 0)
    statut = _STATUTS[np.where(rang == 0, 0, np.where(rang == 1, 1, np.where(estime, 2, 3)))]
    codes = u["code"].astype(str)
    index = pd.RangeIndex(len(u))
    texte = lambda a: pd.Series(a, index=index, dtype=object)  # noqa: E731  (no per-row str objects)
    return pd.DataFrame({
        "type_territoire": texte(np.full(len(u), t, dtype=object)), "code_territoire": texte(_objects(codes, None)),
        "libelle_territoire": texte(_objects(codes.map(labels), "")),
        "indicateur": texte(_objects(ids, None)),
        "millesime": u["mil"].to_numpy(np.int64), "millesime_geographie": u["geo"].to_numpy(np.int64), "valeur": val,
        "numerateur": num, "denominateur": den, "statut": texte(statut), "methode": texte(_objects(u["methode"], None)),
        "qualite": texte(_objects(u["qualite"].map(QUALITE_NOMS), None)),
        "couverture": u["couverture"].to_numpy(float), "simule": u["simule"].to_numpy(bool),
        "note_producteur": texte(_objects(u["note"], "")), "motif": texte(motif),
        "source": texte(_objects(u["source"], "")),
    }, index=index)


def compute_indicators(inputs: IndicatorInputs, catalogue: dict[str, Indicateur] | None = None) -> pd.DataFrame:
    """Compute every catalogue indicator at every level the inputs allow.

    Returns the tidy table (:data:`observatoire.tidy.TIDY_COLUMNS`), sorted by indicator (catalogue
    order), territory type, code and millésime. See :mod:`observatoire.indicators.engine` for which
    figure each level takes and :mod:`observatoire.indicators.secrecy` for secrecy.
    """
    catalogue = catalogue if catalogue is not None else load_catalogue()
    levels = _propagate_protection(compute_levels(inputs, catalogue), inputs)
    inputs.cache.pop("unites", None)      # the units are in ``levels`` now (1,2 GB for a simulated France)
    labels = _labels(inputs, inputs.tables)
    frames = []
    while levels:                         # each level's units freed as soon as its rows are built
        t, u = levels.pop(0)
        frames.append(_tidy_rows(t, u, catalogue, labels.get(t, {})))
        del u
    return concat_tidy(*[f for f in frames if f is not None])


def _normalise(tidy: pd.DataFrame) -> pd.DataFrame:
    """Column order, dtypes, withheld numbers blanked, qualite only for estimates (``tidy`` is the
    fresh frame of :func:`concat_tidy`: changed in place, no copy of a table of millions of rows)."""
    for c, default in (("couverture", np.nan), ("simule", False), ("note_producteur", ""), ("motif", "")):
        if c not in tidy.columns:
            tidy[c] = default
    tidy = tidy[TIDY_COLUMNS]
    for c, t in _DTYPES.items():
        if t is object:
            tidy[c] = _shared_objects(tidy[c], "" if c in ("note_producteur", "motif") else None)
        elif t is bool:
            tidy[c] = tidy[c].fillna(False).astype(bool)
        else:
            tidy[c] = tidy[c].astype(t)
    withheld = tidy["statut"].isin(["secret", "nd"])
    tidy.loc[withheld, ["valeur", "numerateur", "denominateur"]] = np.nan
    return tidy.reset_index(drop=True)


def _objects(s: pd.Series, missing) -> np.ndarray:
    """The values of ``s`` as an object array of shared Python objects (see :func:`_shared_objects`)."""
    return _shared_objects(s, missing).to_numpy()


def _shared_objects(s: pd.Series, missing) -> pd.Series:
    """``s`` as an object column whose equal values share one Python object, missing → ``missing``.

    ``astype(object)`` would create one string object per row: 2,8 GB for the ten text columns of a
    4,7-million-row table (simulated France), against 8 bytes a row here.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    objects = np.empty(len(uniques) + 1, dtype=object)
    objects[:-1] = list(uniques)
    objects[-1] = missing                         # code -1 (missing) takes the last one
    return pd.Series(objects[codes], index=s.index, dtype=object, name=s.name)


def concat_tidy(*frames: pd.DataFrame) -> pd.DataFrame:
    """Stack tidy tables (engine output, partner rows) with the contract's columns and dtypes."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES[c]) for c in TIDY_COLUMNS})
    return _normalise(pd.concat([f[[c for c in TIDY_COLUMNS if c in f.columns]] for f in frames],
                                ignore_index=True))
