"""A key's status: its Status List Token read from a file or fetched, and checked.

``verify --status`` fetches the token from the ``uri`` of the key's own
``status`` claim; ``verify --status-list FILE_OR_URL`` reads it from a file (a
copy saved for an air-gapped server) or fetches it from the URL given. The
verdict is `signing`'s (`parse_status_list_token`, `check_status`), with the
same published keys the key was verified with; this module only gets the
token, within bounds, and says what each refusal means for the customer.

Fetching uses the standard library alone (the tool never needs more to
verify): ``GET`` with ``Accept: application/statuslist+jwt``, at most
`FETCH_TIMEOUT` seconds, at most `signing.MAX_STATUS_LIST_TOKEN_BYTES` read
(one byte more tells a body that is too large), and redirects only to the
same scheme (an ``https`` list is never read over plain ``http``).
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.client import HTTPException, HTTPMessage
from pathlib import Path
from types import MappingProxyType
from typing import IO, Final
from urllib.parse import urlsplit

from signing import (
    MAX_STATUS_LIST_TOKEN_BYTES,
    InvalidStatusListClaims,
    LicenseVerifier,
    MalformedStatusList,
    StatusIndexOutOfRange,
    StatusList,
    StatusListBadEncoding,
    StatusListBadSignature,
    StatusListError,
    StatusListInflatesTooLarge,
    StatusListNotTheKeys,
    StatusListSubjectMismatch,
    StatusListTooLarge,
    StatusOutcome,
    StatusReference,
    UnknownStatusListKeyId,
    UnsupportedStatusListHeader,
    VerifiedLicense,
    check_status,
    parse_status_list_token,
)

__all__ = [
    "FETCH_TIMEOUT",
    "STATUS_LIST_EXPLANATIONS",
    "StatusCheck",
    "StatusListFetchFailed",
    "StatusListFileError",
    "StatusListUnreachable",
    "check_key_status",
    "explain_status_list_error",
    "fetch_status_list",
    "is_url",
    "read_status_list",
]

FETCH_TIMEOUT: Final = 10.0
"""Seconds a fetch of a status list may take, connecting and reading together."""

_MEDIA_TYPE: Final = "application/statuslist+jwt"
_SCHEMES: Final = ("http", "https")
_CHUNK: Final = 64 * 1024
_MAX_REDIRECTS: Final = 5

STATUS_LIST_EXPLANATIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        StatusListTooLarge.reason: (
            "this is far larger than a status list: check the file or URL given (the wrong one?)"
        ),
        MalformedStatusList.reason: (
            "this is not a Status List Token: give the file served at the key's status "
            "list URI, or use --status to fetch it"
        ),
        UnsupportedStatusListHeader.reason: (
            "this is a signed token, but not a keysvc status list: give the file served at "
            "the key's status list URI, or use --status to fetch it"
        ),
        UnknownStatusListKeyId.reason: (
            "the list was signed by a key the JWKS file does not hold: export a fresh one "
            "(keysvc-migrate jwks) and check again; if it persists, the list is not keysvc's"
        ),
        StatusListBadSignature.reason: (
            "the list's signature does not match: it was altered, or is not keysvc's. Do "
            "not trust it; fetch it again from the key's status list URI"
        ),
        InvalidStatusListClaims.reason: (
            "the list is genuine but its contents are not what this tool understands: "
            "update keysvc-migrate, or contact support"
        ),
        StatusListSubjectMismatch.reason: (
            "this status list is not the one the key names: use --status, or the file "
            "saved from the key's status list URI"
        ),
        StatusListBadEncoding.reason: (
            "the list is genuine but its entries cannot be read: update keysvc-migrate, "
            "or contact support"
        ),
        StatusListInflatesTooLarge.reason: (
            "the list's entries unpack to more than any keysvc list holds: update "
            "keysvc-migrate, or contact support"
        ),
        StatusListNotTheKeys.reason: (
            "this status list is not the one the key names: use --status, or the file "
            "saved from the key's status list URI"
        ),
        StatusIndexOutOfRange.reason: (
            "the key's entry lies past the end of this list: a cut-short copy, or not the "
            "key's list; fetch it again from the key's status list URI"
        ),
        # Any refusal signing adds later still gets an answer, if a vaguer one.
        StatusListError.reason: (
            "the status list was refused: contact support and give them the reason shown"
        ),
    }
)
"""What each `signing.StatusListError` reason means for the customer, and what to do."""


class StatusListFileError(Exception):
    """The status list file cannot be read; the message names it and why."""


class StatusListUnreachable(Exception):
    """No answer from the status list's host: refused, timed out, name unknown, TLS failed."""


