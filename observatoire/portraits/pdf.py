"""A4 PDFs of the portraits: the two-page fiche ``<code>.pdf`` and the annex ``<code>-annexe.pdf``.

One headless Chromium session prints every sheet of a run (DevTools protocol through the
``playwright`` package, driving the **system** Chromium: no browser is downloaded), two pages at a
time so that both cores work. Each sheet's HTML holds the fiche and the annex; a small stylesheet
added before printing hides the part that is not being printed, so both PDFs come from the very
same file and number their own pages. The sheet's print stylesheet (``templates/portrait.css``)
does the layout; when a fiche would run over two pages (long notes), it is printed again in a
tighter layout, and a warning names the quartier if it still does not fit.

Chromium is found through the environment variable ``OBSERVATOIRE_CHROMIUM`` or on ``PATH``
(``chromium``, ``chromium-browser``, ``google-chrome``). Network is blocked while printing: a sheet
must be self-contained. Every PDF is written atomically.

:func:`build_pdfs` prints the sheets already written as HTML, so that a separate Make stage can
print the PDFs after ``observatoire portraits --sans-pdf``.
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import ObservatoireError
from ..progress import avertir, suivre
from ..store import atomic_path

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                  "--disable-extensions", "--mute-audio"]
CHROMIUM_NOMS = ("chromium", "chromium-browser", "google-chrome")
#: Pages printed at the same time in the one browser.
CONCURRENCE = 2
#: Pages of a fiche.
PAGES_FICHE = 2
OUTLINE = TAGGED = True

CSS_PARTIES = {
    "fiche": ".annexe{display:none!important}",
    "annexe": ".fiche{display:none!important}.bandeau-simule{margin-top:0}.annexe{break-before:auto!important}",
}
#: Tighter layout for a fiche that would not fit on two pages.
CSS_SERRE = ("@media print{html{font-size:8pt!important;line-height:1.22!important}"
             ".carte svg{max-height:60mm;width:auto!important}"
             "table.cles th,table.cles td{padding:.22em .3em!important}"
             ".diagnostic li{margin:.08em 0!important}h2{margin:.5em 0 .2em!important}}")


class ChromiumAbsentError(ObservatoireError):
    """Headless Chromium (or playwright) is missing: the HTML sheets exist, the PDFs do not."""


def chromium_path() -> Path | None:
    """Path of the Chromium executable (env ``OBSERVATOIRE_CHROMIUM``, then ``PATH``), or ``None``."""
    env = os.environ.get("OBSERVATOIRE_CHROMIUM")
    if env:
        p = Path(env)
        return p if p.exists() else None
    for name in CHROMIUM_NOMS:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def _require(executable: Path | None) -> Path:
    exe = Path(executable) if executable else chromium_path()
    if exe is None or not exe.exists():
        raise ChromiumAbsentError(
            "Chromium est introuvable : les portraits HTML sont écrits, mais pas les PDF "
            "(headless Chromium not found: HTML written, PDF skipped).",
            fichier=str(exe) if exe else os.environ.get("OBSERVATOIRE_CHROMIUM") or "chromium (PATH)",
            correction="installez chromium : apt-get install chromium (ou indiquez son chemin dans la variable "
                       "OBSERVATOIRE_CHROMIUM ; ou désactivez les PDF : [portraits] pdf = false, ou --sans-pdf)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError as e:
        raise ChromiumAbsentError("Le module python playwright est absent : PDF non produits (playwright missing).",
                                  correction="pip install playwright (le Chromium du système est utilisé, "
                                  "aucun navigateur n'est téléchargé)") from e
    return exe


def pdf_pages(data: bytes) -> int:
    """Number of pages of a PDF written by Chromium (``/Type /Page`` objects)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


@dataclass
class Feuille:
    """One sheet to print: its HTML and the two PDFs."""

    code: str
    html: Path
    fiche: Path
    annexe: Path
    pages_fiche: int = 0
    serre: bool = False


async def _load(page, html: Path) -> None:
    await page.goto(html.resolve().as_uri(), wait_until="load")


async def _print_part(page, partie: str, extra_css: str = "") -> bytes:
    """PDF bytes of one part of the sheet loaded in ``page`` (the other part hidden by a style element)."""
    await page.evaluate("css => { let s = document.getElementById('obs-partie');"
                        " if (!s) { s = document.createElement('style'); s.id = 'obs-partie';"
                        " document.head.appendChild(s); } s.textContent = css; }", CSS_PARTIES[partie] + extra_css)
    return await page.pdf(format="A4", print_background=True, prefer_css_page_size=True, outline=OUTLINE, tagged=TAGGED)


def _write(dest: Path, data: bytes) -> None:
    with atomic_path(dest) as tmp:
        Path(tmp).write_bytes(data)
        os.chmod(tmp, 0o644)


