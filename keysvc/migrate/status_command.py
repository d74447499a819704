"""``status``: save a key's Status List Token, for a server that cannot fetch it.

On a machine with network access, ``status`` checks the key with the JWKS
file (as ``verify`` does, refusing a bad key the same way), fetches the
Status List Token its ``status`` claim names (or a mirror's copy, ``--from``),
checks it as ``verify --status`` would, and writes it to ``--output``: the
file an air-gapped server's ``verify --status-list FILE`` reads.

What is saved, and how it ends:

============  ========  ================================================
outcome       saved     exit
============  ========  ================================================
VALID         yes       0
SUPERSEDED,   yes       6 ``KEY_STATUS_*``, as ``verify``: the air-gapped
INVALID,                server must learn it too, so the list is saved,
SUSPENDED               and the exit says the key is not valid
STALE         no        7 ``STATUS_LIST_STALE``: a list past its ``exp``
                        would tell the air-gapped server nothing
NO_STATUS     no        2 ``NO_STATUS_LIST``: the key names no list
============  ========  ================================================

A list refused (exit 8), not fetched (exit 3) or an ``--output`` that cannot
be written (exit 2, ``OUTPUT_FILE``) saves nothing either. Like ``verify``,
the command never loads grpc: its one network access is the HTTP GET of
`status_check`.
"""

from __future__ import annotations

import argparse
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from keysvc.migrate.failures import ExitCode, Failure
from keysvc.migrate.files import FileWriteError, write_atomically
from keysvc.migrate.offline_check import check_license_key
from keysvc.migrate.offline_commands import (
    check_fields,
    check_lines,
    chosen_fingerprint,
    read_key_file,
    read_verifier,
)
from keysvc.migrate.output import Output, labelled
from keysvc.migrate.runtime import Runtime
from keysvc.migrate.status_check import StatusCheck, is_url
from keysvc.migrate.status_report import (
    OUTCOME_FAILURES,
    FetchHints,
    checked_status,
    status_lines,
    status_verdict,
)
from keysvc.migrate.wording import (
    Language,
    describe_air_gapped_step,
    describe_not_saved,
    describe_saved_list,
    describe_saved_though_not_valid,
    in_jst,
)
from signing import StatusList, StatusOutcome

__all__ = ["STATUS_LIST_FILE_MODE", "run_status"]

STATUS_LIST_FILE_MODE: Final = 0o644
"""A status list is public (served to anyone at its URI): the product's user must read it."""

_FETCH_HINTS: Final = FetchHints(
    unreachable="Check this machine's network access to the status list's host (a proxy: "
    "https_proxy), or give a mirror of the list with --from URL, then run status again. "
    "Nothing was saved.",
    fetch_failed="The host answered, but not with the list: check the URL given with "
    "--from, or try again later; without --from, the key's own status list URI is "
    "fetched. Nothing was saved.",
)

_STALE_HINT: Final = (
    "The list served is past its expiry, so it would tell the air-gapped server nothing: "
    "nothing was saved. A mirror (--from) may lag behind; try again later or without "
    "--from, and contact support if the key's own status list URI serves it so."
)

_NO_STATUS_HINT: Final = (
    "Keys issued before status lists name no list: nothing was saved. Their status "
    "cannot be checked offline; keysvc alone knows it."
)


