#!/usr/bin/env python3
"""Build the demo mirror of a territory:

    python scripts/build_demo_mirror.py DEST [--epci SIREN | --departement CODE | --communes C1,C2]
                                             [--shared DIR | --sans-shared] [--seed N]

Real files from ``../shared/data`` wherever they exist, simulated ones (in the official formats)
otherwise, flagged in ``DEST/manifest.json``. Without a territory option, the territory of
``observatoire.toml``; without ``../shared``, a small fully simulated territory. Then:
``observatoire all --config DEST/observatoire.toml --mirror DEST``.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from observatoire.demo import build_mirror, default_shared_dir
from observatoire.demo.config import write_demo_config
from observatoire.errors import ObservatoireError


def _territoire(a, project: Path) -> dict:
    if a.epci:
        return {"epci": a.epci}
    if a.departement:
        return {"departement": a.departement}
    if a.communes:
        return {"communes": [c.strip() for c in a.communes.split(",") if c.strip()]}
    cfg = project / "observatoire.toml"
    t = tomllib.loads(cfg.read_text(encoding="utf-8")).get("territoire", {}) if cfg.exists() else {}
    return {k: t[k] for k in ("epci", "departement", "communes") if t.get(k)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Construit le miroir de démonstration (formats officiels, réel "
                                             "quand ../shared a le fichier, simulé sinon).")
    ap.add_argument("dest", type=Path, help="dossier du miroir, par exemple data/mirror/demo")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--epci", help="SIREN de l'EPCI (défaut : celui de observatoire.toml)")
    g.add_argument("--departement", help="code du département, par exemple 59")
    g.add_argument("--communes", help="codes Insee des communes séparés par des virgules")
    ap.add_argument("--shared", type=Path, default=None, help="dossier shared/data (défaut : ../shared/data)")
    ap.add_argument("--sans-shared", action="store_true", help="territoire entièrement simulé")
    ap.add_argument("--seed", type=int, default=2024, help="graine des tirages simulés (défaut 2024)")
    a = ap.parse_args(argv)
    project = Path.cwd()
    shared = False if a.sans_shared else (a.shared if a.shared is not None else default_shared_dir())
    try:
        dest = build_mirror(a.dest, shared_dir=shared, territoire=_territoire(a, project), seed=a.seed)
    except ObservatoireError as e:
        print(f"Erreur : {e}", file=sys.stderr)
        return e.code
    write_demo_config(dest, project)
    meta = tomllib.loads((dest / "territoire.toml").read_text(encoding="utf-8")).get("miroir", {})
    kind = "réel là où ../shared a le fichier, simulé ailleurs" if meta.get("reel") else "territoire entièrement simulé"
    print(f"Miroir de démonstration écrit dans {dest} : {meta.get('nom', '')} ({kind}).")
    print(f"Configuration : {dest / 'observatoire.toml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
