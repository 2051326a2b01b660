"""A4 PDF of each portrait, printed by headless Chromium (driven by playwright, one browser for all).

The sheet's own print stylesheet (``@media print`` and ``@page`` in ``templates/portrait.css``)
does the layout: A4, themes never split across pages, page numbers, and the « DONNÉES SIMULÉES »
header repeated in the top margin box of every page when the inputs are simulated. Network is
blocked while printing: a sheet must be self-contained.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import ObservatoireError

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


class ChromiumAbsentError(ObservatoireError):
    """Headless Chromium (or playwright) is missing: the HTML sheets exist, the PDFs do not."""


def chromium_path() -> Path | None:
    """Path of the Chromium executable (env ``OBSERVATOIRE_CHROMIUM``, ``chromium`` on PATH,
    ``/usr/bin/chromium``), or ``None``."""
    for cand in (os.environ.get("OBSERVATOIRE_CHROMIUM"), shutil.which("chromium"),
                 shutil.which("chromium-browser"), "/usr/bin/chromium"):
        if cand and Path(cand).exists():
            return Path(cand)
    return None


def print_pdfs(html_paths: list[Path], out_dir: Path | None = None, executable: Path | None = None) -> list[Path]:
    """Print each HTML file to ``<out_dir or its folder>/<stem>.pdf`` (A4); returns the PDF paths.

    Raises
    ------
    ChromiumAbsentError
        when Chromium or playwright is not installed (French message with the fix).
    """
    exe = Path(executable) if executable else chromium_path()
    if exe is None or not exe.exists():
        raise ChromiumAbsentError(
            "Chromium est introuvable : les portraits HTML sont écrits, mais pas les PDF "
            "(headless Chromium not found: HTML written, PDF skipped).",
            fichier=str(exe or "/usr/bin/chromium"),
            correction="installez chromium : apt-get install chromium "
                       "(ou désactivez les PDF : [portraits] pdf = false, ou --sans-pdf)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        raise ChromiumAbsentError("Le module python playwright est absent : PDF non produits (playwright missing).",
                                  correction="pip install playwright (Chromium du système utilisé, "
                                  "aucun téléchargement de navigateur)") from e
    out: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(exe), args=CHROMIUM_FLAGS, headless=True)
        try:
            ctx = browser.new_context()
            ctx.route("**/*", lambda route: route.continue_()
                      if route.request.url.startswith(("file:", "data:", "about:", "blob:")) else route.abort())
            page = ctx.new_page()
            for html in html_paths:
                html = Path(html)
                dest = (Path(out_dir) if out_dir else html.parent) / f"{html.stem}.pdf"
                dest.parent.mkdir(parents=True, exist_ok=True)
                page.goto(html.resolve().as_uri(), wait_until="load")
                page.emulate_media(media="print")
                fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
                os.close(fd)
                try:
                    page.pdf(path=tmp, format="A4", print_background=True, prefer_css_page_size=True,
                             outline=True, tagged=True)
                    os.chmod(tmp, 0o644)
                    os.replace(tmp, dest)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
                out.append(dest)
        finally:
            browser.close()
    return out
