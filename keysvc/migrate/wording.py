"""A key request's schedule, and a key's status, in the customer's words (Japanese, English).

The tool cannot know business days offline (that is the service's calendar),
so the words come from what the service already decided: the request's due
date, its scheduled release time and whether it was released. Times are shown
in Japan Standard Time whatever the host's zone, as the support terms state
them. The first case that applies, in Japanese / English:

1. released, a same-day request (accepted on its due date, before the cutoff),
   seen that day: ``今日中 (発行済み 2026-11-20 16:00 JST)`` /
   ``today (released 2026-11-20 16:00 JST)`` — the promise of the support
   terms (当日中に回答), kept, and when;
2. released: ``発行済み (2026-11-24 09:00 JST)`` / ``released (2026-11-24 09:00 JST)``;
3. release moved past the due date (a closure added after acceptance):
   ``2026-11-25 09:00 JST (当初の予定 2026-11-24 から変更)`` /
   ``2026-11-25 09:00 JST (moved from 2026-11-24)``;
4. release today (JST), its time still to come: ``今日中 (09:00 JST 予定)`` /
   ``today (09:00 JST)``;
5. release today or earlier, its time passed: ``今日中`` / ``today``;
6. release on a later day: ``翌営業日 2026-11-24 09:00 JST`` /
   ``next business day, 2026-11-24 09:00 JST``.

A request whose release time has passed without a release (the loop is about
to take it, or staff approved it late) is "today": it goes out with the next
round of the release loop.

`describe_status` turns the outcome of a key's status check
(`signing.StatusOutcome`) into the sentence ``verify --status`` leads with,
in the polite register of the rest: ``このライセンスキーは有効です（失効リスト確認済み）`` /
``the key is valid (status list checked)``.

``status`` saves a key's status list for an air-gapped server; its sentences say
what was saved and until when it answers (`describe_saved_list`), what to run on
that server (`describe_air_gapped_step`), that a list saying the key is not
valid was saved all the same (`describe_saved_though_not_valid`), or why nothing
was saved (`describe_not_saved`).
"""

# Full-width parentheses and commas are the Japanese sentences' own punctuation.
# ruff: noqa: RUF001, RUF002

from __future__ import annotations

from datetime import date, datetime
from typing import Final, Literal, NamedTuple
from zoneinfo import ZoneInfo

from signing import StatusOutcome

__all__ = [
    "JST",
    "Language",
    "describe_air_gapped_step",
    "describe_not_saved",
    "describe_previous_key",
    "describe_saved_list",
    "describe_saved_though_not_valid",
    "describe_schedule",
    "describe_status",
    "in_jst",
]

JST: Final = ZoneInfo("Asia/Tokyo")

Language = Literal["ja", "en"]


class _Phrases(NamedTuple):
    released_today: str
    released: str
    moved: str
    today_at: str
    today: str
    next_business_day: str


_PHRASES: Final[dict[str, _Phrases]] = {
    "ja": _Phrases(
        released_today="今日中 (発行済み {when})",
        released="発行済み ({when})",
        moved="{when} (当初の予定 {due} から変更)",
        today_at="今日中 ({time} 予定)",
        today="今日中",
        next_business_day="翌営業日 {when}",
    ),
    "en": _Phrases(
        released_today="today (released {when})",
        released="released ({when})",
        moved="{when} (moved from {due})",
        today_at="today ({time})",
        today="today",
        next_business_day="next business day, {when}",
    ),
}


