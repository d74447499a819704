"""``request``, ``wait``, ``install`` and ``jwks`` against a fake keysvc, in-process.

The fake remembers request_ids as the service does (AIP-155), so the tests can
lose an answer, crash between steps, and check that a re-run never makes a
second request. The real service is in tests/e2e/test_migrate_cli.py.
"""

from __future__ import annotations

import dataclasses
import doctest
import io
import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

import keysvc.migrate.connection
import keysvc.migrate.request_command
from keysvc.client import ClientConfig
from keysvc.client.errors import (
    AuthenticationError,
    FailedPreconditionError,
    KeysvcClientError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)
from keysvc.migrate import cli, machine_fingerprint
from keysvc.migrate.runtime import Runtime
from keysvc.v1 import resources_pb2
from signing import KeyRing, LicenseClaims, fingerprint_hash

from .fake_machine import FakeMachine

CONTRACT = "SS-2026-000123"
EMAIL = "it@example.co.jp"
# Friday 2026-11-20 17:00 JST, the cutoff: due Tuesday the 24th (the 23rd is a holiday).
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
RELEASE = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
OTHER_SERVER = "fp1:" + "cd" * 32
PENDING = resources_pb2.KEY_REQUEST_STATE_PENDING
RELEASED = resources_pb2.KEY_REQUEST_STATE_RELEASED
REJECTED = resources_pb2.KEY_REQUEST_STATE_REJECTED


def stamp(instant: datetime) -> Timestamp:
    result = Timestamp()
    result.FromDatetime(instant)
    return result


def unavailable() -> UnavailableError:
    return UnavailableError(grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE", "connection refused", {})


class FakeKeysvc:
    """Answers like keysvc: one key request per request_id, released when the test says."""

    def __init__(self, ring: KeyRing, claims: LicenseClaims) -> None:
        self.ring = ring
        self.claims = claims
        self.requests: dict[str, resources_pb2.KeyRequest] = {}
        self.fingerprints: dict[str, str] = {}
        self.answers: dict[str, resources_pb2.KeyRequest] = {}  # by request_id
        self.submitted: list[dict[str, object]] = []
        self.configs: list[ClientConfig] = []
        self.failures: list[KeysvcClientError] = []  # raised by the next calls, in order
        self.lose_next_answer = False
        self.on_submit: Callable[[str], None] = lambda request_id: None
        self.release_on_poll = False
        self.outages_after_poll = 0  # the service goes away just after answering a poll
        self.interrupt_on_poll = False  # the customer presses Ctrl-C
        self.jwks_calls = 0

    # The connection: the tool calls connect(config), then uses it as a context manager.
    def __call__(self, config: ClientConfig) -> FakeKeysvc:
        self.configs.append(config)
        return self

    def __enter__(self) -> FakeKeysvc:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def _fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    def submit_key_request(
        self,
        contract_number: str,
        kind: resources_pb2.KeyRequestKind.ValueType,
        *,
        fingerprint: str = "",
        contact_email: str = "",
        previous_license_serial: str = "",
        previous_key: str = "",
        request_id: str = "",
    ) -> resources_pb2.KeyRequest:
        self.on_submit(request_id)
        self.submitted.append(
            {
                "contract_number": contract_number,
                "kind": kind,
                "fingerprint": fingerprint,
                "contact_email": contact_email,
                "previous_license_serial": previous_license_serial,
                "previous_key": previous_key,
                "request_id": request_id,
            }
        )
        self._fail()
        if request_id not in self.answers:
            number = f"kr_{len(self.requests) + 1:04d}"
            answer = resources_pb2.KeyRequest(
                id=number,
                contract_number=contract_number,
                kind=kind,
                state=PENDING,
                accept_time=stamp(NOW),
                due_date="2026-11-24",
                release_time=stamp(RELEASE),
            )
            self.requests[number] = answer
            self.fingerprints[number] = fingerprint
            self.answers[request_id] = resources_pb2.KeyRequest()
            self.answers[request_id].CopyFrom(answer)
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise unavailable()
        return self.answers[request_id]

    def get_key_request(self, request_id: str) -> resources_pb2.KeyRequest:
        self._fail()
        if request_id not in self.requests:
            raise NotFoundError(grpc.StatusCode.NOT_FOUND, "KEY_REQUEST_NOT_FOUND", "no", {})
        return self.requests[request_id]

    def wait_for_release(
        self,
        request_id: str,
        *,
        timeout: float,
        poll_interval: float = 2.0,
        on_poll: Callable[[resources_pb2.KeyRequest], None] | None = None,
    ) -> resources_pb2.KeyRequest:
        while True:
            current = self.get_key_request(request_id)
            if on_poll is not None:
                on_poll(current)
            if self.outages_after_poll:
                self.outages_after_poll -= 1
                raise unavailable()
            if self.interrupt_on_poll:
                raise KeyboardInterrupt
            if current.state not in (PENDING, resources_pb2.KEY_REQUEST_STATE_HELD):
                return current
            if not self.release_on_poll:
                raise TimeoutError(f"still waiting after {timeout} s")
            self.release(request_id)

    def jwks(self) -> str:
        self.jwks_calls += 1
        self._fail()
        return self.ring.jwks_json()

    # What staff or the release loop do.
    def release(self, number: str, fingerprint: str | None = None) -> str:
        claims = dataclasses.replace(
            self.claims,
            contract_number=CONTRACT,
            generation=2,
            fingerprint_hash=fingerprint_hash(fingerprint or self.fingerprints[number]),
        )
        key = self.ring.sign_license(claims)
        request = self.requests[number]
        request.state = RELEASED
        request.released_time.CopyFrom(stamp(RELEASE))
        request.license_serial = claims.serial
        request.license_key = key
        return key

    def reject(self, number: str, reason: str) -> None:
        self.requests[number].state = REJECTED
        self.requests[number].reject_reason = reason


@dataclasses.dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.stdout)
        return document


