"""Key requests and the licenses their release makes."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import Connection, bindparam, func, select, update

from keysvc.domain.lifecycle import OPEN_STATES, KeyRequestKind, KeyRequestState, LicenseStatus
from keysvc.domain.records import KeyRequestRecord, LicenseRecord
from keysvc.persistence.driver_statement import DriverInsert, DriverStatement
from keysvc.persistence.schema import contracts, key_requests, licenses
from keysvc.persistence.status_list_repository import mark_changed

# The statements of the submission and release paths run on the driver's cursor
# (`DriverStatement`): they run for every key issued. Selects name the record's fields
# in its order, so a row becomes a record without a lookup per column.
_KEY_REQUEST_COLUMNS: Final = [key_requests.c[name] for name in KeyRequestRecord.__slots__]
_LICENSE_COLUMNS: Final = [licenses.c[name] for name in LicenseRecord.__slots__]
_INSERT_KEY_REQUESTS: Final = DriverInsert(
    key_requests, (*KeyRequestRecord.__slots__, "created_by_token_id")
)
_SELECT_OPEN_REQUESTS: Final = DriverStatement(
    select(key_requests.c.contract_number, key_requests.c.id).where(
        key_requests.c.contract_number.in_(bindparam("numbers", expanding=True)),
        key_requests.c.state.in_(OPEN_STATES),
    ),
    lists=("numbers",),
)
_SELECT_REISSUE_TIMES: Final = DriverStatement(
    select(key_requests.c.contract_number, key_requests.c.accepted_at).where(
        key_requests.c.contract_number.in_(bindparam("numbers", expanding=True)),
        key_requests.c.kind == KeyRequestKind.REISSUE,
        key_requests.c.state != KeyRequestState.REJECTED,
        key_requests.c.accepted_at >= bindparam("since"),
    ),
    lists=("numbers",),
)
_SELECT_KEY_REQUEST: Final = select(*_KEY_REQUEST_COLUMNS).where(
    key_requests.c.id == bindparam("id")
)
_GET_KEY_REQUEST: Final = DriverStatement(_SELECT_KEY_REQUEST)
_GET_KEY_REQUEST_CREATED_BY: Final = DriverStatement(
    _SELECT_KEY_REQUEST.where(key_requests.c.created_by_token_id == bindparam("token_id"))
)
_GET_KEY_REQUEST_FOR_UPDATE: Final = DriverStatement(_SELECT_KEY_REQUEST.with_for_update())
_SELECT_LICENSE: Final = DriverStatement(
    select(*_LICENSE_COLUMNS).where(licenses.c.serial == bindparam("serial"))
)
_SELECT_LICENSES: Final = DriverStatement(
    select(*_LICENSE_COLUMNS).where(licenses.c.serial.in_(bindparam("serials", expanding=True))),
    lists=("serials",),
)
_SELECT_ACTIVE_LICENSES_FOR_UPDATE: Final = DriverStatement(
    select(*_LICENSE_COLUMNS)
    .where(
        licenses.c.contract_number.in_(bindparam("numbers", expanding=True)),
        licenses.c.status == LicenseStatus.ACTIVE,
    )
    .order_by(licenses.c.serial)
    .with_for_update(),
    lists=("numbers",),
)
_SELECT_WAITING_SCHEDULES: Final = (
    select(
        key_requests.c.id,
        key_requests.c.accepted_at,
        key_requests.c.due_date,
        key_requests.c.release_at,
        key_requests.c.at_risk,
    )
    .where(key_requests.c.state.in_(OPEN_STATES))
    .order_by(key_requests.c.id)
    .with_for_update()
)
_RESCHEDULE: Final = (
    update(key_requests)
    .where(key_requests.c.id == bindparam("request_id"))
    .values(release_at=bindparam("release_at"), at_risk=bindparam("at_risk"))
)
_SET_STATE: Final = DriverStatement(
    update(key_requests)
    .where(key_requests.c.id == bindparam("request_id"))
    .values(
        state=bindparam("state"),
        reject_reason=bindparam("reject_reason"),
        hold_reason=bindparam("hold_reason"),
    )
)
_CLAIM_DUE: Final = DriverStatement(
    select(*_KEY_REQUEST_COLUMNS)
    .where(
        key_requests.c.state == KeyRequestState.PENDING,
        key_requests.c.release_at <= bindparam("as_of"),
    )
    .order_by(key_requests.c.release_at, key_requests.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
# The release's statements.
_SELECT_LAST_GENERATIONS: Final = DriverStatement(
    select(licenses.c.contract_number, func.max(licenses.c.generation))
    .where(licenses.c.contract_number.in_(bindparam("numbers", expanding=True)))
    .group_by(licenses.c.contract_number),
    lists=("numbers",),
)
_INSERT_LICENSES: Final = DriverInsert(licenses, LicenseRecord.__slots__)
_SUPERSEDE: Final = DriverStatement(
    update(licenses)
    .where(licenses.c.serial == bindparam("old"), licenses.c.status == LicenseStatus.ACTIVE)
    .values(
        status=LicenseStatus.SUPERSEDED,
        supersede_at=bindparam("supersede_at", type_=licenses.c.supersede_at.type),
    )
)
_LINK_SUCCESSOR: Final = DriverStatement(
    update(licenses)
    .where(licenses.c.serial == bindparam("old"))
    .values(superseded_by=bindparam("new"))
)
_MARK_RELEASED: Final = DriverStatement(
    update(key_requests)
    .where(key_requests.c.id.in_(bindparam("request_ids", expanding=True)))
    .values(
        state=KeyRequestState.RELEASED,
        released_at=bindparam("released_at", type_=key_requests.c.released_at.type),
        # The license the request has just made: one statement for the whole batch,
        # where an executemany of one UPDATE per request bound its values row by row
        # (docs/benchmarks.md, B2).
        license_serial=select(licenses.c.serial)
        .where(licenses.c.key_request_id == key_requests.c.id)
        .scalar_subquery(),
        # Decided by the caller (`keysvc.domain.lifecycle.is_late`), not here.
        released_late=bindparam("late", type_=key_requests.c.released_late.type),
    ),
    lists=("request_ids",),
)


def add_key_requests(
    connection: Connection, records: Sequence[tuple[KeyRequestRecord, str]]
) -> None:
    """Stores accepted requests, each with the token id of who submitted it, in one statement."""
    if records:
        _INSERT_KEY_REQUESTS.run(
            connection,
            [
                {name: getattr(record, name) for name in KeyRequestRecord.__slots__}
                | {"created_by_token_id": created_by}
                for record, created_by in records
            ],
        )


def get_key_request(
    connection: Connection, request_id: str, *, for_update: bool = False
) -> KeyRequestRecord | None:
    """The request, or None. `for_update` locks it on PostgreSQL."""
    query = _GET_KEY_REQUEST_FOR_UPDATE if for_update else _GET_KEY_REQUEST
    rows = query.rows(connection, {"id": request_id})
    return _key_request(rows[0]) if rows else None


def get_key_request_created_by(
    connection: Connection, request_id: str, token_id: str
) -> KeyRequestRecord | None:
    """The request if the token `token_id` submitted it, else None: one query either way,
    so the answer takes as long for someone else's request as for a missing one."""
    rows = _GET_KEY_REQUEST_CREATED_BY.rows(connection, {"id": request_id, "token_id": token_id})
    return _key_request(rows[0]) if rows else None


