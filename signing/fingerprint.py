"""Server fingerprints: normalisation and the ``fph`` claim."""

from __future__ import annotations

import hashlib

from signing.b64 import b64url_encode
from signing.errors import InvalidFingerprint

__all__ = ["FINGERPRINT_HASH_PREFIX", "fingerprint_hash", "normalise_fingerprint"]

# Versioned domain separation: a later scheme can hash the same text differently.
FINGERPRINT_HASH_PREFIX = "keysvc-fp1:"

_ASCII_WHITESPACE = " \t\n\r\x0b\x0c"
_MIN_LENGTH = 8
_MAX_LENGTH = 512


def normalise_fingerprint(text: str) -> str:
    """Return the canonical form of a fingerprint, or raise `InvalidFingerprint`.

    Strips ASCII whitespace at both ends, then requires 8 to 512 characters, each
    printable ASCII (0x20-0x7E), and lowercases.

    >>> normalise_fingerprint("  FP1:AB12CD34EF\\n")
    'fp1:ab12cd34ef'
    """
    if not isinstance(text, str):
        raise InvalidFingerprint("fingerprint must be a str")
    # str.strip() with no argument would also strip Unicode spaces such as U+00A0.
    stripped = text.strip(_ASCII_WHITESPACE)
    if not _MIN_LENGTH <= len(stripped) <= _MAX_LENGTH:
        raise InvalidFingerprint(
            f"fingerprint must be {_MIN_LENGTH} to {_MAX_LENGTH} characters after trimming, "
            f"got {len(stripped)}"
        )
    for index, char in enumerate(stripped):
        if not " " <= char <= "~":
            raise InvalidFingerprint(
                f"fingerprint must be printable ASCII (0x20-0x7E); "
                f"character {index} is U+{ord(char):04X}"
            )
    return stripped.lower()


def fingerprint_hash(fingerprint: str) -> str:
    """Return the ``fph`` claim for a fingerprint: 43 characters of base64url.

    That is base64url (no padding) of SHA-256 over the UTF-8 of
    ``"keysvc-fp1:" + normalise_fingerprint(fingerprint)``; raises
    `InvalidFingerprint` when the fingerprint breaks the rules.
    """
    canonical = FINGERPRINT_HASH_PREFIX + normalise_fingerprint(fingerprint)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())
