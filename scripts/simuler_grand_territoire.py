#!/usr/bin/env python3
"""Write the mirror of a large fully simulated territory (données simulées), for the benchmarks:

    python scripts/simuler_grand_territoire.py DEST [--iris 48000] [--quartiers 1600] [--communes N]
                                                    [--graine 2024]

A simulated département ``00`` (communes on a grid of rectangles, EPCIs of about 20 communes, IRIS,
2024 and 2015 quartiers), every file in its official format and marked simulated in
``DEST/manifest.json``, plus ``DEST/observatoire.toml`` (``[territoire] departement = "00"``). Then:
``observatoire all --config DEST/observatoire.toml --mirror DEST`` (outputs under ``DEST/sorties``).
``--iris 48000 --quartiers 1600``: a simulated France; ``--iris 1500 --quartiers 91 --communes 648``:
a simulated Nord.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import tomli_w

from observatoire.demo.config import write_demo_config
from observatoire.demo.grand import MAX_COMMUNES, MAX_QPV2024, build_mirror_grand, monde_grand
from observatoire.fr import format_nombre
from observatoire.progress import etape

#: Sections of the project's configuration that describe ITS territory (not the simulated one).
PROPRES_AU_TERRITOIRE = ("partenaires", "zones", "territoire", "millesimes")


def _base_config(project: Path, sorties: Path) -> Path:
    """The project's configuration without what belongs to its own territory (partner tables, watch
    zones), outputs under ``sorties``, written to a temporary file for :func:`write_demo_config`."""
    src = project / "observatoire.toml"
    data = tomllib.loads(src.read_text(encoding="utf-8")) if src.exists() else {}
    for k in PROPRES_AU_TERRITOIRE:
        data.pop(k, None)
    data["chemins"] = {"raw": str(sorties / "raw"), "processed": str(sorties / "processed"),
                       "cartes": str(sorties / "maps"), "portraits": str(sorties / "portraits")}
    fd, tmp = tempfile.mkstemp(suffix=".toml")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(tomli_w.dumps(data))
    return Path(tmp)


def simuler(dest: Path, n_iris: int, n_quartiers: int, n_communes: int | None = None, graine: int = 2024,
            sorties: Path | None = None) -> Path:
    """Write the mirror and its configuration; returns the configuration path."""
    dest = Path(dest).resolve()
    sorties = Path(sorties).resolve() if sorties else dest.parent / f"{dest.name}-sorties"
    with etape("Territoire simulé") as e:
        monde = monde_grand(n_iris, n_quartiers, seed=graine, n_communes=n_communes)
        e.resume(f"{format_nombre(len(monde.communes))} communes, {format_nombre(len(monde.iris))} IRIS, "
                 f"{format_nombre(len(monde.qpv2024))} quartiers 2024, {format_nombre(len(monde.qpv2015))} quartiers "
                 f"2015, {format_nombre(monde.composition['siren_epci'].nunique())} EPCI")
    with etape("Fichiers simulés aux formats officiels") as e:
        build_mirror_grand(dest, monde, seed=graine)
        taille = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
        e.resume(f"{dest} ({format_nombre(taille / 1e6, 0)} Mo)")
    base = _base_config(Path.cwd(), sorties)
    try:
        cfg = write_demo_config(dest, Path.cwd(), base=base)
    finally:
        base.unlink(missing_ok=True)
    return cfg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Miroir d'un grand territoire entièrement simulé (département 00), "
                                             "pour les bancs d'essai.")
    ap.add_argument("dest", type=Path, help="dossier du miroir, par exemple bench/france/miroir")
    ap.add_argument("--iris", type=int, default=48_000, help="nombre d'IRIS (défaut 48 000 : une France simulée)")
    ap.add_argument("--quartiers", type=int, default=1_600, help="nombre de quartiers 2024 (défaut 1 600)")
    ap.add_argument("--communes", type=int, default=None,
                    help=f"nombre de communes (défaut : 0,43 par IRIS, au plus {MAX_COMMUNES})")
    ap.add_argument("--graine", type=int, default=2024, help="graine des tirages (défaut 2024)")
    ap.add_argument("--sorties", type=Path, default=None,
                    help="dossier des sorties du pipeline (défaut : DEST-sorties à côté du miroir)")
    a = ap.parse_args(argv)
    if a.iris < 1 or a.quartiers < 0 or a.quartiers > MAX_QPV2024:
        print(f"Erreur : --iris doit être positif et --quartiers entre 0 et {MAX_QPV2024} (codes officiels QN000nnX "
              "d'un seul département).", file=sys.stderr)
        return 2
    if a.communes is not None and not 1 <= a.communes <= MAX_COMMUNES:
        print(f"Erreur : --communes doit être entre 1 et {MAX_COMMUNES} (codes Insee 00001 à 00999 d'un seul "
              "département).", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    cfg = simuler(a.dest, a.iris, a.quartiers, a.communes, a.graine, a.sorties)
    print(f"Miroir simulé écrit dans {a.dest.resolve()} ({format_nombre(time.perf_counter() - t0, 1)} s).")
    print(f"Configuration : {cfg}")
    print(f"Ensuite : observatoire all --config {cfg} --mirror {a.dest.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
