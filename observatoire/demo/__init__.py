"""Demo mirror: the official file layouts filled with real data where it exists here, simulated
otherwise (flagged ``simule: true`` in the mirror's ``manifest.json``).

``build_mirror(dest)`` writes the geographic files (:mod:`observatoire.demo.geo`), then calls, when they
exist, ``observatoire.demo.stats.write_stats(dest, ctx)`` and ``observatoire.demo.grid.write_grid(dest,
ctx)`` with the :class:`~observatoire.demo.geo.DemoContext`, then writes ``manifest.json``. The mirror is
built in a temporary folder next to ``dest`` and renamed into place: an interrupted build leaves no
half mirror.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from pathlib import Path

from ..sources.fetch import MANIFEST, write_manifest

HOOKS = (("observatoire.demo.stats", "write_stats"), ("observatoire.demo.grid", "write_grid"))


def default_shared_dir() -> Path | None:
    """``../shared/data`` next to the repository, when present."""
    p = Path(__file__).resolve().parents[3] / "shared" / "data"
    return p if (p / "valenciennes").is_dir() else None


def build_mirror(dest: str | Path, shared_dir: str | Path | bool | None = None, seed: int = 2024,
                 millesimes: dict | None = None, hooks=HOOKS) -> Path:
    """Build the demo mirror into ``dest`` (replaced if it exists).

    Parameters
    ----------
    dest : mirror folder (e.g. ``data/mirror/demo``), laid out like ``data/raw``.
    shared_dir : ``../shared/data``; ``None`` (default): found next to the repository when present;
        ``False`` or a folder without ``valenciennes/``: the small fully simulated territory.
    seed : seed of every random draw (same seed → same mirror).
    millesimes : vintages to name files with (default ``observatoire.config.DEFAULT_MILLESIMES``).
    hooks : ``(module, function)`` pairs called as ``function(dest, ctx)`` after the geographic part;
        a module that does not exist yet is skipped.

    Returns
    -------
    ``dest``.
    """
    from .geo import build_geo

    dest = Path(dest).resolve()
    if shared_dir is False:
        shared = None
    else:
        shared = Path(shared_dir) if shared_dir is not None else default_shared_dir()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        ctx = build_geo(tmp, shared, seed=seed, millesimes=millesimes)
        for modname, fname in hooks:
            try:
                mod = importlib.import_module(modname)
            except ModuleNotFoundError as e:
                if e.name == modname:
                    continue
                raise
            getattr(mod, fname)(tmp, ctx)
        write_manifest(tmp / MANIFEST, ctx.entries)
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            if old.exists():
                shutil.rmtree(old)
            dest.rename(old)
            tmp.rename(dest)
            shutil.rmtree(old)
        else:
            tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest
