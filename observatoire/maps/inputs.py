"""What the maps read from the GeoPackage, and where each figure and outline comes from.

Reads the layers written by ``observatoire build`` (``communes``, ``epci``, ``iris``, ``qpv_2024``,
``qpv_2015``, ``zones``, ``indicateurs``, ``sources``; docs/contracts.md) and normalises the tidy table
(v2: ``simule``, ``note_producteur``, ``motif``, ``couverture`` per figure; a v1 table, whose statut
``simule`` marked simulated figures, is read too).

Provenance is kept per figure and per outline set: a figure is simulated iff its ``simule`` is true;
an outline set (IRIS contours, quartier perimeters…) is simulated iff the ``sources`` layer lists its
source file as simulated (:data:`SOURCES_GEOMETRIE`).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import ObservatoireError

LAMBERT93 = "EPSG:2154"

#: Geometry sets of the maps → source ids of the registry that provide them.
#: Outline sets of the maps → layer of :data:`observatoire.store.SOURCES_COUCHES` (one table of which
#: source file each outline comes from, shared with the build and the GeoParquet layers).
SOURCES_GEOMETRIE = {"iris": "iris", "qpv2024": "qpv_2024", "qpv2015": "qpv_2015", "communes": "communes",
                     "zones": "zones"}

_TEXT_COLUMNS = ("type_territoire", "code_territoire", "libelle_territoire", "indicateur", "statut", "methode",
                 "qualite", "source", "note_producteur", "motif")
_REQUIRED = ("type_territoire", "code_territoire", "indicateur", "millesime", "valeur", "statut", "methode",
             "qualite", "source")
_TRUE = {"true", "1", "vrai", "yes", "oui"}


def _read_layer(gpkg: Path, layer: str, layers: set[str], required: bool = False):
    if layer not in layers:
        if required:
            raise ObservatoireError(
                f"La couche « {layer} » manque dans le GeoPackage (layer missing).", fichier=str(gpkg),
                correction="relancez « observatoire build » pour reconstruire le GeoPackage")
        return None
    df = gpd.read_file(gpkg, layer=layer, use_arrow=True)   # whole columns: 10 times faster
    if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df and df.crs is not None:
        df = df.to_crs(LAMBERT93)
    return df


def as_bool(s: pd.Series) -> pd.Series:
    """Booleans from a column written as bool, 0/1 or ``True``/``False`` text (empty = False)."""
    if s.dtype == bool:
        return s
    return s.astype("object").map(lambda x: str(x).strip().lower() in _TRUE if x == x and x is not None else False)


def normalise_tidy(ind: pd.DataFrame, sources_simulees: bool = False, fichier: str = "") -> pd.DataFrame:
    """The tidy table with the columns the maps use, typed (text columns never NaN).

    A v1 table (no ``simule`` column, statut ``simule``) becomes v2: statut ``simule`` → ``estime``
    for an estimation method, else ``ok``, with ``simule`` true; a table with neither is taken as
    simulated iff ``sources_simulees`` (some input file was simulated): never present an invented
    number as real.
    """
    ind = pd.DataFrame(ind).drop(columns="geometry", errors="ignore").copy()
    missing = [c for c in _REQUIRED if c not in ind.columns]
    if missing:
        raise ObservatoireError(f"La table « indicateurs » n'a pas les colonnes {', '.join(missing)}.",
                                fichier=fichier, correction="relancez « observatoire build »")
    for c in _TEXT_COLUMNS:
        if c not in ind:
            ind[c] = ""
        ind[c] = ind[c].astype("object").where(ind[c].notna(), "").astype(str)
    ind["valeur"] = pd.to_numeric(ind["valeur"], errors="coerce")
    ind["couverture"] = pd.to_numeric(ind["couverture"], errors="coerce") if "couverture" in ind else np.nan
    ind["millesime"] = pd.to_numeric(ind["millesime"], errors="coerce").astype("Int64")
    v1_sim = ind["statut"] == "simule"
    if "simule" in ind:
        ind["simule"] = as_bool(ind["simule"]) | v1_sim
    else:
        ind["simule"] = v1_sim | (sources_simulees & (ind["methode"] != "partenaire"))
    if v1_sim.any():
        from ..tidy import METHODES_ESTIMATION
        ind.loc[v1_sim, "statut"] = np.where(ind.loc[v1_sim, "methode"].isin(METHODES_ESTIMATION), "estime", "ok")
    ind["simule"] = ind["simule"].astype(bool)
    return ind


def geometry_provenance(sources: pd.DataFrame | None) -> dict[str, bool]:
    """``{set name: simulated?}`` of each outline set, from the ``sources`` layer."""
    from ..store import contours_simules

    par_couche = contours_simules(sources)
    return {name: par_couche[couche] for name, couche in SOURCES_GEOMETRIE.items()}


def load_inputs(gpkg: Path) -> dict:
    """The GeoPackage layers the maps use (optional layers are ``None`` when absent).

    Keys: the layer names, plus ``indicateurs`` (producer and estimated figures, normalised by
    :func:`normalise_tidy`), ``partenaires`` (the ``methode = partenaire`` rows, mapped as layers of
    their own) and ``geometrie_simulee`` (:func:`geometry_provenance`).
    """
    gpkg = Path(gpkg)
    if not gpkg.exists():
        raise ObservatoireError("Le GeoPackage de l'observatoire est introuvable (GeoPackage not found).",
                                fichier=str(gpkg), correction="lancez d'abord « observatoire build »")
    import pyogrio
    layers = {str(name) for name, _ in pyogrio.list_layers(gpkg)}
    out = {name: _read_layer(gpkg, name, layers, required=name in ("communes", "qpv_2024", "indicateurs"))
           for name in ("communes", "epci", "iris", "qpv_2024", "qpv_2015", "zones", "indicateurs", "sources")}
    sources = out["sources"]
    if sources is not None:
        sources = pd.DataFrame(sources).drop(columns="geometry", errors="ignore")
        out["sources"] = sources
    any_sim = bool(sources is not None and "simule" in sources and as_bool(sources["simule"]).any())
    ind = normalise_tidy(out["indicateurs"], any_sim, str(gpkg))
    partner = ind["methode"] == "partenaire"
    out["indicateurs"] = ind[~partner].reset_index(drop=True)
    out["partenaires"] = ind[partner].reset_index(drop=True)
    out["geometrie_simulee"] = geometry_provenance(sources)
    return out


def partner_labels(config) -> dict[str, str]:
    """``{partner id: libellé}`` from ``[[partenaires]]`` of the configuration (id when no libellé)."""
    out = {}
    for p in getattr(config, "partenaires", ()) or ():
        pid = str(p.get("id", "")).strip()
        if pid:
            out[pid] = str(p.get("libelle") or p.get("label") or pid)
    return out
