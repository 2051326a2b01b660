"""INSEE census: « base infracommunale » (IRIS) and « base communale » files, any vintage.

Every reader returns a :class:`~observatoire.sources.table.SourceTable` whose variable names carry no
vintage (``P22_ACTOCC1564`` → ``P_ACTOCC1564``) and whose cells carry a statut: ``s`` → ``secret``;
``nd``, ``ns``, ``so`` and empty cells → ``nd``. A withheld cell is NaN in ``data``, never 0.

Status of the formats: the « évolution et structure de la population » header VERIFIED as reported
(76 columns of RP 2022); the four other themes INFERRED from public code using the files. No real copy
of a census IRIS file is available to this project: the demo simulates them in this format. The required
variables of each theme sit in ONE declared dict, :data:`VARIABLES_BASE_IC`; a file missing one raises a
:class:`~observatoire.errors.FormatError` naming the file, the missing and the closest columns found.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..errors import FormatError
from .base import PagedUrl, Source
from .table import SourceTable
from .tabular import missing_columns_error, normalise_code, parse_cells, read_table

INSEE = "Insee"
BASE_URL = "https://www.insee.fr/fr/statistiques/fichier"

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

_THEME_IDS = {"evol-struct-pop": "pop", "activite-residents": "activite", "diplomes-formation":
              "diplomes", "couples-familles-menages": "familles", "logement": "logement"}
_THEME_TITRES = {"evol-struct-pop": "Évolution et structure de la population",
                 "activite-residents": "Activité des résidents",
                 "diplomes-formation": "Diplômes – Formation",
                 "couples-familles-menages": "Couples – Familles – Ménages",
                 "logement": "Logement"}
_THEME_STATUT = {"evol-struct-pop": "VERIFIED"}


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
    return out


SOURCES: list[Source] = _sources()


_RP_COL = re.compile(r"^([PC])(\d{2})_(.+)$")
_THEME_IN_NAME = re.compile(r"base-(ic|cc)-(.+?)-(\d{4})", re.IGNORECASE)


def _theme_from_name(name: str) -> str | None:
    m = _THEME_IN_NAME.search(name)
    if not m:
        return None
    t = m.group(2).lower()
    return BASE_CC_THEMES.get(t, t if t in VARIABLES_BASE_IC else None)


def _read_rp(path, theme, communes, id_col: str, niveau: str, source_prefix: str) -> SourceTable:
    raw = read_table(path, header_keys=(id_col, "CODGEO", "IRIS"))
    fichier = raw.name
    if theme is not None:
        theme = BASE_CC_THEMES.get(theme, theme)
        if theme not in VARIABLES_BASE_IC:
            raise FormatError(f"Thème de recensement inconnu : {theme!r} (connus : "
                              f"{', '.join(VARIABLES_BASE_IC)}).", fichier=fichier,
                              correction="indiquez l'un des thèmes connus")
    theme = theme or _theme_from_name(fichier)
    df = raw.frame
    cols = list(df.columns)
    if id_col not in cols:
        raise missing_columns_error(fichier, [id_col], cols, "du recensement", __name__)
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
    named = _THEME_IN_NAME.search(Path(fichier).name)
    if named and int(named.group(3)) != millesime:
        raise FormatError(f"Le fichier porte le millésime {named.group(3)} dans son nom mais ses colonnes sont "
                          f"celles du recensement {millesime} (P{yy}_…) : ses chiffres seraient publiés sous une "
                          "autre année.", fichier=fichier,
                          correction=f"remplacez-le par le fichier officiel du recensement {named.group(3)}, ou "
                                     f"renommez-le et déclarez {millesime} dans [millesimes] rp")
    names = {c: f"{c[0]}_{_RP_COL.match(c).group(3)}" for c in varcols}
    if theme is None:  # detect from the columns
        found = set(names.values())
        theme = next((t for t, req in VARIABLES_BASE_IC.items() if set(req) <= found), None)
    if theme is not None:
        missing = [f"{v[0]}{yy}{v[1:]}" for v in VARIABLES_BASE_IC[theme] if v not in names.values()]
        if missing:
            raise missing_columns_error(fichier, missing, cols, f"« {theme} » du recensement {millesime}", __name__)
    width = 9 if niveau == "iris" else 5
    codes, _ = normalise_code(df[id_col], width)
    lines = raw.lines
    if communes is not None:
        sel = codes.str[:5].isin(set(communes)).to_numpy()
        df, codes, lines = df[sel], codes[sel], lines[sel]
    keep = df
    data, statut = parse_cells(keep[varcols].rename(columns=names), fichier, pd.Index(codes, name="code"),
                               lines)
    lib_col = next((c for c in ("LIBIRIS", "LIB_IRIS", "LIBGEO") if c in cols), None)
    libelles = pd.Series(keep[lib_col].to_numpy(), index=data.index, name="libelle") if lib_col else None
    short = _THEME_IDS.get(theme, "inconnu")
    return SourceTable(source=f"{source_prefix}_{short}", niveau=niveau, millesime=millesime,
                       millesime_geographie=millesime + 2, data=data, statut=statut,
                       libelles=libelles, fichier=fichier)


def read_base_ic(path: str | Path, theme: str | None = None,
                 communes: set[str] | None = None, *, simule: bool = False) -> SourceTable:
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
    t = _read_rp(path, theme, communes, "IRIS", "iris", "insee_rp_ic")
    t.simule = simule
    return t


def read_base_cc(path: str | Path, theme: str | None = None,
                 communes: set[str] | None = None, *, simule: bool = False) -> SourceTable:
    """Read an INSEE census « base communale » comparison file (``CODGEO``: all communes of France).

    Same variables and rules as :func:`read_base_ic`, niveau ``commune`` (index: commune code).
    The indicator engine sums communes to département and France métropolitaine.
    """
    t = _read_rp(path, theme, communes, "CODGEO", "commune", "insee_rp_cc")
    t.simule = simule
    return t
