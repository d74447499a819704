"""The tool's side of the network: connecting to keysvc, its failures, its key requests.

Only the networked commands import this module (it loads grpc through
`keysvc.client`); ``fingerprint`` and ``verify`` never do, so they cannot
open a channel.

Connection settings come from the command line, else the environment
(`keysvc.client.ClientConfig.from_environment`): ``--address`` /
``KEYSVC_ADDRESS``; ``--token-file`` / ``KEYSVC_TOKEN`` / ``KEYSVC_TOKEN_FILE``
(never a token on the command line, where ``ps`` shows it to every user);
``--tls-ca`` / ``KEYSVC_TLS_CA``, ``--tls-cert`` / ``KEYSVC_TLS_CLIENT_CERT``,
``--tls-key`` / ``KEYSVC_TLS_CLIENT_KEY``; ``--call-timeout``, the deadline of
each attempt. Transient failures are retried by the client library.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol

from keysvc.client import (
    AuthenticationError,
    ClientConfig,
    KeyRequestKind,
    KeysvcClientError,
    LicenseClient,
    PermissionDeniedError,
    UnavailableError,
)
from keysvc.client.reasons import hint_for
from keysvc.migrate.failures import ExitCode, Failure
from keysvc.migrate.output import labelled
from keysvc.migrate.runtime import Runtime
from keysvc.migrate.wording import Language, describe_previous_key, describe_schedule
from keysvc.v1 import resources_pb2

__all__ = [
    "KeyService",
    "client_config",
    "connected",
    "failure_from_error",
    "key_request_fields",
    "key_request_lines",
    "state_name",
]

_TOKEN_VARIABLES = ("KEYSVC_TOKEN", "KEYSVC_TOKEN_FILE")
_HOW_TO_AUTHENTICATE = (
    "Give the migration token from support in KEYSVC_TOKEN, or in a file named by "
    "--token-file or KEYSVC_TOKEN_FILE (never on the command line)."
)


class KeyService(Protocol):
    """What the tool calls on keysvc: the subset of `keysvc.client.LicenseClient` it uses."""

    def __enter__(self) -> KeyService:
        """Return the open service."""
        ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the channel."""

    def submit_key_request(
        self,
        contract_number: str,
        kind: KeyRequestKind.ValueType,
        *,
        fingerprint: str = "",
        contact_email: str = "",
        previous_license_serial: str = "",
        previous_key: str = "",
        request_id: str = "",
    ) -> resources_pb2.KeyRequest:
        """Submit a key request; the same ``request_id`` never makes a second one."""
        ...

    def get_key_request(self, request_id: str) -> resources_pb2.KeyRequest:
        """Return a key request, with its key once released."""
        ...

    def wait_for_release(
        self,
        request_id: str,
        *,
        timeout: float,
        poll_interval: float = 2.0,
        on_poll: Callable[[resources_pb2.KeyRequest], None] | None = None,
    ) -> resources_pb2.KeyRequest:
        """Poll until the request is released or rejected; `TimeoutError` after ``timeout``."""
        ...

    def jwks(self) -> str:
        """Return the published verification keys as JWKS JSON text."""
        ...


def client_config(args: argparse.Namespace, runtime: Runtime) -> ClientConfig:
    """Return the connection settings of the command line, else of the environment.

    Raises `Failure`: USAGE when the token file cannot be read or the token is
    not printable ASCII (which gRPC would refuse as metadata), AUTHENTICATION
    when there is no token at all (the service would refuse every call).
    """
    environ = dict(runtime.environ)
    token, source = None, "KEYSVC_TOKEN"
    if args.token_file is not None:
        token, source = _read_token_file(args.token_file, "--token-file"), "--token-file"
        for name in _TOKEN_VARIABLES:
            environ.pop(name, None)  # the command line wins; a stale variable must not fail
    elif not environ.get("KEYSVC_TOKEN") and environ.get("KEYSVC_TOKEN_FILE"):
        token = _read_token_file(Path(environ["KEYSVC_TOKEN_FILE"]), "KEYSVC_TOKEN_FILE")
        source = "KEYSVC_TOKEN_FILE"
        environ.pop("KEYSVC_TOKEN_FILE")
    try:
        config = ClientConfig.from_environment(
            environ,
            address=args.address,
            token=token,
            tls_ca=args.tls_ca,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            timeout=args.call_timeout,
        )
    except ValueError as error:  # the token is no token (ClientConfig checks it)
        reason = "INVALID_TOKEN" if source == "KEYSVC_TOKEN" else "TOKEN_FILE"
        raise Failure(
            ExitCode.USAGE, reason, f"{source}: {error}", hint=_HOW_TO_AUTHENTICATE
        ) from None
    if not config.token:
        raise Failure(
            ExitCode.AUTHENTICATION,
            "NO_TOKEN",
            "no token to call keysvc with",
            hint=_HOW_TO_AUTHENTICATE,
        )
    return config


