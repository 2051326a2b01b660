"""INSEE statistical sources: census (base infracommunale and communale), Filosofi, QPV tables.

Every reader returns a :class:`~observatoire.sources.table.SourceTable` whose variable names carry no
vintage (``P22_ACTOCC1564`` → ``P_ACTOCC1564``; ``DISP_TP6021`` → ``DISP_TP60``; ``DISP_MED_A21`` →
``DISP_MED``) and whose cells carry a statut: ``s`` → ``secret``; ``nd``, ``ns`` (non significatif),
``so`` (sans objet) and empty cells → ``nd``. A withheld cell is NaN in ``data``, never 0.

Formats follow ``../shared/data/formats/insee_*.txt``. What was read in a real file is VERIFIED; what
comes from public code using the file is INFERRED; what no open file documents is ASSUMED. Every
column name that is not VERIFIED sits in ONE declared dict below (:data:`VARIABLES_BASE_IC`,
:data:`FILOSOFI_CC_COLONNES`, :data:`QPV_TABLES`…) so that a real file that differs needs a one-line
fix; a reader that misses a column raises :class:`~observatoire.errors.FormatError` naming the file,
the expected columns and the columns found.

Public functions
----------------
- :func:`read_base_ic` (IRIS), :func:`read_base_cc` (communes): census themes, any vintage.
- :func:`read_filosofi_iris`, :func:`read_filosofi_qp`, :func:`read_filosofi_qp_ensemble`,
  :func:`read_filosofi_cc` (communes, EPCI, départements, France).
- :func:`read_insee_qpv` (INSEE tables at QPV 2024 level, shape ASSUMED) and the generic
  :func:`read_donnees_par_source` used by the CNAM and France Travail presets.
- :func:`url` resolves a source's download URL for a vintage (INSEE page numbers differ by year).
- :func:`read_any` (pipeline entry point): ``(source_id, raw file)`` → SourceTables, for every
  statistical source of this module and of :mod:`caf`, :mod:`cnam`, :mod:`france_travail`.
"""

from __future__ import annotations

import difflib
import io
import re
import zipfile
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ..errors import FormatError
from .base import Source
from .table import SourceTable

# ---------------------------------------------------------------------------------------------------
# Declared column names (the ONE place to fix when a real file differs)
# ---------------------------------------------------------------------------------------------------

#: Census themes: official file-name theme → required variables (normalised, without vintage).
#: Status: evol-struct-pop VERIFIED-as-reported (76-column header of RP 2022); the four others
#: INFERRED from public code (``../shared/data/formats/insee_base_ic_*.txt``). Only the variables the
#: catalogue needs are required; every other ``Pxx_``/``Cxx_`` column of the file is kept as well.
VARIABLES_BASE_IC: dict[str, tuple[str, ...]] = {
    "evol-struct-pop": ("P_POP", "P_POP0014", "P_POP1529", "P_POP6074", "P_POP75P", "P_POPH",
                        "P_POPF", "C_POP15P"),
    "activite-residents": ("P_POP1564", "P_POP1524", "P_F1564", "P_ACT1564", "P_ACTOCC1564",
                           "P_ACTOCC1524", "P_FACTOCC1564", "P_CHOM1564", "P_SAL15P", "P_SAL15P_CDD",
                           "P_SAL15P_INTERIM", "P_SAL15P_EMPAID", "P_SAL15P_APPR", "P_SAL15P_TP"),
    "diplomes-formation": ("P_POP1517", "P_POP1824", "P_SCOL1517", "P_SCOL1824", "P_NSCOL15P",
                           "P_NSCOL15P_DIPLMIN"),
    "couples-familles-menages": ("C_MEN", "C_MENPSEUL", "C_FAM", "C_FAMMONO", "C_COUPAENF"),
    "logement": ("P_LOG", "P_RP", "P_LOGVAC", "P_RP_PROP", "P_RP_LOC", "P_RP_LOCHLMV",
                 "P_RP_VOIT1P"),
}

#: Commune-level comparison files ("base-cc") use other theme names for the same variables.
BASE_CC_THEMES: dict[str, str] = {
    "evol-struct-pop": "evol-struct-pop",
    "emploi-pop-active": "activite-residents",
    "diplomes-formation": "diplomes-formation",
    "couples-familles-menages": "couples-familles-menages",
    "logement": "logement",
}

#: insee.fr page number of each base-ic file by census vintage (INFERRED from public download
#: scripts; 2022 from ``../shared/data/README.md``). Add a line for a new vintage.
PAGES_BASE_IC: dict[str, dict[int, str]] = {
    "evol-struct-pop": {2022: "8647014", 2021: "8268806", 2017: "4799309"},
    "activite-residents": {2022: "8647006", 2021: "8268843", 2017: "4799323"},
    "diplomes-formation": {2022: "8647010", 2021: "8268840", 2020: "7704080", 2019: "6543298",
                           2018: "5650712", 2017: "4799252"},
    "couples-familles-menages": {2022: "8647008", 2021: "8268828", 2020: "7704086", 2019: "6543224",
                                 2018: "5650714", 2017: "4799268"},
    "logement": {2022: "8647012", 2021: "8268838", 2017: "4799305"},
}

#: insee.fr pages of the base-cc files: not documented here (add them when known; a missing page
#: gives a visible PAGE-INCONNUE URL, the files can always come from a mirror).
PAGES_BASE_CC: dict[str, dict[int, str]] = {theme: {} for theme in VARIABLES_BASE_IC}

