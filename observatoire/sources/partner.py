"""Partner tables: CSV or XLSX files an analyst declares in ``[[partenaires]]`` of the configuration.

A partner table is keyed by territory code and becomes its own source (``source`` = the partner id,
``methode`` = ``partenaire``) in the tidy table. It is **checked like an official table**:

- codes have the official form of their declared type (:data:`observatoire.tidy.CODE_PATTERNS`):
  2015 quartier codes (``QP…``) declared ``qpv2024`` are refused, as is anything that is not a code
  (``../``, a spreadsheet's ``590140101.0``);
- the declared unit (``unite``, ``unites``, ``colonne_unite``) must agree with the catalogue's, and the
  values with the unit's plausible range (:data:`observatoire.catalogue.vocabulaire.PLAGES`): an annual
  euro median mapped to a monthly indicator, or a rate above 100, is refused with the transformation
  to declare (``transformations = { colonne = "/12" }``, ``"×100"``);
- empty or marked cells become ``nd`` / ``secret`` rows (never dropped, never zero);
- rows outside the territory (:class:`Perimetre`) stay out of the tidy table and are counted in the
  log; territory labels come from the official geography layers.

Keys of a ``[[partenaires]]`` entry::

    id = "etude_bailleur"                   # source id in the tidy table
    fichier = "donnees/bailleur.xlsx"       # CSV (« ; » or « , ») or XLSX
    feuille = "Feuil1"                      # XLSX sheet (default: the first)
    disposition = "large"                   # « large » (one column per indicator) or « longue »
    colonne_code = "code_qp"                # territory code column
    type_territoire = "qpv2024"             # qpv2015 | qpv2024 | iris | commune | epci | … (or
    colonne_type = "niveau"                 #   a column holding it per row)
    indicateurs = { taux_hlm = "part_menages_locataires_hlm" }   # wide: column → catalogue id
    colonne_indicateur = "indicateur"       # long: indicator id column
    colonne_valeur = "valeur"               # long: value column
    unite = "%"                             # unit of the file's values (or unites = { col = "€/an" },
    colonne_unite = "unite"                 #   or a column): « % », « ratio », « nombre », « € »,
                                            #   « €/mois », « €/an »
    transformations = { montant = "/12" }   # per column (wide) or indicator (long): /n, ×n, *n
    millesime = 2021                        # or colonne_millesime = "annee"
    optionnel = true                        # a missing file is skipped instead of an error
    hors_catalogue = false                  # keep indicator ids that are not in the catalogue
    doublons = "refuser"                    # one territory, indicator and year twice with two values:
                                            #   refused (default) or « premier » (the first row counts)

``layout``/``long``/``wide``, ``code``, ``indicators`` are accepted as English synonyms.

Preset ``reference_figures`` reads ``../shared/data/valenciennes/reference_figures.csv`` (the figures
printed in the contract documents) with no further key. Its decisions, documented here:

- territory types: ``qpv`` → ``qpv2024`` (QN… codes) or ``qpv2015`` (QP… codes); ``commune``,
  ``epci``, ``ensemble_qpv_epci`` (empty code → the territory's EPCI SIREN),
  ``ensemble_qpv_departement`` kept; ``region`` (not a level of the tidy table) left out of the tidy
  rows;
- indicator ids: a catalogue id or alias (``part_allocataires_prestations_50pct_plus`` →
  ``part_allocataires_prestations_50pct``) lands on the catalogue row; any other id is kept as is
  with its ``label_fr`` (see :func:`partner_figures` / :func:`partner_labels`);
- units: ``ratio`` values between 0 and 1 (« un sur quatre ») × 100 → ``%``; other ratios
  (densité pour 10 000) kept;
- **changes are not levels**: rows whose unit is ``points`` or whose year is a period
  (``2011-2019``), and ``ecart_*`` rows (gap to an average), stay OUT of the tidy table: they are in
  :func:`partner_figures` (``nature`` = ``evolution`` / ``ecart``, with ``millesime_debut`` and
  ``millesime_fin``);
- rows without a year (« année non précisée ») cannot have a ``millesime``: they stay out of the tidy
  table and are in :func:`partner_figures` (``dans_tidy`` = False);
- several sections of one intercommunal quartier may quote the same indicator for the same year:
  the tidy table keeps the first row (file order), the others are in :func:`partner_figures`.
- 2024 quartier codes and the ensembles of quartiers get ``millesime_geographie`` 2024, although the
  document says its statistics come from the 2015 perimeters (note ¹ of the Projets de quartiers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..catalogue.vocabulaire import PLAGES
from ..errors import ConfigError, FormatError, SourceMissingError
from ..fr import accord
from ..progress import info
from ..tidy import TIDY_COLUMNS, code_valide
from .tabular import CODES_ND, CODES_SECRET, read_table, to_number

TYPES_PARTENAIRE = ("iris", "commune", "qpv2015", "qpv2024", "partie_qpv2024", "zone", "epci",
                    "ensemble_qpv_epci", "ensemble_qpv_departement", "departement", "france",
                    "ensemble_qpv2015_epci", "ensemble_qpv2024_epci", "ensemble_qpv2015_departement",
                    "ensemble_qpv2024_departement")

FIGURE_COLUMNS = ["type_territoire", "code_territoire", "libelle_territoire", "indicateur",
                  "libelle_indicateur", "valeur", "unite", "annee", "millesime", "millesime_debut",
                  "millesime_fin", "nature", "dans_tidy", "statut", "motif", "ligne", "source",
                  "citation", "note"]

#: Example of a valid code per type, for messages.
EXEMPLES_CODES = {"iris": "596060101", "commune": "59606", "epci": "245901160", "departement": "59",
                  "qpv2015": "QP059020", "qpv2024": "QN05920M", "partie_qpv2024": "QN05921M_59014",
                  "zone": "VEILLE_FLORALIES", "france": "FRM"}

PRESETS: dict[str, dict[str, Any]] = {
    "reference_figures": {
        "disposition": "longue",
        "colonne_code": "territory_code",
        "colonne_type": "territory_type",
        "colonne_libelle": "territory_name",
        "colonne_indicateur": "indicator",
        "colonne_libelle_indicateur": "label_fr",
        "colonne_valeur": "value",
        "colonne_unite": "unit",
        "colonne_millesime": "year",
        "colonne_citation": "quote",
        "colonne_note": "note",
        "hors_catalogue": True,
        "doublons": "premier",
        "types": {"qpv": "auto", "commune": "commune", "epci": "epci",
                  "ensemble_qpv_epci": "ensemble_qpv_epci",
                  "ensemble_qpv_departement": "ensemble_qpv_departement"},
        "fichier_defaut": "../shared/data/valenciennes/reference_figures.csv",
    },
}

_SYNONYMS = {"layout": "disposition", "code": "colonne_code", "indicators": "indicateurs",
             "territory_type": "type_territoire", "sheet": "feuille", "optional": "optionnel"}
_LAYOUTS = {"long": "longue", "longue": "longue", "wide": "large", "large": "large"}
_PERIOD = re.compile(r"^\s*(\d{4})\s*[-–/]\s*(\d{4})\s*$")
_YEAR = re.compile(r"^\s*(\d{4})(?:\.0)?\s*$")
_TRANSFORM = re.compile(r"^\s*([/÷*×xX])\s*(\d+(?:[.,]\d+)?)\s*$")

#: Units a partner may declare → the unit they mean.
UNITES_PARTENAIRE = {
    "%": "%", "pourcent": "%", "pct": "%", "taux": "%",
    "ratio": "ratio", "proportion": "ratio",
    "nombre": "nombre", "count": "nombre", "effectif": "nombre", "nb": "nombre",
    "€": "€", "euro": "€", "euros": "€", "eur": "€",
    "€/mois": "€/mois", "euros/mois": "€/mois", "€ par mois": "€/mois", "eur/mois": "€/mois",
    "€/an": "€/an", "euros/an": "€/an", "€ par an": "€/an", "eur/an": "€/an",
    "indice": "indice", "points": "points",
}
#: Declared unit → catalogue units it can feed without a transformation.
_COMPATIBLES = {"%": {"%"}, "ratio": {"%", "indice"}, "nombre": {"nombre"}, "€": {"€", "€/mois"},
                "€/mois": {"€/mois"}, "€/an": {"€"}, "indice": {"indice"}}


@dataclass(frozen=True)
class Perimetre:
    """The territory a partner table is read for: its codes and official labels by type.

    Built from the build's own rows (:meth:`from_tidy`): a partner row whose ``(type, code)`` is not
    in it stays out of the tidy table (counted in the log), and its label is the official one.
    """

    codes: dict[str, frozenset[str]] = field(default_factory=dict)
    libelles: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def from_tidy(cls, tidy: pd.DataFrame) -> "Perimetre":
        keys = tidy[["type_territoire", "code_territoire", "libelle_territoire"]].drop_duplicates(
            ["type_territoire", "code_territoire"])
        codes = {t: frozenset(g["code_territoire"].astype(str)) for t, g in keys.groupby("type_territoire")}
        libelles = {(t, str(c)): str(lib) for t, c, lib in keys.itertuples(index=False) if isinstance(lib, str) and lib}
        return cls(codes, libelles)

    def contient(self, kind: str, code: str) -> bool:
        """Whether the territory publishes ``(kind, code)``; a type it does not publish is outside."""
        return code in self.codes.get(kind, ())


# --------------------------------------------------------------------------------- specification

def _spec(spec: dict[str, Any], config=None) -> dict[str, Any]:
    """The entry with presets merged, synonyms resolved and ``fichier`` as an absolute path."""
    s = {_SYNONYMS.get(k, k): v for k, v in dict(spec).items()}
    preset = s.get("preset")
    if preset:
        if preset not in PRESETS:
            raise ConfigError(f"Table partenaire « {s.get('id')} » : préréglage inconnu « {preset} ».",
                              fichier=str(getattr(config, "source_file", "") or ""),
                              correction=f"choisissez parmi : {', '.join(PRESETS)}")
        s = {**PRESETS[preset], **s}
    if "disposition" in s:
        d = _LAYOUTS.get(str(s["disposition"]).lower())
        if d is None:
            raise ConfigError(f"Table partenaire « {s.get('id')} » : disposition « {s['disposition']} » "
                              "inconnue.", fichier=str(s.get("fichier", "")),
                              correction="disposition = \"longue\" (une ligne par chiffre) ou \"large\"")
        s["disposition"] = d
    else:
        s["disposition"] = "large" if s.get("indicateurs") else "longue"
    if not s.get("fichier"):
        s["fichier"] = s.get("fichier_defaut")
    f = Path(str(s["fichier"]))
    if not f.is_absolute() and config is not None and getattr(config, "paths", None) is not None:
        f = config.paths.root / f
    s["fichier"] = f
    s["id"] = str(s.get("id") or "partenaire")
    return s


def _check_declarations(s: dict[str, Any], frame: pd.DataFrame, path: str) -> None:
    """Territory type and millésime are declared (a key or a column)."""
    pid = s["id"]
    if s.get("colonne_type"):
        _need(frame, s["colonne_type"], "de type de territoire", path, "colonne_type")
    elif not s.get("type_territoire"):
        raise ConfigError(f"Table partenaire « {pid} » : type de territoire non précisé.", fichier=path,
                          correction="ajoutez type_territoire = \"qpv2024\" (ou qpv2015, iris, commune) "
                                     "ou colonne_type = \"…\"")
    elif s["type_territoire"] not in TYPES_PARTENAIRE + ("qpv",):
        raise ConfigError(f"Table partenaire « {pid} » : type de territoire « {s['type_territoire']} » inconnu.",
                          fichier=path, correction=f"choisissez parmi : {', '.join(TYPES_PARTENAIRE)}")
    if s.get("colonne_millesime"):
        _need(frame, s["colonne_millesime"], "de millésime", path, "colonne_millesime")
    elif s.get("millesime") is None:
        raise ConfigError(f"Table partenaire « {pid} » : millésime non précisé.", fichier=path,
                          correction="ajoutez millesime = 2021 ou colonne_millesime = \"annee\"")


def _need(df: pd.DataFrame, col: str | None, what: str, path: str, key: str) -> str:
    if not col or col not in df.columns:
        raise FormatError(f"Colonne {what} « {col} » introuvable (colonnes trouvées : "
                          f"{', '.join(map(str, df.columns[:30]))}).", fichier=path,
                          correction=f"indiquez le bon nom dans {key} = \"…\" de [[partenaires]]")
    return col


def transformation_factor(text: str, where: str = "") -> float:
    """Factor of a declared transformation: ``/12`` → 1/12, ``×100``, ``*100``, ``x100`` → 100.

    >>> transformation_factor("/12") == 1 / 12, transformation_factor("×100")
    (True, 100.0)
    """
    m = _TRANSFORM.match(str(text))
    if not m or float(m.group(2).replace(",", ".")) == 0:
        raise ConfigError(f"Transformation « {text} »{where} illisible.",
                          correction='écrivez une division ou une multiplication : "/12", "×100" ou "*100"')
    n = float(m.group(2).replace(",", "."))
    return 1.0 / n if m.group(1) in "/÷" else n


def _unit(text: Any, pid: str, path: str) -> str:
    t = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text).strip()
    if not t or t.lower() == "nan":
        return ""
    u = UNITES_PARTENAIRE.get(t.lower()) or UNITES_PARTENAIRE.get(t)
    if u is None:
        raise ConfigError(f"Table partenaire « {pid} » : unité « {t} » inconnue.", fichier=path,
                          correction=f"choisissez parmi : {', '.join(sorted(set(UNITES_PARTENAIRE.values())))}")
    return u


# --------------------------------------------------------------------------------- reading

def _read(path: Path, s: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray]:
    """The partner file's string cells and the 1-based file line of each row."""
    sheet = s.get("feuille")
    raw = read_table(path, sheet=str(sheet) if sheet not in (None, 0) else None)
    return raw.frame, raw.lines


