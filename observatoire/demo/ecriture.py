"""Writing the demo mirror: files in the exact official layouts, and their manifest.

:class:`Miroir` records every file with its size, sha256, whether it is simulated and a note saying
what it holds (a real copy, a real extract, a real file repackaged under its official name, or
simulated values). The table writers take NORMALISED variables (``P_POP``, ``CNAF_A``…) and write the
official columns of each format, using the same declared tables the readers use
(:data:`observatoire.sources.insee_qpv.TABLES`, :data:`observatoire.sources.insee_filosofi.STEMS`),
so that a simulated file and a real one are read by the same code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from ..sources import anct
from ..sources.insee_qpv import TABLES
from .census import _evol_order, _official_columns

L93 = 2154
ZIP_DATE = (2024, 1, 1, 0, 0, 0)
NOTE_SIMULE = "données simulées (format officiel, valeurs inventées pour la démonstration)"
NNBSP = "\u202f"


class Miroir:
    """The mirror folder being written, and its manifest entries."""

    def __init__(self, dest: Path):
        self.dest = Path(dest)
        self.entries: dict[str, dict] = {}
        self.date = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()

    def _record(self, rel: str, simule: bool, note: str, url: str = "") -> None:
        p = self.dest / rel
        self.entries[rel] = {"source": rel.split("/", 1)[0], "url": url, "taille": p.stat().st_size,
                             "sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "simule": bool(simule),
                             "origine": "miroir", "date": self.date, "demo": True, "note": note}

    def write(self, rel: str, data: bytes, *, simule: bool, note: str, url: str = "") -> None:
        p = self.dest / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(p)
        self._record(rel, simule, note, url)

    def copy(self, rel: str, src: Path, note: str, url: str = "") -> None:
        """A real file copied byte for byte."""
        p = self.dest / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, p)
        self._record(rel, False, note, url)

    def add_file(self, rel: str, simule: bool, note: str = "", url: str = "") -> None:
        """For writers that write the file themselves (the Filosofi grid)."""
        self._record(rel, simule, note, url)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def extract_lines(path: Path, keep) -> bytes:
    """The header line and the lines whose first field satisfies ``keep`` (bytes unchanged: BOM, CRLF,
    separators and number formats of the real file stay as published)."""
    raw = path.read_bytes()
    lines = raw.splitlines(keepends=True)
    out = [lines[0]]
    for ln in lines[1:]:
        first = ln.split(b";", 1)[0].strip().strip(b'"').decode("utf-8", "replace")
        if keep(first):
            out.append(ln)
    return b"".join(out)


# ---------------------------------------------------------------------------------------------------
# French numbers and CSV text
# ---------------------------------------------------------------------------------------------------

def fr(x, dec: int = 1, groupe: bool = False) -> str:
    """``12345.67`` → ``12 345,7`` (narrow no-break space when ``groupe``); NaN → empty cell."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    s = f"{x:,.{dec}f}" if groupe else f"{x:.{dec}f}"
    return s.replace(",", NNBSP).replace(".", ",")


def csv_bytes(header: list[str], rows: list[list[str]], bom: bool = True, crlf: bool = True) -> bytes:
    nl = "\r\n" if crlf else "\n"
    text = nl.join([";".join(header)] + [";".join(r) for r in rows]) + nl
    return (("\ufeff" if bom else "") + text).encode("utf-8")


# ---------------------------------------------------------------------------------------------------
# INSEE quartier tables (DEMO, IPRO, REVN, RP, CAF, CNAM) from normalised variables
# ---------------------------------------------------------------------------------------------------

def _column_of(kind: str, variable: str, edition: int) -> str | None:
    for col, spec in TABLES[kind].items():
        if spec.variable == variable and (spec.editions == (None, None) or spec.attendue(edition)):
            return col
    return None


