"""The demo's configuration file, written next to the demo mirror (``make demo`` runs with it).

It is the project's ``observatoire.toml`` with the mirror's territory and vintages, the project's
output folders, and the user's own ``[[zones]]`` kept as they are; a demo watch zone (two IRIS of a
commune, away from the quartiers) is added only when the user declares none.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import tomli_w


def _zone_iris(dest: Path, communes: set[str]) -> tuple[str, str, list[str]] | None:
    """A demo watch zone: the last two IRIS of the territory's commune having the most IRIS."""
    import geopandas as gpd
    import pandas as pd

    files = sorted((dest / "ign_iris").glob("*.geojson"))
    if not files:
        return None
    iris = pd.concat([gpd.read_file(p) for p in files]).sort_values("code_iris")
    iris = iris[iris["code_insee"].astype(str).isin(communes)]
    counts = iris.groupby("code_insee")["code_iris"].count()
    several = counts[counts > 1]
    if several.empty:
        return None
    commune = several.sort_values(ascending=False).index[0]
    codes = iris.loc[iris["code_insee"] == commune, "code_iris"].tolist()
    nom = iris.loc[iris["code_insee"] == commune, "nom_commune"].iloc[0]
    return commune, f"Zone de veille ({nom})", codes[-2:]


def write_demo_config(dest: Path, project: Path, base: Path | None = None) -> Path:
    """``dest/observatoire.toml``: the project's configuration with the mirror's territory and vintages."""
    base = base or project / "observatoire.toml"
    data = tomllib.loads(base.read_text(encoding="utf-8")) if base.exists() else {}
    snippet = tomllib.loads((dest / "territoire.toml").read_text(encoding="utf-8"))
    data["territoire"] = snippet["territoire"]
    data["millesimes"] = snippet["millesimes"]
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
    zones = [dict(z, **({"fichier": rebase(z["fichier"])} if z.get("fichier") else {})) for z in data.get("zones", [])]
    if not zones:
        found = _zone_iris(dest, set(snippet.get("miroir", {}).get("communes", [])))
        if found:
            commune, label, codes = found
            zones = [{"code": "VEILLE_DEMO", "libelle": f"{label}, quartier de veille (démonstration)",
                      "commune": commune, "iris": codes}]
    data["zones"] = zones
    if not data["zones"]:
        del data["zones"]
    out = dest / "observatoire.toml"
    out.write_text("# Configuration de démonstration écrite par scripts/build_demo_mirror.py — ne pas modifier.\n"
                   + tomli_w.dumps(data), encoding="utf-8")
    return out