@dataclasses.dataclass
class Tool:
    """Runs ``keysvc-migrate`` in a directory of its own, on a fake machine and service."""

    directory: Path
    service: FakeKeysvc
    machine_root: Path
    environ: dict[str, str]
    interactive: bool = False

    @property
    def fingerprint(self) -> str:
        return machine_fingerprint(self.machine_root, hostname="neo01").fingerprint

    @property
    def state_file(self) -> Path:
        return self.directory / "keysvc-migrate.json"

    def state(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.state_file.read_text())
        return document

    def __call__(self, *argv: str) -> Ran:
        stdout, stderr = io.StringIO(), io.StringIO()
        runtime = Runtime(
            environ=self.environ,
            now=lambda: NOW,
            machine=lambda: machine_fingerprint(self.machine_root, hostname="neo01"),
            is_root=lambda: True,
            stdout=stdout,
            stderr=stderr,
            interactive=self.interactive,
            connect=self.service,
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(self.directory)  # the state file's default is in the current directory
            code = cli.main(list(argv), runtime=runtime)
        return Ran(code, stdout.getvalue(), stderr.getvalue())

    def request(self, *extra: str) -> Ran:
        return self(
            "request", "--contract", CONTRACT, "--old-key", "old.key", "--email", EMAIL, *extra
        )


@pytest.fixture
def tool(tmp_path: Path, ring: KeyRing, claims: LicenseClaims, license_key: str) -> Tool:
    directory = tmp_path / "work"
    directory.mkdir()
    (directory / "old.key").write_text(license_key + "\n")
    machine_root = tmp_path / "machine"
    FakeMachine(machine_root).full()
    environ = {"KEYSVC_ADDRESS": "keysvc.example.jp:443", "KEYSVC_TOKEN": "ksv1.test"}
    return Tool(directory, FakeKeysvc(ring, claims), machine_root, environ)


def test_request_submits_a_reissue_proving_possession_of_the_old_key(
    tool: Tool, license_key: str
) -> None:
    ran = tool.request()
    assert ran.code == 0, ran.stderr
    (sent,) = tool.service.submitted
    assert sent["kind"] == resources_pb2.KEY_REQUEST_KIND_REISSUE
    assert sent["previous_key"] == license_key
    assert sent["fingerprint"] == tool.fingerprint
    assert sent["contact_email"] == EMAIL
    assert sent["contract_number"] == CONTRACT
    assert "key request:   kr_0001" in ran.stdout
    assert "due date:      2026-11-24" in ran.stdout
    assert "release:       翌営業日 2026-11-24 09:00 JST" in ran.stdout
    assert "next: keysvc-migrate wait" in ran.stdout


def test_request_words_the_schedule_in_english_when_asked(tool: Tool) -> None:
    document = tool.request("--json", "--lang", "en").json()
    assert document["schedule"] == "next business day, 2026-11-24 09:00 JST"
    assert document["due_date"] == "2026-11-24"
    assert document["release_time"] == RELEASE.isoformat()
    assert document["state"] == "PENDING"
    assert document["key_request_id"] == "kr_0001"
    assert document["repeated"] is False


def test_the_state_file_holds_the_request_id_before_the_call(tool: Tool) -> None:
    seen = []

    def read_state(request_id: str) -> None:
        state = tool.state()
        seen.append((state["request_id"], request_id, state["key_request_id"]))
        assert stat.S_IMODE(tool.state_file.stat().st_mode) == 0o600

    tool.service.on_submit = read_state
    assert tool.request().code == 0
    ((stored, sent, key_request),) = seen
    assert stored == sent
    assert key_request == ""
    state = tool.state()
    assert state["version"] == 1
    assert state["key_request_id"] == "kr_0001"
    assert state["request_id"] == sent
    assert state["address"] == "keysvc.example.jp:443"
    assert "old" not in json.dumps(state)  # the old key is not kept, only its hash
    assert len(state["previous_key_sha256"]) == 64


def test_after_a_lost_answer_running_again_returns_the_same_request(tool: Tool) -> None:
    tool.service.lose_next_answer = True
    lost = tool.request("--json")
    assert lost.code == 3
    assert lost.json()["error"]["reason"] == "UNAVAILABLE"
    assert tool.state()["key_request_id"] == ""  # the id stays for the re-run
    again = tool.request("--json")
    assert again.code == 0, again.stderr
    first, second = tool.service.submitted
    assert first["request_id"] == second["request_id"]
    assert list(tool.service.requests) == ["kr_0001"]
    assert again.json()["key_request_id"] == "kr_0001"
    assert again.json()["repeated"] is True


def test_running_request_again_repeats_it_and_shows_it_as_it_is_now(tool: Tool) -> None:
    assert tool.request().code == 0
    tool.service.release("kr_0001")
    again = tool.request("--json").json()
    assert again["repeated"] is True
    assert again["key_request_id"] == "kr_0001"
    assert again["state"] == "RELEASED"
    assert again["schedule"] == "発行済み (2026-11-24 09:00 JST)"
    assert len({sent["request_id"] for sent in tool.service.submitted}) == 1


def test_the_old_key_wrapped_differently_is_the_same_request(tool: Tool, license_key: str) -> None:
    assert tool.request().code == 0
    wrapped = "\n".join(license_key[i : i + 60] for i in range(0, len(license_key), 60))
    (tool.directory / "old.key").write_text("  " + wrapped + "\r\n")
    assert tool.request("--json").json()["repeated"] is True
    assert {sent["previous_key"] for sent in tool.service.submitted} == {license_key}


def test_a_refused_request_leaves_the_state_file_as_it_was(tool: Tool) -> None:
    tool.service.failures.append(
        NotFoundError(grpc.StatusCode.NOT_FOUND, "CONTRACT_NOT_FOUND", "no such contract", {})
    )
    ran = tool.request("--json")
    assert ran.code == 1
    assert ran.json()["error"]["reason"] == "CONTRACT_NOT_FOUND"
    assert "No contract has this support service number." in ran.stderr
    assert not tool.state_file.exists()


def test_other_details_than_an_answered_request_need_new(tool: Tool) -> None:
    assert tool.request().code == 0
    first = tool.state()["request_id"]
    other = tool("request", "--contract", CONTRACT, "--old-key", "old.key", "--email", "b@x.jp")
    assert other.code == 2
    assert "STATE_FILE_IN_USE" in other.stderr
    assert "kr_0001" in other.stderr
    assert tool.state()["request_id"] == first
    fresh = tool(
        "request", "--contract", CONTRACT, "--old-key", "old.key", "--email", "b@x.jp", "--new"
    )
    assert fresh.code == 0, fresh.stderr
    assert tool.state()["request_id"] != first
    assert "forgets key request kr_0001" in fresh.stderr


def test_a_request_id_given_is_sent(tool: Tool) -> None:
    assert tool.request("--request-id", "order-4711").code == 0
    assert tool.service.submitted[0]["request_id"] == "order-4711"
    assert tool.request("--request-id", "has space").code == 2


def test_a_waiting_request_of_ours_seen_by_another_token_is_followed(tool: Tool) -> None:
    assert tool.request().code == 0
    tool.service.failures.append(
        FailedPreconditionError(
            grpc.StatusCode.FAILED_PRECONDITION,
            "KEY_REQUEST_PENDING",
            "waiting",
            {"key_request_id": "kr_0001"},
        )
    )
    ran = tool.request("--json")
    assert ran.code == 0, ran.stderr
    assert ran.json()["key_request_id"] == "kr_0001"


def test_a_waiting_request_of_ours_made_with_a_token_gone_is_named_not_followed(
    tool: Tool,
) -> None:
    assert tool.request().code == 0
    del tool.service.requests["kr_0001"]  # the service answers another token's as missing
    tool.service.failures.append(
        FailedPreconditionError(
            grpc.StatusCode.FAILED_PRECONDITION,
            "KEY_REQUEST_PENDING",
            "waiting",
            {"key_request_id": "kr_0001"},
        )
    )
    ran = tool.request()
    assert ran.code == 1
    assert "KEY_REQUEST_PENDING" in ran.stderr
    assert "reads only the requests it made" in ran.stderr


def test_someone_elses_waiting_request_is_named_with_how_to_follow_it(tool: Tool) -> None:
    tool.service.failures.append(
        FailedPreconditionError(
            grpc.StatusCode.FAILED_PRECONDITION,
            "KEY_REQUEST_PENDING",
            "waiting",
            {"key_request_id": "kr_site"},
        )
    )
    ran = tool.request()
    assert ran.code == 1
    assert "keysvc-migrate wait --request kr_site" in ran.stderr


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError(grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED", "unknown", {}),
        PermissionDeniedError(
            grpc.StatusCode.PERMISSION_DENIED, "MIGRATION_REISSUE_ONLY", "reissue only", {}
        ),
    ],
)
def test_authentication_and_permission_failures_exit_4(
    tool: Tool, error: KeysvcClientError
) -> None:
    tool.service.failures.append(error)
    ran = tool.request("--json")
    assert ran.code == 4
    assert ran.json()["error"]["reason"] == error.reason