async def _run(feuilles: list[Feuille], exe: Path, done: "queue.Queue", concurrence: int) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(exe), args=CHROMIUM_FLAGS, headless=True)
        try:
            context = await browser.new_context()
            await context.route("**/*", lambda route: route.continue_()
                                if route.request.url.startswith(("file:", "data:", "about:", "blob:"))
                                else route.abort())
            todo: asyncio.Queue = asyncio.Queue()
            for f in feuilles:
                todo.put_nowait(f)

            async def worker():
                page = await context.new_page()
                while not todo.empty():
                    f = todo.get_nowait()
                    await _load(page, f.html)
                    data = await _print_part(page, "fiche")
                    f.pages_fiche = pdf_pages(data)
                    if f.pages_fiche > PAGES_FICHE:
                        tighter = await _print_part(page, "fiche", CSS_SERRE)
                        f.serre, data, f.pages_fiche = True, tighter, pdf_pages(tighter)
                    _write(f.fiche, data)
                    _write(f.annexe, await _print_part(page, "annexe"))
                    done.put(f)
                await page.close()

            await asyncio.gather(*(worker() for _ in range(max(1, min(concurrence, len(feuilles))))))
        finally:
            await browser.close()


def print_sheets(feuilles: list[Feuille], executable: Path | None = None,
                 concurrence: int = CONCURRENCE) -> list[Feuille]:
    """Print the fiche and the annex of each sheet in one Chromium session; progress per quartier."""
    if not feuilles:
        return []
    exe = _require(executable)
    done: queue.Queue = queue.Queue()
    errors: list[BaseException] = []
    fin = object()

    def target():
        try:
            asyncio.run(_run(feuilles, exe, done, concurrence))
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(e)
        finally:
            done.put(fin)

    th = threading.Thread(target=target, name="observatoire-pdf", daemon=True)
    th.start()

    def results():
        while True:
            item = done.get()
            if item is fin:
                return
            yield item

    out = list(suivre(results(), "PDF (fiche et annexe)", total=len(feuilles)))
    th.join()
    if errors:
        raise errors[0]
    trop = [f.code for f in out if f.pages_fiche > PAGES_FICHE]
    if trop:
        avertir(f"fiche de plus de {PAGES_FICHE} pages (notes trop longues ?) : {', '.join(trop)}")
    return out


def print_pdfs(html_paths: list[Path], out_dir: Path | None = None, executable: Path | None = None) -> list[Path]:
    """Print each sheet HTML to ``<stem>.pdf`` (fiche) and ``<stem>-annexe.pdf``; returns the PDF paths."""
    feuilles = []
    for html in map(Path, html_paths):
        d = Path(out_dir) if out_dir else html.parent
        feuilles.append(Feuille(html.stem, html, d / f"{html.stem}.pdf", d / f"{html.stem}-annexe.pdf"))
    done = print_sheets(feuilles, executable)
    order = {f.code: k for k, f in enumerate(feuilles)}
    done.sort(key=lambda f: order[f.code])
    return [p for f in done for p in (f.fiche, f.annexe)]


def _codes(config, geographie: str) -> list[str]:
    import pyogrio

    from .inputs import GEOGRAPHIES
    if geographie not in GEOGRAPHIES:
        raise ObservatoireError(f"Géographie inconnue : {geographie!r}.",
                                correction="choisissez « 2024 », « 2015 » ou « zones »")
    gpkg = Path(config.paths.gpkg)
    layer = GEOGRAPHIES[geographie][1]
    if not gpkg.exists() or layer not in {n for n, _ in pyogrio.list_layers(gpkg)}:
        return []
    from ..store import quartiers_publies

    col = "code" if geographie == "zones" else "code_qp"
    t = quartiers_publies(pyogrio.read_dataframe(gpkg, layer=layer, read_geometry=False))
    return sorted(t[col].astype(str))


def build_pdfs(config, geographie: str = "2024", quartiers=None) -> list[Path]:
    """Print the PDFs (fiche and annex) of sheets already written as HTML.

    Parameters
    ----------
    config : :class:`observatoire.config.Config`.
    geographie : ``"2024"``, ``"2015"`` or ``"zones"``: whose sheets (all of them by default).
    quartiers : codes to print (default: every quartier of the geography).

    Returns
    -------
    the PDF paths, ``<code>.pdf`` then ``<code>-annexe.pdf`` for each quartier.

    Raises
    ------
    ObservatoireError
        when a sheet has not been written as HTML yet (French message with the command to run).
    ChromiumAbsentError
        when Chromium or playwright is missing.
    """
    if isinstance(quartiers, str):
        quartiers = [quartiers]
    codes = list(quartiers) if quartiers else _codes(config, geographie)
    out_dir = Path(config.paths.portraits)
    missing = [c for c in codes if not (out_dir / f"{c}.html").exists()]
    if missing:
        opt = "" if geographie == "2024" else f" --geographie {geographie}"
        raise ObservatoireError(f"Portrait HTML absent pour {', '.join(missing)} : rien à imprimer "
                                "(HTML sheet missing, nothing to print).", fichier=str(out_dir / f"{missing[0]}.html"),
                                correction=f"lancez d'abord « observatoire portraits --sans-pdf{opt} »")
    pdfs = print_pdfs([out_dir / f"{c}.html" for c in codes])
    from .index import set_pdf_links
    set_pdf_links(out_dir, geographie, codes)
    return pdfs
