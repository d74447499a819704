"""Prints the mutation score of each mutated module, from mutmut's results (`make mutate`).

A mutant is detected when a test failed (killed) or ran out of time (a loop the
mutation made endless). Mutants listed in tests/equivalent_mutants.txt change no
behaviour, each with its reason (docs/testing.md), and leave the count. Exits 1
when a module's score is under the goal, listing its surviving mutants.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

GOAL = 95.0
DETECTED = {"killed", "timeout"}
EQUIVALENTS = Path(__file__).with_name("equivalent_mutants.txt")


def _results() -> dict[str, str]:
    output = subprocess.run(
        [str(Path(sys.executable).with_name("mutmut")), "results", "--all", "true"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    statuses = {}
    for line in output.splitlines():
        name, separator, status = line.strip().rpartition(": ")
        if separator:
            statuses[name] = status
    return statuses


def _equivalents() -> set[str]:
    if not EQUIVALENTS.exists():
        return set()
    names = (line.split("#", 1)[0].strip() for line in EQUIVALENTS.read_text().splitlines())
    return {name for name in names if name}


def main() -> int:
    """Prints the table; 1 when a module is under the goal or mutants were not checked."""
    equivalent = _equivalents()
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for name, result in sorted(_results().items()):
        module = name.rpartition(".x")[0]
        status = "equivalent" if name in equivalent else result
        by_module[module][status] += 1
        if status not in DETECTED | {"equivalent"}:
            survivors[module].append(f"{name}: {status}")
    print("| module | mutants | killed | timed out | equivalent | left | score |")
    print("|---|---|---|---|---|---|---|")
    failed = False
    for module, counts in sorted(by_module.items()):
        total = sum(counts.values())
        counted = total - counts["equivalent"]
        detected = counts["killed"] + counts["timeout"]
        score = 100.0 * detected / counted if counted else 100.0
        failed = failed or score < GOAL
        print(
            f"| `{module}` | {total} | {counts['killed']} | {counts['timeout']} | "
            f"{counts['equivalent']} | {counted - detected} | {score:.1f} % |"
        )
    for module, names in sorted(survivors.items()):
        print(f"\n{module}:", *names, sep="\n  ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
