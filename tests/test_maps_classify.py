"""Class breaks: exact Fisher-Jenks, quantiles, equal intervals, user bins, bins fixed across years."""

import time

import mapclassify
import numpy as np
import pytest

from observatoire.errors import ConfigError
from observatoire.fr import NBSP
from observatoire.maps.classify import (Classes, classes_for_count, compute_breaks, equal_interval_bins,
                                        fisher_jenks_breaks, fixed_bins, quantile_bins)


def test_fisher_jenks_small_by_hand():
    # {1,2,3} | {10,11,12}: within-class SSD 2 + 2 = 4, any other split is worse
    assert fisher_jenks_breaks([12, 1, 10, 2, 11, 3], 2).tolist() == [3.0, 12.0]


@pytest.mark.filterwarnings("ignore:Numba not installed")
@pytest.mark.parametrize("n", [40, 250])
def test_fisher_jenks_matches_mapclassify_exact(n):
    rng = np.random.default_rng(n)
    y = np.round(rng.gamma(2, 10, n), 1)  # ties included
    assert np.allclose(fisher_jenks_breaks(y, 5), mapclassify.FisherJenks(y, 5).bins)


def test_fisher_jenks_50000_values_finishes():
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.normal(10, 2, 20_000), rng.normal(40, 3, 20_000), rng.normal(80, 4, 10_000)])
    t0 = time.perf_counter()
    br = compute_breaks(y, "fisher_jenks", 3)
    elapsed = time.perf_counter() - t0
    print(f"Fisher-Jenks 50 000 valeurs : {elapsed:.2f} s")  # reported by make bench, not asserted
    assert len(br) == 2 and br[0] < br[1]
    # three well separated groups: the natural breaks fall in the gaps between them
    assert 15 < br[0] < 30 and 50 < br[1] < 65


def test_quantile_bins_fixed_across_years():
    # 2017 = reference year; np.percentile([10..50], 20/40/60/80) = 18, 26, 34, 42 (linear interp.)
    by_year = {2022: [5, 60, 70, 80, 90, 95], 2017: [10, 20, 30, 40, 50]}
    c = fixed_bins(by_year, "quantiles", 5, "reference")
    assert c.breaks == (18.0, 26.0, 34.0, 42.0) and c.annee == 2017
    assert "2017" in c.origine
    # the same Classes object classifies both years: identical class bounds on the two maps
    assert c.assign([17, 18, 19, 50, 100, np.nan]).tolist() == [0, 0, 1, 4, 4, -1]
    # recomputing on 2022 alone would have given other bounds: fixed bins are what makes maps comparable
    assert tuple(compute_breaks(by_year[2022], "quantiles", 5)) != c.breaks


def test_fixed_bins_year_choice():
    by_year = {2017: [1, 2, 3, 4], 2022: [10, 20, 30, 40]}
    # equal intervals of [10, 40] in 3: 20, 30
    assert fixed_bins(by_year, "intervalles_egaux", 3, "derniere").breaks == (20.0, 30.0)
    # pooled 1…40 in 3: width 13 → 14, 27
    assert fixed_bins(by_year, "intervalles_egaux", 3, "toutes").breaks == (14.0, 27.0)
    # a year with no data: nearest earlier year (2017), 1…4 in 3 → 2, 3
    assert fixed_bins(by_year, "intervalles_egaux", 3, 2019).breaks == (2.0, 3.0)


def test_configured_bins_win_and_french_labels():
    c = fixed_bins({2021: [1, 2, 3]}, "quantiles", 5, "reference", bornes=[20, 30, 40, 50])
    assert c.breaks == (20.0, 30.0, 40.0, 50.0) and c.methode == "manuelle"
    assert c.labels("%") == [f"jusqu'à 20,0{NBSP}%", f"de 20,0{NBSP}% à 30,0{NBSP}%",
                             f"de 30,0{NBSP}% à 40,0{NBSP}%", f"de 40,0{NBSP}% à 50,0{NBSP}%",
                             f"plus de 50,0{NBSP}%"]


def test_labels_keep_close_breaks_distinct():
    # 20,01 and 20,04 would both print « 20,0 % » with one decimal: two decimals are used
    assert Classes((20.01, 20.04)).labels("%")[1] == f"de 20,01{NBSP}% à 20,04{NBSP}%"
    assert Classes((20.0, 30.0)).labels("%")[1] == f"de 20,0{NBSP}% à 30,0{NBSP}%"


