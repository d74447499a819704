"""Identifiers the service makes: unguessable where they grant access."""

from __future__ import annotations

import base64
import secrets


def _base32(random_bytes: int) -> str:
    return base64.b32encode(secrets.token_bytes(random_bytes)).decode("ascii").rstrip("=")


def new_key_request_id() -> str:
    """A key request id, e.g. ``kr_3jv7q…``: 128 random bits.

    Whoever knows the id can read the released key (GetKeyRequest), so it must
    be unguessable.
    """
    return "kr_" + _base32(16).lower()


def new_license_serial(year: int) -> str:
    """A license serial, e.g. ``L-2026-7K3M9QX2PA`` (50 random bits; unique in the database)."""
    return f"L-{year}-{_base32(7)[:10]}"