#: Columns written by the simulator, per kind, in file order (a subset of the real layouts).
ORDRE = {
    "DEMO": ["POP_MUN", "TX_F", "TX_TOT_0A24", "TX_TOT_60ETPLUS", "IND_JEUNE", "TX_TOT_MEN1", "TX_TOT_ET",
             "NOTE_RP", "A", "PERCOU", "AM", "AI", "ACSSENF", "ACAVENF", "AC3ENF", "A_ETUD", "NOTE_CNAF"],
    "IPRO": ["TX_TOT_EMPL", "TX_F_EMPL", "TX_TOT_EPREC", "TX_F_EPREC", "TX_TOT_EDLIM", "TX_F_EDLIM", "ABC", "ABC_F",
             "ABC_H", "A", "ABC_25", "ABC_2649", "ABC_50", "ABC_DUR1", "ABC_DUR2", "ABC_DUR3", "ABC_DUR4", "NOTE_PE"],
    "REVN": ["DISP_Q2", "DISP_Q1", "DISP_Q3", "TP60", "DISP_D1D9", "PACT", "PPSOC", "NOTE_FILO", "CCMUC", "C", "CC2S",
             "C_C2SNP", "C_C2SP", "NOTE_CNAM", "A", "APRES50", "APRES100", "ARSA", "APPA", "ARSAS", "AAAH", "NOTE_CNAF"],
    "RP": ["POP_MUN", "TX_F", "TX_TOT_0A24", "TX_TOT_60ETPLUS", "IND_JEUNE", "TX_TOT_MEN1", "TX_TOT_ET", "POP_1564",
           "ACTOCC_1564", "POP_1625", "NEET_1625", "NOTE_RP"],
    "CAF": ["NOTE", "A", "PERCOU", "AI", "AM", "ACSSENF", "ACAVENF", "AC3ENF", "A_ETUD", "A_NETUD_24", "AAL",
            "AAPL", "AAAH", "APPA", "ARSAS", "APRES50", "APRES100"],
    "CNAM": ["C", "C_C2SNP", "C_C2SP", "NOTE"],
}
_NOTE_YEARS = {"NOTE_RP": 2021}


def qp_table(kind: str, edition: int, codes: list[str], libelles: list[str] | None, data: pd.DataFrame,
             groupe: bool = False) -> bytes:
    """One INSEE quartier table of ``kind`` and ``edition`` (rows: ``codes``; ``data`` indexed by code,
    normalised variables; rates in %)."""
    cols = []
    for col in ORDRE[kind]:
        if col.startswith("NOTE"):
            if edition >= _NOTE_YEARS.get(col, 0):
                cols.append(col)
            continue
        spec = TABLES[kind].get(col)
        if spec is None or (spec.editions != (None, None) and not spec.attendue(edition)):
            continue
        if spec.variable in data.columns:
            cols.append(col)
    # every column the reader requires of this edition, even one the simulator has no value for (empty)
    cols += [col for col, spec in TABLES[kind].items()
             if spec.editions != (None, None) and spec.attendue(edition) and col not in cols]
    header = ["CODGEO"] + (["LIBGEO"] if libelles is not None else []) + cols
    rows = []
    for i, code in enumerate(codes):
        r = [code] + ([libelles[i]] if libelles is not None else [])
        for col in cols:
            if col.startswith("NOTE"):
                r.append("0")
                continue
            spec = TABLES[kind][col]
            v = data.at[code, spec.variable] if code in data.index and spec.variable in data.columns else np.nan
            dec = 0 if spec.nature == "effectif" else 1
            r.append(fr(v, dec, groupe=groupe and spec.nature == "effectif"))
        rows.append(r)
    return csv_bytes(header, rows)


def rates_for_qp(counts: pd.DataFrame, census: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """INSEE's published quartier rates (normalised names) from census counts of the quartiers."""
    e, a, c = census["evol-struct-pop"], census["activite-residents"], census["couples-familles-menages"]
    q = census["_qpv"]
    pop = e["P_POP"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "P_POP": pop, "TX_F": 100 * e["P_POPF"] / pop,
            "TX_0024": 100 * (e["P_POP0014"] + a["P_POP1524"]) / pop,
            "TX_60P": 100 * (e["P_POP6074"] + e["P_POP75P"]) / pop,
            "IND_JEUNESSE": e["P_POP0019"] / (e["P_POP6074"] + e["P_POP75P"]),
            "TX_MEN1": 100 * c["C_MENPSEUL"] / c["C_MEN"], "TX_ETR": 100 * e["P_POP_ETR"] / pop,
            "TX_EMPL_1564": 100 * a["P_ACTOCC1564"] / a["P_POP1564"],
            "TX_EMPL_F": 100 * a["P_FACTOCC1564"] / a["P_F1564"],
            "TX_EMPL_PREC": 100 * (a["P_SAL15P_CDD"] + a["P_SAL15P_INTERIM"] + a["P_SAL15P_EMPAID"]
                                   + a["P_SAL15P_APPR"]) / a["P_ACTOCC15P"],
            # no sex breakdown of contracts in the simulated census: women's share a little higher
            "TX_EMPL_PREC_F": 108 * (a["P_SAL15P_CDD"] + a["P_SAL15P_INTERIM"] + a["P_SAL15P_EMPAID"]
                                     + a["P_SAL15P_APPR"]) / a["P_ACTOCC15P"],
            "P_POP1564": a["P_POP1564"], "P_ACTOCC1564": a["P_ACTOCC1564"], "P_POP1625": q["P_POP1625"],
            "P_NEET1625": q["P_NEET1625"],
        })
    out.index = counts.index
    return out


