"""`pip install keysvc` is the migration tool's small set: what it imports, nothing of the server.

pyproject.toml's base dependencies are what a customer's server gets; the server's
stack is the extra `server`. test_dependency_rule.py holds the code to the rule
(no module of keysvc.migrate loads the service); this holds the packaging to it:
with nothing importable but the base set, every module of keysvc.migrate loads,
and every distribution of the base set is one it uses.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import keysvc.migrate
from keysvc.launcher import SERVER_EXTRA_MODULES

ROOT = Path(keysvc.migrate.__file__).resolve().parents[2]
SERVER_STACK = {"sqlalchemy", "alembic", "psycopg", "psycopg-binary", "holidays"}

# Blocks the top-level modules named in argv[1] (their distributions are not in the
# base set), imports every module of keysvc.migrate, then lists the files it loaded
# (not those of the interpreter's start-up, such as setuptools' .pth hook).
PROBE = """
import sys
at_start = set(sys.modules)
import importlib, json, pkgutil
blocked = set(json.loads(sys.argv[1]))
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the base set)", name=name)
        return None
sys.meta_path.insert(0, Blocker())
import keysvc.migrate
names = [info.name for info in pkgutil.walk_packages(keysvc.migrate.__path__, "keysvc.migrate.")]
for name in names:
    importlib.import_module(name)
new = [module for name, module in list(sys.modules.items()) if name not in at_start]
files = [getattr(module, "__file__", None) for module in new]
print(json.dumps({"imported": names, "files": sorted({f for f in files if f})}))
"""


def _project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project: dict[str, object] = tomllib.load(file)["project"]
    return project


def _names(specs: object) -> set[str]:
    assert isinstance(specs, list)
    return {canonicalize_name(Requirement(spec).name) for spec in specs}


def _base() -> set[str]:
    return _names(_project()["dependencies"])


def _extra(name: str) -> list[str]:
    extras = _project()["optional-dependencies"]
    assert isinstance(extras, dict)
    specs: list[str] = extras[name]
    return specs


def _closure(names: set[str]) -> set[str]:
    """`names` and everything they require, by the installed distributions' metadata."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for spec in importlib.metadata.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def _owners() -> dict[Path, str]:
    """Every file of every installed distribution, with the distribution's name."""
    owners = {}
    for distribution in importlib.metadata.distributions():
        name = canonicalize_name(distribution.metadata["Name"])
        for file in distribution.files or []:
            owners[Path(distribution.locate_file(file)).resolve()] = name
    return owners


def _modules_outside(allowed: set[str]) -> set[str]:
    """Top-level modules that only distributions outside `allowed` provide."""
    return {
        module
        for module, distributions in importlib.metadata.packages_distributions().items()
        if not {canonicalize_name(name) for name in distributions} & allowed
    }


def test_the_base_set_holds_nothing_of_the_server_stack() -> None:
    assert _base() & SERVER_STACK == set()
    assert _closure(_base()) & SERVER_STACK == set()
    server = _names(_extra("server"))
    assert SERVER_STACK - {"psycopg-binary"} <= server
    # The driver with its compiled library: nothing to build on the server host.
    assert {"binary"} in [Requirement(spec).extras for spec in _extra("server")]


def test_the_base_set_is_exactly_what_the_migration_tool_imports() -> None:
    allowed = _closure(_base()) | {"keysvc"}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(sorted(_modules_outside(allowed)))],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        # As on a host without /usr/share/zoneinfo: Asia/Tokyo comes from tzdata.
        env={**os.environ, "PYTHONTZPATH": ""},
    )
    assert completed.returncode == 0, completed.stderr  # the base set suffices
    report = json.loads(completed.stdout)
    assert "keysvc.migrate.fingerprint" in report["imported"]
    owners = _owners()
    loaded = [Path(file).resolve() for file in report["files"]]
    used = {owners[path] for path in loaded if path in owners}
    assert _base() <= used  # each one is needed
    assert used - {"keysvc"} <= _closure(_base())


def test_the_launcher_knows_every_module_of_the_server_extra() -> None:
    provided: dict[str, set[str]] = {}
    for module, distributions in importlib.metadata.packages_distributions().items():
        for name in distributions:
            provided.setdefault(canonicalize_name(name), set()).add(module)
    server = _names(_extra("server"))
    for name in server:
        assert provided[name] & SERVER_EXTRA_MODULES, name
    assert set().union(*(provided[name] for name in server)) >= SERVER_EXTRA_MODULES
