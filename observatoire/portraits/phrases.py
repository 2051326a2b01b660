"""French sentences of the written diagnosis, one per salient fact (:mod:`.facts`).

Each sentence states the figure, its year, the comparison with all QPV of the EPCI and, when there
is an earlier eligible year, the change, e.g.

    « 44,1 % des 16-25 ans ne sont ni en formation ni en emploi en 2019, contre 36,4 % pour la
    moyenne des quartiers prioritaires de Valenciennes Métropole (+2,3 points depuis 2014). »

Main clause
    * the catalogue entry's optional ``phrase:`` key (read through ``Indicateur.extra``), a pattern
      with ``{valeur}`` and optionally ``{annee}`` and ``{libelle}``; `` en {annee}`` is appended
      when the pattern does not place the year itself;
    * otherwise a generic template chosen by the unit (``%``, ``€``, ``€/mois``, ``nombre``,
      ``indice``: the value is formatted by :func:`observatoire.fr.format_valeur`) and by the
      polarity and the side of the gap (« atteint » for a fragile level, « n'atteint que » for a
      low value of a higher-is-better indicator, « est de » otherwise), with the article built from
      the label (« le taux… », « la part… », « l'indice… »); labels whose article cannot be
      guessed give « Libellé : valeur en année ».
Comparison
    « , contre {référence} pour la moyenne des quartiers prioritaires de/d'{EPCI} ».
Change
    « (+2,3 points depuis 2014) » for a ``%`` unit (``point`` singular below 2, French rule),
    « (+3,2 % depuis 2017) » otherwise, « (stable depuis 2014) » when it rounds to zero.
Rank
    when the quartier ranks first or last among at least 3 quartiers: « ; c'est le niveau le plus
    élevé (le plus bas) des 15 quartiers prioritaires ».
"""

from __future__ import annotations

import re
import unicodedata

from .. import fr
from ..catalogue import Indicateur
from .facts import Fact

VOYELLES = "aeiouyhàâäéèêëîïôöûüœAEIOUYHÀÂÄÉÈÊËÎÏÔÖÛÜŒ"
_MASCULIN = {"taux", "revenu", "nombre", "indice", "niveau", "rapport", "montant", "seuil", "écart",
             "premier", "effectif", "solde", "âge", "ratio", "salaire"}
_FEMININ = {"part", "proportion", "médiane", "densité", "population", "couverture", "moyenne", "durée",
            "surface", "dépendance", "pauvreté", "intensité"}

def elide(mot: str, suivant: str) -> str:
    """``de``/``le``/``la`` + word with the French elision: ``elide("de", "Anzin") == "d'Anzin"``."""
    if suivant and suivant[0] in VOYELLES and mot in ("de", "le", "la", "que", "ne"):
        return f"{mot[0]}'{suivant}"
    return f"{mot} {suivant}"


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
    """« +2,3 points », « −1,0 point », « +3,2 % » or « stable » (empty when no change)."""
    if fact.evolution is None or fact.millesime_precedent is None:
        return ""
    if round(fact.evolution, decimales) == 0:
        return "stable"
    if fact.evolution_unite == "points":
        return fr.format_points(fact.evolution, decimales)
    return fr.format_pourcentage(fact.evolution, decimales, signe=True)


def _verbe(fact: Fact, ind: Indicateur) -> str:
    if ind.polarite == 1 and fact.valeur > fact.reference:
        return "atteint"
    if ind.polarite == -1 and fact.valeur < fact.reference:
        return "n'atteint que"
    return "est de"


def main_clause(fact: Fact, ind: Indicateur) -> str:
    """The clause stating the figure and its year (catalogue pattern or generic template)."""
    valeur = fr.format_valeur(fact.valeur, ind.unite, ind.decimales)
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


def phrase(fact: Fact, ind: Indicateur) -> str:
    """The full French sentence of one fact (figure, year, comparison, change, rank)."""
    nom = fact.reference_libelle
    ref = fr.format_valeur(fact.reference, ind.unite, ind.decimales)
    s = main_clause(fact, ind)
    s += f", contre {ref} pour la moyenne des quartiers prioritaires {elide('de', nom)}"
    evol = format_evolution(fact)
    if evol:
        s += f" ({evol} depuis {fact.millesime_precedent})"
    if fact.rang is not None and fact.n_pairs and fact.n_pairs >= 3:
        # ranked among the quartiers whose figure is usable: say so when some were left out
        n = fact.n_pairs - 1 if fact.hors_pairs else fact.n_pairs
        fiables = " dont le chiffre est fiable" if (fact.n_quartiers or 0) > n else ""
        if fact.hors_pairs:  # a watch zone is not a quartier prioritaire: compare, do not rank it among them
            if fact.rang == 1:
                s += f"{fr.NNBSP}; c'est plus que dans chacun des {n} quartiers prioritaires{fiables}"
            elif fact.rang == fact.n_pairs:
                s += f"{fr.NNBSP}; c'est moins que dans chacun des {n} quartiers prioritaires{fiables}"
        elif fact.rang == 1:
            s += f"{fr.NNBSP}; c'est le niveau le plus élevé des {n} quartiers prioritaires{fiables}"
        elif fact.rang == fact.n_pairs:
            s += f"{fr.NNBSP}; c'est le niveau le plus bas des {n} quartiers prioritaires{fiables}"
    return _capitalise(s) + "."


def phrases(facts: list[Fact], catalogue: dict[str, Indicateur]) -> list[str]:
    """Sentences for ``facts`` (same order)."""
    return [phrase(f, catalogue[f.indicateur]) for f in facts]


def slug(texte: str) -> str:
    """ASCII lower-case key of a heading: ``"Points de vigilance"`` → ``"points_de_vigilance"``."""
    t = unicodedata.normalize("NFKD", texte).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", t).strip("_")
