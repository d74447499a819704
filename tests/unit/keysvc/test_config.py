from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from keysvc.config import ConfigError, Settings, parse_listen_address


def test_defaults_are_the_embedded_development_setup() -> None:
    settings = Settings.from_environment({})
    assert settings.data_dir == Path("var")
    assert settings.listen == "127.0.0.1:50051"
    assert settings.uses_development_key


def test_command_line_values_win_over_the_environment() -> None:
    env = {"KEYSVC_DATA_DIR": "/srv/a", "KEYSVC_LISTEN": "0.0.0.0:1"}
    settings = Settings.from_environment(env, data_dir=Path("/srv/b"), listen="127.0.0.1:2")
    assert settings.data_dir == Path("/srv/b")
    assert settings.listen == "127.0.0.1:2"


def test_a_configured_passphrase_means_no_development_key() -> None:
    settings = Settings.from_environment({"KEYSVC_SIGNING_KEY_PASSPHRASE": "s3cret"})
    assert not settings.uses_development_key
    settings = Settings.from_environment({"KEYSVC_SIGNING_KEY_PASSPHRASE_FILE": "/run/pass"})
    assert settings.signing_passphrase_file == Path("/run/pass")


def test_both_passphrase_sources_at_once_are_refused() -> None:
    env = {"KEYSVC_SIGNING_KEY_PASSPHRASE": "a", "KEYSVC_SIGNING_KEY_PASSPHRASE_FILE": "/b"}
    with pytest.raises(ConfigError, match="only one"):
        Settings.from_environment(env)


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:50051", ("127.0.0.1", 50051)),
        ("[::1]:0", ("[::1]", 0)),
        ("h:65535", ("h", 65535)),
    ],
)
def test_listen_address_is_host_and_port(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen_address(listen) == expected


@pytest.mark.parametrize("listen", ["", "50051", ":50051", "host:", "host:x", "host:65536", "h:-1"])
def test_malformed_listen_address_is_refused(listen: str) -> None:
    with pytest.raises(ConfigError, match="HOST:PORT"):
        parse_listen_address(listen)


def test_release_batch_size_defaults_and_is_read_from_the_environment() -> None:
    assert Settings.from_environment({}).release_batch_size == 200
    assert Settings.from_environment({"KEYSVC_RELEASE_BATCH_SIZE": "25"}).release_batch_size == 25


@pytest.mark.parametrize("value", ["0", "-5", "ten", "2.5", "10001"])
def test_a_release_batch_size_out_of_range_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="KEYSVC_RELEASE_BATCH_SIZE"):
        Settings.from_environment({"KEYSVC_RELEASE_BATCH_SIZE": value})


def test_cutoff_and_opening_default_to_17_and_9() -> None:
    settings = Settings.from_environment({})
    assert (settings.cutoff, settings.opening) == (time(17), time(9))


def test_cutoff_and_opening_are_read_as_hh_mm() -> None:
    settings = Settings.from_environment({"KEYSVC_CUTOFF": "15:30", "KEYSVC_OPENING": " 08:05 "})
    assert (settings.cutoff, settings.opening) == (time(15, 30), time(8, 5))


@pytest.mark.parametrize("value", ["1500", "15", "24:00", "7:00", "15:60", "15:00:00", "3pm", "a"])
def test_a_cutoff_not_written_hh_mm_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="KEYSVC_CUTOFF must be a time HH:MM"):
        Settings.from_environment({"KEYSVC_CUTOFF": value})


def test_a_malformed_opening_is_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match="KEYSVC_OPENING must be a time HH:MM"):
        Settings.from_environment({"KEYSVC_OPENING": "nine"})


@pytest.mark.parametrize(
    "env",
    [
        {"KEYSVC_CUTOFF": "09:00", "KEYSVC_OPENING": "09:00"},
        {"KEYSVC_CUTOFF": "08:00"},  # before the default opening 09:00
        {"KEYSVC_OPENING": "18:00"},  # after the default cutoff 17:00
    ],
)
def test_an_opening_not_before_the_cutoff_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="must be before KEYSVC_CUTOFF"):
        Settings.from_environment(env)


