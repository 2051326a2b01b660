"""French formatting of numbers, percentages, money, points and dates.

Everything a user reads goes through these functions so that the whole product writes
« 44,1 % », « 1 087 ha », « 861 € » the same way (INSEE typography: narrow no-break space as
thousands separator, decimal comma, no-break space before the unit).

>>> format_nombre(1087.4)
'1\u202f087'
>>> format_pourcentage(44.13)
'44,1\u00a0%'
"""

from __future__ import annotations

import datetime as _dt
import math

NNBSP = "\u202f"  # narrow no-break space: thousands separator
NBSP = "\u00a0"  # no-break space: before units

MOIS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
        "octobre", "novembre", "décembre"]


def _is_missing(x) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def format_nombre(x, decimales: int = 0, signe: bool = False) -> str:
    """Format a number the French way: ``12345.678`` → ``'12 345,68'`` with 2 decimals.

    Missing values give an empty string; callers show the status (secret, nd) themselves.
    """
    if _is_missing(x):
        return ""
    x = float(x)
    txt = f"{abs(x):,.{decimales}f}"
    if float(txt.replace(",", "")) == 0:
        neg = False
    else:
        neg = x < 0
    txt = txt.replace(",", NNBSP).replace(".", ",")
    if neg:
        txt = "\u2212" + txt  # true minus sign
    elif signe:
        txt = "+" + txt
    return txt


def format_pourcentage(x, decimales: int = 1, signe: bool = False) -> str:
    """``44.13`` (already in percent) → ``'44,1 %'``."""
    if _is_missing(x):
        return ""
    return f"{format_nombre(x, decimales, signe)}{NBSP}%"


def format_points(x, decimales: int = 1) -> str:
    """A change of a rate, always signed: ``-5.4`` → ``'−5,4 points'``; 1 point is singular."""
    if _is_missing(x):
        return ""
    txt = format_nombre(x, decimales, signe=True)
    mot = accord(round(float(x), decimales), "point")
    return f"{txt}{NBSP}{mot}"


def format_euros(x, decimales: int = 0) -> str:
    """``861`` → ``'861 €'``."""
    if _is_missing(x):
        return ""
    return f"{format_nombre(x, decimales)}{NBSP}€"


def format_valeur(x, unite: str, decimales: int | None = None) -> str:
    """Format a value according to a catalogue unit (``%``, ``€``, ``nombre``, ``indice``, ``points``)."""
    if unite == "%":
        return format_pourcentage(x, 1 if decimales is None else decimales)
    if unite in ("€", "euros", "€/mois", "€/an"):
        txt = format_euros(x, 0 if decimales is None else decimales)
        return txt + (" par mois" if unite == "€/mois" and txt else "") + (" par an" if unite == "€/an" and txt else "")
    if unite == "points":
        return format_points(x, 1 if decimales is None else decimales)
    if unite == "indice":
        return format_nombre(x, 0 if decimales is None else decimales)
    return format_nombre(x, 0 if decimales is None else decimales)


def format_date(d: _dt.date | str) -> str:
    """``2024-01-01`` → ``'1er janvier 2024'``."""
    if isinstance(d, str):
        d = _dt.date.fromisoformat(d[:10])
    jour = "1er" if d.day == 1 else str(d.day)
    return f"{jour} {MOIS[d.month - 1]} {d.year}"


def parse_nombre(txt: str) -> float:
    """Parse a number written the French or the English way (``'1 234,5'``, ``'1234.5'``)."""
    t = str(txt).strip().replace(NNBSP, "").replace(NBSP, "").replace(" ", "").replace("\u2212", "-")
    if "," in t and "." in t:
        t = t.replace(".", "").replace(",", ".")
    else:
        t = t.replace(",", ".")
    return float(t)


def accord(n: float, mot: str) -> str:
    """French agreement of a unit or noun with its number: plural from 2 on, in absolute value
    (« 0 quartier », « 1,5 point », « 2 communes », « −2,3 points »)."""
    return mot + "s" if abs(n) >= 2 else mot


def compte(n: int, mot: str) -> str:
    """« 1 commune », « 0 quartier », « 2 quartiers » (the number as given, then :func:`accord`)."""
    return f"{n} {accord(n, mot)}"


#: Letters before which « de », « le », « la » elide (h muet included, as in « d'Hergnies »).
VOYELLES = "aeiouyhàâäéèêëîïôöûüœAEIOUYHÀÂÄÉÈÊËÎÏÔÖÛÜŒ"


def elide(mot: str, suivant: str) -> str:
    """``de``/``le``/``la`` + word with the French elision: ``elide("de", "Anzin") == "d'Anzin"``."""
    if suivant and suivant[0] in VOYELLES and mot in ("de", "le", "la", "que", "ne"):
        return f"{mot[0]}'{suivant}"
    return f"{mot} {suivant}"