def open_request_of(connection: Connection, contract_number: str) -> str | None:
    """The id of the contract's request still waiting (PENDING or HELD), if any."""
    return connection.execute(
        select(key_requests.c.id)
        .where(
            key_requests.c.contract_number == contract_number,
            key_requests.c.state.in_(OPEN_STATES),
        )
        .limit(1)
    ).scalar_one_or_none()


def open_requests_of(connection: Connection, contract_numbers: list[str]) -> dict[str, str]:
    """The id of each contract's request still waiting (PENDING or HELD), for those that
    have one."""
    if not contract_numbers:
        return {}
    rows = _SELECT_OPEN_REQUESTS.rows(connection, {"numbers": contract_numbers})
    return {str(number): str(request_id) for number, request_id in rows}


def reissue_times_of(
    connection: Connection, contract_numbers: list[str], since: datetime
) -> dict[str, list[datetime]]:
    """Accept times of each contract's re-issues since `since` that count towards the
    limit, for the contracts that have any.

    Rejected requests do not count; held ones still undecided do.
    """
    if not contract_numbers:
        return {}
    found: dict[str, list[datetime]] = {}
    rows = _SELECT_REISSUE_TIMES.rows(connection, {"numbers": contract_numbers, "since": since})
    for number, accepted_at in rows:
        found.setdefault(number, []).append(accepted_at)
    return found


def mark_released(
    connection: Connection, request_ids: Sequence[str], *, released_at: datetime, late: bool
) -> None:
    """Records the release of requests whose licenses are stored already, in one
    statement: each gets its license's serial, and `late` as whether it missed its
    due date."""
    if request_ids:
        _MARK_RELEASED.run(
            connection,
            {"request_ids": list(request_ids), "released_at": released_at, "late": late},
        )


