"""``keysvc-migrate fingerprint`` and ``verify``: offline, on a fake machine, in-process."""

from __future__ import annotations

import dataclasses
import doctest
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import keysvc.migrate.output
from keysvc.migrate import MachineFingerprint, cli, machine_fingerprint
from keysvc.migrate.runtime import Runtime
from signing import KeyRing, LicenseClaims, fingerprint_hash

from .fake_machine import FakeMachine

OTHER_SERVER = "fp1:" + "cd" * 32
ROOT = Path(cli.__file__).resolve().parents[2]


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.stdout)
        return document


def run(argv: list[str], machine_root: Path, *, root: bool = True) -> Ran:
    stdout, stderr = io.StringIO(), io.StringIO()
    runtime = Runtime(
        environ={},
        now=lambda: datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        machine=lambda: machine_fingerprint(machine_root, hostname="neo01"),
        is_root=lambda: root,
        stdout=stdout,
        stderr=stderr,
        interactive=False,
    )
    code = cli.main(argv, runtime=runtime)
    return Ran(code, stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def machine(tmp_path: Path) -> Path:
    root = tmp_path / "machine"
    FakeMachine(root).full()
    return root


@pytest.fixture
def key_for_this_machine(
    tmp_path: Path, ring: KeyRing, claims: LicenseClaims, machine: Path
) -> Path:
    """A key bound to the fake machine's own fingerprint, in a file."""
    fingerprint = machine_fingerprint(machine, hostname="neo01").fingerprint
    bound = dataclasses.replace(claims, fingerprint_hash=fingerprint_hash(fingerprint))
    path = tmp_path / "license.key"
    path.write_text(ring.sign_license(bound) + "\n", encoding="ascii")
    return path


def test_fingerprint_prints_only_the_fingerprint_so_scripts_can_capture_it(machine: Path) -> None:
    ran = run(["fingerprint"], machine)
    assert ran.code == 0
    assert ran.stdout == machine_fingerprint(machine, hostname="neo01").fingerprint + "\n"
    assert ran.stderr == ""


def test_fingerprint_json_lists_every_source_present_or_not(tmp_path: Path) -> None:
    root = tmp_path / "machine"
    FakeMachine(root).machine_id()
    document = run(["fingerprint", "--json"], root).json()
    assert document["ok"] is True
    assert document["fingerprint"] == machine_fingerprint(root, hostname="neo01").fingerprint
    sources = {source["name"]: source for source in document["sources"]}
    assert list(sources) == ["machine-id", "product-uuid", "mac-addresses", "hostname"]
    assert sources["machine-id"]["present"] is True
    assert sources["product-uuid"]["present"] is False
    assert "not found" in sources["product-uuid"]["note"]
    assert document["canonical_text"].splitlines()[0].startswith("machine-id=")


def test_fingerprint_explain_says_where_each_source_was_read_or_why_not(tmp_path: Path) -> None:
    root = tmp_path / "machine"
    FakeMachine(root).machine_id()
    lines = run(["fingerprint", "--explain"], root).stdout.splitlines()
    assert lines[0].startswith("fp1:")
    text = "\n".join(lines)
    assert f"from {root}/etc/machine-id" in text
    assert "product-uuid" in text
    assert "absent:" in text
    assert "hostname=neo01" in text


def test_not_root_and_no_product_uuid_warns_that_a_root_run_may_differ(tmp_path: Path) -> None:
    root = tmp_path / "machine"
    FakeMachine(root).machine_id()
    ran = run(["fingerprint"], root, root=False)
    assert ran.code == 0
    assert "warning: not running as root" in ran.stderr
    assert run(["fingerprint"], root, root=True).stderr == ""


def test_not_root_with_the_product_uuid_read_needs_no_warning(machine: Path) -> None:
    assert run(["fingerprint"], machine, root=False).stderr == ""


def test_a_machine_with_nothing_to_be_named_by_is_a_local_problem(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    stdout, stderr = io.StringIO(), io.StringIO()

    def nothing() -> MachineFingerprint:
        return machine_fingerprint(empty, hostname="")

    runtime = Runtime({}, lambda: datetime.now(UTC), nothing, lambda: True, stdout, stderr, False)
    assert cli.main(["--json", "fingerprint"], runtime=runtime) == 2
    error = json.loads(stdout.getvalue())["error"]
    assert error["reason"] == "FINGERPRINT_UNAVAILABLE"


def test_verify_accepts_a_key_for_this_machine_and_prints_its_claims(
    machine: Path, key_for_this_machine: Path, jwks_file: Path, claims: LicenseClaims
) -> None:
    ran = run(
        ["verify", "--key-file", str(key_for_this_machine), "--jwks", str(jwks_file)], machine
    )
    assert ran.code == 0, ran.stderr
    assert ran.stdout.startswith("valid: genuine, and issued for this fingerprint\n")
    assert claims.serial in ran.stdout
    assert "(this machine)" in ran.stdout
    assert "superseded" in ran.stdout  # says what offline cannot know


def test_verify_json_has_the_claims(
    machine: Path, key_for_this_machine: Path, jwks_file: Path, claims: LicenseClaims
) -> None:
    args = ["verify", "--json", "--key-file", str(key_for_this_machine), "--jwks", str(jwks_file)]
    document = run(args, machine).json()
    assert document["ok"] is True
    assert document["valid"] is True
    assert document["claims"] == {
        "serial": claims.serial,
        "contract_number": claims.contract_number,
        "product_code": claims.product_code,
        "seats": claims.seats,
        "generation": claims.generation,
        "support_end": claims.support_end.isoformat(),
        "issued_at": datetime.fromtimestamp(claims.issued_at, UTC).isoformat(),
        "kid": document["claims"]["kid"],
    }


def test_a_key_for_another_server_is_invalid_with_its_claims_and_what_to_do(
    tmp_path: Path, machine: Path, license_key: str, jwks_file: Path, claims: LicenseClaims
) -> None:
    key_file = tmp_path / "other.key"
    key_file.write_text(license_key)
    args = ["verify", "--key-file", str(key_file), "--jwks", str(jwks_file)]
    ran = run(args, machine)
    assert ran.code == 1
    assert "error: FINGERPRINT_MISMATCH" in ran.stderr
    assert "keysvc-migrate request" in ran.stderr
    assert claims.serial in ran.stdout
    document = run(["--json", *args], machine).json()
    assert document["ok"] is False
    assert document["valid"] is False
    assert document["claims"]["serial"] == claims.serial
    assert document["error"]["reason"] == "FINGERPRINT_MISMATCH"
    assert document["error"]["exit_code"] == 1


def test_the_fingerprint_given_replaces_this_machines(
    tmp_path: Path, machine: Path, license_key: str, jwks_file: Path, this_server: str
) -> None:
    key_file = tmp_path / "license.key"
    key_file.write_text(license_key)
    args = ["verify", "--key-file", str(key_file), "--jwks", str(jwks_file)]
    assert run([*args, "--fingerprint", this_server.upper()], machine).code == 0
    assert run([*args, "--fingerprint", OTHER_SERVER], machine).code == 1
    assert run([*args, "--no-fingerprint"], machine).code == 0


def test_a_tampered_key_is_explained(
    tmp_path: Path, machine: Path, key_for_this_machine: Path, jwks_file: Path
) -> None:
    header, payload, signature = key_for_this_machine.read_text().strip().split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    key_file = tmp_path / "tampered.key"
    key_file.write_text(f"{header}.{payload}.{flipped}\n")
    ran = run(["verify", "--key-file", str(key_file), "--jwks", str(jwks_file)], machine)
    assert ran.code == 1
    assert "LICENSE_KEY_BAD_SIGNATURE" in ran.stderr
    assert "copy it again from the e-mail" in ran.stderr


@pytest.fixture
def verify_files(key_for_this_machine: Path, jwks_file: Path) -> tuple[str, str]:
    return str(key_for_this_machine), str(jwks_file)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"key": "missing"}, "KEY_FILE"),
        ({"jwks": "missing"}, "JWKS_FILE"),
        ({"jwks": "not a jwks"}, "INVALID_JWKS"),
        ({"fingerprint": "short"}, "INVALID_FINGERPRINT"),
    ],
)
def test_unusable_inputs_are_usage_errors(
    tmp_path: Path,
    machine: Path,
    verify_files: tuple[str, str],
    change: dict[str, str],
    reason: str,
) -> None:
    key_file, jwks = verify_files
    extra = []
    if change.get("key") == "missing":
        key_file = str(tmp_path / "nope.key")
    if change.get("jwks") == "missing":
        jwks = str(tmp_path / "nope.json")
    if change.get("jwks") == "not a jwks":
        (tmp_path / "bad.json").write_text('{"keys": 3}')
        jwks = str(tmp_path / "bad.json")
    if "fingerprint" in change:
        extra = ["--fingerprint", change["fingerprint"]]
    ran = run(["--json", "verify", "--key-file", key_file, "--jwks", jwks, *extra], machine)
    assert ran.code == 2
    assert ran.json()["error"]["reason"] == reason


