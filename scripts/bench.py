#!/usr/bin/env python3
"""Bancs d'essai de bout en bout (``make bench``), hors ligne.

    python scripts/bench.py [--rapide] [--repetitions N] [--seulement B1,B3,…] [--profil]
                            [--dossier bench] [--regenerer] [--cartes-france] [--strict]

Mesures (médiane de plusieurs exécutions ; temps mural ET temps CPU, processus enfants compris ;
charge de la machine au début et à la fin ; date ; commit) :

- B1  démonstration depuis les fichiers bruts en cache : build, cartes, portraits HTML, portraits
      HTML + PDF (objectif : build + cartes + HTML ≤ 20 s) ;
- B2  « make demo » sans rien à refaire (objectif ≤ 1 s), dans une copie du projet ;
- B3  le département du Nord (``build_demo_mirror.py --departement 59`` : fichiers réels là où
      ../shared les a ; sans ../shared, un département simulé de même taille), pipeline complet sans
      PDF (objectif ≤ 90 s) ;
- B4  une France simulée (≈ 48 000 IRIS, 1 600 quartiers, tout le catalogue) : build ≤ 3 min,
      portraits HTML de tous les quartiers ≤ 10 min ;
- B5  pic de mémoire de B4 (≤ 4 Go) ;
- B6  « make test » (≤ 5 min) et le sous-ensemble rapide (≤ 1 min) ;
- la comparaison avec tobler de ``scripts/bench_spatial.py`` et les tailles de cartes de
  ``scripts/bench_maps.py``.

Chaque commande est lancée par la ligne de commande publique (``python -m observatoire …``, ``make``)
dans ``bench/`` (ignoré par git), et mesurée par ``os.wait4`` : temps CPU utilisateur + système du
processus et de ses enfants attendus (Chromium compris), pic de mémoire résidente. Le tableau est
affiché en français et écrit dans ``docs/benchmarks.md`` (sous l'introduction écrite à la main),
les mesures brutes dans ``bench/resultats.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import pstats
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tomli_w

from observatoire.fr import format_nombre

PROJET = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
MARQUE = "<!-- Mesures écrites par scripts/bench.py : ne pas modifier à la main en dessous de cette ligne. -->"
TOUTES = ("B1", "B2", "B3", "B4", "B5", "B6", "tobler", "cartes")


# ---------------------------------------------------------------------------------------------------
# Measuring one command
# ---------------------------------------------------------------------------------------------------

@dataclass
class Execution:
    """One run of one command."""

    mur_s: float
    cpu_s: float
    rss_max_mo: float
    charge_debut: float
    charge_fin: float
    date: str
    code: int
    journal: str = ""


def _charge() -> float:
    return os.getloadavg()[0]


def lancer(cmd: list[str], journal: Path, cwd: Path = PROJET, env: dict | None = None,
           delai_max: float | None = None) -> Execution:
    """Run ``cmd`` (output to ``journal``) and measure it: wall time, CPU time (user + system of the
    process and of the children it waited for), peak resident memory (the largest of them), load.

    The command runs in its own process group; past ``delai_max`` seconds that group is stopped and
    the run is recorded with code 124.
    """
    journal.parent.mkdir(parents=True, exist_ok=True)
    e = dict(os.environ, **(env or {}))
    date = dt.datetime.now().astimezone().replace(microsecond=0).isoformat()
    charge0 = _charge()
    with open(journal, "ab") as log:
        log.write(f"\n$ {' '.join(map(str, cmd))}   # {date}, dossier {cwd}\n".encode())
        log.flush()
        t0 = time.perf_counter()
        p = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=e, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if delai_max is not None and time.perf_counter() - t0 > delai_max:
                os.killpg(p.pid, signal.SIGTERM)
                pid, status, ru = os.wait4(p.pid, 0)
                status = 124 << 8
                break
            time.sleep(0.02)
        mur = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status) if status != 124 << 8 else 124
    p.returncode = code  # reaped by wait4: tell Popen
    return Execution(mur, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, charge0, _charge(), date, code,
                     str(journal.relative_to(PROJET)) if journal.is_relative_to(PROJET) else str(journal))


@dataclass
class Mesure:
    """A measure: its runs, its goal (seconds, or MB for memory) and how it reads."""

    id: str
    libelle: str
    objectif: float | None = None
    unite: str = "s"               # « s » (temps) or « Mo » (mémoire)
    executions: list[Execution] = field(default_factory=list)
    note: str = ""
    composee_de: list[str] = field(default_factory=list)   # a sum of other measures (medians)
    extrapolee: bool = False                                # estimated from samples, not run in full
    commit: str = ""                                        # the commit measured
    valeurs: dict = field(default_factory=dict)             # computed medians for sums / peaks

    @property
    def reussies(self) -> list[Execution]:
        return [x for x in self.executions if x.code == 0]

    def mediane(self, attr: str) -> float | None:
        if attr in self.valeurs:
            return self.valeurs[attr]
        xs = [getattr(x, attr) for x in self.reussies]
        return statistics.median(xs) if xs else None

    @property
    def echec(self) -> str:
        bad = [x for x in self.executions if x.code != 0]
        if not bad or self.reussies:
            return ""
        return f"échec (code {bad[-1].code}, voir {bad[-1].journal})"

    def verdict(self) -> str:
        if self.echec:
            return "ÉCHEC"
        v = self.mediane("rss_max_mo") if self.unite == "Mo" else self.mediane("mur_s")
        if self.objectif is None or v is None:
            return "—"
        return "atteint" if v <= self.objectif else "dépassé"


def n(x, d=1) -> str:
    return "—" if x is None else format_nombre(x, d)


def _duree(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 60:
        return f"{format_nombre(s, 1 if s >= 1 else 2)} s"
    if s >= 3600:
        h, m = divmod(int(round(s / 60)), 60)
        return f"{h} h {m:02d} min"
    m, r = divmod(int(round(s)), 60)
    return f"{m} min {r:02d} s"


def _objectif(m: Mesure) -> str:
    if m.objectif is None:
        return "—"
    if m.unite == "Mo":
        return f"≤ {format_nombre(m.objectif / 1024, 0)} Go"
    return f"≤ {_duree(m.objectif)}"


# ---------------------------------------------------------------------------------------------------
# The bench workspace
# ---------------------------------------------------------------------------------------------------

class Banc:
    """The benchmark run: options, workspace, measures."""

    def __init__(self, a):
        self.a = a
        self.dossier = (PROJET / a.dossier).resolve() if not Path(a.dossier).is_absolute() else Path(a.dossier)
        self.journaux = self.dossier / "journaux"
        self.mesures: dict[str, Mesure] = {}
        self.extraits: dict[str, str] = {}
        self.profils: dict[str, str] = {}
        self.reps = a.repetitions or (1 if a.rapide else 3)
        self.commit = _commit()
        self.shared = self._shared()

    # -- helpers ------------------------------------------------------------------------------------
    def _shared(self) -> Path | None:
        if self.a.sans_shared:
            return None
        p = PROJET.parent / "shared" / "data"
        return p if (p / "real").is_dir() else None

    def veut(self, ident: str) -> bool:
        return not self.a.seulement or ident in self.a.seulement

    def mesure(self, ident: str, libelle: str, objectif: float | None = None, unite: str = "s", note: str = "") -> Mesure:
        m = self.mesures.get(ident) or Mesure(ident, libelle, objectif, unite, note=note, commit=self.commit)
        self.mesures[ident] = m
        return m

    def run(self, m: Mesure, cmd: list, nom: str, repetitions: int = 1, cwd: Path = PROJET, env: dict | None = None,
            avant=None) -> bool:
        """Run ``cmd`` ``repetitions`` times into measure ``m``; ``avant()`` before each run (not timed).
        Stops at the first failure. Returns True when every run succeeded."""
        for i in range(repetitions):
            if avant:
                avant()
            x = lancer(cmd, self.journaux / f"{nom}.log", cwd=cwd, env=env, delai_max=self.a.delai_max)
            m.executions.append(x)
            etat = "" if x.code == 0 else f"  ÉCHEC code {x.code} (journal {x.journal})"
            print(f"  {m.id:<12} {i + 1}/{repetitions}  {_duree(x.mur_s):>12} mur  {_duree(x.cpu_s):>12} CPU  "
                  f"{n(x.rss_max_mo, 0):>7} Mo  charge {n(x.charge_debut, 1)} → {n(x.charge_fin, 1)}{etat}", flush=True)
            if x.code != 0:
                return False
        return True

    def somme(self, ident: str, libelle: str, parties: list[str], objectif: float | None, note: str = "") -> Mesure:
        """A measure that is the sum of the medians of ``parties`` (wall and CPU), loads of its parts."""
        m = self.mesure(ident, libelle, objectif, note=note)
        ps = [self.mesures[p] for p in parties if p in self.mesures]
        m.composee_de = parties
        if len(ps) == len(parties) and all(p.reussies for p in ps):
            m.valeurs = {"mur_s": sum(p.mediane("mur_s") for p in ps), "cpu_s": sum(p.mediane("cpu_s") for p in ps),
                         "rss_max_mo": max(p.mediane("rss_max_mo") for p in ps),
                         "charge_debut": ps[0].mediane("charge_debut"), "charge_fin": ps[-1].mediane("charge_fin")}
        else:
            m.note = (m.note + " ; " if m.note else "") + "une partie a échoué ou n'a pas été mesurée"
        return m

    def obs(self, *args) -> list:
        return [PYTHON, "-m", "observatoire", *args]

    # -- mirrors --------------------------------------------------------------------------------------
    def empreinte(self, parametres: dict) -> str:
        """What a mirror depends on: its parameters and the code that writes it."""
        h = hashlib.sha256(json.dumps(parametres, sort_keys=True).encode())
        for p in sorted((PROJET / "observatoire" / "demo").glob("*.py")) + sorted((PROJET / "scripts").glob("*mirror*.py")) \
                + sorted((PROJET / "scripts").glob("simuler_*.py")):
            h.update(p.read_bytes())
        return h.hexdigest()[:16]

    def miroir(self, ident: str, dest: Path, cmd: list, parametres: dict) -> bool:
        """Build a mirror with ``cmd`` unless ``dest`` already holds one for the same parameters and code
        (``--regenerer`` forces it). Its time is recorded as a preparation measure."""
        tampon = dest / ".banc.json"
        emp = self.empreinte(parametres)
        if not self.a.regenerer and tampon.exists() and json.loads(tampon.read_text()).get("empreinte") == emp \
                and (dest / "manifest.json").exists():
            print(f"  {ident:<12} miroir réutilisé : {dest}")
            return True
        m = self.mesure(ident, f"préparation : miroir {dest.relative_to(self.dossier)}", note="hors objectif")
        ok = self.run(m, cmd, ident.replace(".", "_"))
        if ok:
            tampon.write_text(json.dumps({"empreinte": emp, "parametres": parametres}))
        return ok

    def config_banc(self, miroir: Path, sorties: Path) -> Path:
        """The mirror's configuration with its outputs under ``sorties`` (written next to it, so that its
        other relative paths — notes, partner tables — still hold)."""
        data = tomllib.loads((miroir / "observatoire.toml").read_text(encoding="utf-8"))
        chemins = dict(data.get("chemins") or {})
        chemins.update({"raw": str(sorties / "raw"), "processed": str(sorties / "processed"),
                        "cartes": str(sorties / "maps"), "portraits": str(sorties / "portraits")})
        chemins.pop("miroir", None)
        data["chemins"] = chemins
        out = miroir / "observatoire-banc.toml"
        out.write_text("# Configuration du banc d'essai (scripts/bench.py)\n" + tomli_w.dumps(data), encoding="utf-8")
        return out

    def profil(self, ident: str, cfg: Path, miroir: Path) -> None:
        """One build under cProfile: the costliest functions (own time and cumulated time)."""
        prof = self.dossier / "profils" / f"{ident}.prof"
        prof.parent.mkdir(parents=True, exist_ok=True)
        m = self.mesure(f"{ident}.profil", f"{ident} : build sous cProfile (une fois)", note="hors objectif")
        if not self.run(m, [PYTHON, "-m", "cProfile", "-o", prof, "-m", "observatoire", "build", "--config", cfg,
                            "--mirror", miroir], f"{ident}_profil"):
            return
        self.profils[ident] = texte_profil(prof)

    # -- B1 -------------------------------------------------------------------------------------------
    def b1(self) -> None:
        print("\nB1 — démonstration depuis les fichiers bruts en cache")
        base = self.dossier / "demo"
        miroir = base / "miroir"
        cmd = [PYTHON, "scripts/build_demo_mirror.py", miroir] + (["--shared", self.shared] if self.shared else ["--sans-shared"])
        if not self.miroir("B1.miroir", miroir, cmd, {"shared": str(self.shared)}):
            return
        cfg = self.config_banc(miroir, base / "sorties")
        opts = ["--config", cfg, "--mirror", miroir]
        if not self.run(self.mesure("B1.fetch", "B1 : copie du miroir dans les fichiers bruts", note="hors objectif"),
                        self.obs("fetch", *opts), "B1_fetch"):
            return
        r = self.reps
        ok = self.run(self.mesure("B1.build", "B1 : build"), self.obs("build", *opts), "B1_build", r)
        ok = ok and self.run(self.mesure("B1.cartes", "B1 : cartes"), self.obs("maps", *opts), "B1_cartes", r)
        ok = ok and self.run(self.mesure("B1.html", "B1 : portraits HTML (quartiers 2024, 2015, zones)"),
                             self.html_toutes(opts), "B1_html", r)
        self.somme("B1", "B1 : démonstration, build + cartes + portraits HTML", ["B1.build", "B1.cartes", "B1.html"], 20)
        if ok:
            self.run(self.mesure("B1.pdf", "B1 : portraits HTML + PDF", note="PDF seuls ≈ cette ligne − portraits HTML"),
                     self.obs("portraits", *opts), "B1_pdf", r)
        self.cartes_demo = base / "sorties" / "maps"

    def html_toutes(self, opts) -> list[str]:
        """The HTML sheets of every geography make builds: quartiers 2024, 2015 and the watch zones."""
        return ["bash", "-c", " && ".join(shlex.join([str(x) for x in self.obs("portraits", "--sans-pdf", "--geographie",
                                                                                g, *opts)])
                                          for g in ("2024", "2015", "zones"))]

    # -- B2 -------------------------------------------------------------------------------------------
    def copie_projet(self, dest: Path) -> None:
        """The project's files (tracked and untracked, not ignored) copied with their dates, the
        virtual environment linked: make sees the same dependencies as in the project."""
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=PROJET,
                             capture_output=True, check=True).stdout.decode().split("\0")
        for rel in filter(None, out):
            src = PROJET / rel
            if src.is_file() and not src.is_relative_to(self.dossier):
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / rel, follow_symlinks=False)
        (dest / ".venv").symlink_to(PROJET / ".venv")
        # the copy's own « installed » stamp, newer than its pyproject.toml: make must not reinstall the
        # package into the linked environment (it would point the project's editable install at the copy)
        (dest / ".installe-banc").touch()
        # « ../shared » of the copy (partner tables named by observatoire.toml) is the project's
        voisin = dest.parent / "shared"
        if (PROJET.parent / "shared").is_dir() and not voisin.exists():
            voisin.symlink_to(PROJET.parent / "shared")

    def b2(self) -> None:
        print("\nB2 — « make demo » sans rien à refaire (copie du projet)")
        copie = self.dossier / "make" / "projet"
        self.copie_projet(copie)
        shared = ["SHARED=" + str(self.shared.parent)] if self.shared else ["SHARED=/nonexistent"]
        shared.append("INSTALLED=.installe-banc")
        m0 = self.mesure("B2.complet", "B2 : « make demo » complet dans la copie (miroir, PDF compris)",
                         note="hors objectif ; prépare la mesure suivante")
        if not self.run(m0, ["make", "--no-print-directory", "demo", *shared], "B2_make_demo_complet", cwd=copie):
            return
        self.run(self.mesure("B2", "B2 : « make demo » sans rien à refaire", 1), ["make", "--no-print-directory", "demo",
                                                                                    *shared],
                 "B2_make_demo_noop", max(3, self.reps), cwd=copie)
        if not self.a.garder:
            shutil.rmtree(copie, ignore_errors=True)

    # -- B3 -------------------------------------------------------------------------------------------
    def b3(self) -> None:
        base = self.dossier / "nord"
        miroir = base / "miroir"
        if self.shared:
            print("\nB3 — département du Nord (fichiers réels de ../shared là où ils existent, simulés ailleurs)")
            cmd = [PYTHON, "scripts/build_demo_mirror.py", miroir, "--departement", "59", "--shared", self.shared]
            par = {"departement": "59", "shared": str(self.shared)}
            self.b3_note = "Nord (59) : fichiers réels de ../shared là où ils existent, simulés ailleurs"
        else:
            print("\nB3 — département simulé de la taille du Nord (../shared absent)")
            cmd = [PYTHON, "scripts/simuler_grand_territoire.py", miroir, "--iris", "1500", "--quartiers", "91",
                   "--communes", "648", "--sorties", base / "sorties"]
            par = {"iris": 1500, "quartiers": 91, "communes": 648}
            self.b3_note = "département simulé de la taille du Nord : 648 communes, 1 500 IRIS, 91 quartiers"
        if not self.miroir("B3.miroir", miroir, cmd, par):
            return
        sorties = base / "sorties"
        cfg = self.config_banc(miroir, sorties)
        opts = ["--config", cfg, "--mirror", miroir]

        def propre():
            for d in ("raw", "processed", "maps", "portraits"):
                shutil.rmtree(sorties / d, ignore_errors=True)

        r = self.reps
        ok = True
        for i in range(r):   # the four stages in order, r times (each run starts from an empty output)
            ok = ok and self.run(self.mesure("B3.fetch", "B3 : fetch (copie du miroir)"), self.obs("fetch", *opts),
                                 "B3_fetch", 1, avant=propre)
            ok = ok and self.run(self.mesure("B3.build", "B3 : build"), self.obs("build", *opts), "B3_build")
            ok = ok and self.run(self.mesure("B3.cartes", "B3 : cartes"), self.obs("maps", *opts), "B3_cartes")
            ok = ok and self.run(self.mesure("B3.html", "B3 : portraits HTML (quartiers 2024, 2015, zones)"),
                                 self.html_toutes(opts), "B3_html")
        self.somme("B3", "B3 : Nord, pipeline complet sans PDF (fetch + build + cartes + HTML)",
                   ["B3.fetch", "B3.build", "B3.cartes", "B3.html"], 90, note=self.b3_note)
        if ok and self.a.profil:
            self.profil("B3", cfg, miroir)

    # -- B4, B5 ---------------------------------------------------------------------------------------
    def b4(self) -> None:
        n_iris, n_q = (12_000, 400) if self.a.rapide else (48_000, 1_600)
        n_iris, n_q = self.a.france_iris or n_iris, self.a.france_quartiers or n_q
        reduit = (n_iris, n_q) != (48_000, 1_600)
        print(f"\nB4 — France simulée ({format_nombre(n_iris)} IRIS, {format_nombre(n_q)} quartiers)")
        base = self.dossier / ("france" if not reduit else f"france-{n_iris}-{n_q}")
        miroir = base / "miroir"
        sorties = base / "sorties"
        cmd = [PYTHON, "scripts/simuler_grand_territoire.py", miroir, "--iris", n_iris, "--quartiers", n_q,
               "--sorties", sorties]
        if not self.miroir("B4.miroir", miroir, cmd, {"iris": n_iris, "quartiers": n_q}):
            return
        cfg = self.config_banc(miroir, sorties)
        opts = ["--config", cfg, "--mirror", miroir]
        taille = f"{format_nombre(n_iris)} IRIS, {format_nombre(n_q)} quartiers"
        note = f"{taille} ; taille réduite : objectif non applicable" if reduit else taille
        if not self.run(self.mesure("B4.fetch", "B4 : fetch (copie du miroir)", note="hors objectif"),
                        self.obs("fetch", *opts), "B4_fetch"):
            return
        r = 1 if self.a.rapide else (self.a.repetitions_france or self.reps)
        ok = self.run(self.mesure("B4.build", "B4 : France simulée, build", None if reduit else 180, note=note),
                      self.obs("build", *opts), "B4_build", r)
        if ok:
            ok = self.portraits_france(opts, sorties / "processed" / "observatoire.gpkg", r, None if reduit else 600,
                                       note)
        if ok and self.a.cartes_france:
            self.run(self.mesure("B4.cartes", "B4 : France simulée, cartes", note=note + " ; sans objectif"),
                     self.obs("maps", *opts), "B4_cartes")
        parts = [self.mesures[k] for k in ("B4.build", "B4.html.2", "B4.html.6", "B4.html", "B4.cartes")
                 if k in self.mesures]
        pics = [x.rss_max_mo for p in parts for x in p.reussies]
        m5 = self.mesure("B5", "B5 : pic de mémoire de B4 (le plus grand des processus mesurés)",
                         None if reduit else 4096, unite="Mo",
                         note=note + ("" if "B4.html" not in self.mesures or not self.mesures["B4.html"].extrapolee
                                      else " ; portraits mesurés sur un échantillon"))
        if pics:
            m5.valeurs = {"rss_max_mo": max(pics), "mur_s": None, "cpu_s": None,
                          "charge_debut": parts[0].mediane("charge_debut"), "charge_fin": parts[-1].mediane("charge_fin")}
            m5.executions = [x for p in parts for x in p.executions]
        if ok and self.a.profil:
            self.profil("B4", cfg, miroir)

    def portraits_france(self, opts: list, gpkg: Path, r: int, objectif: float | None, note: str) -> bool:
        """Portraits HTML of every quartier: first two samples (``k1`` and ``k2`` sheets, ``--quartier``)
        give the fixed cost and the cost per sheet; the full run is timed when the extrapolation stays
        under ``--limite-portraits``, else the extrapolation is the measure (said so)."""
        import pyogrio

        codes = sorted(pyogrio.read_dataframe(gpkg, layer="qpv_2024", read_geometry=False, columns=["code_qp"])["code_qp"])
        m = self.mesure("B4.html", "B4 : France simulée, portraits HTML de tous les quartiers", objectif, note=note)
        k1, k2 = min(2, len(codes)), min(6, len(codes))
        ech = {}
        for k in sorted({k1, k2}):
            me = self.mesure(f"B4.html.{k}", f"B4 : portraits HTML de {k} quartiers (échantillon)", note="hors objectif")
            sel = [a for c in codes[:k] for a in ("--quartier", c)]
            if not self.run(me, self.obs("portraits", "--sans-pdf", *sel, *opts), f"B4_html_{k}"):
                return False
            ech[k] = me.executions[-1]
        if k2 > k1:
            par = {a: max(0.0, (getattr(ech[k2], a) - getattr(ech[k1], a)) / (k2 - k1)) for a in ("mur_s", "cpu_s")}
        else:
            par = {a: getattr(ech[k1], a) / max(1, k1) for a in ("mur_s", "cpu_s")}
        fixe = {a: max(0.0, getattr(ech[k1], a) - k1 * par[a]) for a in ("mur_s", "cpu_s")}
        estime = {a: fixe[a] + len(codes) * par[a] for a in ("mur_s", "cpu_s")}
        texte = (f"extrapolé de {k1} et {k2} fiches : {_duree(fixe['mur_s'])} fixes + {_duree(par['mur_s'])} par fiche × "
                 f"{format_nombre(len(codes))} quartiers (CPU {_duree(fixe['cpu_s'])} + {_duree(par['cpu_s'])} par fiche)")
        print(f"  B4.html      {texte} ≈ {_duree(estime['mur_s'])}")
        if estime["mur_s"] <= self.a.limite_portraits:
            return self.run(m, self.obs("portraits", "--sans-pdf", *opts), "B4_html", r)
        m.valeurs = {**estime, "rss_max_mo": max(x.rss_max_mo for x in ech.values()),
                     "charge_debut": ech[k1].charge_debut, "charge_fin": ech[k2].charge_fin}
        m.extrapolee = True
        m.note = (note + " ; " if note else "") + texte + (f" ; série complète non lancée (estimation au-delà de "
                                                          f"--limite-portraits {_duree(self.a.limite_portraits)})")
        return True

    # -- B6 -------------------------------------------------------------------------------------------
    def b6(self) -> None:
        print("\nB6 — tests")
        make = (PROJET / "Makefile").read_text(encoding="utf-8")
        if re.search(r"^test-rapide\s*:", make, re.M):
            rapide = ["make", "--no-print-directory", "test-rapide"]
            libelle = "B6 : sous-ensemble rapide (make test-rapide)"
        else:
            rapide = [str(PROJET / ".venv" / "bin" / "python"), "-m", "pytest", "-q", "-m", "not browser and not slow"]
            libelle = "B6 : sous-ensemble rapide (pytest -m \"not browser and not slow\")"
        r = self.a.repetitions_tests or 1
        note = "les tests en échec comptent (le code de sortie est noté), l'environnement est déjà installé"
        self.run(self.mesure("B6.rapide", libelle, 60, note=note), rapide, "B6_rapide", r)
        if not self.a.rapide:
            self.run(self.mesure("B6.complet", "B6 : make test (suite complète)", 300, note=note),
                     ["make", "--no-print-directory", "test"], "B6_complet", r)
        for k in ("B6.rapide", "B6.complet"):   # failing tests are a result, not a failed measure
            m = self.mesures.get(k)
            if m is None or not m.executions:
                continue
            resume = resume_pytest(PROJET / m.executions[-1].journal)
            if resume:
                m.note += f" ; pytest : {resume}"
                for x in m.executions:
                    if x.code in (1, 2):   # 1: pytest, tests failed; 2: make, its recipe failed
                        x.code = 0

    # -- tobler, maps ---------------------------------------------------------------------------------
    def tobler(self) -> None:
        print("\nComparaison avec tobler (scripts/bench_spatial.py)")
        m = self.mesure("tobler", "scripts/bench_spatial.py" + (" --rapide" if self.a.rapide else ""),
                        note="estimation contre vérité terrain simulée, tobler à l'échelle agglomération et France")
        cmd = [PYTHON, "scripts/bench_spatial.py"] + (["--rapide"] if self.a.rapide else [])
        self.run(m, cmd, "tobler")
        if m.executions and m.executions[-1].code in (0, 1):
            m.executions[-1].code = 0   # 1: an acceptance criterion of the script is not met (shown below)
            self.extraits["tobler"] = extrait_bench_spatial(PROJET / m.executions[-1].journal)

    def cartes(self) -> None:
        dossier = getattr(self, "cartes_demo", self.dossier / "demo" / "sorties" / "maps")
        print("\nTailles des cartes (scripts/bench_maps.py)")
        m = self.mesure("cartes", f"scripts/bench_maps.py {dossier.relative_to(PROJET)}", note="Fisher-Jenks, tailles")
        self.run(m, [PYTHON, "scripts/bench_maps.py", dossier], "cartes")
        if m.executions:
            if m.executions[-1].code == 1:
                m.executions[-1].code = 0   # 1: a size budget is exceeded (shown below)
            self.extraits["cartes"] = dernier_bloc(PROJET / m.executions[-1].journal)


# ---------------------------------------------------------------------------------------------------
# Reading the outputs of the kept scripts and of cProfile
# ---------------------------------------------------------------------------------------------------

def dernier_bloc(journal: Path) -> str:
    """The output of the last command of a log."""
    text = journal.read_text(encoding="utf-8", errors="replace")
    return text[text.rfind("\n$ ") + 1:].split("\n", 1)[1].strip() if "\n$ " in text else text.strip()


def resume_pytest(journal: Path) -> str:
    """Pytest's closing line of the last command of a log (« 3 failed, 250 passed … in 98.70s »), or ''."""
    lignes = [ln.strip().strip("=").strip() for ln in dernier_bloc(journal).splitlines()]
    fin = [ln for ln in lignes if re.search(r"\b\d+ (passed|failed|errors?)\b.* in [\d.]+s", ln)]
    return fin[-1] if fin else ""


