"""``fingerprint`` and ``verify``: the commands that never talk to keysvc.

Neither imports `keysvc.client` nor grpc, so neither can open a channel: a
customer verifies a key with the service stopped, unreachable or gone. The one
network access is ``verify --status`` (or ``--status-list URL``): an HTTP GET
of the key's Status List Token, with the standard library (`status_check`).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from keysvc.migrate.failures import ExitCode, Failure
from keysvc.migrate.fingerprint import (
    PRODUCT_UUID,
    FingerprintSource,
    FingerprintUnavailable,
    MachineFingerprint,
)
from keysvc.migrate.key_file import KeyFileError, read_jwks, read_key
from keysvc.migrate.offline_check import CheckResult, check_license_key
from keysvc.migrate.output import Output, labelled
from keysvc.migrate.runtime import Runtime
from keysvc.migrate.status_check import StatusCheck
from keysvc.migrate.status_report import (
    OUTCOME_FAILURES,
    checked_status,
    not_checked_hint,
    status_lines,
    status_verdict,
)
from keysvc.migrate.wording import in_jst
from signing import (
    InvalidFingerprint,
    InvalidJwks,
    LicenseVerifier,
    StatusOutcome,
    VerifiedLicense,
    normalise_fingerprint,
)

__all__ = [
    "OFFLINE_LIMITS",
    "STATUS_CHECKED",
    "Fingerprint",
    "check_fields",
    "check_lines",
    "chosen_fingerprint",
    "read_key_file",
    "read_verifier",
    "run_fingerprint",
    "run_verify",
    "this_machine",
]

OFFLINE_LIMITS: Final = (
    "checked offline: the format, the signature and the server fingerprint. Whether the "
    "license was since superseded by a re-issue or revoked only keysvc knows; the product "
    "learns it when support tells it, not from the key."
)

STATUS_CHECKED: Final = (
    "checked: the format, the signature, the server fingerprint, and the key's entry in "
    "its status list as signed at the time shown (list issued). A change since then shows "
    "in the next list."
)

_SOURCE_WIDTH = 15
_NO_FINGERPRINT_HINT = (
    "Pass the server's fingerprint with --fingerprint, or check the signature alone with "
    "--no-fingerprint."
)


class Fingerprint:
    """A fingerprint to check or request with, and where it came from (for the output)."""

    def __init__(self, value: str, origin: str) -> None:
        """``value`` is normalised; ``origin`` says whose it is, for the output."""
        self.value = value
        self.origin = origin


def this_machine(runtime: Runtime, output: Output) -> MachineFingerprint:
    """Return this machine's fingerprint, warning when a root run could differ.

    Raises `Failure` (USAGE, ``FINGERPRINT_UNAVAILABLE``) when no source can be read.
    """
    try:
        machine = runtime.machine()
    except FingerprintUnavailable as error:
        raise Failure(
            ExitCode.USAGE,
            "FINGERPRINT_UNAVAILABLE",
            str(error),
            hint=_NO_FINGERPRINT_HINT,
            result={"sources": [_source_fields(source) for source in error.sources]},
        ) from None
    product_uuid = next(source for source in machine.sources if source.name == PRODUCT_UUID)
    if not product_uuid.present and not runtime.is_root():
        # The same server gets two fingerprints, one per user: say so before it bites.
        output.warn(
            "not running as root: the DMI product UUID was not read "
            f"({product_uuid.note}). Run as root it may be, and the fingerprint would "
            "differ; run keysvc-migrate as root, the same way every time."
        )
    return machine


def chosen_fingerprint(given: str | None, runtime: Runtime, output: Output) -> Fingerprint:
    """Return ``given`` (``--fingerprint``) normalised, else this machine's fingerprint.

    Raises `Failure` (USAGE) when ``given`` breaks the fingerprint rules or
    this machine has no fingerprint.
    """
    if given is None:
        return Fingerprint(this_machine(runtime, output).fingerprint, "this machine")
    try:
        return Fingerprint(normalise_fingerprint(given), "given with --fingerprint")
    except InvalidFingerprint as error:
        raise Failure(
            ExitCode.USAGE, error.reason, str(error), metadata={"field": "fingerprint"}
        ) from None


def _source_fields(source: FingerprintSource) -> dict[str, object]:
    return {
        "name": source.name,
        "present": source.present,
        "value": source.value,
        "location": source.location,
        "note": source.note,
    }


def _source_lines(source: FingerprintSource) -> list[str]:
    indent = " " * (_SOURCE_WIDTH + 2)
    if source.value is None:
        return [f"  {source.name:<{_SOURCE_WIDTH}}absent: {source.note}"]
    lines = [f"  {source.name:<{_SOURCE_WIDTH}}present: {source.value}"]
    lines.append(f"{indent}from {source.location}")
    if source.note:
        lines.append(f"{indent}{source.note}")
    return lines


def run_fingerprint(args: argparse.Namespace, runtime: Runtime, output: Output) -> None:
    """Print this machine's fingerprint; with ``--explain`` every source and what was hashed."""
    machine = this_machine(runtime, output)
    lines = [machine.fingerprint]
    if args.explain:
        lines.append("sources, in the order they are hashed:")
        for source in machine.sources:
            lines.extend(_source_lines(source))
        lines.append("hashed text (SHA-256):")
        lines.extend(f"  {line}" for line in machine.canonical.splitlines())
    output.result(
        {
            "fingerprint": machine.fingerprint,
            "canonical_text": machine.canonical,
            "sources": [_source_fields(source) for source in machine.sources],
        },
        lines,
    )


