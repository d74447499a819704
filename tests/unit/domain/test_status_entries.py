"""What a status list says of a key, and when a list is published again (SPEC 5a)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keysvc.domain.lifecycle import LicenseStatus
from keysvc.domain.status_entries import (
    EXPIRY,
    REFRESH_AFTER,
    PublishedToken,
    entry_value,
    publication_due,
)
from signing import StatusValue

END = datetime(2026, 12, 14, 0, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def test_an_active_key_is_valid():
    assert entry_value(LicenseStatus.ACTIVE, None, at=END) is StatusValue.VALID


def test_a_superseded_key_is_valid_until_the_last_instant_of_its_overlap():
    assert entry_value(LicenseStatus.SUPERSEDED, END, at=END - TICK) is StatusValue.VALID


def test_a_superseded_key_is_superseded_from_the_first_instant_after_its_overlap():
    assert entry_value(LicenseStatus.SUPERSEDED, END, at=END) is StatusValue.SUPERSEDED


def test_a_revoked_key_is_invalid_whatever_its_overlap():
    assert entry_value(LicenseStatus.REVOKED, None, at=END) is StatusValue.INVALID
    assert entry_value(LicenseStatus.REVOKED, END, at=END - TICK) is StatusValue.INVALID
    assert entry_value(LicenseStatus.REVOKED, END, at=END + TICK) is StatusValue.INVALID


instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


@given(status=st.sampled_from(LicenseStatus), supersede_at=instants, at=instants)
def test_only_a_superseded_key_past_its_end_is_superseded(status, supersede_at, at):
    value = entry_value(status, supersede_at, at=at)
    assert (value is StatusValue.SUPERSEDED) == (
        status is LicenseStatus.SUPERSEDED and supersede_at <= at
    )
    assert (value is StatusValue.INVALID) == (status is LicenseStatus.REVOKED)


def _published(*, revision=3, as_of=NOW, issued_at=NOW):
    return PublishedToken(revision=revision, as_of=as_of, issued_at=issued_at)


def test_a_list_never_published_is_due():
    assert publication_due(None, revision=0, next_supersede_at=None, now=NOW)


def test_a_list_published_at_its_revision_with_nothing_ending_is_not_due():
    assert not publication_due(_published(), revision=3, next_supersede_at=None, now=NOW)


def test_a_list_whose_revision_moved_on_is_due():
    assert publication_due(_published(), revision=4, next_supersede_at=None, now=NOW)


def test_a_list_is_due_from_the_instant_an_overlap_in_it_ends():
    an_hour_before = END - timedelta(hours=1)
    published = _published(as_of=an_hour_before, issued_at=an_hour_before)
    assert not publication_due(published, revision=3, next_supersede_at=END, now=END - TICK)
    assert publication_due(published, revision=3, next_supersede_at=END, now=END)


def test_a_token_is_signed_again_when_it_is_exactly_a_day_old():
    published = _published()
    later = NOW + REFRESH_AFTER
    assert not publication_due(published, revision=3, next_supersede_at=None, now=later - TICK)
    assert publication_due(published, revision=3, next_supersede_at=None, now=later)


def test_a_refreshed_token_always_has_most_of_its_life_ahead():
    # The published token is replaced before its exp, by a wide margin.
    assert REFRESH_AFTER * 2 < EXPIRY


@pytest.mark.parametrize("revision", [0, 2, 4])
def test_any_other_revision_than_the_published_one_is_due(revision):
    assert publication_due(_published(), revision=revision, next_supersede_at=None, now=NOW)
