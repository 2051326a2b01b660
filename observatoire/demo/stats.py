"""Simulated statistical files of the demo mirror, in exactly the official formats.

:func:`write_stats` writes, under ``dest/<source_id>/<official file name>``, every statistical file the
pipeline reads (census base-ic and base-cc for two vintages, Filosofi IRIS / QPV 2015 / communes,
data.caf.fr exports, INSEE QPV 2024 tables, the CNAM C2S and France Travail preset tables) and records
each with ``ctx.add_file(relpath, simule=True, note=…)``. EVERY VALUE IS SIMULATED (« données
simulées »); only the formats (names, members, headers, separators, decimal marks, codes) follow the
official files as documented in ``../shared/data/formats/``.

How values are simulated (so that maps and portraits look like a real territory):

- each IRIS gets a fragility ``f`` in [0, 1]: the share of its area inside the QPV 2024 perimeters,
  plus noise; rates move linearly with ``f`` (lower employment, higher poverty, more single-parent
  families and social renters inside the quartiers), with a change between the 2017 and 2022
  census vintages (and CAF 2019 → 2023);
- IRIS population totals split the commune's population (``ctx.communes.population``) across its
  IRIS (census weights: decimal counts); sub-counts never exceed their totals;
- quartier tables (QPV 2015 and 2024) are area-weighted sums of the IRIS counts (producer values
  such as medians are recomputed from the quartier's fragility);
- the commune files (base-cc, Filosofi communes) hold the territory's communes (sums of their IRIS)
  plus SIMULATED « other » communes with impossible codes (``<dep>99x``, ``599xx``) and names
  « Commune simulée … », so that département and France références can be summed;
- the quartier tables (INSEE QPV 2024 population and CNAF tables, Filosofi QP 2015, CNAM C2S and
  France Travail by QPV) hold the territory's quartiers plus SIMULATED « other » quartiers of the
  same département (:data:`N_AUTRES_QPV2024` / :data:`N_AUTRES_QPV2015`), named « Quartier simulé n »,
  with codes of the official shape that cannot exist (2024: ``QN<dep>nnZ``, a letter ANCT does not
  use; 2015: ``QP<dep>9nn``, numbers from 900 up), so that the « all quartiers of the département »
  reference can be summed. They are drawn from a child generator of ``ctx.rng`` (``rng.spawn``), which
  leaves the territory's own values as they were.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..sources import caf as caf_mod
from ..sources import cnam as cnam_mod
from ..sources import france_travail as ft_mod
from ..sources import insee as insee_mod

NOTE = "données simulées (format officiel, valeurs inventées pour la démonstration)"


@dataclass(frozen=True)
class Years:
    """Vintages to write (from ``ctx.millesimes``, i.e. ``[millesimes]`` of the configuration)."""

    rp: tuple[int, ...] = (2017, 2022)
    caf: tuple[int, ...] = (2019, 2023)
    filo: int = 2021
    cnam: int = 2023
    ft: int = 2023

    @classmethod
    def from_millesimes(cls, m: dict | None) -> "Years":
        m = m or {}

        def tup(v, d):
            if v is None:
                return d
            return tuple(sorted(int(x) for x in (v if isinstance(v, (list, tuple)) else [v])))

        d = cls()
        return cls(tup(m.get("rp"), d.rp), tup(m.get("caf"), d.caf), tup(m.get("filosofi"), (d.filo,))[-1],
                   tup(m.get("cnam"), (d.cnam,))[-1], tup(m.get("france_travail"), (d.ft,))[-1])

    def v_rp(self, year: int) -> float:
        return 1.0 if len(self.rp) < 2 else (year - self.rp[0]) / (self.rp[-1] - self.rp[0])

# Age bands from which every published age group is a sum.
BANDS = ("0002", "0305", "0610", "1114", "1517", "1819", "2024", "2529", "3039", "4044", "4554",
         "5559", "6064", "6574", "7579", "80P")
_SHARE0 = np.array([3.3, 3.5, 6.0, 5.0, 3.6, 2.4, 5.6, 5.8, 12.0, 6.3, 13.5, 6.5, 6.2, 11.0, 4.0, 5.3])
_SHARE1 = np.array([4.8, 4.7, 7.8, 6.2, 4.3, 3.0, 6.6, 6.5, 12.0, 6.0, 11.8, 5.2, 4.8, 8.4, 3.0, 4.9])
_FEM = np.array([.49, .49, .49, .49, .49, .50, .50, .51, .51, .51, .51, .52, .53, .54, .58, .66])
GROUPS = {  # published group → bands
    "0002": ["0002"], "0305": ["0305"], "0610": ["0610"], "1117": ["1114", "1517"],
    "1824": ["1819", "2024"], "2539": ["2529", "3039"], "4054": ["4044", "4554"],
    "5564": ["5559", "6064"], "6579": ["6574", "7579"], "80P": ["80P"],
    "0014": ["0002", "0305", "0610", "1114"], "1529": ["1517", "1819", "2024", "2529"],
    "3044": ["3039", "4044"], "4559": ["4554", "5559"], "6074": ["6064", "6574"],
    "75P": ["7579", "80P"], "0019": ["0002", "0305", "0610", "1114", "1517", "1819"],
    "2064": ["2024", "2529", "3039", "4044", "4554", "5559", "6064"], "65P": ["6574", "7579", "80P"],
    "1564": ["1517", "1819", "2024", "2529", "3039", "4044", "4554", "5559", "6064"],
    "1524": ["1517", "1819", "2024"], "2554": ["2529", "3039", "4044", "4554"],
    "15P": ["1517", "1819", "2024", "2529", "3039", "4044", "4554", "5559", "6064", "6574", "7579", "80P"],
}


# ---------------------------------------------------------------------------------------------------
# Census counts (pure functions of f, population, vintage and a random generator)
# ---------------------------------------------------------------------------------------------------


def _lerp(a, b, f):
    return a + (b - a) * f


def simulate_census(f: np.ndarray, pop: np.ndarray, v: float, rng: np.random.Generator
                    ) -> dict[str, pd.DataFrame]:
    """Census counts for units of fragility ``f`` and population ``pop`` at vintage ``v`` (0..1).

    Returns theme → DataFrame of NORMALISED variables (``P_POP``…), one row per unit, consistent:
    every sub-count ≤ its total, age groups sum to the population.
    """
    n = len(f)
    f = np.clip(f, 0, 1)
    fc = f[:, None]
    shares = _lerp(_SHARE0, _SHARE1, fc) * rng.lognormal(0, 0.06, (n, len(BANDS)))
    shares /= shares.sum(axis=1, keepdims=True)
    band = shares * pop[:, None]
    fem = np.clip(_FEM[None, :] + rng.normal(0, 0.01, (n, len(BANDS))), 0.4, 0.7)
    bf = band * fem
    bh = band - bf
    idx = {b: i for i, b in enumerate(BANDS)}

    def g(arr, grp):
        return arr[:, [idx[b] for b in GROUPS[grp]]].sum(axis=1)

    out: dict[str, dict[str, np.ndarray]] = {t: {} for t in insee_mod.VARIABLES_BASE_IC}
    # --- evol-struct-pop
    e = out["evol-struct-pop"]
    e["P_POP"] = band.sum(axis=1)
    for grp in ("0002", "0305", "0610", "1117", "1824", "2539", "4054", "5564", "6579", "80P",
                "0014", "1529", "3044", "4559", "6074", "75P", "0019", "2064", "65P"):
        e[f"P_POP{grp}"] = g(band, grp)
    for sx, arr in (("H", bh), ("F", bf)):
        e[f"P_POP{sx}"] = arr.sum(axis=1)
        for grp in ("0014", "1529", "3044", "4559", "6074", "75P", "0019", "2064", "65P"):
            e[f"P_{sx}{grp}"] = g(arr, grp)
    pcs_share = np.stack([_lerp(0.002, 0.0, f), _lerp(0.04, 0.02, f), _lerp(0.10, 0.03, f),
                          _lerp(0.16, 0.09, f), _lerp(0.16, 0.17, f), _lerp(0.12, 0.16, f),
                          _lerp(0.30, 0.25, f), _lerp(0.118, 0.28, f)], axis=1)
    pcs_share /= pcs_share.sum(axis=1, keepdims=True)
    for sx, arr in (("POP", band), ("H", bh), ("F", bf)):
        tot = g(arr, "15P")
        e[f"C_{sx}15P"] = tot
        for k in range(8):
            e[f"C_{sx}15P_PCS{k + 1}"] = tot * pcs_share[:, k]
    imm = _lerp(0.07, 0.20, f) + rng.normal(0, 0.01, n).clip(-0.03, 0.03)
    e["P_POP_IMM"] = e["P_POP"] * imm
    e["P_POP_ETR"] = e["P_POP"] * imm * 0.6
    e["P_POP_FR"] = e["P_POP"] - e["P_POP_ETR"]
    e["P_PMEN"] = e["P_POP"] * 0.985
    e["P_PHORMEN"] = e["P_POP"] - e["P_PMEN"]

    # --- activite-residents
    a = out["activite-residents"]
    trend = v * _lerp(0.02, 0.012, f)  # employment rises a little more outside the quartiers
    act_rate = {"1524": _lerp(0.42, 0.36, f), "2554": _lerp(0.93, 0.80, f), "5564": _lerp(0.62, 0.48, f)}
    chom_rate = {"1524": _lerp(0.20, 0.40, f), "2554": _lerp(0.08, 0.27, f), "5564": _lerp(0.07, 0.20, f)}
    fem_act = _lerp(0.94, 0.82, f)  # women's activity relative to men's
    for ag in ("1524", "2554", "5564"):
        h = g(bh, ag)
        w = g(bf, ag)
        hr = np.clip(act_rate[ag] * (2 - fem_act) * 0.97, 0, 0.98)
        wr = np.clip(act_rate[ag] * fem_act, 0, 0.98)
        c = np.clip(chom_rate[ag] - trend, 0.02, 0.6)
        a[f"P_POP{ag}"], a[f"P_H{ag}"], a[f"P_F{ag}"] = h + w, h, w
        a[f"P_HACT{ag}"], a[f"P_FACT{ag}"] = h * hr, w * wr
        a[f"P_ACT{ag}"] = a[f"P_HACT{ag}"] + a[f"P_FACT{ag}"]
        a[f"P_HACTOCC{ag}"] = a[f"P_HACT{ag}"] * (1 - c)
        a[f"P_FACTOCC{ag}"] = a[f"P_FACT{ag}"] * (1 - c * 1.05).clip(0, 1)
        a[f"P_ACTOCC{ag}"] = a[f"P_HACTOCC{ag}"] + a[f"P_FACTOCC{ag}"]
        a[f"P_CHOM{ag}"] = a[f"P_ACT{ag}"] - a[f"P_ACTOCC{ag}"]
    for pre in ("P_POP", "P_H", "P_F", "P_ACT", "P_HACT", "P_FACT", "P_ACTOCC", "P_HACTOCC",
                "P_FACTOCC", "P_CHOM"):
        a[f"{pre}1564"] = a[f"{pre}1524"] + a[f"{pre}2554"] + a[f"{pre}5564"]
    a["P_INACT1564"] = a["P_POP1564"] - a["P_ACT1564"]
    a["P_ETUD1564"] = np.minimum(a["P_INACT1564"], g(band, "1524") * _lerp(0.55, 0.42, f))
    a["P_RETR1564"] = np.minimum(a["P_INACT1564"] - a["P_ETUD1564"], g(band, "5564") * 0.25)
    a["P_AINACT1564"] = a["P_INACT1564"] - a["P_ETUD1564"] - a["P_RETR1564"]
    a["P_ACTOCC15P"] = a["P_ACTOCC1564"] + g(band, "65P") * 0.02
    a["P_SAL15P"] = a["P_ACTOCC15P"] * _lerp(0.86, 0.91, f)
    a["P_NSAL15P"] = a["P_ACTOCC15P"] - a["P_SAL15P"]
    a["P_SAL15P_TP"] = a["P_SAL15P"] * _lerp(0.16, 0.26, f)
    prec = {"P_SAL15P_CDD": _lerp(0.09, 0.15, f), "P_SAL15P_INTERIM": _lerp(0.025, 0.07, f),
            "P_SAL15P_EMPAID": _lerp(0.01, 0.03, f), "P_SAL15P_APPR": _lerp(0.02, 0.025, f)}
    for k, s in prec.items():
        a[k] = a["P_SAL15P"] * (s - v * 0.005).clip(0.001, 1)
    a["P_SAL15P_CDI"] = a["P_SAL15P"] - sum(a[k] for k in prec)
    a["C_ACTOCC15P"] = a["P_ACTOCC15P"] * rng.uniform(0.99, 1.01, n)
    modes = np.stack([_lerp(0.03, 0.05, f), _lerp(0.05, 0.09, f), _lerp(0.02, 0.02, f),
                      _lerp(0.02, 0.02, f), _lerp(0.80, 0.62, f), _lerp(0.08, 0.20, f)], axis=1)
    modes /= modes.sum(axis=1, keepdims=True)
    for k, name in enumerate(("PAS", "MAR", "VELO", "2ROUESMOT", "VOIT", "TCOM")):
        a[f"C_ACTOCC15P_{name}"] = a["C_ACTOCC15P"] * modes[:, k]

    # --- diplomes-formation
    d = out["diplomes-formation"]
    pops = {"0205": band[:, idx["0002"]] / 3 + band[:, idx["0305"]], "0610": g(band, "0610"),
            "1114": band[:, idx["1114"]], "1517": band[:, idx["1517"]], "1824": g(band, "1824"),
            "2529": band[:, idx["2529"]],
            "30P": band[:, [idx[b] for b in BANDS[8:]]].sum(axis=1)}
    scol = {"0205": np.full(n, 0.75), "0610": np.full(n, 0.995), "1114": np.full(n, 0.99),
            "1517": _lerp(0.97, 0.89, f) + v * 0.01, "1824": _lerp(0.55, 0.33, f) + v * 0.01,
            "2529": _lerp(0.07, 0.04, f), "30P": np.full(n, 0.005)}
    for k, p in pops.items():
        d[f"P_POP{k}"] = p
    for k, p in pops.items():
        d[f"P_SCOL{k}"] = p * np.clip(scol[k], 0, 1)
    d["P_NSCOL15P"] = g(band, "15P") - (d["P_SCOL1517"] + d["P_SCOL1824"] + d["P_SCOL2529"] + d["P_SCOL30P"])
    dip = np.stack([_lerp(0.20, 0.42, f) - v * 0.03, _lerp(0.05, 0.06, f), _lerp(0.24, 0.27, f),
                    _lerp(0.17, 0.14, f), _lerp(0.13, 0.06, f), _lerp(0.11, 0.03, f),
                    _lerp(0.10, 0.02, f)], axis=1).clip(0.005, 1)
    dip /= dip.sum(axis=1, keepdims=True)
    for k, name in enumerate(("DIPLMIN", "BEPC", "CAPBEP", "BAC", "SUP2", "SUP34", "SUP5")):
        d[f"P_NSCOL15P_{name}"] = d["P_NSCOL15P"] * dip[:, k]

    # --- couples-familles-menages
    c = out["couples-familles-menages"]
    pmen = e["P_PMEN"]
    alone = {"1519": 0.01, "2024": _lerp(0.12, 0.08, f), "2539": _lerp(0.18, 0.14, f),
             "4054": _lerp(0.14, 0.16, f), "5564": _lerp(0.20, 0.24, f), "6579": _lerp(0.28, 0.33, f),
             "80P": _lerp(0.48, 0.55, f)}
    age_cfm = {"1519": band[:, idx["1517"]] + band[:, idx["1819"]], "2024": band[:, idx["2024"]],
               "2539": g(band, "2539"), "4054": g(band, "4054"), "5564": g(band, "5564"),
               "6579": g(band, "6579"), "80P": band[:, idx["80P"]]}
    c["P_POP15P"] = sum(age_cfm.values())
    for k, p in age_cfm.items():
        c[f"P_POP{k}"] = p
    for k, p in age_cfm.items():
        c[f"P_POP{k}_PSEUL"] = p * alone[k] * (1 + v * 0.04)
    c["P_POP15P_PSEUL"] = sum(c[f"P_POP{k}_PSEUL"] for k in age_cfm)
    c["C_MENPSEUL"] = c["P_POP15P_PSEUL"] * rng.uniform(0.99, 1.01, n)
    c["C_MENHSEUL"] = c["C_MENPSEUL"] * 0.44
    c["C_MENFSEUL"] = c["C_MENPSEUL"] - c["C_MENHSEUL"]
    size_other = _lerp(2.75, 3.2, f)
    c["C_MENFAM"] = (pmen - c["C_MENPSEUL"]) / size_other * 0.93
    c["C_MENSFAM"] = (pmen - c["C_MENPSEUL"]) / size_other * 0.07
    c["C_MEN"] = c["C_MENPSEUL"] + c["C_MENSFAM"] + c["C_MENFAM"]
    mono = np.clip(_lerp(0.13, 0.33, f) + v * _lerp(0.01, 0.025, f), 0, 0.6)
    coupae = _lerp(0.45, 0.42, f)
    c["C_MENFAMMONO"] = c["C_MENFAM"] * mono
    c["C_MENCOUPAENF"] = c["C_MENFAM"] * coupae
    c["C_MENCOUPSENF"] = c["C_MENFAM"] - c["C_MENFAMMONO"] - c["C_MENCOUPAENF"]
    c["C_PMEN"] = pmen
    c["C_FAM"] = c["C_MENFAM"] * 1.02
    c["C_FAMMONO"] = c["C_FAM"] * mono
    c["C_HMONO"] = c["C_FAMMONO"] * 0.16
    c["C_FMONO"] = c["C_FAMMONO"] - c["C_HMONO"]
    c["C_COUPAENF"] = c["C_FAM"] * coupae
    c["C_COUPSENF"] = c["C_FAM"] - c["C_FAMMONO"] - c["C_COUPAENF"]

    # --- logement
    lg = out["logement"]
    rp = c["C_MEN"] * rng.uniform(0.995, 1.005, n)
    vac = np.clip(_lerp(0.075, 0.11, f) + v * 0.008, 0, 0.3)
    rsec = np.full(n, 0.01)
    lg["P_RP"] = rp
    lg["P_LOG"] = rp / (1 - vac - rsec)
    lg["P_RSECOCC"] = lg["P_LOG"] * rsec
    lg["P_LOGVAC"] = lg["P_LOG"] - lg["P_RP"] - lg["P_RSECOCC"]
    mais = _lerp(0.70, 0.35, f)
    lg["P_MAISON"] = lg["P_LOG"] * mais
    lg["P_APPART"] = lg["P_LOG"] - lg["P_MAISON"]
    hlm = np.clip(_lerp(0.10, 0.58, f) - v * 0.01, 0, 0.9)
    loc = np.clip(hlm + _lerp(0.24, 0.17, f), 0, 0.97)
    lg["P_RP_PROP"] = rp * (1 - loc - 0.012)
    lg["P_RP_LOC"] = rp * loc
    lg["P_RP_LOCHLMV"] = rp * hlm
    lg["P_RP_GRAT"] = rp - lg["P_RP_PROP"] - lg["P_RP_LOC"]
    ach = np.stack([_lerp(0.15, 0.10, f), _lerp(0.12, 0.08, f), _lerp(0.20, 0.35, f),
                    _lerp(0.25, 0.30, f), _lerp(0.15, 0.10, f)], axis=1)
    lg["P_RP_ACHTOT"] = rp * 0.97
    for k, name in enumerate(("ACH19", "ACH45", "ACH70", "ACH90", "ACH05")):
        lg[f"P_RP_{name}"] = lg["P_RP_ACHTOT"] * ach[:, k]
    car = np.clip(_lerp(0.88, 0.55, f) + v * 0.01, 0, 1)
    lg["P_RP_VOIT1P"] = rp * car
    lg["P_RP_VOIT1"] = lg["P_RP_VOIT1P"] * _lerp(0.55, 0.75, f)
    lg["P_RP_VOIT2P"] = lg["P_RP_VOIT1P"] - lg["P_RP_VOIT1"]
    lg["P_NPER_RP"] = pmen
    # complementary exploitation: occupancy standard (formats file: C2x_RP_NORME, SOUSOCC, SUROCC)
    crp = rp * rng.uniform(0.99, 1.01, n)
    sur = np.clip(_lerp(0.04, 0.14, f), 0, 0.5)
    sous = np.clip(_lerp(0.70, 0.40, f), 0, 0.9)
    lg["C_RP"] = crp
    lg["C_RP_SUROCC_MOD"] = crp * sur * 0.8
    lg["C_RP_SUROCC_ACC"] = crp * sur * 0.2
    lg["C_RP_SOUSOCC_MOD"] = crp * sous * 0.35
    lg["C_RP_SOUSOCC_ACC"] = crp * sous * 0.35
    lg["C_RP_SOUSOCC_TACC"] = crp * sous * 0.30
    lg["C_RP_NORME"] = crp * (1 - sur - sous)
    frames = {t: pd.DataFrame(cols) for t, cols in out.items()}
    # « _qpv »: cross-tabulations that only the (ASSUMED) INSEE quartier tables carry
    alone7579 = band[:, idx["7579"]] * alone["6579"] * 1.15
    frames["_qpv"] = pd.DataFrame({
        "P_POP75P_PSEUL": alone7579 + c["P_POP80P_PSEUL"],
        "P_F1524": a["P_F1524"],
        "P_FSCOL1524": bf[:, idx["1517"]] * np.clip(scol["1517"] + 0.01, 0, 1)
        + (bf[:, idx["1819"]] + bf[:, idx["2024"]]) * np.clip(scol["1824"] + 0.03, 0, 1),
        "P_SCOL1524": d["P_SCOL1517"] + d["P_SCOL1824"] * 0.93,
        "P_SAL15P_PREC": sum(a[k] for k in prec),
        "P_POP1625": band[:, idx["1517"]] * 2 / 3 + band[:, idx["1819"]] + band[:, idx["2024"]]
        + band[:, idx["2529"]] / 5,
    })
    neet = np.clip(_lerp(0.12, 0.45, f) - 0.02 * v, 0, 1)
    frames["_qpv"]["P_NEET1625"] = frames["_qpv"]["P_POP1625"] * neet
    return frames


# Official-looking variable order for the 2022 evol-struct-pop header (VERIFIED-as-reported) and
# the PCS column names of each vintage (2017: CS1..CS8; 2022: STAT_GSEC groups).
_GSEC = ("STAT_GSEC11_21", "STAT_GSEC12_22", "STAT_GSEC13_23", "STAT_GSEC14_24", "STAT_GSEC15_25",
         "STAT_GSEC16_26", "STAT_GSEC32", "STAT_GSEC40")


def _pcs_name(norm: str, year: int) -> str:
    if "_PCS" not in norm:
        return norm
    base, k = norm.rsplit("_PCS", 1)
    return f"{base}_{_GSEC[int(k) - 1]}" if year >= 2022 else f"{base}_CS{k}"


def _official_columns(theme: str, norm_cols: list[str], year: int) -> dict[str, str]:
    """normalised name → official column name with the vintage prefix (``P_POP`` → ``P22_POP``)."""
    yy = f"{year % 100:02d}"
    out = {}
    for c in norm_cols:
        off = _pcs_name(c, year)
        out[c] = f"{off[0]}{yy}{off[1:]}"
    return out


def _evol_order(df: pd.DataFrame) -> list[str]:
    order = ["P_POP"] + [f"P_POP{g}" for g in ("0002", "0305", "0610", "1117", "1824", "2539", "4054",
                                                 "5564", "6579", "80P", "0014", "1529", "3044", "4559",
                                                 "6074", "75P", "0019", "2064", "65P")]
    for sx in ("H", "F"):
        order += [f"P_POP{sx}"] + [f"P_{sx}{g}" for g in ("0014", "1529", "3044", "4559", "6074", "75P",
                                                          "0019", "2064", "65P")]
    for sx in ("POP", "H", "F"):
        order += [f"C_{sx}15P"] + [f"C_{sx}15P_PCS{k}" for k in range(1, 9)]
    order += ["P_POP_FR", "P_POP_ETR", "P_POP_IMM", "P_PMEN", "P_PHORMEN"]
    assert set(order) == set(df.columns), set(df.columns) ^ set(order)
    return order


# ---------------------------------------------------------------------------------------------------
# Formatting and writing
# ---------------------------------------------------------------------------------------------------


def _num(x: float, decimal: str = ".") -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    if float(x).is_integer():
        return str(int(x))
    s = f"{x:.15g}"
    return s.replace(".", decimal) if decimal != "." else s


def _csv(header: list[str], rows: list[list], decimal: str = ".") -> str:
    lines = [";".join(header)]
    for r in rows:
        lines.append(";".join(v if isinstance(v, str) else _num(v, decimal) for v in r))
    return "\r\n".join(lines) + "\r\n"


def _write(dest: Path, ctx, rel: str, content: bytes, note: str) -> None:
    p = dest / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".part")
    tmp.write_bytes(content)
    tmp.replace(p)
    ctx.add_file(rel, simule=True, note=note)


def _zip(members: dict[str, str], encoding: str = "utf-8") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode(encoding))
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------------
# Territory preparation
# ---------------------------------------------------------------------------------------------------


def _dep_code(ctx) -> str:
    d = getattr(ctx, "departement", None)
    if isinstance(d, str):
        return d
    for key in ("code", "dep"):
        try:
            return str(d[key] if not hasattr(d, "iloc") else d[key].iloc[0])
        except Exception:  # noqa: BLE001 - any other shape: fall back on the commune codes
            continue
    return str(ctx.communes["code_insee"].iloc[0])[:2]


def _iris_table(ctx, rng) -> pd.DataFrame:
    """One row per IRIS: codes, names, fragility f (share of area in QPV 2024 + noise), populations."""
    iris = ctx.iris.to_crs(2154) if ctx.iris.crs is not None else ctx.iris
    qpv = ctx.qpv2024.to_crs(iris.crs) if ctx.qpv2024.crs is not None else ctx.qpv2024
    union = qpv.geometry.union_all() if len(qpv) else None
    area = iris.geometry.area.to_numpy()
    inside = iris.geometry.intersection(union).area.to_numpy() if union is not None else np.zeros(len(iris))
    q = np.divide(inside, area, out=np.zeros(len(iris)), where=area > 0)
    f = np.clip(0.05 + 1.4 * q ** 0.8 + rng.normal(0, 0.04, len(iris)), 0, 1)
    t = pd.DataFrame({"code_iris": iris["code_iris"].astype(str).to_numpy(),
                      "code_insee": iris["code_insee"].astype(str).to_numpy(),
                      "nom_iris": iris["nom_iris"].astype(str).to_numpy(),
                      "type_iris": iris["type_iris"].astype(str).to_numpy(), "f": f, "q": q})
    pops = ctx.communes.set_index(ctx.communes["code_insee"].astype(str))["population"]
    noms = ctx.communes.set_index(ctx.communes["code_insee"].astype(str))["nom"]
    t["pop22"] = 0.0
    if "population" in iris.columns:  # the geographic step already split the commune populations
        t["pop22"] = pd.to_numeric(iris["population"], errors="coerce").fillna(0).to_numpy(dtype=float)
    for com, idx in t.groupby("code_insee").groups.items():
        if t.loc[idx, "pop22"].sum() > 0:
            continue
        total = float(pops.get(com, np.nan))
        if not np.isfinite(total) or total <= 0:
            total = 2000.0 * len(idx)
        w = rng.dirichlet(np.full(len(idx), 12.0))
        t.loc[idx, "pop22"] = total * w
    t["pop17"] = t["pop22"] * (1 + 0.02 * (t["f"] - 0.3) + rng.normal(0, 0.015, len(t)))
    t["nom_commune"] = t["code_insee"].map(noms).fillna(t["code_insee"]).astype(str)
    t["geom"] = iris.geometry.to_numpy()
    return t


def _other_communes(dep: str, territory_pop: float, rng) -> pd.DataFrame:
    """Simulated communes outside the territory: the rest of the département and of France.

    Codes cannot exist (``<dep>99x`` / ``<dep>9xx`` above every real commune number).
    """
    rows = []
    rest = max(2_600_000 - territory_pop, 200_000)
    for k in range(40):
        rows.append((f"{dep}{901 + k:03d}"[-5:], f"Commune simulée {dep}-{k + 1} (hors territoire)", dep,
                     rng.uniform(0.05, 0.45), rest / 40 * rng.uniform(0.5, 1.5)))
    deps = [f"{i:02d}" for i in range(1, 96) if i != 20 and f"{i:02d}" != dep]
    for d in deps:
        fd = rng.uniform(0.05, 0.3)
        for k in range(3):
            rows.append((f"{d}99{k + 1}", f"Commune simulée {d}-{k + 1}", d,
                         float(np.clip(fd + rng.normal(0, 0.05), 0, 1)), 700_000 / 3 * rng.uniform(0.4, 1.6)))
    t = pd.DataFrame(rows, columns=["code", "nom", "dep", "f", "pop22"])
    t["pop17"] = t["pop22"] * rng.uniform(0.97, 1.02, len(t))
    return t


#: Simulated quartiers of the département outside the territory, per geography.
N_AUTRES_QPV2024 = 40
N_AUTRES_QPV2015 = 30
LIBELLE_AUTRE_QPV = "Quartier simulé {n}"
NOTE_AUTRES_QPV = (" ; plus des quartiers « simulés » hors territoire du même département (codes inexistants) "
                   "pour la référence « quartiers prioritaires du département »")


def _child_rng(rng) -> np.random.Generator:
    """An independent generator derived from ``rng`` WITHOUT advancing its stream (so the values
    drawn from ``rng`` afterwards, hence the territory's files, do not change)."""
    try:
        return rng.spawn(1)[0]
    except (AttributeError, TypeError, ValueError):  # a generator without seed sequence
        return np.random.default_rng(2024)


def _qp_dep(dep: str) -> str:
    """The 3 characters of a département inside a quartier code: ``59`` → ``059``, ``971`` → ``971``."""
    return str(dep).zfill(3)


def _other_quartiers(dep: str, millesime: int, territory_codes, n: int, rng) -> pd.DataFrame:
    """SIMULATED quartiers of département ``dep`` outside the territory (index: code).

    Codes have the official shape but cannot exist: 2024 ``QN<ddd><nn>Z`` (ANCT letters are M, N,
    I…, never Z), 2015 ``QP<ddd><9nn>`` (numbers from 900 up). Names « Quartier simulé n ».
    Columns ``libelle``, ``pop22``, ``pop17`` (population around 3 000, at least the 1 000 a quartier
    needs, and its change between census vintages) and ``f`` (fragility drawn like the territory's
    quartiers: see :func:`_qpv_units`). Empty when the département's codes would not match the
    official patterns the readers accept (e.g. ``2A``).
    """
    d = _qp_dep(dep)
    taken = {str(c) for c in territory_codes}
    if millesime >= 2024:
        cands = [f"QN{d}{k:02d}Z" for k in range(1, 100)]
        niveau = "qpv2024"
    else:
        cands = [f"QP{d}{k:03d}" for k in range(900, 1000)]
        niveau = "qpv2015"
    codes = [c for c in cands if c not in taken][:n]
    if not codes or insee_mod.niveau_of_codes(codes) != niveau:
        return pd.DataFrame(columns=["libelle", "pop22", "pop17", "f"], index=pd.Index([], name="code_qp"))
    k = len(codes)
    u = pd.DataFrame(index=pd.Index(codes, name="code_qp"))
    u["libelle"] = [LIBELLE_AUTRE_QPV.format(n=i + 1) for i in range(k)]
    u["pop22"] = np.clip(rng.lognormal(np.log(3000.0), 0.6, k), 1000.0, 15000.0)
    u["pop17"] = u["pop22"] * rng.uniform(0.96, 1.05, k)
    # as _qpv_units: 0.68 + 0.3 × (mean fragility of the IRIS touched) + noise, in [0.55, 1]
    u["f"] = np.clip(0.68 + 0.3 * rng.uniform(0.3, 0.95, k) + rng.normal(0, 0.04, k), 0.55, 1)
    return u


def _area_weights(ctx, it: pd.DataFrame, qpv, code_col: str) -> pd.DataFrame:
    """IRIS × quartier: share of the IRIS area inside the quartier (code_iris, code_qp, w)."""
    import geopandas as gpd

    g = gpd.GeoDataFrame({"code_iris": it["code_iris"]}, geometry=list(it["geom"]), crs=2154)
    q = qpv.to_crs(2154)[[code_col, "geometry"]].rename(columns={code_col: "code_qp"})
    inter = gpd.overlay(g, q, how="intersection", keep_geom_type=True)
    inter["w"] = inter.geometry.area / inter["code_iris"].map(g.set_index("code_iris").geometry.area)
    return pd.DataFrame(inter[["code_iris", "code_qp", "w"]])


def _qpv_units(it: pd.DataFrame, weights: pd.DataFrame, codes: list[str], rng) -> pd.DataFrame:
    """Quartiers as INSEE sees them from geolocated records: population (denser than the average of
    the IRIS they cut: area-weighted population × 1.8, at least 1 000–1 800 inhabitants as the law
    requires, at most 90 % of the IRIS they touch) and a high fragility (quartiers are selected on
    low income)."""
    m = weights.merge(it[["code_iris", "f", "pop22", "pop17"]], on="code_iris")
    m["p"] = m["w"] * m["pop22"]
    g = m.groupby("code_qp").agg(p=("p", "sum"), touched=("pop22", "sum"), fp=("f", "mean"))
    ratio = (it["pop17"].sum() / it["pop22"].sum())
    u = pd.DataFrame(index=pd.Index(codes, name="code_qp"))
    floor = pd.Series(rng.uniform(1000, 1800, len(g)), index=g.index)  # a QPV has ≥ 1 000 inhabitants
    u["pop22"] = np.minimum(np.maximum(g["p"] * 1.8, floor), g["touched"] * 0.9).reindex(u.index).fillna(1000.0)
    u["pop17"] = u["pop22"] * ratio
    u["f"] = np.clip(0.68 + 0.3 * g["fp"].reindex(u.index).fillna(0.5) + rng.normal(0, 0.04, len(u)), 0.55, 1)
    return u


# ---------------------------------------------------------------------------------------------------
# The files
# ---------------------------------------------------------------------------------------------------


def _write_base_ic(dest, ctx, it, census: dict[int, dict[str, pd.DataFrame]], dep: str):
    for year, themes in census.items():
        for theme, df in themes.items():
            if theme.startswith("_"):
                continue
            short = insee_mod._THEME_IDS[theme]
            norm = _evol_order(df) if theme == "evol-struct-pop" else list(df.columns)
            off = _official_columns(theme, norm, year)
            if year >= 2020:
                ids = ["IRIS", "COM", "TYP_IRIS", "LAB_IRIS"]
                idv = [[r.code_iris, r.code_insee, r.type_iris, "1"] for r in it.itertuples()]
            else:  # 2017 layout (IRIS;REG;DEP;UU2010;COM;LIBCOM;TRIRIS;GRD_QUART;LIBIRIS;…)
                ids = ["IRIS", "REG", "DEP", "UU2010", "COM", "LIBCOM", "TRIRIS", "GRD_QUART", "LIBIRIS",
                       "TYP_IRIS", "MODIF_IRIS", "LAB_IRIS"]
                idv = [[r.code_iris, "32", dep, "59702", r.code_insee, r.nom_commune, "ZZZZZZ",
                        r.code_insee + r.code_iris[5:7], r.nom_iris, r.type_iris, "00", "1"]
                       for r in it.itertuples()]
            vals = df[norm].to_numpy()
            rows = [i + list(v) for i, v in zip(idv, vals)]
            text = _csv(ids + [off[c] for c in norm], rows)
            fname = f"base-ic-{theme}-{year}_csv.zip"
            member = f"base-ic-{theme}-{year}.CSV"
            official = theme == "evol-struct-pop" and year >= 2022
            entete = "officiel (RP 2022, rapporté)" if official else "reconstitué (variables déduites)"
            _write(dest, ctx, f"insee_rp_ic_{short}/{fname}", _zip({member: text}), f"{NOTE} ; en-tête {entete}")


def _write_base_cc(dest, ctx, com_census: dict[int, dict[str, pd.DataFrame]], com_meta: pd.DataFrame):
    for year, themes in com_census.items():
        for theme, df in themes.items():
            if theme.startswith("_"):
                continue
            short = insee_mod._THEME_IDS[theme]
            cc = insee_mod._cc_name(theme)
            norm = _evol_order(df) if theme == "evol-struct-pop" else list(df.columns)
            off = _official_columns(theme, norm, year)
            ids = ["CODGEO", "REG", "DEP", "LIBGEO"]
            idv = com_meta[["code", "reg", "dep", "nom"]].astype(str).to_numpy().tolist()
            rows = [i + list(v) for i, v in zip(idv, df[norm].to_numpy())]
            text = _csv(ids + [off[c] for c in norm], rows)
            _write(dest, ctx, f"insee_rp_cc_{short}/base-cc-{cc}-{year}_csv.zip",
                   _zip({f"base-cc-{cc}-{year}.CSV": text}),
                   f"{NOTE} ; communes du territoire (somme de leurs IRIS) et communes « simulées » "
                   "hors territoire (codes inexistants) pour les références département et France")


def _filosofi_values(f: np.ndarray, rng) -> dict[str, np.ndarray]:
    """Producer values of Filosofi DISP (€/UC/an, %) for fragility f."""
    n = len(f)
    med = _lerp(23_500, 14_200, f) * rng.lognormal(0, 0.03, n)
    d1 = med * _lerp(0.52, 0.60, f)
    d9 = med * _lerp(1.95, 1.75, f)
    dec = {k: d1 + (med - d1) * (k - 1) / 4 for k in (1, 2, 3, 4)}
    dec.update({k: med + (d9 - med) * (k - 5) / 4 for k in (6, 7, 8, 9)})
    q1 = (dec[2] + dec[3]) / 2
    q3 = (dec[7] + dec[8]) / 2
    tp60 = np.clip(_lerp(9.0, 45.0, f) + rng.normal(0, 1.5, n), 2, 70)
    pact = np.clip(_lerp(74.0, 56.0, f) + rng.normal(0, 1.5, n), 20, 95)
    ppsoc = np.clip(_lerp(4.5, 24.0, f) + rng.normal(0, 1.0, n), 0.5, 60)
    out = {"TP60": tp60, "INCERT": np.zeros(n), "Q1": q1, "MED": med, "Q3": q3, "EQ": (q3 - q1) / med}
    for k, val in dec.items():
        out[f"D{k}"] = val
    out["RD"] = d9 / d1
    out["S80S20"] = out["RD"] * 1.45
    out["GI"] = np.clip(_lerp(0.27, 0.33, f), 0, 1)
    out["PACT"] = pact
    out["PTSA"] = pact * 0.92
    out["PCHO"] = _lerp(2.0, 6.0, f)
    out["PBEN"] = pact - out["PTSA"]
    out["PPAT"] = _lerp(9.0, 3.0, f)
    out["PIMPOT"] = -_lerp(15.0, 6.0, f)
    # shares of disposable income: activité + pensions + patrimoine + prestations + impôts (< 0) = 100
    out["PPEN"] = 100 - pact - out["PPAT"] - ppsoc - out["PIMPOT"]
    out["PPSOC"] = ppsoc
    out["PPFAM"] = ppsoc * 0.3
    out["PPMINI"] = ppsoc * 0.4
    out["PPLOGT"] = ppsoc * 0.3
    return out


_FILO_ORDER = ("TP60", "INCERT", "Q1", "MED", "Q3", "EQ", "D1", "D2", "D3", "D4", "D6", "D7", "D8", "D9",
               "RD", "S80S20", "GI", "PACT", "PTSA", "PCHO", "PBEN", "PPEN", "PPAT", "PPSOC", "PPFAM",
               "PPMINI", "PPLOGT", "PIMPOT")


def _fmt_filo(name: str, x: float) -> str:
    if name in ("TP60", "PACT", "PTSA", "PCHO", "PBEN", "PPEN", "PPAT", "PPSOC", "PPFAM", "PPMINI",
                "PPLOGT", "PIMPOT"):
        return f"{x:.1f}".replace(".", ",")
    if name in ("EQ", "RD", "S80S20", "GI"):
        return f"{x:.3f}".replace(".", ",") if name == "GI" else f"{x:.1f}".replace(".", ",")
    if name == "INCERT":
        return "0"
    return str(int(round(x / 10.0) * 10))


def _write_filosofi_iris(dest, ctx, it, pops_com, rng, y: Years):
    yy = f"{y.filo % 100:02d}"
    big = it["code_insee"].map(pops_com).fillna(0) >= 5000  # Filosofi IRIS: communes ≥ 5 000 hab.
    sub = it[big.to_numpy()]
    vals = _filosofi_values(sub["f"].to_numpy(), rng)
    header = ["IRIS"] + [f"DISP_{v}{yy}" for v in _FILO_ORDER] + [f"DISP_NOTE{yy}"]
    # the smallest IRIS (too few households) are withheld: « s » (secret), the next one « nd »
    order = np.argsort(sub["pop22"].to_numpy())
    n_s = max(1, int(round(0.03 * len(sub)))) if len(sub) >= 3 else 0
    secret_rows, nd_rows = set(order[:n_s]), set(order[n_s:n_s + 1]) if n_s else set()
    rows = []
    for i, r in enumerate(sub.itertuples()):
        cells = [_fmt_filo(v, vals[v][i]) for v in _FILO_ORDER]
        if i in secret_rows:
            cells = ["s"] * len(cells)
        elif i in nd_rows:
            cells = ["nd" if v in ("D1", "D9", "RD", "S80S20", "Q1", "Q3", "EQ") else c
                     for v, c in zip(_FILO_ORDER, cells)]
        rows.append([r.code_iris] + cells + ["0"])
    text = "\r\n".join(";".join(x) for x in [header] + rows) + "\r\n"
    meta = "COD_VAR;LIB_VAR\r\n" + "".join(f"DISP_{v}{yy};{v}\r\n" for v in _FILO_ORDER)
    _write(dest, ctx, f"insee_filosofi_iris/BASE_TD_FILO_IRIS_{y.filo}_DISP_CSV.zip",
           _zip({f"BASE_TD_FILO_IRIS_{y.filo}_DISP.csv": text,
                 f"meta_BASE_TD_FILO_IRIS_{y.filo}_DISP.csv": meta}),
           f"{NOTE} ; IRIS des communes de 5 000 habitants ou plus ; petits IRIS en « s »/« nd »")


def _write_filosofi_qp15(dest, ctx, it, rng, y: Years, dep: str = "", orng=None):
    yy = f"{y.filo % 100:02d}"
    q15 = ctx.qpv2015
    if q15 is None or len(q15) == 0:
        return
    w = _area_weights(ctx, it, q15, "code_qp")
    fq = _qpv_units(it, w, list(q15["code_qp"].astype(str)), rng)["f"]
    vals = _filosofi_values(fq.to_numpy(), rng)
    names = ("MED", "Q1", "TP60", "PPSOC", "PACT", "D1", "D9", "RD")
    header = ["CODGEO"] + [f"DISP_{v}_A{yy}" for v in names]
    rows = [[code] + [_fmt_filo(v, vals[v][i]) for v in names] for i, code in enumerate(fq.index)]
    name_col = "nom_qp" if "nom_qp" in q15.columns else "lib_qp"
    meta = "".join(f"CODGEO;QP;{c};{n}\r\n" for c, n in zip(q15["code_qp"], q15[name_col]))
    # simulated other quartiers of the département (own generator: the rows above do not change)
    oth = _other_quartiers(dep, 2015, fq.index, N_AUTRES_QPV2015, orng) if dep and orng is not None else None
    if oth is not None and len(oth):
        ov = _filosofi_values(oth["f"].to_numpy(), orng)
        rows += [[code] + [_fmt_filo(v, ov[v][i]) for v in names] for i, code in enumerate(oth.index)]
        meta += "".join(f"CODGEO;QP;{c};{n}\r\n" for c, n in oth["libelle"].items())
    text = "\r\n".join(";".join(x) for x in [header] + rows) + "\r\n"
    ens = _filosofi_values(np.array([0.78]), rng)
    ens_text = "\r\n".join([";".join(header), ";".join(["00"] + [_fmt_filo(v, ens[v][0]) for v in names])]) + "\r\n"
    _write(dest, ctx, f"insee_filosofi_qp15/revenus_pauvrete_{y.filo}_qp15_csv.zip",
           _zip({f"revenu-disponible-qp15-{y.filo}_QP.csv": text,
                 f"meta_indic-revenu-disponible-qp15-{y.filo}_QP.csv": meta,
                 f"revenu-disponible-qp15-{y.filo}_ENSQP.csv": ens_text}),
           f"{NOTE} ; structure déduite (INFERRED)" + (NOTE_AUTRES_QPV if oth is not None and len(oth) else ""))


def _write_filosofi_cc(dest, ctx, com_meta: pd.DataFrame, rng, epci: str, epci_nom: str, dep: str, y: Years):
    yy = f"{y.filo % 100:02d}"
    names = ("NBMENFISC", "NBPERSMENFISC", "MED", "Q1", "TP60", "PACT", "PPSOC", "PPMINI", "D1", "D9", "RD")

    def rows_for(codes, libs, f, pop):
        v = _filosofi_values(np.asarray(f, dtype=float), rng)
        out = []
        for i, (c, l) in enumerate(zip(codes, libs)):
            men = pop[i] / 2.2
            cells = [str(int(round(men))), str(int(round(pop[i] * 0.97)))] + \
                    [_fmt_filo(n, v[n][i]) for n in names[2:]]
            out.append([c, l] + cells)
        return out

    header = ["CODGEO", "LIBGEO"] + [f"{n}{yy}" for n in names]

    def text(rows):
        return "\r\n".join(";".join(map(str, r)) for r in [header] + rows) + "\r\n"

    cm = com_meta
    terr = cm[cm["territoire"]]
    fw = lambda d: float(np.average(d["f"], weights=d["pop22"]))  # noqa: E731
    groups = list(cm.groupby("dep"))
    members = {
        f"cc_filosofi_{y.filo}_COM.csv": text(rows_for(cm["code"], cm["nom"], cm["f"], cm["pop22"].to_numpy())),
        f"cc_filosofi_{y.filo}_EPCI.csv": text(rows_for([epci], [epci_nom], [fw(terr)], [terr["pop22"].sum()])),
        f"cc_filosofi_{y.filo}_DEP.csv": text(rows_for(
            [d for d, _ in groups], [f"Département {d} (simulé)" for d, _ in groups],
            [fw(g) for _, g in groups], np.array([g["pop22"].sum() for _, g in groups]))),
        f"cc_filosofi_{y.filo}_METRO.csv": text(rows_for(["FRM"], ["France métropolitaine"], [fw(cm)],
                                                            [cm["pop22"].sum()])),
    }
    _write(dest, ctx, f"insee_filosofi_cc/base-cc-filosofi-{y.filo}-geo2023_csv.zip", _zip(members),
           f"{NOTE} ; noms de membres et de colonnes SUPPOSÉS (ASSUMED)")


def _caf_counts(f, men, pop, v, rng) -> dict[str, np.ndarray]:
    """CAF foyers (not yet rounded) per unit for year weight v (0: 2019, 1: 2023)."""
    alloc = men * np.clip(_lerp(0.42, 0.78, f) + v * 0.01, 0, 0.95)
    fam = alloc * _lerp(0.55, 0.52, f)
    ref = alloc * _lerp(0.80, 0.86, f)
    return {
        "alloc": alloc, "pers": np.minimum(alloc * _lerp(2.2, 2.6, f), pop * 0.95),
        "aah": alloc * _lerp(0.06, 0.10, f), "rsa_socle": alloc * _lerp(0.06, 0.24, f) * (1 - 0.05 * v),
        "rsa_act": alloc * _lerp(0.02, 0.05, f),
        "al_pub": alloc * _lerp(0.08, 0.45, f), "al_priv": alloc * _lerp(0.22, 0.12, f),
        "qf_m400": alloc * _lerp(0.10, 0.38, f), "qf_400": alloc * _lerp(0.22, 0.30, f),
        "qf_inc": alloc * 0.03, "qf_rest": alloc * np.clip(1 - _lerp(0.10, 0.38, f) - _lerp(0.22, 0.30, f) - 0.03, 0, 1),
        "fam": fam, "mono": fam * np.clip(_lerp(0.20, 0.42, f) + v * 0.02, 0, 0.8),
        "ref": ref, "dep100": ref * _lerp(0.08, 0.26, f), "dep50_99": ref * _lerp(0.10, 0.20, f),
    }


def _r5(x) -> int:
    return int(5 * round(float(x) / 5.0))


def _caf_rows(dataset: str, counts: dict, i: int) -> list[tuple[str, int]]:
    """(modality, rounded count) rows of one unit for a dataset."""
    c = {k: val[i] for k, val in counts.items()}
    table = {
        "rsa_s_type": [("RSA socle seul", c["rsa_socle"]), ("RSA socle et activité", c["rsa_act"])],
        "al_s_type_parc": [("Parc public", c["al_pub"]), ("Parc privé", c["al_priv"])],
        "ndur_s_qf_400": [("Moins de 400", c["qf_m400"]), ("Entre 400 et 799", c["qf_400"]),
                          ("800 et plus", c["qf_rest"]), ("Inconnu", c["qf_inc"])],
        "alloc_s": [("", c["alloc"])], "aah_s": [("", c["aah"])],
        "fam_s_type": [("Monoparent", c["mono"]), ("Couple avec enfant(s)", c["fam"] - c["mono"])],
        "dep_prest_s": [("Moins de 50 %", c["ref"] - c["dep100"] - c["dep50_99"]),
                        ("De 50 à moins de 100 %", c["dep50_99"]), ("100 %", c["dep100"])],
    }
    key = dataset.removesuffix("_iris_f").removesuffix("_com_f")
    return [(m, _r5(x)) for m, x in table[key]]


def _write_caf(dest, ctx, it, men_iris: dict[int, np.ndarray], com_meta_terr: pd.DataFrame,
               men_com: dict[int, np.ndarray], dep: str, rng, y: Years):
    for yi, year in enumerate(y.caf):
        vc = yi / max(1, len(y.caf) - 1)
        ci = _caf_counts(it["f"].to_numpy(), men_iris[year], it["pop22"].to_numpy(), vc, rng)
        cc = _caf_counts(com_meta_terr["f"].to_numpy(), men_com[year], com_meta_terr["pop22"].to_numpy(), vc, rng)
        for dataset, spec in caf_mod.CAF_DATASETS.items():
            iris = dataset.endswith("_iris_f")
            fields = ["dtreffre", "numcomdo"] + (["numirisd"] if iris else ["nomcom"])
            if spec["modalite"]:
                fields.append(spec["modalite"])
            fields += list(spec["valeurs"])
            rows = []
            units = it if iris else com_meta_terr
            counts = ci if iris else cc
            for i, r in enumerate(units.itertuples()):
                for mod, n in _caf_rows(dataset, counts, i):
                    key = [f"{year}-12-01"] + ([r.code_insee, r.code_iris[5:]] if iris else [r.code, r.nom])
                    if spec["modalite"]:
                        key.append(mod)
                    vals = [str(n)] if len(spec["valeurs"]) == 1 else [str(n), str(_r5(counts["pers"][i]))]
                    rows.append(key + vals)
            text = "\r\n".join(";".join(x) for x in [fields] + rows) + "\r\n"
            statut = "format déduit (INFERRED)" if spec["statut"] == "INFERRED" else "jeu et champs SUPPOSÉS (ASSUMED)"
            _write(dest, ctx, f"{caf_mod.source_id(dataset)}/{dataset}_{dep}_{year}.csv", text.encode("utf-8"),
                   f"{NOTE} ; {statut} ; effectifs arrondis à 5 comme la Caf")


def _qpv_table_text(base: pd.DataFrame, table: str, libs, order, fmt) -> str:
    """An INSEE quartier table (``CODGEO;LIBGEO;…`` with the official column names of
    ``insee.QPV_TABLES[table]``), one row per code of ``order``, cells formatted by ``fmt``."""
    inv = {v: k for k, v in insee_mod.QPV_TABLES[table].items()}
    header = ["CODGEO", "LIBGEO"] + [inv[c] for c in base.columns]
    rows = [[c, libs[c]] + [fmt(x) for x in base.loc[c]] for c in order]
    return "\r\n".join(";".join(map(str, r)) for r in [header] + rows) + "\r\n"


def _write_qpv_tables(dest, ctx, it, census: dict, men_iris: dict, rng, y: Years, dep: str = "",
                      orng=None):
    q24 = ctx.qpv2024
    if q24 is None or len(q24) == 0:
        return
    w = _area_weights(ctx, it, q24, "code_qp")
    libs = q24.set_index(q24["code_qp"].astype(str))["lib_qp"]
    order = [c for c in q24["code_qp"].astype(str)]
    units = _qpv_units(it, w, order, rng)
    fq = units["f"].to_numpy()
    qcensus = {year: simulate_census(fq, units["pop22" if year == y.rp[-1] else "pop17"].to_numpy(),
                                     y.v_rp(year), rng) for year in y.rp}
    # simulated other quartiers of the département, appended after the territory's (drawn from
    # their own generator, so the territory's rows keep their values); every table below is
    # computed row by row, so the same codes get coherent values in every file
    oth = _other_quartiers(dep, 2024, order, N_AUTRES_QPV2024, orng) if dep and orng is not None else None
    if oth is not None and len(oth):
        ocensus = {year: simulate_census(oth["f"].to_numpy(),
                                         oth["pop22" if year == y.rp[-1] else "pop17"].to_numpy(),
                                         y.v_rp(year), orng) for year in y.rp}
        qcensus = {year: {t: pd.concat([df, ocensus[year][t]], ignore_index=True) for t, df in th.items()}
                   for year, th in qcensus.items()}
        units = pd.concat([units, oth[["pop22", "pop17", "f"]]])
        fq = units["f"].to_numpy()
        libs = pd.concat([libs, oth["libelle"]])
        order = order + list(oth.index)
    autres = NOTE_AUTRES_QPV if oth is not None and len(oth) else ""
    # INSEE QPV 2024 population tables (RP)
    for year in y.rp:
        th = qcensus[year]
        allvars = pd.concat([df for df in th.values()], axis=1)
        allvars = allvars.loc[:, ~allvars.columns.duplicated()]
        allvars["P_POP60P"] = allvars["P_POP6074"] + allvars["P_POP75P"]
        base = allvars[list(insee_mod.QPV_TABLES["population"].values())].set_index(units.index)
        text = _qpv_table_text(base, "population", libs, order, lambda x: _num(round(x)))
        _write(dest, ctx, f"insee_qpv2024_population/insee_qpv2024_population_{year}.csv", text.encode("utf-8"),
               f"{NOTE} ; forme SUPPOSÉE (ASSUMED)" + autres)
    # CNAF table at QPV
    for yi, year in enumerate(y.caf):
        cy = min(y.rp, key=lambda r: abs(r - year))
        men = qcensus[cy]["couples-familles-menages"]["C_MEN"].to_numpy()
        c = _caf_counts(fq, men, units["pop22"].to_numpy(), yi / max(1, len(y.caf) - 1), rng)
        base = pd.DataFrame({"NB_FOY_ALLOC": c["alloc"], "NB_PERS_COUV": c["pers"], "NB_ALLOC_REF": c["ref"],
                             "NB_ALLOC_DEP50": c["dep50_99"] + c["dep100"], "NB_ALLOC_DEP100": c["dep100"],
                             "NB_FOY_AAH": c["aah"], "NB_FOY_RSA": c["rsa_socle"] + c["rsa_act"],
                             "NB_FOY_FAM": c["fam"], "NB_FOY_MONO": c["mono"]}).set_index(units.index)
        text = _qpv_table_text(base, "cnaf", libs, order, lambda x: str(_r5(x)))
        _write(dest, ctx, f"insee_qpv2024_cnaf/insee_qpv2024_cnaf_{year}.csv", text.encode("utf-8"),
               f"{NOTE} ; forme SUPPOSÉE (ASSUMED) ; effectifs arrondis à 5" + autres)
    pops = it["pop22"].to_numpy()

    def c2s_frame(f, pop, index):
        c = pd.DataFrame({"POP_PROTEGEE": pop * 0.86}, index=index)
        c["NB_BENEF_C2S"] = c["POP_PROTEGEE"].to_numpy() * np.clip(_lerp(0.06, 0.34, f), 0, 0.6)
        c["NB_BENEF_C2S_NP"] = c["NB_BENEF_C2S"] * 0.78
        c["NB_BENEF_C2S_P"] = c["NB_BENEF_C2S"] - c["NB_BENEF_C2S_NP"]
        return c

    f = it["f"].to_numpy()
    c2s = c2s_frame(f, pops, pd.Index(it["code_iris"]))
    inv = {v: k for k, v in cnam_mod.COLONNES.items()}
    header = ["CODGEO", "LIBGEO"] + [inv[c] for c in c2s.columns]

    def ints(vals):
        return [str(int(round(x))) for x in vals]

    aggq = c2s_frame(fq, units["pop22"].to_numpy(), units.index)
    rows = [[q, libs[q]] + ints(aggq.loc[q]) for q in order]
    _write(dest, ctx, f"cnam_c2s_qpv/cnam_c2s_qpv_{y.cnam}.csv",
           ("\r\n".join(";".join(r) for r in [header] + rows) + "\r\n").encode("utf-8"),
           f"{NOTE} ; aucun fichier ouvert : forme SUPPOSÉE (table partenaire)" + autres)
    aggc = c2s.groupby(it["code_insee"].to_numpy()).sum()
    noms = it.groupby("code_insee")["nom_commune"].first()
    rows = [[com, noms[com]] + ints(aggc.loc[com]) for com in aggc.index]
    _write(dest, ctx, f"cnam_c2s_commune/cnam_c2s_commune_{y.cnam}.csv",
           ("\r\n".join(";".join(r) for r in [header] + rows) + "\r\n").encode("utf-8"),
           f"{NOTE} ; aucun fichier ouvert : forme SUPPOSÉE (table partenaire)")
    a = qcensus[y.rp[-1]]["activite-residents"]
    f = fq
    defm = pd.DataFrame({"DEFM_ABC": a["P_POP1564"].to_numpy() * _lerp(0.07, 0.22, f)}, index=units.index)
    defm["DEFM_A"] = defm["DEFM_ABC"] * 0.6
    defm["DEFM_ABC_F"] = defm["DEFM_ABC"] * 0.49
    defm["DEFM_ABC_M26"] = defm["DEFM_ABC"] * _lerp(0.13, 0.17, f)
    defm["DEFM_ABC_1AN"] = defm["DEFM_ABC"] * _lerp(0.44, 0.55, f)
    defm["DEFM_ABC_2ANS"] = defm["DEFM_ABC"] * _lerp(0.24, 0.33, f)
    defm = defm[list(ft_mod.COLONNES.values())]
    aggd = defm
    inv = {v: k for k, v in ft_mod.COLONNES.items()}
    header = ["CODGEO", "LIBGEO"] + [inv[c] for c in defm.columns]
    rows = []
    for q in order:
        vals = ints(aggd.loc[q])
        if float(aggd.loc[q, "DEFM_ABC"]) < 40:  # small counts withheld, as France Travail does
            vals = [v if k in ("DEFM_A", "DEFM_ABC") else "s" for k, v in zip(defm.columns, vals)]
        rows.append([q, libs[q]] + vals)
    _write(dest, ctx, f"france_travail_defm_qpv/france_travail_defm_qpv_{y.ft}.csv",
           ("\r\n".join(";".join(r) for r in [header] + rows) + "\r\n").encode("utf-8"),
           f"{NOTE} ; aucun fichier ouvert : forme SUPPOSÉE (table partenaire)" + autres)


def write_stats(dest: str | Path, ctx) -> list[str]:
    """Write every simulated statistical file of the demo mirror into ``dest``.

    Parameters
    ----------
    dest : mirror root (files go to ``dest/<source_id>/<official file name>``).
    ctx : the demo context of :mod:`observatoire.demo.geo`: ``communes`` (code_insee, nom, population,
        geometry), ``iris`` (code_iris, code_insee, nom_iris, type_iris, geometry), ``qpv2024``
        (code_qp, lib_qp, geometry), ``qpv2015`` (code_qp, nom_qp, geometry), ``epci_siren``,
        ``departement``, ``rng`` (numpy Generator) and ``add_file(relpath, simule, note)``.

    Returns
    -------
    The relative paths written (each also recorded with ``ctx.add_file(…, simule=True)``).
    """
    dest = Path(dest)
    written: list[str] = []
    orig_add = ctx.add_file

    sources = {s.id: s for s in insee_mod.SOURCES + caf_mod.SOURCES + cnam_mod.SOURCES + ft_mod.SOURCES}
    dep = _dep_code(ctx)

    class _Rec:
        """ctx, whose add_file also keeps the list of written files and gives the official URL."""

        def __getattr__(self, name):
            return getattr(ctx, name)

        @staticmethod
        def add_file(rel, simule=True, note=""):
            written.append(rel)
            src = sources.get(rel.split("/", 1)[0])
            year = insee_mod._year_from_name(Path(rel))
            url = src.url.format(millesime=year, dep=dep) if src is not None and year else ""
            try:
                orig_add(rel, simule=simule, note=note, url=url)
            except TypeError:  # a context whose add_file takes no url
                orig_add(rel, simule=simule, note=note)

    rc = _Rec()
    rng = getattr(ctx, "rng", None) or np.random.default_rng(2024)
    y = Years.from_millesimes(getattr(ctx, "millesimes", None))
    it = _iris_table(ctx, rng)
    pops_com = it.groupby("code_insee")["pop22"].sum()
    census: dict[int, dict[str, pd.DataFrame]] = {}
    for year in y.rp:
        pop = it["pop22" if year == y.rp[-1] else "pop17"].to_numpy()
        census[year] = simulate_census(it["f"].to_numpy(), pop, y.v_rp(year), rng)
    _write_base_ic(dest, rc, it, census, dep)

    # communes: territory (sum of IRIS) + simulated others
    terr = it.groupby("code_insee").agg(pop22=("pop22", "sum"), pop17=("pop17", "sum"),
                                        nom=("nom_commune", "first")).reset_index()
    terr["f"] = it.assign(fp=it["f"] * it["pop22"]).groupby("code_insee")["fp"].sum().to_numpy() / terr["pop22"]
    terr = terr.rename(columns={"code_insee": "code"})
    terr["dep"] = terr["code"].str[:2]
    terr["territoire"] = True
    others = _other_communes(dep, float(terr["pop22"].sum()), rng)
    others["territoire"] = False
    com_meta = pd.concat([terr, others], ignore_index=True)
    com_meta["reg"] = np.where(com_meta["dep"] == dep, "32", "00")
    com_census: dict[int, dict[str, pd.DataFrame]] = {}
    for year in y.rp:
        sim = simulate_census(others["f"].to_numpy(),
                              others["pop22" if year == y.rp[-1] else "pop17"].to_numpy(), y.v_rp(year), rng)
        com_census[year] = {}
        for theme, df in census[year].items():
            summed = df.groupby(it["code_insee"].to_numpy()).sum().reindex(terr["code"]).reset_index(drop=True)
            com_census[year][theme] = pd.concat([summed, sim[theme][summed.columns]], ignore_index=True)
    _write_base_cc(dest, rc, com_census, com_meta)

    _write_filosofi_iris(dest, rc, it, pops_com, rng, y)
    orng = _child_rng(rng)  # the other quartiers of the département (does not advance rng)
    _write_filosofi_qp15(dest, rc, it, rng, y, dep, orng)
    epci_nom = getattr(ctx, "epci_nom", None) or "EPCI du territoire (démonstration)"
    _write_filosofi_cc(dest, rc, com_meta, rng, str(getattr(ctx, "epci_siren", "000000000")), epci_nom, dep, y)

    # households of the census vintage closest to each CAF year
    men_iris = {yc: census[min(y.rp, key=lambda r: abs(r - yc))]["couples-familles-menages"]["C_MEN"].to_numpy()
                for yc in y.caf}
    men_com = {yc: pd.Series(m).groupby(it["code_insee"].to_numpy()).sum().reindex(terr["code"]).to_numpy()
               for yc, m in men_iris.items()}
    _write_caf(dest, rc, it, men_iris, terr, men_com, dep, rng, y)
    _write_qpv_tables(dest, rc, it, census, men_iris, rng, y, dep, orng)
    return written
