"""Simulated statistical files of the demo mirror, re-read by the official-format readers."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from observatoire.demo.stats import write_stats
from observatoire.sources import caf, cnam, france_travail, insee

SHARED = Path(__file__).resolve().parents[2] / "shared"


def small_ctx(seed: int = 0) -> SimpleNamespace:
    """3 communes (Lambert-93 squares), 7 IRIS, 2 QPV 2024 and 2 QPV 2015.

    IRIS 596060101 (0–2000 m × 0–2000 m) is 90 % covered by QN05930M (0–1900 m squared):
    1900² / 2000² = 0.9025. IRIS 596060104 (2000–4000 m × 2000–4000 m) touches no quartier.
    """
    coms = gpd.GeoDataFrame({"code_insee": ["59606", "59014", "59019"],
                             "nom": ["Valenciennes", "Anzin", "Artres"], "population": [42979, 13417, 1073]},
                            geometry=[box(0, 0, 4000, 4000), box(4000, 0, 6000, 4000), box(6000, 0, 7000, 4000)],
                            crs=2154)
    rows = []
    for k, (x0, y0) in enumerate([(0, 0), (0, 2000), (2000, 0), (2000, 2000)]):
        rows.append((f"5960601{k + 1:02d}", "59606", f"Valenciennes {k + 1}", "H", box(x0, y0, x0 + 2000, y0 + 2000)))
    rows += [("590140101", "59014", "Anzin 1", "H", box(4000, 0, 6000, 2000)),
             ("590140102", "59014", "Anzin 2", "H", box(4000, 2000, 6000, 4000)),
             ("590190000", "59019", "Artres", "Z", box(6000, 0, 7000, 4000))]
    iris = gpd.GeoDataFrame(rows, columns=["code_iris", "code_insee", "nom_iris", "type_iris", "geometry"], crs=2154)
    q24 = gpd.GeoDataFrame({"code_qp": ["QN05930M", "QN05920M"], "lib_qp": ["Dutemple", "Verrerie"]},
                           geometry=[box(0, 0, 1900, 1900), box(3500, 0, 4500, 1500)], crs=2154)
    q15 = gpd.GeoDataFrame({"code_qp": ["QP059030", "QP059020"], "nom_qp": ["Dutemple 2015", "Verrerie 2015"]},
                           geometry=[box(100, 100, 1800, 1800), box(3600, 0, 4400, 1400)], crs=2154)
    files: dict = {}
    return SimpleNamespace(communes=coms, iris=iris, qpv2024=q24, qpv2015=q15, epci_siren="245901160",
                           epci_nom="CA Valenciennes Métropole", departement="59", rng=np.random.default_rng(seed),
                           millesimes={"rp": [2017, 2022], "caf": [2019, 2023], "filosofi": [2021], "cnam": [2023],
                                       "france_travail": [2023]},
                           files=files, add_file=lambda rel, simule, note="": files.__setitem__(rel, (simule, note)))


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    dest = tmp_path_factory.mktemp("mirror")
    ctx = small_ctx()
    written = write_stats(dest, ctx)
    return dest, ctx, written


def test_every_file_is_recorded_simulated_under_its_source_and_official_name(mirror):
    dest, ctx, written = mirror
    assert sorted(written) == sorted(ctx.files) and len(written) == 58
    assert all(simule for simule, _ in ctx.files.values())
    assert all("simulées" in note for _, note in ctx.files.values())
    sources = {s.id: s for s in insee.SOURCES + caf.SOURCES + cnam.SOURCES + france_travail.SOURCES}
    for rel in written:
        sid, name = rel.split("/", 1)
        assert sid in sources, rel
        yrs = [2017, 2019, 2021, 2022, 2023]
        assert name in {sources[sid].fichier.format(millesime=y, dep="59") for y in yrs}, rel
        assert (dest / rel).stat().st_size > 0


def _ic(dest, short, theme, year):
    return insee.read_base_ic(dest / f"insee_rp_ic_{short}/base-ic-{theme}-{year}_csv.zip")


def test_census_files_reread_consistently(mirror):
    dest, ctx, _ = mirror
    for year in (2017, 2022):
        pop = _ic(dest, "pop", "evol-struct-pop", year)
        assert pop.millesime == year and len(pop.data) == 7 and (pop.statut == "ok").all().all()
        d = pop.data
        # age groups partition the population; sexes too
        parts = ["P_POP0002", "P_POP0305", "P_POP0610", "P_POP1117", "P_POP1824", "P_POP2539", "P_POP4054",
                 "P_POP5564", "P_POP6579", "P_POP80P"]
        assert np.allclose(d[parts].sum(axis=1), d["P_POP"]) and np.allclose(d["P_POPH"] + d["P_POPF"], d["P_POP"])
        a = _ic(dest, "activite", "activite-residents", year).data
        assert (a["P_ACTOCC1564"] <= a["P_ACT1564"]).all() and (a["P_ACT1564"] <= a["P_POP1564"]).all()
        assert (a["P_FACTOCC1564"] <= a["P_F1564"]).all() and (a["P_SAL15P_CDD"] <= a["P_SAL15P"]).all()
        f = _ic(dest, "familles", "couples-familles-menages", year).data
        assert (f["C_FAMMONO"] <= f["C_FAM"]).all() and (f["C_MENPSEUL"] <= f["C_MEN"]).all()
        lg = _ic(dest, "logement", "logement", year).data
        assert (lg["P_RP_LOCHLMV"] <= lg["P_RP_LOC"]).all() and (lg["P_RP_LOC"] <= lg["P_RP"]).all()
        assert (lg["P_RP"] <= lg["P_LOG"]).all()
        dp = _ic(dest, "diplomes", "diplomes-formation", year).data
        assert (dp["P_SCOL1517"] <= dp["P_POP1517"]).all() and (dp["P_NSCOL15P_DIPLMIN"] <= dp["P_NSCOL15P"]).all()
    # 2022 IRIS populations sum to the commune populations (42 979 for Valenciennes)
    pop22 = _ic(dest, "pop", "evol-struct-pop", 2022).data["P_POP"]
    assert pop22.groupby(pop22.index.str[:5]).sum().round(6).to_dict() == {"59014": 13417, "59019": 1073,
                                                                           "59606": 42979}
    # census weights give decimal counts
    assert (pop22 % 1 != 0).any()


def test_quartier_iris_are_poorer_and_change_between_vintages(mirror):
    dest, _, _ = mirror
    a22 = _ic(dest, "activite", "activite-residents", 2022).data
    a17 = _ic(dest, "activite", "activite-residents", 2017).data
    emp = a22["P_ACTOCC1564"] / a22["P_POP1564"]
    assert emp["596060101"] < emp["596060104"] - 0.1  # 90 % in a quartier vs none
    assert not np.isclose(emp["596060101"], (a17["P_ACTOCC1564"] / a17["P_POP1564"])["596060101"])
    lg = _ic(dest, "logement", "logement", 2022).data
    hlm = lg["P_RP_LOCHLMV"] / lg["P_RP"]
    assert hlm["596060101"] > hlm["596060104"] + 0.2
    fam = _ic(dest, "familles", "couples-familles-menages", 2022).data
    assert (fam["C_FAMMONO"] / fam["C_FAM"])["596060101"] > (fam["C_FAMMONO"] / fam["C_FAM"])["596060104"]
    filo = insee.read_filosofi_iris(dest / "insee_filosofi_iris/BASE_TD_FILO_IRIS_2021_DISP_CSV.zip")
    tp = filo.data["DISP_TP60"]
    if filo.statut.loc["596060101", "DISP_TP60"] == "ok" and filo.statut.loc["596060104", "DISP_TP60"] == "ok":
        assert tp["596060101"] > tp["596060104"] + 10


def test_filosofi_files(mirror):
    dest, ctx, _ = mirror
    filo = insee.read_filosofi_iris(dest / "insee_filosofi_iris/BASE_TD_FILO_IRIS_2021_DISP_CSV.zip")
    assert filo.millesime == 2021
    assert "590190000" not in filo.data.index  # Artres (1 073 inhabitants) < 5 000: not covered
    assert len(filo.data) == 6
    # the smallest IRIS is secret (NaN, never 0), the next one has nd cells
    assert (filo.statut == "secret").all(axis=1).sum() == 1
    sec = filo.statut.index[(filo.statut == "secret").all(axis=1)][0]
    assert filo.data.loc[sec].isna().all()
    assert (filo.statut == "nd").any(axis=1).sum() == 1
    ok = filo.data[(filo.statut == "ok").all(axis=1)]
    assert (ok["DISP_Q1"] < ok["DISP_MED"]).all() and (ok["DISP_MED"] < ok["DISP_Q3"]).all()
    qp = insee.read_filosofi_qp(dest / "insee_filosofi_qp15/revenus_pauvrete_2021_qp15_csv.zip")
    # the territory's quartiers first, then the 30 simulated other quartiers of the département
    assert list(qp.data.index[:2]) == ["QP059030", "QP059020"] and qp.libelles["QP059030"] == "Dutemple 2015"
    assert len(qp.data) == 2 + 30
    assert (qp.data["DISP_TP60"] > 20).all()  # quartiers are poor
    cc = dest / "insee_filosofi_cc/base-cc-filosofi-2021-geo2023_csv.zip"
    assert list(insee.read_filosofi_cc(cc, "epci").data.index) == ["245901160"]
    assert list(insee.read_filosofi_cc(cc, "france").data.index) == ["FRM"]
    com = insee.read_filosofi_cc(cc, "commune")
    assert {"59606", "59014", "59019"} <= set(com.data.index)
    assert com.libelles[com.data.index.str.endswith("901")].str.contains("simulée").all()


def test_base_cc_territory_communes_sum_their_iris_and_others_are_simulated(mirror):
    dest, _, _ = mirror
    cc = insee.read_base_cc(dest / "insee_rp_cc_activite/base-cc-emploi-pop-active-2022_csv.zip")
    ic = _ic(dest, "activite", "activite-residents", 2022).data
    by_com = ic.groupby(ic.index.str[:5]).sum()
    for com in ("59606", "59014", "59019"):
        assert np.isclose(cc.data.loc[com, "P_ACTOCC1564"], by_com.loc[com, "P_ACTOCC1564"])
    others = cc.libelles.drop(["59606", "59014", "59019"])
    assert others.str.startswith("Commune simulée").all()
    assert {c[:2] for c in others.index} >= {"59", "75", "13"}  # département and France references
    assert cc.millesime == 2022 and cc.niveau == "commune"


def test_caf_files(mirror):
    dest, _, _ = mirror
    for year in (2019, 2023):
        alloc = caf.read_caf(dest / f"caf_alloc_s_iris/alloc_s_iris_f_59_{year}.csv", "alloc_s_iris_f", year)
        aah = caf.read_caf(dest / f"caf_aah_s_iris/aah_s_iris_f_59_{year}.csv", "aah_s_iris_f", year)
        assert alloc.millesime == year and len(alloc.data) == 7
        assert (alloc.data.index.str.len() == 9).all()
        assert ((alloc.data["NB_FOY_ALLOC"] % 5) == 0).all()  # rounded to 5 as CAF does
        assert (aah.data["NB_FOY_AAH"] <= alloc.data["NB_FOY_ALLOC"]).all()
        dep = caf.read_caf(dest / f"caf_dep_prest_s_iris/dep_prest_s_iris_f_59_{year}.csv", "dep_prest_s_iris_f")
        assert (dep.data["NB_ALLOC_DEP100"] <= dep.data["NB_ALLOC_DEP50"]).all()
        assert (dep.data["NB_ALLOC_DEP50"] <= dep.data["NB_ALLOC_REF"]).all()
        com = caf.read_caf(dest / f"caf_fam_s_type_com/fam_s_type_com_f_59_{year}.csv", "fam_s_type_com_f")
        assert sorted(com.data.index) == ["59014", "59019", "59606"] and com.libelles["59606"] == "Valenciennes"
        assert (com.data["NB_FOY_MONO"] <= com.data["NB_FOY_FAM"]).all()


def test_quartier_tables(mirror):
    dest, _, _ = mirror
    codes = ["QN05930M", "QN05920M"]
    pop = insee.read_insee_qpv(dest / "insee_qpv2024_population/insee_qpv2024_population_2022.csv",
                               "population", 2022)
    assert list(pop.data.index[:2]) == codes and pop.niveau == "qpv2024"
    assert (pop.data["P_NEET1625"] <= pop.data["P_POP1625"]).all()
    assert (pop.data["P_ACTOCC1564"] / pop.data["P_POP1564"] < 0.62).all()
    cn = insee.read_insee_qpv(dest / "insee_qpv2024_cnaf/insee_qpv2024_cnaf_2023.csv", "cnaf", 2023)
    assert (cn.data["NB_FOY_MONO"] <= cn.data["NB_FOY_FAM"]).all()
    c2s = cnam.read_c2s(dest / "cnam_c2s_qpv/cnam_c2s_qpv_2023.csv", 2023)
    assert list(c2s.data.index[:2]) == codes and (c2s.data["NB_BENEF_C2S"] <= c2s.data["POP_PROTEGEE"]).all()
    assert cnam.read_c2s(dest / "cnam_c2s_commune/cnam_c2s_commune_2023.csv", 2023).niveau == "commune"
    de = france_travail.read_defm(dest / "france_travail_defm_qpv/france_travail_defm_qpv_2023.csv", 2023)
    ok = de.data[(de.statut == "ok").all(axis=1)]
    assert (ok["DEFM_ABC_2ANS"] <= ok["DEFM_ABC_1AN"]).all() and (ok["DEFM_ABC_1AN"] <= ok["DEFM_ABC"]).all()
    assert de.data[de.statut["DEFM_ABC_1AN"] == "secret"]["DEFM_ABC_1AN"].isna().all()


def test_same_seed_same_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    wa = write_stats(a, small_ctx(seed=5))
    write_stats(b, small_ctx(seed=5))
    for rel in wa:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


@pytest.mark.skipif(not (SHARED / "data" / "valenciennes").is_dir(), reason="../shared absent")
def test_with_the_real_demo_geography(tmp_path):
    """Integration with observatoire.demo.geo: the 15 real quartiers get producer tables."""
    from observatoire.demo.geo import build_geo

    ctx = build_geo(tmp_path, SHARED / "data")
    write_stats(tmp_path, ctx)
    pop = insee.read_insee_qpv(tmp_path / "insee_qpv2024_population/insee_qpv2024_population_2022.csv",
                               "population", 2022)
    # the 15 quartiers of the territory, then 40 simulated other quartiers of the Nord
    assert len(pop.data) == 15 + 40 and pop.data.index.str.startswith("QN").all()
    assert list(pop.data.index[:15]) == list(ctx.qpv2024["code_qp"].astype(str))
    assert pop.data.index[15:].str.fullmatch(r"QN059\d\dZ").all() and not pop.data.index.duplicated().any()
    ic = insee.read_base_ic(tmp_path / "insee_rp_ic_pop/base-ic-evol-struct-pop-2022_csv.zip")
    assert round(ic.data["P_POP"].sum()) == 191885  # populations municipales of the 35 communes
    assert all(e["simule"] for rel, e in ctx.entries.items() if rel.startswith(("insee_rp", "caf_", "cnam")))
    pd.testing.assert_index_equal(ic.data.index.sort_values(), pd.Index(sorted(ctx.iris["code_iris"]), name="code"))


def test_read_any_reads_every_written_file_with_its_simulated_flag(mirror):
    dest, _, written = mirror
    seen = set()
    for rel in written:
        tables = insee.read_any(rel.split("/")[0], dest / rel, communes={"59606", "59014", "59019"}, simule=True)
        assert tables and all(t.simule for t in tables)
        for t in tables:
            # a NaN is never « ok »: withheld cells keep their statut
            assert not (t.data.isna() & (t.statut == "ok")).any().any(), rel
            seen.add((t.source, t.niveau, t.millesime))
    assert ("insee_rp_ic_pop", "iris", 2017) in seen and ("caf_alloc_s_com", "commune", 2019) in seen
    assert ("insee_filosofi_cc", "france", 2021) in seen and ("france_travail_defm_qpv", "qpv2024", 2023) in seen
    # commune comparison files are kept whole (département and France references)
    cc = insee.read_any("insee_rp_cc_pop", dest / "insee_rp_cc_pop/base-cc-evol-struct-pop-2022_csv.zip",
                        communes={"59606"})[0]
    assert len(cc.data) > 3


@pytest.mark.skipif(not (SHARED / "data" / "formats").is_dir(), reason="../shared absent")
def test_simulated_2022_population_header_is_the_official_one(mirror):
    import zipfile

    dest, _, _ = mirror
    text = (SHARED / "data" / "formats" / "insee_base_ic_evol_struct_pop.txt").read_text(encoding="utf-8")
    official = next(line for line in text.splitlines() if line.startswith("IRIS;COM;TYP_IRIS;LAB_IRIS;P22_POP;"))
    with zipfile.ZipFile(dest / "insee_rp_ic_pop/base-ic-evol-struct-pop-2022_csv.zip") as z:
        assert z.namelist() == ["base-ic-evol-struct-pop-2022.CSV"]
        header = z.read("base-ic-evol-struct-pop-2022.CSV").decode("utf-8").split("\r\n", 1)[0]
    assert header == official


def _rows(path, reader):
    t = reader(path)
    return t.data, t.statut, t.libelles


def test_other_quartiers_of_the_departement_are_simulated(mirror):
    """Every QPV-level table adds the SAME simulated quartiers of the département (so that the
    « all quartiers of the département » reference can be summed), with impossible codes.

    Hand expectations: 2024 codes QN059 + 01…40 + Z (ANCT letters are M, N, I…, never Z), names
    « Quartier simulé 1 » … « Quartier simulé 40 »; 2015 codes QP059 + 900…929, names
    « Quartier simulé 1 » … « Quartier simulé 30 ».
    """
    dest, ctx, _ = mirror
    territory = ["QN05930M", "QN05920M"]
    expected24 = [f"QN059{k:02d}Z" for k in range(1, 41)]
    files = {
        "pop2017": (dest / "insee_qpv2024_population/insee_qpv2024_population_2017.csv",
                    lambda p: insee.read_insee_qpv(p, "population", 2017)),
        "pop2022": (dest / "insee_qpv2024_population/insee_qpv2024_population_2022.csv",
                    lambda p: insee.read_insee_qpv(p, "population", 2022)),
        "cnaf2019": (dest / "insee_qpv2024_cnaf/insee_qpv2024_cnaf_2019.csv",
                     lambda p: insee.read_insee_qpv(p, "cnaf", 2019)),
        "cnaf2023": (dest / "insee_qpv2024_cnaf/insee_qpv2024_cnaf_2023.csv",
                     lambda p: insee.read_insee_qpv(p, "cnaf", 2023)),
        "c2s": (dest / "cnam_c2s_qpv/cnam_c2s_qpv_2023.csv", lambda p: cnam.read_c2s(p, 2023)),
        "defm": (dest / "france_travail_defm_qpv/france_travail_defm_qpv_2023.csv",
                 lambda p: france_travail.read_defm(p, 2023)),
    }
    t = {k: _rows(path, reader) for k, (path, reader) in files.items()}
    for k, (data, _, lib) in t.items():
        assert list(data.index) == territory + expected24, k  # no territory code twice, none lost
        assert not data.index.duplicated().any(), k
        assert list(lib[expected24]) == [f"Quartier simulé {n}" for n in range(1, 41)], k
        assert list(lib[territory]) == ["Dutemple", "Verrerie"], k
    pop17, pop22 = t["pop2017"][0].loc[expected24], t["pop2022"][0].loc[expected24]
    # coherent: sub-counts ≤ totals; employment rates of quartiers; at least 1 000 inhabitants
    assert (pop22["P_NEET1625"] <= pop22["P_POP1625"]).all()
    assert (pop22["P_ACTOCC1564"] <= pop22["P_POP1564"]).all()
    emp = pop22["P_ACTOCC1564"] / pop22["P_POP1564"]
    assert emp.between(0.35, 0.62).all()
    assert (pop22["P_POP"] >= 1000).all()
    assert not np.allclose(pop17["P_POP"], pop22["P_POP"])  # a change between census vintages
    cn19, cn23 = t["cnaf2019"][0].loc[expected24], t["cnaf2023"][0].loc[expected24]
    assert (cn23["NB_FOY_MONO"] <= cn23["NB_FOY_FAM"]).all()
    assert (cn23["NB_ALLOC_DEP100"] <= cn23["NB_ALLOC_DEP50"]).all()
    assert not cn19["NB_FOY_ALLOC"].equals(cn23["NB_FOY_ALLOC"])
    c2s = t["c2s"][0].loc[expected24]
    assert (c2s["NB_BENEF_C2S"] <= c2s["POP_PROTEGEE"]).all()
    assert (c2s["NB_BENEF_C2S"] / c2s["POP_PROTEGEE"]).between(0.15, 0.40).all()
    defm, st = t["defm"][0].loc[expected24], t["defm"][1].loc[expected24]
    ok = (st == "ok").all(axis=1)
    assert (defm.loc[ok, "DEFM_ABC_1AN"] <= defm.loc[ok, "DEFM_ABC"]).all()
    # 2015: Filosofi by QP 2015 (values and names in the meta member)
    qp = insee.read_filosofi_qp(dest / "insee_filosofi_qp15/revenus_pauvrete_2021_qp15_csv.zip")
    expected15 = [f"QP059{k}" for k in range(900, 930)]
    assert list(qp.data.index) == ["QP059030", "QP059020"] + expected15
    assert list(qp.libelles[expected15]) == [f"Quartier simulé {n}" for n in range(1, 31)]
    assert (qp.data.loc[expected15, "DISP_Q1"] < qp.data.loc[expected15, "DISP_MED"]).all()
    assert qp.data.loc[expected15, "DISP_TP60"].between(20, 70).all()
    # the simulated codes cannot be official ones: none among the territory's
    assert not set(expected24) & set(ctx.qpv2024["code_qp"]) and not set(expected15) & set(ctx.qpv2015["code_qp"])


def test_other_quartiers_leave_the_territory_rows_and_the_other_files_unchanged(tmp_path, monkeypatch):
    """The other quartiers come from a child generator (``rng.spawn``, which does not advance
    ``ctx.rng``): without them (counts set to 0) every other file is byte-identical and the quartier
    tables are the same lines minus the simulated ones."""
    from observatoire.demo import stats

    with_others, without = tmp_path / "a", tmp_path / "b"
    wa = write_stats(with_others, small_ctx(seed=3))
    monkeypatch.setattr(stats, "N_AUTRES_QPV2024", 0)
    monkeypatch.setattr(stats, "N_AUTRES_QPV2015", 0)
    wb = write_stats(without, small_ctx(seed=3))
    assert sorted(wa) == sorted(wb)
    qpv_tables = ("insee_qpv2024_population", "insee_qpv2024_cnaf", "cnam_c2s_qpv", "france_travail_defm_qpv")
    for rel in wa:
        a, b = (with_others / rel).read_bytes(), (without / rel).read_bytes()
        if rel.split("/")[0] in qpv_tables:
            la, lb = a.decode().splitlines(), b.decode().splitlines()
            # header + 2 quartiers of the territory, identical; then 40 simulated ones
            assert len(lb) == 3 and la[:3] == lb and len(la) == 3 + 40, rel
        elif rel.startswith("insee_filosofi_qp15/"):
            qa = insee.read_filosofi_qp(with_others / rel)
            qb = insee.read_filosofi_qp(without / rel)
            pd.testing.assert_frame_equal(qa.data.iloc[:2], qb.data)
            assert len(qa.data) == 2 + 30 and len(qb.data) == 2
        else:
            assert a == b, rel


def test_other_quartier_codes_follow_the_official_shapes():
    """Corsica (« 2A ») quartiers are coded on 3 characters (``QN02A01Z``) like any département;
    codes the territory already uses are skipped; overseas départements have 3 digits."""
    from observatoire.demo.stats import _other_quartiers
    from observatoire.sources.insee import niveau_of_codes

    rng = np.random.default_rng(0)
    corse = _other_quartiers("2A", 2024, [], 40, rng)
    assert list(corse.index[:2]) == ["QN02A01Z", "QN02A02Z"] and niveau_of_codes(corse.index) == "qpv2024"
    assert list(_other_quartiers("59", 2024, ["QN05901Z"], 2, rng).index) == ["QN05902Z", "QN05903Z"]
    assert list(_other_quartiers("971", 2015, [], 2, rng).index) == ["QP971900", "QP971901"]