#: Filosofi at IRIS: variables required in a DISP file (normalised). INFERRED order/names.
VARIABLES_FILOSOFI_IRIS: tuple[str, ...] = ("DISP_TP60", "DISP_Q1", "DISP_MED", "DISP_Q3",
                                            "DISP_PACT", "DISP_PPSOC")

#: Filosofi by QPV 2015 (``revenus_pauvrete_2021_qp15``): required variables (normalised; the file
#: carries ``_A21`` suffixes). INFERRED from one public loader; DISP_Q1 ASSUMED.
VARIABLES_FILOSOFI_QP: tuple[str, ...] = ("DISP_MED", "DISP_TP60", "DISP_PPSOC")

#: Filosofi comparison file (communes, EPCI, départements, France): file column (without the
#: 2-digit year suffix) → normalised variable. ASSUMED after INSEE's « base-cc-filosofi » files
#: (``MED21``, ``TP6021``…); ``Q121`` is not verified.
FILOSOFI_CC_COLONNES: dict[str, str] = {
    "NBMENFISC": "NB_MENFISC", "NBPERSMENFISC": "NB_PERSMENFISC", "MED": "DISP_MED",
    "Q1": "DISP_Q1", "TP60": "DISP_TP60", "PACT": "DISP_PACT", "PPSOC": "DISP_PPSOC",
    "PPMINI": "DISP_PPMINI", "D1": "DISP_D1", "D9": "DISP_D9", "RD": "DISP_RD",
}
#: Members of the Filosofi comparison zip by niveau (ASSUMED: ``cc_filosofi_2021_COM.csv``…).
FILOSOFI_CC_MEMBRES: dict[str, str] = {"commune": "COM", "epci": "EPCI", "departement": "DEP",
                                       "france": "METRO"}

#: INSEE tables at QPV level (geography 2024), « données par source ». Shape ASSUMED: ``;`` CSV with
#: ``CODGEO`` (quartier code), ``LIBGEO``, then one column per count below (file column →
#: normalised variable). No open file was read; fix the mapping here when a real file differs.
QPV_TABLES: dict[str, dict[str, str]] = {
    "population": {
        "POP_MUN": "P_POP", "POP_F": "P_POPF", "POP_0014": "P_POP0014", "POP_1524": "P_POP1524",
        "POP_60P": "P_POP60P", "POP_75P": "P_POP75P", "POP_1564": "P_POP1564",
        "ACTOCC_1564": "P_ACTOCC1564", "ACTOCC_1524": "P_ACTOCC1524", "POP_F1564": "P_F1564",
        "FACTOCC_1564": "P_FACTOCC1564", "SAL_15P": "P_SAL15P", "SAL_15P_PRECAIRE": "P_SAL15P_PREC",
        "SAL_15P_TP": "P_SAL15P_TP", "POP_1625": "P_POP1625", "NEET_1625": "P_NEET1625",
        "POP_1517": "P_POP1517", "SCOL_1517": "P_SCOL1517", "SCOL_1524": "P_SCOL1524",
        "POP_F1524": "P_F1524", "SCOL_F1524": "P_FSCOL1524", "NSCOL_15P": "P_NSCOL15P",
        "NSCOL_15P_DIPLMIN": "P_NSCOL15P_DIPLMIN", "POP_15P": "P_POP15P",
        "POP_15P_PSEUL": "P_POP15P_PSEUL", "POP_75P_PSEUL": "P_POP75P_PSEUL", "MEN": "C_MEN",
        "FAM": "C_FAM", "FAM_MONO": "C_FAMMONO", "RP": "P_RP", "RP_LOCHLMV": "P_RP_LOCHLMV",
        "RP_VOIT1P": "P_RP_VOIT1P",
    },
    "cnaf": {
        "ALLOC": "NB_FOY_ALLOC", "PERS_COUV": "NB_PERS_COUV", "ALLOC_REF": "NB_ALLOC_REF",
        "ALLOC_DEP50": "NB_ALLOC_DEP50", "ALLOC_DEP100": "NB_ALLOC_DEP100", "AAH": "NB_FOY_AAH",
        "RSA": "NB_FOY_RSA", "FAM": "NB_FOY_FAM", "FAM_MONO": "NB_FOY_MONO",
    },
}

CODES_SECRET = frozenset({"s"})
CODES_ND = frozenset({"nd", "ns", "so", "", "na", "n.d."})

INSEE = "Insee"
BASE_URL = "https://www.insee.fr/fr/statistiques/fichier"

# ---------------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------------

_THEME_IDS = {"evol-struct-pop": "pop", "activite-residents": "activite", "diplomes-formation":
              "diplomes", "couples-familles-menages": "familles", "logement": "logement"}
_THEME_TITRES = {"evol-struct-pop": "Évolution et structure de la population",
                 "activite-residents": "Activité des résidents",
                 "diplomes-formation": "Diplômes – Formation",
                 "couples-familles-menages": "Couples – Familles – Ménages",
                 "logement": "Logement"}
_THEME_STATUT = {"evol-struct-pop": "VERIFIED"}


class PagedUrl(str):
    """A URL template whose ``{page}`` is filled from the vintage when formatted.

    INSEE puts each vintage of a file under its own page number; the fetcher only knows
    ``{millesime}``, so ``PagedUrl.format(millesime=2022)`` looks the page up in ``pages``. An unknown
    vintage gives a visible ``PAGE-INCONNUE`` URL (the fetcher's error then lists it).
    """

    pages: dict[int, str]

    def __new__(cls, template: str, pages: dict[int, str]):
        obj = super().__new__(cls, template)
        obj.pages = pages
        return obj

    def format(self, *args, **kwargs):  # noqa: A003 - same API as str.format
        if "page" not in kwargs:
            mil = kwargs.get("millesime")
            try:
                kwargs["page"] = self.pages.get(int(mil), "") or "PAGE-INCONNUE"
            except (TypeError, ValueError):
                kwargs["page"] = "PAGE-INCONNUE"
        return str.format(str(self), *args, **kwargs)


