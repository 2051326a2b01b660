"""Inputs of the portraits, read once per run: the tidy table, the catalogue, the layers, the notes.

Every figure a sheet prints comes from ``indicateurs.csv`` (else the GeoPackage layer
``indicateurs``), in the tidy v2 format of ``docs/contracts.md``: a table without the v2 columns
(``couverture, simule, note_producteur, motif``) is refused with the fix (« relancez observatoire
build »), so that no figure is ever printed without knowing whether it is real or simulated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

from ..catalogue import Indicateur, load_catalogue
from ..errors import ObservatoireError
from ..store import quartiers_publies, simulated_inputs
from ..tidy import TIDY_COLUMNS
from .facts import BaseFaits
from .phrases import nom_court_epci, slug

SECTIONS_NOTES = {"atouts": "Atouts", "points_de_vigilance": "Points de vigilance",
                  "enjeux_retenus": "Enjeux retenus"}

TEXT_COLUMNS = ["type_territoire", "code_territoire", "libelle_territoire", "indicateur", "statut", "methode",
                "qualite", "source", "note_producteur", "motif"]
#: Layers of the GeoPackage a sheet reads, and the source whose simulated flag each one carries.
LAYERS = ("communes", "epci", "qpv_2024", "qpv_2015", "zones", "qpv_communes")
LAYER_SOURCES = {"qpv_2024": "anct_qpv2024", "qpv_2015": "anct_qpv2015", "communes": "ign_communes"}


# ----------------------------------------------------------------------------------------- table
def _bool(s: pd.Series) -> pd.Series:
    if s.dtype == bool:
        return s
    return s.astype("string").fillna("").str.strip().str.lower().isin(["true", "1", "vrai", "oui"])


def read_indicateurs(csv_path: Path, gpkg: Path | None = None, *, sauf: tuple[str, ...] = ()) -> pd.DataFrame:
    """The tidy indicator table (v2): from ``indicateurs.parquet`` beside the CSV when it is as recent
    (the build writes both), else the CSV, else the GeoPackage layer ``indicateurs``.

    Text columns are strings (empty when missing), ``millesime`` is ``Int64``, ``valeur`` and
    ``couverture`` are floats, ``simule`` is a bool. ``sauf``: territory types left out (the sheets
    never read the IRIS rows, 90 % of a France-wide table): filtered while reading the Parquet file.
    """
    source = Path(csv_path)
    parquet = source.with_suffix(".parquet")
    if parquet.exists() and (not source.exists() or parquet.stat().st_mtime_ns >= source.stat().st_mtime_ns):
        import pyarrow.parquet as pq
        source = parquet
        filtre = [("type_territoire", "not in", list(sauf))] if sauf else None
        df = pq.read_table(parquet, filters=filtre).to_pandas()
    elif source.exists():
        df = pd.read_csv(source, sep=";", encoding="utf-8-sig", dtype={c: str for c in TEXT_COLUMNS + ["simule"]})
    elif gpkg is not None and Path(gpkg).exists():
        import pyogrio
        source = Path(gpkg)
        df = pyogrio.read_dataframe(gpkg, layer="indicateurs", read_geometry=False, use_arrow=True)
    else:
        raise ObservatoireError("Le tableau des indicateurs est introuvable (indicator table not found).",
                                fichier=str(csv_path), correction="lancez d'abord « observatoire build »")
    if sauf and source != parquet and "type_territoire" in df.columns:   # the Parquet read filtered already
        df = df[~df["type_territoire"].isin(sauf)].reset_index(drop=True)
    missing = [c for c in TIDY_COLUMNS if c not in df.columns]
    if missing:
        raise ObservatoireError(f"Colonnes absentes du tableau des indicateurs : {', '.join(missing)} "
                                "(table in an older format).", fichier=str(source),
                                correction="relancez « observatoire build » (format v2 décrit dans docs/contracts.md)")
    for c in TEXT_COLUMNS:
        df[c] = df[c].astype("string").fillna("").astype(object)
    df["millesime"] = pd.to_numeric(df["millesime"], errors="coerce").astype("Int64")
    df["valeur"] = pd.to_numeric(df["valeur"], errors="coerce").astype(float)
    df["couverture"] = pd.to_numeric(df["couverture"], errors="coerce").astype(float)
    df["simule"] = _bool(df["simule"]).astype(bool)
    return df


def _layer(gpkg: Path, name: str, names: set[str]):
    import geopandas as gpd
    if name not in names:
        return None
    return gpd.read_file(gpkg, layer=name, use_arrow=True)


def _partner_meta(config, catalogue: dict[str, Indicateur]) -> dict[tuple, dict[str, str]]:
    """Labels, units and quotes of partner figures, keyed by ``(source, indicateur, code, millesime)``
    and ``(source, indicateur)``.

    Read through :func:`observatoire.sources.partner.partner_figures` (the same reading as the
    import, so units match the tidy values: ratios already × 100); when that module is unavailable,
    from the ``reference_figures`` columns of the CSV (``indicator``, ``label_fr``, ``unit``).
    """
    meta: dict[tuple, dict[str, str]] = {}
    for p in config.partenaires:
        figures = None
        try:
            from ..sources.partner import partner_figures
            figures = partner_figures(p, config, catalogue)
        except (ImportError, ObservatoireError):
            figures = None
        if figures is not None:
            for r in figures.itertuples(index=False):
                d = {"libelle": str(r.libelle_indicateur or ""), "unite": str(r.unite or ""),
                     "citation": str(r.citation or "")}
                if not pd.isna(r.millesime):
                    meta.setdefault((p["id"], r.indicateur, str(r.code_territoire), int(r.millesime)), d)
                meta.setdefault((p["id"], r.indicateur), d)
            continue
        f = Path(p["fichier"])
        if not f.exists() or f.suffix.lower() != ".csv":
            continue
        try:
            t = pd.read_csv(f, dtype=str, encoding="utf-8-sig")
        except (UnicodeDecodeError, pd.errors.ParserError):
            continue
        if not {"indicator", "label_fr"} <= set(t.columns):
            continue
        for r in t.itertuples(index=False):
            unite = str(getattr(r, "unit", "") or "")
            unite = {"ratio": "%", "count": "nombre"}.get(unite, unite)   # the import turns ratios into %
            d = {"libelle": str(r.label_fr), "unite": unite, "citation": str(getattr(r, "quote", "") or "")}
            year = str(getattr(r, "year", "") or "")
            if year.isdigit():
                meta.setdefault((p["id"], r.indicator, str(getattr(r, "territory_code", "")), int(year)), d)
            meta.setdefault((p["id"], r.indicator), d)
    return meta


@dataclass
class Inputs:
    """Everything the sheets of a run are built from (read once for all sheets)."""

    config: Any
    table: pd.DataFrame
    catalogue: dict[str, Indicateur]
    layers: dict[str, Any]
    simulated: list[str]                 # simulated source files (``sources`` layer)
    partner_meta: dict
    partner_names: dict[str, str]
    code_epci: str
    nom_epci: str
    index: dict = field(default_factory=dict)   # (type, code, indicateur, year) → row
    years: dict = field(default_factory=dict)   # (type, code, indicateur) → sorted years
    faits: BaseFaits | None = None              # the table indexed for the diagnosis
    sources_simulees: frozenset = frozenset()   # source ids with a simulated file
    verification: pd.DataFrame | None = None    # layer ``verification_resume`` (back-test), when present
    noms_departements: dict = field(default_factory=dict)   # code → name
    parties: dict = field(default_factory=dict)             # code_qp → codes of its commune parts
    partenaires: pd.DataFrame | None = None                 # the partner rows (``methode = partenaire``)

    def epci_de(self, code: str, geographie: str) -> tuple[str, str]:
        """SIREN and short name of the EPCI a quartier is compared with: the ``epci_reference`` the
        build gave it (the configured EPCI for its quartiers, the EPCI of the main commune in a
        département), else the run's EPCI."""
        layer = {"2024": "qpv_2024", "2015": "qpv_2015"}.get(geographie)
        gdf = self.layers.get(layer) if layer else None
        siren = ""
        if gdf is not None and "epci_reference" in gdf:
            m = gdf.loc[gdf["code_qp"].astype(str) == code, "epci_reference"]
            siren = str(m.iloc[0]) if len(m) and isinstance(m.iloc[0], str) else ""
        if not siren or siren == self.code_epci:
            return self.code_epci, self.nom_epci
        epci = self.layers.get("epci")
        nom = ""
        if epci is not None and "siren" in epci:
            m = epci.loc[epci["siren"].astype(str) == siren, "nom"]
            nom = str(m.iloc[0]) if len(m) else ""
        if not nom:
            m = self.table.loc[(self.table["type_territoire"] == "epci") & (self.table["code_territoire"] == siren),
                               "libelle_territoire"]
            nom = str(m.iloc[0]) if len(m) else siren
        return siren, nom_court_epci(nom)

    def layer_simule(self, layer: str) -> bool:
        """Is a geographic layer built from a simulated file (``sources`` layer)?"""
        return LAYER_SOURCES.get(layer, "") in self.sources_simulees


