"""``keysvc admin licenses``: issued licenses, their revocation, and checking a key."""

from __future__ import annotations

import argparse
import sys

from keysvc.admin_cli.arguments import CommandGroup
from keysvc.admin_cli.exit_codes import CommandError
from keysvc.admin_cli.formatting import enum_choices, enum_label, enum_number, jst_time, text
from keysvc.admin_cli.output import Column
from keysvc.admin_cli.paging import add_paging_options, fetch
from keysvc.admin_cli.session import Session
from keysvc.v1 import admin_service_pb2, resources_pb2

_STATUS = resources_pb2.LicenseStatus.DESCRIPTOR

COLUMNS: list[Column[resources_pb2.License]] = [
    Column("serial", lambda lic: lic.serial),
    Column("contract", lambda lic: lic.contract_number),
    Column("status", lambda lic: enum_label(_STATUS, lic.status)),
    Column("seats", lambda lic: str(lic.seats)),
    Column("gen", lambda lic: str(lic.generation)),
    Column("issued (JST)", lambda lic: jst_time(lic.issue_time)),
    Column("support end", lambda lic: lic.support_end),
]


def license_fields(license_: resources_pb2.License) -> list[tuple[str, str]]:
    """A license as label/value rows (the key text last: it is long)."""
    return [
        ("serial", license_.serial),
        ("contract", license_.contract_number),
        ("status", enum_label(_STATUS, license_.status)),
        ("seats", str(license_.seats)),
        ("generation", str(license_.generation)),
        ("support end", license_.support_end),
        ("issued (JST)", jst_time(license_.issue_time)),
        ("signing key", license_.kid),
        ("fingerprint hash", license_.fingerprint_hash),
        ("superseded by", text(license_.superseded_by)),
        # Until then the key still works: a re-issue's overlap (SPEC section 5a).
        ("key valid until (JST)", jst_time(license_.supersede_time)),
        ("overlap ended because", text(license_.supersede_reason)),
        ("revoke reason", text(license_.revoke_reason)),
        ("license key", license_.license_key),
    ]


def register(group: CommandGroup) -> None:
    """Adds the ``licenses`` commands."""
    show = group.add("show", _show, summary="show a license with its key")
    show.add_argument("serial", help="license serial, e.g. L-2026-7K3M9QX2PA")

    listing = group.add("list", _list, summary="list licenses by serial")
    listing.add_argument("--contract", default="", metavar="NUMBER", help="only this contract")
    listing.add_argument("--status", choices=enum_choices(_STATUS), help="only this status")
    add_paging_options(listing)

    revoke = group.add(
        "revoke",
        _revoke,
        summary="revoke a license",
        description="Revoke a license: its key then verifies as REVOKED. This cannot be undone.",
    )
    revoke.add_argument("serial", help="license serial")
    revoke.add_argument("--reason", required=True, help="why (kept with the license)")

    end_overlap = group.add(
        "end-overlap",
        _end_overlap,
        summary="stop a superseded key now, before its re-issue overlap ends",
        description="End the overlap of a license a re-issue superseded: its key, which works "
        "until the overlap ends (the 5th business day after the re-issue by default), stops "
        "working now, e.g. on suspected misuse. This cannot be undone.",
    )
    end_overlap.add_argument("serial", help="serial of the superseded license")
    end_overlap.add_argument("--reason", required=True, help="why (kept with the license)")

    verify = group.add(
        "verify",
        _verify,
        summary="check a key a customer sent (exit 1 when it is not valid)",
        description="Verify a license key with the published signing keys and report its "
        "license's status. The key is read from a file, or from stdin with '-' (keys are long "
        "and often wrapped by e-mail; line breaks are ignored).",
    )
    verify.add_argument("key_file", metavar="FILE", help="file holding the key, or - for stdin")
    verify.add_argument("--fingerprint", default="", help="also check it is bound to this server")


def _show(args: argparse.Namespace, session: Session) -> None:
    license_ = session.admin.get_license(args.serial)
    session.out.record(license_, license_fields(license_))


def _list(args: argparse.Namespace, session: Session) -> None:
    admin = session.admin
    request = admin_service_pb2.ListLicensesRequest(
        contract_number=args.contract,
        status=resources_pb2.LicenseStatus.ValueType(
            enum_number(_STATUS, args.status) if args.status else 0
        ),
    )
    listing = fetch(admin, admin.list_licenses, request, lambda page: page.licenses, args)
    session.out.listing(listing, COLUMNS, noun="licenses")


def _end_overlap(args: argparse.Namespace, session: Session) -> None:
    ended = session.admin.end_reissue_overlap(args.serial, args.reason)
    headline = f"The key of license {ended.serial} no longer works (overlap ended)."
    session.out.record(ended, license_fields(ended), headline=headline)


def _revoke(args: argparse.Namespace, session: Session) -> None:
    revoked = session.admin.revoke_license(args.serial, args.reason)
    headline = f"Revoked license {revoked.serial} of {revoked.contract_number}."
    session.out.record(revoked, license_fields(revoked), headline=headline)


def _read_key(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8") as key_file:
            return key_file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read the key: {error}", reason="KEY_FILE") from error


def _verify(args: argparse.Namespace, session: Session) -> None:
    result = session.license.verify_license_key(_read_key(args.key_file), args.fingerprint)
    # The verdict first: what support tells the customer, then the details.
    verdict = result.message if result.valid else f"not valid ({result.reason}): {result.message}"
    fields = [
        ("verdict", verdict),
        ("works now", "yes" if result.in_force else "no"),
        ("license", text(result.license_serial)),
        ("license status", enum_label(_STATUS, result.license_status)),
        ("key valid until (JST)", jst_time(result.supersede_time)),
        ("contract", text(result.contract_number)),
        ("product", text(result.product_code)),
        ("seats", str(result.seats)),
        ("generation", str(result.generation)),
        ("support end", text(result.support_end)),
        ("signing key", text(result.kid)),
    ]
    session.out.record(result, fields)
    if not result.valid:
        raise CommandError(f"the key is not valid: {result.reason}", reported=True)
