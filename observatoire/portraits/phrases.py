"""French sentences of the written diagnosis, one per fact (:mod:`.facts` chooses the facts).

A sentence states the figure and its year, then what makes it a fact — a marked gap to the set of
all quartiers of the EPCI (with its magnitude), a rank, a marked change — e.g.

    « 44,1 % des 16-25 ans ne sont ni en formation ni en emploi en 2022, contre 22,0 % pour
    l'ensemble des quartiers prioritaires de Valenciennes Métropole, soit 22,1 points de plus (deux
    fois plus) ; c'est le niveau le plus élevé des 15 quartiers prioritaires ; une hausse de 6,3
    points depuis 2017, plus forte que dans l'ensemble de ces quartiers. »

Main clause
    * the catalogue entry's optional ``phrase:`` key (read through ``Indicateur.extra``), a pattern
      with ``{valeur}`` and optionally ``{annee}`` and ``{libelle}``; `` en {annee}`` is appended
      when the pattern does not place the year itself;
    * otherwise a generic template chosen by the unit (the value is formatted by
      :func:`observatoire.fr.format_valeur`, as in the table) and, when the gap is marked, by the
      polarity and the side of the gap (« atteint » for a fragile level, « n'atteint que » for a
      low value of a higher-is-better indicator, « est de » otherwise), with the article built from
      the label (« le taux… », « la part… », « l'indice… »); labels whose article cannot be
      guessed give « Libellé : valeur en année ».
Gap (only when marked, :mod:`.facts` rule 5)
    « , contre {référence} pour l'ensemble des quartiers prioritaires de {EPCI}, soit 7,7 points de
    plus (un tiers de plus) »; « 23 % de moins » for euros and indices; the magnitude only when the
    ratio is near a named one (:data:`.facts.AMPLEURS`). A 2015 sheet says « quartiers
    prioritaires 2015 ». Never « moyenne »: the reference is a pooled rate.
Rank
    with a marked gap, when the quartier ranks first or last among at least 3 quartiers:
    « ; c'est le niveau le plus élevé (le plus bas) des 15 quartiers prioritaires ».
Change (only when marked, rule 6)
    « ; une hausse de 6,3 points depuis 2017, plus forte que dans l'ensemble de ces quartiers »
    (« moins forte que… », « à l'inverse de… », « quand l'ensemble … évolue peu »); the amount is
    the table's « Évolution » cell without its sign. A change below the threshold is never quoted.
Marks
    ``marque`` (mixed sheets only) follows every simulated figure, as in the tables.
"""

from __future__ import annotations

import re
import unicodedata

from .. import fr
from ..fr import VOYELLES, elide  # noqa: F401  (re-exported: templates and tests use phrases.elide)
from ..catalogue import Indicateur
from .facts import Fact

_MASCULIN = {"taux", "revenu", "nombre", "indice", "niveau", "rapport", "montant", "seuil", "écart",
             "premier", "effectif", "solde", "âge", "ratio", "salaire"}
_FEMININ = {"part", "proportion", "médiane", "densité", "population", "couverture", "moyenne", "durée",
            "surface", "dépendance", "pauvreté", "intensité"}

def nom_court_epci(nom: str) -> str:
    """``"CA Valenciennes Métropole"`` → ``"Valenciennes Métropole"`` (legal-form prefix dropped)."""
    n = nom.strip()
    low = n.lower()
    for p in ("communauté d'agglomération ", "communauté de communes ", "communauté urbaine ",
              "ca ", "cc ", "cu "):
        if low.startswith(p):
            rest = n[len(p):].strip()
            for art in ("de la ", "de l'", "du ", "des ", "de ", "d'"):
                if rest.lower().startswith(art) and p.startswith("communauté"):
                    rest = rest[len(art):]
                    break
            return rest
    return n


