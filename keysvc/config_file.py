"""The optional TOML configuration file (SPEC §8): the ``KEYSVC_*`` settings, in a file.

::

    # /etc/keysvc/keysvc.toml
    data_dir = "/var/lib/keysvc"
    listen = "0.0.0.0:50051"
    database_url = "postgresql+psycopg://keysvc@db.internal/keysvc"
    signing_key_passphrase_file = "passphrase"     # next to this file
    turn_uris = ["turn:turn.example.jp:3478", "stun:turn.example.jp:3478"]
    release_batch_size = 200

Each key is the name of a variable without ``KEYSVC_``, in lower case; its
value is what the variable would hold, as a TOML string, but for
``release_batch_size``, ``idempotency_retention_days``, ``max_calls_in_flight``,
``shutdown_drain_seconds``, ``shutdown_grace_seconds`` and the ``auth_*``
settings (integers) and ``turn_uris`` (an array of strings).
Relative paths are relative to the file's folder, so a file and what it names
can move together. The environment wins over the file, the command line over
both (docs/configuration.md).
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from keysvc.config import ConfigError

CONFIG_FILE_VARIABLE: Final = "KEYSVC_CONFIG_FILE"

_PATHS: Final = frozenset(
    {
        "data_dir",
        "signing_key_passphrase_file",
        "tls_cert_file",
        "tls_key_file",
        "tls_client_ca_file",
        "calendar_file",
    }
)
_STRINGS: Final = frozenset(
    {
        "listen",
        "database_url",
        "signing_key_passphrase",
        "smtp_url",
        "mail_from",
        "mail_domain",
        "cutoff",
        "opening",
        "turn_secret",
        "metrics_listen",
        "status_listen",
        "status_base_url",
        "signing_alg",
    }
)
_INTEGERS: Final = frozenset(
    {
        "release_batch_size",
        "idempotency_retention_days",
        "auth_failure_limit",
        "auth_failure_window_seconds",
        "auth_block_seconds",
        "max_calls_in_flight",
        "shutdown_drain_seconds",
        "shutdown_grace_seconds",
    }
)
_STRING_LISTS: Final = frozenset({"turn_uris"})
CONFIG_KEYS: Final = _PATHS | _STRINGS | _INTEGERS | _STRING_LISTS
"""The keys a configuration file may hold."""

# Secret whatever their value; the URLs only when they carry a password.
_SECRETS: Final = frozenset({"signing_key_passphrase", "turn_secret"})
_URLS: Final = frozenset({"database_url", "smtp_url"})
_GROUP_OTHER_BITS: Final = 0o077


def read_config_file(path: Path) -> dict[str, str]:
    """The settings of the file at `path`, as the ``KEYSVC_*`` variables they stand for.

    Raises `ConfigError` naming the file for what cannot be read, is not TOML, or
    holds an unknown key or a value of the wrong type; and for a file that holds a
    secret (a passphrase, the TURN secret, a URL with a password) while group or
    others may read it.
    """
    text, mode = _read(path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"configuration file {path}: not valid TOML: {error}") from error
    unknown = sorted(set(document) - CONFIG_KEYS)
    if unknown:
        raise ConfigError(
            f"configuration file {path}: unknown setting {unknown[0]!r}; the settings are "
            + ", ".join(sorted(CONFIG_KEYS))
        )
    secrets = sorted(key for key, value in document.items() if _is_secret(key, value))
    if secrets and mode & _GROUP_OTHER_BITS:
        raise ConfigError(
            f"configuration file {path} holds {secrets[0]} and has mode {mode:04o}: it must "
            f"not be readable by group or others (chmod 600 {path})"
        )
    return {
        f"KEYSVC_{key.upper()}": _as_variable(path, key, value) for key, value in document.items()
    }


def _read(path: Path) -> tuple[str, int]:
    try:
        # The mode checked is the mode of the file read, with no window to swap it.
        with path.open("rb") as file:
            mode = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
            data = file.read()
    except OSError as error:
        raise ConfigError(f"cannot read the configuration file {path}: {error.strerror}") from None
    try:
        return data.decode("utf-8"), mode
    except UnicodeDecodeError as error:
        raise ConfigError(f"configuration file {path}: not UTF-8: {error}") from None


def _is_secret(key: str, value: object) -> bool:
    if key in _SECRETS:
        return True
    if key in _URLS and isinstance(value, str):
        try:
            return urlsplit(value).password is not None
        except ValueError:  # a malformed URL: Settings says what is wrong with it
            return True
    return False


def _as_variable(path: Path, key: str, value: object) -> str:
    if key in _PATHS or key in _STRINGS:
        if not isinstance(value, str):
            raise ConfigError(f"configuration file {path}: {key} must be a string")
        return str(path.parent / value) if key in _PATHS and value else value
    if key in _INTEGERS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"configuration file {path}: {key} must be an integer")
        return str(value)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"configuration file {path}: {key} must be an array of strings")
    if any("," in item for item in value):
        raise ConfigError(f"configuration file {path}: an item of {key} holds a comma")
    return ",".join(value)
