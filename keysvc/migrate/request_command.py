"""``request``: ask keysvc for a re-issue for this server, proving possession of the old key.

A `migration` token may submit ``REISSUE`` only, with ``previous_key``, the old
key's full text; the service checks that it verifies and is the contract's
ACTIVE license (SPEC section 6). The ``request_id`` (AIP-155) is written to the
state file before the call, so running ``request`` again after a crash or a
lost answer gets the same key request back, never a second one.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Final

from keysvc.client import (
    AlreadyExistsError,
    AuthenticationError,
    FailedPreconditionError,
    InvalidArgumentError,
    KeysvcClientError,
    NotFoundError,
    PermissionDeniedError,
)
from keysvc.migrate.connection import (
    KeyService,
    client_config,
    connected,
    failure_from_error,
    key_request_fields,
    key_request_lines,
)
from keysvc.migrate.failures import ExitCode, Failure
from keysvc.migrate.offline_commands import chosen_fingerprint, read_key_file
from keysvc.migrate.output import Output, labelled
from keysvc.migrate.runtime import Runtime
from keysvc.migrate.state import (
    RequestState,
    StateFileError,
    parse_state,
    read_bytes,
    restore_file,
    save_state,
)
from keysvc.v1 import resources_pb2

__all__ = ["compact_key", "run_request", "state_failure"]

# ASCII only: str.split() would also drop Unicode spaces, which no key contains
# and which the service must see to say what is wrong.
_NO_WHITESPACE: Final = str.maketrans("", "", " \t\n\r\x0b\x0c")
_MAX_REQUEST_ID_LENGTH: Final = 128
# Answers that say the service checked the request and made nothing.
_REFUSALS: Final = (
    InvalidArgumentError,
    NotFoundError,
    AlreadyExistsError,
    FailedPreconditionError,
    AuthenticationError,
    PermissionDeniedError,
)
_WAITING: Final = frozenset(
    {resources_pb2.KEY_REQUEST_STATE_PENDING, resources_pb2.KEY_REQUEST_STATE_HELD}
)


def compact_key(text: str) -> str:
    """Return a key without ASCII whitespace (e-mail wrapping is not part of it).

    The same key, however wrapped, is then the same request, and a repeat with
    the same ``request_id`` is recognised as one.

    >>> compact_key("eyJh.eyJz\\n  .c2ln\\n")
    'eyJh.eyJz.c2ln'
    """
    return text.translate(_NO_WHITESPACE)


def state_failure(error: StateFileError) -> Failure:
    """Return the `Failure` for a state file that cannot be used."""
    return Failure(
        ExitCode.USAGE,
        "STATE_FILE",
        str(error),
        hint="Point --state-file (or KEYSVC_MIGRATE_STATE_FILE) at the file `request` wrote.",
    )


def _request_id(given: str) -> str:
    if not 0 < len(given) <= _MAX_REQUEST_ID_LENGTH or not all(" " < c <= "~" for c in given):
        raise Failure(
            ExitCode.USAGE,
            "INVALID_ARGUMENT",
            f"--request-id must be 1 to {_MAX_REQUEST_ID_LENGTH} printable ASCII characters "
            "without spaces",
            metadata={"field": "request_id"},
        )
    return given


def _state_to_send(
    args: argparse.Namespace, wanted: RequestState, earlier: RequestState | None, output: Output
) -> RequestState:
    """Choose the request_id: the one given, the earlier one for the same request, or a new one."""
    if args.request_id is not None:
        request_id = _request_id(args.request_id)
        if earlier is not None and earlier.request_id == request_id:
            return replace(wanted, request_id=request_id, key_request_id=earlier.key_request_id)
        return replace(wanted, request_id=request_id)
    if earlier is not None and not args.new:
        if earlier.same_submission(wanted):
            return replace(
                wanted,
                request_id=earlier.request_id,
                key_request_id=earlier.key_request_id,
                submitted_at=earlier.submitted_at,
            )
        if earlier.key_request_id:
            # Overwriting would lose the only record of a request the service has made.
            raise Failure(
                ExitCode.USAGE,
                "STATE_FILE_IN_USE",
                f"{args.state_file} holds key request {earlier.key_request_id} (contract "
                f"{earlier.contract_number}), made with other details than these",
                hint="Follow that one with `keysvc-migrate wait`, or start another request "
                "with --new (or another --state-file).",
            )
        output.warn(f"{args.state_file} held an unanswered request with other details: replaced")
    elif earlier is not None and earlier.key_request_id:
        output.warn(f"--new: {args.state_file} forgets key request {earlier.key_request_id}")
    return replace(wanted, request_id=str(uuid.uuid4()))


def _hint(error: KeysvcClientError, args: argparse.Namespace) -> str:
    """Say what the service's refusal means for this command line."""
    pending = error.metadata.get("key_request_id", "")
    if error.reason == "KEY_REQUEST_PENDING" and pending:
        return (
            f"If this token made it, follow it: keysvc-migrate wait --request {pending}. "
            "A migration token reads only the requests it made: the product site's or another "
            "token's is released all the same, and its key e-mailed to the contact address."
        )
    if error.reason == "REQUEST_ID_REUSED":
        return "Run again with --new to send a fresh request_id."
    if error.reason == "PREVIOUS_LICENSE_NOT_FOUND":
        return f"Check --contract {args.contract}: {args.old_key} holds another contract's key."
    if error.metadata.get("field") == "previous_key" and error.reason.startswith("LICENSE_KEY_"):
        return f"{args.old_key} must hold the old server's key file, whole and unchanged."
    return ""