def extrait_bench_spatial(journal: Path) -> str:
    """The tobler comparisons and the acceptance criteria of ``bench_spatial.py``."""
    text = dernier_bloc(journal)
    keep = []
    for part in ("2. Comparaison avec tobler", "3. Échelle France", "Critères d'acceptation"):
        i = text.find(part)
        if i >= 0:
            j = min([k for k in (text.find(p, i + len(part)) for p in ("\n1. ", "\n2. ", "\n3. ", "\nCritères"))
                     if k > 0] or [len(text)])
            keep.append(text[i:j].strip())
    return "\n\n".join(keep) or text[-3000:]


def texte_profil(prof: Path, n: int = 12) -> str:
    """The ``n`` costliest functions of a cProfile file by own time (all), and the project's own
    functions by cumulated time (where the stages spend it)."""
    st = pstats.Stats(str(prof))
    total = st.total_tt
    rows = []
    for (fichier, ligne, fonction), (cc, nc, tt, ct, _) in st.stats.items():
        rows.append((tt, ct, nc, _nom_fonction(fichier, ligne, fonction), fichier.replace("\\", "/")))

    def table(lignes, key: int, titre: str) -> str:
        out = [f"{titre} (total {format_nombre(total, 1)} s sous cProfile) :", "",
               "| fonction | temps propre (s) | temps cumulé (s) | appels |", "|---|---:|---:|---:|"]
        for tt, ct, nc, nom, _ in sorted(lignes, key=lambda r: -r[key])[:n]:
            out.append(f"| `{nom}` | {format_nombre(tt, 1)} | {format_nombre(ct, 1)} | {format_nombre(nc, 0)} |")
        return "\n".join(out)

    projet = [r for r in rows if "/observatoire/" in r[4] and not r[4].endswith(("/cli.py", "/__main__.py"))
              and r[3].split("(")[-1] != "build)"]
    return (table(rows, 0, "Fonctions au plus grand temps propre")
            + "\n\n" + table(projet, 1, "Fonctions du projet au plus grand temps cumulé (hors pipeline.build)"))