def test_without_a_token_nothing_is_called(tool: Tool) -> None:
    tool.environ.pop("KEYSVC_TOKEN")
    ran = tool.request("--json")
    assert ran.code == 4
    assert ran.json()["error"]["reason"] == "NO_TOKEN"
    assert tool.service.submitted == []


def test_the_token_file_wins_over_the_environment(tool: Tool) -> None:
    (tool.directory / "token").write_text("ksv1.from-file\n")
    tool.environ["KEYSVC_TOKEN_FILE"] = str(tool.directory / "missing")
    assert tool("jwks", "--token-file", "token").code == 0
    assert tool.service.configs[-1].token == "ksv1.from-file"  # noqa: S105 - a test's
    assert tool("jwks", "--token-file", "missing").code == 2


def test_a_token_that_is_no_token_is_refused_before_calling_and_never_shown(tool: Tool) -> None:
    # gRPC refuses such metadata only when calling, as an INTERNAL error of the service.
    (tool.directory / "token").write_text("ksv1.0123456789abcdef.sécret\n", encoding="utf-8")
    from_file = tool("jwks", "--token-file", "token", "--json")
    assert from_file.code == 2
    assert from_file.json()["error"]["reason"] == "TOKEN_FILE"
    tool.environ["KEYSVC_TOKEN"] = "ksv1.0123456789abcdef.two words"  # noqa: S105 - a test's
    from_variable = tool("jwks", "--json")
    assert from_variable.code == 2
    assert from_variable.json()["error"]["reason"] == "INVALID_TOKEN"
    shown = from_file.stdout + from_file.stderr + from_variable.stdout + from_variable.stderr
    assert "sécret" not in shown
    assert "two words" not in shown
    assert tool.service.configs == []


