"""The French page ``maps/verification.html``: what the back-test measures, how to read it, what it
means for a 2024 figure, the measured error per family and per indicator, the detail per quartier."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ..catalogue import Indicateur
from ..indicators.qualite import METHODES, N_MIN_QUARTIERS
from ..tidy import METHODES_LIBELLES

#: French wording of the methods (the vocabulary of :mod:`observatoire.tidy`).
METHODE_LIBELLES = {m: METHODES_LIBELLES[m] for m in METHODES}

_KIND_LIBELLES = {"taux": "taux (rapports d'effectifs estimés)", "effectif": "effectifs", "indice": "indices"}

_SOURCE_LIBELLES = {"insee_rp": "recensement (Insee)", "caf": "Cnaf", "cnam": "Assurance maladie",
                    "france_travail": "France Travail", "insee_filosofi": "Filosofi (Insee)"}


def family_label(fam: str) -> str:
    """French label of a family key (``taux_caf`` → « taux (rapports d'effectifs estimés) · Cnaf »)."""
    kind, _, source = fam.partition("_")
    return f"{_KIND_LIBELLES.get(kind, kind)} · {_SOURCE_LIBELLES.get(source, source)}"

def method_note(summary: pd.DataFrame, methode: str = "dasymetrique", territoire: str | None = None) -> str:
    """The paragraph of a 2024 portrait's method notes: « Sur les 14 quartiers 2015 de …, ces
    estimations s'écartent en médiane de 1,2 point des chiffres de l'Insee pour les taux (…) ».

    Rates and counts are stated separately (median of the per-indicator-and-year medians of
    ``methode``); « (données simulées) » ends the sentence when a compared figure is simulated. Empty
    string without back-test.
    """
    from ..fr import accord, compte, format_nombre

    s = summary[(summary["methode"] == methode) & (summary["n_quartiers"] > 0)]
    if territoire is not None:
        s = s[s["territoire"] == territoire]
    if s.empty:
        return ""
    terr = str(s["territoire"].iloc[0]) or "ce territoire"
    n = int(s["n_quartiers"].max())
    parts = []
    for u, mot in (("points", "pour les taux"), ("%", "pour les effectifs et indices")):
        su = s[s["unite_ecart"] == u]
        if su.empty:
            continue
        e = float(su["ecart_median_abs"].median())
        txt = format_nombre(e, 1)
        unit = accord(round(e, 1), "point") if u == "points" else "%"
        sep = "\u00a0"
        parts.append(f"{txt}{sep}{unit} {mot} ({compte(su['indicateur'].nunique(), 'indicateur')})")
    sim = " (données simulées)" if bool(s["simule"].any()) else ""
    return (f"Sur les {n} quartiers 2015 de {terr}, ces estimations ({METHODE_LIBELLES.get(methode, methode)}) "
            f"s'écartent en médiane de {' et de '.join(parts)} des chiffres de l'Insee{sim}.")

def format_ecart(x, unite: str, signe: bool = False) -> str:
    """An error in French: ``1.24, "points"`` → « 1,2 point », ``-12.3, "%"`` → « −12,3 % » (« — » if missing)."""
    from ..fr import NBSP, accord, format_nombre

    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    txt = format_nombre(x, 1, signe=signe)
    if unite == "points":
        return f"{txt}{NBSP}{accord(round(float(x), 1), 'point')}"
    return f"{txt}{NBSP}%"

def _fmt_val(x, ind: Indicateur | None) -> str:
    from ..fr import format_valeur

    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "—"
    decimales = 1 if ind is not None and ind.unite in ("%", "indice") else None
    return format_valeur(x, ind.unite if ind else "nombre", decimales)

_CSS = ("body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:62em;color:#222;padding:0 1em}"
        "h1{font-size:1.6em}h2{font-size:1.25em;border-top:1px solid #ccc;padding-top:.6em}h3{font-size:1.05em}"
        "table{border-collapse:collapse;margin:.4em 0 1em}th,td{border:1px solid #ccc;padding:.2em .5em}"
        "th{background:#f0f0f0;text-align:left}td.n{text-align:right;white-space:nowrap}"
        ".obs-banner{display:inline-block;background:#b2182b;color:#fff;font-weight:bold;padding:.2em .6em;"
        "border-radius:3px}.note{color:#555;font-size:.92em}details{margin:.3em 0 1em}a{color:#08519c}")

def render_html(summary: pd.DataFrame, errors: pd.DataFrame, caps: pd.DataFrame, choice: pd.DataFrame,
                catalogue: dict[str, Indicateur], *, territoire: str, n_quartiers: int,
                raisons_simulation: list[str] | None = None, duree: tuple[float, float] | None = None) -> str:
    """The self-contained French page ``maps/verification.html`` (every text escaped)."""
    from ..fr import format_nombre

    e = html.escape
    simule = bool(len(summary) and summary["simule"].any())
    parts = []
    if simule:
        parts.append('<p class="obs-banner">Données simulées</p>')
    parts.append(f"<h1>Vérification des estimations par quartier · {e(territoire)}</h1>")
    if simule:
        raisons = "".join(f"<li>{e(r)}</li>" for r in (raisons_simulation or []))
        parts.append("<p><strong>Ces écarts sont calculés à partir de données simulées</strong> : ils montrent le "
                     "fonctionnement de la vérification, pas la qualité réelle des estimations.</p>"
                     + (f"<ul>{raisons}</ul>" if raisons else ""))
    else:
        parts.append("<p>Toutes les données comparées sont réelles.</p>")
    parts.append(
        "<h2>Ce que mesure cette page</h2>"
        f"<p>L'Insee publie ses propres chiffres pour les {n_quartiers} quartiers prioritaires 2015 du territoire. "
        "L'observatoire estime ces mêmes quartiers à partir des IRIS, exactement comme il estime les quartiers "
        "2024 pour lesquels aucun producteur ne publie de chiffre : un effectif est réparti entre quartiers selon "
        "la part de l'IRIS qui s'y trouve (surface, ou population carroyée pour la méthode dasymétrique) ; un taux "
        "est le rapport de deux effectifs ainsi estimés. L'écart entre l'estimation et le chiffre de l'Insee "
        "mesure l'erreur qu'on peut attendre d'une estimation du même genre sur un quartier 2024.</p>"
        "<h2>Comment lire les tableaux</h2><ul>"
        "<li><strong>Écart</strong> : estimation − chiffre de l'Insee, en points pour un taux, en % du chiffre de "
        "l'Insee pour un effectif ou un indice.</li>"
        "<li><strong>Écart médian</strong> : la moitié des quartiers s'écartent moins que cette valeur (en valeur "
        "absolue).</li>"
        "<li><strong>Biais</strong> : écart médian avec son signe ; positif, l'estimation surestime le plus "
        "souvent.</li>"
        "<li><strong>Dans la tolérance</strong> : part des quartiers à moins de ±2 points (taux) ou ±10 % "
        "(effectifs et indices) du chiffre de l'Insee.</li>"
        "<li>Un quartier dont l'estimation n'est pas publiée (couverture insuffisante des IRIS) n'entre pas dans "
        "le calcul : le nombre de quartiers comparés le dit.</li></ul>"
        "<h2>Ce que cela veut dire pour un chiffre 2024</h2>"
        "<p>Une estimation d'un quartier 2024 est de même nature qu'une estimation d'un quartier 2015 : si les "
        "estimations des quartiers 2015 s'écartent en médiane de 3 points du chiffre de l'Insee, un taux estimé "
        "d'un quartier 2024 peut lui aussi être faux de quelques points ; une différence de 1 point entre deux "
        "quartiers ou deux années n'est alors pas significative. La classe de qualité d'une estimation "
        "(bonne, moyenne, faible) tient compte de cette erreur mesurée quand elle existe (tableau ci-dessous), "
        "sinon de la seule règle de couverture documentée.</p>")
    if summary.empty or not (summary["n_quartiers"] > 0).any():
        parts.append("<p>Aucun indicateur n'a à la fois un chiffre par IRIS et un chiffre de l'Insee sur les "
                     "quartiers 2015 de ce territoire : aucune vérification n'est possible.</p>")
    else:
        notes = [method_note(summary, m) for m in METHODES]
        parts.append("<h2>En bref</h2>" + "".join(f"<p>{e(n)}</p>" for n in notes if n))
        parts.append(_family_section(caps, choice))
        parts.append(_indicator_sections(summary, errors, catalogue))
    if duree:
        parts.append(f'<p class="note">Calcul : {format_nombre(duree[0], 1)} s '
                     f'(CPU {format_nombre(duree[1], 1)} s).</p>')
    parts.append('<p class="note">Méthode : validation par quartiers témoins (Goodchild et Lam, 1980 ; Eicher et '
                 'Brewer, 2001) ; tolérances ±2 points et ±10 % ; règle de qualité dans '
                 '<code>observatoire/verification.py</code>.</p>')
    return (f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Vérification des estimations · {e(territoire)}</title><style>{_CSS}</style></head><body>"
            f"<p><a href=\"index.html\">Toutes les cartes</a></p>{''.join(parts)}</body></html>")

def _family_section(caps: pd.DataFrame, choice: pd.DataFrame) -> str:
    e = html.escape
    if caps.empty:
        return ""
    ch = {(r.famille): r.methode_retenue for r in choice.itertuples()} if len(choice) else {}
    rows = []
    for r in caps.itertuples():
        cap = r.plafond if isinstance(r.plafond, str) and r.plafond else "règle de couverture seule"
        rows.append(f"<tr><td>{e(family_label(r.famille))}</td><td>{e(METHODE_LIBELLES.get(r.methode, r.methode))}</td>"
                    f"<td class=n>{r.n_indicateurs}</td>"
                    f"<td class=n>{format_ecart(r.ecart_median_abs, r.unite_ecart)}</td>"
                    f"<td>{e(cap)}</td><td>{'oui' if ch.get(r.famille) == r.methode else ''}</td></tr>")
    return ("<h2>Erreur mesurée par famille d'indicateurs</h2>"
            "<p>Médiane des écarts médians des indicateurs de la famille. Qualité au mieux : « bonne » jusqu'à "
            "1,5 point (5 % pour un effectif), « moyenne » jusqu'à 3 points (10 %), « faible » au-delà ; "
            f"au moins {N_MIN_QUARTIERS} quartiers comparés. Méthode retenue : la plus précise.</p>"
            "<table><thead><tr><th>Famille</th><th>Méthode</th><th>Indicateurs</th><th>Écart médian</th>"
            "<th>Qualité au mieux</th><th>Méthode retenue</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")

def _indicator_sections(summary: pd.DataFrame, errors: pd.DataFrame, catalogue: dict[str, Indicateur]) -> str:
    from ..fr import format_pourcentage

    e = html.escape
    order = {k: i for i, k in enumerate(catalogue)}
    out = ["<h2>Par indicateur</h2>"]
    for ind_id in sorted(summary["indicateur"].unique(), key=lambda k: order.get(k, 10**6)):
        ind = catalogue.get(ind_id)
        s = summary[summary["indicateur"] == ind_id].sort_values(["methode", "millesime"])
        label = ind.libelle if ind else ind_id
        src = f" · {ind.source_libelle}" if ind is not None and ind.source_libelle else ""
        sim = " · données simulées" if s["simule"].any() else ""
        rows = "".join(
            f"<tr><td>{e(METHODE_LIBELLES.get(r.methode, r.methode))}</td><td class=n>{r.millesime}</td>"
            f"<td class=n>{r.n_quartiers}</td><td class=n>{format_ecart(r.ecart_median_abs, r.unite_ecart)}</td>"
            f"<td class=n>{format_ecart(r.biais, r.unite_ecart, signe=True)}</td>"
            f"<td class=n>{format_pourcentage(100 * r.part_dans_tolerance, 0) if r.n_quartiers else '—'}</td></tr>"
            for r in s.itertuples())
        tol = e(str(s["tolerance"].iloc[0]))
        out.append(f"<h3>{e(label)}</h3><p class=note>{e(ind_id)}{e(src)}{e(sim)}</p>"
                   "<table><thead><tr><th>Méthode</th><th>Année</th><th>Quartiers comparés</th>"
                   "<th>Écart médian</th>"
                   f"<th>Biais</th><th>Dans la tolérance ({tol})</th></tr></thead><tbody>{rows}</tbody></table>")
        d = errors[errors["indicateur"] == ind_id].sort_values(["millesime", "code_quartier", "methode"])
        det = "".join(
            f"<tr><td>{r.millesime}</td><td>{e(r.libelle_quartier or r.code_quartier)} ({e(r.code_quartier)})</td>"
            f"<td>{e(METHODE_LIBELLES.get(r.methode, r.methode))}</td>"
            f"<td class=n>{_fmt_val(r.valeur_estimee, ind)}</td><td class=n>{_fmt_val(r.valeur_insee, ind)}</td>"
            f"<td class=n>{format_ecart(r.ecart, r.unite_ecart, signe=True)}</td>"
            f"<td>{e(r.qualite if isinstance(r.qualite, str) else '')}</td><td>{e(r.motif)}</td></tr>"
            for r in d.itertuples())
        out.append("<details><summary>Détail par quartier</summary><table><thead><tr><th>Année</th><th>Quartier</th>"
                   "<th>Méthode</th><th>Estimation</th><th>Insee</th><th>Écart</th><th>Qualité</th><th>Motif</th>"
                   f"</tr></thead><tbody>{det}</tbody></table></details>")
    return "".join(out)
