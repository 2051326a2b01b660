"""The corpus' world: the project's small fictitious demo territory (runs without ``../shared``), fetched
and built once per session; every case works on its own copy.

``monde`` (session): ``<tmp>/projet`` holding the demo mirror (``miroir/``), its configuration
(``miroir/observatoire.toml``), the fetched raw files (``data/raw``) and one clean build
(``data/processed``, ``portraits/``). ``projet`` (per test): a copy of it, with helpers to damage a raw
file, run the CLI as a subprocess, and check that outputs were left as they were.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUTPUT_DIRS = ("data/processed", "maps", "portraits")


def _repair_known_demo_defects(mirror: Path) -> None:
    """Work around a defect of the fictitious demo mirror on the branch this corpus was written on:
    its simulated INSEE quartier tables lack columns their edition must hold (``TX_F_EPREC`` in
    IPRO 2017, ``TX_F_EDLIM`` in IPRO 2022, ``ARSA`` in REVN 2017), so ``make demo`` without
    ``../shared`` stops at the build. The missing columns are added EMPTY (« non disponible », never
    a value) and the mirror manifest is updated. A no-op once ``observatoire/demo`` writes them."""
    from observatoire.sources import insee_qpv
    from observatoire.sources.raw import MANIFEST, read_manifest, sha256_file, write_manifest

    manifest = read_manifest(mirror / MANIFEST)
    for sid, kind in insee_qpv.KINDS.items():
        for p in sorted((mirror / sid).glob("*.csv")):
            edition = insee_qpv.edition_of(p.name)
            raw = p.read_bytes()
            text = raw.decode("utf-8-sig")
            nl = "\r\n" if "\r\n" in text else "\n"
            lines = text.split(nl)
            header = lines[0].split(";")
            missing = [c for c, col in insee_qpv.TABLES[kind].items()
                       if col.attendue(edition) and col.editions != (None, None) and c not in header]
            if not missing:
                continue
            lines = [";".join(header + missing)] + [ln + ";" * len(missing) if ln else ln for ln in lines[1:]]
            p.write_bytes(("\ufeff" if raw.startswith(b"\xef\xbb\xbf") else "").encode() + nl.join(lines).encode())
            rel = f"{sid}/{p.name}"
            manifest[rel] = dict(manifest[rel], taille=p.stat().st_size, sha256=sha256_file(p))
    write_manifest(mirror / MANIFEST, manifest)


@dataclass
class Monde:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "miroir" / "observatoire.toml"


@pytest.fixture(scope="session")
def monde(tmp_path_factory) -> Monde:
    """Fictitious demo world, fetched from its mirror and built once (library calls, quiet)."""
    from observatoire.config import load_config
    from observatoire.demo import build_mirror
    from observatoire.demo.config import write_demo_config
    from observatoire.pipeline import build
    from observatoire.portraits.render import build_portraits
    from observatoire.sources.fetch import fetch

    old = os.environ.get("OBSERVATOIRE_SILENCE")
    os.environ["OBSERVATOIRE_SILENCE"] = "1"
    try:
        root = tmp_path_factory.mktemp("corpus") / "projet"
        root.mkdir()
        (root / "observatoire.toml").write_text((ROOT / "observatoire.toml").read_text(encoding="utf-8"),
                                                encoding="utf-8")
        mirror = build_mirror(root / "miroir", shared_dir=False)
        _repair_known_demo_defects(mirror)
        cfg = load_config(write_demo_config(mirror, root)).with_mirror(mirror)
        fetch(cfg)
        build(cfg)
        build_portraits(cfg, pdf=False)
    finally:
        if old is None:
            os.environ.pop("OBSERVATOIRE_SILENCE", None)
        else:
            os.environ["OBSERVATOIRE_SILENCE"] = old
    return Monde(root)


@dataclass
class Run:
    code: int
    out: str


class Projet:
    """A copy of the demo project for one case."""

    def __init__(self, root: Path):
        self.root = root
        self.config_path = root / "miroir" / "observatoire.toml"
        self.raw = root / "data" / "raw"
        self.processed = root / "data" / "processed"
        self.portraits = root / "portraits"
        self.maps = root / "maps"

    def config(self):
        from observatoire.config import load_config

        return load_config(self.config_path)

    def raw_file(self, source: str, pattern: str = ".") -> Path:
        return next(p for p in sorted((self.raw / source).iterdir()) if re.search(pattern, p.name))

    def edit_config(self, edit) -> None:
        self.config_path.write_text(edit(self.config_path.read_text(encoding="utf-8")), encoding="utf-8")

    # ----------------------------------------------------------------------------------- running
    def cli(self, *args: str, driver: str | None = None, timeout: float = 240) -> Run:
        """``python -m observatoire <args> --config …`` in a subprocess (or ``driver``: Python code run
        before ``observatoire.cli.main`` in the same process, to simulate the system's failures)."""
        argv = list(args) + ["--config", str(self.config_path)]
        env = dict(os.environ, OBSERVATOIRE_SILENCE="1", PYTHONHASHSEED="0", COLUMNS="200")
        if driver is None:
            cmd = [sys.executable, "-m", "observatoire", *argv]
        else:
            code = (driver + "\nimport sys\nfrom observatoire.cli import main\n"
                    f"sys.exit(main({argv!r}))\n")
            cmd = [sys.executable, "-c", code]
        p = subprocess.run(cmd, cwd=self.root, env=env, capture_output=True, text=True, timeout=timeout)
        return Run(p.returncode, p.stdout + p.stderr)

    # ---------------------------------------------------------------------------------- outputs
    def snapshot(self) -> dict[str, str]:
        """sha256 of every output file (data/processed, maps, portraits)."""
        out = {}
        for d in OUTPUT_DIRS:
            base = self.root / d
            if base.exists():
                for f in sorted(base.rglob("*")):
                    if f.is_file():
                        out[str(f.relative_to(self.root))] = hashlib.sha256(f.read_bytes()).hexdigest()
        return out

    def temporaries(self) -> list[str]:
        return [k for k in self.snapshot() if re.search(r"(\.tmp|\.partial\.gpkg|-journal|-wal)", Path(k).name)]


@pytest.fixture
def projet(monde, tmp_path) -> Projet:
    dest = tmp_path / "projet"
    shutil.copytree(monde.root, dest, symlinks=True)
    return Projet(dest)


# ------------------------------------------------------------------------------------- assertions
def assert_message(text: str, *, fichier: str, correction: str, contient: tuple[str, ...] = ()) -> None:
    """A user message as the contract says: names the file, gives the fix, no traceback, no fallback."""
    assert "Traceback" not in text, text
    assert "Erreur inattendue" not in text, text
    m = re.search(r"Fichier : (.*)", text)
    assert m and fichier in m.group(1), f"fichier {fichier!r} non nommé :\n{text}"
    c = re.search(r"Correction : (.*)", text, re.S)
    assert c and correction in c.group(1).replace("\n", " "), f"correction {correction!r} absente :\n{text}"
    for part in contient:
        assert part in text, f"{part!r} absent :\n{text}"


def assert_refused(run: Run, *, fichier: str, correction: str, contient: tuple[str, ...] = ()) -> None:
    assert run.code != 0, run.out
    assert_message(run.out, fichier=fichier, correction=correction, contient=contient)


def assert_noted(text: str, *parts: str) -> None:
    """A repair announced: a « Note : » line holding every ``part``; no traceback, no fallback."""
    assert "Traceback" not in text and "Erreur inattendue" not in text, text
    notes = [ln for ln in text.splitlines() if ln.startswith("Note :")]
    assert notes, f"aucune note :\n{text}"
    blob = " ".join(notes)
    for part in parts:
        assert part in blob, f"{part!r} absent des notes :\n{blob}"
