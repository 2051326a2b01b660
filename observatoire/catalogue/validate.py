"""Validation of the indicator catalogue and safe evaluation of its expressions.

A catalogue entry is rejected with a :class:`~observatoire.errors.ConfigError` whose message names the
entry (its ``id``, or its position when the id itself is wrong) and the field: missing field, unknown
theme / unit / type / scale, wrong polarity, expression that does not parse or that uses a variable
the source does not declare, duplicate id or alias.

Expressions (``numerateur``, ``denominateur``) are parsed with :mod:`ast` and only these nodes are
accepted: numbers, variable names, ``+ - * /``, unary minus and parentheses. Nothing is ever passed
to :func:`eval`: :func:`evaluate` walks the tree itself.

>>> expression_variables("P_SAL15P_CDD + P_SAL15P_INTERIM")
['P_SAL15P_CDD', 'P_SAL15P_INTERIM']
>>> evaluate("(a + b) / 2", {"a": 1.0, "b": 3.0})
2.0
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError

#: Levels an indicator may exist at (``echelles``).
ECHELLES = ("iris", "commune", "qpv2015", "qpv2024", "partie_qpv2024", "zone", "epci",
            "ensemble_qpv_epci", "ensemble_qpv_departement", "ensemble_qpv_france", "departement", "france")

REQUIRED = ("id", "libelle", "theme", "unite", "type", "source", "polarite", "echelles", "definition",
            "limites", "secret", "source_libelle")

_ID = re.compile(r"^[a-z][a-z0-9_]*$")

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


class ExpressionError(ValueError):
    """An expression that is not a plain arithmetic formula over variable names."""


def parse_expression(expr: str) -> ast.expr:
    """Parse ``expr`` and check that it only holds numbers, names, ``+ - * /`` and parentheses.

    Raises
    ------
    ExpressionError
        With a French message saying what is not allowed.
    """
    if not isinstance(expr, str) or not expr.strip():
        raise ExpressionError("expression vide")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as e:
        raise ExpressionError(f"expression illisible « {expr} » ({e.msg})") from None
    for node in ast.walk(tree):
        if isinstance(node, (ast.Expression, ast.Load, ast.Name, ast.Add, ast.Sub, ast.Mult, ast.Div,
                             ast.USub, ast.UAdd)):
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            continue
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            continue
        raise ExpressionError(f"élément non autorisé dans « {expr} » : {type(node).__name__} "
                              "(seuls + - * /, les parenthèses, les nombres et les noms de variables "
                              "sont permis)")
    return tree.body


def alternatives(expr: str) -> list[str]:
    """Alternatives of an expression written ``A | B``: the engine uses the first one whose
    variables are all present in a table (a producer may publish ``P_POP60P`` where the IRIS files
    give ``P_POP6074 + P_POP75P``).

    >>> alternatives("P_POP60P | P_POP6074 + P_POP75P")
    ['P_POP60P', 'P_POP6074 + P_POP75P']
    """
    parts = [a.strip() for a in str(expr).split("|")]
    if any(not a for a in parts):
        raise ExpressionError(f"alternative vide dans « {expr} »")
    return parts


def expression_variables(expr: str) -> list[str]:
    """Variable names used by ``expr``, in order of first appearance."""
    out: list[str] = []
    for node in ast.walk(parse_expression(expr)):
        if isinstance(node, ast.Name) and node.id not in out:
            out.append(node.id)
    # ast.walk is breadth-first: restore reading order
    return sorted(out, key=lambda n: re.search(rf"\b{re.escape(n)}\b", expr).start())


def evaluate(expr: str, env: Mapping[str, Any]):
    """Evaluate ``expr`` with the variables of ``env`` (floats, numpy arrays or pandas Series).

    Only the arithmetic of :func:`parse_expression` is interpreted; a name absent from ``env``
    raises ``KeyError``.
    """
    def _ev(node):
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.UnaryOp):
            v = _ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](_ev(node.left), _ev(node.right))
        raise ExpressionError(type(node).__name__)  # unreachable after parse_expression
    return _ev(parse_expression(expr))


def indicator_variables(entry: Mapping[str, Any]) -> list[str]:
    """All source variables an entry (dict or :class:`Indicateur`) needs."""
    get = entry.get if isinstance(entry, Mapping) else (lambda k, d=None: getattr(entry, k, d))
    out: list[str] = []
    for f in ("numerateur", "denominateur", "variable", "taux_publie", "denominateur_publie"):
        v = get(f, None)
        if v:
            for alt in alternatives(str(v)):
                for name in expression_variables(alt):
                    if name not in out:
                        out.append(name)
    return out


def _err(where: str, ident: str, field: str, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"Indicateur « {ident} », champ « {field} » : {problem}", fichier=where,
                       correction=fix)


def declared_variables(sources: Mapping[str, Any] | None) -> dict[str, set[str]] | None:
    """``{source_id: {variables}}`` from the ``sources`` block of the catalogue (None when absent)."""
    if sources is None:
        return None
    out: dict[str, set[str]] = {}
    for sid, spec in sources.items():
        vars_ = (spec or {}).get("variables", []) if isinstance(spec, Mapping) else spec
        out[str(sid)] = {str(v) for v in (vars_ or [])}
    return out


def validate_entries(entries, where: str, sources: Mapping[str, Any] | None = None) -> None:
    """Check every catalogue entry; raise a :class:`ConfigError` at the first wrong one.

    Parameters
    ----------
    entries : list of dict
        The ``indicateurs`` list of the YAML file.
    where : str
        File name shown in the error.
    sources : mapping, optional
        The ``sources`` block: ``{source_id: {"variables": [...]}}``. When given, ``source`` must be
        one of its ids and every variable of an expression must be declared by that source.
    """
    declared = declared_variables(sources)
    if not isinstance(entries, list):
        raise ConfigError("Le catalogue doit contenir une liste « indicateurs » (catalogue must hold a "
                          "list of indicators).", fichier=where,
                          correction="commencez le fichier par « indicateurs: » puis une entrée « - id: … » "
                          "par indicateur")
    seen: dict[str, str] = {}
    for i, e in enumerate(entries):
        ident = _check_identity(e, i, where, seen)
        _check_vocabulary(e, ident, where)
        _check_type_fields(e, ident, where, declared)
        _check_expressions(e, ident, where, declared)


def _check_identity(e, i: int, where: str, seen: dict[str, str]) -> str:
    """Required fields, identifier and aliases (unique across the catalogue, recorded in ``seen``)."""
    label = str(e.get("id")) if isinstance(e, dict) and e.get("id") else f"n° {i + 1}"
    if not isinstance(e, dict):
        raise _err(where, label, "id", "l'entrée n'est pas un dictionnaire de champs.",
                   "écrivez chaque indicateur comme « - id: … » suivi de ses champs")
    for f in REQUIRED:
        if e.get(f) is None or (isinstance(e.get(f), str) and not e.get(f).strip()):
            raise _err(where, label, f, "champ obligatoire absent ou vide (missing field).",
                       f"ajoutez « {f}: … » à l'entrée")
    ident = str(e["id"])
    if not _ID.match(ident):
        raise _err(where, label, "id", f"« {ident} » n'est pas un identifiant en minuscules_soulignées.",
                   "utilisez des lettres minuscules, chiffres et « _ », ex. taux_emploi_15_64")
    alias = e.get("alias") or []
    if isinstance(alias, str):
        alias = [alias]
    if not isinstance(alias, list):
        raise _err(where, ident, "alias", "liste d'identifiants attendue.", "ex. alias: [part_0_14]")
    for n in [ident] + [str(a) for a in alias]:
        if n in seen:
            raise _err(where, ident, "id" if n == ident else "alias",
                       f"identifiant « {n} » en double (déjà utilisé par « {seen[n]} »).",
                       "donnez un identifiant unique à chaque indicateur")
        seen[n] = ident
    return ident


def _check_vocabulary(e: dict, ident: str, where: str) -> None:
    """Theme, unit, type, polarity, scales, factor and decimals from the declared vocabulary."""
    from .vocabulaire import THEMES, TYPES, UNITES

    for champ, permis, quoi in (("theme", THEMES, "thème inconnu"), ("unite", UNITES, "unité inconnue"),
                                ("type", TYPES, "type inconnu")):
        if e[champ] not in permis:
            raise _err(where, ident, champ, f"{quoi} « {e[champ]} ».", f"choisissez parmi : {', '.join(permis)}")
    if e["polarite"] not in (-1, 0, 1) or isinstance(e["polarite"], bool):
        raise _err(where, ident, "polarite", f"polarité « {e['polarite']} » invalide.",
                   "1 (valeur élevée = plus fragile), -1 (valeur élevée = plus favorable) ou 0")
    ech = e["echelles"]
    if not isinstance(ech, list) or not ech:
        raise _err(where, ident, "echelles", "liste d'échelles attendue.", "ex. echelles: [iris, commune, qpv2024]")
    for x in ech:
        if x not in ECHELLES:
            raise _err(where, ident, "echelles", f"échelle inconnue « {x} ».",
                       f"choisissez parmi : {', '.join(ECHELLES)}")
    if "facteur" in e:
        f = e["facteur"]
        if isinstance(f, bool) or not isinstance(f, (int, float)) or f <= 0:
            raise _err(where, ident, "facteur", f"« {f} » n'est pas un nombre positif.",
                       "ex. facteur: 0.0833333333 pour passer d'un revenu annuel à mensuel")
    if e.get("decimales") is not None and (not isinstance(e["decimales"], int) or e["decimales"] < 0):
        raise _err(where, ident, "decimales", f"« {e['decimales']} » n'est pas un entier positif.",
                   "ex. decimales: 1")


def _check_type_fields(e: dict, ident: str, where: str, declared: dict[str, set[str]] | None) -> None:
    """The sources and the fields each type needs (or refuses)."""
    if declared is not None and e["source"] not in declared:
        raise _err(where, ident, "source", f"source inconnue « {e['source']} ».",
                   f"choisissez parmi : {', '.join(declared)} (bloc « sources » en tête du fichier)")
    needed = {"ratio": ("numerateur", "denominateur"), "valeur_producteur": ("variable",)}.get(e["type"], ())
    for f in needed:
        if not e.get(f):
            raise _err(where, ident, f, f"champ obligatoire pour le type « {e['type']} ».", f"ajoutez « {f}: … »")
    if e["type"] == "effectif" and not (e.get("variable") or e.get("numerateur")):
        raise _err(where, ident, "variable", "un effectif a besoin d'une variable.", "ajoutez « variable: … »")
    if e["type"] == "valeur_producteur" and e.get("denominateur"):
        raise _err(where, ident, "denominateur",
                   "une valeur du producteur (médiane, quartile) ne se recalcule pas en ratio.",
                   "retirez « denominateur » ou choisissez le type « ratio »")
    src_den = e.get("source_denominateur")
    if src_den is not None and declared is not None and src_den not in declared:
        raise _err(where, ident, "source_denominateur", f"source inconnue « {src_den} ».",
                   f"choisissez parmi : {', '.join(declared)}")
    if e.get("denominateur_publie") and not e.get("taux_publie"):
        raise _err(where, ident, "denominateur_publie", "un dénominateur publié accompagne un taux publié.",
                   "ajoutez « taux_publie: … » ou retirez « denominateur_publie »")
    if e.get("taux_publie") and e["type"] != "ratio":
        raise _err(where, ident, "taux_publie", "seul un ratio a un taux publié (une valeur du producteur "
                   "est déjà reprise telle quelle).", "retirez « taux_publie » ou choisissez le type « ratio »")


def _check_expressions(e: dict, ident: str, where: str, declared: dict[str, set[str]] | None) -> None:
    """Every expression parses, single-variable fields hold one name, and every name is declared by its
    source (the denominator's own source when ``source_denominateur`` is set)."""
    src_den = e.get("source_denominateur")
    for f in ("numerateur", "denominateur", "variable", "taux_publie", "denominateur_publie"):
        if not e.get(f):
            continue
        src = src_den if (f == "denominateur" and src_den) else e["source"]
        try:
            alts = alternatives(str(e[f]))
            names_f = [n for a in alts for n in expression_variables(a)]
        except ExpressionError as x:
            raise _err(where, ident, f, f"{x}.", "écrivez une formule avec + - * / et des noms de variables") from None
        if f in ("variable", "taux_publie", "denominateur_publie") and (
                len(alts) != 1 or len(names_f) != 1 or str(e[f]).strip() != names_f[0]):
            raise _err(where, ident, f, f"« {e[f]} » doit être un seul nom de variable.",
                       "pour une formule, utilisez numerateur (et denominateur)")
        if declared is not None:
            known = declared[src] if f != "denominateur_publie" else set().union(*declared.values())
            unknown = [n for n in dict.fromkeys(names_f) if n not in known]
            if unknown:
                raise _err(where, ident, f,
                           f"variable inconnue {', '.join(unknown)} pour la source « {src} » "
                           "(unknown variable).",
                           "corrigez le nom (sans millésime : P_POP1564 et non P22_POP1564) ou déclarez "
                           f"la variable dans sources → {src} → variables")
