"""What ``status`` says when it saves a key's status list, in Japanese and in English."""

# The Japanese sentences' full-width parentheses and commas are theirs.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from keysvc.migrate.wording import (
    Language,
    describe_air_gapped_step,
    describe_not_saved,
    describe_saved_list,
    describe_saved_though_not_valid,
)

# Signed Monday 2026-12-07 09:00 JST, valid for 7 days.
ISSUED = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
EXPIRES = ISSUED + timedelta(days=7)
FILE = "/media/usb/statuslist-1.jwt"

SENTENCES: dict[str, tuple[Callable[[Language], str], str, str]] = {
    "saved": (
        lambda lang: describe_saved_list(FILE, ISSUED, EXPIRES, lang=lang),
        "失効リストを /media/usb/statuslist-1.jwt に保存しました"
        "（発行 2026年12月7日 09:00、有効期限 2026年12月14日 09:00）",
        "the status list was saved to /media/usb/statuslist-1.jwt "
        "(issued 2026-12-07 09:00 JST, expires 2026-12-14 09:00 JST)",
    ),
    "next step": (
        lambda lang: describe_air_gapped_step(EXPIRES, lang=lang),
        "このファイルをオフラインのサーバーに移し、有効期限（2026年12月14日 09:00）までに"
        "次のコマンドでキーを確認してください（パスはそのサーバー上の場所に合わせてください）",
        "move the file to the air-gapped server and, before the list expires "
        "(2026-12-14 09:00 JST), check the key there with this command (its paths as they "
        "are on that server)",
    ),
    "saved though not valid": (
        lambda lang: describe_saved_though_not_valid(lang=lang),
        "オフラインのサーバーにもこのキーの状態を伝えるため、失効リストはそのまま保存しました",
        "the list was saved all the same: the air-gapped server must learn the key's status too",
    ),
    "not saved": (
        lambda lang: describe_not_saved(lang=lang),
        "失効リストは保存していません",
        "the status list was not saved",
    ),
    "nothing to save": (
        lambda lang: describe_not_saved(no_status=True, lang=lang),
        "このライセンスキーには失効リストがないため、保存するものはありません",
        "the key names no status list: there is nothing to save",
    ),
}


@pytest.mark.parametrize("name", list(SENTENCES))
def test_each_sentence_reads_so_in_japanese_and_in_english(name: str) -> None:
    describe, ja, en = SENTENCES[name]
    assert describe("ja") == ja
    assert describe("en") == en


@pytest.mark.parametrize("name", list(SENTENCES))
def test_the_japanese_is_polite_and_holds_no_english_words(name: str) -> None:
    describe, _, _ = SENTENCES[name]
    ja = describe("ja")
    # The register of the tool's other Japanese sentences (…です, …ません, …ください,
    # …ました), a parenthesis perhaps closing it.
    assert re.search(r"(です|ません|ください|ました)(（[^（）]*）)?$", ja), ja
    without_the_file = ja.replace(FILE, "")
    assert not any("a" <= character <= "z" for character in without_the_file), ja


def test_japanese_is_the_default() -> None:
    assert describe_saved_list(FILE, ISSUED, EXPIRES) == SENTENCES["saved"][1]
    assert describe_air_gapped_step(EXPIRES) == SENTENCES["next step"][1]
    assert describe_saved_though_not_valid() == SENTENCES["saved though not valid"][1]
    assert describe_not_saved() == SENTENCES["not saved"][1]


def test_times_are_tokyo_times_whatever_the_zone_given() -> None:
    new_york = timezone(timedelta(hours=-5))
    issued, expires = ISSUED.astimezone(new_york), EXPIRES.astimezone(new_york)
    assert describe_saved_list(FILE, issued, expires, lang="en") == SENTENCES["saved"][2]
    # 23:30 UTC is already the next day in Tokyo.
    late = datetime(2026, 12, 13, 23, 30, tzinfo=UTC)
    assert "有効期限（2026年12月14日 08:30）" in describe_air_gapped_step(late)


def test_naive_times_and_unknown_languages_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        describe_saved_list(FILE, datetime(2026, 12, 7, 9, 0), EXPIRES)
    with pytest.raises(ValueError, match="aware"):
        describe_air_gapped_step(datetime(2026, 12, 14, 9, 0))
    with pytest.raises(ValueError, match="unsupported language"):
        describe_not_saved(lang="fr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported language"):
        describe_saved_list(FILE, ISSUED, EXPIRES, lang="de")  # type: ignore[arg-type]
