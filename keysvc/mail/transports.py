"""Where messages go: the transport port, and the Maildir transport (the embedded default).

A transport opens a *session* for a batch — one SMTP connection, say — and
delivers messages through it one at a time, then makes them durable::

    with transport.session() as session:
        for mail in batch:
            session.deliver(mail)  # raises DeliveryError / PermanentDeliveryError
        session.flush()  # raises DeliveryError: the messages since the last flush may be lost

`MaildirTransport` writes each message as a file of a Maildir
(``<data-dir>/mail/``); `keysvc.mail.smtp.SmtpTransport` talks SMTP.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from keysvc.mail.compose import ComposedMail
from keysvc.mail.errors import DeliveryError
from keysvc.mail.file_system_sync import sync_file_system

__all__ = ["MailSession", "MailTransport", "MaildirTransport", "maildir_file_name"]

logger = logging.getLogger(__name__)

# mailbox.Maildir separates a file's unique name from its flags with ":" ("name:2,S").
_INFO_SEPARATOR: Final = ":"


class MailSession(Protocol):
    """Delivers messages, one at a time, within one transport session."""

    def deliver(self, mail: ComposedMail) -> None:
        """Delivers ``mail`` to ``mail.recipient``, or raises.

        Raises `DeliveryError` when a later attempt may succeed, and
        `PermanentDeliveryError` when none will. Returning means delivered
        once `flush` returns.
        """
        ...

    def flush(self) -> None:
        """Makes every message delivered since the last flush durable: a crash no longer
        loses it. Raises `DeliveryError` when they may be lost.

        A session may make a message durable in `deliver` already (an SMTP server
        that accepted it has it); one that does not, a file system, can make a
        group of messages durable at once for about the cost of one. A session
        that ends without a last flush may drop what was delivered since.
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

    The names in ``cur/`` are read once and kept, for every session and
    thread of the transport, until ``cur/`` changes (`_CurListing` says why
    that is as good as reading it for every message): a delivery costs the
    same with ten thousand read messages in ``cur/`` as with none.
    """

    def __init__(
        self, path: Path, *, syncfs: Callable[[int], None] | None = sync_file_system
    ) -> None:
        """`syncfs` (default: the system's, if it has one) makes a file system durable;
        None makes each file durable by itself, by fsync."""
        self._path = Path(path)
        self._cur_listing = _KeptCurListing()
        self._syncfs = syncfs

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
            session = _MaildirSession(self._path, self._cur_listing, self._syncfs)
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
    Messages are written to ``tmp/`` as they come and linked into ``new/`` by
    `flush`: one file-system sync for a group of contents, one for their names,
    where an fsync per file and per name cost 0.3 to 0.7 ms a message (benchmarks.md).
    """

    def __init__(
        self, root: Path, cur_listing: _KeptCurListing, syncfs: Callable[[int], None] | None
    ) -> None:
        self._root = root
        self._cur_listing = cur_listing
        self._syncfs = syncfs
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
        # pid tells processes apart, the token sessions, and the message's name
        # the messages of a session.
        self._temporary_suffix = f".{os.getpid()}.{secrets.token_hex(4)}"
        # Written to tmp/, not yet linked into new/: message name -> temporary name.
        self._unflushed: dict[str, str] = {}

    def close(self) -> None:
        """Removes what was not flushed, and closes the folders' descriptors."""
        try:
            self._remove_temporaries(list(self._unflushed.values()))
        finally:
            for descriptor in (self._tmp, self._new, self._cur):
                os.close(descriptor)

    def deliver(self, mail: ComposedMail) -> None:
        """Writes ``mail`` into ``tmp/`` unless a file for its Message-ID is already in
        ``new/`` or ``cur/``; `flush` puts it into ``new/``."""
        name = maildir_file_name(mail.message_id)
        try:
            if name in self._unflushed or self._already_delivered(name):
                logger.info(
                    "message already in the Maildir; not written again",
                    extra={"message_id": mail.message_id},
                )
                return
            temporary = name + self._temporary_suffix
            self._write(temporary, mail.message.replace(b"\r\n", b"\n"))
        except OSError as error:
            raise DeliveryError(f"cannot write to the Maildir {self._root}: {error}") from error
        self._unflushed[name] = temporary

    def flush(self) -> None:
        """Makes the messages written since the last flush durable, links them into
        ``new/`` and makes their names durable."""
        if not self._unflushed:
            return
        unflushed, self._unflushed = self._unflushed, {}
        try:
            # Contents on disk before any name appears in new/: a crash must not
            # leave an empty message there.
            if self._syncfs is not None:
                self._syncfs(self._tmp)
            for name, temporary in unflushed.items():
                with contextlib.suppress(FileExistsError):
                    # Exists: another sender delivered the same message a moment ago.
                    os.link(temporary, name, src_dir_fd=self._tmp, dst_dir_fd=self._new)
            # The names are durable only once new/ is synced; the outbox marks the
            # messages SENT right after this returns.
            if self._syncfs is not None:
                self._syncfs(self._new)
            else:
                os.fsync(self._new)
        except OSError as error:
            raise DeliveryError(f"cannot write to the Maildir {self._root}: {error}") from error
        finally:
            self._remove_temporaries(list(unflushed.values()))

    def _already_delivered(self, name: str) -> bool:
        # new/ first, then cur/: a mail client moving the file from new/ to
        # cur/ in between is seen in the one or the other.
        if os.access(name, os.F_OK, dir_fd=self._new):
            return True
        return name in self._cur_listing.names(self._cur)

    def _write(self, temporary: str, data: bytes) -> None:
        descriptor = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=self._tmp
        )
        try:
            try:
                written = os.write(descriptor, data)
                while written < len(data):  # a regular file takes all at once, but need not
                    written += os.write(descriptor, data[written:])
                if self._syncfs is None:
                    os.fsync(descriptor)
            finally:
                os.close(descriptor)
        except BaseException:
            self._remove_temporaries([temporary])
            raise

    def _remove_temporaries(self, temporaries: list[str]) -> None:
        for temporary in temporaries:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary, dir_fd=self._tmp)


