"""The public documents of key status (SPEC section 5a): the published Status List
Tokens and the JWKS of the keys that sign them.

Read by the status listener (`keysvc.api.status_http`) and by
``keysvc status export``; both serve the same bytes. The tokens are those the
publisher (`keysvc.service.status_publication`) stored last; a list never
published yet is not among them.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, Engine

from keysvc.domain.status_entries import PublishedList
from keysvc.persistence.database import read_transaction
from keysvc.persistence.signing_key_repository import list_signing_keys
from keysvc.persistence.status_list_repository import published_lists
from keysvc.service.signing_keys import SigningKeys, jwks_json
from signing import ALGORITHM, Algorithm

__all__ = [
    "JWKS_PATH",
    "JWKS_TYPE",
    "STATUS_LISTS_PATH",
    "STATUS_LIST_TYPE",
    "ExportedFile",
    "PublishedList",
    "StatusDocuments",
    "export_status_documents",
    "read_status_documents",
    "status_documents",
]

STATUS_LIST_TYPE: Final = "application/statuslist+jwt"
"""The media type of a Status List Token in its JWT form (draft-ietf-oauth-status-list)."""
JWKS_TYPE: Final = "application/jwk-set+json"
"""The media type of a JWK Set (RFC 7517 section 8.5.1)."""
STATUS_LISTS_PATH: Final = "statuslists"
"""Where the lists are, below the base of their URIs: ``<base>/statuslists/<n>``."""
JWKS_PATH: Final = ".well-known/jwks.json"
"""Where the JWKS is, below the root of the listener or the exported folder."""
# The files are public: anyone may read them, as anyone may fetch them.
_PUBLIC_FILE_MODE: Final = 0o644
_PUBLIC_FOLDER_MODE: Final = 0o755


@dataclass(frozen=True, slots=True)
class StatusDocuments:
    """Everything published about key status, read in one transaction.

    `lists` holds each published list's last token, by number; `jwks` is the
    JWKS of every published signing key (active first, withdrawn ones left out);
    `keys_changed_at` is the latest creation, retirement or withdrawal of a key
    (None without keys): when the JWKS last changed.
    """

    lists: dict[int, PublishedList]
    jwks: str
    keys_changed_at: datetime | None


def status_documents(connection: Connection, alg: Algorithm = ALGORITHM) -> StatusDocuments:
    """The published tokens and the JWKS (its keys named for `alg`), as the caller's
    transaction sees them."""
    # Withdrawn keys are not in the JWKS, but their withdrawal changed it.
    every_key = list_signing_keys(connection, withdrawn=True)
    changes = [
        instant
        for key in every_key
        for instant in (key.created_at, key.retired_at, key.withdrawn_at)
        if instant is not None
    ]
    return StatusDocuments(
        lists={published.number: published for published in published_lists(connection)},
        jwks=jwks_json(SigningKeys.published(connection), alg),
        keys_changed_at=max(changes, default=None),
    )


def read_status_documents(engine: Engine, alg: Algorithm = ALGORITHM) -> StatusDocuments:
    """`status_documents` in a read-only transaction of its own (it never takes
    SQLite's write lock); raises what the driver raises, so that the caller can
    tell an outage (`keysvc.service.database_access.database_unavailable`)."""
    with read_transaction(engine) as connection:
        return status_documents(connection, alg)


@dataclass(frozen=True, slots=True)
class ExportedFile:
    """A file `export_status_documents` wrote, and the media type to serve it as."""

    path: Path
    content_type: str


def export_status_documents(documents: StatusDocuments, directory: Path) -> list[ExportedFile]:
    """Writes the documents as a static host serves them: ``statuslists/<n>`` (each
    token) and ``.well-known/jwks.json`` below `directory`, the bytes the listener
    answers. Each file is replaced atomically (a reader sees the old file or the new
    one, never half of one) and is readable by all (0644). Returns what it wrote."""
    written = []
    for number, published in sorted(documents.lists.items()):
        path = directory / STATUS_LISTS_PATH / str(number)
        _write_public(path, published.token.encode("ascii"))
        written.append(ExportedFile(path, STATUS_LIST_TYPE))
    path = directory / JWKS_PATH
    _write_public(path, documents.jwks.encode("utf-8"))
    written.append(ExportedFile(path, JWKS_TYPE))
    return written


def _write_public(path: Path, content: bytes) -> None:
    """Writes `content` to a temporary file beside `path`, then renames it over `path`."""
    _make_public_folders(path.parent)
    descriptor, staging = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file 0600 whatever the umask: public on purpose.
        os.chmod(staging, _PUBLIC_FILE_MODE)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def _make_public_folders(folder: Path) -> None:
    """Creates `folder` and its missing parents readable by all (folders that exist
    already are left as they are: the operator chose their modes)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        created.mkdir(exist_ok=True)
        os.chmod(created, _PUBLIC_FOLDER_MODE)