def _nom_fonction(fichier: str, ligne: int, fonction: str) -> str:
    if fichier == "~":
        return fonction
    p = fichier.replace("\\", "/")
    for racine in ("/observatoire/", "/site-packages/", "/lib/python3"):
        if racine in p:
            p = p[p.rfind(racine) + 1:]
            break
    return f"{p}:{ligne}({fonction})"


# ---------------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------------

ORDRE = ["B1.miroir", "B1.fetch", "B1.build", "B1.cartes", "B1.html", "B1", "B1.pdf", "B2.complet", "B2",
         "B3.miroir", "B3.fetch", "B3.build", "B3.cartes", "B3.html", "B3", "B3.profil", "B4.miroir", "B4.fetch",
         "B4.build", "B4.html.2", "B4.html.6", "B4.html", "B4.cartes", "B4.profil", "B5", "B6.rapide", "B6.complet", "tobler", "cartes"]


def _commit() -> str:
    try:
        h = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJET, capture_output=True, text=True,
                           check=True).stdout.strip()
        sale = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                               ":!docs/benchmarks.md"], cwd=PROJET, capture_output=True, text=True).stdout.strip()
        branche = subprocess.run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=PROJET, capture_output=True,
                                 text=True).stdout.strip()
        return f"{h} ({branche}{', modifications non validées' if sale else ''})"
    except (OSError, subprocess.CalledProcessError):
        return "inconnu"


