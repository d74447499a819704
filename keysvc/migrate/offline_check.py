"""Verify a license key offline, and tell the customer what a failure means.

The verdict is `signing`'s (`LicenseVerifier.verify`); this module only turns
its error into a result the tool can print: the stable ``reason`` for support
staff, and an explanation with the next step for the customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from signing import (
    BadSignature,
    FingerprintMismatch,
    InvalidClaims,
    InvalidStatusClaim,
    KeyTooLarge,
    LicenseClaims,
    LicenseKeyError,
    LicenseVerifier,
    MalformedKey,
    UnknownKeyId,
    UnsupportedHeader,
    VerifiedLicense,
)

__all__ = ["EXPLANATIONS", "CheckResult", "check_license_key", "explain"]

EXPLANATIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        KeyTooLarge.reason: (
            "the text is far longer than a license key: make sure the file holds only "
            "the key from the e-mail"
        ),
        MalformedKey.reason: (
            "this is not a license key: copy the whole key from the e-mail (three parts "
            "joined by dots), without quotes or other text"
        ),
        UnsupportedHeader.reason: (
            "this is a signed token, but not a keysvc license key: check that you copied "
            "the license key and not another token"
        ),
        UnknownKeyId.reason: (
            "the JWKS file does not hold the key that signed this license: export a fresh one"
        ),
        BadSignature.reason: (
            "the signature does not match: the key was changed after it was issued (a "
            "character lost or altered in copying?); copy it again from the e-mail"
        ),
        InvalidClaims.reason: (
            "the key is genuine but its contents are not what this tool understands: "
            "update keysvc-migrate, or contact support"
        ),
        InvalidStatusClaim.reason: (
            "the key is genuine but names its status list in a form this tool does not "
            "understand: update keysvc-migrate, or contact support"
        ),
        FingerprintMismatch.reason: (
            "this key was issued for another server: request a re-issue with "
            "`keysvc-migrate request`"
        ),
        # Any rejection signing adds later still gets an answer, if a vaguer one.
        LicenseKeyError.reason: (
            "the license key was rejected: contact support and give them the reason shown"
        ),
    }
)
"""What each `signing.LicenseKeyError` reason means for the customer, and what to do."""


def explain(reason: str) -> str:
    """Return the customer's explanation of a `signing` rejection reason.

    >>> explain("LICENSE_KEY_UNKNOWN_KID")
    'the JWKS file does not hold the key that signed this license: export a fresh one'
    """
    return EXPLANATIONS.get(reason, EXPLANATIONS[LicenseKeyError.reason])


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of `check_license_key`.

    ``license`` holds the verified claims and ``kid``: always when ``valid``,
    and also on a fingerprint mismatch, where the key is genuine and its serial
    is what a re-issue request needs. ``reason`` (`signing`'s stable error
    reason), ``explanation`` and ``message`` (the error's own words) are set
    exactly when the key is not valid.
    """

    license: VerifiedLicense | None
    reason: str | None = None
    explanation: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        """Hold the invariant: a valid result has a license, an invalid one says why."""
        failed = (self.reason, self.explanation, self.message)
        if any(part is None for part in failed) and any(part is not None for part in failed):
            raise ValueError("reason, explanation and message go together")
        if self.reason is None and self.license is None:
            raise ValueError("a valid result needs the verified license")

    @property
    def valid(self) -> bool:
        """Whether the key passed every check asked for."""
        return self.reason is None

    @property
    def claims(self) -> LicenseClaims | None:
        """Serial, contract, product, seats, generation and support end, when known."""
        return None if self.license is None else self.license.claims


def check_license_key(
    key_text: str, verifier: LicenseVerifier, fingerprint: str | None = None
) -> CheckResult:
    """Verify ``key_text`` with ``verifier``, and with ``fingerprint`` when given.

    Every `signing.LicenseKeyError` becomes an invalid result with its reason
    and explanation. A ``fingerprint`` that breaks the fingerprint rules is the
    caller's mistake, not the key's: `signing.InvalidFingerprint` is raised.
    """
    try:
        return CheckResult(verifier.verify(key_text, fingerprint=fingerprint))
    except FingerprintMismatch as error:
        # The key verified up to the fingerprint, so this cannot fail.
        genuine = verifier.verify(key_text)
        return CheckResult(genuine, error.reason, explain(error.reason), str(error))
    except LicenseKeyError as error:
        return CheckResult(None, error.reason, explain(error.reason), str(error))
