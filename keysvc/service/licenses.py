"""Use cases of licenses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from keysvc.domain.errors import NotFound
from keysvc.domain.lifecycle import LicenseStatus
from keysvc.domain.records import LicenseRecord
from keysvc.persistence.key_request_repository import get_license, revoke


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