def _memoire_go() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        return None
    return None


def entete(debut: str, commit: str, charge: tuple, fin_charge: tuple) -> list[str]:
    return [f"- date : {debut} ; commit : {commit}",
            f"- machine : {os.cpu_count()} cœurs, {n(_memoire_go(), 0)} Go de mémoire, Python "
            f"{platform.python_version()}, {platform.system()} {platform.release()}",
            f"- charge (moyenne 1 / 5 / 15 min) au début : {' / '.join(n(c, 1) for c in charge)} ; à la fin : "
            f"{' / '.join(n(c, 1) for c in fin_charge)}"]


def lignes_tableau(mesures: list[Mesure]) -> list[list[str]]:
    rows = []
    for m in mesures:
        valeur_mem = m.mediane("rss_max_mo")
        nb = "somme" if m.composee_de else ("extrapolé" if m.extrapolee else
                                            (f"{len(m.reussies)}" if m.executions else "—"))
        if m.id == "B5":
            nb = "max"
        rows.append([m.id, m.libelle, _objectif(m), _duree(m.mediane("mur_s")) if m.unite == "s" else "—",
                     _duree(m.mediane("cpu_s")) if m.unite == "s" else "—",
                     f"{n(valeur_mem / 1024, 2)} Go" if valeur_mem else "—",
                     f"{n(m.mediane('charge_debut'), 1)} → {n(m.mediane('charge_fin'), 1)}"
                     if m.mediane("charge_debut") is not None else "—",
                     nb, m.echec or m.verdict(), m.note])
    return rows


