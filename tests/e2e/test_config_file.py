"""`keysvc` commands configured by a TOML file, under the environment and the command line."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from .server_process import keysvc_server, preview_release, run_keysvc

pytestmark = pytest.mark.e2e

PASSPHRASE = "from the configuration file, not a secret"  # noqa: S105 - a test value
CONFIG = f"""
data_dir = "data"
listen = "127.0.0.1:0"
metrics_listen = "127.0.0.1:0"
cutoff = "16:00"
opening = "08:30"
signing_key_passphrase = "{PASSPHRASE}"
"""


def configuration(tmp_path: Path, text: str = CONFIG, mode: int = 0o600) -> Path:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "keysvc.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_serve_and_tokens_take_their_settings_from_the_file(tmp_path: Path) -> None:
    config = configuration(tmp_path)
    data = config.parent / "data"  # relative to the file's folder, not to the working one
    # The environment wins over the file: the opening is 10:00, not 08:30.
    env = {"KEYSVC_CONFIG_FILE": str(config), "KEYSVC_OPENING": "10:00"}
    with (
        keysvc_server(data, env, arguments=()) as server,
        grpc.insecure_channel(server.address) as channel,
    ):
        assert (data / "keysvc.db").exists()
        assert any(r["message"] == "serving metrics" for r in server.logs())
        # The passphrase came from the file: no development key, no warning.
        assert not [r for r in server.logs() if r["level"] == "warning"]
        assert PASSPHRASE not in "".join(server.log_lines)
        created = run_keysvc("tokens", "create", "--role", "site", env=env)
        assert created.returncode == 0, created.stderr
        token = created.stdout.strip().splitlines()[-1]
        # Tuesday 24 November 2026, 15:30 and 16:30 JST: the cutoff is the file's 16:00.
        assert preview_release(channel, token, "2026-11-24T06:30:00Z").same_day
        late = preview_release(channel, token, "2026-11-24T07:30:00Z")
        assert late.due_date == "2026-11-25"
        assert late.release_time.ToJsonString() == "2026-11-25T01:00:00Z"  # 10:00 JST


def test_the_command_line_wins_over_the_file(tmp_path: Path) -> None:
    config = configuration(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    result = run_keysvc("db", "upgrade", "--config", str(config), "--data-dir", str(elsewhere))
    assert result.returncode == 0, result.stderr
    assert (elsewhere / "keysvc.db").exists()
    assert not (config.parent / "data").exists()


def test_a_file_others_may_read_keeps_its_secret_and_the_server_from_starting(
    tmp_path: Path,
) -> None:
    config = configuration(tmp_path, mode=0o644)
    result = run_keysvc("serve", "--config", str(config))
    assert result.returncode == 2
    assert f"chmod 600 {config}" in result.stderr
    assert PASSPHRASE not in result.stderr
    assert not (config.parent / "data").exists()


def test_a_mistyped_setting_stops_the_start_naming_it(tmp_path: Path) -> None:
    config = configuration(tmp_path, 'lisen = "127.0.0.1:0"\n')
    result = run_keysvc("serve", "--config", str(config))
    assert result.returncode == 2
    assert "unknown setting 'lisen'" in result.stderr
