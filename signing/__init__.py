"""Ed25519 license keys: key ring, JWS key format, offline verifier.

Depends only on `cryptography` and the standard library, so a product can
verify keys with this package alone::

    verifier = LicenseVerifier.from_jwks(jwks_text)
    license = verifier.verify(key_text, fingerprint=server_fingerprint)
    license.claims.support_end

and check its status offline against the Status List Token its ``status``
claim names (fetched from ``license.claims.status.uri``)::

    status_list = parse_status_list_token(token, verifier, expected_uri=uri)
    check_status(license, status_list, now=time.time())  # StatusOutcome.VALID, ...

The format is described in ``docs/key-format.md``.
"""

from __future__ import annotations

from signing.b64 import b64url_decode, b64url_encode
from signing.claims import (
    MAX_STATUS_LIST_ENTRIES,
    MAX_STATUS_URI_LENGTH,
    LicenseClaims,
    StatusReference,
    check_status_uri,
)
from signing.errors import (
    BadPassphrase,
    BadSignature,
    FingerprintMismatch,
    InsecureKeyFile,
    InvalidClaims,
    InvalidFingerprint,
    InvalidJwks,
    InvalidStatusClaim,
    InvalidStatusListClaims,
    KeyStoreError,
    KeyTooLarge,
    LicenseKeyError,
    MalformedKey,
    MalformedStatusList,
    SigningError,
    StatusIndexOutOfRange,
    StatusListBadEncoding,
    StatusListBadSignature,
    StatusListError,
    StatusListInflatesTooLarge,
    StatusListNotTheKeys,
    StatusListSubjectMismatch,
    StatusListTooLarge,
    UnknownKeyId,
    UnknownStatusListKeyId,
    UnsupportedHeader,
    UnsupportedStatusListHeader,
)
from signing.fingerprint import fingerprint_hash, normalise_fingerprint
from signing.jwk import jwk_thumbprint
from signing.keyring import KeyRing
from signing.keys import SigningKey, VerifyingKey
from signing.keystore import (
    decrypt_private_key,
    encrypt_private_key,
    load_private_key,
    passphrase_from_text,
    read_passphrase_file,
    save_private_key,
)
from signing.license_key import (
    ALGORITHM,
    ALGORITHMS,
    MAX_LICENSE_KEY_BYTES,
    Algorithm,
    LicenseVerifier,
    VerifiedLicense,
    check_algorithm,
    sign_license,
)
from signing.status_list import (
    MAX_STATUS_LIST_BYTES,
    MAX_STATUS_LIST_TOKEN_BYTES,
    StatusList,
    StatusOutcome,
    StatusValue,
    build_status_list_token,
    check_status,
    pack_statuses,
    parse_status_list_token,
)

__all__ = [
    "ALGORITHM",
    "ALGORITHMS",
    "MAX_LICENSE_KEY_BYTES",
    "MAX_STATUS_LIST_BYTES",
    "MAX_STATUS_LIST_ENTRIES",
    "MAX_STATUS_LIST_TOKEN_BYTES",
    "MAX_STATUS_URI_LENGTH",
    "Algorithm",
    "BadPassphrase",
    "BadSignature",
    "FingerprintMismatch",
    "InsecureKeyFile",
    "InvalidClaims",
    "InvalidFingerprint",
    "InvalidJwks",
    "InvalidStatusClaim",
    "InvalidStatusListClaims",
    "KeyRing",
    "KeyStoreError",
    "KeyTooLarge",
    "LicenseClaims",
    "LicenseKeyError",
    "LicenseVerifier",
    "MalformedKey",
    "MalformedStatusList",
    "SigningError",
    "SigningKey",
    "StatusIndexOutOfRange",
    "StatusList",
    "StatusListBadEncoding",
    "StatusListBadSignature",
    "StatusListError",
    "StatusListInflatesTooLarge",
    "StatusListNotTheKeys",
    "StatusListSubjectMismatch",
    "StatusListTooLarge",
    "StatusOutcome",
    "StatusReference",
    "StatusValue",
    "UnknownKeyId",
    "UnknownStatusListKeyId",
    "UnsupportedHeader",
    "UnsupportedStatusListHeader",
    "VerifiedLicense",
    "VerifyingKey",
    "b64url_decode",
    "b64url_encode",
    "build_status_list_token",
    "check_algorithm",
    "check_status",
    "check_status_uri",
    "decrypt_private_key",
    "encrypt_private_key",
    "fingerprint_hash",
    "jwk_thumbprint",
    "load_private_key",
    "normalise_fingerprint",
    "pack_statuses",
    "parse_status_list_token",
    "passphrase_from_text",
    "read_passphrase_file",
    "save_private_key",
    "sign_license",
]