ENTETES = ["", "mesure", "objectif", "mur (médiane)", "CPU (médiane)", "pic mémoire", "charge début → fin",
           "exécutions", "verdict", "note"]


def tableau_texte(rows: list[list[str]]) -> str:
    cols = ENTETES[:-1]
    data = [r[:-1] for r in rows]
    w = [max(len(str(x)) for x in [c] + [r[i] for r in data]) for i, c in enumerate(cols)]
    w[1] = min(w[1], 62)
    out = ["  ".join(c.ljust(w[i]) for i, c in enumerate(cols))]
    out.append("  ".join("-" * w[i] for i in range(len(cols))))
    for r in data:
        lib = r[1] if len(r[1]) <= w[1] else r[1][:w[1] - 1] + "…"
        out.append("  ".join((lib if i == 1 else str(x)).ljust(w[i]) for i, x in enumerate(r)))
    return "\n".join(out)


def tableau_markdown(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(ENTETES) + " |", "|" + "---|" * len(ENTETES)]
    for r in rows:
        out.append("| " + " | ".join(str(x).replace("|", "/") for x in r) + " |")
    return "\n".join(out)


def detail_markdown(mesures: list[Mesure]) -> str:
    out = []
    for m in mesures:
        if not m.executions or m.id == "B5":
            continue
        runs = "; ".join(f"{_duree(x.mur_s)} mur / {_duree(x.cpu_s)} CPU / {n(x.rss_max_mo, 0)} Mo / charge "
                         f"{n(x.charge_debut, 1)} → {n(x.charge_fin, 1)}"
                         + ("" if x.code == 0 else f" / code {x.code}") for x in m.executions)
        quand = m.executions[0].date[:16].replace("T", " ") + (f", commit {m.commit.split(' ')[0]}" if m.commit else "")
        out.append(f"- **{m.id}** ({quand}) : {runs}")
    return "\n".join(out)