def run_status(args: argparse.Namespace, runtime: Runtime, output: Output) -> None:
    """Check the key, fetch and check its status list, and save it to ``--output``.

    The key is checked with the JWKS file first (a refused key ends the command
    as ``verify`` ends it, and nothing is fetched); then ``--output`` must be a
    file in a folder that exists, so a fetch is never wasted. The list is
    written atomically, mode 0644, only when it is the key's, signed by the
    JWKS's keys and not past its ``exp``.
    """
    if args.from_url is not None and not is_url(args.from_url):
        # A mirror is fetched; a file would be a saved copy already (verify --status-list).
        raise Failure(
            ExitCode.USAGE,
            "INVALID_ARGUMENT",
            f"--from {args.from_url}: not an http:// or https:// URL",
            metadata={"field": "from"},
        )
    key_text = read_key_file(args.key_file)
    verifier = read_verifier(args.jwks)
    fingerprint = None
    if args.fingerprint is not None:
        fingerprint = chosen_fingerprint(args.fingerprint, runtime, output)
    result = check_license_key(
        key_text, verifier, None if fingerprint is None else fingerprint.value
    )
    if not result.valid or result.license is None:
        fields = {"key_file": str(args.key_file), **check_fields(result, fingerprint)}
        raise Failure(
            ExitCode.REFUSED,
            result.reason or "LICENSE_KEY_INVALID",
            f"{args.key_file}: {result.message}",
            hint=result.explanation or "",
            result=fields,
            lines=["invalid", *check_lines(fields)],
        )
    lang: Language = args.lang
    if result.license.claims.status is None:
        raise Failure(
            ExitCode.USAGE,
            "NO_STATUS_LIST",
            f"{args.key_file} has no status claim: it names no status list to save",
            hint=_NO_STATUS_HINT,
            result=_fields(StatusCheck(StatusOutcome.NO_STATUS, None), None),
            lines=[describe_not_saved(no_status=True, lang=lang)],
        )
    _check_output(args.output)
    check = checked_status(
        result.license, verifier, args.from_url, now=runtime.now(), hints=_FETCH_HINTS
    )
    listed = check.status_list
    assert listed is not None, "a key with a status claim is checked against its list"
    assert check.token is not None, "a list checked was read"
    rows = [
        *labelled([("serial", result.license.claims.serial)]),
        *status_lines(check),
    ]
    if check.outcome is StatusOutcome.STALE:
        failure = OUTCOME_FAILURES[StatusOutcome.STALE]
        raise Failure(
            failure.exit_code,
            failure.reason,
            f"the status list {_uri(check)} expired at {_jst(listed.expires_at)}; not saved",
            hint=_STALE_HINT,
            result=_fields(check, None),
            lines=[status_verdict(check, lang), *rows, describe_not_saved(lang=lang)],
        )
    _save(args.output, check.token)
    lines = [
        _saved_sentence(args.output, listed, lang),
        status_verdict(check, lang),
        *rows,
        *labelled([("saved to", f"{args.output} (mode 0644)")]),
    ]
    not_valid = OUTCOME_FAILURES.get(check.outcome)
    if not_valid is not None:
        lines.insert(2, describe_saved_though_not_valid(lang=lang))
    lines += [
        describe_air_gapped_step(_instant(listed.expires_at), lang=lang),
        f"  {_verify_command(args)}",
    ]
    fields = _fields(check, args.output)
    if not_valid is None:
        output.result(fields, lines)
        return
    raise Failure(
        not_valid.exit_code,
        not_valid.reason,
        f"entry {_index(check)} of {_uri(check)} says {check.outcome.value}; "
        f"the list was saved to {args.output} all the same",
        hint=not_valid.hint,
        result=fields,
        lines=lines,
    )


def _check_output(path: Path) -> None:
    """Refuse an ``--output`` that cannot be a file, before anything is fetched."""
    folder = path.parent
    if not folder.is_dir():
        raise Failure(
            ExitCode.USAGE,
            "OUTPUT_FILE",
            f"cannot write {path}: the folder {folder} does not exist",
            hint="Create the folder first, or give --output a file in a folder that exists.",
        )
    if path.is_dir():
        raise Failure(
            ExitCode.USAGE,
            "OUTPUT_FILE",
            f"cannot write {path}: it is a folder",
            hint="Give --output a file name, e.g. statuslist.jwt in that folder.",
        )


def _save(path: Path, token: bytes) -> None:
    """Write the token as it was read: its bytes are what was signed and checked."""
    try:
        write_atomically(path, token, STATUS_LIST_FILE_MODE)
    except FileWriteError as error:
        raise Failure(ExitCode.USAGE, "OUTPUT_FILE", str(error)) from None


def _fields(check: StatusCheck, saved_to: Path | None) -> dict[str, object]:
    """The JSON fields: where the list was saved (None when not), and what it says."""
    status = check.fields()
    return {
        "saved_to": None if saved_to is None else str(saved_to),
        "uri": status["uri"],
        "index": status["index"],
        "outcome": status["outcome"],
        "list_issued_at": status["list_issued_at"],
        "list_expires_at": status["list_expires_at"],
    }


def _verify_command(args: argparse.Namespace) -> str:
    """The command the air-gapped server runs on the saved list, quoted for a shell."""
    words = ["keysvc-migrate", "verify", "--key-file", str(args.key_file)]
    words += ["--jwks", str(args.jwks), "--status-list", str(args.output)]
    return shlex.join(words)


def _saved_sentence(path: Path, listed: StatusList, lang: Language) -> str:
    issued, expires = _instant(listed.issued_at), _instant(listed.expires_at)
    return describe_saved_list(str(path), issued, expires, lang=lang)


def _uri(check: StatusCheck) -> str:
    return "" if check.reference is None else check.reference.uri


def _index(check: StatusCheck) -> int | None:
    return None if check.reference is None else check.reference.index


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _jst(seconds: int) -> str:
    return f"{in_jst('exp', _instant(seconds)):%Y-%m-%d %H:%M:%S} JST"