def _submit(
    service: KeyService,
    state: RequestState,
    old_key: str,
    args: argparse.Namespace,
    before: bytes | None,
) -> resources_pb2.KeyRequest:
    try:
        return service.submit_key_request(
            state.contract_number,
            resources_pb2.KEY_REQUEST_KIND_REISSUE,
            fingerprint=state.fingerprint,
            contact_email=state.contact_email,
            previous_key=old_key,
            request_id=state.request_id,
        )
    except KeysvcClientError as error:
        pending = error.metadata.get("key_request_id", "")
        if error.reason == "KEY_REQUEST_PENDING" and pending and pending == state.key_request_id:
            # Ours, seen by another token (idempotency is per token): it is the same
            # request, which this token reads only if it made it (docs/auth.md).
            with contextlib.suppress(NotFoundError):
                return service.get_key_request(pending)
        if isinstance(error, _REFUSALS):
            # Refused: the service made nothing, so the next run may change the details.
            # After any other failure it may have: the next run must send the same id.
            _restore(args.state_file, before)
        raise failure_from_error(error, hint=_hint(error, args)) from None


def _restore(path: Path, before: bytes | None) -> None:
    try:
        restore_file(path, before)
    except StateFileError as error:
        raise state_failure(error) from None


def run_request(args: argparse.Namespace, runtime: Runtime, output: Output) -> None:
    """Submit (or submit again, idempotently) a REISSUE for this server and print its schedule."""
    old_key = compact_key(read_key_file(args.old_key))
    fingerprint = chosen_fingerprint(args.fingerprint, runtime, output)
    config = client_config(args, runtime)
    wanted = RequestState(
        request_id="",
        contract_number=args.contract,
        fingerprint=fingerprint.value,
        contact_email=args.email,
        previous_key_sha256=hashlib.sha256(old_key.encode("utf-8")).hexdigest(),
        address=config.address,
    )
    try:
        before = read_bytes(args.state_file)
        earlier = None if before is None else parse_state(before, args.state_file)
        state = _state_to_send(args, wanted, earlier, output)
        # Before the call: whatever happens next, a re-run sends this request_id again.
        save_state(args.state_file, state)
    except StateFileError as error:
        raise state_failure(error) from None
    with connected(config, runtime) as service:
        request = _submit(service, state, old_key, args, before)
        repeated = earlier is not None and earlier.request_id == state.request_id
        if repeated:
            # The request_id went out before, so the service may be repeating its
            # first answer: show the request as it is now.
            request = service.get_key_request(request.id)
    now = runtime.now()
    state = replace(
        state, key_request_id=request.id, submitted_at=state.submitted_at or now.isoformat()
    )
    try:
        save_state(args.state_file, state)
    except StateFileError as error:
        output.warn(f"{error}; the key request is {request.id}: note it, wait needs it")
    fields = key_request_fields(request, now, args.lang)
    fields |= {
        "request_id": state.request_id,
        "fingerprint": state.fingerprint,
        "state_file": str(args.state_file),
        "repeated": repeated,
    }
    output.result(fields, _lines(fields, request))


def _lines(fields: dict[str, object], request: resources_pb2.KeyRequest) -> list[str]:
    lines = key_request_lines(fields)
    lines += labelled(
        [("fingerprint", fields["fingerprint"]), ("state file", fields["state_file"])]
    )
    if request.state == resources_pb2.KEY_REQUEST_STATE_HELD:
        lines.append("support staff must approve this request before it is released")
    if request.state in _WAITING:
        lines.append("next: keysvc-migrate wait --install KEY_FILE")
    elif request.state == resources_pb2.KEY_REQUEST_STATE_RELEASED:
        lines.append("next: keysvc-migrate install --key-file KEY_FILE")
    return lines
