"""Reading official statistical tables as they really come: the helpers every producer reader shares.

Producers publish the same table as CSV (``;``-separated, UTF-8 with or without BOM, or Windows-1252,
CRLF or LF, often with dozens of trailing empty ``;;;`` columns left by a spreadsheet export) or as
XLSX with a few title rows above the header, sometimes inside a zip. Numbers are French: decimal comma,
thousands grouped with a narrow no-break space (U+202F), a no-break space (U+00A0) or a space, or not
grouped at all. Withheld cells are empty or coded (``s`` secret; ``nd``, ``ns``, ``so`` not available).

:func:`read_table` returns the cells as strings with the header found wherever it is;
:func:`parse_cells` turns string cells into numbers and a statut per cell. This module imports no
producer module: readers import it, never the reverse.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ..errors import FormatError

#: Cell codes. ``s``: secret (withheld by the producer); the others: not available. An empty cell is
#: « not available » (INSEE leaves withheld cells empty in its QPV tables): never zero.
CODES_SECRET = frozenset({"s", "secret"})
CODES_ND = frozenset({"", "nd", "n.d.", "ns", "so", "na", "nan", "-", "x"})

_SPACES = re.compile(r"[\u202f\u00a0\u2009 ]")


@dataclass
class RawTable:
    """String cells of one table: ``frame`` (columns as written, stripped), ``name`` for messages
    (``archive.zip/member.csv`` or ``classeur.xlsx[feuille]``) and the 1-based file line of each row
    (``lines``), so that errors can name the line a user opens."""

    frame: pd.DataFrame
    name: str
    lines: np.ndarray
    #: the full path shown in messages (``/…/data/raw/<source>/archive.zip/member.csv``); ``name`` stays
    #: the short form readers parse (kind, edition and level come from it)
    chemin: str = ""

    def line_of(self, i: int) -> int:
        return int(self.lines[i])


def decode(raw: bytes) -> str:
    """UTF-8 (BOM or not), else Windows-1252, else Latin-1."""
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


#: The fix of every damaged or truncated download.
REFETCH = ("archive incomplète, téléchargez-la à nouveau : supprimez le fichier puis lancez "
           "« observatoire fetch --force » (ou recopiez-le depuis le miroir)")


def open_zip(p: str | Path) -> zipfile.ZipFile:
    """Open a zip archive, or refuse it before any parsing: a download cut short has lost its central
    directory (stored at the end of the file), so it is not a readable zip at all.

    Raises
    ------
    FormatError : « archive incomplète, téléchargez-la à nouveau », naming the file and its size.
    """
    p = Path(p)
    try:
        return zipfile.ZipFile(p)
    except (zipfile.BadZipFile, EOFError) as e:
        size = p.stat().st_size if p.exists() else 0
        raise FormatError(f"Archive incomplète ou abîmée ({size} octets) : ce n'est pas un zip lisible, le "
                          "téléchargement a sans doute été interrompu (truncated or damaged zip).", fichier=str(p),
                          correction=REFETCH) from e
    except OSError as e:
        raise unreadable(p, e) from e


def unreadable(p: str | Path, e: OSError) -> FormatError:
    """A raw file the system refuses to read (permission, a folder instead of a file, I/O error)."""
    import errno

    why = {errno.EACCES: "permission de lecture refusée", errno.EPERM: "permission de lecture refusée",
           errno.EISDIR: "c'est un dossier, pas un fichier", errno.EIO: "erreur d'entrée-sortie du disque"}
    return FormatError(f"Lecture impossible : {why.get(e.errno, e.strerror or str(e))} (cannot read file).",
                       fichier=str(p), correction="vérifiez les droits de lecture du fichier (ou du dossier data/raw) "
                       "et qu'il s'agit bien d'un fichier ; sinon supprimez-le et relancez « observatoire fetch »")


def _zip_member(p: Path, member: str | None) -> tuple[str, bytes]:
    z = open_zip(p)
    with z:
        names = [n for n in z.namelist() if not n.startswith("__MACOSX") and not n.endswith("/")
                 and n.lower().endswith((".csv", ".xlsx", ".txt"))]
        if member:
            cands = [n for n in names if re.search(member, Path(n).name, re.IGNORECASE)]
        else:
            cands = [n for n in names if not Path(n).name.lower().startswith(("meta", "doc", "lisez"))]
            if len(cands) > 1:
                stem = p.stem.lower().removesuffix("_csv")
                exact = [n for n in cands if Path(n).stem.lower() == stem]
                cands = exact or cands
        if len(cands) != 1:
            raise FormatError(
                f"L'archive ne contient pas exactement un tableau attendu ({member or 'données'}) ; "
                f"membres trouvés : {', '.join(names) or 'aucun'}.", fichier=str(p),
                correction="utilisez l'archive officielle non modifiée")
        try:
            return cands[0], z.read(cands[0])
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as e:  # CRC error, truncated member
            raise FormatError(f"Archive incomplète ou abîmée : le membre {cands[0]} est illisible ({e}).",
                              fichier=str(p), correction=REFETCH) from e


def _find_header(rows: list[list[str]], keys: Iterable[str]) -> int:
    """Index of the header row: the first row holding one of ``keys`` (case-insensitive) in its first
    cells; without keys, the first row with at least two non-empty cells."""
    keys = {k.upper() for k in keys}
    for i, row in enumerate(rows[:60]):
        cells = [str(c).strip().strip('"').lstrip("\ufeff").upper() for c in row]
        if keys:
            if any(c in keys for c in cells[:6]):
                return i
        elif sum(1 for c in cells if c) >= 2:
            return i
    return -1


def _frame(rows: list[list[str]], header_at: int) -> tuple[pd.DataFrame, np.ndarray]:
    header = [str(c).strip().strip('"').lstrip("\ufeff") for c in rows[header_at]]
    body = rows[header_at + 1:]
    width = len(header)
    # trailing empty columns (spreadsheet exports end every line with ;;;;)
    while width and header[width - 1] == "" and all(len(r) < width or str(r[width - 1]).strip() == "" for r in body):
        width -= 1
    header = header[:width]
    data = [(list(r) + [""] * width)[:width] for r in body]
    lines = np.arange(header_at + 2, header_at + 2 + len(data))
    keep = [i for i, r in enumerate(data) if any(str(c).strip() for c in r)]
    df = pd.DataFrame([data[i] for i in keep], columns=header, dtype=object)
    df = df.map(lambda c: "" if c is None else str(c).strip())
    empty_named = [c for c in df.columns if c == ""]
    if empty_named:
        df = df.loc[:, [c != "" for c in df.columns]]
    return df.astype(str), lines[keep]


def _sniff(text: str, name: str) -> str:
    """The separator: the one most present on the first non-empty lines (title rows above the header
    of a spreadsheet export may hold none)."""
    head = [ln for ln in text.splitlines()[:60] if ln.strip()][:20]
    first = head[0] if head else ""
    counts = {sep: max((ln.count(sep) for ln in head), default=0) for sep in (";", "\t", ",")}
    sep = max(counts, key=counts.get)
    if counts[sep] == 0:
        raise FormatError(f"Séparateur de colonnes introuvable dans la première ligne : {first[:120]!r}.",
                          fichier=name, correction="utilisez le fichier officiel (CSV séparé par « ; »)")
    return sep


_TRAILING = re.compile(r"[;\t]+(?=\r?$)", re.MULTILINE)


def _check_complete(text: str, sep: str, name: str) -> None:
    """A CSV cut short by an interrupted download: no final line break and a last line with fewer
    columns than the header (official files have the same number of separators on every line)."""
    if not text or text.endswith(("\n", "\r")):
        return
    lines = text.splitlines()
    header = next((ln for ln in lines if ln.strip()), "")
    last = lines[-1]
    if len(lines) > 1 and last.count(sep) < header.count(sep):
        raise FormatError(f"Fichier tronqué : sa dernière ligne (ligne {len(lines)}) s'arrête après "
                          f"{last.count(sep) + 1} colonne(s) sur {header.count(sep) + 1}, sans fin de ligne "
                          f"(« {last[-40:]} ») : le téléchargement a été interrompu (truncated file).",
                          fichier=name, correction="fichier incomplet, téléchargez-le à nouveau : supprimez-le puis "
                          "lancez « observatoire fetch --force »")


def _csv_frame(text: str, name: str, keys) -> tuple[pd.DataFrame, np.ndarray]:
    sep = _sniff(text, name)
    _check_complete(text, sep, name)
    if sep != ",":  # spreadsheet exports end every line with dozens of empty columns
        text = _TRAILING.sub("", text)
    head = [ln.split(sep) for ln in text.splitlines()[:60]]
    h = _find_header(head, keys)
    if h < 0:
        raise FormatError(f"En-tête introuvable : aucune ligne ne commence par "
                          f"{' ou '.join(keys) or 'des noms de colonnes'} dans les 60 premières lignes.",
                          fichier=name, correction="vérifiez qu'il s'agit du fichier officiel attendu")
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, skiprows=h, dtype=str, keep_default_na=False,
                         na_filter=False, quotechar='"', skip_blank_lines=False, engine="c")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        m = re.search(r"line (\d+), saw (\d+)", str(e))
        where = (f"ligne {int(m.group(1))} : {m.group(2)} colonnes au lieu de celles de l'en-tête"
                 if m else str(e).strip())
        raise FormatError(f"Tableau illisible ({where}) : lignes de longueurs différentes, guillemet non fermé ou "
                          "fichier tronqué (CSV parser error).", fichier=name,
                          correction="fichier incomplet ou modifié : téléchargez-le à nouveau (observatoire fetch "
                          "--force) ; s'il a été enregistré par un tableur, ré-exportez-le en CSV séparé par « ; »") from e
    df = df.fillna("")
    df.columns = [str(c).strip().strip('"').lstrip("\ufeff") for c in df.columns]
    unnamed = [c for c in df.columns if c == "" or c.startswith("Unnamed:")]
    if unnamed:
        empty = [c for c in unnamed if not df[c].astype(str).str.strip().any()]
        df = df.drop(columns=empty)
    lines = np.arange(h + 2, h + 2 + len(df))
    if len(df):
        first = df.iloc[:, 0].astype(str).str.strip()
        blank = (first == "").to_numpy()
        if blank.any():
            blank &= (df.astype(str).apply(lambda c: c.str.strip() == "")).all(axis=1).to_numpy()
            df, lines = df.loc[~blank], lines[~blank]
    return df.reset_index(drop=True), lines


def _xlsx_rows(data: bytes, name: str, sheet: str | None, shown: str | None = None) -> tuple[list[list[str]], str]:
    from openpyxl import load_workbook

    shown = shown or name
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - openpyxl raises many types for a damaged file
        raise FormatError(f"Classeur XLSX illisible ({type(e).__name__}) : fichier incomplet ou abîmé.",
                          fichier=shown, correction="téléchargez-le à nouveau (observatoire fetch --force)") from e
    names = wb.sheetnames
    if sheet is not None:
        match = [n for n in names if n.lower() == sheet.lower()] or \
                [n for n in names if re.search(sheet, n, re.IGNORECASE)]
        if not match:
            raise FormatError(f"Feuille « {sheet} » absente du classeur (feuilles : {', '.join(names)}).",
                              fichier=shown, correction="indiquez le nom exact de la feuille")
        ws = wb[match[0]]
    else:
        ws = wb[names[0]]

    def cell(v) -> str:
        if v is None:
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    rows = [[cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
    wb.close()
    return rows, f"{name}[{ws.title}]"


def read_table(path: str | Path, *, member: str | None = None, sheet: str | None = None,
               header_keys: Iterable[str] = ()) -> RawTable:
    """Cells (strings) of a CSV or XLSX table, or of one member of a zip.

    Parameters
    ----------
    path : ``.csv``, ``.txt``, ``.xlsx`` or a ``.zip`` holding one of them.
    member : regex on the member name inside a zip (default: the only data member).
    sheet : XLSX sheet name (default: the first sheet).
    header_keys : column names that start the header row (e.g. ``("CODGEO", "IRIS")``): title rows
        above it are skipped. Without keys the first row with two non-empty cells is the header.

    Raises
    ------
    FormatError : missing file, damaged archive (« archive incomplète »), no header found.
    """
    p = Path(path)
    if not p.exists():
        raise FormatError("Fichier introuvable.", fichier=str(p),
                          correction="lancez « observatoire fetch » ou vérifiez le chemin")
    name = p.name
    shown = str(p)
    data: bytes
    try:
        if p.suffix.lower() not in (".xlsx", ".xlsm") and (zipfile.is_zipfile(p) or p.suffix.lower() == ".zip"):
            inner, data = _zip_member(p, member)
            name = f"{p.name}/{inner}"
            shown = f"{p}/{inner}"
            is_xlsx = inner.lower().endswith(".xlsx")
        else:
            data = p.read_bytes()
            is_xlsx = p.suffix.lower() in (".xlsx", ".xlsm")
    except OSError as e:
        raise unreadable(p, e) from e
    keys = list(header_keys)
    if is_xlsx:
        rows, name = _xlsx_rows(data, name, sheet, shown)
        shown = shown + name[name.rindex("["):]
        h = _find_header(rows, keys)
        if h < 0:
            raise FormatError(f"En-tête introuvable : aucune ligne ne commence par "
                              f"{' ou '.join(keys) or 'des noms de colonnes'} dans les 60 premières lignes.",
                              fichier=shown, correction="vérifiez qu'il s'agit du fichier officiel attendu")
        frame, lines = _frame(rows, h)
    else:
        frame, lines = _csv_frame(decode(data), shown, keys)
    frame.attrs["fichier"] = shown  # travels with every column: normalise_code names the file in its note
    return RawTable(frame, name, lines, shown)


def to_number(s: pd.Series) -> np.ndarray:
    """French-formatted number strings → floats (NaN where not a number)."""
    t = pd.Series(s, dtype=object).astype(str).str.strip()
    num = pd.to_numeric(t, errors="coerce").to_numpy(dtype=float, copy=True)
    redo = np.isnan(num) & (t != "").to_numpy()
    if redo.any():  # decimal comma, grouped thousands
        # a pattern string, not the compiled one: pandas then runs it in pyarrow, not cell by cell in Python
        cleaned = t[redo].str.replace(_SPACES.pattern, "", regex=True).str.replace(",", ".", regex=False)
        num[redo] = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=float)
    return num


_STATUTS = np.array(["ok", "nd", "secret"], dtype=object)


def parse_cells(df: pd.DataFrame, fichier: str, codes: pd.Index,
                lines: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """String cells → (float data, statut). ``s`` → ``secret``; empty, ``nd``, ``ns``, ``so`` → ``nd``.

    Decimal comma or point; thousands grouped by U+202F, U+00A0 or spaces. A cell that is neither a
    number nor a known code raises FormatError naming the file, the line, the column, the territory
    and the value. All cells are converted in one pass (not column by column).
    """
    n, k = df.shape
    flat = pd.Series(df.to_numpy(dtype=object).ravel(order="F"), dtype=object)
    num = to_number(flat)
    text = flat.astype(str).str.strip()
    missing = np.isnan(num)
    low = text[missing].str.lower()
    secret = np.zeros(n * k, bool)
    nd = np.zeros(n * k, bool)
    pos = np.flatnonzero(missing)
    secret[pos] = low.isin(CODES_SECRET).to_numpy()
    nd[pos] = low.isin(CODES_ND).to_numpy()
    bad = missing & ~secret & ~nd
    if bad.any():
        i = int(np.argmax(bad))
        row, col = i % n, df.columns[i // n]
        where = f"ligne {int(lines[row])}, " if lines is not None else ""
        raise FormatError(f"Valeur illisible {text.iloc[i]!r} ({where}colonne {col}, territoire {codes[row]}) : "
                          "nombre, « s », « nd », « ns », « so » ou case vide attendu.",
                          fichier=fichier, correction="vérifiez que le fichier est le fichier officiel, "
                          "non modifié dans un tableur")
    num[secret | nd] = np.nan
    statut = _STATUTS[np.where(secret, 2, np.where(nd, 1, 0))]   # shared objects: 8 bytes a cell
    d = pd.DataFrame(num.reshape((n, k), order="F"), index=codes, columns=df.columns, dtype=float)
    st = pd.DataFrame(statut.reshape((n, k), order="F"), index=codes, columns=df.columns, dtype=object)
    d.index.name = st.index.name = "code"
    if d.index.has_duplicates:
        _refuse_conflicting_duplicates(d, st, fichier, lines)
    return d, st


def _refuse_conflicting_duplicates(d: pd.DataFrame, st: pd.DataFrame, fichier: str,
                                   lines: np.ndarray | None) -> None:
    """A territory code present twice with different values: which one is true cannot be known.
    Identical rows pass (kept once, with a note, by :func:`observatoire.validation.dedupe_table`)."""
    from ..fr import format_nombre

    dup = d.index.duplicated(keep=False)
    pos = np.flatnonzero(dup)
    cells = pd.DataFrame(np.where(d.iloc[pos].isna(), st.iloc[pos].to_numpy(), d.iloc[pos].to_numpy()),
                         index=d.index[pos], columns=d.columns).astype(str)
    for code, grp in cells.groupby(level=0, sort=False):
        differ = [c for c in grp.columns if grp[c].nunique() > 1]
        if not differ:
            continue
        rows = pos[d.index[pos] == code]
        where = (f"lignes {', '.join(str(int(lines[r])) for r in rows)}" if lines is not None
                 else f"{len(rows)} lignes")
        col = differ[0]
        vals = " et ".join(format_nombre(float(v), 1) if _is_float(v) else v for v in grp[col])
        raise FormatError(f"Territoire {code} présent plusieurs fois avec des valeurs différentes ({where}) : "
                          f"colonne {col} = {vals}{f', et {len(differ) - 1} autre(s) colonne(s)' if len(differ) > 1 else ''}. "
                          "Impossible de savoir laquelle est juste (conflicting duplicate code).", fichier=fichier,
                          correction="gardez une seule ligne par territoire : reprenez le fichier officiel non modifié "
                                     "(observatoire fetch --force) ou supprimez la ligne fausse")


def _is_float(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def missing_columns_error(fichier: str, manquantes: list[str], trouvees: list[str], quoi: str,
                          module: str) -> FormatError:
    """FormatError listing the missing columns, the columns found and the closest names."""
    import difflib

    shown = ", ".join(trouvees[:24]) + (" …" if len(trouvees) > 24 else "")
    proches = sorted({c for m in manquantes for c in difflib.get_close_matches(m, trouvees, n=2, cutoff=0.75)})
    hint = f" Colonnes proches trouvées : {', '.join(proches)}." if proches else ""
    return FormatError(
        f"Colonne(s) manquante(s) dans le fichier {quoi} : {', '.join(manquantes)}. "
        f"Colonnes trouvées ({len(trouvees)}) : {shown}.{hint}",
        fichier=fichier,
        correction="vérifiez qu'il s'agit du bon fichier et du bon millésime ; si le producteur a renommé "
                   f"une variable, ajoutez-la à la table des colonnes de {module}")


_SCI = re.compile(r"^(\d)(?:[.,](\d+))?[eE]\+?(\d+)$")


def _from_scientific(v: str) -> str | None:
    """``5.90140101E+08`` → ``590140101``; ``None`` when the notation dropped digits (``5,9014E+08``)."""
    m = _SCI.match(v)
    digits = m.group(1) + (m.group(2) or "")
    exp = int(m.group(3))
    return digits if len(digits) - 1 == exp else None


def normalise_code(s: pd.Series, width: int) -> tuple[pd.Series, int]:
    """Territory codes damaged by a spreadsheet repaired, with a note naming the file.

    Repairs: a float (``590140101.0``, ``590140101,0``), a complete scientific notation
    (``5.90140101E+08``), lost leading zeros (``1004`` → ``01004`` when ``width`` is 5), Corsica in lower
    case (``2a004`` → ``2A004``). A scientific notation that dropped digits (``5,9014E+08``) cannot be
    repaired: :class:`FormatError` naming the file and the code. Codes with letters are left as they are.

    Returns the repaired codes and the number of codes changed. The file named in the note is the
    ``attrs["fichier"]`` that :func:`read_table` gives its frame (and pandas passes on to its columns).
    """
    raw = s.astype(str).str.strip().str.strip('"')
    fichier = s.attrs.get("fichier", "")
    fixed = raw
    sci = raw.str.match(_SCI)
    if sci.any():
        conv = raw[sci].map(_from_scientific)
        lost = conv.isna()
        if lost.any():
            raise FormatError(f"Code(s) de territoire abîmé(s) par un tableur en notation scientifique : "
                              f"{', '.join(raw[sci][lost].head(5))} ; les chiffres perdus ne peuvent pas être retrouvés.",
                              fichier=fichier or None,
                              correction="reprenez le fichier officiel, ou ré-exportez-le depuis le tableur avec la "
                                         "colonne des codes au format « Texte »")
        fixed = fixed.where(~sci, conv)
    fixed = fixed.str.replace(r"^(\d+)[.,]0+$", r"\1", regex=True)
    if width in (5, 9):
        fixed = fixed.str.replace(r"^2a", "2A", regex=True).str.replace(r"^2b", "2B", regex=True)
    short = fixed.str.fullmatch(r"\d+") & (fixed.str.len() < width)
    fixed = fixed.where(~short, fixed.str.zfill(width))
    changed = fixed != raw
    n = int(changed.sum())
    if n:
        from ..validation import note

        ex = ", ".join(f"{a} → {b}" for a, b in zip(raw[changed].head(3), fixed[changed].head(3)))
        note(f"{fichier or 'tableau'} : {n} code(s) de territoire abîmé(s) par un tableur réparé(s) ({ex}).")
    return fixed, n


def dedupe_rows(df: pd.DataFrame, key: str, lines: np.ndarray, fichier: str, quoi: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows whose ``key`` appears several times: kept once with a note when identical, refused with
    both lines and the differing column otherwise.

    Returns the frame and its file lines without the repeated rows.
    """
    dup = df[key].duplicated(keep=False).to_numpy()
    if not dup.any():
        return df, lines
    sub = df.loc[dup].astype(str)
    for code, grp in sub.groupby(key, sort=False):
        differ = [c for c in grp.columns if grp[c].nunique() > 1]
        if differ:
            rows = np.flatnonzero(dup & (df[key] == code).to_numpy())
            raise FormatError(f"{quoi} : {code} présent plusieurs fois avec des valeurs différentes (lignes "
                              f"{', '.join(str(int(lines[r])) for r in rows)}, colonne {differ[0]} : "
                              f"{' et '.join(grp[differ[0]].tolist())}) (conflicting duplicate code).", fichier=fichier,
                              correction="gardez une seule ligne par code : reprenez le fichier officiel de l'Insee "
                                         "non modifié, ou supprimez la ligne fausse")
    first = ~df[key].duplicated(keep="first").to_numpy()
    from ..validation import note

    codes = sorted(set(df.loc[dup, key]))
    note(f"{fichier} : {len(codes)} {quoi.lower()} présent(s) deux fois à l'identique, gardé(s) une fois "
         f"({', '.join(codes[:5])}{' …' if len(codes) > 5 else ''}).")
    return df.loc[first], lines[first]


def refuse_bad_codes(codes: pd.Series, pattern: str, lines: np.ndarray, fichier: str, quoi: str, attendu: str) -> None:
    """Codes that do not have the official shape after repair, refused with their lines."""
    bad = ~codes.astype(str).str.fullmatch(pattern).to_numpy()
    if bad.any():
        pos = np.flatnonzero(bad)[:5]
        ex = ", ".join(f"{codes.iloc[i]!r} (ligne {int(lines[i])})" for i in pos)
        raise FormatError(f"{quoi} : code(s) invalide(s) {ex} ; {attendu} attendu.", fichier=fichier,
                          correction="reprenez le fichier officiel de l'Insee non modifié ; s'il est passé par un "
                                     "tableur, ré-exportez-le avec la colonne des codes au format « Texte »")
