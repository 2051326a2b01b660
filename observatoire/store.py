"""The GeoPackage store ``data/processed/observatoire.gpkg`` (layers in ``docs/contracts.md``).

All layers are written into a temporary GeoPackage next to the target, then renamed over it: a reader
never sees a half-written store. Frames without geometry become attribute tables (GeoPackage
``attributes``), which ``ogrinfo`` and QGIS list like the others.

Every output of the observatory is written through :func:`atomic_path` (a temporary file beside the
target, renamed over it on success). The system as it really is:

- a **full disk**, a **read-only** or **missing** output folder, a **permission** refused, an output
  **locked** by another program (a workbook open in Excel on a shared drive): the write stops with an
  :class:`~observatoire.errors.OutputError` in French naming the folder (or file) and what to do; the
  temporary file is removed and the previous output is left intact (:func:`output_error`);
- :func:`ecriture_groupee` makes several outputs one transaction: inside it, each atomic write keeps
  its temporary file and the targets are replaced together at the end (with the previous versions
  restored if a replacement fails): the CSV, Parquet, XLSX and GeoPackage of a build never mix two runs;
- temporary files carry the writer's process id (``.indicateurs.csv.<pid>.<random>.tmp``); those of a
  killed run (a process that no longer exists) are removed by the next write of the same target.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import re
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from .errors import ObservatoireError, OutputError, UnsafePathError

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

    Raises
    ------
    OutputError : disk full (GDAL's « Failed to commit transaction », SQLite's « database or disk is
        full »), read-only folder, permission refused: the previous GeoPackage is left intact.
    """
    path = Path(path)
    old_tmp = path.parent / f".{path.stem}.partial.gpkg"  # temporary name of earlier versions
    if old_tmp.is_file():
        old_tmp.unlink()
    for name, frame in layers.items():
        if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns and frame.crs is None:
            raise ObservatoireError(f"La couche {name} n'a pas de système de coordonnées.",
                                    fichier=str(path), correction="définissez crs=EPSG:2154")
    with atomic_path(path, suffix=".gpkg") as tmp:
        try:
            for name, frame in layers.items():
                # GeoPackage 1.2: readable without warning by older GDAL/QGIS (Debian 12's ogrinfo is GDAL 3.6)
                first = not tmp.exists() or tmp.stat().st_size == 0
                opts = {"dataset_options": {"VERSION": "1.2"}} if first else {}
                if first and tmp.exists():
                    tmp.unlink()
                if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
                    _write_layer(_prepare(frame), tmp, name, append=not first, promote_to_multi=True, **opts)
                else:
                    _write_layer(_prepare(pd.DataFrame(frame)), tmp, name, append=not first, **opts)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError,
                pyogrio.errors.GeometryError) as e:
            raise output_error(path, _gdal_oserror(e)) from e
        finally:
            for extra in ("-journal", "-wal", "-shm"):
                Path(f"{tmp}{extra}").unlink(missing_ok=True)
    return path


def _write_layer(df: pd.DataFrame, path: Path, name: str, **kw) -> None:
    """One layer through GDAL's Arrow interface (columns passed whole: 8 s instead of 36 s for a
    4,7-million-row tidy table), else, for a column Arrow cannot type (mixed Python objects), feature
    by feature as before. Both give the same layer (same types and values read back)."""
    import pyarrow as pa

    try:
        pyogrio.write_dataframe(df, path, layer=name, driver="GPKG", use_arrow=True, **kw)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        if path.exists() and not kw.get("append"):
            path.unlink()
        pyogrio.write_dataframe(df, path, layer=name, driver="GPKG", **kw)


#: Source files each geographic layer's outlines come from (``sources`` layer ids): a layer is drawn from
#: simulated outlines when one of them is simulated (the maps and the GeoParquet layers say so).
SOURCES_COUCHES = {
    "iris": ("ign_iris",),
    "qpv_2024": ("anct_qpv2024",),
    "qpv_2015": ("anct_qpv2015",),
    "qpv_2024_parties": ("anct_qpv2024", "ign_communes"),
    "communes": ("ign_communes",),
    "epci": ("ign_communes",),
    "departement": ("ign_departement",),
    "zones": ("zones",),
}