def test_there_is_no_metrics_endpoint_unless_one_is_configured() -> None:
    assert Settings.from_environment({}).metrics_listen is None
    assert (
        Settings.from_environment({"KEYSVC_METRICS_LISTEN": "0.0.0.0:9464"}).metrics_listen
        == "0.0.0.0:9464"
    )


def test_the_metrics_address_on_the_command_line_wins() -> None:
    settings = Settings.from_environment(
        {"KEYSVC_METRICS_LISTEN": "127.0.0.1:9464"}, metrics_listen="[::1]:9465"
    )
    assert settings.metrics_listen == "[::1]:9465"


@pytest.mark.parametrize("listen", ["9464", "localhost", "127.0.0.1:http", "127.0.0.1:70000"])
def test_a_malformed_metrics_address_is_refused_naming_it(listen: str) -> None:
    with pytest.raises(ConfigError, match="KEYSVC_METRICS_LISTEN must be HOST:PORT"):
        Settings.from_environment({"KEYSVC_METRICS_LISTEN": listen})


def test_remembered_calls_are_kept_90_days_unless_configured() -> None:
    assert Settings.from_environment({}).idempotency_retention_days == 90
    env = {"KEYSVC_IDEMPOTENCY_RETENTION_DAYS": "7"}
    assert Settings.from_environment(env).idempotency_retention_days == 7
    env = {"KEYSVC_IDEMPOTENCY_RETENTION_DAYS": "0"}
    assert Settings.from_environment(env).idempotency_retention_days == 0


@pytest.mark.parametrize("value", ["-1", "seven", "1.5", "36501"])
def test_a_retention_that_is_not_a_number_of_days_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="KEYSVC_IDEMPOTENCY_RETENTION_DAYS"):
        Settings.from_environment({"KEYSVC_IDEMPOTENCY_RETENTION_DAYS": value})


def test_failed_authentications_block_an_address_at_20_in_60_s_for_300_s_by_default() -> None:
    settings = Settings.from_environment({})
    assert (
        settings.auth_failure_limit,
        settings.auth_failure_window_seconds,
        settings.auth_block_seconds,
    ) == (20, 60, 300)
    configured = Settings.from_environment(
        {
            "KEYSVC_AUTH_FAILURE_LIMIT": "0",
            "KEYSVC_AUTH_FAILURE_WINDOW_SECONDS": "1",
            "KEYSVC_AUTH_BLOCK_SECONDS": "86400",
        }
    )
    assert (
        configured.auth_failure_limit,
        configured.auth_failure_window_seconds,
        configured.auth_block_seconds,
    ) == (0, 1, 86400)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KEYSVC_AUTH_FAILURE_LIMIT", "-1"),
        ("KEYSVC_AUTH_FAILURE_LIMIT", "1000001"),
        ("KEYSVC_AUTH_FAILURE_WINDOW_SECONDS", "0"),
        ("KEYSVC_AUTH_BLOCK_SECONDS", "0"),
        ("KEYSVC_AUTH_BLOCK_SECONDS", "86401"),
        ("KEYSVC_AUTH_BLOCK_SECONDS", "5m"),
    ],
)
def test_auth_limits_out_of_range_are_refused_naming_them(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_environment({name: value})


def test_shutdown_drains_5_s_then_gives_calls_10_s_unless_configured() -> None:
    defaults = Settings.from_environment({})
    assert (defaults.shutdown_drain_seconds, defaults.shutdown_grace_seconds) == (5, 10)
    env = {"KEYSVC_SHUTDOWN_DRAIN_SECONDS": "0", "KEYSVC_SHUTDOWN_GRACE_SECONDS": "25"}
    configured = Settings.from_environment(env)
    assert (configured.shutdown_drain_seconds, configured.shutdown_grace_seconds) == (0, 25)


@pytest.mark.parametrize("name", ["KEYSVC_SHUTDOWN_DRAIN_SECONDS", "KEYSVC_SHUTDOWN_GRACE_SECONDS"])
@pytest.mark.parametrize("value", ["-1", "2.5", "ten", "3601"])
def test_a_shutdown_time_that_is_not_whole_seconds_is_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_environment({name: value})


def test_calls_in_flight_are_limited_to_16_unless_configured() -> None:
    assert Settings.from_environment({}).max_calls_in_flight == 16
    env = {"KEYSVC_MAX_CALLS_IN_FLIGHT": "500"}
    assert Settings.from_environment(env).max_calls_in_flight == 500


@pytest.mark.parametrize("value", ["0", "-1", "many", "100001"])
def test_a_limit_of_calls_in_flight_out_of_range_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="KEYSVC_MAX_CALLS_IN_FLIGHT"):
        Settings.from_environment({"KEYSVC_MAX_CALLS_IN_FLIGHT": value})


