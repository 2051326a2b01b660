"""Progress and timings of the pipeline stages, in French, on standard error.

Every stage announces itself, shows its progress on long steps and ends with its wall and CPU time,
so that a user never watches a silent terminal for minutes::

    from observatoire.progress import etape, suivre, info, avertir

    with etape("Cartes") as e:                      # « ▶ Cartes »
        for ind in suivre(indicateurs, "cartes"):   # a bar on a terminal, a line every ~10 % otherwise
            ...
        e.resume("105 cartes dans maps/")           # « ✓ 105 cartes dans maps/ (12,3 s ; CPU 10,1 s) »

CPU time counts this process and the child processes it waited for (Chromium for the PDFs).
``OBSERVATOIRE_SILENCE=1`` turns progress lines off (tests); errors are never silenced.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

from rich.console import Console
from rich.markup import escape

T = TypeVar("T")

console = Console(stderr=True, highlight=False)


def _silent() -> bool:
    return os.environ.get("OBSERVATOIRE_SILENCE", "") not in ("", "0")


def _fmt(seconds: float) -> str:
    """``12,3 s`` / ``2 min 05 s`` (French decimal comma)."""
    if seconds < 60:
        return f"{seconds:.1f}".replace(".", ",") + " s"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s:02d} s"


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Etape:
    """A running stage: :meth:`resume` sets the closing line, :meth:`detail` prints a sub-step."""

    def __init__(self, titre: str):
        self.titre = titre
        self.t0 = time.perf_counter()
        self.c0 = _cpu()
        self.texte_fin = ""

    @property
    def duree(self) -> float:
        return time.perf_counter() - self.t0

    @property
    def cpu(self) -> float:
        return _cpu() - self.c0

    def detail(self, msg: str) -> None:
        info(f"  {msg}")

    def resume(self, msg: str) -> None:
        self.texte_fin = msg


@contextmanager
def etape(titre: str) -> Iterator[Etape]:
    """Announce a stage, time it, print « ✓ résumé (durée ; CPU) » when it succeeds."""
    e = Etape(titre)
    if not _silent():
        console.print(f"[bold]▶ {escape(titre)}[/bold]")
    yield e
    if not _silent():
        fin = e.texte_fin or "terminé"
        console.print(f"  ✓ {escape(fin)} ({_fmt(e.duree)} ; CPU {_fmt(e.cpu)})")


def info(msg: str) -> None:
    """A progress line (silenced by ``OBSERVATOIRE_SILENCE``)."""
    if not _silent():
        console.print(escape(msg), soft_wrap=True)


def avertir(msg: str) -> None:
    """A warning the user must read (never silenced)."""
    console.print(f"[bold yellow]Attention[/bold yellow] : {escape(msg)}", soft_wrap=True)


def suivre(items: Iterable[T], quoi: str, total: int | None = None) -> Iterator[T]:
    """Iterate over ``items`` showing progress: a bar on a terminal, else a line about every 10 %
    (and at least every 10 s) such as « cartes : 40/105 (38 %) »."""
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    if _silent():
        yield from items
        return
    if console.is_terminal and total:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn(f"  {escape(quoi)}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("reste"), TimeRemainingColumn(), console=console, transient=True) as p:
            task = p.add_task(quoi, total=total)
            for x in items:
                yield x
                p.advance(task)
        return
    step = max(1, (total or 10) // 10)
    last = time.perf_counter()
    n = 0
    for x in items:
        yield x
        n += 1
        now = time.perf_counter()
        if total and (n % step == 0 or n == total or now - last > 10):
            console.print(f"  {escape(quoi)} : {n}/{total} ({100 * n // total} %)")
            last = now
        elif not total and now - last > 10:
            console.print(f"  {escape(quoi)} : {n}")
            last = now