def _sources_simulees(gpkg: Path, names: set[str]) -> frozenset:
    if "sources" not in names:
        return frozenset()
    import pyogrio
    t = pyogrio.read_dataframe(gpkg, layer="sources", columns=["source", "simule"], read_geometry=False)
    return frozenset(t.loc[_bool(t["simule"]), "source"].astype(str))


def _verification(gpkg: Path, names: set[str]) -> pd.DataFrame | None:
    if "verification_resume" not in names:
        return None
    import pyogrio
    return pyogrio.read_dataframe(gpkg, layer="verification_resume", read_geometry=False)


def load_inputs(config, catalogue: dict[str, Indicateur] | None = None) -> Inputs:
    """Read the processed data, catalogue, simulated flags, partner labels and back-test summary."""
    import pyogrio
    gpkg = Path(config.paths.gpkg)
    if not gpkg.exists():
        raise ObservatoireError("Le GeoPackage des données traitées est introuvable (GeoPackage not found).",
                                fichier=str(gpkg), correction="lancez d'abord « observatoire build »")
    table = read_indicateurs(config.paths.indicateurs_csv, gpkg, sauf=("iris",))
    if catalogue is None:
        alt = config.section("portraits").get("catalogue")
        if alt:
            p = Path(alt) if Path(alt).is_absolute() else config.paths.root / alt
            catalogue = load_catalogue(p, validate=False)
        else:
            catalogue = load_catalogue()
    names = {n for n, _ in pyogrio.list_layers(gpkg)}
    layers = {n: _layer(gpkg, n, names) for n in LAYERS}
    simulated = simulated_inputs(gpkg)
    epci = layers.get("epci")
    code_epci = config.territoire.epci or (str(epci["siren"].iloc[0]) if epci is not None and len(epci) else "")
    nom = str(epci["nom"].iloc[0]) if epci is not None and len(epci) else ""
    if not code_epci:
        codes = table.loc[table["type_territoire"].str.startswith("ensemble_qpv") & table["type_territoire"]
                          .str.endswith("_epci"), "code_territoire"].unique()
        code_epci = str(codes[0]) if len(codes) else ""
    if not nom:
        nom = config.territoire.nom or "l'agglomération"
    names_p = {p["id"]: str(p.get("libelle") or p["id"]) for p in config.partenaires}
    inp = Inputs(config, table, catalogue, layers, simulated, _partner_meta(config, catalogue), names_p, code_epci,
                 nom_court_epci(nom), sources_simulees=_sources_simulees(gpkg, names),
                 verification=_verification(gpkg, names))
    partner = (table["methode"] == "partenaire").to_numpy()
    inp.partenaires = table[partner]
    regular = table[~partner]
    inp.index = {(r.type_territoire, r.code_territoire, r.indicateur, int(r.millesime)): r
                 for r in regular.itertuples(index=False) if not pd.isna(r.millesime)}
    years: dict[tuple[str, str, str], set[int]] = {}
    for (t, c, i, y) in inp.index:
        years.setdefault((t, c, i), set()).add(y)
    inp.years = {k: sorted(v) for k, v in years.items()}
    inp.faits = BaseFaits.from_table(table, catalogue)
    dep = table[table["type_territoire"] == "departement"]
    inp.noms_departements = dict(zip(dep["code_territoire"], dep["libelle_territoire"]))
    parts: dict[str, set[str]] = {}
    for (t, c, _i) in inp.years:
        if t == "partie_qpv2024":
            parts.setdefault(c.split("_", 1)[0], set()).add(c)
    inp.parties = {k: sorted(v) for k, v in parts.items()}
    return inp


