"""argparse in French: usage, section titles, ``--help``, and the error messages of the parser.

argparse takes its texts from :func:`gettext.gettext`, looked up when a help or an error is
formatted. :class:`ParseurFr` swaps argparse's ``_``/``ngettext`` for French ones (:data:`TEXTES`)
only while it builds, parses or formats, so other parsers in the same process keep theirs::

    p = ParseurFr(prog="observatoire", description="…")
    p.parse_args(["--inconnu"])   # « observatoire : erreur : arguments non reconnus : --inconnu »

A text argparse adds in a later Python version falls back to English: ``tests/test_cli.py`` checks
every help and the usual errors for English words.
"""

from __future__ import annotations

import argparse
import difflib
import functools
from contextlib import contextmanager
from typing import Iterator

#: argparse's messages (Python 3.11 to 3.13) → French.
TEXTES: dict[str, str] = {
    # section titles end with a no-break space: argparse adds the colon (« options : »)
    "usage: ": "usage\u00a0: ",
    "positional arguments": "arguments positionnels\u00a0",
    "options": "options\u00a0",
    "optional arguments": "options\u00a0",
    "show this help message and exit": "afficher cette aide et quitter",
    "show program's version number and exit": "afficher la version et quitter",
    "subcommands": "commandes\u00a0",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "the following arguments are required: %s": "les arguments suivants sont requis : %s",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)":
        "choix invalide : %(value)r (choisissez parmi %(choices)s)",
    "invalid %(type)s value: %(value)r": "valeur invalide (%(type)s attendu) : %(value)r",
    "expected one argument": "une valeur est attendue",
    "expected at most one argument": "au plus une valeur est attendue",
    "expected at least one argument": "au moins une valeur est attendue",
    "ambiguous option: %(option)s could match %(matches)s":
        "option ambiguë : %(option)s peut désigner %(matches)s",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "one of the arguments %s is required": "l'un des arguments %s est requis",
    "ignored explicit argument %r": "argument explicite ignoré : %r",
    "unexpected option string: %s": "option inattendue : %s",
    "unknown parser %(parser_name)r (choices: %(choices)s)":
        "commande inconnue %(parser_name)r (commandes possibles : %(choices)s)",
    "can't open '%(filename)s': %(error)s": "impossible d'ouvrir « %(filename)s » : %(error)s",
    "argument \"-\" with mode %r": "argument « - » en mode %r",
    "cannot have multiple subparser arguments": "une seule liste de commandes est possible",
    "%r is not callable": "%r n'est pas appelable",
    "default": "défaut",
}
_PLURIELS: dict[str, tuple[str, str]] = {
    "expected %s argument": ("%s valeur attendue", "%s valeurs attendues"),
    "conflicting option string: %s": ("option en conflit : %s", "options en conflit : %s"),
}


def traduire(message: str) -> str:
    """French text of an argparse message (the message itself when unknown)."""
    return TEXTES.get(message, message)


def traduire_pluriel(singulier: str, pluriel: str, n: int) -> str:
    fr = _PLURIELS.get(singulier)
    if fr is None:
        return singulier if n == 1 else pluriel
    return fr[0] if n == 1 else fr[1]


@contextmanager
def en_francais() -> Iterator[None]:
    """argparse speaks French inside this block (re-entrant)."""
    avant = argparse._, argparse.ngettext
    argparse._, argparse.ngettext = traduire, traduire_pluriel
    try:
        yield
    finally:
        argparse._, argparse.ngettext = avant


def _francais(methode):
    @functools.wraps(methode)
    def enveloppe(*args, **kwargs):
        with en_francais():
            return methode(*args, **kwargs)
    return enveloppe


class FormatFr(argparse.RawDescriptionHelpFormatter):
    """Descriptions kept as written (paragraphs, examples); wider help column."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 30,
                 width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, width)


class ParseurFr(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose every text is French (subparsers included)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", FormatFr)
        with en_francais():
            super().__init__(*args, **kwargs)

    add_subparsers = _francais(argparse.ArgumentParser.add_subparsers)
    parse_args = _francais(argparse.ArgumentParser.parse_args)
    parse_known_args = _francais(argparse.ArgumentParser.parse_known_args)
    format_usage = _francais(argparse.ArgumentParser.format_usage)
    format_help = _francais(argparse.ArgumentParser.format_help)
    error = _francais(argparse.ArgumentParser.error)

    def add_argument_group(self, *args, **kwargs):
        """Group titles end with a no-break space, so that argparse's colon reads « titre : »."""
        if args and isinstance(args[0], str) and not args[0].endswith("\u00a0"):
            args = (args[0] + "\u00a0",) + args[1:]
        elif isinstance(kwargs.get("title"), str) and not kwargs["title"].endswith("\u00a0"):
            kwargs["title"] += "\u00a0"
        return super().add_argument_group(*args, **kwargs)

    def _check_value(self, action, value):
        """An unknown choice (a misspelt command…) names the closest valid one."""
        if action.choices is not None and value not in action.choices:
            proche = difflib.get_close_matches(str(value), [str(c) for c in action.choices], n=1)
            choix = ", ".join(repr(c) for c in action.choices)
            suggestion = f" : vouliez-vous dire {proche[0]!r} ?" if proche else ""
            raise argparse.ArgumentError(action, f"choix invalide : {value!r}{suggestion} (choix possibles : {choix})")