def get_license(connection: Connection, serial: str) -> LicenseRecord | None:
    """The license, or None."""
    rows = _SELECT_LICENSE.rows(connection, {"serial": serial})
    return _license(rows[0]) if rows else None


def get_licenses(connection: Connection, serials: list[str]) -> dict[str, LicenseRecord]:
    """The licenses among `serials` that exist, by serial."""
    if not serials:
        return {}
    records = map(_license, _SELECT_LICENSES.rows(connection, {"serials": serials}))
    return {record.serial: record for record in records}


def active_license_of(connection: Connection, contract_number: str) -> LicenseRecord | None:
    """The contract's ACTIVE license, if any."""
    row = connection.execute(
        select(*_LICENSE_COLUMNS).where(
            licenses.c.contract_number == contract_number, licenses.c.status == LicenseStatus.ACTIVE
        )
    ).one_or_none()
    return None if row is None else _license(row)


def active_licenses_for_update(
    connection: Connection, contract_numbers: list[str]
) -> dict[str, LicenseRecord]:
    """The ACTIVE license of each contract that has one, locked until the transaction
    ends, so a concurrent revocation waits for the release instead of racing it."""
    if not contract_numbers:
        return {}
    rows = _SELECT_ACTIVE_LICENSES_FOR_UPDATE.rows(connection, {"numbers": contract_numbers})
    records = map(_license, rows)
    return {record.contract_number: record for record in records}


def last_generations(connection: Connection, contract_numbers: list[str]) -> dict[str, int]:
    """The highest license generation of each contract that has licenses."""
    if not contract_numbers:
        return {}
    rows = _SELECT_LAST_GENERATIONS.rows(connection, {"numbers": contract_numbers})
    return {number: int(last) for number, last in rows}


def supersede(connection: Connection, ends: Mapping[str, datetime]) -> None:
    """Marks ACTIVE licenses SUPERSEDED, each with the instant its key stops being valid
    (by serial), before their successors are stored (a contract has one ACTIVE license
    at a time). The caller holds them locked (`active_licenses_for_update`), so they
    are still ACTIVE."""
    if ends:
        _SUPERSEDE.run_many(
            connection, [{"old": serial, "supersede_at": end} for serial, end in ends.items()]
        )
        mark_changed(connection, ends.keys())


def link_successors(connection: Connection, successors: dict[str, str]) -> None:
    """Records which license replaced each superseded one (old serial -> new serial),
    once the new ones are stored."""
    if successors:
        _LINK_SUCCESSOR.run_many(
            connection, [{"old": old, "new": new} for old, new in successors.items()]
        )


def add_licenses(connection: Connection, records: list[LicenseRecord]) -> None:
    """Stores newly signed licenses (in one statement)."""
    if records:
        _INSERT_LICENSES.run(
            connection,
            [{name: getattr(r, name) for name in LicenseRecord.__slots__} for r in records],
        )


def _key_request(row: Sequence[Any]) -> KeyRequestRecord:
    """The record of a row of `_KEY_REQUEST_COLUMNS`."""
    return KeyRequestRecord(
        row[0], row[1], KeyRequestKind(row[2]), KeyRequestState(row[3]), *row[4:]
    )


def _license(row: Sequence[Any]) -> LicenseRecord:
    """The record of a row of `_LICENSE_COLUMNS`."""
    return LicenseRecord(row[0], row[1], row[2], LicenseStatus(row[3]), *row[4:])


def set_state(
    connection: Connection,
    request_id: str,
    state: KeyRequestState,
    *,
    reject_reason: str | None = None,
    hold_reason: str | None = None,
) -> None:
    """Moves a request to `state` (hold, approval or rejection) with its reason."""
    _SET_STATE.run(
        connection,
        {
            "request_id": request_id,
            "state": state,
            "reject_reason": reject_reason,
            "hold_reason": hold_reason,
        },
    )


