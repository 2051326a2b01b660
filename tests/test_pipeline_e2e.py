"""End to end: demo mirror → fetch → build → maps → portraits, offline, in a temporary project.

Checks the acceptance criteria of the foundation, indicators, estimation, maps and portraits issues
on the real outputs of one run (module-scoped fixture: the pipeline runs once for all assertions).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from observatoire.config import load_config
from observatoire.demo import build_mirror
from observatoire.demo.config import write_demo_config

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
HAS_SHARED = (SHARED / "valenciennes" / "qpv2024.geojson").exists()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from observatoire.maps.build import build_maps
    from observatoire.pipeline import build
    from observatoire.portraits.render import build_portraits
    from observatoire.sources.fetch import fetch

    tmp = tmp_path_factory.mktemp("e2e")
    project = tmp / "projet"
    project.mkdir()
    (project / "observatoire.toml").write_text((ROOT / "observatoire.toml").read_text(encoding="utf-8")
                                               .replace("../shared/", f"{SHARED.parent.as_posix()}/"),
                                               encoding="utf-8")
    mirror = build_mirror(project / "data" / "mirror" / "demo", shared_dir=SHARED if HAS_SHARED else False,
                          territoire={"epci": "245901160"} if HAS_SHARED else None)
    cfg_path = write_demo_config(mirror, project)
    cfg = load_config(cfg_path).with_mirror(mirror)
    fetch(cfg)
    gpkg = build(cfg)
    maps = build_maps(cfg)
    portraits = build_portraits(cfg, pdf=False) + build_portraits(cfg, pdf=False, geographie="2015")
    tidy = pd.read_csv(cfg.paths.indicateurs_csv, sep=";", dtype={"code_territoire": str}, encoding="utf-8-sig")
    return {"cfg": cfg, "gpkg": gpkg, "maps": maps, "portraits": portraits, "tidy": tidy, "mirror": mirror}


def test_geopackage_layers_and_official_quartiers(run):
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(run["gpkg"])}
    assert {"communes", "epci", "iris", "qpv_2024", "qpv_2015", "qpv_communes", "zones", "indicateurs",
            "sources", "crosswalk_qpv2024"} <= layers
    qpv = gpd.read_file(run["gpkg"], layer="qpv_2024")
    assert qpv.crs.to_epsg() == 2154
    if not HAS_SHARED:
        assert len(qpv) == 3  # the simulated fallback territory's 3 quartiers
        return
    official = gpd.read_file(SHARED / "valenciennes" / "qpv2024.geojson").to_crs(2154)
    assert sorted(qpv["code_qp"]) == sorted(official["code_qp"])
    assert len(qpv) == 15
    merged = official.set_index("code_qp").geometry
    for code, geom in zip(qpv["code_qp"], qpv.geometry):
        ref = merged[code]
        # same shape: symmetric difference below a square millimetre (reprojection round-off only)
        assert shapely.symmetric_difference(geom, ref).area < 1e-6, code
    communes = gpd.read_file(run["gpkg"], layer="communes")
    assert len(communes) == 35
    # the quartiers of the territory carry the EPCI they are compared with
    assert set(qpv["epci_reference"]) == {"245901160"}


def test_geoparquet_layers_equal_the_geopackage(run):
    """Issue 13: GeoParquet beside the GeoPackage — every geographic layer, same rows, columns,
    attributes and geometries, EPSG:2154, one geometry type per layer; each file says whether its
    outlines come from a simulated file (it travels without the GeoPackage's ``sources`` table)."""
    from observatoire.store import SOURCES_COUCHES

    folder = run["cfg"].paths.processed / "couches"
    names = sorted(p.stem for p in folder.glob("*.parquet"))
    sources = gpd.read_file(run["gpkg"], layer="sources")
    assert {"communes", "epci", "iris", "qpv_2024", "qpv_2015", "zones"} <= set(names)
    for name in names:
        a = gpd.read_parquet(folder / f"{name}.parquet")
        b = gpd.read_file(run["gpkg"], layer=name)
        assert a.crs.to_epsg() == 2154 and len(a) == len(b), name
        assert list(a.columns) == [c for c in b.columns if c != "geometry"] + ["contours_simules", "geometry"], name
        simulated = set(sources.loc[sources["simule"].astype(bool), "source"])
        assert a["contours_simules"].tolist() == [bool(simulated & set(SOURCES_COUCHES[name]))] * len(a), name
        assert a.geometry.geom_equals_exact(b.geometry, 1e-6).all(), name
        assert set(a.geom_type) <= {"MultiPolygon"}, name
        for c in (c for c in b.columns if c != "geometry"):
            x, y = a[c], b[c]
            if x.dtype == bool or x.map(lambda v: isinstance(v, bool)).any():
                x, y = x.astype(float), y.astype(float)   # the GeoPackage stores a flag as 0/1
            assert x.astype(str).tolist() == y.astype(str).tolist(), (name, c)
    # the demo's IRIS outlines are simulated (no real IRIS contour file here), and say so
    assert gpd.read_parquet(folder / "iris.parquet")["contours_simules"].all()


def test_indicator_table_covers_quartiers_and_references(run):
    from observatoire.tidy import TIDY_COLUMNS

    t = run["tidy"]
    assert list(t.columns) == TIDY_COLUMNS
    q = t[t["type_territoire"] == "qpv2024"]
    n_quartiers = 15 if HAS_SHARED else 3
    per_quartier = q.groupby("code_territoire")["indicateur"].nunique()
    assert len(per_quartier) == n_quartiers
    assert per_quartier.min() >= 30
    for kind in ("iris", "commune", "epci", "ensemble_qpv2024_epci", "ensemble_qpv2015_epci", "departement",
                 "france", "zone", "qpv2015"):
        assert (t["type_territoire"] == kind).any(), kind
    # withheld or unavailable cells are empty, never zero, and say why
    withheld = t[t["statut"].isin(["secret", "nd"])]
    assert withheld["valeur"].isna().all() and withheld["numerateur"].isna().all()
    assert (withheld.loc[withheld["statut"] == "nd", "motif"].fillna("") != "").all()
    # an estimate is « estime » with its method and quality
    est = t[t["methode"].isin(["surface", "dasymetrique", "transposition_2015_2024"]) & t["valeur"].notna()]
    assert set(est["statut"]) == {"estime"} and est["qualite"].notna().all()


def _manifest_simulated(mirror) -> tuple[dict[str, bool], dict[tuple[str, int], bool]]:
    """Simulated flag of each source (any file simulated), and of each (source, year in the file name)
    for the sources that mix real and simulated files (Filosofi 2014–2019 real, 2021 simulated)."""
    import re

    m = json.loads((mirror / "manifest.json").read_text(encoding="utf-8"))["fichiers"]
    out: dict[str, bool] = {}
    flags: dict[str, set[bool]] = {}
    by_year: dict[tuple[str, int], bool] = {}
    for rel, e in m.items():
        out[e["source"]] = out.get(e["source"], False) or bool(e["simule"])
        flags.setdefault(e["source"], set()).add(bool(e["simule"]))
        for y in re.findall(r"(?<!\d)(20[0-3]\d)(?!\d)", rel):
            by_year[(e["source"], int(y))] = bool(e["simule"])
    mixed = {k: v for k, v in by_year.items() if len(flags[k[0]]) > 1}
    return out, mixed


def test_simulated_inputs_are_never_shown_real(run):
    """Every figure built from a simulated file says so; a figure from real files only never does."""
    t = run["tidy"]
    sim, mixed = _manifest_simulated(run["mirror"])
    from observatoire.catalogue import load_catalogue

    cat = load_catalogue()
    producer = t[t["methode"] == "producteur"]
    from_sim = pd.Series([mixed.get((s, int(y)), sim.get(s)) for s, y in zip(producer["source"], producer["millesime"])],
                         index=producer.index, dtype=object)
    assert from_sim.notna().all(), set(producer.loc[from_sim.isna(), "source"])
    # figures of a simulated file are simulated
    assert producer.loc[from_sim.astype(bool), "simule"].all()
    # figures of a real file are real, except a rate whose denominator may come from another source
    # (taux_couverture_caf: Cnaf / census at IRIS, same file for the quartiers)
    other = producer["indicateur"].map(lambda i: isinstance(cat[i].extra.get("source_denominateur"), str)
                                       if i in cat else False).astype(bool)
    expected = from_sim.astype(bool) | other
    if HAS_SHARED:
        assert not producer.loc[~expected, "simule"].any()
        assert (~expected).sum() > 1000   # the demo holds real figures
    # estimates from IRIS inherit the simulated IRIS outlines of the demo
    est = t[t["methode"].isin(["surface", "dasymetrique"])]
    if sim.get("ign_iris"):
        assert est["simule"].all()


def _pop_mun(path: Path) -> dict[str, float]:
    """POP_MUN by code read by hand from an INSEE quartier table (UTF-8 BOM, « ; », U+202F groups)."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    head = lines[0].split(";")
    i_code, i_pop = head.index("CODGEO"), head.index("POP_MUN")
    out = {}
    for line in lines[1:]:
        cells = line.split(";")
        v = cells[i_pop].replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
        out[cells[i_code]] = float(v) if v else float("nan")
    return out


@pytest.mark.skipif(not HAS_SHARED, reason="../shared absent : pas de tableaux réels de l'Insee par quartier")
def test_real_insee_quartier_figures_pass_unchanged(run):
    """The 14 quartiers 2015 of the territory carry INSEE's own population, every edition, marked real."""
    t = run["tidy"]
    real = SHARED / "real" / "insee_qpv2015"
    expected_codes = {f"QP0590{n}" for n in range(20, 34)}
    checked = 0
    for year, name in ((2017, "DEMO_2017.csv"), (2018, "DEMO_2018.csv"), (2019, "DEMO_2019.csv"),
                       (2021, "DEMO_2021.csv"), (2022, "DEMO_2022.csv")):
        pop = _pop_mun(real / name)
        rows = t[(t["type_territoire"] == "qpv2015") & (t["indicateur"] == "population") & (t["millesime"] == year)]
        got = dict(zip(rows["code_territoire"], rows["valeur"]))
        assert expected_codes <= set(got), (year, expected_codes - set(got))
        for code in expected_codes:
            assert got[code] == pop[code], (year, code)
            checked += 1
        assert not rows[rows["code_territoire"].isin(expected_codes)]["simule"].any()
        # the « Ensemble » row is the set of every quartier of France in INSEE's file
        fr = t[(t["type_territoire"] == "ensemble_qpv2015_france") & (t["indicateur"] == "population")
               & (t["millesime"] == year)]
        if "Ensemble" in pop:
            assert fr["valeur"].tolist() == [pop["Ensemble"]]
    assert checked == 5 * 14


def test_quartier_estimates_carry_method_and_quality(run):
    t = run["tidy"]
    est = t[t["type_territoire"].isin(["qpv2024", "zone"]) & t["methode"].isin(["dasymetrique", "surface"])]
    assert est["code_territoire"].nunique() == (15 if HAS_SHARED else 3) + 1  # quartiers + the demo watch zone
    published = est[est["valeur"].notna()]
    assert set(published["qualite"]) <= {"bonne", "moyenne", "faible"} and published["qualite"].notna().all()


@pytest.mark.skipif(not HAS_SHARED, reason="../shared absent : pas de chiffres du contrat de ville à importer")
def test_contract_figures_are_their_own_source(run):
    t = run["tidy"]
    partner = t[t["source"] == "contrat_ville_cavm"]
    assert len(partner) > 100
    assert set(partner["methode"]) == {"partenaire"} and set(partner["statut"]) == {"ok"}
    assert not partner["simule"].any()
    # « Une part de jeunes ni en emploi ni en formation atteignant 41% en 2019 » (Verrerie, doc 002 line 27)
    row = partner[(partner["code_territoire"] == "QN05920M") & (partner["indicateur"] == "part_neet_16_25")]
    assert row["valeur"].tolist() == [41.0] and row["millesime"].tolist() == [2019]
    # labels come from the official layers
    assert row["libelle_territoire"].tolist() == ["Verrerie - Square République"]


def test_backtest_layers_and_page(run):
    """The back-test of the 2015 quartiers: layers written by the build, page by the maps stage."""
    import pyogrio

    from observatoire import verification as V

    err = pyogrio.read_dataframe(run["gpkg"], layer="verification_estimations", read_geometry=False)
    res = pyogrio.read_dataframe(run["gpkg"], layer="verification_resume", read_geometry=False)
    assert list(res.columns) == V.RESUME_COLUMNS
    compared = err[err["ecart"].notna()]
    page = run["cfg"].paths.maps / "verification.html"
    assert page.exists() and "verification.html" in (run["cfg"].paths.maps / "index.html").read_text(encoding="utf-8")
    csv = pd.read_csv(run["cfg"].paths.processed / "verification_estimations.csv", sep=";", encoding="utf-8-sig")
    assert len(csv) == len(err)
    if not HAS_SHARED:
        return
    # the 14 quartiers 2015 of Valenciennes Métropole (the neighbour's quartier is not the territory's)
    expected = {f"QP0590{n}" for n in range(20, 34)}
    full = [ind for ind, g in compared.groupby("indicateur")
            if all(set(gm["code_quartier"]) == expected for _, gm in g.groupby(["millesime", "methode"]))]
    assert len(full) >= 3, full
    years = compared.groupby("indicateur")["millesime"].agg(lambda x: sorted(set(x)))
    assert years["part_femmes"] == [2017, 2022]
    assert years["part_allocataires_isoles"] == [2017, 2018, 2019, 2020]
    assert set(err["methode"]) == {"surface", "dasymetrique"}
    # the demo's IRIS outlines are simulated: every comparison is, and the page says why
    assert err["simule"].astype(bool).all() and res["simule"].astype(bool).all()
    html = page.read_text(encoding="utf-8")
    assert "Données simulées" in html and "contours des IRIS sont simulés" in html
    # the measured error caps the quality of every estimate of the same family and method
    from observatoire.catalogue import load_catalogue

    cat = load_catalogue()
    summary = V.summarise(err.assign(simule=err["simule"].astype(bool),
                                     dans_tolerance=err["dans_tolerance"].astype(bool)))
    caps = V.quality_from_backtest(summary, cat).set_index(["famille", "methode"])["plafond_code"].to_dict()
    assert caps, "aucun plafond mesuré"
    rang = {"bonne": 1, "moyenne": 2, "faible": 3}
    t = run["tidy"]
    est = t[t["type_territoire"].isin(["qpv2024", "partie_qpv2024", "zone"])
            & t["methode"].isin(["surface", "dasymetrique"]) & t["valeur"].notna()]
    floor = [caps.get((V.family(cat[i]), m), 0) for i, m in zip(est["indicateur"], est["methode"])]
    assert all(rang[q] >= f for q, f in zip(est["qualite"], floor))
    assert any(f > 1 for f in floor)


def test_maps_written_within_budget_and_marked_simulated(run):
    from observatoire.maps.build import map_sizes

    maps_dir = run["cfg"].paths.maps
    n_quartiers = 15 if HAS_SHARED else 3
    assert len(list((maps_dir / "quartiers").glob("*.html"))) == n_quartiers
    assert len(list((maps_dir / "themes").glob("*.html"))) == 8
    assert list((maps_dir / "comparaison").glob("*.html"))
    sizes = map_sizes(maps_dir)
    assert sizes["_budget_ok"], sizes
    for p in run["maps"]:
        text = p.read_text(encoding="utf-8")
        assert "cdn." not in text and "unpkg" not in text
    # census IRIS tables are simulated in the demo: the population maps say so
    assert "(simulé)" in (maps_dir / "themes" / "demographie.html").read_text(encoding="utf-8")


def test_portraits_written(run):
    out = run["cfg"].paths.portraits
    n_quartiers = 15 if HAS_SHARED else 3
    sheets = [p for p in out.glob("QN*.html")]
    assert len(sheets) == n_quartiers and (out / "index.html").exists()
    # the 2015 sheets: the territory's quartiers only (a neighbour's quartier stays in the layer)
    assert len(list(out.glob("QP*.html"))) == (14 if HAS_SHARED else 2)
    # the same list feeds make (« observatoire quartiers --mk ») and the PDF stage
    from observatoire.cli import quartiers_construits
    from observatoire.portraits.pdf import _codes

    built = quartiers_construits(run["gpkg"])
    assert [c for c, _ in built["2015"]] == sorted(p.stem for p in out.glob("QP*.html")) == _codes(run["cfg"], "2015")
    for p in sheets:
        text = p.read_text(encoding="utf-8")
        assert "simulé" in text, p


def _provenance_of(tidy: pd.DataFrame) -> dict:
    return {(k, str(c), i, int(m)): bool(s) for k, c, i, m, s in
            zip(tidy["type_territoire"], tidy["code_territoire"], tidy["indicateur"], tidy["millesime"], tidy["simule"])}


def test_portrait_cells_say_real_or_simulated_as_the_table(run):
    """Every figure of every sheet (2024 and 2015) carries the provenance of its row of the table
    (cells without a value, secret or not available, carry no mark)."""
    import re

    truth = _provenance_of(run["tidy"])
    cell = re.compile(r'\sdata-territoire="([^"]+)" data-type="([^"]+)" data-indicateur="([^"]+)" '
                      r'data-millesime="(\d+)" data-statut="(?:ok|estime)" data-simule="(oui|non)"')
    n_real = n = 0
    for p in run["cfg"].paths.portraits.glob("Q*.html"):
        for code, kind, ind, mil, sim in cell.findall(p.read_text(encoding="utf-8")):
            key = (kind, code, ind, int(mil))
            if key in truth:
                assert truth[key] == (sim == "oui"), (p.name, key)
                n += 1
                n_real += sim == "non"
    assert n > 500
    if HAS_SHARED:
        assert n_real > 100   # INSEE's real quartier figures are shown as real


def test_workbook_says_real_or_simulated_as_the_table(run):
    import openpyxl

    truth = _provenance_of(run["tidy"])
    wb = openpyxl.load_workbook(run["cfg"].paths.indicateurs_xlsx, read_only=True)
    ws = wb["Population et ménages"]
    rows = list(ws.iter_rows(values_only=True))
    hi = next(i for i, r in enumerate(rows) if r[0] == "Type de territoire")
    h = rows[hi]
    from observatoire.tidy import TYPES_LIBELLES

    kinds = {v: k for k, v in TYPES_LIBELLES.items()}
    checked = 0
    for r in rows[hi + 1:]:
        if not r[0] or r[0] not in kinds:
            continue
        key = (kinds[r[0]], str(r[h.index("Code")]), r[h.index("Identifiant")], int(r[h.index("Année")]))
        if key in truth:
            assert truth[key] == (r[h.index("Donnée simulée")] == "oui"), key
            checked += 1
    assert checked > 100, h


def test_fetch_without_network_or_mirror_fails_cleanly(run, tmp_path):
    """No network, no mirror: exit code 3, a French message naming the fix, no traceback, no file."""
    import tomllib

    import tomli_w

    data = tomllib.loads(run["cfg"].source_file.read_text(encoding="utf-8"))
    raw = tmp_path / "raw"
    data["chemins"] = {"raw": str(raw), "processed": str(tmp_path / "processed")}
    data["zones"], data["partenaires"] = [], []
    cfg = tmp_path / "observatoire.toml"
    cfg.write_text(tomli_w.dumps(data), encoding="utf-8")
    env = dict(os.environ, HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9",
               NO_PROXY="", OBSERVATOIRE_MIRROR="")
    proc = subprocess.run([sys.executable, "-m", "observatoire", "fetch", "--config", str(cfg)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "--mirror" in proc.stderr
    left = [p for p in raw.rglob("*") if p.is_file() and p.name != "manifest.json"] if raw.exists() else []
    assert left == []
