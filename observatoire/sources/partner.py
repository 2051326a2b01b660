"""Partner tables: CSV or XLSX files an analyst declares in ``[[partenaires]]`` of the configuration.

A partner table is keyed by territory code and becomes its own source (``source`` = the partner id,
``methode`` = ``partenaire``, ``statut`` = ``ok``) in the tidy table. Keys of a ``[[partenaires]]``
entry::

    id = "etude_bailleur"                   # source id in the tidy table
    fichier = "donnees/bailleur.xlsx"       # CSV (« ; » or « , ») or XLSX
    feuille = "Feuil1"                      # XLSX sheet (default: the first)
    disposition = "large"                   # « large » (wide: one column per indicator) or « longue »
    colonne_code = "code_qp"                # territory code column
    type_territoire = "qpv2024"             # qpv2015 | qpv2024 | iris | commune | epci | … (or
    colonne_type = "niveau"                 #   a column holding it per row)
    indicateurs = { taux_hlm = "part_menages_locataires_hlm" }   # wide: column → catalogue id
    colonne_indicateur = "indicateur"       # long: indicator id column
    colonne_valeur = "valeur"               # long: value column
    colonne_unite = "unite"                 # optional: « % », « ratio » (× 100), « count », « € »
    millesime = 2021                        # or colonne_millesime = "annee"
    optionnel = true                        # a missing file is skipped instead of an error
    hors_catalogue = false                  # keep indicator ids that are not in the catalogue

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
- 2024 quartier codes and the ensembles of quartiers get ``millesime_geographie`` 2024, although the document says its statistics
  come from the 2015 perimeters (note ¹ of the Projets de quartiers).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, FormatError, SourceMissingError
from ..tidy import TIDY_COLUMNS


TYPES_PARTENAIRE = ("iris", "commune", "qpv2015", "qpv2024", "partie_qpv2024", "zone", "epci",
                    "ensemble_qpv_epci", "ensemble_qpv_departement", "departement", "france",
                    "ensemble_qpv2015_epci", "ensemble_qpv2024_epci", "ensemble_qpv2015_departement",
                    "ensemble_qpv2024_departement")


def _set_geography(kind: str, millesime) -> str:
    """A partner's « ensemble des QPV » refers to the quartiers of its time: the 2015 geography for
    figures before 2024, the 2024 one after."""
    if kind in ("ensemble_qpv_epci", "ensemble_qpv_departement"):
        geo = 2024 if millesime is not None and not pd.isna(millesime) and int(millesime) >= 2024 else 2015
        return kind.replace("ensemble_qpv_", f"ensemble_qpv{geo}_")
    return kind

FIGURE_COLUMNS = ["type_territoire", "code_territoire", "libelle_territoire", "indicateur",
                  "libelle_indicateur", "valeur", "unite", "annee", "millesime", "millesime_debut",
                  "millesime_fin", "nature", "dans_tidy", "motif", "source", "citation", "note"]

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


def _spec(spec: dict[str, Any], config=None) -> dict[str, Any]:
    s = {_SYNONYMS.get(k, k): v for k, v in dict(spec).items()}
    preset = s.get("preset")
    if preset:
        if preset not in PRESETS:
            raise ConfigError(f"Table partenaire « {s.get('id')} » : préréglage inconnu « {preset} ».",
                              fichier=str(getattr(config, "source_file", "") or ""),
                              correction=f"choisissez parmi : {', '.join(PRESETS)}")
        merged = dict(PRESETS[preset])
        merged.update(s)
        s = merged
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
    return s


def _read_file(path: Path, spec: dict[str, Any]) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            sheet = spec.get("feuille", 0)
            df = pd.read_excel(path, sheet_name=sheet, dtype=str)
        else:
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            first = text.splitlines()[0] if text else ""
            sep = spec.get("separateur") or (";" if first.count(";") > first.count(",") else ",")
            import io
            df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except (ValueError, OSError, pd.errors.ParserError) as e:
        raise FormatError(f"Table partenaire illisible : {e}.", fichier=str(path),
                          correction="enregistrez-la en CSV (séparateur « ; » ou « , », UTF-8) ou en XLSX") from e
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _need(df: pd.DataFrame, col: str | None, what: str, path: Path, key: str) -> str:
    if not col or col not in df.columns:
        raise FormatError(f"Colonne {what} « {col} » introuvable (colonnes trouvées : "
                          f"{', '.join(df.columns[:30])}).", fichier=str(path),
                          correction=f"indiquez le bon nom dans {key} = \"…\" de [[partenaires]]")
    return col


def _number(x) -> float:
    if x is None:
        return np.nan
    t = str(x).strip().replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace("%", "")
    if t == "" or t.lower() in ("nan", "s", "nd", "ns", "so"):
        return np.nan
    if "," in t and "." not in t:
        t = t.replace(",", ".")
    try:
        return float(t)
    except ValueError:
        return np.nan


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


def _geo_year(kind: str, millesime) -> int:
    if kind in ("qpv2024", "partie_qpv2024") or kind.startswith("ensemble_qpv2024"):
        return 2024
    if kind == "qpv2015" or kind.startswith("ensemble_qpv2015"):
        return 2015
    return int(millesime) if millesime is not None and not pd.isna(millesime) else 0


def _catalogue(catalogue):
    if catalogue is None:
        from ..catalogue import load_catalogue
        catalogue = load_catalogue()
    from ..catalogue import alias_map
    return catalogue, alias_map(catalogue)


def _figures(spec: dict[str, Any], config=None, catalogue=None) -> pd.DataFrame:
    """All partner figures (levels, changes, undated rows) in :data:`FIGURE_COLUMNS`."""
    s = _spec(spec, config)
    pid = str(s.get("id") or "partenaire")
    path: Path = s["fichier"]
    if not path.exists():
        if s.get("optionnel"):
            return pd.DataFrame(columns=FIGURE_COLUMNS)
        raise SourceMissingError(f"Table partenaire « {pid} » introuvable : {path}.", fichier=str(path),
                                 correction="vérifiez le chemin « fichier » de [[partenaires]] (relatif au "
                                            "fichier de configuration) ou ajoutez optionnel = true")
    catalogue, aliases = _catalogue(catalogue)
    df = _read_file(path, s)
    code_col = _need(df, s.get("colonne_code"), "de code de territoire", path, "colonne_code")
    type_col = s.get("colonne_type")
    if type_col:
        _need(df, type_col, "de type de territoire", path, "colonne_type")
    elif not s.get("type_territoire"):
        raise ConfigError(f"Table partenaire « {pid} » : type de territoire non précisé.", fichier=str(path),
                          correction="ajoutez type_territoire = \"qpv2024\" (ou qpv2015, iris, commune) "
                                     "ou colonne_type = \"…\"")
    elif s["type_territoire"] not in TYPES_PARTENAIRE + ("qpv",):
        raise ConfigError(f"Table partenaire « {pid} » : type de territoire « {s['type_territoire']} » inconnu.",
                          fichier=str(path), correction=f"choisissez parmi : {', '.join(TYPES_PARTENAIRE)}")
    year_col = s.get("colonne_millesime")
    if year_col:
        _need(df, year_col, "de millésime", path, "colonne_millesime")
    elif s.get("millesime") is None:
        raise ConfigError(f"Table partenaire « {pid} » : millésime non précisé.", fichier=str(path),
                          correction="ajoutez millesime = 2021 ou colonne_millesime = \"annee\"")

    # --- to long rows: (row index, indicator id, raw value, unit)
    if s["disposition"] == "large":
        mapping = s.get("indicateurs") or {}
        if not mapping:
            raise ConfigError(f"Table partenaire « {pid} » : aucune colonne associée à un indicateur.",
                              fichier=str(path), correction="ajoutez indicateurs = { colonne = \"id_du_catalogue\" }")
        parts = []
        for col, ind in mapping.items():
            _need(df, col, "d'indicateur", path, "indicateurs")
            parts.append(pd.DataFrame({"row_": df.index, "ind_": str(ind), "val_": df[col].to_numpy(),
                                       "unit_": s.get("unites", {}).get(col, "") if isinstance(s.get("unites"), dict) else ""}))
        long = pd.concat(parts, ignore_index=True)
    else:
        ind_col = _need(df, s.get("colonne_indicateur"), "d'indicateur", path, "colonne_indicateur")
        val_col = _need(df, s.get("colonne_valeur"), "de valeur", path, "colonne_valeur")
        unit_col = s.get("colonne_unite")
        long = pd.DataFrame({"row_": df.index, "ind_": df[ind_col].astype(str).str.strip().to_numpy(),
                             "val_": df[val_col].to_numpy(),
                             "unit_": df[unit_col].astype(str).to_numpy() if unit_col and unit_col in df.columns else ""})
        remap = s.get("indicateurs") or {}
        long["ind_"] = long["ind_"].map(lambda x: remap.get(x, x))

    rows = []
    types_map = s.get("types")
    hors = bool(s.get("hors_catalogue"))
    epci_code = s.get("code_epci") or (getattr(getattr(config, "territoire", None), "epci", None) if config else None)
    if not epci_code and type_col:
        ep = df[df[type_col].astype(str) == "epci"]
        if len(ep):
            epci_code = str(ep[code_col].iloc[0])
    for r in long.itertuples(index=False):
        src = df.loc[r.row_]
        code = str(src[code_col]).strip()
        declared = str(src[type_col]).strip() if type_col else s.get("type_territoire")
        kind = _territory_type(code, declared, types_map)
        raw_id = str(r.ind_)
        unit = str(r.unit_ or "").strip()
        value = _number(r.val_)
        year_txt = str(src[year_col]).strip() if year_col else str(s.get("millesime"))
        if year_txt.lower() == "nan":
            year_txt = ""
        nature, motif = "niveau", ""
        m_deb = m_fin = millesime = None
        per = _PERIOD.match(year_txt)
        if raw_id.startswith("ecart_"):
            nature = "ecart"
        elif unit == "points" or raw_id.startswith("evol_") or per:
            nature = "evolution"
        if per:
            m_deb, m_fin = int(per.group(1)), int(per.group(2))
        elif _YEAR.match(year_txt):
            millesime = int(_YEAR.match(year_txt).group(1))
        base_id = raw_id
        if nature == "evolution" and raw_id.startswith("evol_"):
            base_id = raw_id[5:]
        ind_id = aliases.get(base_id, base_id)
        in_cat = ind_id in catalogue
        if not in_cat and not hors:
            raise ConfigError(f"Table partenaire « {pid} » : indicateur « {raw_id} » absent du catalogue.",
                              fichier=str(path),
                              correction="associez la colonne à un id de « observatoire indicateurs », ou ajoutez "
                                         "hors_catalogue = true pour le garder sous son propre nom")
        # units: proportions written as ratios → percent
        if unit == "ratio" and not np.isnan(value) and 0 <= value <= 1:
            value, unit = value * 100.0, "%"
        elif unit == "count":
            unit = "nombre"
        elif not unit and in_cat:
            unit = catalogue[ind_id].unite
        if kind == "ensemble_qpv_epci" and not code:
            code = str(epci_code or "")
        dans, why = True, ""
        if kind is None or kind not in TYPES_PARTENAIRE:
            dans, why = False, f"type de territoire « {declared} » hors des niveaux de la table"
        elif nature != "niveau":
            dans, why = False, "évolution ou écart, pas un niveau"
        elif millesime is None:
            dans, why = False, "année non précisée"
        elif np.isnan(value):
            dans, why = False, "valeur absente"
        elif not code:
            dans, why = False, "code de territoire absent"
        label_col = s.get("colonne_libelle_indicateur")
        lib_ind = str(src[label_col]) if label_col and label_col in df.columns else (
            catalogue[ind_id].libelle if in_cat else ind_id)
        lib_col = s.get("colonne_libelle")
        rows.append({
            "type_territoire": kind or declared, "code_territoire": code,
            "libelle_territoire": str(src[lib_col]) if lib_col and lib_col in df.columns else "",
            "indicateur": ind_id if nature != "ecart" else raw_id,
            "libelle_indicateur": lib_ind, "valeur": value, "unite": unit, "annee": year_txt,
            "millesime": millesime, "millesime_debut": m_deb, "millesime_fin": m_fin, "nature": nature,
            "dans_tidy": dans, "motif": why, "source": pid,
            "citation": str(src[s["colonne_citation"]]) if s.get("colonne_citation") in df.columns else "",
            "note": str(src[s["colonne_note"]]) if s.get("colonne_note") in df.columns else "",
        })
    out = pd.DataFrame(rows, columns=FIGURE_COLUMNS)
    for c in ("millesime", "millesime_debut", "millesime_fin"):
        out[c] = pd.array(out[c].tolist(), dtype="Int64")
    # duplicates of one tidy key: keep the first in file order
    key = ["type_territoire", "code_territoire", "indicateur", "millesime"]
    tid = out[out["dans_tidy"]]
    dup = tid.duplicated(key, keep="first")
    out.loc[tid.index[dup], "dans_tidy"] = False
    out.loc[tid.index[dup], "motif"] = "doublon : même territoire, indicateur et année qu'une ligne précédente"
    return out


def partner_figures(spec: dict[str, Any], config=None, catalogue=None) -> pd.DataFrame:
    """Every figure of a partner table, levels and changes, with why it is or is not in the tidy table.

    Columns :data:`FIGURE_COLUMNS`: ``nature`` (``niveau``, ``evolution``, ``ecart``), ``annee`` as
    written, ``millesime`` (levels) or ``millesime_debut``/``millesime_fin`` (changes), ``dans_tidy``
    and ``motif``, the quote and note of the document when the table has them.
    """
    return _figures(spec, config, catalogue)


def partner_labels(spec: dict[str, Any], config=None, catalogue=None) -> dict[str, str]:
    """``{indicator id: French label}`` for the partner's ids outside the catalogue."""
    catalogue, _ = _catalogue(catalogue)
    f = _figures(spec, config, catalogue)
    f = f[~f["indicateur"].isin(list(catalogue))]
    return dict(zip(f["indicateur"], f["libelle_indicateur"]))


