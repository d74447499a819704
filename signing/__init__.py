"""Ed25519 license keys: key ring, JWS key format, offline verifier.

Depends only on `cryptography` and the standard library, so a product can
verify keys with this package alone::

    verifier = LicenseVerifier.from_jwks(jwks_text)
    license = verifier.verify(key_text, fingerprint=server_fingerprint)
    license.claims.support_end

The format is described in ``docs/key-format.md``.
"""

from __future__ import annotations

from signing.b64 import b64url_decode, b64url_encode
from signing.claims import LicenseClaims
from signing.errors import (
    BadPassphrase,
    BadSignature,
    FingerprintMismatch,
    InsecureKeyFile,
    InvalidClaims,
    InvalidFingerprint,
    InvalidJwks,
    KeyStoreError,
    KeyTooLarge,
    LicenseKeyError,
    MalformedKey,
    SigningError,
    UnknownKeyId,
    UnsupportedHeader,
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
    MAX_LICENSE_KEY_BYTES,
    LicenseVerifier,
    VerifiedLicense,
    sign_license,
)

__all__ = [
    "MAX_LICENSE_KEY_BYTES",
    "BadPassphrase",
    "BadSignature",
    "FingerprintMismatch",
    "InsecureKeyFile",
    "InvalidClaims",
    "InvalidFingerprint",
    "InvalidJwks",
    "KeyRing",
    "KeyStoreError",
    "KeyTooLarge",
    "LicenseClaims",
    "LicenseKeyError",
    "LicenseVerifier",
    "MalformedKey",
    "SigningError",
    "SigningKey",
    "UnknownKeyId",
    "UnsupportedHeader",
    "VerifiedLicense",
    "VerifyingKey",
    "b64url_decode",
    "b64url_encode",
    "decrypt_private_key",
    "encrypt_private_key",
    "fingerprint_hash",
    "jwk_thumbprint",
    "load_private_key",
    "normalise_fingerprint",
    "passphrase_from_text",
    "read_passphrase_file",
    "save_private_key",
    "sign_license",
]
