#!/usr/bin/env python3
"""Rewrite the demo configuration ``DEST/observatoire.toml`` from the project's ``observatoire.toml``
(``python scripts/make_config_demo.py DEST``), without rebuilding the demo mirror.

``make demo`` runs this when only ``observatoire.toml`` changed: the mirror (the data) stays as it
is, so a change of ``[cartes]`` reruns only the maps of the demo, not fetch and build. Same writer
as ``scripts/build_demo_mirror.py``: :func:`observatoire.demo.config.write_demo_config`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from observatoire.cli_fr import ParseurFr
from observatoire.demo.config import write_demo_config


def main(argv: list[str] | None = None) -> int:
    ap = ParseurFr(description="Réécrit la configuration de démonstration à partir de observatoire.toml.")
    ap.add_argument("dest", type=Path, help="dossier du miroir de démonstration, par exemple data/mirror/demo")
    a = ap.parse_args(argv)
    if not (a.dest / "manifest.json").exists():
        print(f"Miroir de démonstration absent : {a.dest} (lancez make demo).", file=sys.stderr)
        return 2
    write_demo_config(a.dest, Path.cwd())
    return 0


if __name__ == "__main__":
    sys.exit(main())
