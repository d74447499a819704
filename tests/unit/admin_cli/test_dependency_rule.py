"""The admin CLI is a client of the API: it must not load the database or the server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keysvc.admin_cli

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
    "keysvc.bootstrap",
    "keysvc.server",
)

# Imports every module of the package, found on disk so that new ones are covered,
# then lists what got loaded.
PROBE = """
import importlib, json, pkgutil, sys
import keysvc.admin_cli
package = keysvc.admin_cli
names = [info.name for info in pkgutil.walk_packages(package.__path__, "keysvc.admin_cli.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""

ROOT = Path(keysvc.admin_cli.__file__).resolve().parents[2]


def test_importing_every_module_loads_nothing_of_the_service() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=ROOT
    )
    report = json.loads(completed.stdout)
    assert "keysvc.admin_cli.month_calendar" in report["imported"]
    loaded = [
        name
        for name in report["loaded"]
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN)
    ]
    assert loaded == []
