#!/usr/bin/env python3
"""Build the demo mirror: ``python scripts/build_demo_mirror.py DEST [--shared DIR] [--seed N]``.

Real files from ``../shared/data/valenciennes`` in the official formats where available, simulated
ones otherwise (flagged in ``DEST/manifest.json``); without ``../shared``, a small fully simulated
territory. Then: ``observatoire all --mirror DEST``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from observatoire.demo import build_mirror, default_shared_dir
from observatoire.demo.config import write_demo_config


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Construit le miroir de démonstration (formats officiels).")
    ap.add_argument("dest", type=Path, help="dossier du miroir, par exemple data/mirror/demo")
    ap.add_argument("--shared", type=Path, default=None,
                    help="dossier shared/data (par défaut : ../shared/data s'il existe)")
    ap.add_argument("--sans-shared", action="store_true",
                    help="ignorer ../shared : territoire entièrement simulé")
    ap.add_argument("--seed", type=int, default=2024, help="graine des tirages simulés (défaut 2024)")
    a = ap.parse_args(argv)
    shared = False if a.sans_shared else (a.shared if a.shared is not None else default_shared_dir())
    if a.shared is not None and not a.sans_shared and not (a.shared / "valenciennes").is_dir():
        print(f"Dossier --shared invalide : {a.shared} (pas de sous-dossier valenciennes/).", file=sys.stderr)
        return 2
    dest = build_mirror(a.dest, shared_dir=shared, seed=a.seed)
    kind = "Valenciennes Métropole (réel + simulé)" if shared else "territoire entièrement simulé"
    print(f"Miroir de démonstration écrit dans {dest} : {kind}.")
    write_demo_config(dest, Path.cwd())
    print(f"Territoire à utiliser : {dest / 'territoire.toml'} (configuration complète : {dest / 'observatoire.toml'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
