"""Kill test: ``SIGKILL`` at random points of each stage (fetch, build, maps, portraits), 12 runs.

After each kill, every output present must be complete (parsable: CSV, Parquet, XLSX, GeoPackage, HTML
ending its document, raw files identical to the mirror's); then the next run of the stage must finish,
leave no temporary file, and equal a clean run (the tidy CSV byte for byte; the same map and portrait
files). Delays are drawn from a seeded generator (printed with ``-s``) between 5 % and 80 % of the
stage's clean duration on this machine, counted after the time Python takes to import the package.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from observatoire.sources.raw import MANIFEST, read_manifest
from observatoire.tidy import TIDY_COLUMNS

pytestmark = pytest.mark.slow

RUNS = {"fetch": 3, "build": 3, "maps": 3, "portraits": 3}
SEED = 14016


def _args(stage: str) -> list[str]:
    return {"fetch": ["fetch", "--mirror", "miroir"], "build": ["build"], "maps": ["maps"],
            "portraits": ["portraits", "--sans-pdf"]}[stage]


def _popen(projet, stage):
    env = dict(os.environ, OBSERVATOIRE_SILENCE="1")
    return subprocess.Popen([sys.executable, "-m", "observatoire", *_args(stage), "--config", str(projet.config_path)],
                            cwd=projet.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _run(projet, stage) -> float:
    t0 = time.perf_counter()
    p = _popen(projet, stage)
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out.decode()
    return time.perf_counter() - t0


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _html(folder: Path) -> list[str]:
    return sorted(str(f.relative_to(folder)) for f in folder.rglob("*.html"))


@pytest.fixture(scope="module")
def clean(monde, tmp_path_factory):
    """Clean runs of each stage (durations and results) on a copy of the corpus' world."""
    import shutil

    from .conftest import Projet

    root = tmp_path_factory.mktemp("kill_clean") / "projet"
    shutil.copytree(monde.root, root, symlinks=True)
    projet = Projet(root)
    shutil.rmtree(projet.raw)
    durations = {stage: _run(projet, stage) for stage in ("fetch", "build", "maps", "portraits")}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import observatoire.cli, observatoire.pipeline, observatoire.sources.fetch"],
                   check=True, cwd=root)
    return {"durations": durations, "demarrage": time.perf_counter() - t0, "csv": _sha(projet.processed / "indicateurs.csv"),
            "maps": _html(projet.maps), "portraits": _html(projet.portraits),
            "mirror": read_manifest(projet.root / "miroir" / MANIFEST)}


# ------------------------------------------------------------------------------------ completeness
def _complete_raw(projet, mirror_manifest) -> None:
    for name in (MANIFEST, "manifest.journal.json"):
        f = projet.raw / name
        if f.exists():
            json.loads(f.read_text(encoding="utf-8"))
    for f in projet.raw.rglob("*"):
        rel_parts = f.relative_to(projet.raw).parts
        if (not f.is_file() or f.parent == projet.raw or f.name.endswith((".part", ".tmp"))
                or any(x.startswith(".") for x in rel_parts)):  # .extrait/: the grid reader's own cache
            continue
        rel = str(f.relative_to(projet.raw))
        assert rel in mirror_manifest, rel
        assert _sha(f) == mirror_manifest[rel]["sha256"], f"{rel} incomplet après le kill"


def _complete_processed(projet) -> None:
    d = projet.processed
    if (d / "indicateurs.csv").exists():
        t = pd.read_csv(d / "indicateurs.csv", sep=";", encoding="utf-8-sig", dtype=str)
        assert list(t.columns) == TIDY_COLUMNS and len(t) > 0
    if (d / "indicateurs.parquet").exists():
        assert len(pd.read_parquet(d / "indicateurs.parquet")) > 0
    if (d / "indicateurs.xlsx").exists():
        from openpyxl import load_workbook

        wb = load_workbook(d / "indicateurs.xlsx", read_only=True)
        assert "À lire" in wb.sheetnames
        wb.close()
    if (d / "observatoire.gpkg").exists():
        assert "indicateurs" in [n for n, _ in pyogrio.list_layers(d / "observatoire.gpkg")]
        assert len(pyogrio.read_dataframe(d / "observatoire.gpkg", layer="indicateurs", read_geometry=False)) > 0


def _complete_html(folder: Path) -> None:
    for f in folder.rglob("*.html"):
        assert f.read_text(encoding="utf-8").rstrip().endswith("</html>"), f"{f} incomplet après le kill"


def _no_temporaries(projet) -> None:
    left = [str(p) for d in (projet.processed, projet.maps, projet.portraits) if d.exists() for p in d.rglob("*")
            if re.search(r"\.tmp|\.partial\.gpkg|-journal$|-wal$", p.name)]
    left += [str(p) for p in projet.raw.rglob("*") if p.name.endswith((".part", ".tmp"))] if projet.raw.exists() else []
    assert not left, left


# --------------------------------------------------------------------------------------------- runs
def _cases():
    rng = random.Random(SEED)
    out = []
    for stage, n in RUNS.items():
        for i in range(n):
            out.append((stage, i, rng.uniform(0.05, 0.8)))
    return out


@pytest.mark.corpus("arrêt brutal", "stop")
@pytest.mark.parametrize("stage,i,share", _cases(), ids=[f"{s}-{i}" for s, i, _ in _cases()])
def test_sigkill_then_rerun_equals_a_clean_run(projet, clean, stage, i, share):
    import shutil

    if stage == "fetch":
        shutil.rmtree(projet.raw)
    elif stage == "build" and i % 2:
        shutil.rmtree(projet.processed)      # killed while no previous output exists
    # the stage's work starts after Python's imports: kills are spread over the work itself
    start = min(clean["demarrage"], 0.5 * clean["durations"][stage])
    delay = start + share * (clean["durations"][stage] - start)
    p = _popen(projet, stage)
    try:
        p.wait(timeout=delay)
        finished = True
    except subprocess.TimeoutExpired:
        finished = False
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
    p.stdout.close()
    context = (f"{stage} tué après {delay:.2f} s ({share:.0%} du travail, démarrage {start:.1f} s, durée "
               f"{clean['durations'][stage]:.1f} s){' — déjà fini' if finished else ''}")

    print(context)
    # every output present is complete
    if projet.raw.exists():
        _complete_raw(projet, clean["mirror"])
    _complete_processed(projet)
    _complete_html(projet.maps)
    _complete_html(projet.portraits)

    # the next run finishes and equals a clean run
    _run(projet, stage)
    if stage == "fetch":
        _complete_raw(projet, clean["mirror"])
        assert set(read_manifest(projet.raw / MANIFEST)) >= {k for k, v in clean["mirror"].items()
                                                             if (projet.raw / k).exists()}, context
        _run(projet, "build")
    if stage in ("fetch", "build"):
        assert _sha(projet.processed / "indicateurs.csv") == clean["csv"], context
    if stage == "maps":
        assert _html(projet.maps) == clean["maps"], context
    if stage == "portraits":
        assert _html(projet.portraits) == clean["portraits"], context
    _no_temporaries(projet)