def _cc_name(theme: str) -> str:
    return {v: k for k, v in BASE_CC_THEMES.items()}[theme]


def _sources() -> list[Source]:
    out: list[Source] = []
    for theme, short in _THEME_IDS.items():
        out.append(Source(
            id=f"insee_rp_ic_{short}", producteur=INSEE,
            titre=f"Recensement, base infracommunale (IRIS) « {_THEME_TITRES[theme]} »",
            url=PagedUrl(f"{BASE_URL}/{{page}}/base-ic-{theme}-{{millesime}}_csv.zip",
                         PAGES_BASE_IC[theme]),
            fichier=f"base-ic-{theme}-{{millesime}}_csv.zip", format="CSV ; dans un zip",
            millesime_cle="rp", statut_format=_THEME_STATUT.get(theme, "INFERRED"),
            page=f"https://www.insee.fr/fr/statistiques/{PAGES_BASE_IC[theme][2022]}",
            membres=(f"base-ic-{theme}-{{millesime}}.CSV",),
            description="Une ligne par IRIS de France ; variables Pxx_/Cxx_ (xx = millésime). "
                        "Page insee.fr propre à chaque millésime (voir insee.PAGES_BASE_IC)."))
        cc = _cc_name(theme)
        out.append(Source(
            id=f"insee_rp_cc_{short}", producteur=INSEE,
            titre=f"Recensement, base communale « {_THEME_TITRES[theme]} » (toutes les communes)",
            url=PagedUrl(f"{BASE_URL}/{{page}}/base-cc-{cc}-{{millesime}}_csv.zip",
                         PAGES_BASE_CC[theme]),
            fichier=f"base-cc-{cc}-{{millesime}}_csv.zip", format="CSV ; dans un zip",
            millesime_cle="rp", statut_format="INFERRED", optionnel=True,
            membres=(f"base-cc-{cc}-{{millesime}}.CSV",),
            description="Mêmes variables qu'à l'IRIS, une ligne par commune (CODGEO) ; sert aux "
                        "références département et France (somme des communes). Page insee.fr "
                        "du millésime à compléter dans insee.PAGES_BASE_CC."))
    out += [
        Source(id="insee_filosofi_iris", producteur=INSEE,
               titre="Filosofi, revenus disponibles à l'IRIS (DISP)",
               url=f"{BASE_URL}/8229323/BASE_TD_FILO_IRIS_{{millesime}}_DISP_CSV.zip",
               fichier="BASE_TD_FILO_IRIS_{millesime}_DISP_CSV.zip", format="CSV ; décimale « , »",
               millesime_cle="filosofi", statut_format="INFERRED",
               page="https://www.insee.fr/fr/statistiques/8229323",
               membres=("BASE_TD_FILO_IRIS_{millesime}_DISP.csv",),
               description="IRIS des communes de 5 000 habitants ou plus ; codes s, nd, ns, so ; "
                           "valeurs du producteur (médiane, quartiles, taux de pauvreté)."),
        Source(id="insee_filosofi_qp15", producteur=INSEE,
               titre="Revenus et pauvreté des quartiers prioritaires (géographie 2015)",
               url=f"{BASE_URL}/8243026/revenus_pauvrete_{{millesime}}_qp15_csv.zip",
               fichier="revenus_pauvrete_{millesime}_qp15_csv.zip", format="CSV ; dans un zip",
               millesime_cle="filosofi", statut_format="INFERRED",
               page="https://www.insee.fr/fr/statistiques/8243026",
               membres=("revenu-disponible-qp15-{millesime}_QP.csv",
                        "meta_indic-revenu-disponible-qp15-{millesime}_QP.csv",
                        "revenu-disponible-qp15-{millesime}_ENSQP.csv"),
               description="Une ligne par QP 2015 ; fichier _ENSQP : ensemble des QPV (code 00 = "
                           "France métropolitaine)."),
        Source(id="insee_filosofi_cc", producteur=INSEE,
               titre="Filosofi : revenus et pauvreté des communes, EPCI, départements, France",
               url=f"{BASE_URL}/7756729/base-cc-filosofi-{{millesime}}-geo2023_csv.zip",
               fichier="base-cc-filosofi-{millesime}-geo2023_csv.zip", format="CSV ; dans un zip",
               millesime_cle="filosofi", statut_format="ASSUMED", optionnel=True,
               membres=("cc_filosofi_{millesime}_COM.csv", "cc_filosofi_{millesime}_EPCI.csv",
                        "cc_filosofi_{millesime}_DEP.csv", "cc_filosofi_{millesime}_METRO.csv"),
               description="Valeurs du producteur aux niveaux commune, EPCI, département et "
                           "France métropolitaine ; noms de colonnes et membres SUPPOSÉS "
                           "(insee.FILOSOFI_CC_COLONNES, insee.FILOSOFI_CC_MEMBRES)."),
        Source(id="insee_qpv2024_population", producteur=INSEE,
               titre="Données des quartiers prioritaires 2024 : population (recensement)",
               url="https://www.insee.fr/fr/statistiques/7757412",
               fichier="insee_qpv2024_population_{millesime}.csv", format="CSV ;",
               millesime_cle="rp", statut_format="ASSUMED", optionnel=True,
               page="https://sig.ville.gouv.fr",
               description="Tableau par QPV 2024 (CODGEO, LIBGEO, effectifs) ; forme SUPPOSÉE "
                           "(insee.QPV_TABLES['population']) : à télécharger sur insee.fr ou le "
                           "SIG Ville et à enregistrer sous ce nom."),
        Source(id="insee_qpv2024_cnaf", producteur="Insee / Cnaf",
               titre="Données des quartiers prioritaires 2024 : allocataires Caf (données par source)",
               url="https://sig.ville.gouv.fr",
               fichier="insee_qpv2024_cnaf_{millesime}.csv", format="CSV ;",
               millesime_cle="caf", statut_format="ASSUMED", optionnel=True,
               description="Tableau par QPV 2024 ; forme SUPPOSÉE (insee.QPV_TABLES['cnaf'])."),
    ]
    return out