def test_without_a_status_listener_or_base_keys_carry_no_status():
    assert Settings.from_environment({}).status_uri_base() is None


def test_the_status_base_defaults_to_the_listeners_address():
    settings = Settings.from_environment({"KEYSVC_STATUS_LISTEN": "127.0.0.1:8080"})
    assert settings.status_listen == "127.0.0.1:8080"
    assert settings.status_uri_base() == "http://127.0.0.1:8080"


def test_the_status_listen_flag_wins_over_the_variable():
    settings = Settings.from_environment(
        {"KEYSVC_STATUS_LISTEN": "127.0.0.1:8080"}, status_listen="127.0.0.1:8081"
    )
    assert settings.status_uri_base() == "http://127.0.0.1:8081"


def test_the_status_base_url_wins_over_the_listener_and_loses_its_final_slash():
    settings = Settings.from_environment(
        {
            "KEYSVC_STATUS_LISTEN": "0.0.0.0:8080",
            "KEYSVC_STATUS_BASE_URL": "https://status.example.jp/keysvc/",
        }
    )
    assert settings.status_uri_base() == "https://status.example.jp/keysvc"


@pytest.mark.parametrize("listen", ["0.0.0.0:8080", "[::]:8080"])
def test_a_status_listener_on_every_interface_needs_a_base_url(listen):
    with pytest.raises(ConfigError, match="KEYSVC_STATUS_BASE_URL"):
        Settings.from_environment({"KEYSVC_STATUS_LISTEN": listen})


@pytest.mark.parametrize(
    "base",
    [
        "ftp://status.example.jp",
        "status.example.jp",
        "https://",
        "https://status.example.jp/?list=1",
        "https://status.example.jp/#lists",
        "https://user@status.example.jp",
        "https://status.example.jp/" + "x" * 3000,
    ],
)
def test_a_status_base_no_key_could_carry_is_refused(base):
    with pytest.raises(ConfigError, match="KEYSVC_STATUS_BASE_URL"):
        Settings.from_environment({"KEYSVC_STATUS_BASE_URL": base})


def test_a_malformed_status_listen_address_is_refused():
    with pytest.raises(ConfigError, match="KEYSVC_STATUS_LISTEN must be HOST:PORT"):
        Settings.from_environment({"KEYSVC_STATUS_LISTEN": "8080"})


def test_a_status_listener_on_a_free_port_needs_a_base_url():
    with pytest.raises(ConfigError, match="picks a free port"):
        Settings.from_environment({"KEYSVC_STATUS_LISTEN": "127.0.0.1:0"})
    settings = Settings.from_environment(
        {"KEYSVC_STATUS_LISTEN": "127.0.0.1:0", "KEYSVC_STATUS_BASE_URL": "https://s.example.jp"}
    )
    assert settings.status_uri_base() == "https://s.example.jp"


def test_keys_are_signed_under_eddsa_unless_told_ed25519():
    assert Settings.from_environment({}).signing_alg == "EdDSA"
    chosen = Settings.from_environment({"KEYSVC_SIGNING_ALG": "Ed25519"})
    assert chosen.signing_alg == "Ed25519"


@pytest.mark.parametrize("name", ["ed25519", "EDDSA", "ES256", "none"])
def test_an_algorithm_name_other_than_the_two_is_refused(name):
    with pytest.raises(ConfigError, match="KEYSVC_SIGNING_ALG must be one of EdDSA, Ed25519"):
        Settings.from_environment({"KEYSVC_SIGNING_ALG": name})
