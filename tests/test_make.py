"""The Make contract (Makefile), on a copy of the project whose stages are cheap fakes.

The real Makefile runs in a temporary project with ``OBS=<fake observatoire>``: each stage command
logs its arguments and writes small outputs; ``observatoire empreinte`` (what each stage reads of
the configuration) is the real one. Checked: a second make does nothing (``make -q``), a note
rebuilds only its sheet, a ``[cartes]`` change only the maps, a failed or interrupted stage is
rerun, the PDFs wait for Chromium, a fetch without network proposes ``make demo``, switching the
configuration is detected, ``make demo`` passes its territory arguments and reruns on their change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("make") is None, reason="GNU make absent")]

FAKE = '''#!{python}
"""Fake observatoire: logs the call, writes cheap outputs; « empreinte » is the real one."""
import os, sys, tomllib
from pathlib import Path

args = sys.argv[1:]
cmd = args[0]
opt = lambda name, default=None: args[args.index(name) + 1] if name in args else default
shown = [a for i, a in enumerate(args) if a != "--config" and (i == 0 or args[i - 1] != "--config")]
with open(os.environ["FAKE_LOG"], "a", encoding="utf-8") as f:
    f.write(" ".join(shown) + "\\n")
if cmd == "empreinte":
    from observatoire.cli import main
    sys.exit(main(args))
if os.environ.get("FAKE_FAIL") == cmd:
    print("échec simulé de " + cmd, file=sys.stderr)
    sys.exit(int(os.environ.get("FAKE_CODE", "2")))
config = tomllib.loads(Path(opt("--config")).read_text(encoding="utf-8"))
codes = {{"2024": ["QN1", "QN2"], "2015": ["QP1"], "zones": [z["code"] for z in config.get("zones", [])]}}
if cmd == "fetch":
    Path("data/raw").mkdir(parents=True, exist_ok=True)
    Path("data/raw/manifest.json").write_text("{{}}")
elif cmd == "build":
    Path("data/processed").mkdir(parents=True, exist_ok=True)
    Path("data/processed/observatoire.gpkg").write_text("gpkg")
elif cmd == "quartiers":
    Path(opt("--mk")).write_text("".join(f"QUARTIERS_{{g}} := {{' '.join(c)}}\\n" for g, c in codes.items()))
elif cmd == "maps":
    Path("maps").mkdir(exist_ok=True)
    Path("maps/index.html").write_text("carte")
elif cmd in ("portraits", "pdf"):
    geo = opt("--geographie", "2024")
    qs = [args[i + 1] for i, a in enumerate(args) if a == "--quartier"] or codes[geo]
    Path("portraits").mkdir(exist_ok=True)
    for q in qs:
        if cmd == "portraits":
            Path(f"portraits/{{q}}.html").write_text("fiche")
        if cmd == "pdf" or "--sans-pdf" not in args:
            Path(f"portraits/{{q}}.pdf").write_text("pdf")
'''

CONFIG = '''\
[territoire]
epci = "245901160"

[[partenaires]]
id = "p"
fichier = "partenaire.csv"
optionnel = true

[cartes]
classes = 5

[portraits]
pdf = true
'''

HTML = ["portraits --sans-pdf --geographie 2024", "portraits --sans-pdf --geographie 2015"]
PDF = ["pdf --geographie 2024", "pdf --geographie 2015"]
FULL = ["fetch", "build", "quartiers --mk data/processed/.make/quartiers.mk", "maps"] + HTML + PDF


class Projet:
    """A copy of the project (Makefile, scripts, package) with a fake observatoire."""

    def __init__(self, root: Path):
        self.root = root
        self.log = root / "appels.log"
        self.fake = root.parent / "observatoire_factice.py"

    def make(self, *args: str, chromium: bool = True, **env: str) -> subprocess.CompletedProcess:
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("MAKE", "MFLAGS", "OBSERVATOIRE_", "PREREQUIS"))
                 and k not in ("CONFIG", "MIRROR", "EPCI", "DEPARTEMENT", "COMMUNES", "TEST")}
        clean.update({"FAKE_LOG": str(self.log), "OBSERVATOIRE_SILENCE": "1", **env})
        cmd = ["make", "--no-print-directory", f"OBS={self.fake}", "ESPACE_MIN_GO=0",
               f"CHROMIUM={sys.executable if chromium else ''}", *args]
        return subprocess.run(cmd, cwd=self.root, env=clean, capture_output=True, text=True, timeout=300)

    def calls(self) -> list[str]:
        """Stage commands run since the last call (the footprint command left out)."""
        lines = self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []
        self.log.write_text("", encoding="utf-8")
        return [lg for lg in lines if not lg.startswith("empreinte")]

    def up_to_date(self, *args: str, chromium: bool = True) -> bool:
        r = self.make("-q", *args, chromium=chromium)
        self.calls()
        return r.returncode == 0

    def age(self) -> None:
        """Date every file of the project 100 s back, so that a file changed now is newer than every
        output whatever the file system's clock resolution."""
        t = time.time() - 100
        for p in self.root.rglob("*"):
            if not p.is_symlink():
                os.utime(p, (t, t))

    def edit(self, name: str, old: str, new: str) -> None:
        p = self.root / name
        text = p.read_text(encoding="utf-8")
        assert old in text
        self.age()
        p.write_text(text.replace(old, new), encoding="utf-8")

    def touch(self, name: str) -> Path:
        self.age()
        p = self.root / name
        p.touch()
        return p