# ---------------------------------------------------------------------------------------------------
# Census files
# ---------------------------------------------------------------------------------------------------

_THEME_IDS = {"evol-struct-pop": "pop", "activite-residents": "activite", "diplomes-formation": "diplomes",
              "couples-familles-menages": "familles", "logement": "logement"}
_CC_THEMES = {"activite-residents": "emploi-pop-active"}


def _plain(x: float) -> str:
    if np.isnan(x):
        return ""
    return f"{x:.15g}"


def base_ic(theme: str, year: int, iris: pd.DataFrame, df: pd.DataFrame, dep: str, reg: str) -> tuple[str, bytes]:
    """``base-ic-<theme>-<year>_csv.zip`` (file name, bytes) for the IRIS of ``iris``."""
    norm = _evol_order(df) if theme == "evol-struct-pop" else list(df.columns)
    off = _official_columns(theme, norm, year)
    if year >= 2020:
        ids = ["IRIS", "COM", "TYP_IRIS", "LAB_IRIS"]
        idv = [[r.code_iris, r.code_insee, r.type_iris, "1"] for r in iris.itertuples()]
    else:  # the 2017 layout (IRIS;REG;DEP;UU2010;COM;LIBCOM;TRIRIS;GRD_QUART;LIBIRIS;…)
        ids = ["IRIS", "REG", "DEP", "UU2010", "COM", "LIBCOM", "TRIRIS", "GRD_QUART", "LIBIRIS", "TYP_IRIS",
               "MODIF_IRIS", "LAB_IRIS"]
        idv = [[r.code_iris, reg, dep, "ZZZZZ", r.code_insee, r.nom_commune, "ZZZZZZ", r.code_insee + r.code_iris[5:7],
                r.nom_iris, r.type_iris, "00", "1"] for r in iris.itertuples()]
    rows = [i + [_plain(x) for x in v] for i, v in zip(idv, df[norm].to_numpy())]
    name = f"base-ic-{theme}-{year}"
    return f"insee_rp_ic_{_THEME_IDS[theme]}/{name}_csv.zip", zip_bytes({f"{name}.CSV": csv_bytes(
        ids + [off[c] for c in norm], rows, bom=False)})


def base_cc(theme: str, year: int, communes: pd.DataFrame, df: pd.DataFrame) -> tuple[str, bytes]:
    """``base-cc-<theme>-<year>_csv.zip`` for the communes of ``communes`` (code_insee, nom, dep, reg)."""
    norm = _evol_order(df) if theme == "evol-struct-pop" else list(df.columns)
    off = _official_columns(theme, norm, year)
    cc = _CC_THEMES.get(theme, theme)
    idv = communes[["code_insee", "reg", "dep", "nom"]].astype(str).to_numpy().tolist()
    rows = [i + [_plain(x) for x in v] for i, v in zip(idv, df[norm].to_numpy())]
    name = f"base-cc-{cc}-{year}"
    return f"insee_rp_cc_{_THEME_IDS[theme]}/{name}_csv.zip", zip_bytes({f"{name}.CSV": csv_bytes(
        ["CODGEO", "REG", "DEP", "LIBGEO"] + [off[c] for c in norm], rows, bom=False)})


# ---------------------------------------------------------------------------------------------------
# Filosofi
# ---------------------------------------------------------------------------------------------------

_FILO_IRIS = ["TP60", "Q1", "MED", "Q3", "EQ", "D1", "D9", "RD", "PACT", "PPEN", "PPSOC", "PIMPOT"]


def filosofi_iris(year: int, iris: pd.DataFrame, values: pd.DataFrame) -> bytes:
    yy = f"{year % 100:02d}"
    header = ["IRIS", "LIBIRIS", "COM", "LIBCOM"] + [f"DISP_{k}{yy}" for k in _FILO_IRIS] + [f"DISP_NOTE{yy}"]
    rows = []
    for r, (_, v) in zip(iris.itertuples(), values.iterrows()):
        rows.append([r.code_iris, r.nom_iris, r.code_insee, r.nom_commune]
                    + [fr(v[f"DISP_{k}"], 0 if k in ("Q1", "MED", "Q3", "D1", "D9") else 1) for k in _FILO_IRIS] + ["0"])
    return csv_bytes(header, rows)


