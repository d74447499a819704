"""``keysvc admin contracts``: support contracts and their periods."""

from __future__ import annotations

import argparse
from datetime import date

from google.protobuf.field_mask_pb2 import FieldMask

from keysvc.admin_cli.arguments import CommandGroup, add_request_id, iso_date, positive
from keysvc.admin_cli.exit_codes import USAGE, CommandError
from keysvc.admin_cli.formatting import UNSET, current_period, jst_time, period_text, yes_no
from keysvc.admin_cli.output import Column
from keysvc.admin_cli.paging import add_paging_options, fetch
from keysvc.admin_cli.session import Session
from keysvc.v1 import admin_service_pb2, resources_pb2

COLUMNS: list[Column[resources_pb2.Contract]] = [
    Column("contract", lambda c: c.contract_number),
    Column("product", lambda c: c.product_code),
    Column("customer", lambda c: c.customer_name),
    Column("seats", lambda c: str(c.seats)),
    Column("covered from", lambda c: c.coverage_start),
    Column("current period", current_period),
]


def contract_fields(contract: resources_pb2.Contract) -> list[tuple[str, str]]:
    """A contract as label/value rows, every period included."""
    rows = [
        ("contract", contract.contract_number),
        ("product", contract.product_code),
        ("customer", contract.customer_name),
        ("contact e-mail", contract.contact_email),
        ("seats", str(contract.seats)),
        ("purchased", contract.purchase_date),
        ("accepted", contract.accept_date),
        ("covered from", contract.coverage_start),
    ]
    rows += [(f"period {n}", period_text(p)) for n, p in enumerate(contract.periods, 1)]
    rows.append(("created (JST)", jst_time(contract.create_time)))
    return rows


def register(group: CommandGroup) -> None:
    """Adds the ``contracts`` commands."""
    create = group.add(
        "create",
        _create,
        summary="create a contract with its first support period",
        description="Create a support contract. The service computes its first support "
        "period from the product's policy and the order-acceptance date.",
    )
    create.add_argument("--product", required=True, help="product code: neo-webconf, neo-backup")
    create.add_argument("--customer", required=True, help="customer name")
    create.add_argument("--email", required=True, help="customer contact e-mail")
    create.add_argument("--seats", required=True, type=positive, help="licensed quantity")
    create.add_argument(
        "--purchase-date", required=True, type=iso_date, help="initial purchase date"
    )
    create.add_argument(
        "--accept-date", type=iso_date, help="order acceptance (default today, JST)"
    )
    create.add_argument(
        "--number", default="", help="support service number (default: the next SS-YYYY-NNNNNN)"
    )
    add_request_id(create)

    show = group.add("show", _show, summary="show a contract and its periods")
    show.add_argument("number", help="support service number, e.g. SS-2026-000123")

    listing = group.add("list", _list, summary="list contracts by number")
    listing.add_argument("--product", default="", help="only this product")
    add_paging_options(listing)

    update = group.add(
        "update",
        _update,
        summary="mend a contract's customer name or contact e-mail",
        description="Change a contract's customer name, contact e-mail, or both. A new "
        "e-mail address also goes to the contract's waiting (pending or held) key requests "
        "that took the old one, so their keys are mailed to the new address; released "
        "requests keep the address their e-mail went to.",
    )
    update.add_argument("number", help="support service number")
    update.add_argument("--customer-name", help="the new customer name")
    update.add_argument("--contact-email", help="the new contact e-mail")

    status = group.add(
        "status",
        _status,
        summary="is a contract covered on a day",
        description="Support coverage on a day (default today, JST): covered or not, the "
        "period, and ICE (TURN) entitlement.",
    )
    status.add_argument("number", help="support service number")
    status.add_argument("--date", type=iso_date, help="the day (default today)")

    renew = group.add(
        "renew",
        _renew,
        summary="add the next support period",
        description="Add the next support period (a plain renewal; --recontinuation for a "
        "re-continuation after support lapsed, neo-backup).",
    )
    _renewal_arguments(renew)
    renew.add_argument(
        "--recontinuation", action="store_true", help="a re-continuation (再継続年間サポート)"
    )

    recontinue = group.add(
        "recontinue",
        _recontinue,
        summary="re-continue a lapsed contract (renew --recontinuation)",
    )
    _renewal_arguments(recontinue)

    add_licenses = group.add(
        "add-licenses",
        _add_licenses,
        summary="add seats; queues a SEATS_CHANGE key request",
        description="Add licenses (seats) bought during a period. The period end is "
        "unchanged; a SEATS_CHANGE key request is queued for the active license.",
    )
    add_licenses.add_argument("number", help="support service number")
    add_licenses.add_argument(
        "--seats", required=True, type=positive, help="how many seats are added"
    )
    add_licenses.add_argument(
        "--purchase-date", type=iso_date, help="purchase date (default today, JST)"
    )
    add_request_id(add_licenses)


