"""The ``observatoire`` command: one small function per subcommand.

    observatoire fetch        télécharge les fichiers officiels (ou les copie d'un miroir)
    observatoire build        construit le GeoPackage et la table des indicateurs
    observatoire maps         écrit les cartes HTML autonomes
    observatoire portraits    écrit les portraits de quartier (HTML et PDF)
    observatoire all          enchaîne les quatre étapes
    observatoire sources      liste les sources, leur millésime, leur présence, réel ou simulé
    observatoire indicateurs  liste le catalogue des indicateurs
    observatoire quartiers    liste les quartiers et zones construits (pour make : --mk)
    observatoire empreinte    ce que chaque étape lit de la configuration (pour make : --ecrire)

Every text is French (argparse included, :mod:`observatoire.cli_fr`); stages announce themselves
and end with their wall and CPU time (:mod:`observatoire.progress`). The configuration is checked
entirely before any stage runs. User errors (:class:`observatoire.errors.ObservatoireError`) are
printed without a traceback and give a non-zero exit code; ``--debug`` shows the traceback of
unexpected errors.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .cli_fr import ParseurFr
from .config import ETAPES, empreinte, fichiers_lus, load_config
from .errors import ObservatoireError
from .progress import etape, info

console = Console(stderr=True, highlight=False)
# piped or redirected output (files, CI logs) gets wide tables rather than 80-column wrapping
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)

GEOGRAPHIES = ("2024", "2015", "zones")
#: GeoPackage layer, code column and name column of each portrait geography.
COUCHES_QUARTIERS = {"2024": ("qpv_2024", "code_qp", "lib_qp"), "2015": ("qpv_2015", "code_qp", "nom_qp"),
                     "zones": ("zones", "code", "libelle")}


def _court(chemin) -> str:
    """A path relative to the current folder when inside it (shorter progress lines)."""
    p = Path(chemin)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def _config(args):
    cfg = load_config(args.config)
    return cfg.with_mirror(args.mirror)


def cmd_fetch(args) -> int:
    from .sources.fetch import fetch

    cfg = _config(args)
    with etape("Récupération des fichiers officiels") as e:
        files = fetch(cfg, force=args.force)
        e.resume(f"{len(files)} fichier(s) prêts dans {_court(cfg.paths.raw)}")
    return 0


def cmd_build(args) -> int:
    from .pipeline import build

    cfg = _config(args)
    with etape("Construction des données (territoire, correspondances, indicateurs)") as e:
        gpkg = build(cfg)
        e.resume(f"écrits : {_court(gpkg)}, {cfg.paths.indicateurs_csv.name}, {cfg.paths.indicateurs_xlsx.name}")
    return 0


def cmd_maps(args) -> int:
    from .maps.build import build_maps

    cfg = _config(args)
    with etape("Cartes") as e:
        paths = build_maps(cfg)
        e.resume(f"{len(paths)} carte(s) dans {_court(cfg.paths.maps)}")
    return 0


def _portraits(cfg, geographie: str, pdf: bool, quartiers=None) -> None:
    from .portraits.render import build_portraits

    titre = {"2024": "quartiers 2024", "2015": "quartiers 2015", "zones": "zones d'observation"}[geographie]
    if quartiers:
        titre += " : " + ", ".join(quartiers)
    with etape(f"Portraits : {titre}" + ("" if pdf else " (HTML, sans PDF)")) as e:
        paths = build_portraits(cfg, pdf=pdf, quartiers=quartiers, geographie=geographie)
        n_pdf = sum(1 for p in paths if p.suffix == ".pdf")
        e.resume(f"{len(paths) - n_pdf} page(s) HTML" + (f" et {n_pdf} PDF" if n_pdf else "")
                 + f" dans {_court(cfg.paths.portraits)}")


def cmd_portraits(args) -> int:
    cfg = _config(args)
    pdf = bool(cfg.section("portraits").get("pdf", True)) and not args.sans_pdf
    _portraits(cfg, args.geographie, pdf, args.quartier or None)
    return 0


def cmd_pdf(args) -> int:
    from .portraits.pdf import build_pdfs

    cfg = _config(args)
    quartiers = args.quartier or None
    titre = {"2024": "quartiers 2024", "2015": "quartiers 2015", "zones": "zones d'observation"}[args.geographie]
    with etape(f"PDF des portraits : {titre}" + (" : " + ", ".join(quartiers) if quartiers else "")) as e:
        paths = build_pdfs(cfg, geographie=args.geographie, quartiers=quartiers)
        e.resume(f"{len(paths)} PDF dans {_court(cfg.paths.portraits)}")
    return 0


def cmd_verifier(args) -> int:
    from .verification import verifier

    cfg = _config(args)
    verifier(cfg)
    return 0


def cmd_all(args) -> int:
    cfg = _config(args)   # the whole configuration is checked before the first stage
    for f in (cmd_fetch, cmd_build, cmd_maps):
        code = f(args)
        if code:
            return code
    pdf = bool(cfg.section("portraits").get("pdf", True))
    for geographie in ("2024", "2015") + (("zones",) if cfg.zones else ()):
        _portraits(cfg, geographie, pdf)
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


# ----------------------------------------------------------------------------- for make
def quartiers_construits(gpkg: Path) -> dict[str, list[tuple[str, str]]]:
    """``{geographie: [(code, libellé), …]}`` sorted by code, from the built GeoPackage (layers
    ``qpv_2024``, ``qpv_2015``, ``zones``; a missing layer gives an empty list)."""
    from .store import list_layers, quartiers_publies, read_layer

    if not Path(gpkg).exists():
        raise ObservatoireError("Le GeoPackage des données traitées est introuvable.", fichier=str(gpkg),
                                correction="lancez d'abord « observatoire build » (ou make)")
    couches = set(list_layers(gpkg))
    out: dict[str, list[tuple[str, str]]] = {}
    for geo, (couche, code, nom) in COUCHES_QUARTIERS.items():
        if couche not in couches:
            out[geo] = []
            continue
        df = quartiers_publies(read_layer(gpkg, couche))
        out[geo] = sorted((str(c), str(n)) for c, n in zip(df[code], df[nom]))
    return out


def _mot_make(chemin: str | Path) -> str:
    """A path as one make word (relative to the current folder when inside it)."""
    p = Path(chemin)
    try:
        p = p.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        p = p.resolve()
    texte = p.as_posix()
    if any(c.isspace() for c in texte) or any(c in texte for c in ":;|*?[]"):
        raise ObservatoireError(f"make ne sait pas suivre un chemin contenant une espace ou « : ; | * ? [ ] » : "
                                f"{texte}.", correction="renommez le dossier ou le fichier, ou lancez les étapes "
                                "avec la commande observatoire (fetch, build, maps, portraits)")
    return texte.replace("$", "$$").replace("#", "\\#")


def cmd_quartiers(args) -> int:
    cfg = _config(args)
    liste = quartiers_construits(cfg.paths.gpkg)
    geos = [args.geographie] if args.geographie else list(GEOGRAPHIES)
    if args.mk:
        from .store import write_text_atomic

        lignes = ["# Écrit par « observatoire quartiers --mk » après la construction : ne pas modifier."]
        lignes += [f"QUARTIERS_{g} := " + " ".join(_mot_make(c) for c, _ in liste[g]) for g in geos]
        write_text_atomic(args.mk, "\n".join(lignes) + "\n")
        return 0
    for g in geos:
        table = Table(title=f"Géographie {g} : {len(liste[g])} territoire(s)")
        table.add_column("Code", no_wrap=True)
        table.add_column("Libellé", overflow="fold")
        for code, nom in liste[g]:
            table.add_row(escape(code), escape(nom))
        out.print(table)
    return 0


def _texte_empreinte(cfg, nom: str) -> str:
    return json.dumps(empreinte(cfg, nom), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def _config_mk(cfg) -> str:
    """Variables ``make`` reads from the configuration (folders, geographies, files it names)."""
    notes = cfg.section("portraits").get("notes", "notes")
    notes = Path(notes) if Path(notes).is_absolute() else cfg.paths.root / notes
    mirror = cfg.paths.mirror
    nommes = sorted({f for e in ETAPES for f in fichiers_lus(cfg, e)})
    lignes = [
        "# Écrit par « observatoire empreinte --ecrire » à partir de la configuration : ne pas modifier.",
        f"CONFIG_LUE := {_mot_make(cfg.source_file)}",
        f"DOSSIER_RAW := {_mot_make(cfg.paths.raw)}",
        f"DOSSIER_PROCESSED := {_mot_make(cfg.paths.processed)}",
        f"DOSSIER_CARTES := {_mot_make(cfg.paths.maps)}",
        f"DOSSIER_PORTRAITS := {_mot_make(cfg.paths.portraits)}",
        f"DOSSIER_NOTES := {_mot_make(notes)}",
        "GEOGRAPHIES := 2024 2015" + (" zones" if cfg.zones else ""),
        "PDF := " + ("oui" if cfg.section("portraits").get("pdf", True) else "non"),
        "MANIFESTE_MIROIR := " + (_mot_make(mirror / "manifest.json") if mirror else ""),
        "FICHIERS_NOMMES := " + " ".join(_mot_make(f) for f in nommes),
    ]
    for e in ETAPES:
        lignes.append(f"FICHIERS_{e} := $(wildcard " + " ".join(_mot_make(f) for f in fichiers_lus(cfg, e)) + ")")
    return "\n".join(lignes) + "\n"


def cmd_empreinte(args) -> int:
    cfg = _config(args)
    etapes = [args.etape] if args.etape else list(ETAPES)
    if not args.ecrire:
        if args.etape:
            sys.stdout.write(_texte_empreinte(cfg, args.etape))
        else:
            sys.stdout.write(json.dumps({e: empreinte(cfg, e) for e in etapes}, ensure_ascii=False, indent=1,
                                        sort_keys=True) + "\n")
        return 0
    from .store import write_text_atomic

    dossier = Path(args.ecrire)
    dossier.mkdir(parents=True, exist_ok=True)
    changees = []
    for e in etapes:
        chemin, texte = dossier / f"{e}.config", _texte_empreinte(cfg, e)
        if not chemin.exists() or chemin.read_text(encoding="utf-8") != texte:
            write_text_atomic(chemin, texte)   # rewritten only when it changes: make compares dates
            changees.append(e)
    write_text_atomic(dossier / "config.mk", _config_mk(cfg))
    if changees:
        info(f"Configuration {_court(cfg.source_file)} : étape(s) à refaire : {', '.join(changees)}")
    return 0


# ----------------------------------------------------------------------------------- parser
DESCRIPTION = """\
Observatoire des quartiers prioritaires de la politique de la ville : données officielles,
indicateurs, cartes et portraits de quartier pour un territoire (observatoire.toml).

