"""Estimators: exact allocations on hand-computable crosswalks, NaN propagation, conservation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatoire.spatial.estimate import (allocate, area_weighted, dasymetric, estimate_counts,
                                           methode_effective, transpose)
from observatoire.spatial.quality import quality_class, zone_quality


def _cw():
    # Two IRIS A, B; zone Q covers 3/4 of A's area and 1/4 of B's; zone R covers the rest of B (3/4).
    # Raster population: A's population all inside Q (1.0), B's population all outside Q (0.0 → R 1.0).
    return pd.DataFrame({
        "code_iris": ["A", "B", "B"],
        "code_zone": ["Q", "Q", "R"],
        "surface_inter_m2": [75.0, 25.0, 75.0],
        "poids_surface": [0.75, 0.25, 0.75],
        "poids_dasymetrique": [1.0, 0.0, 1.0],
        "part_zone": [0.75, 0.25, 1.0],
    })


COUNTS = pd.DataFrame({"pop": [1000.0, 400.0], "pauvres": [300.0, 40.0]}, index=["A", "B"])


def test_area_weighting_exact():
    est = area_weighted(COUNTS, _cw())
    # Q: 0.75 × 1000 + 0.25 × 400 = 850 ; pauvres 0.75 × 300 + 0.25 × 40 = 235
    # R: 0.75 × 400 = 300 ; pauvres 0.75 × 40 = 30
    assert est.loc["Q", "pop"] == pytest.approx(850.0)
    assert est.loc["Q", "pauvres"] == pytest.approx(235.0)
    assert est.loc["R", "pop"] == pytest.approx(300.0)
    assert est.loc["R", "pauvres"] == pytest.approx(30.0)


def test_dasymetric_exact():
    est = dasymetric(COUNTS, _cw())
    # Q: 1 × 1000 + 0 × 400 = 1000, pauvres 300 → rate 30 % ; R: 400, pauvres 40 → 10 %
    assert est.loc["Q"].tolist() == [1000.0, 300.0]
    assert est.loc["R"].tolist() == [400.0, 40.0]


def test_dasymetric_falls_back_to_surface_where_nan():
    cw = _cw()
    cw["poids_dasymetrique"] = [np.nan, np.nan, 1.0]   # IRIS A had no raster population
    est = dasymetric(COUNTS, cw)
    # Q: 0.75 × 1000 (surface, fallback) + 0.25 × 400 (surface, fallback since B's row NaN) = 850
    assert est.loc["Q", "pop"] == pytest.approx(850.0)
    assert est.loc["R", "pop"] == pytest.approx(400.0)
    m = methode_effective(cw, "dasymetrique")
    assert m["Q"] == "surface" and m["R"] == "dasymetrique"


def test_estimate_counts_without_dasymetric_column_uses_surface():
    cw = _cw().drop(columns="poids_dasymetrique")
    est, qual = estimate_counts(COUNTS, cw)
    assert est.loc["Q", "pop"] == pytest.approx(850.0)
    assert (est.attrs["methode"] == "surface").all()
    # Q: majority IRIS = A (0.75 > 0.5); equal IRIS populations → 0.75 / (0.75 + 0.25) = 0.75 → bonne
    # R: B with 0.75 → 1.0 → bonne
    assert qual.to_dict() == {"Q": "bonne", "R": "bonne"}


def test_nan_propagates_only_when_weight_positive():
    counts = COUNTS.copy()
    counts.loc["B", "pauvres"] = np.nan          # withheld (secret)
    est, _ = estimate_counts(counts, _cw(), method="dasymetrique")
    # Q gets B with weight 0 → B's secret value does not touch it: 300 ; R gets B with weight 1 → NaN
    assert est.loc["Q", "pauvres"] == 300.0
    assert math.isnan(est.loc["R", "pauvres"])
    assert est.loc["R", "pop"] == 400.0
    est_s, _ = estimate_counts(counts, _cw(), method="surface")
    # surface: Q takes 0.25 of B → NaN
    assert math.isnan(est_s.loc["Q", "pauvres"])


def test_missing_iris_is_unknown_not_zero():
    counts = COUNTS.loc[["A"]]
    est = area_weighted(counts, _cw())
    assert math.isnan(est.loc["Q", "pop"]) and math.isnan(est.loc["R", "pop"])


def test_quality_uses_population():
    cw = _cw()
    # population-weighted majority share for Q with surface weights: A (w 0.75, P 1000) majority,
    # B (w 0.25, P 400) not: 750 / (750 + 100) = 0.882 → bonne
    q = zone_quality(cw, "poids_surface", population=pd.Series({"A": 1000.0, "B": 400.0}))
    row = q.set_index("code_zone").loc["Q"]
    assert row["n_iris"] == 2
    assert row["part_pop_iris_majoritaires"] == pytest.approx(750 / 850)
    assert row["qualite"] == "bonne"
    # a zone made only of thin slices: two IRIS at 0.2 each → share 0 → faible
    cw2 = pd.DataFrame({"code_iris": ["A", "B"], "code_zone": ["Z", "Z"], "poids_surface": [0.2, 0.2]})
    assert zone_quality(cw2)["qualite"].tolist() == ["faible"]
    assert [quality_class(x) for x in (0.7, 0.69, 0.3, 0.29)] == ["bonne", "moyenne", "moyenne", "faible"]


def test_allocate_with_series_weights_and_column():
    cw = _cw()
    w = pd.Series([0.5, 0.5, 0.5], index=cw.index)
    est = allocate(COUNTS, cw, w)
    # Q: 0.5 × 1000 + 0.5 × 400 = 700 ; R: 0.5 × 400 = 200
    assert est["pop"].tolist() == [700.0, 200.0]
    assert allocate(COUNTS, cw, "part_zone")["pop"].tolist() == [0.75 * 1000 + 0.25 * 400, 400.0]


def test_transpose_2015_to_2024():
    # QP 2015 X goes 60 % into N1 and 40 % into N2 ; QP 2015 Y goes wholly into N2.
    cw = pd.DataFrame({"code_qp2015": ["X", "X", "Y"], "code_qp2024": ["N1", "N2", "N2"],
                       "surface_inter_m2": [6.0, 4.0, 10.0], "part_source": [0.6, 0.4, 1.0],
                       "part_cible": [1.0, 4 / 14, 10 / 14]})
    counts = pd.DataFrame({"pop": [1000.0, 500.0]}, index=["X", "Y"])
    est, qual = transpose(counts, cw)
    # N1 = 0.6 × 1000 = 600 ; N2 = 0.4 × 1000 + 500 = 900
    assert est["pop"].to_dict() == {"N1": 600.0, "N2": 900.0}
    # N1: X majority (0.6) → share 1 → bonne ; N2: X 0.4 (minority), Y 1.0 → 1/1.4 = 0.714 → bonne
    assert qual.to_dict() == {"N1": "bonne", "N2": "bonne"}
    assert est.attrs["methode"] == "transposition_2015_2024"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1e5), st.lists(st.floats(0.01, 1), min_size=1, max_size=4)),
                min_size=1, max_size=8))
def test_conservation_full_cover(iris):
    # Each IRIS i is split among k zones with shares proportional to random numbers (summing to 1):
    # the sum over zones of an allocated count equals the IRIS total.
    rows, counts = [], {}
    for i, (c, parts) in enumerate(iris):
        tot = sum(parts)
        counts[f"I{i}"] = c
        for k, p in enumerate(parts):
            rows.append({"code_iris": f"I{i}", "code_zone": f"Z{(i + k) % 5}", "poids_surface": p / tot,
                         "poids_dasymetrique": np.nan if k == 0 else p / tot})
    cw = pd.DataFrame(rows)
    df = pd.DataFrame({"n": pd.Series(counts)})
    for method in ("surface", "dasymetrique"):
        est, _ = estimate_counts(df, cw, method=method)
        assert est["n"].sum() == pytest.approx(df["n"].sum(), rel=1e-9, abs=1e-6)
