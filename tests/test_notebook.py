"""The analyst notebook notebooks/portrait_quartier.ipynb runs end to end on a fixture project."""

from __future__ import annotations

from pathlib import Path

import pytest

from portraits_fixture import build_project

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "portrait_quartier.ipynb"


def _kernel_or_skip():
    try:
        import nbclient  # noqa: F401
        import nbformat  # noqa: F401
        from jupyter_client.kernelspec import find_kernel_specs
    except ImportError as e:
        pytest.skip(f"nbclient/nbformat absents ({e}) : pip install nbclient nbformat ipykernel")
    if "python3" not in find_kernel_specs():
        pytest.skip("noyau Jupyter python3 absent : .venv/bin/python -m ipykernel install --sys-prefix --name python3")


def test_portrait_notebook_runs(tmp_path, monkeypatch):
    _kernel_or_skip()
    import nbformat
    from nbclient import NotebookClient

    cfg = build_project(tmp_path / "projet", simule=True)
    monkeypatch.setenv("OBSERVATOIRE_CONFIG", str(cfg))
    monkeypatch.setenv("OBSERVATOIRE_QUARTIER", "QN05920M")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    sheet = tmp_path / "projet" / "portraits" / "QN05920M.html"
    assert sheet.exists() and "Verrerie" in sheet.read_text(encoding="utf-8")
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    # the diagnosis of the fixture's QN05920M: its poverty rate (48 %) against the set of quartiers
    assert "• Le taux de pauvreté atteint 48,0\u00a0% en 2021, contre" in outputs
    assert "pour l'ensemble des quartiers prioritaires de Valenciennes Métropole" in outputs
    assert "moyenne des quartiers" not in outputs
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
