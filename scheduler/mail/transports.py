"""Where messages go: the transport port, and the Maildir transport (the embedded default).

A transport opens a *session* for a batch — one SMTP connection, say — and
delivers messages through it one at a time::

    with transport.session() as session:
        for mail in batch:
            session.deliver(mail)  # raises DeliveryError / PermanentDeliveryError

`MaildirTransport` writes each message as a file of a Maildir
(``<data-dir>/mail/``); `scheduler.mail.smtp.SmtpTransport` talks SMTP.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Final, Protocol

from scheduler.mail.compose import ComposedMail
from scheduler.mail.errors import DeliveryError

__all__ = ["MailSession", "MailTransport", "MaildirTransport", "maildir_file_name"]

logger = logging.getLogger(__name__)

# mailbox.Maildir separates a file's unique name from its flags with ":" ("name:2,S").
_INFO_SEPARATOR: Final = ":"


class MailSession(Protocol):
    """Delivers messages, one at a time, within one transport session."""

    def deliver(self, mail: ComposedMail) -> None:
        """Delivers ``mail`` to ``mail.recipient``, or raises.

        Raises `DeliveryError` when a later attempt may succeed, and
        `PermanentDeliveryError` when none will. Returning means delivered.
        """
        ...


class MailTransport(Protocol):
    """Opens sessions; a session lasts one batch (for SMTP, one connection)."""

    def session(self) -> AbstractContextManager[MailSession]:
        """A session to deliver a batch through; closed when the block ends."""
        ...


def maildir_file_name(message_id: str) -> str:
    """The Maildir file name of the message with this Message-ID: always the same.

    Derived from the Message-ID (a hash, as the id may hold characters a file
    name must not), so that delivering the same message again finds the file.

    >>> maildir_file_name("<keysvc.kr_01@keysvc.example.jp>")
    'keysvc.87d6ae09efc0d4be6d3aca66e73e8310'
    """
    # 128 bits of SHA-256: collisions between distinct Message-IDs are not a concern.
    digest = hashlib.sha256(message_id.encode()).hexdigest()[:32]
    return f"keysvc.{digest}"


class MaildirTransport:
    """Writes each message to a Maildir, once per Message-ID.

    The directory (and ``tmp``, ``new``, ``cur``) is created on first use,
    readable by the owner only (the messages hold license keys); any Maildir
    reader, ``mailbox.Maildir`` included, reads it. A message is
    written to ``tmp/`` and synced, then hard-linked into ``new/`` under
    `maildir_file_name` — the Maildir delivery protocol, so a reader never
    sees half a file — and ``new/`` is synced before ``deliver`` returns.

    Delivering a Message-ID again is a no-op when its file is already in
    ``new/`` or ``cur/`` (where mail clients move what they have seen): a
    re-send after a crash leaves one file, not two. The link into ``new/``
    fails if the file exists, so two senders racing on one message still
    leave one file. Line endings are written as LF, as Maildir readers expect.
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)

    @property
    def path(self) -> Path:
        """The Maildir's root directory."""
        return self._path

    def __repr__(self) -> str:
        return f"MaildirTransport({str(self._path)!r})"

    @contextlib.contextmanager
    def session(self) -> Iterator[MailSession]:
        """A session that writes into the Maildir, holding its folders open until it ends."""
        try:
            # Each folder separately: mailbox.Maildir(create=True) makes tmp/,
            # new/ and cur/ only along with a missing root, and an operator may
            # well have created <data-dir>/mail/ already.
            for folder in (self._path, *(self._path / name for name in ("tmp", "new", "cur"))):
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            session = _MaildirSession(self._path)
        except OSError as error:
            raise DeliveryError(f"cannot create the Maildir {self._path}: {error}") from error
        try:
            yield session
        finally:
            session.close()


class _MaildirSession:
    """One batch's deliveries, through descriptors of ``tmp/``, ``new/`` and ``cur/``.

    Open descriptors spare each delivery the lookups of the folders' paths
    (about 8 µs of CPU per message), and syncing ``new/`` an open and a close.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        descriptors: list[int] = []
        try:
            for name in ("tmp", "new", "cur"):
                descriptors.append(os.open(root / name, os.O_RDONLY | os.O_DIRECTORY))
        except OSError:
            for descriptor in descriptors:
                os.close(descriptor)
            raise
        self._tmp, self._new, self._cur = descriptors
        # A temporary name must be unique among everyone writing to tmp/: the
        # pid tells processes apart, the token sessions, and a session writes
        # one message at a time.
        self._temporary_suffix = f".{os.getpid()}.{secrets.token_hex(4)}"

    def close(self) -> None:
        """Closes the folders' descriptors."""
        for descriptor in (self._tmp, self._new, self._cur):
            os.close(descriptor)

    def deliver(self, mail: ComposedMail) -> None:
        """Writes ``mail`` into ``new/`` unless a file for its Message-ID is already there."""
        name = maildir_file_name(mail.message_id)
        try:
            if self._already_delivered(name):
                logger.info(
                    "message already in the Maildir; not written again",
                    extra={"message_id": mail.message_id},
                )
                return
            self._write(name, mail.message.replace(b"\r\n", b"\n"))
        except OSError as error:
            raise DeliveryError(f"cannot write to the Maildir {self._root}: {error}") from error

    def _already_delivered(self, name: str) -> bool:
        # new/ first, then cur/: a mail client moving the file from new/ to
        # cur/ in between is seen in the one or the other.
        if os.access(name, os.F_OK, dir_fd=self._new):
            return True
        prefix = name + _INFO_SEPARATOR
        return any(entry == name or entry.startswith(prefix) for entry in os.listdir(self._cur))

    def _write(self, name: str, data: bytes) -> None:
        temporary = name + self._temporary_suffix
        descriptor = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=self._tmp
        )
        try:
            try:
                written = os.write(descriptor, data)
                while written < len(data):  # a regular file takes all at once, but need not
                    written += os.write(descriptor, data[written:])
                # On disk before it appears in new/: a crash must not leave an empty message.
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            try:
                os.link(temporary, name, src_dir_fd=self._tmp, dst_dir_fd=self._new)
            except FileExistsError:
                # Another sender delivered the same message a moment ago.
                return
            # The new name is durable only once the directory is synced; the
            # outbox marks the message SENT right after this returns.
            os.fsync(self._new)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary, dir_fd=self._tmp)
