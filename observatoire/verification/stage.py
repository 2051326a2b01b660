"""The ``observatoire verifier`` stage and the writers of the back-test's outputs.

``observatoire build`` runs the back-test (it caps the quality classes of the estimates it publishes)
and stores its tables as layers ``verification_estimations``, ``verification_resume`` and
``verification_notes`` of the GeoPackage and ``data/processed/verification_estimations.csv``;
:func:`verifier` writes the page ``maps/verification.html`` from those layers (no recomputation).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from ..catalogue import Indicateur
from ..indicators.qualite import choose_method, quality_from_backtest
from .backtest import ESTIMATION_COLUMNS, RESUME_COLUMNS
from .page import render_html

def verifier(config, catalogue: dict[str, Indicateur] | None = None) -> Path:
    """Write ``maps/verification.html`` from the back-test layers of the GeoPackage; returns the page.

    Raises
    ------
    ObservatoireError : no GeoPackage, or one built before the back-test existed (run
        ``observatoire build``).
    """
    import pyogrio

    from ..catalogue import load_catalogue
    from ..errors import ObservatoireError
    from ..progress import avertir, etape
    from ..store import write_text_atomic

    catalogue = catalogue if catalogue is not None else load_catalogue()
    gpkg = Path(config.paths.gpkg)
    if not gpkg.exists():
        raise ObservatoireError("Le GeoPackage des indicateurs est absent : la vérification lit ses couches.",
                                fichier=str(gpkg), correction="lancez d'abord « observatoire build »")
    present = set(pyogrio.list_layers(gpkg)[:, 0])
    if not {"verification_estimations", "verification_resume"} <= present:
        raise ObservatoireError("Le GeoPackage n'a pas les couches de la vérification (construit par une version "
                                "antérieure).", fichier=str(gpkg), correction="relancez « observatoire build »")
    with etape("Vérification des estimations sur les quartiers 2015") as e:
        errors = _read(gpkg, "verification_estimations", ESTIMATION_COLUMNS)
        summary = _read(gpkg, "verification_resume", RESUME_COLUMNS)
        meta = _read(gpkg, "verification_notes", ["territoire", "n_quartiers", "raison"]) \
            if "verification_notes" in present else pd.DataFrame(columns=["territoire", "n_quartiers", "raison"])
        territoire = str(meta["territoire"].iloc[0]) if len(meta) else (
            str(summary["territoire"].iloc[0]) if len(summary) else config.territoire.nom or "")
        n_q = int(meta["n_quartiers"].iloc[0]) if len(meta) else int(errors["code_quartier"].nunique())
        raisons = [r for r in meta["raison"].astype(str) if r] if len(meta) else []
        caps = quality_from_backtest(summary, catalogue)
        choice = choose_method(summary, catalogue)
        if errors.empty:
            avertir("Aucun indicateur n'a à la fois un chiffre IRIS et un chiffre de l'Insee sur les quartiers "
                    "2015 de ce territoire : la vérification est vide.")
        page = Path(config.paths.maps) / "verification.html"
        write_text_atomic(page, render_html(summary, errors, caps, choice, catalogue, territoire=territoire,
                                            n_quartiers=n_q, raisons_simulation=raisons))
        e.resume(f"{page} ({summary['indicateur'].nunique() if len(summary) else 0} indicateurs comparés)")
    return page


def _read(gpkg: Path, layer: str, columns: list[str]) -> pd.DataFrame:
    import pyogrio

    df = pd.DataFrame(pyogrio.read_dataframe(gpkg, layer=layer, read_geometry=False))
    for c in columns:
        if c not in df.columns:
            df[c] = pd.Series(dtype=object)
    for c in ("simule", "dans_tolerance"):
        if c in df.columns:
            df[c] = df[c].astype(str).str.lower().isin(["true", "1"])
    return df[columns]


def add_layers(gpkg: str | Path, layers: dict[str, pd.DataFrame]) -> Path:
    """Add (or replace) attribute layers in a copy of ``gpkg``, renamed over it when all are written
    (:func:`observatoire.store.atomic_path`): a reader never sees a half-written store."""
    import shutil

    import pyogrio

    from ..store import _prepare, atomic_path

    gpkg = Path(gpkg)
    with atomic_path(gpkg) as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non conformant file extension.*")
        shutil.copyfile(gpkg, tmp)
        for name, df in layers.items():
            pyogrio.write_dataframe(_prepare(pd.DataFrame(df)), tmp, layer=name, driver="GPKG")
    return gpkg

def write_csv(errors: pd.DataFrame, path: str | Path) -> Path:
    """``verification_estimations.csv``: the conventions of ``indicateurs.csv`` (UTF-8 with BOM, ``;``,
    ``.`` decimals, empty cells for missing numbers, ``True``/``False``, no text read as a formula)."""
    from ..exports import neutralise
    from ..store import atomic_path

    t = errors[ESTIMATION_COLUMNS].copy() if len(errors) else pd.DataFrame(columns=ESTIMATION_COLUMNS)
    for c in ("territoire", "indicateur", "famille", "methode", "methode_effective", "code_quartier",
              "libelle_quartier", "unite_ecart", "qualite", "motif"):
        t[c] = neutralise(t[c])
    with atomic_path(path) as tmp:
        t.to_csv(tmp, sep=";", index=False, encoding="utf-8-sig", decimal=".", na_rep="", lineterminator="\n")
    return Path(path)
