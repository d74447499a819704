"""``verify --status`` and ``--status-list``: a key's status as the tool reports it.

`status_check` gets and checks the list; this module turns what it found into
the verdict ``verify`` leads with (`wording.describe_status`, Japanese unless
``--lang en``), the rows about the list, and, for every outcome but VALID and
NO_STATUS, a `Failure` with its own exit code:

===========  ==================  ==================================================
outcome      exit                reason
===========  ==================  ==================================================
VALID        0 OK                —
NO_STATUS    0 OK                — (a key issued before status lists: the product's
                                 policy decides; the verdict says it is unchecked)
SUPERSEDED   6 KEY_NOT_VALID     ``KEY_STATUS_SUPERSEDED``
INVALID      6 KEY_NOT_VALID     ``KEY_STATUS_INVALID``
SUSPENDED    6 KEY_NOT_VALID     ``KEY_STATUS_SUSPENDED``
STALE        7 STATUS_STALE      ``STATUS_LIST_STALE``
===========  ==================  ==================================================

A list that cannot be used is refused before any outcome: exit 8
(``STATUS_LIST_REFUSED``) with `signing`'s reason; its host unreachable or
answering an HTTP error, exit 3 (``STATUS_LIST_UNREACHABLE``,
``STATUS_LIST_FETCH_FAILED``); its file unreadable, exit 2 (``STATUS_LIST_FILE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final, NamedTuple

from keysvc.migrate.failures import ExitCode, Failure
from keysvc.migrate.output import labelled
from keysvc.migrate.status_check import (
    StatusCheck,
    StatusListFetchFailed,
    StatusListFileError,
    StatusListUnreachable,
    check_key_status,
    explain_status_list_error,
)
from keysvc.migrate.wording import Language, describe_status, in_jst
from signing import LicenseVerifier, StatusListError, StatusOutcome, VerifiedLicense

__all__ = [
    "OUTCOME_FAILURES",
    "VERIFY_FETCH_HINTS",
    "FetchHints",
    "OutcomeFailure",
    "checked_status",
    "not_checked_hint",
    "status_lines",
    "status_verdict",
]

_STATUS_OPTIONS: Final = (
    "--status (fetches it from the key's status list URI) or --status-list FILE"
)


class OutcomeFailure(NamedTuple):
    """How ``verify`` ends for an outcome that is not a usable key."""

    exit_code: ExitCode
    reason: str
    hint: str


OUTCOME_FAILURES: Final[Mapping[StatusOutcome, OutcomeFailure]] = MappingProxyType(
    {
        StatusOutcome.SUPERSEDED: OutcomeFailure(
            ExitCode.KEY_NOT_VALID,
            "KEY_STATUS_SUPERSEDED",
            "A re-issue replaced this key and its overlap has ended: install the new key "
            "(keysvc-migrate install, or the key from the e-mail). If no re-issue was "
            "asked for this server, contact support.",
        ),
        StatusOutcome.INVALID: OutcomeFailure(
            ExitCode.KEY_NOT_VALID,
            "KEY_STATUS_INVALID",
            "The license was revoked, or the signing key that signed it was withdrawn: "
            "contact support, giving the key's serial.",
        ),
        StatusOutcome.SUSPENDED: OutcomeFailure(
            ExitCode.KEY_NOT_VALID,
            "KEY_STATUS_SUSPENDED",
            "The license is suspended: contact support, giving the key's serial.",
        ),
        StatusOutcome.STALE: OutcomeFailure(
            ExitCode.STATUS_STALE,
            "STATUS_LIST_STALE",
            "Fetch the list again (verify --status), or save a fresh copy of the key's "
            "status list URI for --status-list: a list past its expiry says nothing "
            "about the key any more.",
        ),
    }
)
"""The exit code, reason and next step of each outcome that ends ``verify`` in failure."""


class FetchHints(NamedTuple):
    """The next step when a status list could not be fetched, as a command puts it."""

    unreachable: str
    fetch_failed: str


VERIFY_FETCH_HINTS: Final = FetchHints(
    unreachable="Check this server's network access to the status list's host (a proxy: "
    "https_proxy), then run verify again; on a server without access, save the "
    "list elsewhere (keysvc-migrate status) and give the file with --status-list FILE.",
    fetch_failed="The host answered, but not with the list: check the URL, or try again "
    "later; the key's own status list URI is what --status fetches.",
)
"""``verify``'s next steps: on this server, or with a list saved elsewhere."""


def status_verdict(check: StatusCheck, lang: Language) -> str:
    """Return the sentence that leads ``verify``'s output for ``check``, in ``lang``."""
    expires = None if check.status_list is None else _instant(check.status_list.expires_at)
    return describe_status(check.outcome, expires_at=expires, lang=lang)


def status_lines(check: StatusCheck) -> list[str]:
    """Return the rows about the key's status list: its URI, the index, when it was signed
    and when it expires (JST)."""
    if check.reference is None:
        return labelled([("status list", "none: the key was issued before status lists")])
    listed = check.status_list
    return labelled(
        [
            ("status list", check.reference.uri),
            ("index", check.reference.index),
            ("read from", None if check.source == check.reference.uri else check.source),
            ("list issued", None if listed is None else _jst(listed.issued_at)),
            ("list expires", None if listed is None else _jst(listed.expires_at)),
        ]
    )


def not_checked_hint(license: VerifiedLicense) -> str | None:
    """Return the line saying a key's status was not checked, and how to check it.

    None for a key without a ``status`` claim: there is nothing to check.
    """
    if license.claims.status is None:
        return None
    return f"hint: the key's status (superseded, revoked) was not checked: add {_STATUS_OPTIONS}"


def checked_status(
    license: VerifiedLicense,
    verifier: LicenseVerifier,
    source: str | None,
    *,
    now: datetime,
    hints: FetchHints = VERIFY_FETCH_HINTS,
) -> StatusCheck:
    """Check the key's status (`status_check.check_key_status`); a list that cannot be
    read or used raises `Failure` with its exit code, reason and next step (``hints``
    when it could not be fetched: the command's own)."""
    try:
        return check_key_status(license, verifier, source, now=now)
    except StatusListFileError as error:
        raise Failure(ExitCode.USAGE, "STATUS_LIST_FILE", str(error)) from None
    except StatusListUnreachable as error:
        raise Failure(
            ExitCode.UNREACHABLE,
            "STATUS_LIST_UNREACHABLE",
            str(error),
            hint=hints.unreachable,
        ) from None
    except StatusListFetchFailed as error:
        raise Failure(
            ExitCode.UNREACHABLE,
            "STATUS_LIST_FETCH_FAILED",
            str(error),
            hint=hints.fetch_failed,
        ) from None
    except StatusListError as error:
        raise Failure(
            ExitCode.STATUS_LIST_REFUSED,
            error.reason,
            str(error),
            hint=explain_status_list_error(error.reason),
        ) from None


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _jst(seconds: int) -> str:
    return f"{in_jst('instant', _instant(seconds)):%Y-%m-%d %H:%M:%S} JST"
