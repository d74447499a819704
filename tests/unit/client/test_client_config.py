"""ClientConfig.from_environment: what wins, and a clear error for an unreadable token file."""

# ruff: noqa: S105, S106 - made-up tokens
from __future__ import annotations

import pytest

from keysvc.client import ClientConfig


def test_the_environment_names_the_service_and_the_token(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("ksv1.abc.secret\n")
    config = ClientConfig.from_environment(
        {"KEYSVC_ADDRESS": "keysvc.internal:50051", "KEYSVC_TOKEN_FILE": str(token_file)}
    )
    assert (config.address, config.token) == ("keysvc.internal:50051", "ksv1.abc.secret")


def test_a_token_given_wins_and_a_stale_token_file_is_not_even_read(tmp_path):
    environ = {"KEYSVC_TOKEN_FILE": str(tmp_path / "gone"), "KEYSVC_TOKEN": "old"}
    config = ClientConfig.from_environment(environ, token="ksv1.new.secret", address=None)
    assert config.token == "ksv1.new.secret"
    assert config.address == "127.0.0.1:50051"


def test_an_unreadable_token_file_is_a_value_error_naming_it(tmp_path):
    missing = tmp_path / "missing-token"
    with pytest.raises(ValueError, match="missing-token"):
        ClientConfig.from_environment({"KEYSVC_TOKEN_FILE": str(missing)})


def test_the_token_never_shows_in_the_repr():
    assert "s3cret" not in repr(ClientConfig(token="ksv1.id.s3cret"))
