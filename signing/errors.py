"""Errors raised by `signing`.

Every error carries a stable ``reason``: the UPPER_SNAKE string a server puts in
its ``google.rpc.ErrorInfo`` and a product may show or log. Reasons never change
once published; messages may.

The hierarchy::

    SigningError                    SIGNING_ERROR
    ├── InvalidFingerprint          INVALID_FINGERPRINT        (also a ValueError)
    ├── KeyStoreError               KEY_STORE_ERROR
    │   ├── InsecureKeyFile         INSECURE_KEY_FILE
    │   ├── BadPassphrase           BAD_PASSPHRASE
    │   └── InvalidJwks             INVALID_JWKS
    └── LicenseKeyError             LICENSE_KEY_INVALID
        ├── KeyTooLarge             LICENSE_KEY_TOO_LARGE
        ├── MalformedKey            LICENSE_KEY_MALFORMED
        ├── UnsupportedHeader       LICENSE_KEY_BAD_HEADER
        ├── UnknownKeyId            LICENSE_KEY_UNKNOWN_KID
        ├── BadSignature            LICENSE_KEY_BAD_SIGNATURE
        ├── InvalidClaims           LICENSE_KEY_BAD_CLAIMS
        └── FingerprintMismatch     FINGERPRINT_MISMATCH

Messages never contain private key material or passphrases.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BadPassphrase",
    "BadSignature",
    "FingerprintMismatch",
    "InsecureKeyFile",
    "InvalidClaims",
    "InvalidFingerprint",
    "InvalidJwks",
    "KeyStoreError",
    "KeyTooLarge",
    "LicenseKeyError",
    "MalformedKey",
    "SigningError",
    "UnknownKeyId",
    "UnsupportedHeader",
]


class SigningError(Exception):
    """Base class of every error this package raises."""

    reason: ClassVar[str] = "SIGNING_ERROR"


class InvalidFingerprint(SigningError, ValueError):
    """A server fingerprint breaks the rules of `normalise_fingerprint`."""

    reason: ClassVar[str] = "INVALID_FINGERPRINT"


class KeyStoreError(SigningError):
    """A key or passphrase could not be read, written or decoded."""

    reason: ClassVar[str] = "KEY_STORE_ERROR"


class InsecureKeyFile(KeyStoreError):
    """A private key or passphrase file is accessible by group or others (mode & 0o077)."""

    reason: ClassVar[str] = "INSECURE_KEY_FILE"


class BadPassphrase(KeyStoreError):
    """A passphrase is empty, or does not decrypt the private key."""

    reason: ClassVar[str] = "BAD_PASSPHRASE"


class InvalidJwks(KeyStoreError):
    """A JWK or JWKS is not exactly a set of Ed25519 public keys with thumbprint kids."""

    reason: ClassVar[str] = "INVALID_JWKS"


class LicenseKeyError(SigningError):
    """A license key text was rejected."""

    reason: ClassVar[str] = "LICENSE_KEY_INVALID"


class KeyTooLarge(LicenseKeyError):
    """The license key text is over 4096 bytes (UTF-8), before any decoding."""

    reason: ClassVar[str] = "LICENSE_KEY_TOO_LARGE"


class MalformedKey(LicenseKeyError):
    """The text is not three strict base64url segments once whitespace is removed."""

    reason: ClassVar[str] = "LICENSE_KEY_MALFORMED"


class UnsupportedHeader(LicenseKeyError):
    """The protected header is not exactly ``{"alg":"EdDSA","kid":…,"typ":"license+jwt"}``."""

    reason: ClassVar[str] = "LICENSE_KEY_BAD_HEADER"


class UnknownKeyId(LicenseKeyError):
    """The header names a ``kid`` the verifier does not know.

    ``kid`` holds the key id from the header, so a caller can tell an outdated
    key set (refresh the JWKS) from a forged key.
    """

    reason: ClassVar[str] = "LICENSE_KEY_UNKNOWN_KID"

    def __init__(self, kid: str) -> None:
        super().__init__(f"license key signed with unknown key id {kid!r}")
        self.kid = kid


class BadSignature(LicenseKeyError):
    """The signature is not 64 bytes or does not verify with the named key."""

    reason: ClassVar[str] = "LICENSE_KEY_BAD_SIGNATURE"


class InvalidClaims(LicenseKeyError):
    """The signed payload is not a JSON object with the required claims of the right types."""

    reason: ClassVar[str] = "LICENSE_KEY_BAD_CLAIMS"


class FingerprintMismatch(LicenseKeyError):
    """The key is valid but was issued for a different server fingerprint."""

    reason: ClassVar[str] = "FINGERPRINT_MISMATCH"
