"""MaildirTransport: one file per Message-ID, written the Maildir way, private to the owner."""

from __future__ import annotations

import mailbox
import os
import stat
import threading
from datetime import UTC, date, datetime

import pytest

from keysvc.mail import (
    DeliveryError,
    MaildirTransport,
    compose_license_mail,
    maildir_file_name,
    transports,
)
from keysvc.mail.file_system_sync import sync_file_system
from keysvc.mail.testing import parse_message


def mail_for(request_id: str):
    return compose_license_mail(
        key_request_id=request_id,
        recipient="it@example.co.jp",
        customer_name="株式会社テスト",
        contract_number="SS-2026-000123",
        product_name="desknet's NEO",
        license_serial=f"L-{request_id}",
        license_key="aaaa.bbbb.cccc",
        generation=1,
        support_end=date(2027, 3, 31),
        kind="INITIAL",
        issued_at=datetime(2026, 11, 20, 7, 59, tzinfo=UTC),
        sender="noreply@example.jp",
        message_id_domain="keysvc.example.jp",
    )


def deliver(transport: MaildirTransport, *mails) -> None:
    with transport.session() as session:
        for mail in mails:
            session.deliver(mail)
        session.flush()


def names_in(folder) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_creates_the_maildir_private_to_the_owner(tmp_path):
    root = tmp_path / "mail"
    deliver(MaildirTransport(root), mail_for("kr_1"))
    for folder in (root, root / "tmp", root / "new", root / "cur"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    (file,) = (root / "new").iterdir()
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert list((root / "tmp").iterdir()) == []


def test_each_message_is_one_file_named_after_its_message_id(tmp_path):
    first, second = mail_for("kr_1"), mail_for("kr_2")
    deliver(MaildirTransport(tmp_path), first, second)
    names = sorted(path.name for path in (tmp_path / "new").iterdir())
    assert names == sorted(maildir_file_name(mail.message_id) for mail in (first, second))


def test_mail_readers_see_the_same_message_with_lf_line_ends(tmp_path):
    mail = mail_for("kr_1")
    deliver(MaildirTransport(tmp_path), mail)
    (stored,) = mailbox.Maildir(tmp_path, create=False)
    raw = (tmp_path / "new" / maildir_file_name(mail.message_id)).read_bytes()
    assert b"\r\n" not in raw
    assert raw == mail.message.replace(b"\r\n", b"\n")
    assert stored["Message-ID"] == mail.message_id
    assert stored["X-Keysvc-Request-Id"] == "kr_1"
    assert "aaaa.bbbb.cccc" in parse_message(raw).get_content().splitlines()


def test_delivering_a_message_again_leaves_one_file(tmp_path):
    transport = MaildirTransport(tmp_path)
    deliver(transport, mail_for("kr_1"))
    deliver(transport, mail_for("kr_1"))
    assert len(list((tmp_path / "new").iterdir())) == 1


def test_a_message_already_read_into_cur_is_not_written_again(tmp_path):
    transport = MaildirTransport(tmp_path)
    mail = mail_for("kr_1")
    deliver(transport, mail)
    name = maildir_file_name(mail.message_id)
    # What a mail client does with a message it has shown.
    (tmp_path / "new" / name).rename(tmp_path / "cur" / f"{name}:2,S")
    deliver(transport, mail)
    assert list((tmp_path / "new").iterdir()) == []
    assert len(list((tmp_path / "cur").iterdir())) == 1


def test_concurrent_deliveries_of_one_message_leave_one_file(tmp_path):
    transport = MaildirTransport(tmp_path)
    deliver(transport)
    mail = mail_for("kr_1")
    barrier = threading.Barrier(8)

    def run() -> None:
        barrier.wait()
        deliver(transport, mail)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(list((tmp_path / "new").iterdir())) == 1
    assert list((tmp_path / "tmp").iterdir()) == []


def test_an_unwritable_place_is_a_delivery_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DeliveryError, match="Maildir"):
        deliver(MaildirTransport(blocker / "mail"), mail_for("kr_1"))


def test_a_message_is_in_new_once_flushed_and_not_before(tmp_path):
    transport = MaildirTransport(tmp_path)
    first, second = mail_for("kr_1"), mail_for("kr_2")
    with transport.session() as session:
        session.deliver(first)
        session.deliver(second)
        assert names_in(tmp_path / "new") == []
        session.flush()
        expected = sorted(maildir_file_name(mail.message_id) for mail in (first, second))
        assert names_in(tmp_path / "new") == expected
        assert names_in(tmp_path / "tmp") == []
        session.flush()  # nothing new: nothing changes
    assert names_in(tmp_path / "new") == expected


def test_a_session_ended_before_its_flush_leaves_no_file(tmp_path):
    transport = MaildirTransport(tmp_path)
    with transport.session() as session:
        session.deliver(mail_for("kr_1"))
        assert len(names_in(tmp_path / "tmp")) == 1
    assert names_in(tmp_path / "new") == []
    assert names_in(tmp_path / "tmp") == []


def test_one_message_twice_before_a_flush_is_one_file(tmp_path):
    mail = mail_for("kr_1")
    deliver(MaildirTransport(tmp_path), mail, mail)
    assert names_in(tmp_path / "new") == [maildir_file_name(mail.message_id)]
    assert names_in(tmp_path / "tmp") == []


def test_a_flush_syncs_the_file_system_twice_contents_before_names(tmp_path):
    # Recorded in place of syncfs: what new/ holds at each sync.
    seen_at_syncs: list[list[str]] = []

    def recording_syncfs(descriptor: int) -> None:
        seen_at_syncs.append(names_in(tmp_path / "new"))

    mails = [mail_for(f"kr_{index}") for index in range(5)]
    deliver(MaildirTransport(tmp_path, syncfs=recording_syncfs), *mails)
    expected = sorted(maildir_file_name(mail.message_id) for mail in mails)
    assert seen_at_syncs == [[], expected]


def test_without_syncfs_each_file_and_then_new_is_fsynced(tmp_path, monkeypatch):
    transport = MaildirTransport(tmp_path, syncfs=None)
    deliver(transport)  # creates the Maildir
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(transports.os, "fsync", recording_fsync)
    mails = [mail_for(f"kr_{index}") for index in range(3)]
    deliver(transport, *mails)
    folders = [os.path.dirname(path) for path in synced]
    assert folders == [str(tmp_path / "tmp")] * 3 + [str(tmp_path)]
    assert synced[-1] == str(tmp_path / "new")
    assert len(names_in(tmp_path / "new")) == 3


@pytest.mark.skipif(sync_file_system is None, reason="this system has no syncfs")
def test_the_systems_syncfs_syncs_and_reports_errors(tmp_path):
    descriptor = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        sync_file_system(descriptor)
    finally:
        os.close(descriptor)
    with pytest.raises(OSError, match="Bad file descriptor"):
        sync_file_system(descriptor)


def test_a_failed_sync_is_a_delivery_error_and_puts_nothing_in_new(tmp_path):
    def failing_syncfs(descriptor: int) -> None:
        raise OSError(5, "Input/output error")

    transport = MaildirTransport(tmp_path, syncfs=failing_syncfs)
    with transport.session() as session:
        session.deliver(mail_for("kr_1"))
        with pytest.raises(DeliveryError, match="Input/output error"):
            session.flush()
    assert names_in(tmp_path / "new") == []
    assert names_in(tmp_path / "tmp") == []
