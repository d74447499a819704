"""The status lists' rows: handing out entries, marking changes, storing published tokens."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from keysvc.domain.lifecycle import LicenseStatus
from keysvc.domain.status_entries import PublishedList, PublishedToken
from keysvc.persistence.schema import licenses, signing_keys, status_lists


@dataclass(frozen=True, slots=True)
class OpenList:
    """A list with entries left to hand out, locked by the caller's transaction."""

    number: int
    uri: str
    size: int
    permutation_key: bytes
    allocated: int


@dataclass(frozen=True, slots=True)
class ListState:
    """What the publisher needs to know of a list before reading its entries."""

    number: int
    uri: str
    size: int
    revision: int
    published: PublishedToken | None


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One license's entry as stored: its index and what decides its value."""

    index: int
    status: LicenseStatus
    supersede_at: datetime | None
    signed_by_withdrawn_key: bool


def open_list_for_update(connection: Connection, base_url: str) -> OpenList | None:
    """The oldest list made under `base_url` with entries left, locked; None if none."""
    row = connection.execute(
        select(
            status_lists.c.number,
            status_lists.c.uri,
            status_lists.c.size,
            status_lists.c.permutation_key,
            status_lists.c.allocated,
        )
        .where(
            status_lists.c.base_url == base_url,
            status_lists.c.allocated < status_lists.c.size,
        )
        .order_by(status_lists.c.number)
        .limit(1)
        .with_for_update()
    ).first()
    return None if row is None else OpenList(*row)


def add_list(
    connection: Connection,
    *,
    base_url: str,
    size: int,
    permutation_key: bytes,
    now: datetime,
) -> None:
    """Adds the next list under `base_url`, numbered after the last of any base.

    Two replicas adding one at once both number theirs alike: the second insert
    does nothing, and both then hand out entries of the first one's list.
    """
    number = (connection.execute(select(func.max(status_lists.c.number))).scalar() or 0) + 1
    insert_ = sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert
    connection.execute(
        insert_(status_lists)
        .values(
            number=number,
            base_url=base_url,
            uri=f"{base_url}/statuslists/{number}",
            size=size,
            permutation_key=permutation_key,
            allocated=0,
            revision=0,
            created_at=now,
        )
        .on_conflict_do_nothing()
    )


def take_entries(connection: Connection, number: int, count: int) -> None:
    """Counts `count` more entries of list `number` handed out (the caller holds it locked)."""
    connection.execute(
        update(status_lists)
        .where(status_lists.c.number == number)
        .values(allocated=status_lists.c.allocated + count)
    )


def mark_changed(connection: Connection, serials: Collection[str]) -> None:
    """Counts a change in the lists holding these licenses' entries, in the change's
    transaction, so that the publisher signs them again."""
    if not serials:
        return
    connection.execute(
        update(status_lists)
        .where(
            status_lists.c.number.in_(
                select(licenses.c.status_list).where(
                    licenses.c.serial.in_(list(serials)), licenses.c.status_list.is_not(None)
                )
            )
        )
        .values(revision=status_lists.c.revision + 1)
    )


def list_states(connection: Connection) -> list[ListState]:
    """Every list, with what its published token shows, by number."""
    rows = connection.execute(
        select(
            status_lists.c.number,
            status_lists.c.uri,
            status_lists.c.size,
            status_lists.c.revision,
            status_lists.c.token_revision,
            status_lists.c.token_as_of,
            status_lists.c.token_issued_at,
        ).order_by(status_lists.c.number)
    )
    return [
        ListState(
            number,
            uri,
            size,
            revision,
            None if token_revision is None else PublishedToken(token_revision, as_of, issued_at),
        )
        for number, uri, size, revision, token_revision, as_of, issued_at in rows
    ]


def next_supersede_at(connection: Connection, number: int, after: datetime) -> datetime | None:
    """The earliest end of an overlap in list `number` strictly after `after`, if any."""
    found: datetime | None = connection.execute(
        select(func.min(licenses.c.supersede_at)).where(
            licenses.c.status_list == number,
            licenses.c.supersede_at > after,
            licenses.c.status == LicenseStatus.SUPERSEDED,
        )
    ).scalar()
    return found


def entry_rows(connection: Connection, number: int) -> list[EntryRow]:
    """The entries of list `number` whose value may not be VALID (the others are)."""
    withdrawn = signing_keys.c.withdrawn_at.is_not(None)
    rows = connection.execute(
        select(licenses.c.status_index, licenses.c.status, licenses.c.supersede_at, withdrawn)
        .join(signing_keys, signing_keys.c.kid == licenses.c.kid)
        .where(
            licenses.c.status_list == number,
            or_(licenses.c.status != LicenseStatus.ACTIVE, withdrawn),
        )
    )
    return [
        EntryRow(index, LicenseStatus(status), at, bool(by_withdrawn))
        for index, status, at, by_withdrawn in rows
    ]


def mark_all_changed(connection: Connection) -> None:
    """Counts a change in every list, in the caller's transaction: after a signing key's
    withdrawal, every list is signed again — those holding keys it signed, whose
    entries change, and those whose published token it signed, which no longer
    verifies with the published keys."""
    connection.execute(update(status_lists).values(revision=status_lists.c.revision + 1))


def store_token(
    connection: Connection,
    number: int,
    *,
    token: str,
    revision: int,
    as_of: datetime,
    issued_at: datetime,
    expires_at: datetime,
) -> bool:
    """Stores a newly signed token of list `number` unless one at least as recent is
    there already (a replica's); returns whether it was stored.

    More recent means a later revision, or the same revision shown as of a later
    instant: a replica that built from an older snapshot never replaces the newer.
    """
    stored = connection.execute(
        update(status_lists)
        .where(
            status_lists.c.number == number,
            or_(
                status_lists.c.token_revision.is_(None),
                status_lists.c.token_revision < revision,
                and_(
                    status_lists.c.token_revision == revision,
                    status_lists.c.token_as_of < as_of,
                ),
            ),
        )
        .values(
            token=token,
            token_revision=revision,
            token_as_of=as_of,
            token_issued_at=issued_at,
            token_expires_at=expires_at,
        )
    )
    return stored.rowcount == 1


def published_lists(connection: Connection) -> list[PublishedList]:
    """Every list's token as published last, by number (lists never published left out)."""
    rows = connection.execute(
        select(
            status_lists.c.number,
            status_lists.c.uri,
            status_lists.c.token,
            status_lists.c.token_issued_at,
            status_lists.c.token_expires_at,
        )
        .where(status_lists.c.token.is_not(None))
        .order_by(status_lists.c.number)
    )
    return [PublishedList(*row) for row in rows]