def test_equal_intervals_and_ties():
    assert compute_breaks(np.arange(0, 101), "intervalles_egaux", 4).tolist() == [25.0, 50.0, 75.0]
    # three equal values and one other: a single break, two classes
    assert compute_breaks([1, 1, 1, 2], "quantiles", 5).tolist() == [1.0]
    assert compute_breaks([np.nan, 3, 3], "quantiles", 5).size == 0


def test_bad_bins_and_method_raise_french_errors():
    with pytest.raises(ConfigError, match="croissante"):
        fixed_bins({2021: [1]}, bornes=[30, 20])
    with pytest.raises(ConfigError, match="inconnue"):
        compute_breaks([1, 2, 3], "jenks")
    with pytest.raises(ConfigError, match="sans bornes"):
        fixed_bins({2021: [1, 2]}, "manuelle")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("n", [3, 14, 15, 99, 1000])
def test_numpy_quantiles_and_equal_intervals_are_mapclassify(n):
    # the same definitions as mapclassify, without importing it (scipy.stats costs ~2 s per run)
    rng = np.random.default_rng(n)
    y = np.round(rng.gamma(2, 10, n), 1)
    for k in range(2, 10):
        kk = min(k, np.unique(y).size)
        assert np.allclose(quantile_bins(y, kk), mapclassify.Quantiles(y, k=kk).bins), k
        assert np.allclose(equal_interval_bins(y, k), mapclassify.EqualInterval(y, k=k).bins), k


def test_few_territories_get_fewer_classes():
    # one class per three territories (rounded up), at least 3, at most k and n
    assert [classes_for_count(5, n) for n in (16, 15, 14, 12, 9, 7, 3, 2, 1)] == [5, 5, 5, 4, 3, 3, 3, 2, 1]
    assert classes_for_count(9, 15) == 5 and classes_for_count(9, 40) == 9
    # 9 quartiers 10, 20, … 90 with 5 classes asked: 3 quantile classes, breaks at 1/3 and 2/3:
    # positions 8/3 and 16/3 → 10 + 10 × 8/3 = 36,67 and 10 + 10 × 16/3 = 63,33
    c = fixed_bins({2021: [10, 20, 30, 40, 50, 60, 70, 80, 90]}, "quantiles", 5, n_territoires=9)
    assert c.k == 3 and c.breaks == pytest.approx((36.6667, 63.3333), abs=1e-3)
    assert "3 classes pour 9 territoires" in c.origine
    # a scale of 40 territories keeps the 5 classes asked
    assert fixed_bins({2021: np.arange(40)}, "quantiles", 5, n_territoires=40).k == 5
    # configured bins still win
    assert fixed_bins({2021: [1, 2, 3]}, "quantiles", 5, bornes=[1, 2, 3, 4], n_territoires=3).k == 5
    # a single territory: one class, no break
    assert fixed_bins({2021: [7.0]}, "quantiles", 5, n_territoires=1).breaks == ()


def test_few_territories_pool_their_years():
    from observatoire.maps.classify import breaks_year

    # 15 quartiers all 10 points higher in 2022: the 2017 breaks are 12,8 / 15,6 / 18,4 / 21,2 (positions
    # 14 × 0,2 … of 10 … 24), so 13 of the 15 quartiers of 2022 (22 … 34) fall in the
    # top class; pooling the two years keeps both maps spread (and the classes shared)
    by_year = {2017: list(range(10, 25)), 2022: list(range(20, 35))}
    ref = fixed_bins(by_year, "quantiles", 5, "reference", n_territoires=15)
    assert set(ref.assign(by_year[2022])) == {3, 4} and list(ref.assign(by_year[2022])).count(4) == 13
    pooled = fixed_bins(by_year, "quantiles", 5, breaks_year("reference", 15), n_territoires=15)
    assert pooled.origine == "quantiles, toutes années"
    assert len(set(pooled.assign(by_year[2017]))) >= 3 and len(set(pooled.assign(by_year[2022]))) >= 3
    assert breaks_year("derniere", 15) == "toutes" and breaks_year("reference", 16) == "reference"
    assert breaks_year(2019, 3) == 2019