# ----------------------------------------------------------------------------------------- notes
_LIST_ITEM = re.compile(r"^([-*]|\d+\.)\s+")

def render_markdown(text: str) -> Markup:
    """Markdown → safe HTML: raw HTML is escaped, unsafe links are refused (markdown-it-py)."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:                                      # minimal safe subset
        out, items = [], []
        for line in text.splitlines():
            s = line.strip()
            if _LIST_ITEM.match(s):
                items.append(f"<li>{escape(_LIST_ITEM.sub('', s))}</li>")
                continue
            if items:
                out.append("<ul>" + "".join(items) + "</ul>")
                items = []
            if s:
                out.append(f"<p>{escape(s)}</p>")
        if items:
            out.append("<ul>" + "".join(items) + "</ul>")
        return Markup("".join(out))
    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    return Markup(md.render(text))


def read_notes(path: Path) -> dict[str, Markup]:
    """Sections ``## Atouts``, ``## Points de vigilance``, ``## Enjeux retenus`` of a notes file."""
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ObservatoireError("Le fichier de notes n'est pas encodé en UTF-8.", fichier=str(path),
                                correction="enregistrez-le en UTF-8") from e
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"^##\s+(.+?)\s*#*\s*$", line)
        if m:
            key = slug(m.group(1))
            current = key if key in SECTIONS_NOTES else None
            if current:
                sections.setdefault(current, [])
            continue
        if current:
            sections[current].append(line)
    return {k: render_markdown("\n".join(v)) for k, v in sections.items() if "\n".join(v).strip()}


GEOGRAPHIES = {
    # geographie: (type_territoire, layer, name column, qpv_communes millesime)
    "2024": ("qpv2024", "qpv_2024", "lib_qp", 2024),
    "2015": ("qpv2015", "qpv_2015", "nom_qp", 2015),
    "zones": ("zone", "zones", "libelle", None),
}


def quartiers_list(inp: Inputs, geographie: str) -> list[tuple[str, str]]:
    """``(code, name)`` of every quartier of a geography, sorted by code."""
    if geographie not in GEOGRAPHIES:
        raise ObservatoireError(f"Géographie inconnue : {geographie!r}.",
                                correction="choisissez « 2024 », « 2015 » ou « zones »")
    _, layer, name_col, _ = GEOGRAPHIES[geographie]
    gdf = inp.layers.get(layer)
    if gdf is None or gdf.empty:
        return []
    code_col = "code" if geographie == "zones" else "code_qp"
    gdf = quartiers_publies(gdf)   # a neighbour's quartier kept for the transposition has no sheet
    return sorted((str(c), str(n)) for c, n in zip(gdf[code_col], gdf[name_col]))
