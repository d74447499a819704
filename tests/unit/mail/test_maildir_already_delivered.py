"""MaildirTransport's check for a message already delivered, and its folders' descriptors.

The transport keeps its listing of cur/ while cur/ stays unchanged; these
tests make sure no message a mail client has moved, renamed or removed is
judged by a stale listing, and that a racing sender's file is left alone.
"""

from __future__ import annotations

import os

import pytest

from keysvc.mail import MaildirTransport, maildir_file_name, transports

from .test_maildir import deliver, mail_for


@pytest.fixture
def settled(monkeypatch):
    """Every listing of cur/ counts as read long after cur/ last changed (as in service)."""
    monkeypatch.setattr(transports, "_SETTLE_NS", -3600 * 10**9)


@pytest.fixture
def unsettled(monkeypatch):
    """Every listing of cur/ counts as read moments after cur/ changed."""
    monkeypatch.setattr(transports, "_SETTLE_NS", 3600 * 10**9)


@pytest.fixture
def listings(monkeypatch):
    """The folders read by descriptor (as the transport reads cur/), one entry per reading."""
    calls = []
    real = os.listdir

    def counting(path=".") -> list[str]:
        if isinstance(path, int):
            calls.append(path)
        return real(path)

    monkeypatch.setattr(transports.os, "listdir", counting)
    return calls


def read_by_a_mail_client(maildir, mail, info=":2,S") -> None:
    """What a mail client does with a message it has shown: new/ to cur/, with flags."""
    name = maildir_file_name(mail.message_id)
    (maildir / "new" / name).rename(maildir / "cur" / f"{name}{info}")


def test_cur_is_read_once_while_it_does_not_change(tmp_path, settled, listings):
    transport = MaildirTransport(tmp_path)
    deliver(transport, *(mail_for(f"kr_{index}") for index in range(5)))
    deliver(transport, *(mail_for(f"kr_{index}") for index in range(5, 10)))
    assert len(listings) == 1
    assert len(list((tmp_path / "new").iterdir())) == 10


def test_cur_is_read_for_every_message_while_it_has_just_changed(tmp_path, unsettled, listings):
    # A change right after the last one might carry the same time stamp and
    # go unnoticed: such a listing serves one message only.
    deliver(MaildirTransport(tmp_path), *(mail_for(f"kr_{index}") for index in range(3)))
    assert len(listings) == 3


@pytest.mark.parametrize("info", [":2,S", ":2,RS", ":2,", ""])
def test_a_message_moved_to_cur_during_a_session_is_not_written_again(tmp_path, settled, info):
    # The case a listing of cur/ read at the start of the session would miss:
    # in new/ when cur/ was read, in cur/ when its re-send is checked.
    transport = MaildirTransport(tmp_path)
    earlier = mail_for("kr_1")
    deliver(transport, earlier)
    with transport.session() as session:
        session.deliver(mail_for("kr_2"))  # cur/ read and kept, kr_1 still in new/
        read_by_a_mail_client(tmp_path, earlier, info)
        session.deliver(earlier)
        session.flush()
    assert [path.name for path in (tmp_path / "new").iterdir()] == [
        maildir_file_name(mail_for("kr_2").message_id)
    ]
    assert [path.name for path in (tmp_path / "cur").iterdir()] == [
        maildir_file_name(earlier.message_id) + info
    ]


def test_a_message_moved_to_cur_between_sessions_is_not_written_again(tmp_path, settled):
    transport = MaildirTransport(tmp_path)
    mail = mail_for("kr_1")
    deliver(transport, mail, mail_for("kr_2"))  # cur/ read and kept by the transport
    read_by_a_mail_client(tmp_path, mail)
    deliver(transport, mail)
    assert len(list((tmp_path / "new").iterdir())) == 1
    assert len(list((tmp_path / "cur").iterdir())) == 1


def test_a_message_removed_from_cur_is_written_again(tmp_path, settled):
    transport = MaildirTransport(tmp_path)
    mail = mail_for("kr_1")
    deliver(transport, mail)
    read_by_a_mail_client(tmp_path, mail)
    deliver(transport, mail)
    assert list((tmp_path / "new").iterdir()) == []
    (cur_file,) = (tmp_path / "cur").iterdir()
    cur_file.unlink()  # deleted by its reader: a re-send is a new delivery, as before
    deliver(transport, mail)
    assert len(list((tmp_path / "new").iterdir())) == 1


def test_a_sender_linking_first_leaves_its_file_and_no_temporary_one(tmp_path, monkeypatch):
    # The other sender links the same message into new/ right after this one
    # found new/ empty: this one's link fails, and that is a delivery.
    transport = MaildirTransport(tmp_path)
    deliver(transport)
    mail = mail_for("kr_1")
    name = maildir_file_name(mail.message_id)
    real_access = os.access

    def other_sender_links_after_the_check(path, mode, **kwargs) -> bool:
        found = real_access(path, mode, **kwargs)
        (tmp_path / "new" / name).write_bytes(b"the other sender's copy")
        return found

    monkeypatch.setattr(transports.os, "access", other_sender_links_after_the_check)
    deliver(transport, mail)
    assert (tmp_path / "new" / name).read_bytes() == b"the other sender's copy"
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="lists open files by /proc")
def test_a_session_closes_the_folders_it_opened(tmp_path):
    transport = MaildirTransport(tmp_path)
    deliver(transport)  # creates the Maildir
    before = set(os.listdir("/proc/self/fd"))
    deliver(transport, mail_for("kr_1"))
    with pytest.raises(RuntimeError), transport.session():
        raise RuntimeError
    assert set(os.listdir("/proc/self/fd")) <= before
