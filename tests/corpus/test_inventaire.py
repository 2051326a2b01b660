"""The corpus' table (docstring of ``tests/corpus/__init__.py``) is the truth of its markers: every case
listed with its category and outcome, at least 40 cases, every category of the issues covered."""

from __future__ import annotations

import importlib
import re
from collections import Counter
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CATEGORIES = {"geometrie", "tableaux", "valeurs", "codes et chemins", "zones", "rasters", "configuration",
              "partenaires", "sorties", "arrêt brutal"}
ISSUES = {"stop", "repair-and-note", "refuse"}


def inventory() -> list[dict]:
    """One row per corpus case: module, test, category, outcome, count (parametrized ids), xfail."""
    rows = []
    for f in sorted(HERE.glob("test_*.py")):
        mod = importlib.import_module(f"{__package__}.{f.stem}")
        for name, fn in vars(mod).items():
            if not name.startswith("test_") or not callable(fn):
                continue
            marks = getattr(fn, "pytestmark", [])
            corpus = [m for m in marks if m.name == "corpus"]
            if not corpus:
                continue
            n = 1
            for m in marks:
                if m.name == "parametrize":
                    n *= len(m.args[1])
            if name == "test_sigkill_then_rerun_equals_a_clean_run":
                n = len(mod._cases())
            rows.append({"module": f.stem, "test": name, "categorie": corpus[0].args[0], "issue": corpus[0].args[1],
                         "n": n, "xfail": any(m.name == "xfail" for m in marks)})
    return rows


def table_rows() -> list[tuple[str, str, str, str]]:
    doc = importlib.import_module(__package__).__doc__
    out = []
    for line in doc.splitlines():
        m = re.match(r"^\|\s*`?(test_\w+)`?\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|\s*([^|]*?)\s*\|", line)
        if m:
            out.append(m.groups())
    return out


def test_docstring_table_lists_every_case_with_its_category_and_outcome():
    cases = {(r["test"], r["categorie"], r["issue"]) for r in inventory()}
    table = {(t, c, i) for t, c, i, _ in table_rows()}
    assert cases == table, {"absents du tableau": sorted(cases - table), "en trop": sorted(table - cases)}


def test_at_least_40_cases_covering_every_category():
    rows = inventory()
    counted = sum(r["n"] for r in rows if not r["xfail"])
    assert counted >= 40, counted
    assert {r["categorie"] for r in rows} == CATEGORIES
    assert {r["issue"] for r in rows} == ISSUES


def counts() -> dict:
    rows = inventory()
    cat, out = Counter(), Counter()
    for r in rows:
        key = "xfail" if r["xfail"] else r["issue"]
        cat[(r["categorie"], key)] += r["n"]
        out[key] += r["n"]
    return {"par_categorie": dict(cat), "par_issue": dict(out)}


if __name__ == "__main__":  # pragma: no cover - prints the table for the docstring
    pytest.main([__file__, "-q"])