class StatusListFetchFailed(Exception):
    """The host answered, but not with the list: an HTTP error, or a redirect refused."""


@dataclass(frozen=True, slots=True)
class StatusCheck:
    """The outcome of `check_key_status`, and what it was decided from.

    ``reference`` is the key's ``status`` claim (None for a key without one:
    `StatusOutcome.NO_STATUS`); ``status_list`` the verified list, and
    ``source`` the file or URL it was read from, and ``token`` the token's
    bytes as read (what ``status`` saves), all None when no list was read.
    """

    outcome: StatusOutcome
    reference: StatusReference | None
    status_list: StatusList | None = None
    source: str | None = None
    # Up to 2 MiB: kept out of the repr, which would otherwise print it whole.
    token: bytes | None = field(default=None, repr=False)

    def fields(self) -> dict[str, object]:
        """Return the check as JSON fields: outcome, uri, index, the list's times, source."""
        listed = self.status_list
        return {
            "outcome": self.outcome.value,
            "uri": None if self.reference is None else self.reference.uri,
            "index": None if self.reference is None else self.reference.index,
            "list_issued_at": None if listed is None else _iso(listed.issued_at),
            "list_expires_at": None if listed is None else _iso(listed.expires_at),
            "source": self.source,
        }


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def explain_status_list_error(reason: str) -> str:
    """Return the customer's explanation of a `signing.StatusListError` reason.

    >>> explain_status_list_error("STATUS_LIST_WRONG_SUBJECT")[:38]
    'this status list is not the one the ke'
    """
    return STATUS_LIST_EXPLANATIONS.get(reason, STATUS_LIST_EXPLANATIONS[StatusListError.reason])


def is_url(source: str) -> bool:
    """Whether ``--status-list`` names a URL to fetch (``http://`` or ``https://``), not a file.

    >>> is_url("https://status.example.jp/statuslists/1"), is_url("list.jwt")
    (True, False)
    """
    # A scheme is case-insensitive (RFC 3986); a file named "HTTP:" is not worth keeping apart.
    return source[:8].lower().startswith(("http://", "https://"))


def read_status_list(path: Path) -> bytes:
    """Return the token in the file ``path``: at most the largest token `signing` accepts.

    Raises `StatusListFileError` when the file cannot be read, and
    `signing.StatusListTooLarge` when it holds more (only one byte more is read).
    """
    try:
        with path.open("rb") as file:
            data = file.read(MAX_STATUS_LIST_TOKEN_BYTES + 1)
    except OSError as exc:
        raise StatusListFileError(f"cannot read status list file {path}: {exc.strerror}") from None
    if len(data) > MAX_STATUS_LIST_TOKEN_BYTES:
        raise StatusListTooLarge(
            f"{path} is over {MAX_STATUS_LIST_TOKEN_BYTES} bytes: not a status list"
        )
    return data