def list_key_requests(
    connection: Connection,
    *,
    limit: int,
    after: tuple[datetime, str] | None,
    contract_number: str,
    state: KeyRequestState | None,
    at_risk: bool,
    late: bool,
) -> tuple[list[KeyRequestRecord], int]:
    """Requests in acceptance order (the support queue's order) and how many match."""
    conditions = []
    if contract_number:
        conditions.append(key_requests.c.contract_number == contract_number)
    if state is not None:
        conditions.append(key_requests.c.state == state)
    if at_risk:
        conditions.append(key_requests.c.at_risk.is_(True))
    if late:
        conditions.append(key_requests.c.released_late.is_(True))
    query = select(*_KEY_REQUEST_COLUMNS).where(*conditions)
    if after is not None:
        accepted_at, request_id = after
        query = query.where(
            (key_requests.c.accepted_at > accepted_at)
            | ((key_requests.c.accepted_at == accepted_at) & (key_requests.c.id > request_id))
        )
    rows = connection.execute(
        query.order_by(key_requests.c.accepted_at, key_requests.c.id).limit(limit)
    )
    total = connection.execute(
        select(func.count()).select_from(key_requests).where(*conditions)
    ).scalar_one()
    return [_key_request(row) for row in rows], total


def list_licenses(
    connection: Connection,
    *,
    limit: int,
    after: str | None,
    contract_number: str,
    status: LicenseStatus | None,
) -> list[LicenseRecord]:
    """Licenses by serial, optionally of one contract or status."""
    query = select(*_LICENSE_COLUMNS).order_by(licenses.c.serial).limit(limit)
    if after is not None:
        query = query.where(licenses.c.serial > after)
    if contract_number:
        query = query.where(licenses.c.contract_number == contract_number)
    if status is not None:
        query = query.where(licenses.c.status == status)
    return [_license(row) for row in connection.execute(query)]


def end_overlap(connection: Connection, serial: str, reason: str, now: datetime) -> None:
    """Ends a superseded license's overlap at `now`, with staff's reason."""
    connection.execute(
        update(licenses)
        .where(licenses.c.serial == serial)
        .values(supersede_at=now, supersede_reason=reason)
    )
    mark_changed(connection, [serial])


def revoke(connection: Connection, serial: str, reason: str, now: datetime) -> None:
    """Marks a license REVOKED."""
    connection.execute(
        update(licenses)
        .where(licenses.c.serial == serial)
        .values(status=LicenseStatus.REVOKED, revoked_at=now, revoke_reason=reason)
    )
    mark_changed(connection, [serial])


@dataclass(frozen=True, slots=True)
class WaitingSchedule:
    """What a reschedule needs of a waiting request."""

    id: str
    accepted_at: datetime
    due_date: date
    release_at: datetime
    at_risk: bool