def check_fields(result: CheckResult, fingerprint: Fingerprint | None) -> dict[str, object]:
    """Return a key check as JSON fields: verdict, claims when known, what was compared."""
    claims: dict[str, object] | None = None
    if result.license is not None:
        verified = result.license.claims
        claims = {
            "serial": verified.serial,
            "contract_number": verified.contract_number,
            "product_code": verified.product_code,
            "seats": verified.seats,
            "generation": verified.generation,
            "support_end": verified.support_end.isoformat(),
            "issued_at": datetime.fromtimestamp(verified.issued_at, UTC).isoformat(),
            "kid": result.license.kid,
        }
    return {
        "valid": result.valid,
        "reason": result.reason,
        "explanation": result.explanation,
        "claims": claims,
        "fingerprint": None if fingerprint is None else fingerprint.value,
        "fingerprint_origin": None if fingerprint is None else fingerprint.origin,
    }


def check_lines(fields: dict[str, object]) -> list[str]:
    """Return the human lines of `check_fields`."""
    claims = fields["claims"]
    shown: list[tuple[str, object]] = []
    if isinstance(claims, dict):
        shown = [
            ("serial", claims["serial"]),
            ("contract", claims["contract_number"]),
            ("product", claims["product_code"]),
            ("seats", claims["seats"]),
            ("generation", claims["generation"]),
            ("support end", claims["support_end"]),
            ("issued at", claims["issued_at"]),
            ("signed by", claims["kid"]),
        ]
    if fields["fingerprint"] is None:
        compared = "not checked (--no-fingerprint)"
    else:
        compared = f"{fields['fingerprint']} ({fields['fingerprint_origin']})"
    return labelled([*shown, ("fingerprint", compared)])


def read_verifier(path: Path) -> LicenseVerifier:
    """Return a verifier of the JWKS file ``path``, or raise `Failure` (USAGE)."""
    try:
        return read_jwks(path)
    except KeyFileError as error:
        raise Failure(ExitCode.USAGE, "JWKS_FILE", str(error)) from None
    except InvalidJwks as error:
        raise Failure(
            ExitCode.USAGE,
            error.reason,
            f"{path}: {error}",
            hint="Export the published keys again: keysvc-migrate jwks --output FILE.",
        ) from None


