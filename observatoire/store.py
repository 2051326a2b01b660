"""The GeoPackage store ``data/processed/observatoire.gpkg`` (layers in ``docs/contracts.md``).

All layers are written into a temporary GeoPackage next to the target, then renamed over it: a reader
never sees a half-written store. Frames without geometry become attribute tables (GeoPackage
``attributes``), which ``ogrinfo`` and QGIS list like the others.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from .errors import ObservatoireError

L93 = 2154


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Columns GDAL can store: object columns of strings stay text; pandas string dtype → object."""
    out = df.copy()
    for c in out.columns:
        if c == getattr(out, "_geometry_column_name", None):
            continue
        if isinstance(out[c].dtype, pd.StringDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def write_gpkg(layers: dict[str, pd.DataFrame | gpd.GeoDataFrame], path: str | Path) -> Path:
    """Write every layer into ``path`` atomically (replaces the whole file).

    Parameters
    ----------
    layers : ``{layer name: frame}``; GeoDataFrames must have a CRS (EPSG:2154 by contract), plain
        DataFrames are written as attribute tables.
    path : target ``.gpkg``.

    Returns
    -------
    ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial.gpkg")
    if tmp.exists():
        tmp.unlink()
    try:
        for name, frame in layers.items():
            # GeoPackage 1.2: readable without warning by older GDAL/QGIS (Debian 12's ogrinfo is GDAL 3.6)
            opts = {} if tmp.exists() else {"dataset_options": {"VERSION": "1.2"}}
            if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
                if frame.crs is None:
                    raise ObservatoireError(f"La couche {name} n'a pas de système de coordonnées.",
                                            fichier=str(path), correction="définissez crs=EPSG:2154")
                pyogrio.write_dataframe(_prepare(frame), tmp, layer=name, driver="GPKG", append=tmp.exists(),
                                        promote_to_multi=True, **opts)
            else:
                df = pd.DataFrame(frame)
                pyogrio.write_dataframe(_prepare(df), tmp, layer=name, driver="GPKG", append=tmp.exists(), **opts)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def list_layers(path: str | Path) -> list[str]:
    """Layer names of a GeoPackage, in file order."""
    return [str(n) for n, _ in pyogrio.list_layers(Path(path))]


def read_layer(path: str | Path, layer: str) -> pd.DataFrame | gpd.GeoDataFrame:
    """One layer: a GeoDataFrame for spatial layers, a DataFrame for attribute tables."""
    path = Path(path)
    if layer not in list_layers(path):
        raise ObservatoireError(f"La couche « {layer} » est absente du GeoPackage (layer missing).",
                                fichier=str(path), correction="relancez « observatoire build »")
    return pyogrio.read_dataframe(path, layer=layer)


def sources_table(manifest: dict, millesimes: dict[str, object] | None = None,
                  source_millesime_key: dict[str, str] | None = None) -> pd.DataFrame:
    """The ``sources`` layer from a raw manifest (``fetch.manifest_entries(config)``).

    Columns ``source, fichier, millesime, simule, sha256, url``; ``fichier`` is ``"<source>/<file>"``.
    ``millesime`` is looked up as ``millesimes[source_millesime_key[source]]`` (lists joined by ", ").
    """
    rows = []
    for rel, e in sorted(manifest.items()):
        src = e.get("source", rel.split("/", 1)[0])
        mil = ""
        if millesimes is not None and source_millesime_key and source_millesime_key.get(src):
            v = millesimes.get(source_millesime_key[src])
            mil = ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else ("" if v is None else str(v))
        rows.append({"source": src, "fichier": rel, "millesime": mil, "simule": bool(e.get("simule", False)),
                     "sha256": e.get("sha256", ""), "url": e.get("url", "")})
    return pd.DataFrame(rows, columns=["source", "fichier", "millesime", "simule", "sha256", "url"])


def simulated_inputs(path: str | Path) -> list[str]:
    """Simulated source files recorded in the ``sources`` layer (empty when all inputs are real).

    A map or portrait built when this is non-empty must show « données simulées ».
    """
    path = Path(path)
    if "sources" not in list_layers(path):
        return []
    t = pyogrio.read_dataframe(path, layer="sources", columns=["fichier", "simule"], read_geometry=False)
    sim = t["simule"].astype(str).str.lower().isin(["true", "1"])
    return sorted(t.loc[sim, "fichier"].astype(str).tolist())


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    Every output of the observatory goes through this, so an interrupted run never leaves a file that
    looks complete.

    >>> with atomic_path("out.csv") as tmp:      # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