def test_wait_returns_once_released(tool: Tool) -> None:
    assert tool.request().code == 0
    tool.service.release_on_poll = True
    ran = tool("wait", "--json")
    assert ran.code == 0, ran.stderr
    document = ran.json()
    assert document["state"] == "RELEASED"
    assert document["license_serial"]
    assert document["installed"] is None
    assert "license_key" not in document


def test_wait_gives_up_after_the_timeout_with_exit_5_and_the_schedule(tool: Tool) -> None:
    assert tool.request().code == 0
    ran = tool("wait", "--timeout", "0", "--json")
    assert ran.code == 5
    document = ran.json()
    assert document["error"]["reason"] == "WAIT_TIMEOUT"
    assert document["state"] == "PENDING"
    assert document["schedule"] == "翌営業日 2026-11-24 09:00 JST"


def test_a_rejected_request_ends_wait_with_the_reason(tool: Tool) -> None:
    assert tool.request().code == 0
    tool.service.reject("kr_0001", "契約者ご本人の確認が取れません")
    ran = tool("wait", "--json")
    assert ran.code == 1
    assert ran.json()["error"]["reason"] == "KEY_REQUEST_REJECTED"
    assert "契約者ご本人の確認が取れません" in ran.json()["error"]["message"]


def test_wait_unreachable_from_the_start_exits_3(tool: Tool) -> None:
    assert tool.request().code == 0
    tool.service.failures.append(unavailable())
    assert tool("wait").code == 3


