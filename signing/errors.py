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
    ├── LicenseKeyError             LICENSE_KEY_INVALID
    │   ├── KeyTooLarge             LICENSE_KEY_TOO_LARGE
    │   ├── MalformedKey            LICENSE_KEY_MALFORMED
    │   ├── UnsupportedHeader       LICENSE_KEY_BAD_HEADER
    │   ├── UnknownKeyId            LICENSE_KEY_UNKNOWN_KID
    │   ├── BadSignature            LICENSE_KEY_BAD_SIGNATURE
    │   ├── InvalidClaims           LICENSE_KEY_BAD_CLAIMS
    │   │   └── InvalidStatusClaim  LICENSE_KEY_BAD_STATUS_CLAIM
    │   └── FingerprintMismatch     FINGERPRINT_MISMATCH
    └── StatusListError                     STATUS_LIST_INVALID
        ├── StatusListTooLarge              STATUS_LIST_TOO_LARGE
        ├── MalformedStatusList             STATUS_LIST_MALFORMED
        ├── UnsupportedStatusListHeader     STATUS_LIST_BAD_HEADER
        ├── UnknownStatusListKeyId          STATUS_LIST_UNKNOWN_KID
        ├── StatusListBadSignature          STATUS_LIST_BAD_SIGNATURE
        ├── InvalidStatusListClaims         STATUS_LIST_BAD_CLAIMS
        ├── StatusListSubjectMismatch       STATUS_LIST_WRONG_SUBJECT
        ├── StatusListBadEncoding           STATUS_LIST_BAD_ENCODING
        ├── StatusListInflatesTooLarge      STATUS_LIST_DECOMPRESSED_TOO_LARGE
        ├── StatusListNotTheKeys            STATUS_LIST_NOT_THE_KEYS
        └── StatusIndexOutOfRange           STATUS_INDEX_OUT_OF_RANGE

The first nine are raised by `parse_status_list_token` (a token refused); the
last two by `check_status` and `StatusList.value` (a good list that cannot
answer for this key).

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
    "InvalidStatusClaim",
    "InvalidStatusListClaims",
    "KeyStoreError",
    "KeyTooLarge",
    "LicenseKeyError",
    "MalformedKey",
    "MalformedStatusList",
    "SigningError",
    "StatusIndexOutOfRange",
    "StatusListBadEncoding",
    "StatusListBadSignature",
    "StatusListError",
    "StatusListInflatesTooLarge",
    "StatusListNotTheKeys",
    "StatusListSubjectMismatch",
    "StatusListTooLarge",
    "UnknownKeyId",
    "UnknownStatusListKeyId",
    "UnsupportedHeader",
    "UnsupportedStatusListHeader",
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
    """The protected header is not exactly ``{"alg":…,"kid":…,"typ":"license+jwt"}``.

    ``alg`` is ``EdDSA`` or ``Ed25519`` (RFC 9864's name for the same algorithm).
    """

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


class InvalidStatusClaim(InvalidClaims):
    """The ``status`` claim is present but not ``{"status_list": {"idx": …, "uri": …}}``.

    ``idx`` must be an integer in ``0 .. MAX_STATUS_LIST_ENTRIES - 1`` and ``uri`` an
    http(s) URL of at most ``MAX_STATUS_URI_LENGTH`` printable ASCII characters.
    A key without the claim is valid (it has no status to check).
    """

    reason: ClassVar[str] = "LICENSE_KEY_BAD_STATUS_CLAIM"


class FingerprintMismatch(LicenseKeyError):
    """The key is valid but was issued for a different server fingerprint."""

    reason: ClassVar[str] = "FINGERPRINT_MISMATCH"


class StatusListError(SigningError):
    """A Status List Token was refused, or cannot answer for the key asked about."""

    reason: ClassVar[str] = "STATUS_LIST_INVALID"


class StatusListTooLarge(StatusListError):
    """The token text is over ``MAX_STATUS_LIST_TOKEN_BYTES``, before any decoding."""

    reason: ClassVar[str] = "STATUS_LIST_TOO_LARGE"


class MalformedStatusList(StatusListError):
    """The token is not three strict base64url segments (surrounding whitespace aside)."""

    reason: ClassVar[str] = "STATUS_LIST_MALFORMED"


class UnsupportedStatusListHeader(StatusListError):
    """The protected header is not exactly ``{"alg":…,"kid":…,"typ":"statuslist+jwt"}``."""

    reason: ClassVar[str] = "STATUS_LIST_BAD_HEADER"


class UnknownStatusListKeyId(StatusListError):
    """The header names a ``kid`` that is not among the published keys given.

    ``kid`` holds the key id, so a caller can tell an outdated JWKS from a forgery.
    """

    reason: ClassVar[str] = "STATUS_LIST_UNKNOWN_KID"

    def __init__(self, kid: str) -> None:
        super().__init__(f"status list signed with unknown key id {kid!r}")
        self.kid = kid


class StatusListBadSignature(StatusListError):
    """The signature is not 64 bytes or does not verify with the named key."""

    reason: ClassVar[str] = "STATUS_LIST_BAD_SIGNATURE"


class InvalidStatusListClaims(StatusListError):
    """The payload lacks ``sub``/``iat``/``exp``/``ttl``/``status_list``, or one has a wrong type.

    Also raised for ``bits`` other than 2 and an ``exp`` not after ``iat``.
    """

    reason: ClassVar[str] = "STATUS_LIST_BAD_CLAIMS"


class StatusListSubjectMismatch(StatusListError):
    """The token's ``sub`` is not the URI the caller fetched it for (a list for other keys)."""

    reason: ClassVar[str] = "STATUS_LIST_WRONG_SUBJECT"


class StatusListBadEncoding(StatusListError):
    """``lst`` is not strict base64url of one complete ZLIB stream of at least one byte."""

    reason: ClassVar[str] = "STATUS_LIST_BAD_ENCODING"


class StatusListInflatesTooLarge(StatusListError):
    """``lst`` decompresses to more than ``MAX_STATUS_LIST_BYTES``: refused, not inflated."""

    reason: ClassVar[str] = "STATUS_LIST_DECOMPRESSED_TOO_LARGE"


class StatusListNotTheKeys(StatusListError):
    """The list checked against a key is not the one its ``status`` claim names (``uri``)."""

    reason: ClassVar[str] = "STATUS_LIST_NOT_THE_KEYS"


class StatusIndexOutOfRange(StatusListError):
    """The key's ``idx`` is past the end of the list: the list cannot be the key's."""

    reason: ClassVar[str] = "STATUS_INDEX_OUT_OF_RANGE"