SOURCES: list[Source] = _sources()


def url(source_id: str, millesime: int) -> str:
    """The download URL of ``source_id`` for ``millesime`` (fills ``{page}`` and ``{millesime}``).

    >>> url("insee_rp_ic_pop", 2022)
    'https://www.insee.fr/fr/statistiques/fichier/8647014/base-ic-evol-struct-pop-2022_csv.zip'
    """
    src = {s.id: s for s in SOURCES}[source_id]
    return src.url.format(millesime=millesime)


# ---------------------------------------------------------------------------------------------------
# Reading helpers (shared with caf, cnam, france_travail)
# ---------------------------------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def read_text(path: str | Path, member: str | None = None) -> tuple[str, str]:
    """Text of a CSV file, or of one CSV member of a zip (``member``: regex on the member name).

    Without ``member``, the zip must hold exactly one data CSV (``meta_*`` members are ignored).
    Returns ``(text, name)`` where ``name`` is ``archive.zip/member.csv`` for error messages.
    """
    p = Path(path)
    if not p.exists():
        raise FormatError("Fichier introuvable (file not found).", fichier=str(p),
                          correction="lancez « observatoire fetch » ou vérifiez le chemin")
    if zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as z:
            names = [n for n in z.namelist() if n.lower().endswith(".csv")]
            if member:
                cands = [n for n in names if re.search(member, Path(n).name, re.IGNORECASE)]
            else:
                cands = [n for n in names if not Path(n).name.lower().startswith("meta")]
                if len(cands) > 1:  # e.g. base-ic-…-2017.CSV next to base-ic-…-2017-com.CSV (COM)
                    stem = p.stem.lower().removesuffix("_csv")
                    exact = [n for n in cands if Path(n).stem.lower() == stem]
                    cands = exact or cands
            if len(cands) != 1:
                raise FormatError(
                    f"L'archive ne contient pas exactement un fichier CSV attendu "
                    f"({member or 'données'}) ; membres trouvés : {', '.join(z.namelist()) or 'aucun'}.",
                    fichier=str(p), correction="utilisez l'archive officielle non modifiée")
            return _decode(z.read(cands[0])), f"{p.name}/{cands[0]}"
    return _decode(p.read_bytes()), p.name


def read_semicolon(text: str, fichier: str, attendues: Iterable[str] = ()) -> pd.DataFrame:
    """Parse a ``;`` CSV as strings (no NA conversion); a wrong separator raises FormatError."""
    first = text.split("\n", 1)[0]
    if ";" not in first:
        found = next((s for s in (",", "\t", "|") if s in first), None)
        raise FormatError(
            f"Séparateur inattendu : « ; » attendu, {'« ' + found + ' »' if found else 'aucun'} "
            f"trouvé (wrong separator). Colonnes attendues : {', '.join(list(attendues)[:12])}… ; "
            f"en-tête trouvé : {first[:200]!r}.",
            fichier=fichier, correction="utilisez le fichier officiel (CSV séparé par « ; ») ; s'il a "
                                        "été ré-enregistré dans un tableur, ré-exportez-le avec « ; »")
    df = pd.read_csv(io.StringIO(text), sep=";", dtype=str, keep_default_na=False, na_filter=False)
    df.columns = [str(c).strip().strip('"') for c in df.columns]
    return df


def parse_cells(df: pd.DataFrame, fichier: str, codes: pd.Index) -> tuple[pd.DataFrame, pd.DataFrame]:
    """String cells → (float data, statut). ``s`` → secret, nd/ns/so/empty → nd; ``,`` or ``.`` decimal.

    ``codes`` is the index to give both frames. A cell that is neither a number nor a known code
    raises FormatError naming the file, the column, the territory and the value.
    """
    data = {}
    statut = {}
    for col in df.columns:
        s = df[col].astype(str).str.strip()
        low = s.str.lower()
        secret = low.isin(CODES_SECRET).to_numpy()
        nd = low.isin(CODES_ND).to_numpy()
        num = pd.to_numeric(s.str.replace("\u202f", "", regex=False).str.replace("\u00a0", "", regex=False)
                            .str.replace(" ", "", regex=False).str.replace(",", ".", regex=False),
                            errors="coerce").to_numpy(dtype=float, copy=True)
        bad = np.isnan(num) & ~secret & ~nd
        if bad.any():
            i = int(np.argmax(bad))
            raise FormatError(f"Valeur illisible {s.iloc[i]!r} dans la colonne {col} "
                              f"(territoire {codes[i]}) : nombre, « s », « nd », « ns » ou « so » attendu.",
                              fichier=fichier, correction="vérifiez que le fichier est le fichier officiel")
        num[secret | nd] = np.nan
        data[col] = num
        statut[col] = np.where(secret, "secret", np.where(nd | np.isnan(num), "nd", "ok"))
    d = pd.DataFrame(data, index=codes, dtype=float)
    st = pd.DataFrame(statut, index=codes, dtype=object)
    d.index.name = st.index.name = "code"
    return d, st


