"""Strict base64url without padding (RFC 7515 section 2, "Base64url Encoding").

Decoding accepts exactly one spelling per byte string: no ``=`` padding, no
characters outside ``[A-Za-z0-9_-]``, no impossible lengths and no stray bits
in the last character. A key that decodes must therefore have one text, which
keeps signatures and vectors comparable byte for byte.
"""

from __future__ import annotations

import base64
import binascii

__all__ = ["b64url_decode", "b64url_encode"]

# To the standard alphabet for binascii; "+", "/" and "=" become "!", which strict
# decoding refuses like any other character outside the alphabet.
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
# The last character of a partial group carries unused low bits, zero when canonical:
# 4 bits after 2 characters, 2 bits after 3.
_CANONICAL_LAST = {2: frozenset(b"AQgw"), 3: frozenset(b"AEIMQUYcgkosw048")}


def b64url_encode(data: bytes) -> str:
    """Encode ``data`` as base64url without padding.

    >>> b64url_encode(b"\\xff\\xfe")
    '__4'
    """
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes) -> bytes:
    """Decode strict, unpadded base64url; raise `ValueError` on any other spelling.

    >>> b64url_decode("__4")
    b'\\xff\\xfe'
    """
    if isinstance(text, str):
        if not text.isascii():
            raise ValueError("base64url text has characters outside [A-Za-z0-9_-]")
        text = text.encode("ascii")
    remainder = len(text) % 4
    if remainder == 1:
        raise ValueError("base64url text has an impossible length")
    padded = text.translate(_TO_STANDARD) + b"=" * (-len(text) % 4)
    try:
        data = binascii.a2b_base64(padded, strict_mode=True)
    except binascii.Error:
        raise ValueError("base64url text has characters outside [A-Za-z0-9_-]") from None
    if remainder and text[-1] not in _CANONICAL_LAST[remainder]:
        raise ValueError("base64url text has non-zero trailing bits")
    return data
