"""The state file: which key request ``request`` made, so that the next steps find it.

``request`` writes it *before* calling the service, with the ``request_id``
(AIP-155) it is about to send, and again with the key request's id once the
service has answered. So a ``request`` run again after a crash, a lost answer
or an unreachable service sends the same ``request_id``, and the service
answers with the request it already made instead of making a second one; and
``wait`` and ``install`` need no id typed in. Version 1, one JSON object::

    {
      "version": 1,
      "request_id": "5f0c2a6e-...",        # the idempotency key sent to the service
      "key_request_id": "kr_3jv7q...",     # "" until the service has answered
      "contract_number": "SS-2026-000123",
      "fingerprint": "fp1:845bbe...",       # the server the new key is for
      "contact_email": "it@example.co.jp",
      "previous_key_sha256": "9f86d0...",  # of the old key, without whitespace
      "address": "keysvc.example.jp:443",
      "submitted_at": "2026-11-20T08:00:00+00:00"
    }

The old key itself is not kept (its hash tells whether a later run names the
same one). Whoever holds a key request id can read the released key, so the
file is written like the key file: atomically, mode 0600.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Final

from keysvc.migrate.files import FileWriteError, write_atomically

__all__ = [
    "DEFAULT_STATE_FILE",
    "STATE_VERSION",
    "RequestState",
    "StateFileError",
    "load_state",
    "parse_state",
    "read_bytes",
    "restore_file",
    "save_state",
]

STATE_VERSION: Final = 1
DEFAULT_STATE_FILE: Final = Path("keysvc-migrate.json")
"""In the current directory: where the customer runs the tool, and sees the file."""

_STATE_FILE_MODE: Final = 0o600
# Far above any real state file; a larger file is something else.
_MAX_STATE_BYTES: Final = 64 * 1024


class StateFileError(Exception):
    """The state file cannot be read or written, or is not a state file; names the file."""


@dataclass(frozen=True, slots=True)
class RequestState:
    """One re-issue request as ``request`` made it (file format in the module docstring)."""

    request_id: str
    contract_number: str
    fingerprint: str
    contact_email: str
    previous_key_sha256: str
    key_request_id: str = ""
    address: str = ""
    submitted_at: str = ""

    def same_submission(self, other: RequestState) -> bool:
        """Whether ``other`` asks for the same thing: then its ``request_id`` may be reused."""
        return (
            self.contract_number,
            self.fingerprint,
            self.contact_email,
            self.previous_key_sha256,
        ) == (
            other.contract_number,
            other.fingerprint,
            other.contact_email,
            other.previous_key_sha256,
        )


def load_state(path: Path) -> RequestState | None:
    """Return the state in ``path``, None when there is no such file.

    Raises `StateFileError` when the file cannot be read or is not a version 1
    state file.
    """
    data = read_bytes(path)
    return None if data is None else parse_state(data, path)


def parse_state(data: bytes, path: Path) -> RequestState:
    """Return the state held in ``data``, read from ``path``; `StateFileError` if none."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StateFileError(f"{path} is not a keysvc-migrate state file: {error}") from None
    if not isinstance(document, dict) or document.get("version") != STATE_VERSION:
        raise StateFileError(f"{path} is not a version {STATE_VERSION} keysvc-migrate state file")
    names = [field.name for field in fields(RequestState)]
    values = {name: document.get(name, "") for name in names}
    if not all(isinstance(value, str) for value in values.values()) or not values["request_id"]:
        raise StateFileError(f"{path} is not a keysvc-migrate state file: a field is missing")
    return RequestState(**values)


def save_state(path: Path, state: RequestState) -> None:
    """Write ``state`` to ``path`` atomically, mode 0600 (`StateFileError` on failure)."""
    document = {"version": STATE_VERSION, **asdict(state)}
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    _write(path, text.encode("utf-8"))


def read_bytes(path: Path) -> bytes | None:
    """Return the content of the small file ``path``, None when it does not exist."""
    try:
        with path.open("rb") as file:
            data = file.read(_MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StateFileError(f"cannot read {path}: {error.strerror}") from None
    if len(data) > _MAX_STATE_BYTES:
        raise StateFileError(f"{path} is over {_MAX_STATE_BYTES} bytes: not a state file")
    return data


def restore_file(path: Path, content: bytes | None) -> None:
    """Put ``path`` back as it was: ``content`` (mode 0600), or no file when None."""
    if content is None:
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise StateFileError(f"cannot remove {path}: {error.strerror}") from None
    else:
        _write(path, content)


def _write(path: Path, data: bytes) -> None:
    try:
        write_atomically(path, data, _STATE_FILE_MODE)
    except FileWriteError as error:
        raise StateFileError(str(error)) from None
