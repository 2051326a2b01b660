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

Quantiles and equal intervals are mapclassify's definitions (``mapclassify.Quantiles``: percentiles
100/k, 200/k… with linear interpolation, ties collapsed; ``mapclassify.EqualInterval``: k equal
widths of the range) written with numpy, which the tests check against mapclassify: importing
mapclassify pulls scipy.stats in and costs about two seconds per run, twice the whole map stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .. import fr
from ..errors import ConfigError

METHODES = ("quantiles", "fisher_jenks", "intervalles_egaux", "manuelle")
ANNEES_BORNES = ("reference", "derniere", "toutes")
MAX_SAMPLE = 3000
#: A scale with at most this many territories (the quartiers of an EPCI) gets fewer classes.
PETIT_EFFECTIF = 15


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


def quantile_bins(values, k: int) -> np.ndarray:
    """Upper bounds of ``k`` quantile classes (``mapclassify.Quantiles``): the percentiles 100/k,
    200/k… 100 with linear interpolation, repeated bounds (ties) collapsed.

    >>> quantile_bins(np.arange(1000), 4).tolist()
    [249.75, 499.5, 749.25, 999.0]
    """
    v = _clean(values)
    w = 100.0 / k
    p = np.arange(w, 100 + w, w)
    p = np.minimum(p[:k] if p.size > k else p, 100.0)
    return np.unique(np.percentile(v, p))


def equal_interval_bins(values, k: int) -> np.ndarray:
    """Upper bounds of ``k`` classes of equal width over the range (``mapclassify.EqualInterval``).

    >>> equal_interval_bins([0, 100], 4).tolist()
    [25.0, 50.0, 75.0, 100.0]
    """
    v = _clean(values)
    lo, hi = float(v.min()), float(v.max())
    width = (hi - lo) / k
    cuts = np.arange(lo + width, hi + width, width) if width > 0 else np.array([hi])
    cuts = cuts[:k].copy()
    cuts[-1] = hi
    return cuts


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
        bins = quantile_bins(v, min(k, np.unique(v).size))
    elif methode == "intervalles_egaux":
        bins = equal_interval_bins(v, k)
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


def classes_for_count(k: int, n: int) -> int:
    """Number of classes for a scale of ``n`` territories when ``k`` are asked.

    Above :data:`PETIT_EFFECTIF` territories, ``k``. With few territories (the 15 quartiers of an
    EPCI), one class per three territories (rounded up), at least 3 (when there are 3 values) and
    never more than ``k`` nor ``n``: five classes of three quartiers inform, nine classes of one or two
    do not.

    >>> [classes_for_count(5, n) for n in (40, 15, 14, 12, 9, 3, 2)]
    [5, 5, 5, 4, 3, 3, 2]
    """
    k, n = int(k), int(n)
    if n > PETIT_EFFECTIF:
        return k
    return max(1, min(k, n, max(3, -(-n // 3))))


def breaks_year(annee: str | int, n_territoires: int | None) -> str | int:
    """The year the breaks of a scale are computed on: ``annee`` (``[cartes] annee_bornes``), except
    that a scale of few territories (≤ :data:`PETIT_EFFECTIF`) pools its years instead of the
    reference or last one: 15 values are too few for robust quantiles, and when every quartier moved
    the same way between two censuses, breaks of one year put all the quartiers of the other into
    one class. An explicit year is kept.

    >>> breaks_year("reference", 15), breaks_year("reference", 40), breaks_year(2017, 15)
    ('toutes', 'reference', 2017)
    """
    if n_territoires is not None and n_territoires <= PETIT_EFFECTIF and annee in ("reference", "derniere"):
        return "toutes"
    return annee


def fixed_bins(values_by_year: Mapping[int, object], methode: str = "quantiles", k: int = 5,
               annee: str | int = "reference", bornes=None, n_territoires: int | None = None) -> Classes:
    """One classification shared by every millésime of an indicator.

    Parameters
    ----------
    values_by_year : ``{millesime: values}`` of one indicator (missing values ignored).
    methode, k : classification method and number of classes (``[cartes]``).
    annee : which year the breaks are computed on: ``"reference"`` (the earliest millésime, the
        comparison year), ``"derniere"`` (the latest), ``"toutes"`` (all years pooled) or a year.
    bornes : user bins (``[cartes.bornes] <indicateur> = [...]``): when given they win, whatever
        ``methode``.
    n_territoires : number of territories of the scale; with few of them (≤ :data:`PETIT_EFFECTIF`)
        fewer classes are made (:func:`classes_for_count`). None: ``k`` classes (ties may give fewer).

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
    n = int(n_territoires) if n_territoires is not None else None
    k_eff = classes_for_count(k, n) if n is not None and vals.size else k
    br = compute_breaks(vals, methode, max(k_eff, 2)) if k_eff >= 2 else np.array([])
    nom = {"quantiles": "quantiles", "fisher_jenks": "seuils naturels (Fisher-Jenks)",
           "intervalles_egaux": "intervalles égaux"}[methode]
    origine = f"{nom} de {year}" if year is not None else f"{nom}, toutes années"
    if k_eff < k and n is not None and n <= PETIT_EFFECTIF:
        origine += f", {len(br) + 1} classes pour {n} territoires"
    return Classes(tuple(float(x) for x in br), methode, year, origine)


def bench_fisher_jenks(n: int = 50_000, k: int = 5, seed: int = 0) -> dict:
    """Time Fisher-Jenks on ``n`` random values (for ``make bench``): ``{"n", "k", "secondes", "bornes"}``."""
    import time

    y = np.random.default_rng(seed).gamma(2.0, 10.0, n)
    t0 = time.perf_counter()
    br = compute_breaks(y, "fisher_jenks", k)
    return {"n": n, "k": k, "secondes": round(time.perf_counter() - t0, 3), "bornes": [float(b) for b in br]}
