#!/usr/bin/env python3
"""Prerequisites of ``make``, checked before any work, in one French message on standard error.

    python3 scripts/prerequis.py [--installation] [--dossier data] [--espace-min 2] [--chromium absent]

Blocking (exit code 1): Python older than 3.11, ``venv``/``ensurepip`` missing when the environment
must be created (``--installation``), less than ``--espace-min`` GB free on ``--dossier``.
Warning only (exit code 0): Chromium absent (``--chromium absent``): the portraits are written in
HTML, the PDFs come with the next ``make`` once Chromium is installed.
Silent when everything is there.

This file runs with the system's Python before the project's environment exists: it uses the
standard library only and a syntax old Pythons can still read, so that it can say which version
is needed instead of failing on a syntax error.
"""

import argparse
import os
import shutil
import sys

VERSION_MIN = (3, 11)


def _python():
    if sys.version_info[:2] >= VERSION_MIN:
        return None
    courante = "{}.{}".format(*sys.version_info[:2])
    return ("Python {}.{} ou plus récent est nécessaire (trouvé : Python {} pour « {} ») : sudo apt-get install python3.11 "
            "python3.11-venv, puis make PYTHON=python3.11".format(VERSION_MIN[0], VERSION_MIN[1], courante,
                                                                  sys.executable))


def _venv():
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        v = "{}.{}".format(*sys.version_info[:2])
        return ("module venv de Python (pour créer .venv/) : sudo apt-get install python3-venv "
                "(ou python{}-venv)".format(v))
    return None


def _espace(dossier, minimum_go):
    chemin = dossier
    while chemin and not os.path.exists(chemin):
        chemin = os.path.dirname(chemin)
    libre = shutil.disk_usage(chemin or ".").free / 1e9
    if libre >= minimum_go:
        return None
    return ("espace disque : {} Go libres sur « {} », il en faut au moins {} (données officielles et "
            "sorties) : libérez de la place, ou make ESPACE_MIN_GO=1 pour un petit territoire"
            .format(_nombre(libre), os.path.abspath(dossier), _nombre(minimum_go)))


def _nombre(x):
    """« 1,5 » (French decimal comma), « 2 » for a whole number."""
    return ("{:.1f}".format(x) if x != int(x) else str(int(x))).replace(".", ",")


def _pdf_voulus(config):
    """False when the configuration says ``[portraits] pdf = false`` (unreadable: True)."""
    try:
        import tomllib
        with open(config, "rb") as f:
            return tomllib.load(f).get("portraits", {}).get("pdf", True) is not False
    except Exception:  # noqa: BLE001 - old Python, missing or invalid file: the pipeline says why later
        return True


def main(argv=None):
    ap = argparse.ArgumentParser(description="Vérifie les prérequis de make (message en français).")
    ap.add_argument("--installation", action="store_true", help="l'environnement .venv/ est à créer")
    ap.add_argument("--dossier", default="data", help="dossier des données (espace disque)")
    ap.add_argument("--espace-min", type=float, default=2.0, help="espace libre minimal en Go")
    ap.add_argument("--chromium", choices=["present", "absent"], default="present",
                    help="absent : avertir que les PDF ne seront pas produits")
    ap.add_argument("--config", default=None, help="configuration ([portraits] pdf = false : pas d'avertissement)")
    a = ap.parse_args(argv)

    manque = [m for m in (_python(), _venv() if a.installation else None, _espace(a.dossier, a.espace_min)) if m]
    avertir = a.chromium == "absent" and _pdf_voulus(a.config)
    if not manque and not avertir:
        return 0
    lignes = []
    if manque:
        lignes.append("Prérequis manquants, à régler avant de relancer make :")
        lignes += ["  • " + m for m in manque]
    if avertir:
        lignes.append(("  • (facultatif) Chromium" if manque else "Attention : Chromium est absent")
                      + " : les portraits seront écrits en HTML, sans PDF. Pour les PDF : sudo apt-get install "
                      "chromium (ou OBSERVATOIRE_CHROMIUM=/chemin/vers/chromium), puis relancez make : seuls "
                      "les PDF seront faits.")
    sys.stderr.write("\n".join(lignes) + "\n")
    return 1 if manque else 0


if __name__ == "__main__":
    sys.exit(main())