def contours_simules(sources: pd.DataFrame | None) -> dict[str, bool]:
    """``{layer: True}`` for the layers of :data:`SOURCES_COUCHES` drawn from a simulated file."""
    out = {name: False for name in SOURCES_COUCHES}
    if sources is None or not len(sources) or "source" not in sources or "simule" not in sources:
        return out
    flags = sources["simule"]
    if flags.dtype != bool:
        flags = flags.astype(str).str.strip().str.lower().isin({"true", "1", "vrai", "yes", "oui"})
    simulated = set(sources.loc[flags.to_numpy(), "source"].astype(str))
    return {name: any(i in simulated for i in ids) for name, ids in SOURCES_COUCHES.items()}


def write_geoparquet(layers: dict, folder: str | Path) -> list[Path]:
    """Every geographic layer (a GeoDataFrame with geometry) as ``<folder>/<layer>.parquet``, GeoParquet
    1.x in EPSG:2154, for QGIS (3.26+ reads it), GDAL, geopandas and DuckDB: the same layers as the
    GeoPackage, columnar and compressed, plus ``contours_simules`` (outlines from a simulated file,
    :func:`contours_simules` of the ``sources`` layer), since a file travels without the GeoPackage's
    ``sources`` table; join the tidy table (``indicateurs.parquet``) on the code. Each file atomic
    (inside a build, replaced together with the other outputs)."""
    from shapely.geometry import MultiPolygon

    folder = Path(folder)
    simules = contours_simules(layers.get("sources"))
    out = []
    for name, frame in layers.items():
        if not (isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns):
            continue
        geom = frame.geometry.name
        frame = frame[[c for c in frame.columns if c != geom] + [geom]].copy()   # the GeoPackage's order
        for c in frame.columns:                     # text columns typed as text, like the GeoPackage's
            if c != geom and frame[c].dtype == object and pd.api.types.infer_dtype(frame[c]) == "string":
                frame[c] = frame[c].astype("string")
        frame.insert(len(frame.columns) - 1, "contours_simules", simules.get(name, False))
        polygons = (frame.geom_type == "Polygon").to_numpy()
        if polygons.any():                          # one geometry type per layer, as in the GeoPackage
            frame.loc[polygons, geom] = [MultiPolygon([g]) for g in frame.geometry[polygons]]
        target = folder / f"{name}.parquet"
        with atomic_path(target) as tmp:
            frame.to_parquet(tmp, index=False, compression="zstd")
        out.append(target)
    return out


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


# ---------------------------------------------------------------------------------------------------
# Atomic writes and the system as it really is
# ---------------------------------------------------------------------------------------------------

_RAISONS = {
    errno.ENOSPC: ("disque plein", "libérez de la place sur le disque (ou choisissez un autre dossier dans "
                   "[chemins] de observatoire.toml), puis relancez la même commande"),
    errno.EDQUOT: ("quota de disque dépassé", "libérez de la place dans votre espace (ou demandez un quota plus "
                   "grand), puis relancez la même commande"),
    errno.EROFS: ("le disque ou le dossier est en lecture seule", "choisissez un dossier de sortie où vous pouvez "
                  "écrire ([chemins] de observatoire.toml), ou demandez l'accès en écriture"),
    errno.EACCES: ("permission refusée (ou fichier verrouillé par un autre logiciel)",
                   "fermez le fichier s'il est ouvert (Excel, QGIS, navigateur) et vérifiez vos droits d'écriture "
                   "sur le dossier, puis relancez la même commande"),
    errno.EPERM: ("opération non permise", "vérifiez vos droits d'écriture sur le dossier, puis relancez"),
    errno.EBUSY: ("fichier verrouillé ou en cours d'utilisation", "fermez le fichier dans l'autre logiciel "
                  "(Excel, QGIS…), puis relancez la même commande"),
    errno.ETXTBSY: ("fichier en cours d'utilisation", "fermez le fichier dans l'autre logiciel, puis relancez"),
    errno.ENOENT: ("dossier absent (supprimé pendant l'écriture, ou disque réseau déconnecté)",
                   "vérifiez que le dossier de sortie existe et que le disque est connecté, puis relancez"),
    errno.EEXIST: ("un fichier porte le nom d'un dossier de sortie", "renommez ou supprimez ce fichier, ou "
                   "choisissez un autre dossier dans [chemins] de observatoire.toml"),
    errno.ENOTDIR: ("un fichier porte le nom d'un dossier de sortie", "renommez ou supprimez ce fichier, ou "
                    "choisissez un autre dossier dans [chemins] de observatoire.toml"),
    errno.EISDIR: ("un dossier porte le nom du fichier à écrire", "renommez ou supprimez ce dossier, puis relancez"),
    errno.EIO: ("erreur d'entrée-sortie du disque", "vérifiez le disque (ou le partage réseau), puis relancez"),
}
#: GDAL / SQLite messages of a failed GeoPackage write → errno.
_GDAL_MESSAGES = (("disk is full", errno.ENOSPC), ("no space left", errno.ENOSPC),
                  ("failed to commit transaction", errno.ENOSPC), ("readonly database", errno.EROFS),
                  ("read-only", errno.EROFS), ("permission denied", errno.EACCES),
                  ("unable to open database file", errno.EACCES), ("database is locked", errno.EBUSY),
                  ("disk i/o error", errno.EIO))