def _missing_error(fichier: str, manquantes: list[str], trouvees: list[str], quoi: str) -> FormatError:
    shown = ", ".join(trouvees[:20]) + (" …" if len(trouvees) > 20 else "")
    proches = sorted({c for m in manquantes for c in difflib.get_close_matches(m, trouvees, n=2, cutoff=0.75)})
    hint = f" Colonnes proches trouvées : {', '.join(proches)}." if proches else ""
    return FormatError(
        f"Colonne(s) manquante(s) dans le fichier {quoi} : {', '.join(manquantes)} "
        f"(missing column). Colonnes trouvées ({len(trouvees)}) : {shown}.{hint}",
        fichier=fichier,
        correction="vérifiez qu'il s'agit du bon fichier et du bon millésime ; si INSEE a renommé une "
                   "variable, corrigez la ligne correspondante dans observatoire/sources/insee.py")


def _filter(df: pd.DataFrame, codes_commune: pd.Series, communes: set[str] | None) -> pd.DataFrame:
    if communes is None:
        return df
    return df[codes_commune.isin(set(communes)).to_numpy()]


# ---------------------------------------------------------------------------------------------------
# Census
# ---------------------------------------------------------------------------------------------------

_RP_COL = re.compile(r"^([PC])(\d{2})_(.+)$")
_THEME_IN_NAME = re.compile(r"base-(ic|cc)-(.+?)-(\d{4})", re.IGNORECASE)


def _theme_from_name(name: str) -> str | None:
    m = _THEME_IN_NAME.search(name)
    if not m:
        return None
    t = m.group(2).lower()
    return BASE_CC_THEMES.get(t, t if t in VARIABLES_BASE_IC else None)


def _read_rp(path, theme, communes, id_col: str, niveau: str, source_prefix: str) -> SourceTable:
    text, fichier = read_text(path)
    if theme is not None:
        theme = BASE_CC_THEMES.get(theme, theme)
        if theme not in VARIABLES_BASE_IC:
            raise FormatError(f"Thème de recensement inconnu : {theme!r} (connus : "
                              f"{', '.join(VARIABLES_BASE_IC)}).", fichier=fichier,
                              correction="indiquez l'un des thèmes connus")
    theme = theme or _theme_from_name(fichier)
    expected = [id_col] + list(VARIABLES_BASE_IC.get(theme, ()))
    df = read_semicolon(text, fichier, expected)
    cols = list(df.columns)
    if id_col not in cols:
        raise _missing_error(fichier, [id_col], cols, "du recensement")
    years = {}
    for c in cols:
        m = _RP_COL.match(c)
        if m:
            years.setdefault(m.group(2), []).append(c)
    if not years:
        raise FormatError(f"Aucune variable du recensement (colonnes Pxx_… ou Cxx_…) trouvée ; "
                          f"colonnes trouvées : {', '.join(cols[:25])}.", fichier=fichier,
                          correction="utilisez un fichier « base-ic-… » ou « base-cc-… » d'INSEE")
    if len(years) > 1:
        raise FormatError(f"Plusieurs millésimes mêlés dans les noms de colonnes : "
                          f"{', '.join('P' + y + '_' for y in sorted(years))}.", fichier=fichier,
                          correction="un fichier ne doit contenir qu'un millésime du recensement")
    yy, varcols = next(iter(years.items()))
    millesime = 2000 + int(yy)
    names = {c: f"{c[0]}_{_RP_COL.match(c).group(3)}" for c in varcols}
    if theme is None:  # detect from the columns
        found = set(names.values())
        theme = next((t for t, req in VARIABLES_BASE_IC.items() if set(req) <= found), None)
    if theme is not None:
        missing = [f"{v[0]}{yy}{v[1:]}" for v in VARIABLES_BASE_IC[theme] if v not in names.values()]
        if missing:
            raise _missing_error(fichier, missing, cols, f"« {theme} » du recensement {millesime}")
    codes = df[id_col].astype(str).str.strip()
    width = 9 if niveau == "iris" else 5
    codes = codes.where(codes.str.len() >= width, codes.str.zfill(width))
    com = codes.str[:5]
    keep = _filter(df, com, communes)
    codes = codes[keep.index]
    data, statut = parse_cells(keep[varcols].rename(columns=names), fichier, pd.Index(codes, name="code"))
    lib_col = next((c for c in ("LIBIRIS", "LIB_IRIS", "LIBGEO") if c in cols), None)
    libelles = pd.Series(keep[lib_col].to_numpy(), index=data.index, name="libelle") if lib_col else None
    short = _THEME_IDS.get(theme, "inconnu")
    return SourceTable(source=f"{source_prefix}_{short}", niveau=niveau, millesime=millesime,
                       millesime_geographie=millesime + 2, data=data, statut=statut,
                       libelles=libelles, fichier=fichier)