def ecrire_docs(banc: Banc, rows, debut: str, commit: str, charge0, charge1, duree: float,
                origine: dict | None = None) -> Path:
    doc = PROJET / "docs" / "benchmarks.md"
    intro = doc.read_text(encoding="utf-8").split(MARQUE)[0].rstrip() + "\n\n" if doc.exists() else \
        "# Bancs d'essai\n\n"
    mode = "rapide (--rapide : une exécution, tailles réduites)" if banc.a.rapide else \
        f"complet ({banc.reps} exécutions par mesure, médiane)"
    reprise = ([f"- mesures reprises des bancs précédents (date et commit de chacune dans le détail) : "
                f"{', '.join(origine['reprises'])}"] if origine else [])
    parts = [MARQUE, "", "## Dernières mesures", "", *entete(debut, commit, charge0, charge1),
             f"- mode : {mode} ; durée de ce banc : {_duree(duree)}", *reprise, "", tableau_markdown(rows), "",
             "### Détail des exécutions", "", detail_markdown(list(banc.mesures.values()))]
    for ident, titre in (("B3", "Où va le temps : build du Nord (cProfile)"),
                         ("B4", "Où va le temps : build de la France simulée (cProfile)")):
        if ident in banc.profils:
            parts += ["", f"### {titre}", "", banc.profils[ident]]
    if "tobler" in banc.extraits:
        parts += ["", "### Comparaison avec tobler (sortie de scripts/bench_spatial.py)", "", "```text",
                  banc.extraits["tobler"], "```"]
    if "cartes" in banc.extraits:
        parts += ["", "### Cartes de la démonstration (sortie de scripts/bench_maps.py)", "", "```text",
                  banc.extraits["cartes"], "```"]
    tmp = doc.with_name(doc.name + ".tmp")
    tmp.write_text(intro + "\n".join(parts) + "\n", encoding="utf-8")
    tmp.replace(doc)
    return doc


