"""MaildirTransport's check for a message already delivered, and its folders' descriptors."""

from __future__ import annotations

import os

import pytest

from scheduler.mail import MaildirTransport, maildir_file_name, transports

from .test_maildir import deliver, mail_for


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
