#!/usr/bin/env python3
"""Map benchmark: Fisher-Jenks time on 50,000 values and the size of each generated map.

``python scripts/bench_maps.py [MAPS_DIR]`` (default ``maps``; run ``make`` or ``make demo`` first).
"""

from __future__ import annotations

import sys
from pathlib import Path

from observatoire.fr import format_nombre
from observatoire.maps.build import BUDGET_QUARTIER, BUDGET_TERRITOIRE, map_sizes
from observatoire.maps.classify import bench_fisher_jenks


def main(argv: list[str]) -> int:
    fj = bench_fisher_jenks(n=50_000, k=5)
    print("Fisher-Jenks, 50 000 valeurs, 5 classes :",
          ", ".join(f"{k} = {format_nombre(v, 3) if isinstance(v, float) else v}" for k, v in fj.items()))
    maps = Path(argv[0]) if argv else Path("maps")
    if not (maps / "index.html").exists():
        print(f"Pas de cartes dans {maps} : lancez « make » ou « make demo » d'abord.")
        return 0
    sizes = map_sizes(maps)
    print(f"Tailles des cartes ({maps}) :")
    for name, size in sorted(sizes.items()):
        if not name.startswith("_"):
            print(f"  {name:<45} {format_nombre(size / 1000, 0):>8} ko")
    print(f"Plus grande carte de territoire : {format_nombre(sizes['_max_territoire'] / 1e6, 2)} Mo "
          f"(budget {format_nombre(BUDGET_TERRITOIRE / 1e6, 0)} Mo) ; plus grande carte de quartier : "
          f"{format_nombre(sizes['_max_quartier'] / 1e6, 2)} Mo (budget {format_nombre(BUDGET_QUARTIER / 1e6, 0)} Mo) ; "
          f"budgets {'respectés' if sizes['_budget_ok'] else 'DÉPASSÉS'}.")
    return 0 if sizes["_budget_ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