def test_fingerprint_and_no_fingerprint_exclude_each_other(machine: Path, jwks_file: Path) -> None:
    args = ["verify", "--key-file", "k", "--jwks", str(jwks_file), "--no-fingerprint"]
    ran = run([*args, "--fingerprint", OTHER_SERVER], machine)
    assert ran.code == 2
    assert "not allowed with" in ran.stderr


def test_usage_errors_exit_2_and_answer_json_when_asked(machine: Path) -> None:
    ran = run(["frobnicate"], machine)
    assert ran.code == 2
    assert "error: USAGE" in ran.stderr
    ran = run(["--json", "request"], machine)
    assert ran.code == 2
    assert ran.json()["error"]["reason"] == "USAGE"
    assert "--contract" in ran.json()["error"]["message"]


def test_json_and_lang_are_accepted_after_the_command_too(machine: Path) -> None:
    assert run(["fingerprint", "--json"], machine).json()["ok"] is True
    assert run(["--json", "fingerprint", "--lang", "en"], machine).json()["ok"] is True


def test_help_exits_0(machine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"], machine).code == 0
    assert "exit codes" in capsys.readouterr().out
    for command in ("fingerprint", "jwks", "request", "wait", "install", "verify"):
        assert run([command, "--help"], machine).code == 0
        assert "usage: keysvc-migrate " + command in capsys.readouterr().out


# Blocks modules in a fresh interpreter, then runs the tool: what it must not need.
BLOCKED = """
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCK):
            raise ImportError(f"{name} is blocked in this test")
        return None
BLOCK = sys.argv[1].split(",")
sys.meta_path.insert(0, Blocker())
from keysvc.migrate.cli import main
sys.exit(main(sys.argv[2:]))
"""


def run_blocked(
    blocked: str, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKED, blocked, *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def test_help_verify_and_status_need_neither_sqlalchemy_nor_grpc(
    tmp_path: Path, license_key: str, jwks_file: Path, this_server: str
) -> None:
    # grpc blocked too: verify cannot open a channel if it cannot even load the library.
    blocked = "sqlalchemy,alembic,grpc,keysvc.client,keysvc.v1,google.protobuf"
    helped = run_blocked(blocked, "--help")
    assert helped.returncode == 0, helped.stderr
    assert "keysvc-migrate" in helped.stdout
    key_file = tmp_path / "license.key"
    key_file.write_text(license_key)
    args = ["verify", "--key-file", str(key_file), "--jwks", str(jwks_file)]
    verified = run_blocked(blocked, *args, "--fingerprint", this_server)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("valid:")
    fingerprint = run_blocked(blocked, "fingerprint")
    assert fingerprint.returncode == 0, fingerprint.stderr
    # status too: this key names no status list, so it stops before any fetch, having
    # loaded all its modules.
    args = ["status", "--key-file", str(key_file), "--jwks", str(jwks_file)]
    status = run_blocked(blocked, *args, "--output", str(tmp_path / "list.jwt"))
    assert status.returncode == 2, status.stderr
    assert "error: NO_STATUS_LIST" in status.stderr


def test_networked_commands_need_no_sqlalchemy_either() -> None:
    # Port 1 refuses at once: the call went through the client library, over grpc.
    env = {"KEYSVC_TOKEN": "ksv1.test", "KEYSVC_ADDRESS": "127.0.0.1:1"}
    ran = run_blocked("sqlalchemy,alembic,psycopg", "--json", "jwks", env=env)
    assert ran.returncode == 3, ran.stderr
    assert json.loads(ran.stdout)["error"]["reason"] == "UNAVAILABLE"


def test_docstring_examples_hold() -> None:
    for module in (keysvc.migrate.output,):
        result = doctest.testmod(module)
        assert result.attempted > 0
        assert result.failed == 0