def _article(libelle: str) -> str | None:
    """``"Taux de pauvreté"`` → ``"le taux de pauvreté"``; ``None`` when the gender is unknown."""
    words = libelle.strip().split()
    if not words:
        return None
    first = words[0]
    low = first.lower()
    text = libelle.strip()
    if not (len(first) > 1 and first[1].isupper()):      # keep acronyms (« RSA ») as written
        text = text[0].lower() + text[1:]
    if low in _MASCULIN:
        return elide("le", text)
    if low in _FEMININ:
        return elide("la", text)
    return None


def _capitalise(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def format_evolution(fact: Fact, decimales: int = 1) -> str:
    """« +2,3 points », « −1,0 point », « +3,2 % » (empty when the change is not a fact)."""
    if fact.evolution is None or fact.millesime_precedent is None:
        return ""
    if fact.evolution_unite == "points":
        return fr.format_points(fact.evolution, decimales)
    return fr.format_pourcentage(fact.evolution, decimales, signe=True)


def _verbe(fact: Fact, ind: Indicateur) -> str:
    if not fact.ecart_marque:
        return "est de"
    if ind.polarite == 1 and fact.valeur > fact.reference:
        return "atteint"
    if ind.polarite == -1 and fact.valeur < fact.reference:
        return "n'atteint que"
    return "est de"


def main_clause(fact: Fact, ind: Indicateur, marque: str = "") -> str:
    """The clause stating the figure and its year (catalogue pattern or generic template).

    ``marque`` is appended to the value when it is simulated (mixed sheets, see :mod:`.render`).
    """
    valeur = fr.format_valeur(fact.valeur, ind.unite, ind.decimales) + (marque if fact.simule_valeur else "")
    annee = str(fact.millesime)
    pattern = (ind.extra or {}).get("phrase")
    if pattern:
        txt = str(pattern).strip().rstrip(".")
        txt = txt.replace("{valeur}", valeur).replace("{libelle}", ind.libelle)
        if "{annee}" in txt:
            txt = txt.replace("{annee}", annee)
        else:
            txt = f"{txt} en {annee}"
        return txt
    sujet = _article(ind.libelle)
    if sujet is None:
        return f"{ind.libelle} : {valeur} en {annee}"
    return f"{sujet} {_verbe(fact, ind)} {valeur} en {annee}"


def nom_ensemble(fact: Fact) -> str:
    """« l'ensemble des quartiers prioritaires de Valenciennes Métropole » (« … prioritaires 2015 de … »),
    « l'ensemble de Valenciennes Métropole » for the EPCI itself (rule 5b)."""
    if fact.type_reference == "epci":
        return f"l'ensemble {elide('de', fact.reference_libelle)}"
    geo = f" {fact.geographie_reference}" if fact.geographie_reference else ""
    return f"l'ensemble des quartiers prioritaires{geo} {elide('de', fact.reference_libelle)}"


def format_ecart(fact: Fact, ind: Indicateur) -> str:
    """« 7,7 points de plus », « 1,5 point de moins », « 23 % de moins » (the gap of printed values)."""
    d = fact.ecart or 0.0
    sens = "de plus" if d > 0 else "de moins"
    if ind.unite == "%":
        dec = ind.decimales if ind.decimales is not None else 1
        txt = fr.format_nombre(abs(d), dec)
        mot = fr.accord(round(d, dec), "point")
        return f"{txt}{fr.NBSP}{mot} {sens}"
    return f"{fr.format_pourcentage(abs(d), 0)} {sens}"


def _comparaison_evolution(fact: Fact, ind: Indicateur, ensemble: str) -> str:
    """« plus forte que dans l'ensemble … », « à l'inverse de … », « quand … évolue peu »."""
    from .facts import seuil_evolution
    d, dref = fact.evolution or 0.0, fact.evolution_reference
    if dref is None:
        return ""
    seuil, _ = seuil_evolution(ind)
    if abs(dref) < seuil:
        return f", quand {ensemble} évolue peu"
    if (d > 0) != (dref > 0):
        return f", à l'inverse {elide('de', ensemble)}"
    return f", {'plus' if abs(d) > abs(dref) else 'moins'} forte que dans {ensemble}"


def clause_evolution(fact: Fact, ind: Indicateur, ensemble: str, marque: str = "") -> str:
    """« une hausse de 6,3 points depuis 2017, plus forte que dans … » (empty when not a fact)."""
    if not fact.evolution_marquee or fact.evolution is None or fact.millesime_precedent is None:
        return ""
    mot = "une hausse" if fact.evolution > 0 else "une baisse"
    if fact.evolution_unite == "points":
        dec = ind.decimales if ind.decimales is not None else 1
        txt = fr.format_nombre(abs(fact.evolution), dec)
        qty = f"{txt}{fr.NBSP}{fr.accord(round(fact.evolution, dec), 'point')}"
    else:
        qty = fr.format_pourcentage(abs(fact.evolution), 1)
    sim = marque if (fact.simule_valeur or fact.simule_precedent) else ""
    return (f"{mot} de {qty}{sim} depuis {fact.millesime_precedent}"
            f"{_comparaison_evolution(fact, ind, ensemble)}")


def clause_rang(fact: Fact) -> str:
    """« c'est le niveau le plus élevé des 15 quartiers prioritaires » when the quartier ranks first or last."""
    if fact.rang is None or not fact.n_pairs or fact.n_pairs < 3:
        return ""
    n = fact.n_pairs - 1 if fact.hors_pairs else fact.n_pairs
    fiables = " dont le chiffre est fiable" if (fact.n_quartiers or 0) > n else ""
    if fact.geographie_reference:
        fiables = f" {fact.geographie_reference}{fiables}"
    if fact.hors_pairs:  # a watch zone is not a quartier prioritaire: compare, do not rank it among them
        if fact.rang == 1:
            return f"c'est plus que dans chacun des {n} quartiers prioritaires{fiables}"
        if fact.rang == fact.n_pairs:
            return f"c'est moins que dans chacun des {n} quartiers prioritaires{fiables}"
        return ""
    if fact.rang == 1:
        return f"c'est le niveau le plus élevé des {n} quartiers prioritaires{fiables}"
    if fact.rang == fact.n_pairs:
        return f"c'est le niveau le plus bas des {n} quartiers prioritaires{fiables}"
    return ""


def phrase(fact: Fact, ind: Indicateur, marque: str = "") -> str:
    """The full French sentence of one fact (figure, year, gap and magnitude, rank, change).

    ``marque``: text appended to every simulated figure (empty: no mark).
    """
    ensemble = nom_ensemble(fact)
    s = main_clause(fact, ind, marque)
    if fact.ecart_marque:
        ref = fr.format_valeur(fact.reference, ind.unite, ind.decimales) + (marque if fact.simule_reference else "")
        gap = format_ecart(fact, ind) + (marque if (fact.simule_valeur or fact.simule_reference) else "")
        s += f", contre {ref} pour {ensemble}, soit {gap}"
        if fact.ampleur:
            s += f" ({fact.ampleur})"
        rang = clause_rang(fact)
        if rang:
            s += f"{fr.NNBSP}; {rang}"
        if fact.type_reference != "epci":
            ensemble = "l'ensemble de ces quartiers"
    evol = clause_evolution(fact, ind, ensemble, marque)
    if evol:
        s += f"{fr.NNBSP}; {evol}"
    return _capitalise(s) + "."


def phrases(facts: list[Fact], catalogue: dict[str, Indicateur], marque: str = "") -> list[str]:
    """Sentences for ``facts`` (same order)."""
    return [phrase(f, catalogue[f.indicateur], marque) for f in facts]


def slug(texte: str) -> str:
    """ASCII lower-case key of a heading: ``"Points de vigilance"`` → ``"points_de_vigilance"``."""
    t = unicodedata.normalize("NFKD", texte).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", t).strip("_")
