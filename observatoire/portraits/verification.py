"""The back-test paragraph of a 2024 sheet's method notes (layer ``verification_resume``).

When the GeoPackage holds the layer ``verification_resume`` (estimates of the 2015 quartiers set
against INSEE's own figures for them: columns ``indicateur, methode, millesime, n_quartiers,
ecart_median_abs, biais, part_dans_tolerance, tolerance, unite_ecart, simule, territoire``), every
2024 sheet that prints estimates quotes it in one short paragraph, for the methods the sheet uses:

    « Vérification de la méthode : sur les 14 quartiers 2015 de Valenciennes Métropole, les
    estimations par pondération par la population carroyée s'écartent en médiane des chiffres de
    l'Insee de 1,8 point pour le taux de pauvreté (2019 ; 79 % des quartiers à ±2 points). »

A summary computed on simulated data says so (« vérification faite sur des données simulées »).
No layer, no estimate on the sheet or no row for its methods: no paragraph.
"""

from __future__ import annotations

import math

import pandas as pd

from .. import fr
from ..catalogue import Indicateur
from ..tidy import METHODES_LIBELLES

#: At most this many indicators quoted per method.
MAX_INDICATEURS = 3


def _num(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _bool(x) -> bool:
    return str(x).strip().lower() in ("true", "1", "vrai", "oui")


def _ecart(v: float, unite: str) -> str:
    """« 1,8 point », « 2,4 points », « 4,2 % »."""
    if str(unite).strip() == "%":
        return fr.format_pourcentage(v, 1)
    mot = fr.accord(round(v, 1), "point")
    return f"{fr.format_nombre(v, 1)}{fr.NBSP}{mot}"


def _part(p: float) -> str:
    """Share within tolerance, given as 0–1 or 0–100 → « 79 % »."""
    return fr.format_pourcentage(100 * p if p <= 1 else p, 0)


def paragraphe(resume: pd.DataFrame | None, catalogue: dict[str, Indicateur], methodes: set[str],
               indicateurs_fiche: list[str] | None = None) -> str:
    """The paragraph for a sheet whose estimates use ``methodes`` (empty string when nothing applies).

    ``indicateurs_fiche``: indicators of the sheet in display priority (key figures first); rows of
    these are quoted first, at most :data:`MAX_INDICATEURS` per method, latest year of each.
    """
    if resume is None or resume.empty or not methodes:
        return ""
    t = resume[resume["methode"].astype(str).isin(methodes)].copy()
    if t.empty:
        return ""
    t["annee_v"] = pd.to_numeric(t["millesime"], errors="coerce")
    prio = {i: k for k, i in enumerate(indicateurs_fiche or [])}
    t["prio_v"] = t["indicateur"].map(lambda i: prio.get(i, len(prio)))
    t = t.sort_values(["methode", "prio_v", "indicateur", "annee_v"], ascending=[True, True, True, False])
    t = t.drop_duplicates(["methode", "indicateur"])
    phrases = []
    simule = False
    for methode, grp in t.groupby("methode", sort=True):
        grp = grp.head(MAX_INDICATEURS)
        parts = []
        for r in grp.itertuples(index=False):
            e = _num(r.ecart_median_abs)
            if e is None:
                continue
            ind = catalogue.get(str(r.indicateur))
            lib = _avec_article(ind.libelle if ind else str(r.indicateur).replace("_", " "))
            details = []
            if _num(r.annee_v) is not None:
                details.append(str(int(r.annee_v)))
            p = _num(r.part_dans_tolerance)
            if p is not None and str(r.tolerance or "").strip():
                details.append(f"{_part(p)} des quartiers à {str(r.tolerance).strip()}")
            parts.append(f"de {_ecart(e, r.unite_ecart)} pour {lib}" + (f" ({' ; '.join(details)})" if details else ""))
            simule = simule or _bool(r.simule)
        if not parts:
            continue
        n = _num(grp["n_quartiers"].max())
        terr = str(grp["territoire"].iloc[0]).strip()
        sur = f"sur les {int(n)} quartiers 2015" if n else "sur les quartiers 2015"
        sur += f" {_de(terr)}" if terr else ""
        meth = METHODES_LIBELLES.get(str(methode), str(methode))
        liste = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1]
        phrases.append(f"{sur}, les estimations par {meth} s'écartent en médiane des chiffres de l'Insee {liste}")
    if not phrases:
        return ""
    texte = "Vérification de la méthode : " + " ; ".join(phrases) + "."
    if simule:
        texte += " Vérification faite sur des données simulées (démonstration)."
    return texte


def _avec_article(libelle: str) -> str:
    """« le taux de pauvreté » (the label with its article when it can be guessed, else lower-cased)."""
    from .phrases import _article
    art = _article(libelle)
    if art:
        return art
    return libelle[0].lower() + libelle[1:] if libelle and not (len(libelle) > 1 and libelle[1].isupper()) else libelle


def _de(nom: str) -> str:
    from ..fr import elide
    return elide("de", nom)
