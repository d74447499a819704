"""The TOML configuration file: the KEYSVC_* settings it stands for, and what it refuses."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path

import pytest

from keysvc import config
from keysvc.config import ConfigError, Settings
from keysvc.config_file import CONFIG_KEYS, read_config_file

EVERY_KIND = """
data_dir = "data"
listen = "0.0.0.0:50051"
database_url = "postgresql+psycopg://keysvc@db.internal/keysvc"
signing_key_passphrase_file = "/etc/keysvc/passphrase"
calendar_file = "calendar.toml"
cutoff = "16:30"
turn_uris = ["turn:turn.example.jp:3478", "stun:turn.example.jp:3478"]
release_batch_size = 500
shutdown_drain_seconds = 3
"""


def write(folder: Path, text: str, mode: int = 0o644) -> Path:
    path = folder / "keysvc.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_each_key_stands_for_its_variable(tmp_path: Path) -> None:
    path = write(tmp_path, EVERY_KIND)
    assert read_config_file(path) == {
        "KEYSVC_DATA_DIR": str(tmp_path / "data"),
        "KEYSVC_LISTEN": "0.0.0.0:50051",
        "KEYSVC_DATABASE_URL": "postgresql+psycopg://keysvc@db.internal/keysvc",
        "KEYSVC_SIGNING_KEY_PASSPHRASE_FILE": "/etc/keysvc/passphrase",
        "KEYSVC_CALENDAR_FILE": str(tmp_path / "calendar.toml"),
        "KEYSVC_CUTOFF": "16:30",
        "KEYSVC_TURN_URIS": "turn:turn.example.jp:3478,stun:turn.example.jp:3478",
        "KEYSVC_RELEASE_BATCH_SIZE": "500",
        "KEYSVC_SHUTDOWN_DRAIN_SECONDS": "3",
    }


def test_the_file_gives_the_same_settings_as_the_variables(tmp_path: Path) -> None:
    settings = Settings.from_environment(read_config_file(write(tmp_path, EVERY_KIND)))
    assert settings.data_dir == tmp_path / "data"
    assert settings.database_url == "postgresql+psycopg://keysvc@db.internal/keysvc"
    assert settings.signing_passphrase_file == Path("/etc/keysvc/passphrase")
    assert settings.cutoff == time(16, 30)
    assert settings.turn_uris == ("turn:turn.example.jp:3478", "stun:turn.example.jp:3478")
    assert settings.release_batch_size == 500
    assert settings.shutdown_drain_seconds == 3


def test_every_variable_of_the_settings_has_its_key() -> None:
    # A new KEYSVC_* setting must be one the file can hold too.
    source = Path(config.__file__).read_text(encoding="utf-8")
    read_by_settings = set(re.findall(r'"(KEYSVC_[A-Z_]+)"', source))
    assert read_by_settings == {f"KEYSVC_{key.upper()}" for key in CONFIG_KEYS}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('listn = "127.0.0.1:1"', "unknown setting 'listn'"),
        ("[server]\nlisten = '127.0.0.1:1'", "unknown setting 'server'"),
        ("listen = 50051", "listen must be a string"),
        ('release_batch_size = "200"', "release_batch_size must be an integer"),
        ("release_batch_size = true", "release_batch_size must be an integer"),
        ('turn_uris = "turn:a.example:3478"', "turn_uris must be an array of strings"),
        ("turn_uris = [1]", "turn_uris must be an array of strings"),
        ('turn_uris = ["turn:a.example:3478,b"]', "an item of turn_uris holds a comma"),
        ("cutoff = 17:00:00", "cutoff must be a string"),
        ("listen = ", "not valid TOML"),
    ],
)
def test_what_the_file_cannot_say_is_refused_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as refused:
        read_config_file(path)
    assert str(path) in str(refused.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        read_config_file(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    "text",
    [
        'signing_key_passphrase = "correct horse battery staple"',
        'turn_secret = "shared with coturn"',
        'database_url = "postgresql+psycopg://keysvc:hunter2@db/keysvc"',
        'smtp_url = "smtp+starttls://keysvc:hunter2@mail.example.jp:587"',
    ],
)
def test_a_secret_only_in_a_file_no_one_else_may_read(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match=r"mode 0644: it must not be readable.*chmod 600"):
        read_config_file(write(tmp_path, text, 0o644))
    with pytest.raises(ConfigError, match="mode 0640"):
        read_config_file(write(tmp_path, text, 0o640))
    assert read_config_file(write(tmp_path, text, 0o600))


def test_the_refusal_does_not_show_the_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        read_config_file(write(tmp_path, 'turn_secret = "shared with coturn"'))
    assert "shared with coturn" not in str(refused.value)


def test_urls_without_a_password_may_be_in_a_readable_file(tmp_path: Path) -> None:
    text = 'database_url = "postgresql+psycopg://keysvc@db/keysvc"\nsmtp_url = "smtp://mx:25"'
    assert read_config_file(write(tmp_path, text, 0o644))["KEYSVC_SMTP_URL"] == "smtp://mx:25"


def test_an_empty_file_sets_nothing(tmp_path: Path) -> None:
    assert read_config_file(write(tmp_path, "# nothing yet\n")) == {}