def _long(df: pd.DataFrame, s: dict[str, Any], path: str) -> pd.DataFrame:
    """One row per figure: ``row_`` (row of ``df``), ``col_`` (value column), ``ind_``, ``val_``,
    ``unit_`` (declared unit as written)."""
    pid = s["id"]
    units = s.get("unites") if isinstance(s.get("unites"), dict) else {}
    if s["disposition"] == "large":
        mapping = s.get("indicateurs") or {}
        if not mapping:
            raise ConfigError(f"Table partenaire « {pid} » : aucune colonne associée à un indicateur.",
                              fichier=path, correction="ajoutez indicateurs = { colonne = \"id_du_catalogue\" }")
        parts = []
        for col, ind in mapping.items():
            _need(df, col, "d'indicateur", path, "indicateurs")
            parts.append(pd.DataFrame({"row_": np.arange(len(df)), "col_": col, "ind_": str(ind),
                                       "val_": df[col].to_numpy(), "unit_": units.get(col, s.get("unite", ""))}))
        return pd.concat(parts, ignore_index=True)
    ind_col = _need(df, s.get("colonne_indicateur"), "d'indicateur", path, "colonne_indicateur")
    val_col = _need(df, s.get("colonne_valeur"), "de valeur", path, "colonne_valeur")
    unit_col = s.get("colonne_unite")
    if unit_col:
        _need(df, unit_col, "d'unité", path, "colonne_unite")
    remap = s.get("indicateurs") or {}
    ids = df[ind_col].astype(str).str.strip()
    declared = df[unit_col].astype(str).to_numpy() if unit_col else ids.map(lambda i: units.get(i, s.get("unite", "")))
    return pd.DataFrame({"row_": np.arange(len(df)), "col_": val_col, "ind_": ids.map(lambda x: remap.get(x, x)),
                         "val_": df[val_col].to_numpy(), "unit_": np.asarray(declared, dtype=object)})


