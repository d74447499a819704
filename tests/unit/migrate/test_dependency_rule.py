"""The migration tool runs on customers' servers: it must not drag in the service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keysvc.migrate

FORBIDDEN = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "holidays",
    "scheduler",
    "keysvc.persistence",
    "keysvc.service",
    "keysvc.api",
    "keysvc.domain",
)

# Imports every module of the package, found on disk so that new ones are covered,
# then lists what got loaded.
PROBE = """
import importlib, json, pkgutil, sys
import keysvc.migrate
names = [info.name for info in pkgutil.walk_packages(keysvc.migrate.__path__, "keysvc.migrate.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""

ROOT = Path(keysvc.migrate.__file__).resolve().parents[2]


def test_importing_every_module_loads_nothing_of_the_service() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=ROOT
    )
    report = json.loads(completed.stdout)
    assert "keysvc.migrate.fingerprint" in report["imported"]
    loaded = [
        name
        for name in report["loaded"]
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN)
    ]
    assert loaded == []
