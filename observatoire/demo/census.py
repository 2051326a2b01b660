"""Simulated census counts of the demo (IRIS and communes), consistent by construction.

:func:`simulate_census` draws, for units of fragility ``f`` (0 well-off … 1 priority quartier) and
population ``pop``, every census count the catalogue reads, in the normalised names of
:mod:`observatoire.sources.insee_rp`; every sub-count stays below its total and age groups sum to the
population. Values are INVENTED (« données simulées »): only their layout follows INSEE's files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..sources.insee_rp import VARIABLES_BASE_IC

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


def _lerp(a, b, f):
    return a + (b - a) * f


@dataclass
class _Units:
    """Population of the units by age band and sex, with their fragility ``f`` and vintage ``v``."""

    f: np.ndarray
    v: float
    rng: np.random.Generator
    band: np.ndarray
    bh: np.ndarray
    bf: np.ndarray

    @property
    def n(self) -> int:
        return len(self.f)

    def g(self, arr: np.ndarray, grp: str) -> np.ndarray:
        """Sum of the bands of published group ``grp`` (see :data:`GROUPS`)."""
        return arr[:, [_BAND_INDEX[b] for b in GROUPS[grp]]].sum(axis=1)

    def b(self, name: str, arr: np.ndarray | None = None) -> np.ndarray:
        """One age band of ``arr`` (default both sexes)."""
        return (self.band if arr is None else arr)[:, _BAND_INDEX[name]]


_BAND_INDEX = {b: i for i, b in enumerate(BANDS)}


def _units(f: np.ndarray, pop: np.ndarray, v: float, rng: np.random.Generator) -> _Units:
    """Draw the age-band shares (younger where fragile) and the share of women of each band."""
    n = len(f)
    shares = _lerp(_SHARE0, _SHARE1, f[:, None]) * rng.lognormal(0, 0.06, (n, len(BANDS)))
    shares /= shares.sum(axis=1, keepdims=True)
    band = shares * pop[:, None]
    fem = np.clip(_FEM[None, :] + rng.normal(0, 0.01, (n, len(BANDS))), 0.4, 0.7)
    bf = band * fem
    return _Units(f=f, v=v, rng=rng, band=band, bh=band - bf, bf=bf)


def _structure(u: _Units) -> dict[str, np.ndarray]:
    """« evol-struct-pop »: ages by sex, socio-professional groups, immigrants and foreigners."""
    f, e = u.f, {}
    e["P_POP"] = u.band.sum(axis=1)
    for grp in ("0002", "0305", "0610", "1117", "1824", "2539", "4054", "5564", "6579", "80P",
                "0014", "1529", "3044", "4559", "6074", "75P", "0019", "2064", "65P"):
        e[f"P_POP{grp}"] = u.g(u.band, grp)
    for sx, arr in (("H", u.bh), ("F", u.bf)):
        e[f"P_POP{sx}"] = arr.sum(axis=1)
        for grp in ("0014", "1529", "3044", "4559", "6074", "75P", "0019", "2064", "65P"):
            e[f"P_{sx}{grp}"] = u.g(arr, grp)
    pcs_share = np.stack([_lerp(0.002, 0.0, f), _lerp(0.04, 0.02, f), _lerp(0.10, 0.03, f),
                          _lerp(0.16, 0.09, f), _lerp(0.16, 0.17, f), _lerp(0.12, 0.16, f),
                          _lerp(0.30, 0.25, f), _lerp(0.118, 0.28, f)], axis=1)
    pcs_share /= pcs_share.sum(axis=1, keepdims=True)
    for sx, arr in (("POP", u.band), ("H", u.bh), ("F", u.bf)):
        tot = u.g(arr, "15P")
        e[f"C_{sx}15P"] = tot
        for k in range(8):
            e[f"C_{sx}15P_PCS{k + 1}"] = tot * pcs_share[:, k]
    imm = _lerp(0.07, 0.20, f) + u.rng.normal(0, 0.01, u.n).clip(-0.03, 0.03)
    e["P_POP_IMM"] = e["P_POP"] * imm
    e["P_POP_ETR"] = e["P_POP"] * imm * 0.6
    e["P_POP_FR"] = e["P_POP"] - e["P_POP_ETR"]
    e["P_PMEN"] = e["P_POP"] * 0.985
    e["P_PHORMEN"] = e["P_POP"] - e["P_PMEN"]
    return e


# Shares of precarious contracts among employees, for fragility f.
def _precaires(f):
    return {"P_SAL15P_CDD": _lerp(0.09, 0.15, f), "P_SAL15P_INTERIM": _lerp(0.025, 0.07, f),
            "P_SAL15P_EMPAID": _lerp(0.01, 0.03, f), "P_SAL15P_APPR": _lerp(0.02, 0.025, f)}


def _activite(u: _Units) -> dict[str, np.ndarray]:
    """« activite-residents »: activity and unemployment by age and sex, contracts, commuting modes.

    Calibrated so that f = 1 gives what INSEE publishes for priority quartiers (employment rate of the
    15-64 about 35-45 %, unemployment of the 15-24 about 40 %)."""
    f, v, a = u.f, u.v, {}
    trend = v * _lerp(0.02, 0.012, f)  # employment rises a little more outside the quartiers
    act_rate = {"1524": _lerp(0.42, 0.30, f), "2554": _lerp(0.93, 0.70, f), "5564": _lerp(0.62, 0.40, f)}
    chom_rate = {"1524": _lerp(0.20, 0.45, f), "2554": _lerp(0.08, 0.33, f), "5564": _lerp(0.07, 0.25, f)}
    fem_act = _lerp(0.94, 0.82, f)  # women's activity relative to men's
    for ag in ("1524", "2554", "5564"):
        h, w = u.g(u.bh, ag), u.g(u.bf, ag)
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
    a["P_ETUD1564"] = np.minimum(a["P_INACT1564"], u.g(u.band, "1524") * _lerp(0.55, 0.42, f))
    a["P_RETR1564"] = np.minimum(a["P_INACT1564"] - a["P_ETUD1564"], u.g(u.band, "5564") * 0.25)
    a["P_AINACT1564"] = a["P_INACT1564"] - a["P_ETUD1564"] - a["P_RETR1564"]
    a["P_ACTOCC15P"] = a["P_ACTOCC1564"] + u.g(u.band, "65P") * 0.02
    a["P_SAL15P"] = a["P_ACTOCC15P"] * _lerp(0.86, 0.91, f)
    a["P_NSAL15P"] = a["P_ACTOCC15P"] - a["P_SAL15P"]
    a["P_SAL15P_TP"] = a["P_SAL15P"] * _lerp(0.16, 0.26, f)
    prec = _precaires(f)
    for k, s in prec.items():
        a[k] = a["P_SAL15P"] * (s - v * 0.005).clip(0.001, 1)
    a["P_SAL15P_CDI"] = a["P_SAL15P"] - sum(a[k] for k in prec)
    a["C_ACTOCC15P"] = a["P_ACTOCC15P"] * u.rng.uniform(0.99, 1.01, u.n)
    modes = np.stack([_lerp(0.03, 0.05, f), _lerp(0.05, 0.09, f), _lerp(0.02, 0.02, f),
                      _lerp(0.02, 0.02, f), _lerp(0.80, 0.62, f), _lerp(0.08, 0.20, f)], axis=1)
    modes /= modes.sum(axis=1, keepdims=True)
    for k, name in enumerate(("PAS", "MAR", "VELO", "2ROUESMOT", "VOIT", "TCOM")):
        a[f"C_ACTOCC15P_{name}"] = a["C_ACTOCC15P"] * modes[:, k]
    return a


def _scolarisation(u: _Units) -> dict[str, np.ndarray]:
    """Share of each age group in school (rises a little with the vintage)."""
    f, v, n = u.f, u.v, u.n
    return {"0205": np.full(n, 0.75), "0610": np.full(n, 0.995), "1114": np.full(n, 0.99),
            "1517": _lerp(0.97, 0.89, f) + v * 0.01, "1824": _lerp(0.55, 0.33, f) + v * 0.01,
            "2529": _lerp(0.07, 0.04, f), "30P": np.full(n, 0.005)}


def _diplomes(u: _Units) -> dict[str, np.ndarray]:
    """« diplomes-formation »: schooling by age, highest diploma of those out of school."""
    f, v, d = u.f, u.v, {}
    pops = {"0205": u.b("0002") / 3 + u.b("0305"), "0610": u.g(u.band, "0610"), "1114": u.b("1114"),
            "1517": u.b("1517"), "1824": u.g(u.band, "1824"), "2529": u.b("2529"),
            "30P": u.band[:, [_BAND_INDEX[b] for b in BANDS[8:]]].sum(axis=1)}
    scol = _scolarisation(u)
    for k, p in pops.items():
        d[f"P_POP{k}"] = p
    for k, p in pops.items():
        d[f"P_SCOL{k}"] = p * np.clip(scol[k], 0, 1)
    d["P_NSCOL15P"] = u.g(u.band, "15P") - (d["P_SCOL1517"] + d["P_SCOL1824"] + d["P_SCOL2529"] + d["P_SCOL30P"])
    dip = np.stack([_lerp(0.20, 0.42, f) - v * 0.03, _lerp(0.05, 0.06, f), _lerp(0.24, 0.27, f),
                    _lerp(0.17, 0.14, f), _lerp(0.13, 0.06, f), _lerp(0.11, 0.03, f),
                    _lerp(0.10, 0.02, f)], axis=1).clip(0.005, 1)
    dip /= dip.sum(axis=1, keepdims=True)
    for k, name in enumerate(("DIPLMIN", "BEPC", "CAPBEP", "BAC", "SUP2", "SUP34", "SUP5")):
        d[f"P_NSCOL15P_{name}"] = d["P_NSCOL15P"] * dip[:, k]
    return d


def _seuls(f) -> dict[str, np.ndarray | float]:
    """Share of people living alone by age group, for fragility f."""
    return {"1519": 0.01, "2024": _lerp(0.12, 0.08, f), "2539": _lerp(0.18, 0.14, f),
            "4054": _lerp(0.14, 0.16, f), "5564": _lerp(0.20, 0.24, f), "6579": _lerp(0.28, 0.33, f),
            "80P": _lerp(0.48, 0.55, f)}


def _familles(u: _Units, pmen: np.ndarray) -> dict[str, np.ndarray]:
    """« couples-familles-menages »: people living alone, households and families (single parents)."""
    f, v, c = u.f, u.v, {}
    alone = _seuls(f)
    age_cfm = {"1519": u.b("1517") + u.b("1819"), "2024": u.b("2024"), "2539": u.g(u.band, "2539"),
               "4054": u.g(u.band, "4054"), "5564": u.g(u.band, "5564"), "6579": u.g(u.band, "6579"),
               "80P": u.b("80P")}
    c["P_POP15P"] = sum(age_cfm.values())
    for k, p in age_cfm.items():
        c[f"P_POP{k}"] = p
    for k, p in age_cfm.items():
        c[f"P_POP{k}_PSEUL"] = p * alone[k] * (1 + v * 0.04)
    c["P_POP15P_PSEUL"] = sum(c[f"P_POP{k}_PSEUL"] for k in age_cfm)
    c["C_MENPSEUL"] = c["P_POP15P_PSEUL"] * u.rng.uniform(0.99, 1.01, u.n)
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
    return c


def _logement(u: _Units, men: np.ndarray, pmen: np.ndarray) -> dict[str, np.ndarray]:
    """« logement »: dwellings, tenure (social housing), construction period, cars, overcrowding."""
    f, v, n, lg = u.f, u.v, u.n, {}
    rp = men * u.rng.uniform(0.995, 1.005, n)
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
    crp = rp * u.rng.uniform(0.99, 1.01, n)
    sur = np.clip(_lerp(0.04, 0.14, f), 0, 0.5)
    sous = np.clip(_lerp(0.70, 0.40, f), 0, 0.9)
    lg["C_RP"] = crp
    lg["C_RP_SUROCC_MOD"] = crp * sur * 0.8
    lg["C_RP_SUROCC_ACC"] = crp * sur * 0.2
    lg["C_RP_SOUSOCC_MOD"] = crp * sous * 0.35
    lg["C_RP_SOUSOCC_ACC"] = crp * sous * 0.35
    lg["C_RP_SOUSOCC_TACC"] = crp * sous * 0.30
    lg["C_RP_NORME"] = crp * (1 - sur - sous)
    return lg


def _croisements_qpv(u: _Units, a: dict, d: dict, c: dict) -> pd.DataFrame:
    """« _qpv »: cross-tabulations that only the (ASSUMED) INSEE quartier tables carry."""
    f, v = u.f, u.v
    scol = _scolarisation(u)
    alone7579 = u.b("7579") * _seuls(f)["6579"] * 1.15
    q = pd.DataFrame({
        "P_POP75P_PSEUL": alone7579 + c["P_POP80P_PSEUL"],
        "P_F1524": a["P_F1524"],
        "P_FSCOL1524": u.b("1517", u.bf) * np.clip(scol["1517"] + 0.01, 0, 1)
        + (u.b("1819", u.bf) + u.b("2024", u.bf)) * np.clip(scol["1824"] + 0.03, 0, 1),
        "P_SCOL1524": d["P_SCOL1517"] + d["P_SCOL1824"] * 0.93,
        "P_SAL15P_PREC": sum(a[k] for k in _precaires(f)),
        "P_POP1625": u.b("1517") * 2 / 3 + u.b("1819") + u.b("2024") + u.b("2529") / 5,
    })
    neet = np.clip(_lerp(0.12, 0.45, f) - 0.02 * v, 0, 1)
    q["P_NEET1625"] = q["P_POP1625"] * neet
    return q


def simulate_census(f: np.ndarray, pop: np.ndarray, v: float, rng: np.random.Generator
                    ) -> dict[str, pd.DataFrame]:
    """Census counts for units of fragility ``f`` and population ``pop`` at vintage ``v`` (0..1).

    Returns theme → DataFrame of NORMALISED variables (``P_POP``…), one row per unit, consistent:
    every sub-count ≤ its total, age groups sum to the population. The themes are drawn in a fixed
    order (structure, activity, diplomas, families, housing) so that a seed gives the same figures.
    """
    u = _units(np.clip(f, 0, 1), pop, v, rng)
    e = _structure(u)
    a = _activite(u)
    d = _diplomes(u)
    c = _familles(u, e["P_PMEN"])
    lg = _logement(u, c["C_MEN"], e["P_PMEN"])
    out = {"evol-struct-pop": e, "activite-residents": a, "diplomes-formation": d,
           "couples-familles-menages": c, "logement": lg}
    frames = {t: pd.DataFrame(out[t]) for t in VARIABLES_BASE_IC}
    frames["_qpv"] = _croisements_qpv(u, a, d, c)
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
