"""Use cases of licenses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from sqlalchemy import Connection

from keysvc.domain.errors import FailedPrecondition, KeysvcError, NotFound
from keysvc.domain.lifecycle import LicenseStatus
from keysvc.domain.records import LicenseRecord
from keysvc.persistence.key_request_repository import end_overlap, get_license, revoke
from keysvc.persistence.signing_key_repository import is_withdrawn, list_signing_keys
from signing import LicenseKeyError, LicenseVerifier, UnknownKeyId, VerifiedLicense


def require_license(connection: Connection, serial: str) -> LicenseRecord:
    """The license, or `NotFound`."""
    license_ = get_license(connection, serial)
    if license_ is None:
        raise NotFound(f"licenses/{serial}", reason="LICENSE_NOT_FOUND")
    return license_


def revoke_license(
    connection: Connection, serial: str, reason: str, now: datetime
) -> LicenseRecord:
    """Withdraws a license; its key then verifies as REVOKED. Revoking twice changes nothing."""
    license_ = require_license(connection, serial)
    if license_.status != LicenseStatus.REVOKED:
        revoke(connection, serial, reason, now)
    return require_license(connection, serial)


def end_reissue_overlap(
    connection: Connection, serial: str, reason: str, now: datetime
) -> LicenseRecord:
    """Ends a superseded license's overlap now: its key stops working at once (staff,
    e.g. on suspected misuse). One that has ended already is left as it is, with the
    first reason; an ACTIVE or REVOKED license has no overlap (`FailedPrecondition`)."""
    license_ = require_license(connection, serial)
    if license_.status != LicenseStatus.SUPERSEDED:
        raise FailedPrecondition(
            f"license {serial} is {license_.status}: only a superseded license has an overlap",
            reason=f"LICENSE_{license_.status}",
            metadata={"license_serial": serial},
        )
    if license_.supersede_at is None or license_.supersede_at > now:
        end_overlap(connection, serial, reason, now)
    return require_license(connection, serial)


@dataclass(frozen=True, slots=True)
class KeyVerification:
    """What a key proves: refused with `error`, or verified; then the license on
    record under its serial (None when there is none)."""

    error: LicenseKeyError | KeysvcError | None
    verified: VerifiedLicense | None
    license: LicenseRecord | None


class SignedByWithdrawnKey(KeysvcError):
    """The key was signed by a signing key since withdrawn: it no longer works, whatever
    its signature (its license gets a replacement key, docs/signing-keys.md). Not one
    of `signing`'s refusals: only the service knows what it withdrew."""

    reason: ClassVar[str] = "LICENSE_KEY_SIGNING_KEY_WITHDRAWN"

    def __init__(self, kid: str) -> None:
        super().__init__(
            f"license key signed with withdrawn key id {kid!r}: it no longer works; "
            "a replacement key is sent to the contract's contact",
            metadata={"kid": kid},
        )


def verify_license_key(
    connection: Connection, license_key: str, fingerprint: str | None
) -> KeyVerification:
    """Verifies `license_key` with every published signing key (and, when given, for the
    server with `fingerprint`), and finds its license."""
    keys = list_signing_keys(connection)
    try:
        verified = LicenseVerifier(k.verifying_key for k in keys).verify(license_key, fingerprint)
    except UnknownKeyId as error:
        if is_withdrawn(connection, error.kid):
            return KeyVerification(SignedByWithdrawnKey(error.kid), None, None)
        return KeyVerification(error, None, None)
    except LicenseKeyError as error:
        return KeyVerification(error, None, None)
    return KeyVerification(None, verified, get_license(connection, verified.claims.serial))