def cells(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Partner cells → (value, statut, motif). Empty or ``nd`` → ``nd``, ``s`` → ``secret`` (never 0);
    ``%`` and ``€`` signs and French number formatting accepted; anything else is unreadable (NaN,
    statut ``illisible``)."""
    text = pd.Series(values, dtype=object).fillna("").astype(str).str.strip()
    value = to_number(text.str.replace(r"\s*[%€]$", "", regex=True))
    low = text.str.lower()
    secret = np.isnan(value) & low.isin(CODES_SECRET | {"c", "nc", "*"}).to_numpy()
    nd = np.isnan(value) & ~secret & low.isin(CODES_ND | {"n/d", "–", "—", "..."}).to_numpy()
    statut = np.where(~np.isnan(value), "ok", np.where(secret, "secret", np.where(nd, "nd", "illisible")))
    motif = np.where(secret, "secret (cellule marquée dans la table partenaire)",
                     np.where(nd & (low == "").to_numpy(), "cellule vide dans la table partenaire",
                              np.where(nd, "marquée non disponible dans la table partenaire", "")))
    return value, statut.astype(object), motif.astype(object)


def _territory_type(code: str, declared: str | None, mapping: dict | None) -> str | None:
    t = declared
    if mapping is not None and declared is not None:
        t = mapping.get(declared)
        if t is None:
            return None
    if t == "auto" or t in ("qpv", None):
        c = str(code)
        if c.startswith("QN"):
            return "qpv2024"
        if c.startswith("QP"):
            return "qpv2015"
        return None if t in ("auto", "qpv") else t
    return t


def _set_geography(kind: str, millesime) -> str:
    """A partner's « ensemble des QPV » refers to the quartiers of its time: the 2015 geography for
    figures before 2024, the 2024 one after."""
    if kind in ("ensemble_qpv_epci", "ensemble_qpv_departement"):
        geo = 2024 if millesime is not None and not pd.isna(millesime) and int(millesime) >= 2024 else 2015
        return kind.replace("ensemble_qpv_", f"ensemble_qpv{geo}_")
    return kind


def _geo_year(kind: str, millesime) -> int:
    if kind in ("qpv2024", "partie_qpv2024") or kind.startswith("ensemble_qpv2024"):
        return 2024
    if kind == "qpv2015" or kind.startswith("ensemble_qpv2015"):
        return 2015
    return int(millesime) if millesime is not None and not pd.isna(millesime) else 0


def _catalogue(catalogue):
    from ..catalogue import alias_map, load_catalogue
    catalogue = load_catalogue() if catalogue is None else catalogue
    return catalogue, alias_map(catalogue)


# --------------------------------------------------------------------------------- checks

def _lines(lines: np.ndarray, rows, n: int = 5) -> str:
    rows = list(rows)
    shown = ", ".join(str(int(lines[r])) for r in rows[:n])
    return f"{accord(len(rows), 'ligne')} {shown}{' …' if len(rows) > n else ''}"


def check_codes(f: pd.DataFrame, lines: np.ndarray, pid: str, path: str) -> None:
    """Every code of a tidy-bound row has the official form of its type (2015 quartier codes declared
    2024 are named as such). Raises FormatError naming the lines and the fix."""
    kinds = f["type_territoire"].map(lambda k: _set_geography(k, 2015))
    ok = [code_valide(k, c) for k, c in zip(kinds, f["code_territoire"])]
    bad = f[~np.asarray(ok, bool) & f["dans_tidy"].to_numpy(bool)]
    if bad.empty:
        return
    k, c = bad["type_territoire"].iloc[0], bad["code_territoire"].iloc[0]
    rows = bad["row_"].unique()
    if k == "qpv2024" and str(c).startswith("QP") or k == "qpv2015" and str(c).startswith("QN"):
        geo = "2015 (QP…)" if k == "qpv2024" else "2024 (QN…)"
        right = "qpv2015" if k == "qpv2024" else "qpv2024"
        raise FormatError(f"Table partenaire « {pid} » : codes de quartiers de la géographie {geo} déclarés "
                          f"{k} ({_lines(lines, rows)}, ex. « {c} »).", fichier=path,
                          correction=f"déclarez type_territoire = \"{right}\" (ou une colonne_type), ou "
                                     "remplacez ces codes par ceux de la géographie déclarée")
    ex = EXEMPLES_CODES.get(k.split("_")[-1] if k.startswith("ensemble") else k, "")
    raise FormatError(f"Table partenaire « {pid} » : code « {c} » qui n'a pas la forme d'un code {k} "
                      f"({_lines(lines, rows)}).", fichier=path,
                      correction=f"écrivez le code officiel{f' (ex. « {ex} »)' if ex else ''} — un tableur "
                                 "a pu le changer en nombre : enregistrez la colonne au format texte")


def _units_against_catalogue(f: pd.DataFrame, catalogue, pid: str, path: str, lines: np.ndarray) -> None:
    """Declared units agree with the catalogue's unit of each indicator (no transformation declared)."""
    rows = f[f["dans_tidy"] & f["indicateur"].isin(list(catalogue)) & (f["unite_declaree"] != "")
             & ~f["transforme"]]
    for (ind, unit), g in rows.groupby(["indicateur", "unite_declaree"]):
        expected = catalogue[ind].unite
        if expected in _COMPATIBLES.get(unit, {unit}):
            continue
        hint = ""
        if unit == "€/an" and expected == "€/mois":
            hint = f'transformations = {{ {g["col_"].iloc[0]} = "/12" }}'
        elif unit == "ratio" and expected == "%":
            hint = f'transformations = {{ {g["col_"].iloc[0]} = "×100" }}'
        raise FormatError(f"Table partenaire « {pid} » : l'indicateur « {ind} » est en {expected} mais la "
                          f"table le déclare en {unit} ({_lines(lines, g['row_'])}).", fichier=path,
                          correction=(f"ajoutez {hint} à [[partenaires]]" if hint else
                                      f"associez la colonne à un indicateur en {unit}, ou corrigez l'unité déclarée"))


def _ranges(f: pd.DataFrame, catalogue, pid: str, path: str, lines: np.ndarray) -> None:
    """Values within the plausible range of their catalogue unit; the fix names the factor that
    brings them back (annual → monthly, proportion → percent) when one does."""
    rows = f[f["dans_tidy"] & f["indicateur"].isin(list(catalogue)) & (f["statut"] == "ok")]
    for ind, g in rows.groupby("indicateur"):
        unit = catalogue[ind].unite
        low, high = PLAGES.get(unit, (None, None))
        v = g["valeur"].to_numpy(float)
        out = np.zeros(len(v), bool)
        if low is not None:
            out |= v < low
        if high is not None:
            out |= v > high
        if not out.any():
            continue
        col = g["col_"].iloc[0]
        hint = "vérifiez ces valeurs dans le fichier d'origine"
        med = float(np.median(v[out]))
        if unit == "€/mois" and high is not None and low <= med / 12 <= high:
            hint = (f"ces valeurs semblent annuelles : déclarez unite = \"€/an\" et "
                    f"transformations = {{ {col} = \"/12\" }}")
        elif unit == "%" and high is not None and med > high and med / 100 <= high:
            hint = "vérifiez l'échelle de la colonne dans le fichier d'origine (un taux en % est compris entre 0 et 100)"
        rng = f"entre {_fmt(low)} et {_fmt(high)}" if high is not None else f"au moins {_fmt(low)}"
        raise FormatError(f"Table partenaire « {pid} » : « {ind} » ({unit}) vaut {_fmt(v[out][0])} "
                          f"({_lines(lines, g['row_'][out])}) ; attendu {rng}.", fichier=path,
                          correction=hint)


def _fmt(x: float) -> str:
    from ..fr import format_nombre
    x = float(x)
    return format_nombre(x, decimales=0 if x.is_integer() else 1 if round(x, 1) == x else 2)


# --------------------------------------------------------------------------------- figures

def _classify(long: pd.DataFrame, df: pd.DataFrame, s: dict[str, Any], catalogue, aliases,
              path: str, config) -> pd.DataFrame:
    """Every figure with its type, code, nature, millésime, value, statut and why it is (not) tidy."""
    pid = s["id"]
    code_col, type_col, year_col = s["colonne_code"], s.get("colonne_type"), s.get("colonne_millesime")
    codes = df[code_col].astype(str).str.strip().to_numpy()[long["row_"]]
    declared = (df[type_col].astype(str).str.strip().to_numpy()[long["row_"]] if type_col
                else np.full(len(long), s.get("type_territoire"), dtype=object))
    years = (df[year_col].astype(str).str.strip().to_numpy()[long["row_"]] if year_col
             else np.full(len(long), str(s.get("millesime")), dtype=object))
    value, statut, motif = cells(long["val_"])
    hors = bool(s.get("hors_catalogue"))
    transforms = s.get("transformations") or {}
    epci_code = s.get("code_epci") or (getattr(getattr(config, "territoire", None), "epci", None) if config else None)
    if not epci_code and type_col:
        ep = df[df[type_col].astype(str) == "epci"]
        epci_code = str(ep[code_col].iloc[0]) if len(ep) else None
    rows = []
    for i, r in enumerate(long.itertuples(index=False)):
        raw_id, year_txt = str(r.ind_), "" if years[i].lower() == "nan" else years[i]
        unit = _unit(r.unit_, pid, path)
        nature = ("ecart" if raw_id.startswith("ecart_") else
                  "evolution" if unit == "points" or raw_id.startswith("evol_") or _PERIOD.match(year_txt)
                  else "niveau")
        per, yr = _PERIOD.match(year_txt), _YEAR.match(year_txt)
        base_id = raw_id[5:] if nature == "evolution" and raw_id.startswith("evol_") else raw_id
        ind_id = aliases.get(base_id, base_id)
        if ind_id not in catalogue and not hors:
            raise ConfigError(f"Table partenaire « {pid} » : indicateur « {raw_id} » absent du catalogue.",
                              fichier=path,
                              correction="associez la colonne à un id de « observatoire indicateurs », ou ajoutez "
                                         "hors_catalogue = true pour le garder sous son propre nom")
        v, st = value[i], statut[i]
        if st == "illisible":
            raise FormatError(f"Table partenaire « {pid} » : valeur illisible « {r.val_} » (ligne "
                              f"{int(s['_lines'][r.row_])}, colonne {r.col_}).", fichier=path,
                              correction="un nombre (virgule ou point décimal), « s » (secret), « nd » ou une "
                                         "case vide")
        key = r.col_ if r.col_ in transforms else raw_id if raw_id in transforms else None
        if key is not None and st == "ok":
            v = v * transformation_factor(transforms[key], f" de la colonne {key}")
        elif unit == "ratio" and st == "ok" and 0 <= v <= 1:
            v, unit = v * 100.0, "%"
        kind = _territory_type(codes[i], declared[i], s.get("types"))
        code = str(epci_code or "") if kind == "ensemble_qpv_epci" and not codes[i] else codes[i]
        millesime = int(yr.group(1)) if yr and not per else None
        dans, why = True, motif[i]
        if kind is None or kind not in TYPES_PARTENAIRE:
            dans, why = False, f"type de territoire « {declared[i]} » hors des niveaux de la table"
        elif nature != "niveau":
            dans, why = False, "évolution ou écart, pas un niveau"
        elif millesime is None:
            dans, why = False, "année non précisée"
        elif not code:
            dans, why = False, "code de territoire absent"
        rows.append((kind or declared[i], code, ind_id if nature != "ecart" else raw_id, v, unit, year_txt,
                     millesime, int(per.group(1)) if per else None, int(per.group(2)) if per else None,
                     nature, dans, st, why, int(s["_lines"][r.row_]), r.row_, r.col_, key is not None))
    return pd.DataFrame(rows, columns=["type_territoire", "code_territoire", "indicateur", "valeur",
                                       "unite_declaree", "annee", "millesime", "millesime_debut",
                                       "millesime_fin", "nature", "dans_tidy", "statut", "motif", "ligne",
                                       "row_", "col_", "transforme"])


def _texts(f: pd.DataFrame, df: pd.DataFrame, s: dict[str, Any], catalogue, perimetre) -> pd.DataFrame:
    """Labels (official ones first), unit of the figure, quote and note of the document."""
    def column(key):
        col = s.get(key)
        return df[col].astype(str).to_numpy()[f["row_"]] if col and col in df.columns else np.full(len(f), "", object)

    own = column("colonne_libelle")
    official = perimetre.libelles if perimetre is not None else {}
    f["libelle_territoire"] = [official.get((_set_geography(k, m), c), o)
                               for k, m, c, o in zip(f["type_territoire"], f["millesime"], f["code_territoire"], own)]
    labels = column("colonne_libelle_indicateur")
    f["libelle_indicateur"] = [lab if lab else (catalogue[i].libelle if i in catalogue else i)
                               for lab, i in zip(labels, f["indicateur"])]
    f["unite"] = [catalogue[i].unite if i in catalogue and (t or not u) else
                  ("nombre" if u == "nombre" else u) for i, u, t in zip(f["indicateur"], f["unite_declaree"], f["transforme"])]
    f["citation"], f["note"] = column("colonne_citation"), column("colonne_note")
    return f


def _duplicates(f: pd.DataFrame, s: dict[str, Any], lines: np.ndarray) -> None:
    """One territory, indicator and year given twice with two different values is refused (unless
    ``doublons = "premier"``: the first row counts, the others stay in :func:`partner_figures`)."""
    if s.get("doublons", "refuser") == "premier":
        return
    key = ["type_territoire", "code_territoire", "indicateur", "millesime"]
    tid = f[f["dans_tidy"]]
    n = tid.groupby(key, dropna=False)["valeur"].transform(lambda v: v.round(9).nunique(dropna=False))
    bad = tid[n > 1]
    if bad.empty:
        return
    first = bad.iloc[0]
    same = bad[(bad[key] == first[key]).all(axis=1)]
    raise FormatError(f"Table partenaire « {s['id']} » : « {first['indicateur']} » de {first['code_territoire']} "
                      f"({first['annee']}) donné deux fois avec des valeurs différentes "
                      f"({_lines(lines, same['row_'])} : {', '.join(_fmt(v) for v in same['valeur'])}).",
                      fichier=str(s["fichier"]),
                      correction="gardez une seule ligne par territoire, indicateur et année, ou ajoutez "
                                 "doublons = \"premier\" à [[partenaires]] pour retenir la première")


def _outside(f: pd.DataFrame, perimetre: Perimetre | None, pid: str) -> None:
    """Rows outside the territory leave the tidy table; the log counts them by type."""
    if perimetre is None:
        return
    kinds = [_set_geography(k, m) for k, m in zip(f["type_territoire"], f["millesime"])]
    inside = np.array([perimetre.contient(k, c) for k, c in zip(kinds, f["code_territoire"])], bool)
    out = f["dans_tidy"].to_numpy(bool) & ~inside
    if out.any():
        f.loc[out, "dans_tidy"] = False
        f.loc[out, "motif"] = "hors du territoire de l'observatoire"
        counts = pd.Series(np.asarray(kinds, object)[out]).value_counts()
        detail = ", ".join(f"{n} {k}" for k, n in counts.items())
        info(f"  Table partenaire « {pid} » : {int(out.sum())} chiffres hors du territoire laissés de côté ({detail}).")


def _figures(spec: dict[str, Any], config=None, catalogue=None, perimetre: Perimetre | None = None) -> pd.DataFrame:
    """All partner figures (levels, changes, undated rows) in :data:`FIGURE_COLUMNS`, checked."""
    s = _spec(spec, config)
    pid, path = s["id"], s["fichier"]
    if not path.exists():
        if s.get("optionnel"):
            return pd.DataFrame(columns=FIGURE_COLUMNS)
        raise SourceMissingError(f"Table partenaire « {pid} » introuvable : {path}.", fichier=str(path),
                                 correction="vérifiez le chemin « fichier » de [[partenaires]] (relatif au "
                                            "fichier de configuration) ou ajoutez optionnel = true")
    catalogue, aliases = _catalogue(catalogue)
    df, lines = _read(path, s)
    s["_lines"] = lines
    _need(df, s.get("colonne_code"), "de code de territoire", str(path), "colonne_code")
    _check_declarations(s, df, str(path))
    unknown = set(s.get("transformations") or {}) - set(s.get("indicateurs") or {}) - set(df.columns)
    long = _long(df, s, str(path))
    unknown -= set(long["ind_"])
    if unknown:
        raise ConfigError(f"Table partenaire « {pid} » : transformation déclarée pour « {sorted(unknown)[0]} », "
                          "qui n'est ni une colonne ni un indicateur de la table.", fichier=str(path),
                          correction="nommez la colonne (disposition large) ou l'indicateur (disposition longue)")
    f = _classify(long, df, s, catalogue, aliases, str(path), config)
    check_codes(f, lines, pid, str(path))
    _units_against_catalogue(f, catalogue, pid, str(path), lines)
    _ranges(f, catalogue, pid, str(path), lines)
    _outside(f, perimetre, pid)
    f = _texts(f, df, s, catalogue, perimetre)
    for c in ("millesime", "millesime_debut", "millesime_fin"):
        f[c] = pd.array(f[c].tolist(), dtype="Int64")
    f["source"] = pid
    _duplicates(f, s, lines)
    # several rows for one tidy key: keep the first in file order
    tid = f[f["dans_tidy"]]
    dup = tid.duplicated(["type_territoire", "code_territoire", "indicateur", "millesime"], keep="first")
    f.loc[tid.index[dup], "dans_tidy"] = False
    f.loc[tid.index[dup], "motif"] = "doublon : même territoire, indicateur et année qu'une ligne précédente"
    return f[FIGURE_COLUMNS]


# --------------------------------------------------------------------------------- public API

def partner_figures(spec: dict[str, Any], config=None, catalogue=None,
                    perimetre: Perimetre | None = None) -> pd.DataFrame:
    """Every figure of a partner table, levels and changes, with why it is or is not in the tidy table.

    Columns :data:`FIGURE_COLUMNS`: ``nature`` (``niveau``, ``evolution``, ``ecart``), ``annee`` as
    written, ``millesime`` (levels) or ``millesime_debut``/``millesime_fin`` (changes), ``dans_tidy``,
    ``statut`` (``ok``, ``nd``, ``secret``) and ``motif``, the file ``ligne``, the quote and note of the
    document when the table has them.
    """
    return _figures(spec, config, catalogue, perimetre)


def partner_labels(spec: dict[str, Any], config=None, catalogue=None) -> dict[str, str]:
    """``{indicator id: French label}`` for the partner's ids outside the catalogue."""
    catalogue, _ = _catalogue(catalogue)
    f = _figures(spec, config, catalogue)
    f = f[~f["indicateur"].isin(list(catalogue))]
    return dict(zip(f["indicateur"], f["libelle_indicateur"]))


def to_tidy(f: pd.DataFrame) -> pd.DataFrame:
    """Tidy rows (:data:`TIDY_COLUMNS`) of the figures bound for the tidy table."""
    f = f.loc[f["dans_tidy"].astype(bool)]
    kinds = [_set_geography(k, m) for k, m in zip(f["type_territoire"], f["millesime"])]
    published = (f["statut"] == "ok").to_numpy()
    tidy = pd.DataFrame({
        "type_territoire": pd.Series(kinds, dtype=object, index=f.index),
        "code_territoire": f["code_territoire"].astype(object),
        "libelle_territoire": f["libelle_territoire"].astype(object),
        "indicateur": f["indicateur"].astype(object),
        "millesime": f["millesime"].astype("int64"),
        "millesime_geographie": np.array([_geo_year(k, m) for k, m in zip(kinds, f["millesime"])], dtype="int64"),
        "valeur": np.where(published, f["valeur"].astype(float), np.nan),
        "numerateur": np.nan, "denominateur": np.nan,
        "statut": f["statut"].astype(object), "methode": "partenaire", "qualite": None,
        "couverture": np.nan, "simule": False, "note_producteur": "",
        "motif": f["motif"].astype(object).where(~published, ""),
        "source": f["source"].astype(object),
    }, columns=TIDY_COLUMNS)
    tidy["numerateur"] = tidy["numerateur"].astype(float)
    tidy["denominateur"] = tidy["denominateur"].astype(float)
    tidy["qualite"] = tidy["qualite"].astype(object)
    tidy["methode"] = tidy["methode"].astype(object)
    return tidy.reset_index(drop=True)


def read_partner(spec: dict[str, Any], config=None, catalogue=None,
                 perimetre: Perimetre | None = None) -> pd.DataFrame:
    """Tidy rows (:data:`TIDY_COLUMNS`) of a partner table declared in ``[[partenaires]]``.

    ``methode`` = ``partenaire``, ``statut`` = ``ok`` (``nd`` / ``secret`` for empty or marked cells,
    with their ``motif``), ``source`` = the partner id, ``numerateur`` and ``denominateur`` empty,
    ``qualite`` empty. Only dated levels inside ``perimetre`` (when given) are tidy rows (see the
    module docstring; changes and undated figures: :func:`partner_figures`).

    Raises
    ------
    SourceMissingError
        The file is missing and the entry is not ``optionnel``.
    FormatError
        A declared column is not in the file (the message lists the columns found); a code does not
        have the official form of its type (2015 codes declared 2024…); a value is unreadable, out of
        its unit's range (annual for monthly, rate above 100…) or its declared unit disagrees with the
        catalogue's.
    ConfigError
        An indicator is not in the catalogue (unless ``hors_catalogue = true``), the territory type /
        millésime is not given, a transformation is unreadable or names no column.
    """
    return to_tidy(_figures(spec, config, catalogue, perimetre))


def read_partners(config, catalogue=None, perimetre: Perimetre | None = None) -> pd.DataFrame:
    """Tidy rows of every ``[[partenaires]]`` entry of ``config``."""
    frames = [read_partner(p, config, catalogue, perimetre) for p in getattr(config, "partenaires", ())]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=TIDY_COLUMNS)
    return pd.concat(frames, ignore_index=True)
