"""Closures and the business calendar changing under waiting requests, over real databases."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from keysvc.errors import FailedPrecondition, InvalidArgument
from keysvc.persistence.closure_repository import list_closures
from keysvc.service.closures import create_closure
from keysvc.service.contracts import NewContract, create_contract
from keysvc.service.key_requests import Submission, submit_key_request
from keysvc.tokens import Principal, Role
from scheduler.calendar import JST, BusinessCalendar, Closure

SITE = Principal("site0000site0000", Role.SITE)
CALENDAR = BusinessCalendar()


def _submit(connection, now: datetime, server: str = "calendar"):
    day = now.astimezone(JST).date()
    contract = create_contract(
        connection,
        NewContract("", "neo-backup", "株式会社カレンダー", "it@example.co.jp", 3, day, day),
        now,
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