# How long cur/ must have stayed unchanged before its listing is kept. File
# systems stamp a change with a coarse clock (up to a timer tick, 10 ms, late
# on Linux) at their resolution (1 ns to FAT's 2 s): a change this long after
# the previous one surely gets a later stamp. Mail clients touch cur/ seldom.
_SETTLE_NS: Final = 3_000_000_000


@dataclass(frozen=True, slots=True)
class _CurListing:
    """The messages in ``cur/`` (names without the ``:2,S`` info), and ``cur/``'s stamp then.

    Why a kept listing is as good as reading ``cur/`` for every message:

    - Adding, renaming or removing an entry sets the directory's modification
      and change times to the current time (POSIX, for link, rename, unlink
      and creat alike). The stamp — device, inode and both times — is taken
      *before* the names are read, so a change made while they are read
      changes it too: while ``cur/`` still has the stamp, the listing is what
      reading ``cur/`` again would give.
    - Unless a change carries the very times of the one before the stamp: a
      file system stamps with a coarse clock at its resolution, so two changes
      close together may get the same times. Hence ``settled``: a listing is
      kept only if ``cur/`` had not changed for `_SETTLE_NS` when it was
      stamped, so that every later change gets later times. An unsettled
      listing serves the message it was read for, and the next message reads
      ``cur/`` again — as every message did before; a mail client busy in
      ``cur/`` makes deliveries cost that for a few seconds.
    - Checking ``new/`` per message but ``cur/`` by a listing read earlier,
      without the stamp, would *not* do: a message in ``new/`` when the
      listing was read, moved to ``cur/`` by a mail client before its check,
      would be found in neither. With the stamp, the move (a rename into
      ``cur/``) makes the check read ``cur/`` again.

    Assumed: the clock that stamps ``cur/`` (a file server's, on a network
    file system) is not seconds behind this machine's and does not step back
    to the stamp's time; on a network file system, that the times the client
    caches are as fresh as the listing it would cache (NFS clients check their
    cached listings by these times).
    """

    names: frozenset[str]
    stamp: tuple[int, int, int, int]
    settled: bool

    @classmethod
    def read(cls, cur: int) -> _CurListing:
        """Stamps and reads ``cur/`` (an open descriptor), in that order."""
        # Read before the stamp is taken, so no later than the stamping.
        now = time.time_ns()
        status = os.fstat(cur)
        names = frozenset(entry.partition(_INFO_SEPARATOR)[0] for entry in os.listdir(cur))
        settled = max(status.st_mtime_ns, status.st_ctime_ns) + _SETTLE_NS < now
        return cls(names, _stamp(status), settled)


def _stamp(status: os.stat_result) -> tuple[int, int, int, int]:
    """A directory's device, inode, and modification and change times in nanoseconds."""
    return (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_ctime_ns)


class _KeptCurListing:
    """A transport's listing of ``cur/``, kept while it stays true.

    Shared by the transport's sessions, in any threads, without a lock: the
    listing is replaced whole, and one replaced by an older one is judged by
    its own stamp, so at worst ``cur/`` is read once more.
    """

    def __init__(self) -> None:
        self._listing: _CurListing | None = None

    def names(self, cur: int) -> frozenset[str]:
        """The message names in ``cur/`` (an open descriptor) now, read again if it changed."""
        listing = self._listing
        if listing is None or not listing.settled or _stamp(os.fstat(cur)) != listing.stamp:
            listing = self._listing = _CurListing.read(cur)
        return listing.names