@pytest.fixture
def projet(tmp_path) -> Projet:
    root = tmp_path / "projet"
    root.mkdir()
    shutil.copy2(ROOT / "Makefile", root)
    shutil.copy2(ROOT / "pyproject.toml", root)
    shutil.copytree(ROOT / "scripts", root / "scripts")
    shutil.copytree(ROOT / "observatoire", root / "observatoire", ignore=shutil.ignore_patterns("__pycache__"))
    for d in ("notes", "data/raw", "data/processed", "maps", "portraits"):
        (root / d).mkdir(parents=True, exist_ok=True)
        (root / d / "README.md").write_text("lisez-moi\n", encoding="utf-8")
    (root / "observatoire.toml").write_text(CONFIG, encoding="utf-8")
    (root / "partenaire.csv").write_text("code;valeur\n", encoding="utf-8")
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (root / ".venv" / ".installed").touch()
    p = Projet(root)
    p.fake.write_text(FAKE.format(python=sys.executable), encoding="utf-8")
    p.fake.chmod(0o755)
    return p


@pytest.fixture
def fait(projet) -> Projet:
    """A project after one successful make."""
    r = projet.make()
    assert r.returncode == 0, r.stderr
    assert projet.calls() == FULL
    return projet


def test_second_make_does_nothing(fait):
    assert fait.up_to_date()
    r = fait.make()
    assert r.returncode == 0 and fait.calls() == []
    for stamp in ("data/raw/.etape-fetch", "data/processed/.etape-build", "maps/.etape-cartes",
                  "portraits/.etape-html-2024", "portraits/.etape-html-2015",
                  "portraits/.etape-pdf-2024", "portraits/.etape-pdf-2015"):
        assert (fait.root / stamp).exists(), stamp


def test_a_note_rebuilds_only_its_sheet(fait):
    note = fait.touch("notes/QN1.md")
    note.write_text("## Atouts\n- un parc\n", encoding="utf-8")
    assert not fait.up_to_date()
    assert fait.make().returncode == 0
    assert fait.calls() == ["portraits --sans-pdf --geographie 2024 --quartier QN1",
                            "pdf --geographie 2024 --quartier QN1"]
    assert fait.up_to_date()
    note.unlink()                      # a removed note rebuilds its sheet too
    assert fait.make().returncode == 0
    assert fait.calls() == ["portraits --sans-pdf --geographie 2024 --quartier QN1",
                            "pdf --geographie 2024 --quartier QN1"]
    assert fait.up_to_date()


def test_a_cartes_change_reruns_only_the_maps(fait):
    fait.edit("observatoire.toml", "classes = 5", "classes = 6")
    assert fait.make().returncode == 0
    assert fait.calls() == ["maps"]
    assert fait.up_to_date()
    fait.edit("observatoire.toml", "classes = 6", "classes = 6   # un commentaire")
    assert fait.make().returncode == 0 and fait.calls() == []


def test_a_portraits_change_reruns_only_the_portraits(fait):
    fait.edit("observatoire.toml", "pdf = true", "pdf = true\nannee_comparaison = 2017")
    assert fait.make().returncode == 0
    assert fait.calls() == HTML + PDF


def test_partner_table_and_stage_code_are_inputs(fait):
    fait.touch("partenaire.csv")
    assert fait.make().returncode == 0
    assert fait.calls() == FULL[1:]            # build and everything after it, not fetch
    fait.touch("observatoire/maps/build.py")
    assert fait.make().returncode == 0
    assert fait.calls() == ["maps"]


def test_failed_stage_leaves_no_stamp_and_is_rerun(projet):
    r = projet.make(FAKE_FAIL="maps")
    assert r.returncode != 0 and "échec simulé de maps" in r.stderr
    assert projet.calls() == FULL[:4]
    assert not (projet.root / "maps" / ".etape-cartes").exists()
    assert (projet.root / "data" / "processed" / ".etape-build").exists()
    assert projet.make().returncode == 0
    assert projet.calls() == FULL[3:]          # maps and portraits, not fetch and build again