def read_base_ic(path: str | Path, theme: str | None = None,
                 communes: set[str] | None = None) -> SourceTable:
    """Read an INSEE census « base infracommunale » file (IRIS level), any vintage.

    Parameters
    ----------
    path : the official ``base-ic-<theme>-<year>_csv.zip`` or its CSV member.
    theme : ``evol-struct-pop``, ``activite-residents``, ``diplomes-formation``,
        ``couples-familles-menages`` or ``logement``; detected from the file name or the columns
        when omitted.
    communes : keep only IRIS of these commune codes (None: all).

    Returns
    -------
    SourceTable niveau ``iris`` indexed by the 9-character IRIS code; ``millesime`` from the column
    prefix (``P19_`` → 2019), ``millesime_geographie`` = millesime + 2 (RP N is published in the
    IRIS geography of 1 January N+2); variables ``P_…``/``C_…`` without the vintage.
    """
    return _read_rp(path, theme, communes, "IRIS", "iris", "insee_rp_ic")


def read_base_cc(path: str | Path, theme: str | None = None,
                 communes: set[str] | None = None) -> SourceTable:
    """Read an INSEE census « base communale » comparison file (``CODGEO``: all communes of France).

    Same variables and rules as :func:`read_base_ic`, niveau ``commune`` (index: commune code).
    The indicator engine sums communes to département and France métropolitaine.
    """
    return _read_rp(path, theme, communes, "CODGEO", "commune", "insee_rp_cc")


# ---------------------------------------------------------------------------------------------------
# Filosofi
# ---------------------------------------------------------------------------------------------------

_FILO_COL = re.compile(r"^((?:DISP|DEC)_[A-Z0-9]+?)(\d{2})$")


def read_filosofi_iris(path: str | Path, communes: set[str] | None = None,
                       note_precaution: str = "secret") -> SourceTable:
    """Read Filosofi at IRIS (``BASE_TD_FILO_IRIS_<year>_DISP``; DEC works the same way).

    Columns ``DISP_<VAR><yy>`` → ``DISP_<VAR>`` (``DISP_TP6021`` → ``DISP_TP60``), millesime 2000+yy.
    Codes ``s`` → secret; ``nd``, ``ns``, ``so`` → nd. ``DISP_NOTE<yy>`` is the precaution note: as in
    the public loader cited by ``insee_filosofi_iris_2021.txt``, a row whose note is present and not
    ``0`` has all its values treated as ``secret`` (``note_precaution="secret"``, default) or kept
    (``"garder"``). Producer values (median, quartiles, rates): the engine never sums them.
    ``millesime_geographie`` = millesime + 1 (ASSUMED: Filosofi N uses the geography of 1 January N+1).
    """
    text, fichier = read_text(path, r"^(?!meta).*\.csv$")
    df = read_semicolon(text, fichier, ["IRIS"])
    cols = list(df.columns)
    yy = None
    for c in cols:
        m = re.match(r"^(?:DISP|DEC)_MED(\d{2})$", c)
        if m:
            yy = m.group(1)
    if "IRIS" not in cols or yy is None:
        raise _missing_error(fichier, [c for c in ("IRIS", "DISP_MEDxx") if c not in cols], cols,
                             "Filosofi IRIS")
    varcols = [c for c in cols if _FILO_COL.match(c) and c.endswith(yy)]
    names = {c: c[:-2] for c in varcols}
    prefix = "DEC" if any(c.startswith("DEC_") for c in varcols) else "DISP"
    required = [v.replace("DISP", prefix, 1) for v in VARIABLES_FILOSOFI_IRIS] if prefix == "DISP" else []
    missing = [f"{v}{yy}" for v in required if v not in names.values()]
    if missing:
        raise _missing_error(fichier, missing, cols, "Filosofi IRIS")
    note_col = f"{prefix}_NOTE{yy}"
    codes = df["IRIS"].astype(str).str.strip().str.zfill(9)
    df = _filter(df, codes.str[:5], communes)
    codes = codes[df.index]
    value_cols = [c for c in varcols if c != note_col]
    data, statut = parse_cells(df[value_cols].rename(columns=names), fichier, pd.Index(codes, name="code"))
    if note_col in cols and note_precaution == "secret":
        note = df[note_col].astype(str).str.strip().to_numpy()
        flagged = (note != "") & (note != "0")
        data.loc[flagged, :] = np.nan
        statut.loc[flagged, :] = "secret"
    m = 2000 + int(yy)
    return SourceTable(source="insee_filosofi_iris", niveau="iris", millesime=m,
                       millesime_geographie=m + 1, data=data, statut=statut, fichier=fichier)


_QP_COL = re.compile(r"^(.+)_A(\d{2})$")


def _read_qp_member(path, member_re: str, quoi: str, required=VARIABLES_FILOSOFI_QP):
    text, fichier = read_text(path, member_re)
    df = read_semicolon(text, fichier, ["CODGEO"] + [v + "_Axx" for v in required])
    cols = list(df.columns)
    years = {m.group(2) for c in cols if (m := _QP_COL.match(c))}
    if len(years) != 1:
        raise _missing_error(fichier, [v + "_Axx" for v in required], cols, quoi)
    yy = years.pop()
    varcols = [c for c in cols if _QP_COL.match(c)]
    names = {c: _QP_COL.match(c).group(1) for c in varcols}
    missing = [f"{v}_A{yy}" for v in required if v not in names.values()]
    if missing:
        raise _missing_error(fichier, missing, cols, quoi)
    key = cols[0]  # first column = quartier code (INFERRED: its name is not documented)
    codes = pd.Index(df[key].astype(str).str.strip(), name="code")
    data, statut = parse_cells(df[varcols].rename(columns=names), fichier, codes)
    return data, statut, 2000 + int(yy), fichier