def _in_jst(name: str, instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {instant.isoformat()}")
    return instant.astimezone(JST)


def describe_schedule(
    due_date: date,
    release_time: datetime,
    now: datetime,
    *,
    released_time: datetime | None = None,
    accept_time: datetime | None = None,
    lang: Language = "ja",
) -> str:
    """Describe when the key of a request comes, as of ``now`` (cases in the module docstring).

    ``due_date`` is the promised JST date, ``release_time`` the scheduled
    release, ``released_time`` the actual one when the key is out, and
    ``accept_time`` when the service accepted the request (it tells a same-day
    request). Instants must be aware (`ValueError` otherwise); any zone is read
    in JST.

    >>> from datetime import timezone
    >>> accepted = datetime(2026, 11, 20, 17, 0, tzinfo=JST)  # Friday, at the cutoff
    >>> release = datetime(2026, 11, 24, 0, 0, tzinfo=timezone.utc)  # 09:00 JST Tuesday
    >>> describe_schedule(date(2026, 11, 24), release, accepted)
    '翌営業日 2026-11-24 09:00 JST'
    >>> describe_schedule(date(2026, 11, 24), release, accepted, lang="en")
    'next business day, 2026-11-24 09:00 JST'
    >>> same_day = datetime(2026, 11, 20, 16, 0, tzinfo=JST)  # before the cutoff
    >>> describe_schedule(
    ...     date(2026, 11, 20), same_day, same_day, released_time=same_day, accept_time=same_day
    ... )
    '今日中 (発行済み 2026-11-20 16:00 JST)'
    """
    if lang not in _PHRASES:
        raise ValueError(f"unsupported language {lang!r}; use one of {', '.join(_PHRASES)}")
    phrases = _PHRASES[lang]
    release = _in_jst("release_time", release_time)
    today = _in_jst("now", now).date()
    if released_time is not None:
        when = _when(_in_jst("released_time", released_time))
        accepted = None if accept_time is None else _in_jst("accept_time", accept_time).date()
        if accepted == due_date == today:
            return phrases.released_today.format(when=when)
        return phrases.released.format(when=when)
    if release.date() > due_date:
        return phrases.moved.format(when=_when(release), due=due_date.isoformat())
    if release.date() <= today:
        if release_time > now:
            return phrases.today_at.format(time=f"{release:%H:%M} JST")
        return phrases.today
    return phrases.next_business_day.format(when=_when(release))


def describe_previous_key(until: datetime, now: datetime, *, lang: Language = "ja") -> str:
    """Say until when the key a re-issue replaced keeps working (the end of its overlap,
    SPEC section 5a), or since when it no longer does, as of ``now``.

    >>> end = datetime(2026, 12, 14, 9, 0, tzinfo=JST)
    >>> describe_previous_key(end, datetime(2026, 12, 7, 10, 0, tzinfo=JST))
    '旧キーは 2026年12月14日 09:00 まで有効です'
    >>> describe_previous_key(end, datetime(2026, 12, 7, 10, 0, tzinfo=JST), lang="en")
    'the old key works until 2026-12-14 09:00 JST'
    >>> describe_previous_key(end, end)
    '旧キーは 2026年12月14日 09:00 に無効になりました'
    """
    local = _in_jst("until", until)
    _in_jst("now", now)
    stopped = until <= now
    if lang == "ja":
        when = f"{_japanese_date(local)} {local:%H:%M}"
        return f"旧キーは {when} に無効になりました" if stopped else f"旧キーは {when} まで有効です"
    when = _when(local)
    return (
        f"the old key stopped working on {when}" if stopped else f"the old key works until {when}"
    )


def _when(instant: datetime) -> str:
    return f"{instant:%Y-%m-%d %H:%M} JST"


# The sentence each outcome of a status check leads ``verify`` with. STALE names
# the list's exp ({expires}): the customer learns how old the copy is, not only
# that it is too old.
_STATUS_SENTENCES: Final[dict[str, dict[StatusOutcome, str]]] = {
    "ja": {
        StatusOutcome.VALID: "このライセンスキーは有効です（失効リスト確認済み）",
        StatusOutcome.SUPERSEDED: (
            "このライセンスキーは新しいキーに置き換えられたため、使用できません"
        ),
        StatusOutcome.INVALID: (
            "このライセンスキーは失効しているため、使用できません"
            "（キーの失効、または署名鍵の廃止によるものです）"
        ),
        StatusOutcome.SUSPENDED: "このライセンスキーは一時停止されているため、現在は使用できません",
        StatusOutcome.STALE: (
            "失効リストの有効期限（{expires}）が過ぎているため、キーの状態を確認できません。"
            "失効リストを取得し直してください"
        ),
        StatusOutcome.NO_STATUS: (
            "このライセンスキーは失効リストの導入前に発行されたため、"
            "オフラインでは状態を確認できません"
        ),
    },
    "en": {
        StatusOutcome.VALID: "the key is valid (status list checked)",
        StatusOutcome.SUPERSEDED: (
            "the key was replaced by a newer key (a re-issue) and can no longer be used"
        ),
        StatusOutcome.INVALID: (
            "the key was revoked, or its signing key withdrawn, and can no longer be used"
        ),
        StatusOutcome.SUSPENDED: "the key is suspended and cannot be used for now",
        StatusOutcome.STALE: (
            "the status list is out of date (it expired {expires}), so the key's status "
            "cannot be told: fetch the list again"
        ),
        StatusOutcome.NO_STATUS: (
            "the key was issued before status lists: its status cannot be checked offline"
        ),
    },
}


def describe_status(
    outcome: StatusOutcome, *, expires_at: datetime | None = None, lang: Language = "ja"
) -> str:
    """Return the sentence that states ``outcome``, the verdict of a key's status check.

    ``expires_at`` is the list's ``exp``, an aware datetime, shown in JST; it is
    needed for `StatusOutcome.STALE` (`ValueError` without it) and ignored
    otherwise.

    >>> describe_status(StatusOutcome.VALID)
    'このライセンスキーは有効です（失効リスト確認済み）'
    >>> describe_status(StatusOutcome.SUPERSEDED, lang="en")
    'the key was replaced by a newer key (a re-issue) and can no longer be used'
    >>> from datetime import timezone
    >>> expired = datetime(2026, 12, 7, 0, 0, tzinfo=timezone.utc)
    >>> describe_status(StatusOutcome.STALE, expires_at=expired, lang="en")
    "the status list is out of date (it expired 2026-12-07 09:00 JST), so the key's status \
cannot be told: fetch the list again"
    """
    if lang not in _STATUS_SENTENCES:
        raise ValueError(
            f"unsupported language {lang!r}; use one of {', '.join(_STATUS_SENTENCES)}"
        )
    sentence = _STATUS_SENTENCES[lang][StatusOutcome(outcome)]
    if outcome is not StatusOutcome.STALE:
        return sentence
    if expires_at is None:
        raise ValueError("a STALE outcome is described with the list's expiry (expires_at)")
    local = in_jst("expires_at", expires_at)
    if lang == "ja":
        return sentence.format(expires=f"{_japanese_date(local)} {local:%H:%M}")
    return sentence.format(expires=_when(local))


def _moment(name: str, instant: datetime, lang: Language) -> str:
    """An instant as the sentences of ``lang`` write it: 2026年12月7日 09:00, or … JST."""
    local = in_jst(name, instant)
    if lang == "ja":
        return f"{_japanese_date(local)} {local:%H:%M}"
    return _when(local)


def _language(lang: str) -> Language:
    if lang not in ("ja", "en"):
        raise ValueError(f"unsupported language {lang!r}; use one of ja, en")
    return "ja" if lang == "ja" else "en"


def describe_saved_list(
    saved_to: str, issued_at: datetime, expires_at: datetime, *, lang: Language = "ja"
) -> str:
    """Say that the status list was saved to ``saved_to``, when it was signed and until when
    it answers (its ``exp``), in JST.

    >>> from datetime import timezone
    >>> signed = datetime(2026, 12, 7, 0, 0, tzinfo=timezone.utc)
    >>> expires = datetime(2026, 12, 14, 0, 0, tzinfo=timezone.utc)
    >>> describe_saved_list("a.jwt", signed, expires)
    '失効リストを a.jwt に保存しました（発行 2026年12月7日 09:00、有効期限 2026年12月14日 09:00）'
    >>> describe_saved_list("statuslist-1.jwt", signed, expires, lang="en")
    'the status list was saved to statuslist-1.jwt (issued 2026-12-07 09:00 JST, expires \
2026-12-14 09:00 JST)'
    """
    language = _language(lang)
    issued = _moment("issued_at", issued_at, language)
    expires = _moment("expires_at", expires_at, language)
    if language == "ja":
        return f"失効リストを {saved_to} に保存しました（発行 {issued}、有効期限 {expires}）"
    return f"the status list was saved to {saved_to} (issued {issued}, expires {expires})"


def describe_air_gapped_step(expires_at: datetime, *, lang: Language = "ja") -> str:
    """Say what to do with the saved list: move it to the air-gapped server and check the key
    there, before the list expires; the command follows on the next line.

    >>> from datetime import timezone
    >>> expires = datetime(2026, 12, 14, 0, 0, tzinfo=timezone.utc)
    >>> describe_air_gapped_step(expires, lang="en")
    'move the file to the air-gapped server and, before the list expires (2026-12-14 09:00 \
JST), check the key there with this command (its paths as they are on that server)'
    """
    language = _language(lang)
    expires = _moment("expires_at", expires_at, language)
    if language == "ja":
        return (
            f"このファイルをオフラインのサーバーに移し、有効期限（{expires}）までに"
            "次のコマンドでキーを確認してください（パスはそのサーバー上の場所に合わせてください）"
        )
    return (
        f"move the file to the air-gapped server and, before the list expires ({expires}), "
        "check the key there with this command (its paths as they are on that server)"
    )


def describe_saved_though_not_valid(*, lang: Language = "ja") -> str:
    """Say that a list saying the key is not valid was saved all the same: the air-gapped
    server must learn it too.

    >>> describe_saved_though_not_valid(lang="en")
    "the list was saved all the same: the air-gapped server must learn the key's status too"
    """
    if _language(lang) == "ja":
        return (
            "オフラインのサーバーにもこのキーの状態を伝えるため、失効リストはそのまま保存しました"
        )
    return "the list was saved all the same: the air-gapped server must learn the key's status too"


def describe_not_saved(*, no_status: bool = False, lang: Language = "ja") -> str:
    """Say that nothing was saved; ``no_status`` when the key names no list at all.

    >>> describe_not_saved()
    '失効リストは保存していません'
    >>> describe_not_saved(no_status=True, lang="en")
    'the key names no status list: there is nothing to save'
    """
    language = _language(lang)
    if no_status:
        if language == "ja":
            return "このライセンスキーには失効リストがないため、保存するものはありません"
        return "the key names no status list: there is nothing to save"
    return "失効リストは保存していません" if language == "ja" else "the status list was not saved"


def in_jst(name: str, instant: datetime) -> datetime:
    """Return the aware ``instant`` in Japan Standard Time; `ValueError` when naive.

    ``name`` names the argument in the error.

    >>> from datetime import timezone
    >>> in_jst("at", datetime(2026, 12, 7, 0, 0, tzinfo=timezone.utc)).isoformat()
    '2026-12-07T09:00:00+09:00'
    """
    return _in_jst(name, instant)


def _japanese_date(local: datetime) -> str:
    return f"{local.year}年{local.month}月{local.day}日"
