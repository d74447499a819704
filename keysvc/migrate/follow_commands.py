"""``wait``, ``install`` and ``jwks``: follow the request, put its key in place, keep the keys.

The key request comes from ``--request`` or the state file ``request`` wrote.
Before ``install`` replaces the key file it checks the released key against
the published keys and the fingerprint the key is meant for, so a working key
file is never replaced by one the product would refuse.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.text import Text

from keysvc.client import KeysvcClientError
from keysvc.migrate.connection import (
    KeyService,
    client_config,
    connected,
    failure_from_error,
    key_request_fields,
    key_request_lines,
    schedule_words,
    state_name,
)
from keysvc.migrate.failures import ExitCode, Failure
from keysvc.migrate.files import FileWriteError, write_atomically
from keysvc.migrate.key_file import KeyFileError, install_key
from keysvc.migrate.offline_check import check_license_key
from keysvc.migrate.offline_commands import (
    Fingerprint,
    check_fields,
    check_lines,
    chosen_fingerprint,
    read_verifier,
)
from keysvc.migrate.output import Output, labelled
from keysvc.migrate.request_command import state_failure
from keysvc.migrate.runtime import Runtime
from keysvc.migrate.state import RequestState, StateFileError, load_state
from keysvc.migrate.wording import Language
from keysvc.v1 import resources_pb2
from signing import InvalidJwks, LicenseVerifier

__all__ = ["run_install", "run_jwks", "run_wait"]

_RELEASED: Final = resources_pb2.KEY_REQUEST_STATE_RELEASED
_REJECTED: Final = resources_pb2.KEY_REQUEST_STATE_REJECTED
_HELD: Final = resources_pb2.KEY_REQUEST_STATE_HELD
_JWKS_FILE_MODE: Final = 0o644  # public keys: the product's user must read them


def _followed(args: argparse.Namespace) -> tuple[str, RequestState | None]:
    """Return the key request to follow (``--request``, else the state file's) and the state."""
    try:
        state = load_state(args.state_file)
    except StateFileError as error:
        if args.request is None:
            raise state_failure(error) from None
        state = None  # the id is given: the state file is not needed
    if args.request is not None:
        return args.request, state
    if state is None or not state.key_request_id:
        raise Failure(
            ExitCode.USAGE,
            "NO_KEY_REQUEST",
            f"no key request to follow: {args.state_file} has none",
            hint="Run `keysvc-migrate request` first, or name the request with --request ID.",
        )
    return state.key_request_id, state


def _rejected(request: resources_pb2.KeyRequest, fields: dict[str, object]) -> Failure:
    return Failure(
        ExitCode.REFUSED,
        "KEY_REQUEST_REJECTED",
        f"key request {request.id} was rejected: {request.reject_reason or 'no reason given'}",
        hint="Contact support; to ask again, run `keysvc-migrate request --new`.",
        result=fields,
        lines=key_request_lines(fields),
    )


@contextmanager
def _progress(runtime: Runtime, output: Output, request_id: str) -> Iterator[Callable[[str], None]]:
    """Yield a function showing how the wait goes: a spinner on a terminal.

    Without a terminal each change is one line on standard error; with
    ``--json``, nothing (standard output is for the one JSON object).
    """
    if output.json_mode:
        yield lambda text: None
        return
    if not runtime.interactive:
        last: list[str] = []

        def note(text: str) -> None:
            if last != [text]:
                last[:] = [text]
                output.note(f"key request {request_id}: {text}")

        yield note
        return
    started = time.monotonic()
    console = Console(file=runtime.stderr)
    # Text, not a str: rich would read "[...]" in a reason as markup.
    with console.status(Text(f"waiting for key request {request_id}")) as status:

        def spin(text: str) -> None:
            waited = int(time.monotonic() - started)
            status.update(Text(f"{text} (waited {waited // 60}:{waited % 60:02d})"))

        yield spin


def _progress_text(request: resources_pb2.KeyRequest, runtime: Runtime, lang: Language) -> str:
    words = schedule_words(request, runtime.now(), lang)
    held = f", held for approval ({request.hold_reason})" if request.state == _HELD else ""
    return f"{state_name(request.state)}{held}; release {words}"


def _follow(
    service: KeyService, request_id: str, args: argparse.Namespace, runtime: Runtime, output: Output
) -> resources_pb2.KeyRequest:
    """Poll until the request is released or rejected, riding out short outages."""
    deadline = time.monotonic() + args.timeout
    seen: list[resources_pb2.KeyRequest] = []
    with _progress(runtime, output, request_id) as show:

        def on_poll(current: resources_pb2.KeyRequest) -> None:
            seen[:] = [current]
            show(_progress_text(current, runtime, args.lang))

        while True:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                return service.wait_for_release(
                    request_id, timeout=remaining, poll_interval=args.interval, on_poll=on_poll
                )
            except TimeoutError:
                raise _timed_out(request_id, seen, args, runtime) from None
            except KeysvcClientError as error:
                # Unreachable from the start is a setup problem: say so at once. Once
                # the request was seen, a restart of the service is no reason to stop.
                if not error.transient or not seen or time.monotonic() >= deadline:
                    raise failure_from_error(error) from None
                show(f"keysvc unreachable ({error.reason}); trying again")
                time.sleep(min(args.interval, max(0.0, deadline - time.monotonic())))


def _timed_out(
    request_id: str,
    seen: list[resources_pb2.KeyRequest],
    args: argparse.Namespace,
    runtime: Runtime,
) -> Failure:
    fields = key_request_fields(seen[-1], runtime.now(), args.lang) if seen else {}
    state = fields.get("state", "waiting")
    comes = f" Release: {fields['schedule']}." if fields.get("schedule") else ""
    return Failure(
        ExitCode.TIMEOUT,
        "WAIT_TIMEOUT",
        f"key request {request_id} is still {state} after {args.timeout:g} s",
        hint=f"{comes.strip()} Run `keysvc-migrate wait` again later: the request stays.".strip(),
        result=fields,
        lines=key_request_lines(fields) if fields else (),
    )


def _verifier(service: KeyService, jwks: Path | None) -> LicenseVerifier:
    if jwks is not None:
        return read_verifier(jwks)
    try:
        return LicenseVerifier.from_jwks(service.jwks())
    except InvalidJwks as error:
        raise Failure(
            ExitCode.REFUSED, error.reason, f"keysvc sent no usable JWKS: {error}"
        ) from None


def _intended_fingerprint(
    args: argparse.Namespace,
    request_id: str,
    state: RequestState | None,
    runtime: Runtime,
    output: Output,
) -> Fingerprint:
    """The server the key is for: ``--fingerprint``, the request's, or this machine's."""
    if args.fingerprint is None and state is not None and state.key_request_id == request_id:
        return Fingerprint(state.fingerprint, "the request's, from the state file")
    return chosen_fingerprint(args.fingerprint, runtime, output)


def _install(
    service: KeyService,
    request: resources_pb2.KeyRequest,
    *,
    path: Path,
    args: argparse.Namespace,
    state: RequestState | None,
    runtime: Runtime,
    output: Output,
) -> dict[str, object]:
    """Check the released key, then write it to ``path`` (atomically, 0600)."""
    installed: dict[str, object] = {"key_file": str(path), "checked": not args.no_verify}
    if not args.no_verify:
        verifier = _verifier(service, args.jwks)
        fingerprint = _intended_fingerprint(args, request.id, state, runtime, output)
        result = check_license_key(request.license_key, verifier, fingerprint.value)
        checked = check_fields(result, fingerprint)
        if not result.valid:
            raise Failure(
                ExitCode.REFUSED,
                result.reason or "LICENSE_KEY_INVALID",
                f"not installed, {path} is unchanged: {result.message}",
                hint=result.explanation or "",
                result={"installed": checked},
                lines=check_lines(checked),
            )
        installed |= checked
    try:
        install_key(path, request.license_key)
    except KeyFileError as error:
        raise Failure(ExitCode.USAGE, "KEY_FILE", str(error)) from None
    return installed


def _installed_lines(installed: dict[str, object] | None) -> list[str]:
    if installed is None:
        return []
    lines = labelled([("installed", f"{installed['key_file']} (mode 0600)")])
    if installed["checked"]:
        lines += check_lines(installed)
    else:
        lines.append("not checked (--no-verify)")
    return lines


def run_wait(args: argparse.Namespace, runtime: Runtime, output: Output) -> None:
    """Follow a key request until released (then optionally install) or rejected."""
    request_id, state = _followed(args)
    with connected(client_config(args, runtime), runtime) as service:
        request = _follow(service, request_id, args, runtime, output)
        fields = key_request_fields(request, runtime.now(), args.lang)
        if request.state == _REJECTED:
            raise _rejected(request, fields)
        installed = None
        if args.install is not None:
            installed = _install(
                service,
                request,
                path=args.install,
                args=args,
                state=state,
                runtime=runtime,
                output=output,
            )
    lines = key_request_lines(fields) + _installed_lines(installed)
    if installed is None:
        lines.append("next: keysvc-migrate install --key-file KEY_FILE")
    output.result({**fields, "installed": installed}, lines)


def run_install(args: argparse.Namespace, runtime: Runtime, output: Output) -> None:
    """Fetch a released key, check it, and write it to ``--key-file``."""
    request_id, state = _followed(args)
    with connected(client_config(args, runtime), runtime) as service:
        request = service.get_key_request(request_id)
        fields = key_request_fields(request, runtime.now(), args.lang)
        if request.state == _REJECTED:
            raise _rejected(request, fields)
        if request.state != _RELEASED:
            raise Failure(
                ExitCode.REFUSED,
                "KEY_REQUEST_NOT_RELEASED",
                f"key request {request_id} is {fields['state']}: its key is not out yet",
                hint=f"Release: {fields['schedule']}. Wait for it and install it with "
                f"`keysvc-migrate wait --install {args.key_file}`.",
                result=fields,
                lines=key_request_lines(fields),
            )
        installed = _install(
            service,
            request,
            path=args.key_file,
            args=args,
            state=state,
            runtime=runtime,
            output=output,
        )
    output.result(
        {**fields, "installed": installed}, key_request_lines(fields) + _installed_lines(installed)
    )


def run_jwks(args: argparse.Namespace, runtime: Runtime, output: Output) -> None:
    """Fetch the published keys, for verifying keys offline later (``verify --jwks``)."""
    with connected(client_config(args, runtime), runtime) as service:
        text = service.jwks()
    try:
        LicenseVerifier.from_jwks(text)
    except InvalidJwks as error:
        raise Failure(
            ExitCode.REFUSED, error.reason, f"keysvc sent no usable JWKS: {error}"
        ) from None
    document = json.loads(text)
    kids = [key.get("kid", "") for key in document.get("keys", [])]
    if args.output is None:
        output.result({"jwks": document, "kids": kids}, [text.rstrip("\n")])
        return
    try:
        write_atomically(args.output, text.encode("utf-8") + b"\n", _JWKS_FILE_MODE)
    except FileWriteError as error:
        raise Failure(ExitCode.USAGE, "OUTPUT_FILE", str(error)) from None
    output.result(
        {"output": str(args.output), "kids": kids},
        [f"wrote {len(kids)} published key(s) to {args.output}: {', '.join(kids)}"],
    )