def _qp_libelles(path) -> pd.Series | None:
    try:
        text, _ = read_text(path, r"^meta.*_QP\.csv$")
    except FormatError:
        return None
    out = {}
    for line in text.splitlines():
        f = [x.strip().strip('"') for x in line.split(";")]
        if len(f) >= 4 and f[0] == "CODGEO":  # INFERRED: field 3 = code, field 4 = name
            out[f[2]] = f[3]
    return pd.Series(out, name="libelle") if out else None


def read_filosofi_qp(path: str | Path, quartiers: set[str] | None = None) -> SourceTable:
    """Read Filosofi by quartier (``revenus_pauvrete_<year>_qp15_csv.zip``, member ``…_QP.csv``).

    Index: QP 2015 code (first column); variables without the ``_A21`` suffix (``DISP_MED_A21`` →
    ``DISP_MED``); names from the ``meta_…`` member when present. Producer values only.
    """
    data, statut, m, fichier = _read_qp_member(path, r"^(?!meta).*_QP\.csv$", "Filosofi QPV")
    if quartiers is not None:
        keep = data.index.isin(list(quartiers))
        data, statut = data[keep], statut[keep]
    lib = _qp_libelles(path)
    if lib is not None:
        lib = lib.reindex(data.index)
    return SourceTable(source="insee_filosofi_qp15", niveau="qpv2015", millesime=m,
                       millesime_geographie=2015, data=data, statut=statut, libelles=lib,
                       fichier=fichier)


def read_filosofi_qp_ensemble(path: str | Path) -> SourceTable:
    """The ``…_ENSQP.csv`` member: all quartiers together (code ``00`` = all QPV of France
    métropolitaine, kept as in the file). niveau ``qpv2015`` (a set of quartiers), producer values.
    """
    data, statut, m, fichier = _read_qp_member(path, r"_ENSQP\.csv$", "Filosofi ensemble des QPV")
    return SourceTable(source="insee_filosofi_qp15", niveau="qpv2015", millesime=m,
                       millesime_geographie=2015, data=data, statut=statut, fichier=fichier)


def read_filosofi_cc(path: str | Path, niveau: str = "commune",
                     codes: set[str] | None = None) -> SourceTable:
    """Read the Filosofi comparison file at ``niveau`` commune, epci, departement or france.

    Member ``cc_filosofi_<year>_<COM|EPCI|DEP|METRO>.csv`` (ASSUMED, :data:`FILOSOFI_CC_MEMBRES`),
    columns ``CODGEO;<VAR><yy>…`` mapped by :data:`FILOSOFI_CC_COLONNES`. The France row gets code
    ``FRM``. Producer values (medians, rates) plus household counts.
    """
    if niveau not in FILOSOFI_CC_MEMBRES:
        raise ValueError(f"niveau {niveau!r} inconnu pour Filosofi (commune, epci, departement, france)")
    member = rf"_{FILOSOFI_CC_MEMBRES[niveau]}\.csv$"
    text, fichier = read_text(path, member) if zipfile.is_zipfile(path) else read_text(path)
    df = read_semicolon(text, fichier, ["CODGEO", "MEDxx", "TP60xx"])
    cols = list(df.columns)
    yy = next((m.group(1) for c in cols if (m := re.match(r"^MED(\d{2})$", c))), None)
    if "CODGEO" not in cols or yy is None:
        raise _missing_error(fichier, [c for c in ("CODGEO", "MEDxx") if c not in cols or c == "MEDxx"],
                             cols, "Filosofi communes/EPCI/départements")
    mapping = {f"{k}{yy}": v for k, v in FILOSOFI_CC_COLONNES.items() if f"{k}{yy}" in cols}
    missing = [f"{k}{yy}" for k in ("MED", "TP60") if f"{k}{yy}" not in cols]
    if missing:
        raise _missing_error(fichier, missing, cols, "Filosofi communes/EPCI/départements")
    idx = df["CODGEO"].astype(str).str.strip()
    if niveau == "france":
        idx = pd.Series(["FRM"] * len(df), index=df.index)
    if codes is not None:
        keep = idx.isin(set(codes)).to_numpy()
        df, idx = df[keep], idx[keep]
    data, statut = parse_cells(df[list(mapping)].rename(columns=mapping), fichier,
                               pd.Index(idx, name="code"))
    m = 2000 + int(yy)
    lib = pd.Series(df["LIBGEO"].to_numpy(), index=data.index) if "LIBGEO" in cols else None
    return SourceTable(source="insee_filosofi_cc", niveau=niveau, millesime=m,
                       millesime_geographie=m + 1, data=data, statut=statut, libelles=lib,
                       fichier=fichier)


# ---------------------------------------------------------------------------------------------------
# Tables by territory code (INSEE QPV « données par source », CNAM and France Travail presets)
# ---------------------------------------------------------------------------------------------------

# QN + département on 3 characters (059, 02A, 02B, 971) + 2 digits + a letter; QP + 3 + 3 digits
_QN = re.compile(r"^QN(\d{3}|02[AB])\d{2}[A-Z]$")
_QP = re.compile(r"^QP(\d{3}|02[AB])\d{3}$")
_COM = re.compile(r"^\d[\dAB]\d{3}$")
_IRIS = re.compile(r"^\d[\dAB]\d{7}$")


def niveau_of_codes(codes: Iterable[str]) -> str | None:
    """``qpv2024`` / ``qpv2015`` / ``commune`` / ``iris`` when every code has that shape, else None."""
    codes = list(codes)
    for niveau, rx in (("qpv2024", _QN), ("qpv2015", _QP), ("commune", _COM), ("iris", _IRIS)):
        if codes and all(rx.match(c) for c in codes):
            return niveau
    return None


