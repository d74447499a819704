"""The release loop over real SQLite and PostgreSQL, with an injected clock."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update

from keysvc.config import MAX_RELEASE_BATCH_SIZE
from keysvc.domain.tokens import Principal, Role
from keysvc.mail import InvalidMail
from keysvc.persistence.key_request_repository import get_key_request
from keysvc.persistence.schema import (
    contracts,
    key_requests,
    licenses,
    mail_outbox,
    products,
    support_periods,
)
from keysvc.service.contracts import NewContract, create_contract
from keysvc.service.key_requests import Submission, submit_key_request
from keysvc.service.products import ProductCatalogue
from keysvc.service.release import MailIdentity
from keysvc.service.scheduled_release import ScheduledRelease
from keysvc.service.signing_keys import SigningKeys
from scheduler.calendar import BusinessCalendar
from scheduler.clock import FixedClock
from scheduler.loop import run_batches
from scheduler.release_loop import ReleaseLoop
from signing import fingerprint_hash
from tests.integration.persistence.rows import contract as contract_row
from tests.integration.persistence.rows import key_request as request_row

SITE = Principal("site0000site0000", Role.SITE)
FRIDAY_MORNING = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 10:00 JST, a business day
FRIDAY_EVENING = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)  # 18:30 JST: due Tue 24th
TUESDAY_OPENING = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 09:00 JST


def _submit(engine, now):
    with engine.begin() as connection:
        contract = create_contract(
            connection,
            NewContract(
                "",
                "neo-backup",
                "株式会社ループ",
                "loop@example.co.jp",
                3,
                date(2026, 11, 2),
                date(2026, 11, 2),
            ),
            now,
            ProductCatalogue(),
        )
        submission = Submission(contract.contract_number, "INITIAL", "fp1:loop-server", "", "", "")
        return submit_key_request(connection, submission, SITE, now, BusinessCalendar())


def _state(engine, request_id):
    with engine.connect() as connection:
        return get_key_request(connection, request_id).state


def _run_loop_until(scheduled, condition, timeout=10.0):
    async def main():
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_batches(ReleaseLoop(scheduled).next_batch, stop, interval=0.05, name="release")
        )
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, timeout)

    asyncio.run(main())


def test_same_day_requests_go_out_at_once_and_the_rest_at_the_opening(engine) -> None:
    clock = FixedClock(FRIDAY_MORNING)
    signing_keys = SigningKeys(engine, b"loop test passphrase", clock)
    signing_keys.ensure_active_key()
    scheduled = ScheduledRelease(
        engine,
        signing_keys,
        MailIdentity("keysvc <k@example.jp>", "example.jp"),
        clock,
        batch_size=50,
        calendar=BusinessCalendar(),
    )
    same_day = _submit(engine, FRIDAY_MORNING)
    clock.set(FRIDAY_EVENING)
    next_day = _submit(engine, FRIDAY_EVENING)
    assert next_day.release_at == TUESDAY_OPENING

    _run_loop_until(scheduled, lambda: _state(engine, same_day.id) == "RELEASED")
    assert _state(engine, same_day.id) == "RELEASED"
    assert _state(engine, next_day.id) == "PENDING"

    clock.set(TUESDAY_OPENING - timedelta(seconds=1))
    assert scheduled.release_batch().claimed == 0
    clock.set(TUESDAY_OPENING)
    _run_loop_until(scheduled, lambda: _state(engine, next_day.id) == "RELEASED")
    assert _state(engine, next_day.id) == "RELEASED"
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(licenses)).scalar_one() == 2
        assert connection.execute(select(func.count()).select_from(mail_outbox)).scalar_one() == 2


def test_full_batches_follow_each_other(engine) -> None:
    clock = FixedClock(FRIDAY_MORNING)
    signing_keys = SigningKeys(engine, b"loop test passphrase", clock)
    signing_keys.ensure_active_key()
    scheduled = ScheduledRelease(
        engine,
        signing_keys,
        MailIdentity("k <k@example.jp>", "example.jp"),
        clock,
        batch_size=2,
        calendar=BusinessCalendar(),
    )
    ids = [_submit(engine, FRIDAY_MORNING).id for _ in range(5)]
    started = time.monotonic()

    async def main():
        stop = asyncio.Event()
        # An interval longer than the test: only back-to-back batches release all five.
        task = asyncio.create_task(
            run_batches(ReleaseLoop(scheduled).next_batch, stop, interval=60, name="release")
        )
        while any(_state(engine, i) != "RELEASED" for i in ids):
            await asyncio.sleep(0.02)
            assert time.monotonic() - started < 20
        stop.set()
        await asyncio.wait_for(task, 70)

    asyncio.run(main())
    assert all(_state(engine, i) == "RELEASED" for i in ids)


def test_a_request_failing_unexpectedly_is_held_and_the_others_released(engine, caplog) -> None:
    clock = FixedClock(FRIDAY_MORNING)
    signing_keys = SigningKeys(engine, b"loop test passphrase", clock)
    signing_keys.ensure_active_key()
    scheduled = ScheduledRelease(
        engine,
        signing_keys,
        MailIdentity("k <k@example.jp>", "example.jp"),
        clock,
        batch_size=10,
        calendar=BusinessCalendar(),
    )
    # The oldest request is of a product whose name was broken by hand in the
    # database: composing its e-mail raises, which no release rule foresees.
    with engine.begin() as connection:
        contract = create_contract(
            connection,
            NewContract(
                "",
                "neo-webconf",
                "株式会社ポイズン",
                "poison@example.co.jp",
                3,
                date(2026, 11, 2),
                date(2026, 11, 2),
            ),
            FRIDAY_MORNING,
            ProductCatalogue(),
        )
        poison = submit_key_request(
            connection,
            Submission(contract.contract_number, "INITIAL", "fp1:poison", "", "", ""),
            SITE,
            FRIDAY_MORNING,
            BusinessCalendar(),
        )
        connection.execute(
            update(products)
            .where(products.c.code == "neo-webconf")
            .values(display_name="desknet's NEO\nWeb会議")
        )
    others = [_submit(engine, FRIDAY_MORNING + timedelta(seconds=n + 1)).id for n in range(3)]
    clock.set(FRIDAY_MORNING + timedelta(minutes=1))

    with caplog.at_level(logging.INFO, logger="keysvc.service.release"):
        outcome = scheduled.release_batch()
    assert (outcome.claimed, outcome.released) == (4, 3)
    assert [_state(engine, i) for i in others] == ["RELEASED"] * 3
    with engine.connect() as connection:
        held = get_key_request(connection, poison.id)
    assert (held.state, held.hold_reason) == ("HELD", "RELEASE_FAILED")
    (failure,) = [r for r in caplog.records if r.getMessage() == "releasing a key request failed"]
    assert failure.key_request_id == poison.id
    assert failure.exc_info is not None
    assert failure.exc_info[0] is InvalidMail
    # Held, it is no longer claimed: the next batch has nothing to do.
    assert scheduled.release_batch().claimed == 0


def _scheduled(engine, clock, *, batch_size, parallel_batches=1) -> ReleaseLoop:
    signing_keys = SigningKeys(engine, b"loop test passphrase", clock)
    signing_keys.ensure_active_key()
    return ReleaseLoop(
        ScheduledRelease(
            engine,
            signing_keys,
            MailIdentity("k <k@example.jp>", "example.jp"),
            clock,
            batch_size=batch_size,
            calendar=BusinessCalendar(),
        ),
        parallel_batches=parallel_batches,
    )


@pytest.mark.parametrize("parallel_batches", [1, 3])
def test_release_all_due_releases_each_due_request_once_however_many_run_side_by_side(
    engine, parallel_batches
) -> None:
    # SQLite runs them one after the other (one writer), but must come out the same.
    ids = [_submit(engine, FRIDAY_EVENING + timedelta(seconds=n)).id for n in range(23)]
    clock = FixedClock(TUESDAY_OPENING)
    scheduled = _scheduled(engine, clock, batch_size=4, parallel_batches=parallel_batches)
    assert scheduled.release_all_due(TUESDAY_OPENING) == 23
    assert all(_state(engine, request_id) == "RELEASED" for request_id in ids)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(licenses)) == 23
        assert connection.scalar(select(func.count()).select_from(mail_outbox)) == 23
    assert scheduled.release_all_due(TUESDAY_OPENING) == 0


def test_release_all_due_needs_a_batch_at_a_time_at_least(engine) -> None:
    with pytest.raises(ValueError, match="parallel_batches"):
        _scheduled(engine, FixedClock(TUESDAY_OPENING), batch_size=4, parallel_batches=0)


def test_the_largest_batch_the_configuration_allows_is_one_transaction(engine) -> None:
    # Every statement of a release batch takes the batch's ids, numbers or rows:
    # at KEYSVC_RELEASE_BATCH_SIZE's maximum they must stay within each database's
    # limit of bound parameters (SQLite 32,766, PostgreSQL 65,535).
    count = MAX_RELEASE_BATCH_SIZE
    numbers = [f"SS-2026-{index:06d}" for index in range(count)]
    with engine.begin() as connection:
        connection.execute(
            insert(contracts),
            [
                contract_row(number, contract_number=number, product_code="neo-backup")
                for number in numbers
            ],
        )
        connection.execute(
            insert(support_periods),
            [
                {
                    "contract_number": number,
                    "start_date": date(2026, 12, 1),
                    "end_date": date(2027, 11, 30),
                    "kind": "INITIAL",
                    "accept_date": date(2026, 11, 2),
                    "created_at": FRIDAY_MORNING,
                }
                for number in numbers
            ],
        )
        connection.execute(
            insert(key_requests),
            [
                request_row(
                    f"kr_max{index:06d}",
                    number,
                    fingerprint_hash=fingerprint_hash("fp1:max-batch-server"),
                    accepted_at=FRIDAY_MORNING,
                    due_date=date(2026, 11, 20),
                    release_at=FRIDAY_MORNING,
                )
                for index, number in enumerate(numbers)
            ],
        )
    clock = FixedClock(FRIDAY_MORNING)
    signing_keys = SigningKeys(engine, b"loop test passphrase", clock)
    signing_keys.ensure_active_key()
    scheduled = ScheduledRelease(
        engine,
        signing_keys,
        MailIdentity("keysvc <k@example.jp>", "example.jp"),
        clock,
        batch_size=count,
        calendar=BusinessCalendar(),
    )
    outcome = scheduled.release_batch()
    assert (outcome.claimed, outcome.released) == (count, count)
    with engine.connect() as connection:
        released = connection.execute(
            select(func.count()).where(
                key_requests.c.state == "RELEASED",
                key_requests.c.license_serial == licenses.c.serial,
                licenses.c.key_request_id == key_requests.c.id,
            )
        ).scalar_one()
        queued = connection.execute(select(func.count()).select_from(mail_outbox)).scalar_one()
    assert (released, queued) == (count, count)