# ---------------------------------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description="Bancs d'essai de bout en bout (make bench), hors ligne.")
    ap.add_argument("--rapide", action="store_true",
                    help="une exécution par mesure, France réduite (12 000 IRIS, 400 quartiers), sans la suite de "
                         "tests complète, bench_spatial --rapide")
    ap.add_argument("--repetitions", type=int, default=None, help="exécutions par mesure (défaut 3 ; 1 en --rapide)")
    ap.add_argument("--repetitions-france", type=int, default=None, help="exécutions de B4 (défaut : --repetitions)")
    ap.add_argument("--repetitions-tests", type=int, default=None, help="exécutions de B6 (défaut 1)")
    ap.add_argument("--seulement", type=lambda s: [x.strip() for x in s.split(",") if x.strip()], default=None,
                    help=f"mesures à lancer, parmi {', '.join(TOUTES)} (B5 vient avec B4)")
    ap.add_argument("--dossier", default="bench", help="dossier de travail (défaut bench/, ignoré par git)")
    ap.add_argument("--regenerer", action="store_true", help="reconstruire les miroirs même s'ils sont à jour")
    ap.add_argument("--profil", action="store_true", help="profiler un build de B3 et de B4 (cProfile)")
    ap.add_argument("--cartes-france", action="store_true", help="mesurer aussi les cartes de la France simulée")
    ap.add_argument("--france-iris", type=int, default=None, help="taille de la France simulée (IRIS)")
    ap.add_argument("--france-quartiers", type=int, default=None, help="taille de la France simulée (quartiers)")
    ap.add_argument("--sans-shared", action="store_true", help="ignorer ../shared (territoires entièrement simulés)")
    ap.add_argument("--limite-portraits", type=float, default=1800.0,
                    help="B4 : ne lancer tous les portraits que si l'extrapolation reste sous ce nombre de secondes "
                         "(défaut 1 800)")
    ap.add_argument("--delai-max", type=float, default=None, help="arrêter une commande au-delà de ce nombre de secondes")
    ap.add_argument("--garder", action="store_true", help="garder la copie du projet de B2")
    ap.add_argument("--sans-docs", action="store_true",
                    help="afficher seulement : ne réécrire ni docs/benchmarks.md ni bench/resultats.json")
    ap.add_argument("--strict", action="store_true", help="code de sortie 1 si un objectif n'est pas atteint")
    a = ap.parse_args(argv)
    bad = [s for s in (a.seulement or []) if s not in TOUTES]
    if bad:
        ap.error(f"mesure inconnue : {', '.join(bad)} (choix : {', '.join(TOUTES)})")
    return a