class _SameSchemeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a few redirects, none to another scheme (no https list read over http)."""

    max_redirections = _MAX_REDIRECTS

    def redirect_request(  # noqa: PLR0917 (the signature is urllib's)
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        """Refuse a redirect that changes the scheme; otherwise redirect as urllib does."""
        if urlsplit(newurl).scheme != urlsplit(req.full_url).scheme:
            raise StatusListFetchFailed(
                f"{req.full_url} redirects to {newurl}: a redirect to another scheme is refused"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_status_list(url: str, *, timeout: float = FETCH_TIMEOUT) -> bytes:
    """GET the Status List Token at ``url`` (``http`` or ``https``) and return its body.

    Bounded: the whole fetch stops after ``timeout`` seconds, and a body over
    `signing.MAX_STATUS_LIST_TOKEN_BYTES` (announced, or read) is refused with
    `signing.StatusListTooLarge` having read at most one byte more. Proxies
    are taken from the environment (``https_proxy``, ``no_proxy``), as other
    tools do. Raises `StatusListUnreachable` when no answer came, and
    `StatusListFetchFailed` when the answer was not a ``200``.
    """
    try:
        scheme = urlsplit(url).scheme
    except ValueError as error:
        raise StatusListFetchFailed(f"{url!r} is not a URL: {error}") from None
    if scheme not in _SCHEMES:
        raise StatusListFetchFailed(f"{url!r}: only http:// and https:// URLs are fetched")
    # urllib's timeout bounds each socket operation, not the whole: a host sending
    # its headers a byte at a time would hold the tool for ever. So the fetch runs
    # in a thread the tool stops waiting for at the deadline (a daemon: the command
    # ends soon after, and the socket with it).
    outcome: list[bytes | BaseException] = []

    def fetch() -> None:
        try:
            outcome.append(_fetch(url, timeout, time.monotonic() + timeout))
        except BaseException as error:  # handed to the waiting thread, raised there
            outcome.append(error)

    worker = threading.Thread(target=fetch, name="status-list-fetch", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise StatusListUnreachable(f"{url} did not answer within {timeout:g} s")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _fetch(url: str, timeout: float, deadline: float) -> bytes:
    """The fetch itself: each step bounded by ``timeout``, reading stopped at ``deadline``."""
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url, headers={"Accept": _MEDIA_TYPE}, method="GET"
    )
    opener = urllib.request.build_opener(_SameSchemeRedirects())
    try:
        with opener.open(request, timeout=timeout) as response:
            announced = response.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > MAX_STATUS_LIST_TOKEN_BYTES:
                raise StatusListTooLarge(
                    f"{url} answers {announced} bytes; a status list token is at most "
                    f"{MAX_STATUS_LIST_TOKEN_BYTES}"
                )
            return _read_bounded(response, url, deadline)
    except urllib.error.HTTPError as error:
        raise StatusListFetchFailed(f"{url} answered HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise StatusListUnreachable(f"cannot reach {url}: {error.reason}") from None
    except TimeoutError:
        raise StatusListUnreachable(f"{url} did not answer within {timeout:g} s") from None
    except (OSError, HTTPException) as error:
        # A connection reset, or an answer cut short: the host is not answering properly.
        raise StatusListUnreachable(f"cannot fetch {url}: {error!r}") from None
    except ValueError as error:
        raise StatusListFetchFailed(f"{url!r} cannot be fetched: {error}") from None


def _read_bounded(response: IO[bytes], url: str, deadline: float) -> bytes:
    """Read the body in chunks until its end, the size bound or the deadline."""
    body = bytearray()
    while len(body) <= MAX_STATUS_LIST_TOKEN_BYTES:
        # Each read waits at most the socket timeout; a host dripping bytes slowly
        # is stopped here, between reads.
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = response.read(min(_CHUNK, MAX_STATUS_LIST_TOKEN_BYTES + 1 - len(body)))
        if not chunk:
            return bytes(body)
        body += chunk
    raise StatusListTooLarge(
        f"{url} answers more than {MAX_STATUS_LIST_TOKEN_BYTES} bytes: not a status list token"
    )


def check_key_status(
    license: VerifiedLicense,
    verifier: LicenseVerifier,
    source: str | None,
    *,
    now: datetime,
    timeout: float = FETCH_TIMEOUT,
) -> StatusCheck:
    """Check the status of a verified key against its Status List Token, as of ``now``.

    ``source`` is where the token is: a file, or an ``http(s)`` URL (see
    `is_url`); None fetches it from the ``uri`` of the key's ``status`` claim.
    The token must be signed by one of ``verifier``'s keys (the JWKS the key
    was checked with) and be the list the key names. A key without a
    ``status`` claim is `StatusOutcome.NO_STATUS` and nothing is read.

    Raises `StatusListFileError`, `StatusListUnreachable`,
    `StatusListFetchFailed`, or the `signing.StatusListError` that refused the
    list (its ``reason`` is `explain_status_list_error`'s key).
    """
    reference = license.claims.status
    if reference is None:
        return StatusCheck(StatusOutcome.NO_STATUS, None)
    where = reference.uri if source is None else source
    if is_url(where):
        token = fetch_status_list(where, timeout=timeout)
    else:
        token = read_status_list(Path(where))
    # expected_uri is the key's: a list fetched from elsewhere must still be the key's own.
    status_list = parse_status_list_token(token, verifier, expected_uri=reference.uri)
    outcome = check_status(license, status_list, now=now.timestamp())
    return StatusCheck(outcome, reference, status_list, where, token)