Étapes du pipeline annuel, dans l'ordre : fetch → build → maps → portraits (ou all).
Avec make, chaque étape ne se relance que si ses entrées ont changé."""

EPILOGUE = """\
exemples :
  observatoire all --mirror data/mirror/demo      tout le pipeline hors ligne
  observatoire portraits --quartier QN05930M     un seul portrait
  observatoire portraits --geographie zones      les portraits des zones de [[zones]]
  observatoire COMMANDE --help                   l'aide d'une commande"""


def _commun() -> ParseurFr:
    common = ParseurFr(add_help=False)
    g = common.add_argument_group("options communes")
    g.add_argument("--config", default=None, metavar="FICHIER",
                   help="fichier de configuration (défaut : observatoire.toml)")
    g.add_argument("--mirror", default=None, metavar="DOSSIER",
                   help="dossier miroir remplaçant le réseau (ou variable OBSERVATOIRE_MIRROR)")
    g.add_argument("--debug", action="store_true", help="afficher la trace complète des erreurs inattendues")
    return common


def _sous(sub, nom: str, aide: str, description: str, func, common) -> ParseurFr:
    s = sub.add_parser(nom, parents=[common], help=aide, description=description)
    s.set_defaults(func=func)
    return s


def build_parser() -> ParseurFr:
    common = _commun()
    p = ParseurFr(prog="observatoire", description=DESCRIPTION, epilog=EPILOGUE, parents=[common])
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMANDE", title="commandes")

    s = _sous(sub, "fetch", "télécharger les fichiers officiels (ou les copier d'un miroir)",
              "Télécharge les fichiers officiels du territoire configuré dans data/raw/<source>/\n"
              "(reprise, nouvelles tentatives, empreinte sha256 au manifeste, écriture atomique),\n"
              "ou les copie d'un miroir hors ligne (--mirror). Sans réseau ni miroir : code de sortie 3.",
              cmd_fetch, common)
    s.add_argument("--force", action="store_true", help="re-télécharger même les fichiers présents")
    _sous(sub, "build", "construire le GeoPackage et la table des indicateurs",
          "Construit le territoire, les couches géographiques, les correspondances IRIS × quartiers\n"
          "et les indicateurs : data/processed/observatoire.gpkg, indicateurs.csv, indicateurs.xlsx.",
          cmd_build, common)
    _sous(sub, "maps", "écrire les cartes HTML autonomes",
          "Écrit les cartes choroplèthes (IRIS et quartiers) en fichiers HTML autonomes dans maps/,\n"
          "lisibles hors ligne ; classes réglées par la section [cartes].", cmd_maps, common)
    s = _sous(sub, "portraits", "écrire les portraits de quartier (HTML et PDF)",
              "Écrit un portrait par quartier (HTML, et PDF A4 avec Chromium) et la page d'index de la\n"
              "géographie choisie dans portraits/. Avec --quartier, seuls ces portraits sont refaits\n"
              "et l'index est gardé tel quel.", cmd_portraits, common)
    s.add_argument("--sans-pdf", action="store_true", help="ne pas produire les PDF")
    s.add_argument("--quartier", action="append", metavar="CODE", help="seulement ce quartier (répétable)")
    s.add_argument("--geographie", choices=GEOGRAPHIES, default="2024",
                   help="quartiers 2024 (défaut), quartiers 2015 ou zones de [[zones]]")
    s = _sous(sub, "pdf", "imprimer en PDF les portraits déjà écrits en HTML",
              "Imprime en PDF A4 (fiche de deux pages et annexe) les portraits déjà écrits en HTML par\n"
              "« observatoire portraits --sans-pdf », avec une seule session de Chromium.", cmd_pdf, common)
    s.add_argument("--quartier", action="append", metavar="CODE", help="seulement ce quartier (répétable)")
    s.add_argument("--geographie", choices=GEOGRAPHIES, default="2024",
                   help="quartiers 2024 (défaut), quartiers 2015 ou zones de [[zones]]")
    _sous(sub, "verifier", "écrire la page de vérification des estimations",
          "Écrit maps/verification.html : les estimations des quartiers 2015 faites à partir des IRIS\n"
          "comparées aux chiffres de l'Insee (calculées par « observatoire build », relues ici ;\n"
          "« observatoire maps » l'écrit aussi).", cmd_verifier, common)
    s = _sous(sub, "all", "tout : fetch, build, maps, portraits",
              "Enchaîne les quatre étapes : fetch, build, maps, puis les portraits des quartiers 2024,\n"
              "des quartiers 2015 et des zones de [[zones]].", cmd_all, common)
    s.add_argument("--force", action="store_true", help="re-télécharger même les fichiers présents")
    _sous(sub, "sources", "lister les sources, leur millésime et leur état (réel ou simulé)",
          "Liste chaque source officielle et chaque table partenaire : millésime, présence dans\n"
          "data/raw, nature réelle ou simulée, statut du format.", cmd_sources, common)
    s = _sous(sub, "indicateurs", "lister le catalogue des indicateurs",
              "Liste les indicateurs du catalogue (identifiant, libellé, thème, unité, source).",
              cmd_indicateurs, common)
    s.add_argument("--catalogue", default=None, metavar="FICHIER", help="autre fichier de catalogue YAML")
    s = _sous(sub, "quartiers", "lister les quartiers et zones construits",
              "Liste les quartiers 2024, les quartiers 2015 et les zones du GeoPackage construit\n"
              "(codes et libellés). Avec --mk, écrit ces codes pour make (une règle par portrait).",
              cmd_quartiers, common)
    s.add_argument("--geographie", choices=GEOGRAPHIES, default=None, help="une seule géographie")
    s.add_argument("--mk", default=None, metavar="FICHIER", help="écrire la liste au format make dans FICHIER")
    s = _sous(sub, "empreinte", "ce que chaque étape lit de la configuration",
              "Affiche, pour chaque étape (fetch, build, cartes, portraits), la partie de la\n"
              "configuration qu'elle lit, sous une forme canonique (JSON) : sections, dossiers et\n"
              "fichiers nommés. make ne relance une étape que si son empreinte change : un changement\n"
              "de [cartes] ne refait que les cartes. Avec --ecrire, écrit DOSSIER/<étape>.config\n"
              "seulement s'il change, et DOSSIER/config.mk (variables pour make).",
              cmd_empreinte, common)
    s.add_argument("--etape", choices=ETAPES, default=None, help="une seule étape")
    s.add_argument("--ecrire", default=None, metavar="DOSSIER",
                   help="écrire les empreintes (et config.mk) dans DOSSIER au lieu de les afficher")
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
        if args.debug or os.environ.get("OBSERVATOIRE_DEBUG"):
            raise
        console.print(f"[bold red]Erreur inattendue[/bold red] : {type(e).__name__} : {escape(str(e))}\n"
                      "Relancez avec --debug pour la trace complète et signalez-la aux mainteneurs.")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
