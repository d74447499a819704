"""A key request's schedule in the customer's words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from keysvc.migrate import describe_schedule
from keysvc.migrate.wording import JST, describe_previous_key

# SPEC section 3: accepted Friday 2026-11-20 at 17:00 JST; Monday the 23rd is a
# holiday, so it is due Tuesday the 24th, released at 09:00 JST (00:00 UTC).
ACCEPTED = datetime(2026, 11, 20, 17, 0, tzinfo=JST)
DUE = date(2026, 11, 24)
RELEASE = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)


def test_a_request_due_on_a_later_day_names_the_next_business_day_and_time() -> None:
    assert describe_schedule(DUE, RELEASE, ACCEPTED) == "翌営業日 2026-11-24 09:00 JST"
    assert (
        describe_schedule(DUE, RELEASE, ACCEPTED, lang="en")
        == "next business day, 2026-11-24 09:00 JST"
    )


def test_over_the_weekend_it_is_still_the_next_business_day() -> None:
    sunday = datetime(2026, 11, 22, 12, 0, tzinfo=JST)
    assert describe_schedule(DUE, RELEASE, sunday) == "翌営業日 2026-11-24 09:00 JST"


def test_on_the_due_day_before_opening_it_is_today_at_the_release_time() -> None:
    early = datetime(2026, 11, 24, 8, 30, tzinfo=JST)
    assert describe_schedule(DUE, RELEASE, early) == "今日中 (09:00 JST 予定)"
    assert describe_schedule(DUE, RELEASE, early, lang="en") == "today (09:00 JST)"


def test_a_same_day_request_is_today() -> None:
    # Accepted 16:59:59 on a business day: due that day, released at once.
    accepted = datetime(2026, 11, 20, 16, 59, 59, tzinfo=JST)
    a_moment_later = accepted + timedelta(seconds=1)
    assert describe_schedule(date(2026, 11, 20), accepted, a_moment_later) == "今日中"
    assert describe_schedule(date(2026, 11, 20), accepted, a_moment_later, lang="en") == "today"


def test_a_request_whose_time_passed_without_release_is_today() -> None:
    # Held, then approved two days late: it goes out with the next round of the loop.
    later = datetime(2026, 11, 26, 10, 0, tzinfo=JST)
    assert describe_schedule(DUE, RELEASE, later) == "今日中"


def test_a_released_request_says_when() -> None:
    released = RELEASE + timedelta(seconds=3)
    now = datetime(2026, 11, 25, tzinfo=JST)
    assert (
        describe_schedule(DUE, RELEASE, now, released_time=released)
        == "発行済み (2026-11-24 09:00 JST)"
    )
    assert (
        describe_schedule(DUE, RELEASE, now, released_time=released, lang="en")
        == "released (2026-11-24 09:00 JST)"
    )


def test_a_same_day_request_released_at_once_is_today_and_says_when() -> None:
    # Accepted 16:00 on a business day: due that day, released by SubmitKeyRequest itself.
    accepted = datetime(2026, 11, 20, 16, 0, tzinfo=JST)
    released = accepted + timedelta(milliseconds=40)
    now = accepted + timedelta(seconds=1)
    words = {
        lang: describe_schedule(
            date(2026, 11, 20),
            accepted,
            now,
            released_time=released,
            accept_time=accepted,
            lang=lang,
        )
        for lang in ("ja", "en")
    }
    assert words == {
        "ja": "今日中 (発行済み 2026-11-20 16:00 JST)",
        "en": "today (released 2026-11-20 16:00 JST)",
    }


def test_a_same_day_request_seen_on_a_later_day_is_plainly_released() -> None:
    accepted = datetime(2026, 11, 20, 16, 0, tzinfo=JST)
    monday = datetime(2026, 11, 24, 9, 30, tzinfo=JST)
    assert (
        describe_schedule(
            date(2026, 11, 20), accepted, monday, released_time=accepted, accept_time=accepted
        )
        == "発行済み (2026-11-20 16:00 JST)"
    )


def test_a_next_day_request_released_on_its_due_day_is_not_called_today() -> None:
    # Promised "翌営業日 ... 09:00": on that day it is released, not "today" after all.
    released = RELEASE + timedelta(seconds=2)
    tuesday = datetime(2026, 11, 24, 10, 0, tzinfo=JST)
    assert (
        describe_schedule(DUE, RELEASE, tuesday, released_time=released, accept_time=ACCEPTED)
        == "発行済み (2026-11-24 09:00 JST)"
    )


def test_a_release_moved_past_the_due_date_says_so() -> None:
    # A closure added after acceptance moved the release; the promise was the 24th.
    moved = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    assert (
        describe_schedule(DUE, moved, ACCEPTED)
        == "2026-11-25 09:00 JST (当初の予定 2026-11-24 から変更)"
    )
    assert (
        describe_schedule(DUE, moved, ACCEPTED, lang="en")
        == "2026-11-25 09:00 JST (moved from 2026-11-24)"
    )


def test_the_day_is_the_day_in_tokyo_whatever_zone_the_instants_carry() -> None:
    # 23:30 on the 23rd in UTC is already 08:30 on the 24th in Tokyo.
    new_york = timezone(timedelta(hours=-5))
    now = datetime(2026, 11, 23, 18, 30, tzinfo=new_york)
    assert describe_schedule(DUE, RELEASE.astimezone(new_york), now) == "今日中 (09:00 JST 予定)"


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="now must be an aware datetime"):
        describe_schedule(DUE, RELEASE, datetime(2026, 11, 20, 17, 0))
    with pytest.raises(ValueError, match="release_time must be an aware datetime"):
        describe_schedule(DUE, datetime(2026, 11, 24, 9, 0), ACCEPTED)
    with pytest.raises(ValueError, match="accept_time must be an aware datetime"):
        describe_schedule(
            DUE, RELEASE, ACCEPTED, released_time=RELEASE, accept_time=datetime(2026, 11, 20)
        )


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        describe_schedule(DUE, RELEASE, ACCEPTED, lang="fr")  # type: ignore[arg-type]


# The previous key of a re-issue released Monday 2026-12-07 works until Monday the
# 14th at 09:00 JST (00:00 UTC).
OVERLAP_END = datetime(2026, 12, 14, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "ja", "en"),
    [
        (
            OVERLAP_END - timedelta(seconds=1),
            "旧キーは 2026年12月14日 09:00 まで有効です",
            "the old key works until 2026-12-14 09:00 JST",
        ),
        # At the end itself the old key has stopped.
        (
            OVERLAP_END,
            "旧キーは 2026年12月14日 09:00 に無効になりました",
            "the old key stopped working on 2026-12-14 09:00 JST",
        ),
    ],
)
def test_the_previous_key_is_described_until_and_after_its_overlap_ends(now, ja, en) -> None:
    assert describe_previous_key(OVERLAP_END, now) == ja
    assert describe_previous_key(OVERLAP_END, now, lang="en") == en


def test_a_naive_overlap_end_is_refused() -> None:
    with pytest.raises(ValueError, match="until"):
        describe_previous_key(datetime(2026, 12, 14, 9, 0), ACCEPTED)