def read_partner(spec: dict[str, Any], config=None, catalogue=None) -> pd.DataFrame:
    """Tidy rows (:data:`TIDY_COLUMNS`) of a partner table declared in ``[[partenaires]]``.

    ``methode`` = ``partenaire``, ``statut`` = ``ok``, ``source`` = the partner id, ``numerateur`` and
    ``denominateur`` empty, ``qualite`` empty. Only dated levels are tidy rows (see the module
    docstring; changes and undated figures: :func:`partner_figures`).

    Raises
    ------
    SourceMissingError
        The file is missing and the entry is not ``optionnel``.
    FormatError
        A declared column (code, indicator, value, year) is not in the file; the message lists the
        columns found.
    ConfigError
        An indicator is not in the catalogue (unless ``hors_catalogue = true``), or the territory
        type / millésime is not given.
    """
    f = _figures(spec, config, catalogue)
    f = f.loc[f["dans_tidy"].astype(bool)].copy()
    f["type_territoire"] = [_set_geography(k, m) for k, m in zip(f["type_territoire"], f["millesime"])]
    tidy = pd.DataFrame({
        "type_territoire": f["type_territoire"].astype(object),
        "code_territoire": f["code_territoire"].astype(object),
        "libelle_territoire": f["libelle_territoire"].astype(object),
        "indicateur": f["indicateur"].astype(object),
        "millesime": f["millesime"].astype("int64"),
        "millesime_geographie": [_geo_year(k, m) for k, m in zip(f["type_territoire"], f["millesime"])],
        "valeur": f["valeur"].astype(float),
        "numerateur": np.nan, "denominateur": np.nan,
        "statut": "ok", "methode": "partenaire", "qualite": None,
        "couverture": np.nan, "simule": False, "note_producteur": "", "motif": "",
        "source": f["source"].astype(object),
    }, columns=TIDY_COLUMNS)
    tidy["millesime_geographie"] = tidy["millesime_geographie"].astype("int64")
    tidy["numerateur"] = tidy["numerateur"].astype(float)
    tidy["denominateur"] = tidy["denominateur"].astype(float)
    tidy["qualite"] = tidy["qualite"].astype(object)
    for c in ("statut", "methode"):
        tidy[c] = tidy[c].astype(object)
    return tidy.reset_index(drop=True)


def read_partners(config, catalogue=None) -> pd.DataFrame:
    """Tidy rows of every ``[[partenaires]]`` entry of ``config``."""
    frames = [read_partner(p, config, catalogue) for p in getattr(config, "partenaires", ())]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=TIDY_COLUMNS)
    return pd.concat(frames, ignore_index=True)
