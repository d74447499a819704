"""``keysvc-migrate``, the customer's server-migration tool, and its offline core.

The customer runs the tool on the *new* server (the command: `keysvc.migrate.cli`,
docs/migrate.md). Its offline core, re-exported here, needs no network:

- `keysvc.migrate.fingerprint` — this machine's fingerprint (``fp1:`` + hex
  SHA-256 of its stable identifiers), with every source explained;
- `keysvc.migrate.key_file` — installing a license key atomically (mode 0600),
  reading it back, reading a JWKS file;
- `keysvc.migrate.offline_check` — verifying a key with a JWKS, and what each
  failure means for the customer;
- `keysvc.migrate.wording` — a key request's schedule in the customer's words.

Dependency rule: the tool is installed on customers' servers, apart from the
service, so this package imports only the standard library, `signing` (which
needs only `cryptography`), `rich`, and `keysvc.client` (grpcio, protobuf) in
the modules of the networked commands. Never SQLAlchemy, alembic,
`keysvc.persistence`, `keysvc.service`, `keysvc.api` or `scheduler`: a test
imports every module here in a fresh interpreter and fails if one of them is
loaded.
"""

from __future__ import annotations

from keysvc.migrate.fingerprint import (
    FINGERPRINT_PREFIX,
    SOURCE_NAMES,
    FingerprintSource,
    FingerprintUnavailable,
    MachineFingerprint,
    canonical_text,
    fingerprint_from_sources,
    machine_fingerprint,
    read_sources,
)
from keysvc.migrate.key_file import (
    ImplausibleKey,
    KeyFileError,
    install_key,
    read_jwks,
    read_key,
)
from keysvc.migrate.offline_check import (
    EXPLANATIONS,
    CheckResult,
    check_license_key,
    explain,
)
from keysvc.migrate.wording import Language, describe_schedule

__all__ = [
    "EXPLANATIONS",
    "FINGERPRINT_PREFIX",
    "SOURCE_NAMES",
    "CheckResult",
    "FingerprintSource",
    "FingerprintUnavailable",
    "ImplausibleKey",
    "KeyFileError",
    "Language",
    "MachineFingerprint",
    "canonical_text",
    "check_license_key",
    "describe_schedule",
    "explain",
    "fingerprint_from_sources",
    "install_key",
    "machine_fingerprint",
    "read_jwks",
    "read_key",
    "read_sources",
]
