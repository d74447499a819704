"""``keysvc admin keys``: the signing keys, their rotation, and the published JWKS."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from keysvc.admin_cli.arguments import CommandGroup
from keysvc.admin_cli.exit_codes import USAGE, CommandError
from keysvc.admin_cli.formatting import enum_label, jst_time
from keysvc.admin_cli.output import Column, Listing
from keysvc.admin_cli.session import Session
from keysvc.v1 import resources_pb2

_STATE = resources_pb2.SigningKeyState.DESCRIPTOR


def _progress(key: resources_pb2.SigningKey) -> str:
    """``released/total`` for a withdrawn key, blank for the others."""
    if key.state != resources_pb2.SIGNING_KEY_STATE_WITHDRAWN:
        return ""
    return f"{key.replacements_released}/{key.replacements_total}"


COLUMNS: list[Column[resources_pb2.SigningKey]] = [
    Column("kid", lambda key: key.kid),
    Column("state", lambda key: enum_label(_STATE, key.state)),
    Column("created (JST)", lambda key: jst_time(key.create_time)),
    Column("retired (JST)", lambda key: jst_time(key.retire_time)),
    Column("replacements released", _progress),
]


def register(group: CommandGroup) -> None:
    """Adds the ``keys`` commands."""
    group.add("list", _list, summary="list the signing keys, active first, withdrawn ones included")
    group.add(
        "rotate",
        _rotate,
        summary="make a new active signing key",
        description="Make a new active signing key. New licenses are signed with it; the "
        "retired key stays published, so every key issued so far keeps verifying. Export the "
        "JWKS afterwards for offline verifiers.",
    )
    withdraw = group.add(
        "withdraw",
        _withdraw,
        summary="withdraw a retired signing key that may have leaked",
        description="Withdraw a retired signing key whose private part may have leaked "
        "(rotate first to withdraw the active one). It leaves the published keys, every key "
        "it signed becomes INVALID in the status lists, and each ACTIVE license it signed "
        "gets a replacement key, released by the scheduler and e-mailed to the contract's "
        "contact; `keys list` shows the progress. See docs/signing-keys.md.",
    )
    withdraw.add_argument(
        "kid",
        help="the kid of the key to withdraw; one that starts with '-' comes after `--` "
        "(keys withdraw --reason R -- -AbC…), as kids are base64url",
    )
    withdraw.add_argument("--reason", required=True, help="why (kept with the key and audited)")
    withdraw.add_argument(
        "--yes", action="store_true", help="do not ask for confirmation (for scripts)"
    )
    export = group.add(
        "export-jwks",
        _export,
        summary="write the published keys as a JWKS file",
        description="Write the published verification keys (JWKS, RFC 7517) to --output, "
        "replacing it atomically, or to stdout.",
    )
    export.add_argument(
        "--output", type=Path, metavar="FILE", help="file to write (default stdout)"
    )


def _list(args: argparse.Namespace, session: Session) -> None:
    keys = session.admin.list_all_signing_keys().signing_keys
    session.out.listing(Listing(list(keys)), COLUMNS, noun="signing keys")


def _withdraw(args: argparse.Namespace, session: Session) -> None:
    if not args.yes:
        _confirm_withdrawal(args.kid)
    key = session.admin.withdraw_signing_key(args.kid, args.reason)
    fields = [
        ("kid", key.kid),
        ("state", enum_label(_STATE, key.state)),
        ("withdrawn (JST)", jst_time(key.withdraw_time)),
        ("reason", key.withdraw_reason),
        ("replacements released", _progress(key)),
    ]
    headline = (
        f"Signing key {key.kid} is withdrawn: {key.replacements_total} replacement key(s) "
        "will be released and e-mailed by the scheduler; follow them with `keys list`."
    )
    session.out.record(key, fields, headline=headline)


def _confirm_withdrawal(kid: str) -> None:
    """Asks staff to type the kid again; refuses without a terminal (scripts pass --yes)."""
    if not sys.stdin.isatty():
        raise CommandError(
            "withdrawing a signing key cannot be undone: confirm with --yes",
            USAGE,
            reason="NOT_CONFIRMED",
        )
    print(
        f"Withdrawing {kid} cannot be undone: every key it signed stops working, and their "
        "licenses get replacement keys by e-mail.",
        file=sys.stderr,
    )
    typed = input(f"Type the kid to confirm ({kid}): ").strip()
    if typed != kid:
        raise CommandError("not confirmed: nothing was withdrawn", USAGE, reason="NOT_CONFIRMED")


def _rotate(args: argparse.Namespace, session: Session) -> None:
    key = session.admin.rotate_signing_key()
    fields = [
        ("kid", key.kid),
        ("state", enum_label(_STATE, key.state)),
        ("created (JST)", jst_time(key.create_time)),
        ("public JWK", key.public_jwk_json),
    ]
    headline = f"New active signing key {key.kid}; the previous one is retired and still verifies."
    session.out.record(key, fields, headline=headline)


def _export(args: argparse.Namespace, session: Session) -> None:
    jwks = json.loads(session.license.jwks())
    document = json.dumps(jwks, indent=2) + "\n"
    if args.output is None:
        # The JWKS is the output, with or without --json: it is JSON already.
        print(document, end="")
        return
    _write_atomically(args.output, document)
    kids = [key.get("kid", "") for key in jwks.get("keys", [])]
    session.out.document(
        {"path": str(args.output), "kids": kids},
        f"Wrote {len(kids)} key(s) to {args.output}: {', '.join(kids)}",
    )


def _write_atomically(path: Path, content: str) -> None:
    """Replaces `path` with `content` so that readers see the old file or the new, never half."""
    try:
        fd, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as staged:
                staged.write(content)
                staged.flush()
                os.fsync(staged.fileno())
            # Public keys: readable by the verifiers that load the file (mkstemp makes 0600).
            os.chmod(staging, 0o644)
            os.replace(staging, path)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise CommandError(f"cannot write {path}: {error}", reason="OUTPUT_FILE") from error