def _gdal_oserror(e: Exception) -> OSError:
    """GDAL's error of a failed write as an OSError with the most likely errno (a full disk shows as
    « Failed to commit transaction » when SQLite cannot grow the file)."""
    msg = str(e)
    low = msg.lower()
    code = next((c for key, c in _GDAL_MESSAGES if key in low), errno.EIO)
    return OSError(code, msg)


def output_error(path: str | Path, e: OSError, *, groupe: bool = False) -> OutputError:
    """The French :class:`OutputError` of a failed write of ``path``: the folder, the cause, the fix,
    and the promise kept (the previous output is intact)."""
    path = Path(path)
    code = getattr(e, "errno", None)
    if code is None and getattr(e, "winerror", None) in (32, 33):  # Windows sharing/lock violation
        code = errno.EBUSY
    raison, fix = _RAISONS.get(code, (e.strerror or str(e) or type(e).__name__,
                                      "vérifiez le dossier de sortie (place, droits), puis relancez la même commande"))
    intact = ("Aucun des résultats de cette étape n'a été remplacé : les précédents sont intacts" if groupe
              else f"Le fichier {path.name} n'a pas été modifié : la version précédente est intacte")
    detail = f" ({e.strerror or e})" if (e.strerror or str(e)) and (e.strerror or str(e)) != raison else ""
    return OutputError(f"Écriture impossible dans le dossier {path.parent} : {raison}{detail}. {intact} "
                       "(cannot write output).", fichier=str(path), correction=fix)


_GROUPE: contextvars.ContextVar[list | None] = contextvars.ContextVar("observatoire_ecriture_groupee", default=None)
_TMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp(\.[a-z]+)?(-journal|-wal|-shm)?$")


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs. A zombie does not: a worker killed with its run stays a
    zombie until an init reaps it (in a container, maybe never), and its temporary file is stale."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:           # Linux: « pid (name) STATE … »
            return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return True                                           # no /proc (macOS): kill(0) said alive


def _target(name: str) -> str:
    """The output a temporary name is for, through nested temporaries (a worker writing the temporary
    file of its parent: ``..indicateurs.xlsx.<pid>.<x>.tmp.<pid>.<y>.tmp`` → ``indicateurs.xlsx``)."""
    m = _TMP.match(name)
    while m:
        name = m.group("name")
        m = _TMP.match(name)
    return name


