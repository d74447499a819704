"""`pip install keysvc` without the `server` extra, as on a customer's server.

The project is built into a wheel and installed into a fresh virtualenv with
its base dependencies only, pinned by constraints.txt (from the package index,
so this test needs it reachable; pip's cache makes it quick). There the
migration tool works — offline, and over gRPC against a real server — while
SQLAlchemy is not even installed, and the server's commands say what to add.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from signing import KeyRing, LicenseClaims, SigningKey, fingerprint_hash

from .server_process import PROJECT, create_token, keysvc_server

pytestmark = pytest.mark.e2e

SOURCES = ("pyproject.toml", "README.md", "keysvc", "signing", "scheduler")
# Settings of the developer's shell must not reach the customer's runs.
_CLEARED = ("PYTHONPATH", "VIRTUAL_ENV", "KEYSVC_ADDRESS", "KEYSVC_TOKEN", "KEYSVC_TOKEN_FILE")


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None):
    base = {name: value for name, value in os.environ.items() if name not in _CLEARED}
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=base | (env or {}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _client_install(tmp_path: Path) -> Path:
    """A virtualenv holding keysvc and its base dependencies; returns its bin/."""
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        origin = PROJECT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, source / name)
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check")
    # Built with the setuptools of this virtualenv (checked against build-system.requires)
    # rather than one pip would fetch for an isolated build: the same wheel, sooner.
    built = _run(
        *pip,
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--check-build-dependencies",
        "-w",
        tmp_path / "dist",
        source,
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("keysvc-*.whl")
    venv = tmp_path / "customer-venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = _run(
        *pip,
        "--python",
        python,
        "install",
        "--quiet",
        "-c",
        PROJECT / "constraints.txt",
        wheel,
        cwd=tmp_path,
    )
    assert installed.returncode == 0, installed.stderr
    return venv / "bin"


def test_the_migration_tool_installs_and_runs_without_the_server_stack(tmp_path: Path) -> None:
    bin_dir = _client_install(tmp_path)
    home = tmp_path / "new-server"
    home.mkdir()

    listed = _run(bin_dir / "python", "-m", "pip", "--version", cwd=home)
    assert listed.returncode != 0  # no pip either: nothing but what the wheel asked for
    absent = _run(
        bin_dir / "python",
        "-c",
        "import importlib.metadata as m, json; "
        "print(json.dumps(sorted(d.metadata['Name'].lower() for d in m.distributions())))",
        cwd=home,
    )
    assert absent.returncode == 0, absent.stderr
    distributions = set(json.loads(absent.stdout))
    assert "keysvc" in distributions
    assert distributions.isdisjoint({"sqlalchemy", "alembic", "psycopg", "holidays"})

    printed = _run(bin_dir / "keysvc-migrate", "fingerprint", cwd=home)
    assert printed.returncode == 0, printed.stderr
    fingerprint = printed.stdout.strip()
    assert fingerprint.startswith("fp1:")

    ring = KeyRing(SigningKey.generate())
    claims = LicenseClaims(
        serial="L-2026-ABCDEFGHJK",
        issued_at=1795305600,
        product_code="neo-backup",
        contract_number="SS-2026-000123",
        seats=25,
        generation=2,
        fingerprint_hash=fingerprint_hash(fingerprint),
        support_end=datetime.date(2027, 11, 30),
    )
    (home / "license.key").write_text(ring.sign_license(claims) + "\n")
    (home / "jwks.json").write_text(ring.jwks_json())
    verified = _run(
        bin_dir / "keysvc-migrate",
        "verify",
        "--key-file",
        "license.key",
        "--jwks",
        "jwks.json",
        "--json",
        cwd=home,
    )
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["claims"]["serial"] == claims.serial

    # The server's commands name the extra, in one line; the admin CLI works without it.
    served = _run(bin_dir / "keysvc", "serve", "--data-dir", home / "var", cwd=home)
    assert served.returncode == 2
    (line,) = served.stderr.splitlines()
    assert line.startswith("keysvc serve: needs the server's libraries, not installed here")
    assert line.endswith(": pip install 'keysvc[server]'")
    assert not (home / "var").exists()
    assert _run(bin_dir / "keysvc", "admin", "--help", cwd=home).returncode == 0

    # Over gRPC, against a real server (from the developer's install): the networked
    # commands need nothing more either.
    data = tmp_path / "data"
    with keysvc_server(data) as server:
        token = create_token(data, "migration")
        fetched = _run(
            bin_dir / "keysvc-migrate",
            "jwks",
            "--output",
            "server-jwks.json",
            cwd=home,
            env={"KEYSVC_ADDRESS": server.address, "KEYSVC_TOKEN": token},
        )
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads((home / "server-jwks.json").read_text())["keys"]