def read_key_file(path: Path) -> str:
    """Return the text of the key file ``path``, or raise `Failure` (USAGE, ``KEY_FILE``)."""
    try:
        return read_key(path)
    except KeyFileError as error:
        raise Failure(ExitCode.USAGE, "KEY_FILE", str(error)) from None


def run_verify(args: argparse.Namespace, runtime: Runtime, output: Output) -> None:
    """Check a key file with a JWKS file and a fingerprint, offline; explain any failure.

    With ``--status`` or ``--status-list`` the key's status is checked too,
    against its Status List Token signed by the same published keys, and the
    verdict on it leads the output (`status_report`).
    """
    key_text = read_key_file(args.key_file)
    verifier = read_verifier(args.jwks)
    fingerprint = None
    if not args.no_fingerprint:
        fingerprint = chosen_fingerprint(args.fingerprint, runtime, output)
    result = check_license_key(
        key_text, verifier, None if fingerprint is None else fingerprint.value
    )
    fields = {"key_file": str(args.key_file), **check_fields(result, fingerprint)}
    fields["offline_limits"] = OFFLINE_LIMITS
    lines = check_lines(fields)
    if not result.valid:
        raise Failure(
            ExitCode.REFUSED,
            result.reason or "LICENSE_KEY_INVALID",
            f"{args.key_file}: {result.message}",
            hint=result.explanation or "",
            result=fields,
            lines=["invalid", *lines],
        )
    verdict = "genuine" if fingerprint is None else "genuine, and issued for this fingerprint"
    assert result.license is not None, "a valid result holds its license (CheckResult)"
    if not (args.status or args.status_list is not None):
        hint = not_checked_hint(result.license)
        note = [f"note: {OFFLINE_LIMITS}", *([] if hint is None else [hint])]
        output.result(fields, [f"valid: {verdict}", *lines, *note])
        return
    _verify_status(
        args,
        runtime,
        output,
        verifier=verifier,
        license=result.license,
        fields=fields,
        lines=[*labelled([("key", verdict)]), *lines],
    )


def _verify_status(
    args: argparse.Namespace,
    runtime: Runtime,
    output: Output,
    *,
    verifier: LicenseVerifier,
    license: VerifiedLicense,
    fields: dict[str, object],
    lines: list[str],
) -> None:
    """Check the status of the genuine key; its verdict leads the lines printed."""
    check = checked_status(license, verifier, args.status_list, now=runtime.now())
    if check.reference is None and args.status_list is not None:
        output.warn(f"{args.status_list} was not read: the key names no status list")
    fields["status"] = check.fields()
    shown = [status_verdict(check, args.lang), *lines, *status_lines(check)]
    failure = OUTCOME_FAILURES.get(check.outcome)
    if failure is None:
        # VALID, or NO_STATUS: then the offline limits hold as they always did.
        note = STATUS_CHECKED if check.outcome is StatusOutcome.VALID else OFFLINE_LIMITS
        fields["offline_limits"] = note
        output.result(fields, [*shown, f"note: {note}"])
        return
    raise Failure(
        failure.exit_code,
        failure.reason,
        _status_message(check),
        hint=failure.hint,
        result=fields,
        lines=shown,
    )


def _status_message(check: StatusCheck) -> str:
    """The error line of an outcome that fails: what the list says, and which list."""
    if check.reference is None or check.status_list is None:
        return check.outcome.value  # not reached: every failing outcome comes from a list
    if check.outcome is StatusOutcome.STALE:
        expired = datetime.fromtimestamp(check.status_list.expires_at, UTC)
        return (
            f"the status list {check.reference.uri} expired at "
            f"{in_jst('exp', expired):%Y-%m-%d %H:%M:%S} JST"
        )
    return f"entry {check.reference.index} of {check.reference.uri} says {check.outcome.value}"
