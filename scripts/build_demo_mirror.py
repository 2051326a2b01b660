#!/usr/bin/env python3
"""Build the demo mirror: ``python scripts/build_demo_mirror.py DEST [--shared DIR] [--seed N]``.

Real files from ``../shared/data/valenciennes`` in the official formats where available, simulated
ones otherwise (flagged in ``DEST/manifest.json``); without ``../shared``, a small fully simulated
territory. Then: ``observatoire all --mirror DEST``.
"""

from __future__ import annotations

import argparse
import os
import tomllib
import sys
from pathlib import Path

import pandas as pd
import tomli_w

from observatoire.demo import build_mirror, default_shared_dir


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


def _zone_iris(dest: Path) -> tuple[str, str, list[str]]:
    """A demo watch zone: two neighbouring simulated IRIS of a commune, away from the quartiers if possible."""
    import geopandas as gpd

    iris = pd.concat([gpd.read_file(p) for p in sorted((dest / "ign_iris").glob("*.geojson"))])
    iris = iris.sort_values("code_iris")
    # Marly (59383) hosts the former quartier « Les Floralies », now under watch (Contrat de ville 2015-2020).
    for commune, label in (("59383", "Les Floralies (Marly)"),):
        codes = iris.loc[iris["code_insee"] == commune, "code_iris"].tolist()
        if codes:
            return commune, label, codes[:1]
    counts = iris.groupby("code_insee")["code_iris"].count().sort_values(ascending=False)
    commune = counts.index[0]
    codes = iris.loc[iris["code_insee"] == commune, "code_iris"].tolist()
    return commune, f"Zone de veille ({iris.loc[iris['code_insee'] == commune, 'nom_commune'].iloc[0]})", codes[-2:]


def write_demo_config(dest: Path, project: Path, base: Path | None = None) -> Path:
    """The demo's configuration: the project's ``observatoire.toml`` with the mirror's territory, the
    project's output folders, and a watch zone made of simulated IRIS (the real IRIS codes of a watch
    zone cannot be known from simulated contours, so the project's own configuration declares none).
    """
    base = base or project / "observatoire.toml"
    data = tomllib.loads(base.read_text(encoding="utf-8")) if base.exists() else {}
    snippet = tomllib.loads((dest / "territoire.toml").read_text(encoding="utf-8"))
    data["territoire"] = snippet["territoire"]
    up = os.path.relpath(project.resolve(), dest.resolve())

    def rebase(value: str) -> str:
        p = Path(value)
        return value if p.is_absolute() else os.path.relpath((project / p).resolve(), dest.resolve())

    chemins = {k: rebase(v) for k, v in (data.get("chemins") or {}).items() if k != "miroir"}
    for key, default in (("raw", "data/raw"), ("processed", "data/processed"), ("cartes", "maps"),
                         ("portraits", "portraits")):
        chemins.setdefault(key, f"{up}/{default}")
    data["chemins"] = chemins
    portraits = dict(data.get("portraits") or {})
    portraits["notes"] = rebase(portraits.get("notes", "notes"))
    data["portraits"] = portraits
    data["partenaires"] = [dict(p, fichier=rebase(p["fichier"])) for p in data.get("partenaires", [])]
    commune, label, codes = _zone_iris(dest)
    data["zones"] = [{"code": "VEILLE_DEMO", "libelle": f"{label}, quartier de veille (démonstration, IRIS simulés)",
                      "commune": commune, "iris": codes}]
    out = dest / "observatoire.toml"
    out.write_text("# Configuration de démonstration écrite par scripts/build_demo_mirror.py — ne pas modifier.\n"
                   + tomli_w.dumps(data), encoding="utf-8")
    return out


if __name__ == "__main__":
    sys.exit(main())