def waiting_schedules(connection: Connection) -> list[WaitingSchedule]:
    """The schedule of every request not yet released nor rejected, locked for
    rescheduling.

    Locked in id order, so that two reschedules at once (replicas starting together,
    a closure added meanwhile) queue for the same rows instead of deadlocking.
    """
    rows = connection.execute(_SELECT_WAITING_SCHEDULES)
    return [WaitingSchedule(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class WaitingAddress:
    """The address a waiting request's key e-mail is to go to."""

    id: str
    contract_number: str
    state: KeyRequestState
    contact_email: str


def readdress_waiting(
    connection: Connection, contract_number: str, old: Collection[str], new: str
) -> int:
    """Gives the contract's waiting (PENDING, HELD) requests whose contact address is
    one of `old` the address `new`; returns how many changed."""
    result = connection.execute(
        update(key_requests)
        .where(
            key_requests.c.contract_number == contract_number,
            key_requests.c.state.in_(OPEN_STATES),
            key_requests.c.contact_email.in_(list(old)),
        )
        .values(contact_email=new)
    )
    return result.rowcount


def waiting_addresses(connection: Connection) -> Iterator[WaitingAddress]:
    """The contact address of every request not yet released nor rejected, by id,
    read in chunks."""
    query = (
        select(
            key_requests.c.id,
            key_requests.c.contract_number,
            key_requests.c.state,
            key_requests.c.contact_email,
        )
        .where(key_requests.c.state.in_(OPEN_STATES))
        .order_by(key_requests.c.id)
    )
    for row in connection.execution_options(yield_per=1000).execute(query):
        yield WaitingAddress(
            row.id, row.contract_number, KeyRequestState(row.state), row.contact_email
        )


def reschedule(connection: Connection, schedules: Sequence[tuple[str, datetime, bool]]) -> None:
    """Sets the release time and at-risk flag of waiting requests (id, release time,
    at risk), in one statement; their due dates never change."""
    if schedules:
        connection.execute(
            _RESCHEDULE,
            [
                {"request_id": request_id, "release_at": release_at, "at_risk": at_risk}
                for request_id, release_at, at_risk in schedules
            ],
        )


def claim_due(connection: Connection, as_of: datetime, limit: int) -> list[KeyRequestRecord]:
    """PENDING requests whose release time has come, oldest first, locked for release.

    On PostgreSQL rows another transaction holds are skipped (SKIP LOCKED), so
    concurrent releasers share the work instead of waiting or doubling it;
    SQLite has one writer at a time anyway.
    """
    rows = _CLAIM_DUE.rows(connection, {"as_of": as_of, "limit": limit})
    return [_key_request(row) for row in rows]


@dataclass(frozen=True, slots=True)
class OpenOverlap:
    """A license a REISSUE superseded whose key still works: when its successor was
    released, and the product whose policy sets the overlap."""

    serial: str
    successor_issued_at: datetime
    product_code: str
    supersede_at: datetime


def open_overlaps(connection: Connection, now: datetime) -> list[OpenOverlap]:
    """The superseded licenses whose key works past `now` because a REISSUE replaced
    them (their overlap has not ended), locked for rescheduling, by serial."""
    old, new = licenses.alias("old"), licenses.alias("new")
    query = (
        select(old.c.serial, new.c.issued_at, contracts.c.product_code, old.c.supersede_at)
        .join(new, new.c.serial == old.c.superseded_by)
        .join(key_requests, key_requests.c.id == new.c.key_request_id)
        .join(contracts, contracts.c.contract_number == old.c.contract_number)
        .where(
            old.c.status == LicenseStatus.SUPERSEDED,
            old.c.supersede_at > now,
            key_requests.c.kind == KeyRequestKind.REISSUE,
        )
        .order_by(old.c.serial)
        .with_for_update(of=old)
    )
    return [OpenOverlap(*row) for row in connection.execute(query)]


def set_supersede_times(connection: Connection, ends: Mapping[str, datetime]) -> None:
    """Moves the end of superseded licenses' validity (serial -> instant)."""
    if ends:
        connection.execute(
            update(licenses)
            .where(licenses.c.serial == bindparam("old"))
            .values(supersede_at=bindparam("supersede_at", type_=licenses.c.supersede_at.type)),
            [{"old": serial, "supersede_at": end} for serial, end in ends.items()],
        )
        mark_changed(connection, ends.keys())


@dataclass(frozen=True, slots=True)
class SignedLicense:
    """An ACTIVE license signed by a given key, with what its replacement needs."""

    serial: str
    contract_number: str
    fingerprint_hash: str
    contact_email: str


def active_licenses_signed_by(connection: Connection, kid: str) -> list[SignedLicense]:
    """The ACTIVE licenses whose key `kid` signed, with their contract's contact address,
    by serial."""
    query = (
        select(
            licenses.c.serial,
            licenses.c.contract_number,
            licenses.c.fingerprint_hash,
            contracts.c.contact_email,
        )
        .join(contracts, contracts.c.contract_number == licenses.c.contract_number)
        .where(licenses.c.kid == kid, licenses.c.status == LicenseStatus.ACTIVE)
        .order_by(licenses.c.serial)
    )
    return [SignedLicense(*row) for row in connection.execute(query)]


def replacement_progress(connection: Connection) -> dict[str, dict[KeyRequestState, int]]:
    """How many REPLACEMENT requests each withdrawn key's licenses have, by state, by kid
    of the license they replace."""
    replaced = licenses.alias("replaced")
    query = (
        select(replaced.c.kid, key_requests.c.state, func.count())
        .join(replaced, replaced.c.serial == key_requests.c.previous_license_serial)
        .where(key_requests.c.kind == KeyRequestKind.REPLACEMENT)
        .group_by(replaced.c.kid, key_requests.c.state)
    )
    progress: dict[str, dict[KeyRequestState, int]] = {}
    for kid, state, count in connection.execute(query):
        progress.setdefault(kid, {})[KeyRequestState(state)] = int(count)
    return progress


def retarget_open_requests(connection: Connection, successors: Mapping[str, str]) -> None:
    """Points the requests still open (PENDING, HELD), replacements apart, that would
    supersede a license just replaced at its successor instead (old serial -> new
    serial): a re-issue asked for before a signing key's withdrawal moves the
    replacement's key to the new server."""
    if successors:
        connection.execute(
            update(key_requests)
            .where(
                key_requests.c.previous_license_serial == bindparam("old"),
                key_requests.c.state.in_(OPEN_STATES),
                key_requests.c.kind != KeyRequestKind.REPLACEMENT,
            )
            .values(previous_license_serial=bindparam("new")),
            [{"old": old, "new": new} for old, new in successors.items()],
        )


def set_contact_email(connection: Connection, request_id: str, address: str) -> None:
    """Records the corrected address a request's e-mail goes to (a resend to it)."""
    connection.execute(
        update(key_requests).where(key_requests.c.id == request_id).values(contact_email=address)
    )
