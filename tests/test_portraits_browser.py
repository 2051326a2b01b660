"""Portraits in real headless Chromium: offline, no console error, no external request; A4 PDFs."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from browser import open_offline, require_chromium
from observatoire.config import load_config
from observatoire.portraits.render import build_portraits
from portraits_fixture import build_project

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    require_chromium()
    root = tmp_path_factory.mktemp("projet_navigateur")
    cfg = load_config(build_project(root, simule=True))
    return cfg, build_portraits(cfg, pdf=True)


def test_each_sheet_opens_offline_without_errors(built):
    _, paths = built
    htmls = [p for p in paths if p.suffix == ".html"]
    assert htmls
    for p in htmls:
        rep = open_offline(p, wait_ms=50, evaluate={
            "banner": "!!document.getElementById('donnees-simulees')",
            "svg_ok": "[...document.querySelectorAll('svg')].every(s => s.getBoundingClientRect().width > 0 && s.getBoundingClientRect().height > 0)",
            "themes": "document.querySelectorAll('section.theme').length",
        })
        assert rep.console_errors == [] and rep.page_errors == [], p.name
        assert rep.external_requests == [], p.name
        assert rep.evaluations["banner"] is True and rep.evaluations["svg_ok"] is True
        if p.name != "index.html":
            assert rep.evaluations["themes"] >= 1


def test_pdfs_convert_to_png_pages_with_text(built, tmp_path):
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext")):
        pytest.skip("poppler-utils absent (apt-get install poppler-utils)")
    cfg, paths = built
    pdfs = [p for p in paths if p.suffix == ".pdf"]
    assert sorted(p.stem for p in pdfs) == sorted(p.stem for p in paths if p.suffix == ".html" and p.stem != "index")
    for pdf in pdfs:
        out = tmp_path / pdf.stem
        subprocess.run(["pdftoppm", "-r", "20", "-png", str(pdf), str(out)], check=True)
        pngs = sorted(tmp_path.glob(f"{pdf.stem}-*.png"))
        assert pngs and all(p.stat().st_size > 0 for p in pngs)
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                              text=True).stdout
        pages = text.split("\f")
        pages = [pg for pg in pages if pg.strip()]
        assert len(pages) == len(pngs)
        # « données simulées » on every printed page (top margin box)
        assert all("DONNÉES SIMULÉES" in pg for pg in pages), pdf.name
        assert "Éléments de diagnostic" in text


def test_real_pdf_has_no_simulated_header(tmp_path):
    require_chromium()
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils absent (apt-get install poppler-utils)")
    cfg = load_config(build_project(tmp_path, simule=False, notes=False))
    paths = build_portraits(cfg, pdf=True, quartiers=["QN05930M"])
    pdf = [p for p in paths if p.suffix == ".pdf"][0]
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "QN05930M" in text and "simulé" not in text.lower()
