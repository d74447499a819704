"""A key's status in the customer's words: the verdict ``verify --status`` leads with."""

# The Japanese sentences' full-width parentheses and commas are theirs.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from keysvc.migrate.failures import ExitCode
from keysvc.migrate.status_report import OUTCOME_FAILURES
from keysvc.migrate.wording import describe_status
from signing import StatusOutcome

# A list that expired on Monday 2026-12-07 at 00:00 UTC, 09:00 in Tokyo.
EXPIRED = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)

SENTENCES = {
    StatusOutcome.VALID: (
        "このライセンスキーは有効です（失効リスト確認済み）",
        "the key is valid (status list checked)",
    ),
    StatusOutcome.SUPERSEDED: (
        "このライセンスキーは新しいキーに置き換えられたため、使用できません",
        "the key was replaced by a newer key (a re-issue) and can no longer be used",
    ),
    StatusOutcome.INVALID: (
        "このライセンスキーは失効しているため、使用できません"
        "（キーの失効、または署名鍵の廃止によるものです）",
        "the key was revoked, or its signing key withdrawn, and can no longer be used",
    ),
    StatusOutcome.SUSPENDED: (
        "このライセンスキーは一時停止されているため、現在は使用できません",
        "the key is suspended and cannot be used for now",
    ),
    StatusOutcome.STALE: (
        "失効リストの有効期限（2026年12月7日 09:00）が過ぎているため、キーの状態を確認できません。"
        "失効リストを取得し直してください",
        "the status list is out of date (it expired 2026-12-07 09:00 JST), so the key's "
        "status cannot be told: fetch the list again",
    ),
    StatusOutcome.NO_STATUS: (
        "このライセンスキーは失効リストの導入前に発行されたため、オフラインでは状態を確認できません",
        "the key was issued before status lists: its status cannot be checked offline",
    ),
}


def test_every_outcome_has_its_sentences() -> None:
    assert set(SENTENCES) == set(StatusOutcome)


@pytest.mark.parametrize("outcome", list(StatusOutcome))
def test_each_outcome_reads_as_its_sentence_in_japanese_by_default_and_in_english(
    outcome: StatusOutcome,
) -> None:
    ja, en = SENTENCES[outcome]
    assert describe_status(outcome, expires_at=EXPIRED) == ja
    assert describe_status(outcome, expires_at=EXPIRED, lang="ja") == ja
    assert describe_status(outcome, expires_at=EXPIRED, lang="en") == en


@pytest.mark.parametrize("outcome", list(StatusOutcome))
def test_japanese_sentences_are_polite_and_none_is_left_in_english(
    outcome: StatusOutcome,
) -> None:
    ja = describe_status(outcome, expires_at=EXPIRED)
    # The register of the tool's other Japanese words (…まで有効です, …になりました).
    # A closing parenthesis may follow: （失効リスト確認済み）.
    assert re.search(r"(です|ません|ください)(（[^（）]*）)?$", ja), ja
    assert not any("a" <= character <= "z" for character in ja)


def test_a_stale_list_names_its_expiry_in_tokyo_time_whatever_the_zone_given() -> None:
    new_york = EXPIRED.astimezone(timezone(timedelta(hours=-5)))
    assert (
        describe_status(StatusOutcome.STALE, expires_at=new_york, lang="en")
        == (SENTENCES[StatusOutcome.STALE][1])
    )
    # 23:30 UTC is already the next day in Tokyo.
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    assert "2026年12月7日 08:30" in describe_status(StatusOutcome.STALE, expires_at=late)


def test_a_stale_outcome_needs_the_lists_expiry_and_an_aware_one() -> None:
    with pytest.raises(ValueError, match="expires_at"):
        describe_status(StatusOutcome.STALE)
    with pytest.raises(ValueError, match="aware"):
        describe_status(StatusOutcome.STALE, expires_at=datetime(2026, 12, 7, 9, 0))


def test_other_outcomes_need_no_expiry() -> None:
    assert describe_status(StatusOutcome.VALID, lang="en") == SENTENCES[StatusOutcome.VALID][1]


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        describe_status(StatusOutcome.VALID, lang="fr")  # type: ignore[arg-type]


def test_only_a_valid_key_or_one_without_status_ends_verify_successfully() -> None:
    assert set(OUTCOME_FAILURES) == set(StatusOutcome) - {
        StatusOutcome.VALID,
        StatusOutcome.NO_STATUS,
    }
    codes = {outcome: failure.exit_code for outcome, failure in OUTCOME_FAILURES.items()}
    assert codes == {
        StatusOutcome.SUPERSEDED: ExitCode.KEY_NOT_VALID,
        StatusOutcome.INVALID: ExitCode.KEY_NOT_VALID,
        StatusOutcome.SUSPENDED: ExitCode.KEY_NOT_VALID,
        StatusOutcome.STALE: ExitCode.STATUS_STALE,
    }
    # None of them may be mistaken for a bad key, a usage error or keysvc unreachable.
    assert not set(codes.values()) & {
        ExitCode.OK,
        ExitCode.REFUSED,
        ExitCode.USAGE,
        ExitCode.UNREACHABLE,
    }
    reasons = [failure.reason for failure in OUTCOME_FAILURES.values()]
    assert len(set(reasons)) == len(reasons)
