"""The data folder is owner-only whatever the umask; looser modes found there are reported."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from keysvc.bootstrap import migrate_database
from keysvc.config import Settings
from keysvc.persistence.data_folder import (
    create_private_file,
    loosely_protected,
    prepare_data_folder,
)
from keysvc.persistence.database import create_database_engine, sqlite_url_for


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask: whatever is restrictive is so by keysvc's doing."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_missing_data_folder_is_made_0700_under_an_open_umask(tmp_path, open_umask):
    folder = tmp_path / "a" / "data"
    prepare_data_folder(folder)
    assert _mode(folder) == 0o700


def test_a_private_file_is_0600_under_an_open_umask_and_an_existing_one_is_kept(
    tmp_path, open_umask
):
    path = tmp_path / "file"
    create_private_file(path)
    assert _mode(path) == 0o600
    path.write_text("kept")
    path.chmod(0o640)
    create_private_file(path)
    assert path.read_text() == "kept"
    assert _mode(path) == 0o640


def test_the_database_and_its_wal_and_shm_files_are_0600_under_an_open_umask(tmp_path, open_umask):
    data = tmp_path / "data"
    migrate_database(Settings(data_dir=data))
    engine = create_database_engine(sqlite_url_for(data))
    try:
        with engine.begin() as connection:  # a write makes the -wal and -shm files
            connection.execute(text("CREATE TABLE probe (x INTEGER)"))
        names = {path.name for path in data.iterdir()}
        assert {"keysvc.db", "keysvc.db-wal", "keysvc.db-shm"} <= names
        assert {path.name: _mode(path) for path in data.iterdir()} == dict.fromkeys(names, 0o600)
        assert _mode(data) == 0o700
    finally:
        engine.dispose()


def test_an_owner_only_folder_is_not_reported(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    (folder / "mail").mkdir(mode=0o700)
    create_private_file(folder / "mail" / "message")
    assert loosely_protected(folder) == []


@pytest.mark.parametrize("loose_bit", [0o040, 0o004, 0o001, 0o010])
def test_one_bit_for_group_or_others_on_a_nested_entry_is_reported(tmp_path, loose_bit):
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    (folder / "keys").mkdir(mode=0o700)
    secret = folder / "keys" / "dev-passphrase"
    create_private_file(secret)
    secret.chmod(0o600 | loose_bit)
    assert loosely_protected(folder) == [(secret, 0o600 | loose_bit)]


def test_a_start_on_a_folder_others_can_read_warns_and_names_it(tmp_path, caplog):
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="keysvc.persistence.data_folder"):
        prepare_data_folder(folder)
    (record,) = caplog.records
    assert str(folder) in record.loose
    assert "0755" in record.loose
    assert _mode(folder) == 0o755  # the operator's folder: reported, not changed