def test_wait_rides_out_an_outage_once_it_has_seen_the_request(tool: Tool) -> None:
    assert tool.request().code == 0
    tool.service.release_on_poll = True
    tool.service.outages_after_poll = 1
    ran = tool("wait", "--interval", "0")
    assert ran.code == 0, ran.stderr
    assert "keysvc unreachable (UNAVAILABLE); trying again" in ran.stderr
    assert tool.service.outages_after_poll == 0


def test_wait_on_a_terminal_shows_a_spinner_on_standard_error(tool: Tool) -> None:
    assert tool.request().code == 0
    tool.interactive = True
    ran = tool("wait", "--timeout", "0")
    assert ran.code == 5
    assert ran.stdout.startswith("key request:")  # the spinner never writes to stdout


def test_ctrl_c_while_waiting_exits_130_and_keeps_the_request(tool: Tool) -> None:
    assert tool.request().code == 0
    tool.service.interrupt_on_poll = True
    ran = tool("wait")
    assert ran.code == 130
    assert "keysvc-migrate wait" in ran.stderr
    assert tool.state()["key_request_id"] == "kr_0001"


def test_wait_without_a_request_says_to_run_request_first(tool: Tool) -> None:
    ran = tool("wait")
    assert ran.code == 2
    assert "NO_KEY_REQUEST" in ran.stderr


def test_install_before_release_is_refused_and_writes_nothing(tool: Tool) -> None:
    assert tool.request().code == 0
    ran = tool("install", "--key-file", "license.key", "--json")
    assert ran.code == 1
    assert ran.json()["error"]["reason"] == "KEY_REQUEST_NOT_RELEASED"
    assert "翌営業日 2026-11-24 09:00 JST" in ran.json()["error"]["hint"]
    assert not (tool.directory / "license.key").exists()


def test_install_checks_the_key_then_writes_it_0600(tool: Tool) -> None:
    assert tool.request().code == 0
    key = tool.service.release("kr_0001")
    ran = tool("install", "--key-file", "license.key", "--json")
    assert ran.code == 0, ran.stderr
    path = tool.directory / "license.key"
    assert path.read_text() == key + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    installed = ran.json()["installed"]
    assert installed["valid"] is True
    assert installed["fingerprint"] == tool.fingerprint
    assert installed["fingerprint_origin"] == "the request's, from the state file"


def test_a_key_for_another_server_is_not_installed(tool: Tool) -> None:
    assert tool.request().code == 0
    tool.service.release("kr_0001", fingerprint=OTHER_SERVER)
    (tool.directory / "license.key").write_text("the old key\n")
    ran = tool("install", "--key-file", "license.key", "--json")
    assert ran.code == 1
    assert ran.json()["error"]["reason"] == "FINGERPRINT_MISMATCH"
    assert (tool.directory / "license.key").read_text() == "the old key\n"
    forced = tool("install", "--key-file", "license.key", "--no-verify")
    assert forced.code == 0, forced.stderr
    assert "not checked (--no-verify)" in forced.stdout


def test_install_checks_with_a_jwks_file_when_given(tool: Tool, ring: KeyRing) -> None:
    assert tool.request().code == 0
    tool.service.release("kr_0001")
    (tool.directory / "jwks.json").write_text(ring.jwks_json())
    assert tool("install", "--key-file", "license.key", "--jwks", "jwks.json").code == 0
    assert tool.service.jwks_calls == 0


def test_wait_install_installs_once_released(tool: Tool) -> None:
    assert tool.request().code == 0
    tool.service.release_on_poll = True
    ran = tool("wait", "--install", "license.key")
    assert ran.code == 0, ran.stderr
    assert "installed:     license.key (mode 0600)" in ran.stdout
    assert (tool.directory / "license.key").exists()


def test_jwks_writes_the_published_keys(tool: Tool, ring: KeyRing) -> None:
    ran = tool("jwks", "--output", "jwks.json", "--json")
    assert ran.code == 0, ran.stderr
    assert json.loads((tool.directory / "jwks.json").read_text()) == json.loads(ring.jwks_json())
    assert ran.json()["kids"] == [ring.active.kid]
    printed = tool("jwks")
    assert json.loads(printed.stdout) == json.loads(ring.jwks_json())


@pytest.mark.parametrize("module", [keysvc.migrate.connection, keysvc.migrate.request_command])
def test_docstring_examples_hold(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
