from __future__ import annotations

import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signing import (
    BadPassphrase,
    InsecureKeyFile,
    KeyStoreError,
    SigningKey,
    decrypt_private_key,
    encrypt_private_key,
    load_private_key,
    passphrase_from_text,
    read_passphrase_file,
    save_private_key,
)

PASSPHRASE = b"correct horse battery staple"


@pytest.fixture
def saved(tmp_path, test_key):
    path = tmp_path / "signing-key.pem"
    save_private_key(path, test_key, PASSPHRASE)
    return path


def test_saved_key_loads_back_equal(saved, test_key):
    assert load_private_key(saved, PASSPHRASE).kid == test_key.kid


def test_saved_key_file_has_mode_0600(saved):
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600


def test_saved_key_file_is_mode_0600_whatever_the_umask(tmp_path, test_key):
    old = os.umask(0o277)
    try:
        save_private_key(tmp_path / "k", test_key, PASSPHRASE)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


def test_saving_replaces_the_old_key_and_leaves_no_temporary_file(saved):
    new = SigningKey.generate()
    save_private_key(saved, new, PASSPHRASE)
    assert load_private_key(saved, PASSPHRASE).kid == new.kid
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]


def test_saved_file_is_encrypted_pkcs8_pem(saved):
    text = saved.read_bytes()
    assert text.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602])
def test_key_file_readable_or_writable_by_group_or_others_is_refused(saved, mode):
    saved.chmod(mode)
    with pytest.raises(InsecureKeyFile, match="chmod 600"):
        load_private_key(saved, PASSPHRASE)


def test_owner_read_only_key_file_is_accepted(saved, test_key):
    saved.chmod(0o400)
    assert load_private_key(saved, PASSPHRASE).kid == test_key.kid


def test_wrong_passphrase_is_rejected(saved):
    with pytest.raises(BadPassphrase):
        load_private_key(saved, b"wrong")


def test_empty_passphrase_is_rejected(tmp_path, test_key):
    with pytest.raises(BadPassphrase, match="empty"):
        save_private_key(tmp_path / "k", test_key, b"")
    assert not list(tmp_path.iterdir())


def test_missing_key_file_is_a_key_store_error(tmp_path):
    with pytest.raises(KeyStoreError, match="cannot open"):
        load_private_key(tmp_path / "absent", PASSPHRASE)


def test_symlinked_key_file_is_refused(saved, tmp_path):
    link = tmp_path / "link.pem"
    link.symlink_to(saved)
    with pytest.raises(KeyStoreError):
        load_private_key(link, PASSPHRASE)


def test_unencrypted_key_is_refused(test_key):
    pem = test_key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(KeyStoreError, match="not encrypted"):
        decrypt_private_key(pem, PASSPHRASE)


def test_non_ed25519_key_is_refused():
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE),
    )
    with pytest.raises(KeyStoreError, match="not Ed25519"):
        decrypt_private_key(pem, PASSPHRASE)


def test_garbage_is_a_key_store_error_not_a_bad_passphrase():
    with pytest.raises(KeyStoreError) as caught:
        decrypt_private_key(b"not a pem", PASSPHRASE)
    assert type(caught.value) is KeyStoreError


def test_errors_never_contain_the_passphrase(saved):
    saved.chmod(0o644)
    for action in (
        lambda: load_private_key(saved, PASSPHRASE),
        lambda: decrypt_private_key(b"junk", PASSPHRASE),
    ):
        with pytest.raises(KeyStoreError) as caught:
            action()
        assert PASSPHRASE.decode() not in str(caught.value)


def test_encrypted_pem_decrypts_in_memory(test_key):
    pem = encrypt_private_key(test_key, PASSPHRASE)
    assert decrypt_private_key(pem, PASSPHRASE).kid == test_key.kid


@pytest.fixture
def passphrase_file(tmp_path):
    path = tmp_path / "passphrase"
    path.write_bytes(b"s3cret\n")
    path.chmod(0o600)
    return path


def test_passphrase_file_loses_one_trailing_newline(passphrase_file):
    assert read_passphrase_file(passphrase_file) == b"s3cret"
    passphrase_file.write_bytes(b"s3cret\r\n")
    assert read_passphrase_file(passphrase_file) == b"s3cret"
    passphrase_file.write_bytes(b"s3cret\n\n")
    assert read_passphrase_file(passphrase_file) == b"s3cret\n"


@pytest.mark.parametrize("mode", [0o644, 0o640])
def test_passphrase_file_readable_by_others_is_refused(passphrase_file, mode):
    passphrase_file.chmod(mode)
    with pytest.raises(InsecureKeyFile):
        read_passphrase_file(passphrase_file)


@pytest.mark.parametrize("content", [b"", b"\n", b"\r\n"])
def test_empty_passphrase_file_is_rejected(passphrase_file, content):
    passphrase_file.write_bytes(content)
    with pytest.raises(BadPassphrase):
        read_passphrase_file(passphrase_file)


def test_passphrase_text_is_utf8():
    assert passphrase_from_text("gr\u00fcn") == "gr\u00fcn".encode()


def test_passphrase_text_keeps_undecodable_environment_bytes():
    assert passphrase_from_text(os.fsdecode(b"\xffpass")) == b"\xffpass"


def test_empty_passphrase_text_is_rejected():
    with pytest.raises(BadPassphrase):
        passphrase_from_text("")
