"""Table cells of a sheet and their provenance: value, status, estimate, simulated, producer note.

Every printed figure is a *cell* built here from one row of the tidy table. A cell knows whether it
is real or simulated (``simule`` column), estimated (``methode``, ``qualite``, ``couverture``),
withheld (``secret``), not available (``nd`` with its ``motif``) or carries a producer's quality note
(``note_producteur``). A :class:`Partie` (the two-page fiche, or the annex) numbers the producer
notes of its cells as footnotes and counts its real and simulated figures, which decides how the
sheet shows provenance (:func:`mode_provenance`):

* ``reel``: no simulated figure at all — no simulated mark anywhere;
* ``simule``: every figure simulated — one clear banner on screen and on every printed page;
* ``mixte``: a :data:`MARQUE_SIMULE` after each simulated figure, a legend, and one summary line
  per part (« 112 chiffres sur 260 de cette fiche sont réels »).

Partner figures (printed in the contract documents, real) are shown in their own block and do not
enter the count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .. import fr
from ..catalogue import Indicateur
from ..tidy import METHODES_ESTIMATION, METHODES_LIBELLES, note_libelle
from .facts import change

#: Symbol after a simulated figure on a mixed sheet (and in its sentences).
MARQUE_SIMULE = "◊"
#: Symbol after an estimated figure.
MARQUE_ESTIME = "e"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _text(x) -> str:
    return "" if _missing(x) else str(x).strip()


def estimate_title(row, ind: Indicateur) -> str:
    """Full wording of an estimate (tooltip): method, quality and coverage."""
    meth = METHODES_LIBELLES.get(str(row.methode), str(row.methode) or "méthode non précisée")
    q = _text(row.qualite) or "non évaluée"
    cov = getattr(row, "couverture", None)
    cov_txt = "" if _missing(cov) else f", couverture {fr.format_pourcentage(100 * float(cov), 0)} du quartier"
    if ind.type == "valeur_producteur":
        return (f"approximation ({meth}) : moyenne pondérée des valeurs publiées sur d'autres périmètres, "
                f"pas une médiane ou un quartile du quartier ; qualité {q}{cov_txt}")
    return f"estimation ({meth}), qualité {q}{cov_txt}"


def value_cell(row, ind: Indicateur) -> dict[str, Any]:
    """Display of one figure: text, status, estimate/simulated flags, producer note, data attributes."""
    if row is None:
        return {"texte": "—", "titre": "aucune donnée", "vide": True, "simule": False, "note": "", "motif": ""}
    statut = str(row.statut)
    attrs = {"territoire": row.code_territoire, "type": row.type_territoire, "indicateur": row.indicateur,
             "millesime": int(row.millesime)}
    simule = bool(getattr(row, "simule", False))
    note = note_libelle(_text(getattr(row, "note_producteur", "")))
    motif = _text(getattr(row, "motif", ""))
    base = {"attrs": attrs, "statut": statut, "simule": simule, "note": note, "motif": motif}
    if statut == "secret":
        return {**base, "texte": "secret", "classe": "secret", "simule": False,
                "titre": "secret statistique : valeur non publiée par le producteur"}
    if statut == "nd" or _missing(row.valeur):
        return {**base, "texte": "n. d.", "classe": "nd", "statut": "nd", "simule": False,
                "titre": f"non disponible : {motif}" if motif else "non disponible"}
    estime = str(row.methode) in METHODES_ESTIMATION or statut == "estime"
    faible = _text(row.qualite) == "faible"
    classes = [c for c, on in (("estime", estime), ("faible", faible)) if on]
    return {**base, "texte": fr.format_valeur(row.valeur, ind.unite, ind.decimales), "valeur": float(row.valeur),
            "estime": estime, "faible": faible, "classe": " ".join(classes),
            "titre": estimate_title(row, ind) if estime else ""}


def change_text(row, row0, ind: Indicateur) -> str:
    """« +2,3 points » (``%``) or « +3,2 % » between two usable figures as printed; « stable »; empty otherwise.

    Computed on the printed values (:func:`observatoire.portraits.facts.change`), as in the sentences.
    """
    if row is None or row0 is None:
        return ""
    if str(row.statut) in ("secret", "nd") or str(row0.statut) in ("secret", "nd"):
        return ""
    if _missing(row.valeur) or _missing(row0.valeur):
        return ""
    d = change(float(row.valeur), float(row0.valeur), ind)
    if d is None:
        return ""
    if round(d, 1) == 0:
        return "stable"
    return fr.format_points(d, 1) if ind.unite == "%" else fr.format_pourcentage(d, 1, signe=True)


def partner_value(valeur: float, unite: str) -> str:
    """Format a partner figure with the unit of the partner table (``%``, ``points``, ``€``, ``count``)."""
    if _missing(valeur):
        return "n. d."
    dec = 0 if float(valeur).is_integer() else (1 if round(valeur, 1) == valeur else 2)
    if unite == "%":
        return fr.format_pourcentage(valeur, dec)
    if unite == "points":
        return fr.format_points(valeur, max(dec, 1))
    if unite in ("€", "euros"):
        return fr.format_euros(valeur, dec)
    return fr.format_nombre(valeur, dec)


@dataclass
class Partie:
    """One printed part of a sheet (``fiche`` or ``annexe``): its producer-note footnotes and its counts."""

    nom: str
    n_chiffres: int = 0
    n_reels: int = 0
    n_estimes: int = 0
    n_faibles: int = 0
    notes: dict[str, int] = field(default_factory=dict)      # note text → footnote number

    def cell(self, row, ind: Indicateur) -> dict[str, Any]:
        """A counted cell (see :func:`value_cell`) with its footnote number."""
        c = value_cell(row, ind)
        self.compter(c)
        return c

    def compter(self, c: dict[str, Any]) -> dict[str, Any]:
        if c.get("valeur") is not None:
            self.n_chiffres += 1
            self.n_reels += not c["simule"]
            self.n_estimes += bool(c.get("estime"))
            self.n_faibles += bool(c.get("faible"))
        if c.get("note"):
            c["renvoi"] = self.notes.setdefault(c["note"], len(self.notes) + 1)
        return c

    @property
    def n_simules(self) -> int:
        return self.n_chiffres - self.n_reels

    def resume(self, libelle: str) -> str:
        """« 112 chiffres sur 260 de cette fiche sont réels » (singular forms handled)."""
        n, r = self.n_chiffres, self.n_reels
        if r == 0:
            return f"aucun des {fr.format_nombre(n)} chiffres de {libelle} n'est réel"
        chiffres = "chiffre" if n < 2 else "chiffres"
        verbe = "est réel" if r < 2 else "sont réels"
        return f"{fr.format_nombre(r)} {chiffres} sur {fr.format_nombre(n)} de {libelle} {verbe}"

    def liste_notes(self) -> list[dict[str, Any]]:
        return [{"no": no, "texte": txt} for txt, no in sorted(self.notes.items(), key=lambda kv: kv[1])]


def mode_provenance(*parties: Partie) -> str:
    """``reel``, ``simule`` or ``mixte`` for a sheet made of ``parties`` (see the module docstring)."""
    n = sum(p.n_chiffres for p in parties)
    reels = sum(p.n_reels for p in parties)
    if reels == n:
        return "reel"
    return "simule" if reels == 0 else "mixte"
