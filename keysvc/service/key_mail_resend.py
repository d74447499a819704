"""Resending a released key's e-mail (staff's ResendKeyMail, issue #20).

The customer lost the e-mail, or it went to a mistyped address: staff queue it
again, to the stored address or a corrected one (which the request then keeps),
through the same outbox, in one audited transaction. Each resend is a message
of its own — its own Message-ID (``<keysvc.{id}.resend{n}@…>``), dated when it
is sent, saying first that it repeats the e-mail of the release — so a retry of
the call (same request_id) never queues it twice, and a crash never sends it twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from keysvc.domain.errors import FailedPrecondition
from keysvc.domain.lifecycle import KeyRequestKind, KeyRequestState
from keysvc.domain.tokens import Principal
from keysvc.mail import compose_license_mail
from keysvc.persistence.contract_repository import get_contracts, product_display_names
from keysvc.persistence.key_request_repository import get_license, set_contact_email
from keysvc.persistence.outbox_repository import mail_count, queue_mails
from keysvc.service.addresses import stored_address, validate_email
from keysvc.service.key_requests import KeyRequestView, require_key_request, view_key_request
from keysvc.service.release import MailIdentity


def resend_key_mail(
    connection: Connection,
    request_id: str,
    corrected_address: str | None,
    *,
    mail: MailIdentity,
    principal: Principal,
    now: datetime,
) -> KeyRequestView:
    """Queues the key e-mail of a RELEASED request again, to `corrected_address` when
    given (recorded with the request), else to the address stored; returns the request."""
    request = require_key_request(connection, request_id, for_update=True)
    if request.state != KeyRequestState.RELEASED or request.license_serial is None:
        raise FailedPrecondition(
            f"key request {request_id} is {request.state}: only a released key's e-mail "
            "can be sent again",
            reason="KEY_REQUEST_NOT_RELEASED",
            metadata={"key_request_id": request_id},
        )
    if corrected_address is not None:
        recipient = validate_email("contact_email", corrected_address)
        set_contact_email(connection, request_id, recipient)
    else:
        # Stored before addresses were checked as now: staff must correct it (--to), which
        # is a state to report, not a failure of ours.
        recipient = stored_address(
            request.contact_email,
            f"key_requests/{request.id}",
            {"key_request_id": request.id, "contract_number": request.contract_number},
        )
    license_ = get_license(connection, request.license_serial)
    contract = get_contracts(connection, [request.contract_number])[request.contract_number]
    assert license_ is not None, "a released request has its license"
    previous = (
        get_license(connection, request.previous_license_serial)
        if request.kind == KeyRequestKind.REISSUE and request.previous_license_serial
        else None
    )
    composed = compose_license_mail(
        key_request_id=request.id,
        recipient=recipient,
        customer_name=contract.customer_name,
        contract_number=contract.contract_number,
        product_name=product_display_names(connection)[contract.product_code],
        license_serial=license_.serial,
        license_key=license_.license_key,
        generation=license_.generation,
        support_end=license_.support_end,
        kind=request.kind,
        issued_at=license_.issued_at,
        sender=mail.sender,
        message_id_domain=mail.message_id_domain,
        previous_key_valid_until=previous.supersede_at if previous else None,
        # The first resend is 1, also for a request whose key e-mail was never queued.
        resend=max(mail_count(connection, request.id), 1),
        resent_at=now,
    )
    queue_mails(connection, {request.id: composed}, now)
    return view_key_request(connection, request.id, principal)
