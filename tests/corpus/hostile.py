"""Tools that damage copies of official files the way the real world does: a spreadsheet, an interrupted
download, a wrong export from a GIS, a hand edit. Each keeps the file's own encoding, BOM and line
endings, so that only the intended defect differs from the clean copy."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Callable

import geopandas as gpd
import pyogrio


# --------------------------------------------------------------------------------------------- text
def _split(raw: bytes) -> tuple[str, list[str], str, bool]:
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    nl = "\r\n" if "\r\n" in text else "\n"
    end = text.endswith(nl)
    lines = text.split(nl)
    if end:
        lines = lines[:-1]
    return nl, lines, ("\ufeff" if bom else ""), end


def edit_lines(raw: bytes, edit: Callable[[list[str]], list[str]]) -> bytes:
    """``raw`` CSV bytes with ``edit(lines)`` applied (same BOM, line ending and final newline)."""
    nl, lines, bom, end = _split(raw)
    lines = edit(lines)
    return (bom + nl.join(lines) + (nl if end else "")).encode("utf-8")


def set_cell(raw: bytes, code: str, column: str, value: str, sep: str = ";") -> bytes:
    """The cell (row of ``code`` in the first column, ``column``) set to ``value``."""
    def edit(lines):
        header = lines[0].split(sep)
        j = header.index(column)
        for i, ln in enumerate(lines[1:], 1):
            cells = ln.split(sep)
            if cells[0] == code:
                cells[j] = value
                lines[i] = sep.join(cells)
                return lines
        raise KeyError(code)
    return edit_lines(raw, edit)


def cell(raw: bytes, code: str, column: str, sep: str = ";") -> str:
    nl, lines, _, _ = _split(raw)
    header = lines[0].split(sep)
    row = next(ln.split(sep) for ln in lines[1:] if ln.split(sep)[0] == code)
    return row[header.index(column)]


def duplicate_row(raw: bytes, code: str, changes: dict[str, str] | None = None, sep: str = ";") -> bytes:
    """The row of ``code`` repeated just after itself, with ``changes`` (column → value) in the copy."""
    def edit(lines):
        header = lines[0].split(sep)
        for i, ln in enumerate(lines[1:], 1):
            if ln.split(sep)[0] == code:
                cells = ln.split(sep)
                for col, v in (changes or {}).items():
                    cells[header.index(col)] = v
                return lines[:i + 1] + [sep.join(cells)] + lines[i + 1:]
        raise KeyError(code)
    return edit_lines(raw, edit)


def map_first_column(raw: bytes, f: Callable[[str], str], sep: str = ";") -> bytes:
    """Every code of the first column (header excepted) passed through ``f``."""
    def edit(lines):
        out = [lines[0]]
        for ln in lines[1:]:
            cells = ln.split(sep)
            cells[0] = f(cells[0])
            out.append(sep.join(cells))
        return out
    return edit_lines(raw, edit)


# ---------------------------------------------------------------------------------------------- zip
def zip_member(path: Path, pattern: str = r".") -> str:
    with zipfile.ZipFile(path) as z:
        return next(n for n in z.namelist() if re.search(pattern, n))


def read_member(path: Path, pattern: str = r".") -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(zip_member(path, pattern))


def rewrite_member(path: Path, edit: Callable[[bytes], bytes], pattern: str = r".") -> None:
    """Rewrite the zip ``path`` with the member matching ``pattern`` passed through ``edit``."""
    name = zip_member(path, pattern)
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, edit(data) if info.filename == name else data)
    path.write_bytes(buf.getvalue())


def truncate(path: Path, keep: float = 0.6) -> None:
    """An interrupted download: only the first ``keep`` share of the bytes."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


# ------------------------------------------------------------------------------------------ GeoJSON
def edit_geojson(raw: bytes, edit: Callable[[dict], None]) -> bytes:
    fc = json.loads(raw.decode("utf-8"))
    edit(fc)
    return json.dumps(fc, ensure_ascii=False).encode("utf-8")


def feature(fc: dict, key: str, value: str) -> dict:
    return next(f for f in fc["features"] if str(f["properties"].get(key)) == value)


def scale_coordinates(geom: dict, f: Callable[[float, float], tuple[float, float]]) -> dict:
    def walk(c):
        if isinstance(c[0], (int, float)):
            return list(f(c[0], c[1]))
        return [walk(x) for x in c]
    return {"type": geom["type"], "coordinates": walk(geom["coordinates"])}


def bowtie(geom: dict) -> dict:
    """A self-intersecting outline (a « bow tie ») over the bounding box of ``geom``."""
    xs, ys = [], []

    def walk(c):
        if isinstance(c[0], (int, float)):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for x in c:
                walk(x)
    walk(geom["coordinates"])
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    ring = [[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]
    return {"type": "MultiPolygon", "coordinates": [[ring]]}


# --------------------------------------------------------------------------------------- shapefiles
def edit_shapefile_zip(path: Path, edit: Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame | None],
                       drop_prj: bool = False) -> None:
    """Rewrite the shapefile inside the zip ``path`` with ``edit(frame)`` applied."""
    member = zip_member(path, r"\.shp$")
    gdf = pyogrio.read_dataframe(f"/vsizip/{path.resolve()}/{member}")
    gdf = edit(gdf) if edit else gdf
    work = path.parent / f"_{path.stem}_shp"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    stem = Path(member).stem
    pyogrio.write_dataframe(gdf, work / f"{stem}.shp", encoding="UTF-8")
    if drop_prj:
        (work / f"{stem}.prj").unlink()
    folder = str(Path(member).parent)
    folder = "" if folder == "." else folder + "/"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(work.iterdir()):
            z.write(f, folder + f.name)
    shutil.rmtree(work)