def read_donnees_par_source(path: str | Path, colonnes: dict[str, str], source: str, millesime: int,
                            niveau: str | None = None, code_col: str = "CODGEO",
                            libelle_col: str = "LIBGEO", simule: bool = False) -> SourceTable:
    """Read a ``;`` table keyed by territory code, shaped like INSEE's QPV « données par source ».

    ``colonnes``: file column → normalised variable (every key is required). ``niveau`` is detected
    from the codes (QN… → qpv2024, QP… → qpv2015, 5 chars → commune, 9 → iris) when omitted; a file
    mixing levels raises FormatError. ``millesime_geographie``: 2024/2015 for quartiers, else the
    data year + 1.
    """
    text, fichier = read_text(path)
    df = read_semicolon(text, fichier, [code_col, *colonnes])
    cols = list(df.columns)
    missing = [c for c in [code_col, *colonnes] if c not in cols]
    if missing:
        raise _missing_error(fichier, missing, cols, f"« {source} »")
    codes = df[code_col].astype(str).str.strip()
    found = niveau_of_codes(codes)
    if niveau is None:
        if found is None:
            raise FormatError(f"Codes de territoire de nature mêlée ou inconnue dans la colonne {code_col} "
                              f"(exemples : {', '.join(codes.head(3))}) : un fichier doit contenir un "
                              "seul niveau (QPV 2024, QPV 2015, communes ou IRIS).", fichier=fichier,
                              correction="séparez les niveaux dans des fichiers distincts")
        niveau = found
    data, statut = parse_cells(df[list(colonnes)].rename(columns=colonnes), fichier,
                               pd.Index(codes, name="code"))
    geo = {"qpv2024": 2024, "qpv2015": 2015}.get(niveau, int(millesime) + 1)
    lib = pd.Series(df[libelle_col].to_numpy(), index=data.index) if libelle_col in cols else None
    return SourceTable(source=source, niveau=niveau, millesime=int(millesime), millesime_geographie=geo,
                       data=data, statut=statut, libelles=lib, fichier=fichier, simule=simule)


def read_insee_qpv(path: str | Path, table: str, millesime: int) -> SourceTable:
    """Read an INSEE table at QPV 2024 level (``table``: a key of :data:`QPV_TABLES`). Shape ASSUMED."""
    if table not in QPV_TABLES:
        raise ValueError(f"table QPV inconnue : {table!r} ({', '.join(QPV_TABLES)})")
    return read_donnees_par_source(path, QPV_TABLES[table], f"insee_qpv2024_{table}", millesime)


# ---------------------------------------------------------------------------------------------------
# One entry point for the pipeline: a raw file of a statistical source → its SourceTables
# ---------------------------------------------------------------------------------------------------

_YEAR_IN_NAME = re.compile(r"(?<!\d)(20\d{2})(?!\d)")


def _year_from_name(path: Path) -> int | None:
    years = _YEAR_IN_NAME.findall(Path(path).name)
    return int(years[-1]) if years else None


def read_any(source_id: str, path: str | Path, communes: set[str] | None = None,
             simule: bool = False) -> list[SourceTable]:
    """Read the raw file ``path`` of the statistical source ``source_id`` (INSEE, CAF, CNAM, France
    Travail) into its SourceTables, flagged ``simule`` as given (from the raw manifest).

    ``communes`` filters IRIS and commune tables of the territory, EXCEPT the census ``insee_rp_cc_*``
    and Filosofi comparison files, kept whole so that département and France references can be
    summed. Vintages of CAF, CNAM, France Travail and INSEE QPV tables come from the file name
    (``…_<year>.csv``, as the fetcher names them).

    >>> read_any("insee_rp_ic_pop", "data/raw/insee_rp_ic_pop/base-ic-evol-struct-pop-2022_csv.zip")  # doctest: +SKIP
    [SourceTable(source='insee_rp_ic_pop', niveau='iris', millesime=2022, …)]
    """
    from . import caf, cnam, france_travail

    p = Path(path)
    year = _year_from_name(p)
    if source_id.startswith("insee_rp_ic_"):
        out = [read_base_ic(p, communes=communes)]
    elif source_id.startswith("insee_rp_cc_"):
        out = [read_base_cc(p)]
    elif source_id == "insee_filosofi_iris":
        out = [read_filosofi_iris(p, communes=communes)]
    elif source_id == "insee_filosofi_qp15":
        out = [read_filosofi_qp(p), read_filosofi_qp_ensemble(p)]
    elif source_id == "insee_filosofi_cc":
        out = []
        for niveau in FILOSOFI_CC_MEMBRES:
            try:
                out.append(read_filosofi_cc(p, niveau))
            except FormatError:
                if niveau == "commune":
                    raise
    elif source_id.startswith("insee_qpv2024_"):
        out = [read_insee_qpv(p, source_id.removeprefix("insee_qpv2024_"), year)]
    elif source_id.startswith("caf_"):
        dataset = source_id.removeprefix("caf_") + "_f"
        out = [caf.read_caf(p, dataset, year, communes=communes)]
    elif source_id.startswith("cnam_c2s"):
        out = [cnam.read_c2s(p, year)]
    elif source_id.startswith("france_travail_"):
        out = [france_travail.read_defm(p, year)]
    else:
        raise ValueError(f"source statistique inconnue : {source_id}")
    for t in out:
        t.simule = bool(simule)
    return out
