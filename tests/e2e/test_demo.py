"""`make demo` (`python -m keysvc.demo`): the whole story runs, and no server is left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import keysvc.demo

pytestmark = pytest.mark.e2e

PROJECT = Path(__file__).resolve().parents[2]


def server_pid(output: str) -> int:
    """The pid of the server the demo started, as it prints it."""
    found = re.search(r"server pid (\d+)", output)
    assert found, output
    return int(found.group(1))


def assert_not_running(pid: int) -> None:
    """Fails (and kills it, so the test run does not leak it) if the process still exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return
    os.kill(pid, signal.SIGKILL)
    pytest.fail(f"the demo left its server (pid {pid}) running")


def test_the_demo_tells_the_whole_story_and_stops_its_server(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    # The embedded default whatever the developer's shell exports (the demo drops them too).
    env = {key: value for key, value in os.environ.items() if not key.startswith("KEYSVC_")}
    result = subprocess.run(
        [sys.executable, "-m", "keysvc.demo", "--data-dir", str(folder)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout
    assert result.returncode == 0, output + result.stderr

    contracts = set(re.findall(r"Created contract (SS-\d{4}-\d{6})", output))
    assert len(contracts) == 2
    # Each product's contract gets its first key, before anyone moves servers.
    first_keys = output[output.index("━━ 3.") : output.index("━━ 4.")]
    for number in contracts:
        assert re.search(rf"│ {number} │ ACTIVE │ \d+ +│ 1 ", first_keys), first_keys
    assert (folder / "webconf-server" / "license.key").is_file()
    assert (folder / "old-server" / "license.key").is_file()
    assert re.search(r"license status +SUPERSEDED\n", output), output
    # During the re-issue's overlap the old key still works, and support hears so first.
    assert re.search(r"verdict +superseded: the key still works until ", output), output
    assert "valid: genuine, and issued for this fingerprint" in output
    # Step 5, offline: the list says VALID during the overlap, SUPERSEDED once staff end it.
    step5 = output[output.index("━━ 5.") : output.index("━━ 6.")]
    assert "このライセンスキーは有効です（失効リスト確認済み）" in step5  # noqa: RUF001
    assert step5.index("有効です") < step5.index("licenses end-overlap")
    assert "置き換えられたため、使用できません" in step5.split("licenses end-overlap")[1]
    saved = folder / "old-server" / "status-list.jwt"
    assert saved.stat().st_mode & 0o777 == 0o644
    # The last check reads the saved list, with no network.
    assert f"--status-list {saved}" in step5.split("licenses end-overlap")[1]
    assert re.search(r"Subject: .*ライセンスキー再発行のお知らせ.SS-\d{4}-\d{6}.$", output, re.M)
    assert (folder / "new-server" / "license.key").is_file()
    assert_not_running(server_pid(output))

    # The tokens are in files of mode 0600 and never in the output.
    for role in ("admin", "migration"):
        token_file = folder / "tokens" / f"{role}.token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        assert token_file.read_text().strip() not in output + result.stderr


def test_a_failing_step_is_named_and_the_server_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # An address the service refuses: the first order fails.
    monkeypatch.setattr(keysvc.demo, "CUSTOMER_EMAIL", "not an address")
    for name in [name for name in os.environ if name.startswith("KEYSVC_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(PROJECT)
    previous_handler = signal.getsignal(signal.SIGTERM)
    try:
        status = keysvc.demo.main(["--data-dir", str(tmp_path / "demo")])
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    captured = capsys.readouterr()

    assert status == 1
    assert "demo failed at step 2. Orders become contracts" in captured.err
    assert "contact" in captured.err.lower()  # the service's reason, from the command's stderr
    assert "Stop the server" in captured.out
    assert_not_running(server_pid(captured.out))


def test_a_folder_it_did_not_make_is_never_wiped(tmp_path: Path) -> None:
    (tmp_path / "keysvc.db").write_text("someone's data")
    result = subprocess.run(
        [sys.executable, "-m", "keysvc.demo", "--data-dir", str(tmp_path)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "is not a demo folder" in result.stderr
    assert (tmp_path / "keysvc.db").read_text() == "someone's data"
    assert "server pid" not in result.stdout
