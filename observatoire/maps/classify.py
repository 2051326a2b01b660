"""Class breaks for choropleth maps: quantiles, Fisher-Jenks, equal intervals, user bins.

A classification is a :class:`Classes`: the *inner* breaks ``b1 < b2 < … < b(k-1)``; a value ``v``
falls in class ``i`` when ``b(i) < v <= b(i+1)`` (upper bound included, as in mapclassify), the first
class is open below and the last open above. Open ends make a classification reusable for another
year: :func:`fixed_bins` computes the breaks once (on a reference year, on the pooled years, or from
the configuration ``[cartes.bornes]``) so that two maps of two millésimes share identical classes.

Fisher-Jenks is exact dynamic programming vectorised with numpy on the distinct values (with their
counts as weights); above ``max_sample`` distinct values it runs on evenly spaced order statistics of
the sorted data (deterministic, every quantile of the distribution kept), which is how it stays fast
on all of France's IRIS (≈ 50 000 values) without numba.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import mapclassify
import numpy as np

from .. import fr
from ..errors import ConfigError

METHODES = ("quantiles", "fisher_jenks", "intervalles_egaux", "manuelle")
ANNEES_BORNES = ("reference", "derniere", "toutes")
MAX_SAMPLE = 3000


@dataclass(frozen=True)
class Classes:
    """Inner class breaks and where they come from.

    Attributes
    ----------
    breaks : tuple of the k-1 inner breaks, strictly increasing (k classes).
    methode : one of :data:`METHODES`.
    annee : millésime the breaks were computed on (None for configured bins or pooled years).
    origine : French phrase for the legend (« quantiles de 2017 », « bornes fixées »…).
    """

    breaks: tuple[float, ...]
    methode: str = "quantiles"
    annee: int | None = None
    origine: str = ""

    @property
    def k(self) -> int:
        return len(self.breaks) + 1

    def assign(self, values) -> np.ndarray:
        """Class index (0…k-1) of each value; -1 for a missing value."""
        v = np.asarray(values, dtype=float)
        out = np.searchsorted(np.asarray(self.breaks, dtype=float), v, side="left").astype(int)
        out[np.isnan(v)] = -1
        return out

    def labels(self, unite: str = "", decimales: int | None = None) -> list[str]:
        """French legend labels: « jusqu'à 20,0 % », « de 20,0 % à 30,0 % », « plus de 50,0 % »."""
        if not self.breaks:
            return ["toutes valeurs"]
        dec = _label_decimals(self.breaks, unite, decimales)

        def f(x):
            return fr.format_valeur(x, unite, dec) if unite else fr.format_nombre(x, dec)

        b = [f(x) for x in self.breaks]
        out = [f"jusqu'à {b[0]}"]
        out += [f"de {b[i]} à {b[i + 1]}" for i in range(len(b) - 1)]
        out.append(f"plus de {b[-1]}")
        return out


def _label_decimals(breaks, unite: str, decimales: int | None) -> int:
    """Smallest number of decimals (≥ the unit's default) that keeps every break label distinct."""
    base = decimales if decimales is not None else (1 if unite == "%" else 0)
    for d in range(base, base + 4):
        if len({round(x, d) for x in breaks}) == len(breaks):
            return d
    return base + 3


def _clean(values) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    return v[np.isfinite(v)]


