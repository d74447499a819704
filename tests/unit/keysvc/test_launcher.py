"""`keysvc` on a client-only install: the server's commands say what to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keysvc

ROOT = Path(keysvc.__file__).resolve().parents[1]

# `keysvc ARGS...` with the modules named in argv[1] (comma-separated) unimportable,
# as in an install without them.
WITHOUT = """
import sys
blocked = sys.argv[1].split(",")
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
from keysvc.launcher import main
sys.exit(main(sys.argv[2:]))
"""


def _keysvc_without(blocked: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, blocked, *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def test_a_server_command_without_the_server_extra_says_what_to_install_in_one_line() -> None:
    ran = _keysvc_without("sqlalchemy", "serve", "--data-dir", "unused")
    assert ran.returncode == 2
    assert ran.stdout == ""
    assert ran.stderr.splitlines() == [
        "keysvc serve: needs the server's libraries, not installed here (no module "
        "'sqlalchemy'): pip install 'keysvc[server]'"
    ]


def test_the_admin_cli_needs_nothing_of_the_server_extra() -> None:
    ran = _keysvc_without("sqlalchemy,alembic,psycopg,holidays,dateutil", "admin", "--help")
    assert ran.returncode == 0, ran.stderr
    assert "contracts" in ran.stdout


def test_a_missing_module_of_keysvc_itself_is_not_passed_off_as_the_extra() -> None:
    ran = _keysvc_without("keysvc.bootstrap", "serve")
    assert ran.returncode == 1
    assert "Traceback" in ran.stderr
    assert "keysvc[server]" not in ran.stderr
