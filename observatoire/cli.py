"""The ``observatoire`` command: one small function per subcommand.

    observatoire fetch        télécharge les fichiers officiels (ou les copie d'un miroir)
    observatoire build        construit le GeoPackage et la table des indicateurs
    observatoire maps         écrit les cartes HTML autonomes
    observatoire portraits    écrit les portraits de quartier (HTML et PDF)
    observatoire all          enchaîne les quatre étapes
    observatoire sources      liste les sources, leur millésime, leur présence, réel ou simulé
    observatoire indicateurs  liste le catalogue des indicateurs

User errors (:class:`observatoire.errors.ObservatoireError`) are printed without a traceback and give
a non-zero exit code; ``--debug`` shows the traceback of unexpected errors.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .config import load_config
from .errors import ObservatoireError
from .fr import format_nombre

console = Console(stderr=True, highlight=False)
# piped or redirected output (files, CI logs) gets wide tables rather than 80-column wrapping
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def _config(args):
    cfg = load_config(args.config)
    return cfg.with_mirror(args.mirror)


def _step(title: str):
    console.print(f"[bold]▶ {title}[/bold]")
    return time.perf_counter()


def _done(t0: float, what: str):
    console.print(f"  {what} ({format_nombre(time.perf_counter() - t0, 1)} s)")


def cmd_fetch(args) -> int:
    from .sources.fetch import fetch

    cfg = _config(args)
    t0 = _step("Récupération des fichiers officiels")
    files = fetch(cfg, force=args.force)
    _done(t0, f"{len(files)} fichier(s) prêts dans {cfg.paths.raw}")
    return 0


def cmd_build(args) -> int:
    from .pipeline import build

    cfg = _config(args)
    t0 = _step("Construction des données (territoire, correspondances, indicateurs)")
    gpkg = build(cfg)
    _done(t0, f"écrit : {gpkg}, {cfg.paths.indicateurs_csv.name}, {cfg.paths.indicateurs_xlsx.name}")
    return 0


def cmd_maps(args) -> int:
    try:
        from .maps.build import build_maps
    except ImportError:
        console.print("L'étape « cartes » n'est pas encore disponible dans cette version.")
        return 0
    cfg = _config(args)
    t0 = _step("Cartes")
    paths = build_maps(cfg)
    _done(t0, f"{len(paths)} carte(s) dans {cfg.paths.maps}")
    return 0


def cmd_portraits(args) -> int:
    try:
        from .portraits.render import build_portraits
    except ImportError:
        console.print("L'étape « portraits » n'est pas encore disponible dans cette version.")
        return 0
    cfg = _config(args)
    pdf = cfg.section("portraits").get("pdf", True) and not getattr(args, "sans_pdf", False)
    t0 = _step("Portraits de quartier")
    paths = build_portraits(cfg, pdf=pdf, quartiers=getattr(args, "quartier", None) or None,
                            geographie=getattr(args, "geographie", "2024"))
    _done(t0, f"{len(paths)} fichier(s) dans {cfg.paths.portraits}")
    return 0


def cmd_all(args) -> int:
    for f in (cmd_fetch, cmd_build, cmd_maps, cmd_portraits):
        code = f(args)
        if code:
            return code
    return 0


def cmd_sources(args) -> int:
    from .status import status_rows

    cfg = _config(args)
    rows = status_rows(cfg)
    for spec in cfg.partenaires:  # analysts' tables declared in [[partenaires]]
        present = Path(spec["fichier"]).exists()
        rows.append({"id": spec["id"], "producteur": "partenaire", "titre": spec.get("libelle", spec["fichier"]),
                     "millesime": "", "present": "oui" if present else "non", "nature": "réel" if present else "—",
                     "statut_format": spec.get("preset", "table partenaire")})
    table = Table(title="Sources officielles", show_lines=False)
    cols = ["id", "producteur", "titre", "millesime", "present", "nature", "statut_format"]
    heads = ["Source", "Producteur", "Titre", "Millésime", "Présent", "Réel / simulé", "Format"]
    for h in heads:
        table.add_column(h, overflow="fold", no_wrap=h in ("Source", "Millésime", "Présent"))
    for r in rows:
        table.add_row(*[escape(str(r.get(c, ""))) for c in cols])
    out.print(table)
    return 0


def cmd_indicateurs(args) -> int:
    from .catalogue import THEMES, load_catalogue

    cat = load_catalogue(args.catalogue)
    table = Table(title=f"Catalogue : {len(cat)} indicateurs")
    for h in ("Identifiant", "Libellé", "Thème", "Unité", "Source"):
        table.add_column(h, overflow="fold")
    for ind in cat.values():
        table.add_row(*(escape(str(x)) for x in (ind.id, ind.libelle, THEMES.get(ind.theme, ind.theme), ind.unite, ind.source)))
    out.print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=None, help="fichier de configuration (défaut : observatoire.toml)")
    common.add_argument("--mirror", default=None, metavar="DIR",
                        help="dossier miroir remplaçant le réseau (ou variable OBSERVATOIRE_MIRROR)")
    common.add_argument("--debug", action="store_true", help="afficher la trace complète des erreurs inattendues")

    p = argparse.ArgumentParser(prog="observatoire", description="Observatoire des quartiers prioritaires",
                                parents=[common])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMANDE")
    s = sub.add_parser("fetch", parents=[common], help="télécharger les fichiers officiels (ou depuis un miroir)")
    s.add_argument("--force", action="store_true", help="re-télécharger même les fichiers présents")
    s.set_defaults(func=cmd_fetch)
    sub.add_parser("build", parents=[common], help="construire le GeoPackage et les indicateurs").set_defaults(func=cmd_build)
    sub.add_parser("maps", parents=[common], help="écrire les cartes HTML").set_defaults(func=cmd_maps)
    s = sub.add_parser("portraits", parents=[common], help="écrire les portraits HTML et PDF")
    s.add_argument("--sans-pdf", action="store_true", help="ne pas produire les PDF")
    s.add_argument("--quartier", action="append", metavar="CODE", help="seulement ce quartier (répétable)")
    s.add_argument("--geographie", choices=["2024", "2015", "zones"], default="2024",
                   help="quartiers 2024 (défaut), quartiers 2015 ou zones personnalisées")
    s.set_defaults(func=cmd_portraits)
    s = sub.add_parser("all", parents=[common], help="tout : fetch, build, maps, portraits")
    s.add_argument("--force", action="store_true", help="re-télécharger même les fichiers présents")
    s.set_defaults(func=cmd_all)
    sub.add_parser("sources", parents=[common], help="lister les sources et leur état").set_defaults(func=cmd_sources)
    s = sub.add_parser("indicateurs", parents=[common], help="lister le catalogue des indicateurs")
    s.add_argument("--catalogue", default=None, help="autre fichier de catalogue YAML")
    s.set_defaults(func=cmd_indicateurs)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ObservatoireError as e:
        console.print(f"[bold red]Erreur[/bold red] : {escape(str(e))}", soft_wrap=True)
        return e.code
    except KeyboardInterrupt:
        console.print("Interrompu.")
        return 130
    except Exception as e:  # noqa: BLE001 - last resort: no raw traceback for users
        if args.debug:
            raise
        console.print(f"[bold red]Erreur inattendue[/bold red] : {type(e).__name__} : {escape(str(e))}\n"
                      "Relancez avec --debug pour la trace complète et signalez-la aux mainteneurs.")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
