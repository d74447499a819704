"""What each `ErrorInfo` reason means to the person at the terminal, and what to do.

The command-line tools print these hints under the service's own message.
`tests/unit/client/test_reasons.py` fails when the service gains a reason
that has no hint here.
"""

from __future__ import annotations

from keysvc.client.errors import KeysvcClientError

HINTS: dict[str, str] = {
    # Generic codes, also used when the service sent no ErrorInfo.
    "INVALID_ARGUMENT": "A field of the request is invalid; the message names it.",
    "NOT_FOUND": "No such resource.",
    "ALREADY_EXISTS": "It exists already.",
    "FAILED_PRECONDITION": "The request is valid, but the current state refuses it.",
    "UNAUTHENTICATED": "The token is missing, malformed or unknown: check KEYSVC_TOKEN "
    "(or --token-file).",
    "PERMISSION_DENIED": "This token's role may not do that; ask for a token of the right role.",
    "INTERNAL": "The service failed unexpectedly; it has logged the details. Try again later "
    "and tell the operators if it persists.",
    "KEYSVC_ERROR": "The service refused the request.",
    "UNAVAILABLE": "The service cannot be reached: check the address (KEYSVC_ADDRESS), the "
    "network and TLS settings, and that the server runs. A server with mutual TLS closes the "
    "connection of a client without a certificate it accepts (--tls-cert, --tls-key).",
    "TLS_HANDSHAKE_FAILED": "The TLS handshake failed: the server's certificate is not signed "
    "by the CA given (--tls-ca, KEYSVC_TLS_CA) or is not for this address, or the server does "
    "not use TLS.",
    "DATABASE_UNAVAILABLE": "The service cannot reach its database just now; retrying is "
    "safe (keysvc.client retries with the same request_id). Tell the operators if it persists.",
    "DEADLINE_EXCEEDED": "The service did not answer in time; retrying is safe.",
    "RESOURCE_EXHAUSTED": "The service is overloaded; try again shortly.",
    "TOO_MANY_AUTHENTICATION_FAILURES": "Calls from this address failed to authenticate too "
    "often: the service refuses it for a while (the retry delay is given). Check the token "
    "(KEYSVC_TOKEN or --token-file), then try again after the delay.",
    "OVERLOADED": "The service has as many calls in flight as it accepts; try again in a "
    "moment (the tools did, and gave up).",
    "CANCELLED": "The call was cancelled before it finished (a server stopping, or this "
    "program interrupted); retrying is safe.",
    "ABORTED": "A concurrent change got in the way; retrying is safe.",
    "UNIMPLEMENTED": "The server does not have this method: it is older than this tool.",
    "UNKNOWN": "The call failed for an unknown reason.",
    # Requests and idempotency.
    "MALFORMED_REQUEST": "The request's bytes do not decode (a text field that is not UTF-8); "
    "the field is named. A client built from keysvc's protos never sends this.",
    "REQUEST_ID_REUSED": "This request_id was already used for a different request; use a new one.",
    "FIELD_NOT_UPDATABLE": "Only a contract's customer name and contact e-mail can be "
    "updated: name just those in update_mask (contracts update --customer-name, "
    "--contact-email).",
    "INVALID_EMAIL": "The contact e-mail address cannot be mailed: give one address "
    "local@domain with an ASCII local part, without quotes, spaces, comments or a display "
    "name (docs/mail.md).",
    "INVALID_FINGERPRINT": "The fingerprint must be 8-512 printable ASCII characters "
    "(keysvc-migrate fingerprint prints this server's).",
    "DATE_OUT_OF_RANGE": "The date is outside the years the business calendar covers "
    "(2000-2099), or its next business day would be.",
    "NAIVE_DATETIME": "The instant has no time zone.",
    # Contracts and support.
    "UNKNOWN_PRODUCT": "No such product code (neo-webconf or neo-backup).",
    "UNKNOWN_POLICY": "The product has no support policy configured.",
    "CONTRACT_EXISTS": "A contract with this support service number exists already.",
    "CONTRACT_NOT_FOUND": "No contract has this support service number.",
    "SUPPORT_EXPIRED": "Support for this contract was not in force on that day: renew it "
    "(or re-continue it) before asking for a re-issue.",
    "RECONTINUATION_REQUIRED": "Support lapsed: renew with re-continuation "
    "(renew --recontinuation).",
    "RECONTINUATION_NOT_ALLOWED": "Re-continuation is not possible here: support has not "
    "lapsed, or the product does not allow it.",
    "INVALID_PERIOD": "The support periods requested are not consistent.",
    "ICE_NOT_OFFERED": "ICE/TURN credentials are only for covered neo-webconf contracts.",
    "ICE_NOT_CONFIGURED": "The service has no TURN secret configured (KEYSVC_TURN_SECRET).",
    # Key requests.
    "KEY_REQUEST_NOT_FOUND": "No key request has this id (a migration token sees only the "
    "requests it made itself).",
    "KEY_REQUEST_PENDING": "The contract has a key request waiting already; follow that one "
    "(or have support reject it) instead of asking again.",
    "KEY_REQUEST_HELD": "The request is held for support staff to approve or reject.",
    "KEY_REQUEST_RELEASED": "The request was released already; its key is in the request.",
    "KEY_REQUEST_REJECTED": "The request was rejected; the reason is on the request.",
    "MIGRATION_REISSUE_ONLY": "Migration tokens may only ask for re-issues, proving "
    "possession with the old key.",
    "PREVIOUS_LICENSE_NOT_FOUND": "The previous license or key does not belong to this contract.",
    "PREVIOUS_LICENSE_NOT_ACTIVE": "The previous license is no longer active (superseded or "
    "revoked): use the contract's current key.",
    "LICENSE_ALREADY_ISSUED": "The contract has a key already: ask for a re-issue instead.",
    "REISSUE_LIMIT": "More than three re-issues within 365 days: support staff must approve.",
    "CONTACT_EMAIL_UNDELIVERABLE": "The contact e-mail address stored for the contract or "
    "request cannot be mailed: give contact_email with the request (--email), or reject the "
    "held request and submit it again with one; keysvc mail check-addresses lists them all.",
    "RELEASE_FAILED": "Releasing the key failed unexpectedly and the service logged why; "
    "once the cause is fixed, approve the request to release it.",
    # Licenses and keys.
    "LICENSE_NOT_FOUND": "No license has this serial.",
    "KEY_REQUEST_NOT_RELEASED": "Only a released key's e-mail can be sent again; release "
    "the request first (approve it if HELD, or `requests issue-now`).",
    "LICENSE_KEY_SIGNING_KEY_WITHDRAWN": "The key was signed by a signing key since "
    "withdrawn: it no longer works. Its license gets a replacement key by e-mail; install "
    "that one.",
    "SIGNING_KEY_ACTIVE": "The active signing key cannot be withdrawn: rotate first "
    "(`keys rotate`), then withdraw the now retired key.",
    "SIGNING_KEY_NOT_FOUND": "No signing key has this kid; `keys list` shows them.",
    "LICENSE_KEY_INVALID": "The text is not a valid license key.",
    "LICENSE_KEY_MALFORMED": "The text is not a license key (three base64url parts); check "
    "it was copied whole.",
    "LICENSE_KEY_TOO_LARGE": "The text is far too long to be a license key.",
    "LICENSE_KEY_BAD_HEADER": "The key's header is not keysvc's.",
    "LICENSE_KEY_BAD_CLAIMS": "The key's contents are incomplete or malformed.",
    "LICENSE_KEY_BAD_SIGNATURE": "The key's signature does not verify: it was altered or damaged.",
    "LICENSE_KEY_UNKNOWN_KID": "The key was signed by a key this verifier does not know: "
    "get a fresh JWKS.",
    "FINGERPRINT_MISMATCH": "The key was issued for another server: request a re-issue for "
    "this one.",
    "INVALID_JWKS": "The JWKS is not a valid set of Ed25519 keys.",
    "LICENSE_KEY_BAD_STATUS_CLAIM": "The key's status reference (where its status list is "
    "published) is malformed.",
    # Status lists (docs/key-format.md, "Key status"), refused by the offline check.
    "STATUS_LIST_INVALID": "The status list could not be used.",
    "STATUS_LIST_TOO_LARGE": "The file is far too large to be a status list.",
    "STATUS_LIST_MALFORMED": "The file is not a status list token (three base64url parts); "
    "check it was saved whole.",
    "STATUS_LIST_BAD_HEADER": "The status list's header is not keysvc's.",
    "STATUS_LIST_UNKNOWN_KID": "The status list was signed by a key this verifier does not "
    "know: get a fresh JWKS.",
    "STATUS_LIST_BAD_SIGNATURE": "The status list's signature does not verify: it was altered "
    "or damaged.",
    "STATUS_LIST_BAD_CLAIMS": "The status list's contents are incomplete or malformed.",
    "STATUS_LIST_WRONG_SUBJECT": "The status list is not the one at the address asked for.",
    "STATUS_LIST_BAD_ENCODING": "The status list's entries are not readable (not base64url "
    "ZLIB data).",
    "STATUS_LIST_DECOMPRESSED_TOO_LARGE": "The status list would decompress to more than "
    "1 MiB: refused unread.",
    "STATUS_LIST_NOT_THE_KEYS": "The status list is not the one this key names: fetch the "
    "list at the key's status uri.",
    "STATUS_INDEX_OUT_OF_RANGE": "The key's entry is past the end of the status list: it "
    "is not this key's list.",
    # Signing keys and configuration (seen by operators).
    "SIGNING_ERROR": "The signing keys could not be used.",
    "KEY_STORE_ERROR": "The signing key store could not be read.",
    "BAD_PASSPHRASE": "The signing key passphrase is wrong.",
    "INSECURE_KEY_FILE": "A key file is readable by others; make it mode 0600.",
    # Tokens.
    "TOKEN_NOT_FOUND": "No token has this id (keysvc admin tokens list shows them).",
    "TOKEN_IS_CALLERS": "A token cannot revoke itself: use another admin token.",
    # Calendar.
    "CLOSURE_NOT_FOUND": "No closure has this id.",
    "INVALID_CLOSURE": "The closure is not valid: start on or before end, a label, at most "
    "a year long.",
    "INVALID_CLOSURES_FILE": "The calendar file is not valid TOML closures.",
    "INVALID_BUSINESS_HOURS": "The opening must be before the cutoff.",
    "CLOSURES_TOO_LONG": "With the closures next to it, this closure would leave no business "
    "day for more than a year; shorten it or remove a neighbour.",
    "NO_BUSINESS_DAY": "The closures leave no business day up to 2099-12-31, the last day the "
    "calendar knows; remove or shorten a closure.",
    "CALENDAR_ERROR": "The business calendar could not answer.",
}


def hint_for(reason: str) -> str:
    """The hint for a reason; a generic one for a reason this client does not know yet."""
    return HINTS.get(reason, "The service refused the request (reason unknown to this tool).")


def describe(error: KeysvcClientError) -> str:
    """The message for a person: the service's words, the field if any, and the hint."""
    lines = [
        f"error: {error.reason}: {error.message}" if error.message else f"error: {error.reason}"
    ]
    if error.field:
        lines.append(f"  field: {error.field}")
    lines.append(f"  {hint_for(error.reason)}")
    return "\n".join(lines)