def test_interrupted_stage_with_outputs_but_no_stamp_is_rerun(fait):
    """The trap of issue 12: outputs of an interrupted stage exist, its stamp does not."""
    (fait.root / "portraits" / ".etape-pdf-2024").unlink()
    assert (fait.root / "portraits" / "QN1.pdf").exists()
    assert fait.make().returncode == 0
    assert fait.calls() == ["pdf --geographie 2024"]


def test_without_chromium_html_now_and_pdfs_at_the_next_make(projet):
    r = projet.make(chromium=False)
    assert r.returncode == 0, r.stderr
    assert projet.calls() == FULL[:4] + HTML
    assert "apt-get install chromium" in r.stderr
    assert not list((projet.root / "portraits").glob(".etape-pdf-*"))
    assert not projet.up_to_date(chromium=False)   # the PDFs are still to do
    r = projet.make()                              # Chromium installed
    assert r.returncode == 0 and projet.calls() == PDF
    assert projet.up_to_date()


def test_pdf_disabled_in_the_configuration(projet):
    projet.edit("observatoire.toml", "pdf = true", "pdf = false")
    r = projet.make(chromium=False)
    assert r.returncode == 0 and "chromium" not in r.stderr.lower()
    assert projet.calls() == FULL[:4] + HTML
    assert projet.up_to_date(chromium=False)


def test_fetch_without_network_or_mirror_proposes_the_demo(projet):
    r = projet.make(FAKE_FAIL="fetch", FAKE_CODE="3")
    assert r.returncode != 0
    assert "Pas de réseau ni de miroir : essayez d'abord « make demo »" in r.stderr
    assert not (projet.root / "data" / "raw" / ".etape-fetch").exists()
    r = projet.make(FAKE_FAIL="build")           # other failures: no such hint
    assert r.returncode != 0 and "make demo" not in r.stderr


def test_switching_configuration_is_detected(fait):
    autre = fait.root / "autre.toml"
    autre.write_text(CONFIG.replace("245901160", "200067205"), encoding="utf-8")
    assert fait.make("CONFIG=autre.toml").returncode == 0
    assert fait.calls() == FULL
    assert fait.make("CONFIG=autre.toml").returncode == 0 and fait.calls() == []
    assert fait.make().returncode == 0
    assert fait.calls() == FULL


def test_zones_get_their_portraits(fait):
    fait.edit("observatoire.toml", "[cartes]", '[[zones]]\ncode = "Z1"\nlibelle = "Zone"\niris = ["593830101"]\n'
                                               "\n[cartes]")
    assert fait.make().returncode == 0
    calls = fait.calls()
    assert calls[:2] == ["build", "quartiers --mk data/processed/.make/quartiers.mk"]
    assert "portraits --sans-pdf --geographie zones" in calls and "pdf --geographie zones" in calls
    assert fait.up_to_date()


def test_demo_passes_its_territory_and_rebuilds_the_mirror_when_it_changes(projet):
    demo = projet.root / "data" / "mirror" / "demo"
    demo.mkdir(parents=True)
    (demo / "observatoire.toml").write_text(CONFIG, encoding="utf-8")
    (demo / "manifest.json").write_text("{}", encoding="utf-8")
    r = projet.make("-n", "demo", "EPCI=200067205")
    assert "scripts/build_demo_mirror.py data/mirror/demo --sans-shared --epci 200067205" in r.stdout, r.stderr
    projet.age()                                           # as if the mirror had been built then
    (demo / ".etape-miroir").touch()
    (demo / "observatoire.toml").touch()
    r = projet.make("-n", "demo", "EPCI=200067205")
    assert "build_demo_mirror" not in r.stdout            # same arguments: mirror kept
    r = projet.make("-n", "demo", "DEPARTEMENT=59")
    assert "build_demo_mirror.py data/mirror/demo --sans-shared --departement 59" in r.stdout
    r = projet.make("-n", "demo", "COMMUNES=59606,59014")
    assert "--communes 59606,59014" in r.stdout


def test_clean_removes_outputs_stamps_and_partial_files(fait):
    (fait.root / "notes" / ".QN1.md.abc.tmp").write_text("partiel", encoding="utf-8")
    (fait.root / "data" / "raw" / "x.csv.part").write_text("partiel", encoding="utf-8")
    assert fait.make("clean").returncode == 0
    for d in ("data/raw", "data/processed", "maps", "portraits"):
        assert [p.name for p in (fait.root / d).iterdir()] == ["README.md"], d
    assert not list(fait.root.rglob("*.tmp")) and not list(fait.root.rglob("*.part"))
    assert fait.make().returncode == 0 and fait.calls() == FULL
