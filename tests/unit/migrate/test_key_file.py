"""Installing the key file atomically, reading it back, reading the JWKS file."""

from __future__ import annotations

import os
import stat
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from keysvc.migrate import ImplausibleKey, KeyFileError, install_key, read_jwks, read_key
from signing import InvalidJwks, KeyRing

OLD_KEY = "b2xk.a2V5.c2lnbmF0dXJl\n"


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    directory = tmp_path / "neo"
    directory.mkdir()
    return directory / "license.key"


@pytest.fixture
def installed(key_path: Path) -> Path:
    """A key file already in place, as on a server that had a key before."""
    key_path.write_text(OLD_KEY, encoding="ascii")
    key_path.chmod(0o600)
    return key_path


@pytest.fixture
def odd_umask() -> Iterator[None]:
    previous = os.umask(0o277)
    yield
    os.umask(previous)


def leftovers(directory: Path, keep: str) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir() if entry.name != keep)


def test_the_key_is_written_unwrapped_on_one_line(key_path: Path, license_key: str) -> None:
    wrapped = "\n".join(textwrap.wrap(license_key, 64)) + "\n"
    install_key(key_path, "  " + wrapped)
    assert key_path.read_text(encoding="ascii") == license_key + "\n"


@pytest.mark.usefixtures("odd_umask")
def test_the_key_file_is_exactly_0600_whatever_the_umask(key_path: Path, license_key: str) -> None:
    install_key(key_path, license_key)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_a_key_file_readable_by_others_becomes_0600(installed: Path, license_key: str) -> None:
    installed.chmod(0o644)
    install_key(installed, license_key)
    assert stat.S_IMODE(installed.stat().st_mode) == 0o600


def test_installing_replaces_the_old_key_and_leaves_nothing_else(
    installed: Path, license_key: str
) -> None:
    inode = installed.stat().st_ino
    install_key(installed, license_key)
    assert read_key(installed) == license_key + "\n"
    # Replaced by rename, not rewritten in place: a reader holding the old file keeps it whole.
    assert installed.stat().st_ino != inode
    assert leftovers(installed.parent, installed.name) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_the_new_key_file_keeps_the_owner_and_group_of_the_old_one(
    installed: Path, license_key: str
) -> None:
    os.chown(installed, 1234, 2345)
    install_key(installed, license_key)
    info = installed.stat()
    assert (info.st_uid, info.st_gid) == (1234, 2345)


def test_a_symbolic_link_is_replaced_not_followed(key_path: Path, license_key: str) -> None:
    target = key_path.parent / "elsewhere.key"
    target.write_text(OLD_KEY, encoding="ascii")
    key_path.symlink_to(target)
    install_key(key_path, license_key)
    assert not key_path.is_symlink()
    assert target.read_text(encoding="ascii") == OLD_KEY


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "   \n",
        "hello",
        "a.b",
        "a.b.c.d",
        "a..c",
        "a.b=.c",  # padding is not base64url
        "a.b+/.c",  # the standard alphabet is not base64url
        '"eyJh.eyJp.c2ln"',  # quoted
        "eyJh.eyJp.c2lnédition",
        "a.b." + "c" * 4096,
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----",
    ],
)
def test_text_not_shaped_like_a_key_is_refused_and_nothing_changes(
    installed: Path, garbage: str
) -> None:
    with pytest.raises(ImplausibleKey, match="not a license key"):
        install_key(installed, garbage)
    assert installed.read_text(encoding="ascii") == OLD_KEY
    assert leftovers(installed.parent, installed.name) == []


def test_refused_text_creates_no_file(key_path: Path) -> None:
    with pytest.raises(ImplausibleKey):
        install_key(key_path, "not a key")
    assert list(key_path.parent.iterdir()) == []


def test_a_failed_write_leaves_the_old_key_and_no_partial_file(
    installed: Path, license_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(KeyFileError, match="No space left on device"):
        install_key(installed, license_key)
    assert installed.read_text(encoding="ascii") == OLD_KEY
    assert leftovers(installed.parent, installed.name) == []


def test_an_interrupted_install_leaves_the_old_key_and_no_partial_file(
    installed: Path, license_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(source: object, destination: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        install_key(installed, license_key)
    assert installed.read_text(encoding="ascii") == OLD_KEY
    assert leftovers(installed.parent, installed.name) == []


def test_a_directory_in_the_way_is_an_error_and_stays(key_path: Path, license_key: str) -> None:
    key_path.mkdir()
    with pytest.raises(KeyFileError, match="cannot write"):
        install_key(key_path, license_key)
    assert key_path.is_dir()
    assert leftovers(key_path.parent, key_path.name) == []


def test_a_missing_directory_is_an_error(tmp_path: Path, license_key: str) -> None:
    with pytest.raises(KeyFileError, match="cannot create a file next to"):
        install_key(tmp_path / "missing" / "license.key", license_key)


def test_read_key_gives_the_text_as_stored(key_path: Path) -> None:
    key_path.write_text("  a.b.c\r\n", encoding="ascii")
    assert read_key(key_path) == "  a.b.c\r\n"


def test_read_key_of_a_missing_file_names_it(key_path: Path) -> None:
    with pytest.raises(KeyFileError, match=f"cannot read license key file {key_path}"):
        read_key(key_path)


def test_read_key_refuses_a_binary_file(key_path: Path) -> None:
    key_path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(KeyFileError, match="is not text"):
        read_key(key_path)


def test_read_key_refuses_a_huge_file_without_reading_it_all(key_path: Path) -> None:
    key_path.write_bytes(b"a" * (64 * 1024 + 1))
    with pytest.raises(KeyFileError, match="over 65536 bytes"):
        read_key(key_path)


def test_read_jwks_trusts_the_keys_of_the_file(jwks_file: Path, ring: KeyRing) -> None:
    assert read_jwks(jwks_file).keys == ring.verifying_keys


def test_read_jwks_refuses_a_file_that_is_no_jwks(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text('{"keys": []}', encoding="utf-8")
    with pytest.raises(InvalidJwks):
        read_jwks(path)


def test_read_jwks_of_a_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot read JWKS file"):
        read_jwks(tmp_path / "jwks.json")