def fisher_jenks_breaks(values, k: int = 5, max_sample: int = MAX_SAMPLE) -> np.ndarray:
    """Upper bounds of the ``k`` Fisher-Jenks classes (the last one is the maximum).

    Exact optimum (minimal within-class sum of squared deviations) on the distinct values weighted
    by their counts; above ``max_sample`` distinct values, on ``max_sample`` evenly spaced order
    statistics of the sorted data (first and last included).

    >>> fisher_jenks_breaks([1, 2, 3, 10, 11, 12], 2).tolist()
    [3.0, 12.0]
    """
    v = np.sort(_clean(values))
    if v.size == 0:
        return np.array([])
    x, w = np.unique(v, return_counts=True)
    if x.size > max_sample:
        idx = np.unique(np.round(np.linspace(0, v.size - 1, max_sample)).astype(int))
        x, w = np.unique(v[idx], return_counts=True)
    w = w.astype(float)
    n = x.size
    k = int(min(k, n))
    if k <= 1:
        return np.array([x[-1]])
    # prefix sums (index 0 = empty prefix) → SSD of x[a..b] in O(1)
    cw = np.concatenate([[0.0], np.cumsum(w)])
    c1 = np.concatenate([[0.0], np.cumsum(w * x)])
    c2 = np.concatenate([[0.0], np.cumsum(w * x * x)])

    def ssd(a, b):  # a, b arrays of inclusive indices, a <= b
        sw = cw[b + 1] - cw[a]
        s1 = c1[b + 1] - c1[a]
        return (c2[b + 1] - c2[a]) - s1 * s1 / sw

    idx = np.arange(n)
    cost = ssd(np.zeros(n, dtype=int), idx)          # one class covering x[0..i]
    back = np.zeros((k, n), dtype=int)                # start index of the last class
    chunk = max(1, 2_000_000 // n)
    for j in range(1, k):
        new = np.full(n, np.inf)
        for lo in range(j, n, chunk):
            i = idx[lo:lo + chunk][:, None]           # class ends
            m = idx[None, j:]                          # candidate start of the last class
            valid = m <= i
            mm = np.where(valid, m, i)
            tot = np.where(valid, cost[np.maximum(mm - 1, 0)] + ssd(mm, np.broadcast_to(i, mm.shape)),
                           np.inf)
            arg = np.argmin(tot, axis=1)
            new[lo:lo + chunk] = tot[np.arange(tot.shape[0]), arg]
            back[j, lo:lo + chunk] = arg + j
        cost = new
    ends = [n - 1]
    end = n - 1
    for j in range(k - 1, 0, -1):
        start = back[j, end]
        end = start - 1
        ends.append(end)
    return x[np.array(sorted(ends))]


def compute_breaks(values, methode: str = "quantiles", k: int = 5, bornes=None) -> np.ndarray:
    """Inner breaks (at most ``k - 1``, strictly increasing) of ``values`` for ``methode``.

    ``bornes`` are the user bins for ``methode="manuelle"`` (the inner breaks themselves).
    Missing values are ignored; ties can give fewer classes than ``k``.
    """
    if methode not in METHODES:
        raise ConfigError(f"[cartes] classification = {methode!r} est inconnue.",
                          correction="choisissez " + ", ".join(METHODES))
    if methode == "manuelle":
        return _check_bornes(bornes)
    v = _clean(values)
    if v.size == 0:
        return np.array([])
    k = int(k)
    if k < 2:
        raise ConfigError(f"[cartes] classes = {k} : il faut au moins 2 classes.",
                          correction="indiquez par exemple classes = 5")
    if np.unique(v).size <= 1:
        return np.array([])
    if methode == "quantiles":
        with warnings.catch_warnings():  # ties: mapclassify lowers k itself and says so; the legend shows it
            warnings.simplefilter("ignore", UserWarning)
            bins = mapclassify.Quantiles(v, k=min(k, np.unique(v).size)).bins
    elif methode == "intervalles_egaux":
        bins = mapclassify.EqualInterval(v, k=k).bins
    else:
        bins = fisher_jenks_breaks(v, k)
    inner = np.unique(np.asarray(bins, dtype=float)[:-1])
    return inner[inner < v.max()]


def _check_bornes(bornes, where: str = "[cartes] bornes") -> np.ndarray:
    try:
        b = np.asarray([float(x) for x in (bornes or [])], dtype=float)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where} : les bornes {bornes!r} ne sont pas des nombres.",
                          correction="écrivez par exemple taux_pauvrete = [20, 30, 40, 50]") from e
    if b.size == 0 or not np.all(np.isfinite(b)) or np.any(np.diff(b) <= 0):
        raise ConfigError(f"{where} : les bornes {bornes!r} doivent être une liste croissante de nombres.",
                          correction="écrivez par exemple taux_pauvrete = [20, 30, 40, 50]")
    return b


def fixed_bins(values_by_year: Mapping[int, object], methode: str = "quantiles", k: int = 5,
               annee: str | int = "reference", bornes=None) -> Classes:
    """One classification shared by every millésime of an indicator.

    Parameters
    ----------
    values_by_year : ``{millesime: values}`` of one indicator (missing values ignored).
    methode, k : classification method and number of classes (``[cartes]``).
    annee : which year the breaks are computed on: ``"reference"`` (the earliest millésime, the
        comparison year), ``"derniere"`` (the latest), ``"toutes"`` (all years pooled) or a year.
    bornes : user bins (``[cartes.bornes] <indicateur> = [...]``): when given they win, whatever
        ``methode``.

    Returns
    -------
    Classes usable for every year (open first and last classes).
    """
    if bornes is not None:
        b = _check_bornes(bornes)
        return Classes(tuple(float(x) for x in b), "manuelle", None, "bornes fixées")
    if methode == "manuelle":
        raise ConfigError("[cartes] classification = \"manuelle\" sans bornes pour cet indicateur.",
                          correction="ajoutez [cartes.bornes] <indicateur> = [20, 30, 40, 50]")
    years = sorted(int(y) for y in values_by_year)
    if not years:
        return Classes((), methode, None, "")
    if annee == "toutes":
        vals = np.concatenate([_clean(values_by_year[y]) for y in years])
        year = None
    else:
        if annee == "reference":
            year = years[0]
        elif annee == "derniere":
            year = years[-1]
        else:
            try:
                year = int(annee)
            except (TypeError, ValueError) as e:
                raise ConfigError(f"[cartes] annee_bornes = {annee!r} est inconnue.",
                                  correction="choisissez reference, derniere, toutes ou une année") from e
            if year not in years:  # the asked year is not available: nearest earlier, else earliest
                earlier = [y for y in years if y <= year]
                year = earlier[-1] if earlier else years[0]
        vals = _clean(values_by_year[year])
    br = compute_breaks(vals, methode, k)
    nom = {"quantiles": "quantiles", "fisher_jenks": "seuils naturels (Fisher-Jenks)",
           "intervalles_egaux": "intervalles égaux"}[methode]
    origine = f"{nom} de {year}" if year is not None else f"{nom}, toutes années"
    return Classes(tuple(float(x) for x in br), methode, year, origine)


def bench_fisher_jenks(n: int = 50_000, k: int = 5, seed: int = 0) -> dict:
    """Time Fisher-Jenks on ``n`` random values (for ``make bench``): ``{"n", "k", "secondes", "bornes"}``."""
    import time

    y = np.random.default_rng(seed).gamma(2.0, 10.0, n)
    t0 = time.perf_counter()
    br = compute_breaks(y, "fisher_jenks", k)
    return {"n": n, "k": k, "secondes": round(time.perf_counter() - t0, 3), "bornes": [float(b) for b in br]}