def filosofi_cc(year: int, niveau: str, codes: list[str], noms: list[str], values: pd.DataFrame,
                population: np.ndarray) -> bytes:
    """``FILO<year>_DISP_<NIVEAU>.csv`` (the poverty rate goes to the ``_Pauvres_`` twin)."""
    yy = f"{year % 100:02d}"
    stems = ["Q1", "Q2", "Q3", "D1", "D9", "PACT", "PPSOC", "PPEN"]
    header = ["CODGEO", "LIBGEO", f"NBMEN{yy}", f"NBPERS{yy}"] + [f"{k}{yy}" for k in stems] + ["RD"]
    src = {"Q1": "DISP_Q1", "Q2": "DISP_MED", "Q3": "DISP_Q3", "D1": "DISP_D1", "D9": "DISP_D9", "PACT": "DISP_PACT",
           "PPSOC": "DISP_PPSOC", "PPEN": "DISP_PPEN"}
    rows = []
    for i, code in enumerate(codes):
        v = values.iloc[i]
        rows.append([code, noms[i], fr(population[i] / 2.3, 0), fr(population[i], 0)]
                    + [fr(v[src[k]], 0 if k in ("Q1", "Q2", "Q3", "D1", "D9") else 1) for k in stems]
                    + [fr(v["DISP_RD"], 1)])
    return csv_bytes(header, rows)


def filosofi_qp(year: int, codes: list[str], values: pd.DataFrame) -> bytes:
    """``data_filo<yy>_q?_revdis.csv`` in the upper-case layout of 2018 on."""
    yy = f"{year % 100:02d}"
    stems = ["Q1", "MED", "Q3", "D1", "D9", "RD", "PACT", "PPEN", "PPSOC", "PIMPOT", "TP60"]
    header = ["CODGEO"] + [f"DISP_{k}_A{yy}" for k in stems] + [f"DISP_NOTE_A{yy}"]
    rows = [[c] + [fr(values.at[c, f"DISP_{k}"], 0 if k in ("Q1", "MED", "Q3", "D1", "D9") else 1) for k in stems]
            + ["0"] for c in codes]
    return csv_bytes(header, rows, bom=False)


# ---------------------------------------------------------------------------------------------------
# Geography
# ---------------------------------------------------------------------------------------------------

def wfs_geojson(gdf: gpd.GeoDataFrame, name: str) -> bytes:
    """A WFS-style GeoJSON FeatureCollection in Lambert-93 (explicit ``crs`` member)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / f"{name}.geojson"
        pyogrio.write_dataframe(gpd.GeoDataFrame(gdf.to_crs(L93), geometry="geometry", crs=L93), p, driver="GeoJSON",
                                layer=name, promote_to_multi=True,
                                layer_options={"RFC7946": "NO", "WRITE_NAME": "YES", "COORDINATE_PRECISION": "3"})
        return p.read_bytes()


def qpv2024_geojson(qpv: gpd.GeoDataFrame, dep=("00", "Département simulé")) -> bytes:
    """Quartiers in the layout of the official ANCT file (one Feature per line, CRS84)."""
    g = qpv.to_crs("OGC:CRS84")
    lines = []
    for i, r in enumerate(g.itertuples(index=False)):
        props = {"fid": float(i + 1), "code_qp": r.code_qp, "lib_qp": r.lib_qp, "insee_reg": "00",
                 "lib_reg": "Région simulée", "insee_dep": dep[0], "lib_dep": dep[1], "insee_com": r.insee_com,
                 "lib_com": r.lib_com, "siren_epci": r.siren_epci}
        geom = shapely.geometry.mapping(shapely.MultiPolygon([r.geometry]) if r.geometry.geom_type == "Polygon"
                                        else r.geometry)
        lines.append(json.dumps({"type": "Feature", "properties": props, "geometry": geom}, ensure_ascii=False))
    head = ('{\n"type": "FeatureCollection",\n"name": "QP2024_France_Hexagonale_Outre_Mer_WGS84_ESPG4326",\n'
            '"crs": { "type": "name", "properties": { "name": "urn:ogc:def:crs:OGC:1.3:CRS84" } },\n"features": [\n')
    return (head + ",\n".join(lines) + "\n]\n}\n").encode("utf-8")


def qpv2015_shapefile_zip(qpv2015: gpd.GeoDataFrame) -> bytes:
    """The official 2015 layout: shapefile ``QP_METROPOLEOUTREMER_WGS84_EPSG4326`` zipped."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / f"{anct.QPV2015_LAYER}.shp"
        out = qpv2015[["code_qp", "nom_qp", "commune_qp", "geometry"]].rename(
            columns={"code_qp": "CODE_QP", "nom_qp": "NOM_QP", "commune_qp": "COMMUNE_QP"}).to_crs(4326)
        pyogrio.write_dataframe(gpd.GeoDataFrame(out, geometry="geometry", crs=4326), shp, driver="ESRI Shapefile",
                                encoding="UTF-8", promote_to_multi=True)
        return zip_bytes({p.name: p.read_bytes() for p in sorted(Path(tmp).glob(f"{anct.QPV2015_LAYER}.*"))})
