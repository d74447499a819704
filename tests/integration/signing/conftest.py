"""Fixtures for interoperability tests: the test-vector key pair and its typical key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from signing import LicenseVerifier, SigningKey, b64url_decode

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def _load(name):
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def keypair():
    return _load("keypair.json")


@pytest.fixture(scope="session")
def typical_vector():
    return next(v for v in _load("valid-keys.json")["signed"] if v["name"] == "typical")


@pytest.fixture(scope="session")
def vector_key(keypair):
    return SigningKey.from_private_bytes(b64url_decode(keypair["private_seed_b64url"]))


@pytest.fixture(scope="session")
def vector_verifier(keypair):
    return LicenseVerifier.from_jwks(keypair["jwks"])


@pytest.fixture(scope="session")
def openssl():
    path = shutil.which("openssl")
    if path is None:
        pytest.skip("the openssl command is not installed")
    return path
