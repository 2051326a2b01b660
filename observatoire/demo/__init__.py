"""Demo mirror: the official file layouts, REAL wherever ``../shared/data`` holds a real file, simulated
otherwise (``simule: true`` in the mirror's ``manifest.json``), for any territory.

``build_mirror(dest, territoire={"epci": "…"})`` (or ``{"departement": "59"}``, ``{"communes": […]}``):

1. :func:`observatoire.demo.monde.monde_reel` resolves the territory with INSEE's real composition file
   and gathers its real outlines, perimeters and calibration figures (or
   :func:`~observatoire.demo.monde.monde_fictif` without ``../shared``);
2. :func:`observatoire.demo.reels.write_real_files` places the real files under their official names;
3. :func:`observatoire.demo.simules.write_simulated_files` writes what no real copy exists for (IRIS
   contours with the real IRIS codes, census tables, 200 m grid, 2024 quartier tables, C2S by
   commune), calibrated on the territory's real figures, and the Filosofi editions the real files stop
   before (2021 at IRIS, commune and supra levels, carried forward from the real 2019:
   :mod:`observatoire.demo.prolongation`);
4. ``manifest.json`` and ``territoire.toml`` (the territory and the vintages the mirror holds).

The mirror is built in a temporary folder next to ``dest`` and renamed into place: an interrupted build
leaves no half mirror. Nothing here is imported by the production pipeline.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import tomli_w

from ..errors import ObservatoireError
from ..sources.raw import MANIFEST, write_manifest


def default_shared_dir() -> Path | None:
    """``../shared/data`` next to the repository, when it holds the real files."""
    p = Path(__file__).resolve().parents[3] / "shared" / "data"
    return p if (p / "real").is_dir() else None


def build_mirror(dest: str | Path, shared_dir: str | Path | bool | None = None, territoire: dict | None = None,
                 seed: int = 2024) -> Path:
    """Build the demo mirror of ``territoire`` into ``dest`` (replaced if it exists).

    Parameters
    ----------
    dest : mirror folder (e.g. ``data/mirror/demo``), laid out like ``data/raw``.
    shared_dir : ``../shared/data``; ``None``: found next to the repository; ``False``: the small fully
        simulated territory.
    territoire : ``{"epci": siren}``, ``{"departement": code}`` or ``{"communes": [codes]}`` (required with
        ``shared_dir``).
    seed : seed of every random draw (same seed → same mirror).
    """
    from .ecriture import Miroir
    from .monde import monde_fictif, monde_reel
    from .reels import write_real_files
    from .simulation import simulate_iris
    from .simules import write_simulated_files

    dest = Path(dest).resolve()
    shared = None if shared_dir is False else (Path(shared_dir) if shared_dir is not None else default_shared_dir())
    if shared is not None and not (shared / "real").is_dir():
        shared = None
    if shared is not None and not any((territoire or {}).get(k) for k in ("epci", "departement", "communes")):
        raise ObservatoireError(
            "Territoire du miroir de démonstration non indiqué (demo territory missing).", fichier=str(dest),
            correction="passez territoire={\"epci\": SIREN} (ou {\"departement\": code}, {\"communes\": [codes]}), "
                       "ou shared_dir=False pour le petit territoire entièrement simulé ; en ligne de commande : "
                       "scripts/build_demo_mirror.py DOSSIER --epci SIREN")
    monde = monde_reel(shared, territoire or {}) if shared is not None else monde_fictif()
    _warn_missing_2024(monde)
    rng = np.random.default_rng(seed)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        m = Miroir(tmp)
        if monde.reel:
            write_real_files(m, monde)
        iris = simulate_iris(monde, rng)
        write_simulated_files(m, monde, iris, rng)
        write_manifest(tmp / MANIFEST, m.entries)
        _write_territory(tmp, monde)
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


def _warn_missing_2024(monde) -> None:
    """Say which 2015 quartiers of the territory have no 2024 perimeter in the real files at hand."""
    from ..fr import compte
    from ..progress import avertir
    from .monde import qpv2024_files

    codes = monde.notes.get("qpv2024_sans_perimetre") or []
    if not codes:
        return
    areas = ", ".join(sorted({p.parent.name for p in qpv2024_files(monde.shared)})) or "aucune zone"
    avertir(f"{compte(len(codes), 'quartier')} 2015 du territoire ({', '.join(codes)}) "
            f"sans périmètre 2024 dans les fichiers réels de {monde.shared} (périmètres 2024 extraits pour : "
            f"{areas}) : la démonstration présente le territoire sans leurs quartiers 2024 ; le fichier national "
            "de l'ANCT, téléchargé par « make », dira lesquels sont encore prioritaires.")


def _write_territory(dest: Path, monde) -> None:
    """``territoire.toml``: the ``[territoire]`` and ``[millesimes]`` sections to run the mirror with."""
    t = monde.territoire
    terr = {"epci": t.epci_siren} if t.kind == "epci" else (
        {"departement": t.departements[0]} if t.kind == "departement" else {"communes": sorted(t.codes)})
    data = {"territoire": terr, "millesimes": monde.millesimes,
            "miroir": {"nom": t.nom, "reel": bool(monde.reel), "communes": sorted(t.codes)}}
    (dest / "territoire.toml").write_text(
        f"# Territoire du miroir de démonstration : {t.nom}"
        + ("" if monde.reel else " (territoire entièrement simulé)") + "\n" + tomli_w.dumps(data), encoding="utf-8")
