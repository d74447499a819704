"""The openssl command line verifies our keys and reads our encrypted key files."""

from __future__ import annotations

import subprocess

from signing import (
    KeyRing,
    SigningKey,
    b64url_decode,
    b64url_encode,
    save_private_key,
)


def openssl_verify(openssl, tmp_path, public_pem, key_text):
    head, body, signature = key_text.split(".")
    (tmp_path / "pub.txt").write_bytes(public_pem)
    (tmp_path / "signing-input").write_bytes(f"{head}.{body}".encode())
    (tmp_path / "sig.bin").write_bytes(b64url_decode(signature))
    return subprocess.run(
        [
            openssl,
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "pub.txt",
            "-rawin",
            "-in",
            "signing-input",
            "-sigfile",
            "sig.bin",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )


def test_openssl_verifies_a_key_made_by_signing(openssl, tmp_path, keypair, typical_vector):
    result = openssl_verify(
        openssl, tmp_path, keypair["public_key_pem"].encode(), typical_vector["key"]
    )
    assert result.returncode == 0, result.stderr
    assert "Signature Verified Successfully" in result.stdout


def test_openssl_verifies_a_key_from_a_freshly_generated_ring(
    openssl, tmp_path, vector_verifier, typical_vector
):
    ring = KeyRing(SigningKey.generate())
    text = ring.sign_license(vector_verifier.verify(typical_vector["key"]).claims)
    result = openssl_verify(openssl, tmp_path, ring.active.verifying_key.public_pem(), text)
    assert result.returncode == 0, result.stderr


def test_openssl_rejects_a_tampered_key(openssl, tmp_path, keypair, typical_vector):
    head, body, signature = typical_vector["key"].split(".")
    raw = b64url_decode(body).replace(b'"sts":25', b'"sts":99')
    tampered = f"{head}.{b64url_encode(raw)}.{signature}"
    result = openssl_verify(openssl, tmp_path, keypair["public_key_pem"].encode(), tampered)
    assert result.returncode != 0
    assert "Signature Verification Failure" in result.stdout


def test_openssl_decrypts_our_encrypted_private_key(openssl, tmp_path, vector_key):
    save_private_key(tmp_path / "key.txt", vector_key, b"open sesame")
    result = subprocess.run(
        [openssl, "pkey", "-in", "key.txt", "-passin", "pass:open sesame", "-pubout"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    assert result.stdout == vector_key.verifying_key.public_pem()


def test_openssl_refuses_our_key_with_a_wrong_passphrase(openssl, tmp_path, vector_key):
    save_private_key(tmp_path / "key.txt", vector_key, b"open sesame")
    result = subprocess.run(
        [openssl, "pkey", "-in", "key.txt", "-passin", "pass:wrong", "-noout"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert result.returncode != 0
