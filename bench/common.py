"""What every benchmark script shares: the machine it ran on, the figure line, the JSON file.

A script measures each *figure* against its *floor* (the cost it cannot avoid,
measured in the same run) and prints one line per figure::

    outbox drained over SMTP, SQLite: 812 msg/s
        (floor: 1,050 msg/s, ratio: 77.3 %, goal: ratio ≥ 70 % → met)

(one line, wrapped here).

With ``--json PATH`` it writes ``{"benchmark", "machine", "results", ...}``;
`machine` records the CPU, Python and the versions of the packages that matter.

The scripts run as ``python bench/<script>.py``, which puts ``bench/`` on the
import path: they import this module as ``common``.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

__all__ = [
    "Figure",
    "Goal",
    "free_port",
    "machine",
    "median",
    "write_json",
]


def machine(
    packages: Iterable[str] = (), extra: Mapping[str, object] | None = None
) -> dict[str, object]:
    """What the figures were measured on: CPUs, CPU model, Python, package versions, OS.

    Each package in ``packages`` appears under its distribution name with its
    installed version (``"not installed"`` when absent); ``extra`` entries follow
    them, before ``platform``.
    """
    info: dict[str, object] = {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
    }
    for package in packages:
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = "not installed"
    info.update(extra or {})
    info["platform"] = platform.platform()
    return info


def cpu_model() -> str:
    """The ``model name`` of /proc/cpuinfo, else what `platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def write_json(
    path: Path,
    benchmark: str,
    machine_info: Mapping[str, object],
    results: Sequence[Mapping[str, object]],
    **extra: object,
) -> None:
    """Writes ``{"benchmark", "machine", "results", **extra}`` as indented JSON to ``path``."""
    document = {"benchmark": benchmark, "machine": machine_info, "results": results, **extra}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def median(values: Iterable[float]) -> float:
    """The median of ``values`` (there must be at least one)."""
    return float(statistics.median(list(values)))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at the moment."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Goal:
    """A goal on the figure's ``ratio`` to its floor, or on its ``value`` itself.

    ``Goal("ratio", ">=", 0.70)`` reads "ratio ≥ 70 %"; ``Goal("value", "<=", 2.0)``
    on a figure in seconds reads "≤ 2 s".
    """

    on: Literal["ratio", "value"]
    comparison: Literal[">=", "<="]
    limit: float

    def met(self, value: float, ratio: float | None) -> bool | None:
        """Whether the goal is met; None when it is on a ratio there is none of."""
        subject = value if self.on == "value" else ratio
        if subject is None:
            return None
        return subject >= self.limit if self.comparison == ">=" else subject <= self.limit

    def text(self, unit: str) -> str:
        """``ratio ≥ 70 %`` or ``≤ 2 s``."""
        sign = "≥" if self.comparison == ">=" else "≤"
        if self.on == "ratio":
            return f"ratio {sign} {self.limit:.0%}".replace("%", " %")
        return f"{sign} {self.limit:g} {unit}"


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure, its floor, and its goal if it has one.

    ``ratio`` is ``value / floor_value`` unless given (a median of per-round
    ratios, say). For rates (higher is better) it shows as a percentage; for
    times and sizes (``higher_is_better=False``) as a multiple.
    """

    name: str
    value: float
    unit: str
    floor: str | None = None
    floor_value: float | None = None
    ratio: float | None = None
    goal: Goal | None = None
    higher_is_better: bool = True

    @property
    def effective_ratio(self) -> float | None:
        """The ratio given, or ``value / floor_value``; None without a floor."""
        if self.ratio is not None:
            return self.ratio
        if self.floor_value:
            return self.value / self.floor_value
        return None

    @property
    def met(self) -> bool | None:
        """Whether the goal is met; None without a goal."""
        return None if self.goal is None else self.goal.met(self.value, self.effective_ratio)

    def ratio_text(self) -> str:
        """``77.3 %`` for a rate, ``2.41x`` for a time or a size, ``—`` without a floor."""
        ratio = self.effective_ratio
        if ratio is None:
            return "—"
        return f"{ratio:.1%}".replace("%", " %") if self.higher_is_better else f"{ratio:.2f}x"

    def goal_text(self) -> str:
        """``ratio ≥ 70 % → met``, ``≤ 2 s → NOT MET``, or ``none``."""
        if self.goal is None:
            return "none"
        verdict = {True: "met", False: "NOT MET", None: "unknown"}[self.met]
        return f"{self.goal.text(self.unit)} → {verdict}"

    def line(self) -> str:
        """``name: value unit (floor: x unit, ratio: y, goal: z → met)``."""
        floor = "—" if self.floor_value is None else f"{_number(self.floor_value)} {self.unit}"
        return (
            f"{self.name}: {_number(self.value)} {self.unit} "
            f"(floor: {floor}, ratio: {self.ratio_text()}, goal: {self.goal_text()})"
        )

    def as_dict(self) -> dict[str, object]:
        """The figure for the JSON file."""
        ratio = self.effective_ratio
        return {
            "figure": self.name,
            "value": round(self.value, 4),
            "unit": self.unit,
            "floor": self.floor,
            "floor_value": None if self.floor_value is None else round(self.floor_value, 4),
            "ratio": None if ratio is None else round(ratio, 3),
            "goal": None if self.goal is None else self.goal.text(self.unit),
            "met": self.met,
        }


def _number(value: float) -> str:
    """Thousands separated above 100; three significant digits or so below."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