def remove_stale_temporaries(folder: str | Path, name: str | None = None) -> list[Path]:
    """Temporary files of writers that no longer run (a killed run), removed from ``folder`` (only those
    of ``name`` when given). Returns the files removed."""
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for f in folder.iterdir():
        m = _TMP.match(f.name)
        if not m or (name is not None and _target(m.group("name")) != name) or _pid_alive(int(m.group("pid"))):
            continue
        try:
            f.unlink()
            removed.append(f)
        except OSError:
            pass
    return removed


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ""):
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    Every output of the observatory goes through this, so an interrupted run never leaves a file that
    looks complete. Inside :func:`ecriture_groupee`, the replacement waits for the end of the group.
    ``suffix`` ends the temporary name (``.gpkg``: GDAL chooses drivers by extension).

    >>> with atomic_path("out.csv") as tmp:      # doctest: +SKIP
    ...     frame.to_csv(tmp)

    Raises
    ------
    OutputError : the folder cannot be created or written (full disk, read-only, permission, locked
        target): the previous ``path`` is left intact and no temporary file remains.
    UnsafePathError : ``path`` holds a ``..`` part (a name built from data such as ``../../x``).
    """
    path = Path(path)
    if ".." in path.parts:
        # output folders come resolved from the configuration: a « .. » can only come from a name built
        # from data (a code ../../x): never written (see observatoire.paths.safe_child)
        from .paths import safe_child

        safe_child(path.parent, path.name)  # names the offending part when it is the file name
        raise UnsafePathError(f"Chemin de sortie refusé : {path} remonte dans l'arborescence (« .. ») ; il serait "
                              "écrit hors de son dossier (unsafe output path).", fichier=str(path),
                              correction="corrigez le code de territoire ou de zone qui a formé ce nom dans le fichier "
                                         "d'origine (un code officiel, ou lettres, chiffres, « _ » et « - »)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent, path.name)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=f".tmp{suffix}")
        os.close(fd)
    except OSError as e:
        raise output_error(path, e) from e
    tmp = Path(tmp)
    group = _GROUPE.get()
    try:
        try:
            yield tmp
            os.chmod(tmp, 0o644)
        except OSError as e:
            raise output_error(path, e) from e
        if group is not None:
            group.append((tmp, path))
            tmp = None
        else:
            try:
                os.replace(tmp, path)
            except OSError as e:
                raise output_error(path, e) from e
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def hors_groupe():
    """Inside this block :func:`atomic_path` replaces its target at once, even within a group (a
    worker process writing a file its parent's transaction owns)."""
    token = _GROUPE.set(None)
    try:
        yield
    finally:
        _GROUPE.reset(token)


@contextlib.contextmanager
def ecriture_groupee():
    """Make every :func:`atomic_path` write inside one transaction: the targets are replaced together
    when the block ends without error, none of them otherwise.

    >>> with ecriture_groupee():                  # doctest: +SKIP
    ...     exports.write_csv(tidy, csv)
    ...     write_gpkg(layers, gpkg)              # a full disk here leaves the previous CSV too

    The replacement keeps a hard link to each previous version until all targets are in place; if a
    replacement fails (a file locked by another program), the targets already replaced get their
    previous version back and :class:`OutputError` is raised. A group inside a group joins the outer one.
    """
    if _GROUPE.get() is not None:
        yield
        return
    pending: list[tuple[Path, Path]] = []
    token = _GROUPE.set(pending)
    try:
        yield
    except BaseException:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        _GROUPE.reset(token)
    _commit(pending)


def _commit(pending: list[tuple[Path, Path]]) -> None:
    done: list[tuple[Path, Path | None]] = []
    try:
        for tmp, path in pending:
            backup = None
            if path.exists():
                backup = path.with_name(f".{path.name}.{os.getpid()}.precedent.tmp")
                backup.unlink(missing_ok=True)
                try:
                    os.link(path, backup)
                except OSError:  # no hard links on this file system (FAT, some network shares)
                    os.replace(path, backup)
            try:
                os.replace(tmp, path)
            except OSError:
                if backup is not None:
                    if path.exists():
                        backup.unlink(missing_ok=True)
                    else:
                        os.replace(backup, path)
                raise
            done.append((path, backup))
    except OSError as e:
        for path, backup in reversed(done):
            try:
                if backup is not None:
                    os.replace(backup, path)
                else:
                    path.unlink(missing_ok=True)
            except OSError:
                pass
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        failed = pending[len(done)][1] if len(done) < len(pending) else pending[-1][1]
        raise output_error(failed, e, groupe=True) from e
    for _, backup in done:
        if backup is not None:
            backup.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def quartiers_publies(layer: pd.DataFrame) -> pd.DataFrame:
    """The quartiers of a ``qpv_2024``/``qpv_2015`` layer that have a sheet: those the territory follows
    (``epci_reference`` filled by the build). A neighbour's quartier kept in the layer for the 2015 →
    2024 transposition has none. Layers without the column (zones) are returned whole."""
    if "epci_reference" not in layer.columns:
        return layer
    suivis = np.fromiter((isinstance(v, str) and v != "" for v in layer["epci_reference"]), dtype=bool,
                         count=len(layer))
    return layer[suivis]          # a boolean array: an empty layer stays a layer with its columns