def _renewal_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("number", help="support service number")
    parser.add_argument(
        "--accept-date", type=iso_date, help="renewal order accepted (default today)"
    )
    add_request_id(parser)


def _create(args: argparse.Namespace, session: Session) -> None:
    request = admin_service_pb2.CreateContractRequest(
        request_id=args.request_id,
        contract_number=args.number,
        product_code=args.product,
        customer_name=args.customer,
        contact_email=args.email,
        seats=args.seats,
        purchase_date=args.purchase_date,
        accept_date=args.accept_date,
    )
    contract = session.admin.create_contract(request)
    headline = (
        f"Created contract {contract.contract_number}: support from "
        f"{contract.coverage_start}, first period {current_period(contract)}."
    )
    session.out.record(contract, contract_fields(contract), headline=headline)


def _show(args: argparse.Namespace, session: Session) -> None:
    contract = session.admin.get_contract(args.number)
    session.out.record(contract, contract_fields(contract))


def _list(args: argparse.Namespace, session: Session) -> None:
    admin = session.admin
    request = admin_service_pb2.ListContractsRequest(product_code=args.product)
    listing = fetch(admin, admin.list_contracts, request, lambda page: page.contracts, args)
    session.out.listing(listing, COLUMNS, noun="contracts")


def _update(args: argparse.Namespace, session: Session) -> None:
    # Only the options given go into the mask: the others are left as they are.
    changes = {"customer_name": args.customer_name, "contact_email": args.contact_email}
    given = [field for field, value in changes.items() if value is not None]
    if not given:
        raise CommandError("give --customer-name, --contact-email or both", USAGE, reason="USAGE")
    request = admin_service_pb2.UpdateContractRequest(
        contract=resources_pb2.Contract(
            contract_number=args.number,
            customer_name=args.customer_name or "",
            contact_email=args.contact_email or "",
        ),
        update_mask=FieldMask(paths=given),
    )
    contract = session.admin.update_contract(request)
    headline = f"Updated contract {contract.contract_number}: {', '.join(given)}."
    session.out.record(contract, contract_fields(contract), headline=headline)


def _status(args: argparse.Namespace, session: Session) -> None:
    day = date.fromisoformat(args.date) if args.date else None
    status = session.license.get_support_status(args.number, day)
    period = f"{status.period_start} to {status.period_end}" if status.period_start else UNSET
    fields = [
        ("contract", status.contract_number),
        ("product", status.product_code),
        ("day", status.date),
        ("covered", yes_no(status.covered)),
        ("covered from", status.coverage_start),
        ("period", period),
        ("ICE (TURN) entitled", yes_no(status.ice_entitled)),
    ]
    session.out.record(status, fields)


def _renew(args: argparse.Namespace, session: Session) -> None:
    _renewal(args, session, recontinuation=args.recontinuation)


def _recontinue(args: argparse.Namespace, session: Session) -> None:
    _renewal(args, session, recontinuation=True)


def _renewal(args: argparse.Namespace, session: Session, *, recontinuation: bool) -> None:
    request = admin_service_pb2.RenewContractRequest(
        request_id=args.request_id,
        contract_number=args.number,
        accept_date=args.accept_date,
        recontinuation=recontinuation,
    )
    contract = session.admin.renew_contract(request)
    what = "Re-continued" if recontinuation else "Renewed"
    headline = f"{what} {contract.contract_number}: new period {current_period(contract)}."
    session.out.record(contract, contract_fields(contract), headline=headline)


def _add_licenses(args: argparse.Namespace, session: Session) -> None:
    request = admin_service_pb2.AddLicensesRequest(
        request_id=args.request_id,
        contract_number=args.number,
        additional_seats=args.seats,
        purchase_date=args.purchase_date,
    )
    response = session.admin.add_licenses(request)
    contract = response.contract
    fields = contract_fields(contract)
    if response.HasField("key_request"):
        queued = response.key_request
        note = f"queued SEATS_CHANGE key request {queued.id}, due {queued.due_date}"
        fields.append(("key request", queued.id))
    else:
        note = "no key request queued (no active license yet, or one is waiting already)"
    headline = f"{contract.contract_number} now has {contract.seats} seats; {note}."
    session.out.record(response, fields, headline=headline)
