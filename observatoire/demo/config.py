"""The demo's configuration file, written next to the demo mirror (``make demo`` runs with it)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pandas as pd
import tomli_w


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
