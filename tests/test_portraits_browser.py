"""Portraits in real headless Chromium: offline, no console error, no external request; A4 PDFs: a fiche of
exactly two well-filled pages and its annex, « données simulées » exactly where it belongs."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from browser import open_offline, require_chromium
from observatoire.config import load_config
from observatoire.portraits.pdf import build_pdfs, pdf_pages
from observatoire.portraits.render import build_portraits
from portraits_fixture import build_project

pytestmark = pytest.mark.browser


def _poppler():
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext") and shutil.which("pdfinfo")):
        pytest.skip("poppler-utils absent (apt-get install poppler-utils)")


def _pages_text(pdf) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def _pdfinfo_pages(pdf) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


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
            "themes": "document.querySelectorAll('article.annexe section.theme').length",
        })
        assert rep.console_errors == [] and rep.page_errors == [], p.name
        assert rep.external_requests == [], p.name
        assert rep.evaluations["banner"] is True and rep.evaluations["svg_ok"] is True
        if p.name != "index.html":
            assert rep.evaluations["themes"] >= 1


def test_fiche_of_two_filled_pages_and_annex(built, tmp_path):
    _poppler()
    cfg, paths = built
    fiches = sorted(p for p in paths if p.suffix == ".pdf" and not p.stem.endswith("-annexe"))
    annexes = sorted(p for p in paths if p.stem.endswith("-annexe"))
    sheets = sorted(p.stem for p in paths if p.suffix == ".html" and not p.stem.startswith("index"))
    assert [p.stem for p in fiches] == sheets and [p.stem[:-7] for p in annexes] == sheets
    for fiche, annexe in zip(fiches, annexes):
        assert _pdfinfo_pages(fiche) == 2 == pdf_pages(fiche.read_bytes()), fiche.name
        assert _pdfinfo_pages(annexe) == pdf_pages(annexe.read_bytes()) >= 2, annexe.name
        p1, p2 = _pages_text(fiche)
        # page 1: identity, map legend, key figures; page 2: diagnosis, sources and method
        assert "Chiffres clés" in p1 and "Communes" in p1 and "Éléments de diagnostic" not in p1, fiche.name
        assert "Éléments de diagnostic" in p2 and "Sources et méthode" in p2, fiche.name
        # well filled: each page carries a good amount of text (the annex tables are not on the fiche)
        assert len(p1.split()) > 150 and len(p2.split()) > 150, fiche.name
        assert "Annexe" not in p1 + p2
        assert "Annexe —" in _pages_text(annexe)[0] and "Chiffres clés" not in " ".join(_pages_text(annexe))
        # « données simulées » on every printed page (top margin box)
        for pg in _pages_text(fiche) + _pages_text(annexe):
            assert "DONNÉES SIMULÉES" in pg, fiche.name
        # each page converts to an image
        out = tmp_path / fiche.stem
        subprocess.run(["pdftoppm", "-r", "20", "-png", str(fiche), str(out)], check=True)
        assert len(list(tmp_path.glob(f"{fiche.stem}-*.png"))) == 2


def test_real_and_mixed_pdfs(tmp_path):
    require_chromium()
    _poppler()
    cfg = load_config(build_project(tmp_path / "reel", simule=False, notes=False))
    build_portraits(cfg, pdf=False)
    index = cfg.paths.portraits / "index.html"
    assert 'href="QN05930M.pdf"' not in index.read_text(encoding="utf-8")
    # PDFs printed later from the HTML already written (a separate Make stage); the index then links them
    pdfs = build_pdfs(cfg, quartiers=["QN05930M"])
    assert [p.name for p in pdfs] == ["QN05930M.pdf", "QN05930M-annexe.pdf"]
    html = index.read_text(encoding="utf-8")
    assert 'href="QN05930M.pdf"' in html and 'href="QN05930M-annexe.pdf"' in html
    assert 'href="QN05920M.pdf"' not in html and "<!--pdf:QN05920M-->" in html
    text = " ".join(" ".join(_pages_text(p)) for p in pdfs)
    assert "QN05930M" in text and "simulé" not in text.lower() and "◊" not in text
    # rebuilding the HTML without PDFs removes the PDFs that no longer match it
    build_portraits(cfg, pdf=False, quartiers=["QN05930M"])
    assert not any(p.exists() for p in pdfs)
    assert 'href="QN05930M.pdf"' not in index.read_text(encoding="utf-8")
    cfg = load_config(build_project(tmp_path / "mixte", simule="mixte", notes=False))
    build_portraits(cfg, pdf=False, quartiers=["QN05920M"])
    fiche, annexe = build_pdfs(cfg, quartiers="QN05920M")
    p1 = _pages_text(fiche)[0]
    assert "DONNÉES SIMULÉES" not in p1 and "◊" in p1 and "de cette fiche sont réels" in p1
    assert "de cette annexe sont réels" in " ".join(_pages_text(annexe))


def test_long_notes_are_fitted_or_reported(tmp_path, capsys):
    require_chromium()
    _poppler()
    cfg = load_config(build_project(tmp_path, simule=False, notes=False))
    notes = cfg.paths.root / "notes"
    notes.mkdir(exist_ok=True)
    long = "\n".join(f"- Point de vigilance numéro {k} : une phrase assez longue pour occuper une ligne entière."
                     for k in range(60))
    (notes / "QN05920M.md").write_text(f"## Atouts\n{long}\n## Points de vigilance\n{long}\n", encoding="utf-8")
    build_portraits(cfg, pdf=False, quartiers=["QN05920M"])
    fiche, _ = build_pdfs(cfg, quartiers=["QN05920M"])
    # 120 lines of notes cannot fit on page 2: the fiche runs over and the user is told which one
    assert _pdfinfo_pages(fiche) > 2
    assert "QN05920M" in capsys.readouterr().err