def _groupe(ident: str) -> str:
    """The option of ``--seulement`` a measure belongs to (B5 comes with B4)."""
    g = ident.split(".")[0]
    return "B4" if g == "B5" else g


def reprendre(banc: Banc, chemin: Path, refaites: set[str]) -> dict | None:
    """Measures of the previous run (``bench/resultats.json``) for the groups not run this time, so that
    ``--seulement B6`` updates only the B6 rows of the table."""
    if not chemin.exists():
        return None
    try:
        old = json.loads(chemin.read_text(encoding="utf-8"))
        for ident, d in old.get("mesures", {}).items():
            if _groupe(ident) in refaites:
                continue
            execs = [Execution(**x) for x in d.pop("executions", [])]
            banc.mesures[ident] = Mesure(**d, executions=execs)
        banc.profils.update({k: v for k, v in old.get("profils", {}).items() if k not in refaites})
        banc.extraits.update({k: v for k, v in old.get("extraits", {}).items() if k not in refaites})
        for k in ("B3", "B4"):   # the profile files are the reference (the text's layout may have changed)
            prof = banc.dossier / "profils" / f"{k}.prof"
            if k not in refaites and f"{k}.profil" in banc.mesures and prof.exists():
                banc.profils[k] = texte_profil(prof)
        for k, lire in (("tobler", extrait_bench_spatial), ("cartes", dernier_bloc)):
            log = banc.journaux / f"{k}.log"
            if k not in refaites and k not in banc.extraits and k in banc.mesures and log.exists():
                banc.extraits[k] = lire(log)
        return old
    except (ValueError, TypeError, KeyError) as e:
        print(f"Mesures précédentes illisibles ({chemin} : {e}) : seules les nouvelles sont écrites.")
        return None


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    banc = Banc(a)
    banc.dossier.mkdir(parents=True, exist_ok=True)
    debut = dt.datetime.now().astimezone().replace(microsecond=0).isoformat()
    commit = banc.commit
    charge0 = os.getloadavg()
    t0 = time.perf_counter()
    print(f"Bancs d'essai — {debut}, commit {commit}, charge {' / '.join(n(c, 1) for c in charge0)} "
          f"({os.cpu_count()} cœurs) ; journaux dans {banc.journaux}")
    if charge0[0] > (os.cpu_count() or 1):
        print("Attention : la machine est déjà chargée ; les temps muraux seront gonflés (le temps CPU l'est moins).")
    etapes = (("B1", banc.b1), ("B2", banc.b2), ("B3", banc.b3), ("B4", banc.b4), ("B6", banc.b6),
              ("tobler", banc.tobler), ("cartes", banc.cartes))
    lancees = {i for i, _ in etapes if banc.veut(i) or (i == "B4" and banc.veut("B5"))}
    precedent = reprendre(banc, banc.dossier / "resultats.json", lancees) if a.seulement else None
    for ident, etape in etapes:
        if ident in lancees:
            try:
                etape()
            except KeyboardInterrupt:
                print("Interrompu : les mesures déjà faites sont écrites.")
                break
    charge1 = os.getloadavg()
    duree = time.perf_counter() - t0
    mesures = [banc.mesures[k] for k in ORDRE if k in banc.mesures]
    rows = lignes_tableau(mesures)
    print("\nRésultats (médianes ; CPU = utilisateur + système, processus enfants compris)\n")
    print(tableau_texte(rows))
    for m in mesures:
        if m.note and m.id in ("B1", "B3", "B4.build", "B4.html", "B6.rapide", "B6.complet"):
            print(f"  {m.id} : {m.note}")
    reprises = sorted({_groupe(m.id) for m in mesures} - lancees)
    origine = {"reprises": reprises, "date": precedent.get("date"), "commit": precedent.get("commit")} \
        if precedent and reprises else None
    if not a.sans_docs:
        (banc.dossier / "resultats.json").write_text(json.dumps(
            {"date": debut, "commit": commit, "charge_debut": charge0, "charge_fin": charge1, "reprises": origine,
             "mesures": {m.id: asdict(m) for m in mesures}, "profils": banc.profils, "extraits": banc.extraits},
            ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    if not a.sans_docs:
        doc = ecrire_docs(banc, rows, debut, commit, charge0, charge1, duree, origine)
        print(f"\nÉcrit : {doc.relative_to(PROJET)} ; mesures brutes : {(banc.dossier / 'resultats.json')}")
    rates = [m for m in mesures if m.verdict() in ("dépassé", "ÉCHEC")]
    if rates:
        print("Objectifs non atteints ou mesures en échec : " + ", ".join(m.id for m in rates))
    return 1 if (a.strict and rates) or any(m.verdict() == "ÉCHEC" for m in mesures if _groupe(m.id) in lancees) else 0


if __name__ == "__main__":
    sys.exit(main())
