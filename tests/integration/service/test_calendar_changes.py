"""Closures and the business calendar changing under waiting requests, over real databases."""

from __future__ import annotations

import threading
from datetime import date, datetime, time

import pytest
from sqlalchemy import event

from keysvc.domain.errors import FailedPrecondition, InvalidArgument
from keysvc.domain.tokens import Principal, Role
from keysvc.persistence.closure_repository import list_closures
from keysvc.persistence.key_request_repository import get_key_request, set_state
from keysvc.service.closure_changes import Rescheduled, create_closure, reschedule_on_start
from keysvc.service.contracts import NewContract, create_contract
from keysvc.service.key_requests import Submission, submit_key_request
from keysvc.service.products import ProductCatalogue
from scheduler.calendar import JST, BusinessCalendar, Closure

SITE = Principal("site0000site0000", Role.SITE)
CALENDAR = BusinessCalendar()
SUNDAY = datetime(2026, 11, 22, 12, 0, tzinfo=JST)  # due Tuesday 24th (Monday is a holiday)
CLOSED_TUESDAY = BusinessCalendar([Closure(date(2026, 11, 24), date(2026, 11, 24), "臨時休業")])
WEDNESDAY_OPENING = datetime(2026, 11, 25, 9, 0, tzinfo=JST)


def _submit(connection, now: datetime, server: str = "calendar"):
    day = now.astimezone(JST).date()
    contract = create_contract(
        connection,
        NewContract("", "neo-backup", "株式会社カレンダー", "it@example.co.jp", 3, day, day),
        now,
        ProductCatalogue(),
    )
    submission = Submission(contract.contract_number, "INITIAL", f"fp1:{server}", "", "", "")
    return submit_key_request(connection, submission, SITE, now, CALENDAR)


def test_a_request_the_calendar_cannot_schedule_is_refused_not_crashed(engine) -> None:
    # Monday 2099-12-28 17:00 JST: the next business day would be in 2100.
    with engine.begin() as connection, pytest.raises(FailedPrecondition) as caught:
        _submit(connection, datetime(2099, 12, 28, 17, 0, tzinfo=JST))
    assert caught.value.reason == "DATE_OUT_OF_RANGE"


def test_a_closure_leaving_a_waiting_request_no_business_day_is_refused(engine) -> None:
    friday_evening = datetime(2099, 5, 29, 18, 0, tzinfo=JST)
    with engine.begin() as connection:
        waiting = _submit(connection, friday_evening)
    assert waiting.due_date == date(2099, 6, 1)
    closure = Closure(date(2099, 6, 1), date(2099, 12, 28), "長期休業")
    with pytest.raises(FailedPrecondition) as caught, engine.begin() as connection:
        create_closure(connection, closure, CALENDAR, friday_evening)
    assert caught.value.reason == "NO_BUSINESS_DAY"
    assert caught.value.metadata["key_request_id"] == waiting.id
    with engine.connect() as connection:
        assert list_closures(connection) == []  # rolled back with the refusal


def test_a_closure_chaining_with_file_closures_into_over_a_year_is_refused(engine) -> None:
    # The configured calendar's own closures (the file's) count as much as stored ones.
    configured = BusinessCalendar([Closure(date(2030, 1, 7), date(2030, 12, 27), "改装")])
    with pytest.raises(InvalidArgument) as caught, engine.begin() as connection:
        create_closure(
            connection,
            Closure(date(2030, 12, 28), date(2031, 2, 28), "延長"),
            configured,
            datetime(2029, 6, 1, tzinfo=JST),
        )
    assert caught.value.reason == "CLOSURES_TOO_LONG"
    assert caught.value.metadata == {
        "field": "end_date",
        "run_start": "2030-01-07",
        "run_end": "2031-02-28",
    }


def _release_at(engine, request_id: str):
    with engine.connect() as connection:
        request = get_key_request(connection, request_id)
    return request.release_at.astimezone(JST), request.at_risk


def test_a_start_reschedules_pending_and_held_requests_under_its_calendar(engine) -> None:
    with engine.begin() as connection:
        pending = _submit(connection, SUNDAY, "pending")
        held = _submit(connection, SUNDAY, "held")
        set_state(connection, held.id, "HELD", hold_reason="REISSUE_LIMIT")
        rejected = _submit(connection, SUNDAY, "rejected")
        set_state(connection, rejected.id, "REJECTED", reject_reason="duplicate")
    assert reschedule_on_start(engine, CLOSED_TUESDAY, SUNDAY) == Rescheduled(moved=2, at_risk=2)
    assert _release_at(engine, pending.id) == (WEDNESDAY_OPENING, True)
    assert _release_at(engine, held.id) == (WEDNESDAY_OPENING, True)
    assert _release_at(engine, rejected.id) == (rejected.release_at, False)  # not waiting
    # The file's closure gone again: back to the promised day, no longer at risk.
    assert reschedule_on_start(engine, CALENDAR, SUNDAY) == Rescheduled(moved=2, at_risk=0)
    assert _release_at(engine, pending.id) == (datetime(2026, 11, 24, 9, 0, tzinfo=JST), False)


def test_a_start_with_the_calendar_of_the_last_one_reads_no_waiting_request(engine) -> None:
    with engine.begin() as connection:
        waiting = _submit(connection, SUNDAY)
    assert reschedule_on_start(engine, CLOSED_TUESDAY, SUNDAY) == Rescheduled(moved=1, at_risk=1)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    # Labels do not change a schedule: the same days closed is the same calendar.
    relabelled = BusinessCalendar([Closure(date(2026, 11, 24), date(2026, 11, 24), "設備点検")])
    assert reschedule_on_start(engine, relabelled, SUNDAY) is None
    assert not [sql for sql in statements if "key_requests" in sql]
    assert _release_at(engine, waiting.id) == (WEDNESDAY_OPENING, True)


def test_a_start_with_a_new_opening_moves_the_waiting_releases_to_it(engine) -> None:
    with engine.begin() as connection:
        waiting = _submit(connection, SUNDAY)
    later = BusinessCalendar(opening=time(10, 30))
    assert reschedule_on_start(engine, later, SUNDAY) == Rescheduled(moved=1, at_risk=0)
    assert _release_at(engine, waiting.id) == (datetime(2026, 11, 24, 10, 30, tzinfo=JST), False)


def test_replicas_starting_at_once_reschedule_each_request_once(engine) -> None:
    with engine.begin() as connection:
        ids = [_submit(connection, SUNDAY, f"replica-{n}").id for n in range(60)]
    barrier = threading.Barrier(3)
    outcomes: list[Rescheduled | None] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            outcomes.append(reschedule_on_start(engine, CLOSED_TUESDAY, SUNDAY))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    # The first transaction moves them all; the others queue behind it, then find the
    # calendar recorded (no deadlock, no half-moved mix).
    assert outcomes.count(None) == 2
    (moved,) = [o for o in outcomes if o is not None]
    assert moved == Rescheduled(moved=60, at_risk=60)
    assert {_release_at(engine, i) for i in ids} == {(WEDNESDAY_OPENING, True)}
