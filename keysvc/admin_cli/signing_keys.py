"""``keysvc admin keys``: the signing keys, their rotation, and the published JWKS."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from keysvc.admin_cli.arguments import CommandGroup
from keysvc.admin_cli.exit_codes import CommandError
from keysvc.admin_cli.formatting import enum_label, jst_time
from keysvc.admin_cli.output import Column, Listing
from keysvc.admin_cli.session import Session
from keysvc.v1 import resources_pb2

_STATE = resources_pb2.SigningKeyState.DESCRIPTOR

COLUMNS: list[Column[resources_pb2.SigningKey]] = [
    Column("kid", lambda key: key.kid),
    Column("state", lambda key: enum_label(_STATE, key.state)),
    Column("created (JST)", lambda key: jst_time(key.create_time)),
    Column("retired (JST)", lambda key: jst_time(key.retire_time)),
]


def register(group: CommandGroup) -> None:
    """Adds the ``keys`` commands."""
    group.add("list", _list, summary="list the published signing keys, active first")
    group.add(
        "rotate",
        _rotate,
        summary="make a new active signing key",
        description="Make a new active signing key. New licenses are signed with it; the "
        "retired key stays published, so every key issued so far keeps verifying. Export the "
        "JWKS afterwards for offline verifiers.",
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
    keys = session.published_keys().signing_keys
    session.out.listing(Listing(list(keys)), COLUMNS, noun="signing keys")


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