def _read_token_file(path: Path, where: str) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) else "not text"
        raise Failure(
            ExitCode.USAGE, "TOKEN_FILE", f"cannot read the token file {path} ({where}): {why}"
        ) from None
    if not token:
        raise Failure(
            ExitCode.AUTHENTICATION, "NO_TOKEN", f"{path} is empty", hint=_HOW_TO_AUTHENTICATE
        )
    return token


@contextmanager
def connected(config: ClientConfig, runtime: Runtime) -> Iterator[KeyService]:
    """Open the service for one command and close it after; failed calls become `Failure`.

    A `KeysvcClientError` the command does not handle itself leaves as
    `failure_from_error` words it.
    """
    connect = runtime.connect or LicenseClient
    try:
        service = connect(config)
    except (OSError, ValueError) as error:
        # open_channel reads the TLS files, and refuses half a client certificate.
        why = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        name = f" {error.filename}" if isinstance(error, OSError) and error.filename else ""
        raise Failure(ExitCode.USAGE, "TLS_FILES", f"cannot set up TLS{name}: {why}") from None
    with service:
        try:
            yield service
        except KeysvcClientError as error:
            raise failure_from_error(error) from None


def failure_from_error(error: KeysvcClientError, *, hint: str = "") -> Failure:
    """Return the `Failure` for a failed call: its exit code, reason and the hint for it.

    Not authenticated or not allowed: AUTHENTICATION. Unreachable after the
    retries (or answering too late): UNREACHABLE. Anything else the service
    refused: REFUSED. ``hint`` goes after `keysvc.client.reasons`' hint.
    """
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        code = ExitCode.AUTHENTICATION
    elif error.transient or isinstance(error, UnavailableError):
        code = ExitCode.UNREACHABLE
    else:
        code = ExitCode.REFUSED
    hints = "\n".join(part for part in (hint_for(error.reason), hint) if part)
    return Failure(
        code, error.reason, error.message or error.reason, hint=hints, metadata=error.metadata
    )


def state_name(state: resources_pb2.KeyRequestState.ValueType) -> str:
    """Return a key request state's short name: ``PENDING``, ``RELEASED`` ...

    >>> state_name(resources_pb2.KEY_REQUEST_STATE_RELEASED)
    'RELEASED'
    """
    return resources_pb2.KeyRequestState.Name(state).removeprefix("KEY_REQUEST_STATE_")


_Instant = Literal["accept_time", "release_time", "released_time", "previous_supersede_time"]


def _instant(request: resources_pb2.KeyRequest, name: _Instant) -> datetime | None:
    if not request.HasField(name):
        return None
    stamp = getattr(request, name)
    instant: datetime = stamp.ToDatetime(tzinfo=UTC)
    return instant


def schedule_words(request: resources_pb2.KeyRequest, now: datetime, lang: Language) -> str:
    """Return when the key comes, in the customer's words (`describe_schedule`)."""
    release = _instant(request, "release_time")
    if release is None or not request.due_date:
        return ""
    return describe_schedule(
        date.fromisoformat(request.due_date),
        release,
        now,
        released_time=_instant(request, "released_time"),
        accept_time=_instant(request, "accept_time"),
        lang=lang,
    )


def previous_key_words(request: resources_pb2.KeyRequest, now: datetime, lang: Language) -> str:
    """Return until when the key the request replaced works, in the customer's words
    (`describe_previous_key`); empty before the release or when it replaced none."""
    until = _instant(request, "previous_supersede_time")
    return "" if until is None else describe_previous_key(until, now, lang=lang)


def key_request_fields(
    request: resources_pb2.KeyRequest, now: datetime, lang: Language
) -> dict[str, object]:
    """Return a key request as the JSON fields the commands print (never the key itself)."""

    def iso(name: _Instant) -> str | None:
        instant = _instant(request, name)
        return None if instant is None else instant.isoformat()

    return {
        "key_request_id": request.id,
        "contract_number": request.contract_number,
        "state": state_name(request.state),
        "accept_time": iso("accept_time"),
        "due_date": request.due_date,
        "release_time": iso("release_time"),
        "released_time": iso("released_time"),
        "schedule": schedule_words(request, now, lang),
        "at_risk": request.at_risk,
        "hold_reason": request.hold_reason,
        "reject_reason": request.reject_reason,
        "license_serial": request.license_serial,
        "previous_key_valid_until": iso("previous_supersede_time"),
        "previous_key": previous_key_words(request, now, lang),
    }


def key_request_lines(fields: dict[str, object]) -> list[str]:
    """Return the human lines of `key_request_fields`."""
    return labelled(
        [
            ("key request", fields["key_request_id"]),
            ("contract", fields["contract_number"]),
            ("state", fields["state"]),
            ("held because", fields["hold_reason"]),
            ("rejected", fields["reject_reason"]),
            ("due date", fields["due_date"]),
            ("release", fields["schedule"]),
            ("license", fields["license_serial"]),
            ("old key", fields["previous_key"]),
        ]
    )
